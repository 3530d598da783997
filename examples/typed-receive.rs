//! Receives camera messages as zero-copy views.
//!
//! ```text
//! cargo run --example typed-receive -- /dev/shm/cameras          # terminal 1
//! cargo run --example typed-send -- /dev/shm/cameras --camera 1  # terminals 2, 3, ...
//! ```
//!
//! Exits after `--cameras N` producers (default 1) have sent `Stop`.

use clap::Parser;

#[path = "shared/camera.rs"]
mod camera;
use camera::{test_pattern, Msg, MsgView};

#[derive(Parser)]
#[command(about = "Receive typed camera messages in place")]
struct Args {
    /// Channel file to create.
    path: String,
    /// Exit after this many cameras said Stop.
    #[arg(long, default_value_t = 1)]
    cameras: u32,
    /// Ring capacity in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    capacity: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut rx = Msg::create_receiver(&args.path, args.capacity)?;
    println!(
        "Ready: run `cargo run --example typed-send -- {}` in another terminal.",
        args.path
    );
    let mut stopped = 0;
    while stopped < args.cameras {
        let msg = rx.recv_view()?;
        match &*msg {
            MsgView::Frame {
                camera,
                seq,
                width,
                height,
                pixels,
            } => {
                let intact = *pixels == test_pattern(*camera, *seq, *width, *height).as_slice();
                println!("frame camera={camera} seq={seq} {width}x{height} intact={intact}");
            }
            MsgView::Log(line) => println!("log {line}"),
            MsgView::Tags(tags) => println!("tags {tags:?}"),
            MsgView::Stop { camera } => {
                println!("stop camera={camera}");
                stopped += 1;
            }
        }
    }
    std::fs::remove_file(&args.path)?;
    Ok(())
}
