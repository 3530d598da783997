//! Receives camera messages as zero-copy views.
//!
//! ```text
//! cargo run --example typed-receive -- /dev/shm/cameras          # terminal 1
//! cargo run --example typed-send -- /dev/shm/cameras --camera 1  # terminals 2, 3, ...
//! ```
//!
//! Exits after `--cameras N` producers (default 1) have sent `Stop`. Restarted, it continues the
//! channel where it stopped (`open_or_create_receiver`), with every frame still queued.

use clap::Parser;

#[path = "shared/camera.rs"]
mod camera;
use camera::{test_pattern, Msg, MsgView};

#[derive(Parser)]
#[command(about = "Receive typed camera messages in place")]
struct Args {
    /// Channel file to create, or to continue if it exists.
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
    let mut rx = Msg::open_or_create_receiver(&args.path, args.capacity)?;
    println!(
        "Ready: run `cargo run --example typed-send -- {}` in another terminal.",
        args.path
    );
    let mut stopped = 0;
    while stopped < args.cameras {
        let msg = match rx.recv_view() {
            Ok(msg) => msg,
            // Every camera that came has gone (one may have crashed before its Stop): said
            // once, then the next receive waits for a camera to come.
            Err(ipmpsc::Error::Disconnected) => {
                println!("every camera so far has left; waiting for more");
                continue;
            }
            Err(e) => return Err(e.into()),
        };
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
