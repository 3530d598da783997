//! Streams camera messages to a `typed-receive` process: frames with pixels, log lines, tags,
//! and a final `Stop`.
//!
//! ```text
//! cargo run --example typed-receive -- /dev/shm/cameras          # terminal 1
//! cargo run --example typed-send -- /dev/shm/cameras --camera 1  # terminals 2, 3, ...
//! ```

use clap::Parser;

#[path = "shared/camera.rs"]
mod camera;
use camera::{test_pattern, Msg, MsgView};

#[derive(Parser)]
#[command(about = "Send typed camera messages")]
struct Args {
    /// Channel file created by typed-receive.
    path: String,
    /// This camera's number.
    #[arg(long, default_value_t = 0)]
    camera: u32,
    /// Number of frames to send.
    #[arg(long, default_value_t = 10)]
    frames: u64,
    /// Frame width in pixels.
    #[arg(long, default_value_t = 640)]
    width: u32,
    /// Frame height in pixels.
    #[arg(long, default_value_t = 480)]
    height: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tx = Msg::open_sender(&args.path)?;
    let camera = args.camera;
    tx.send(&Msg::Log(format!(
        "camera {camera} online in process {}",
        std::process::id()
    )))?;
    for seq in 0..args.frames {
        let pixels = test_pattern(camera, seq, args.width, args.height);
        // A view borrows the pixels: the only copy is the one into shared memory.
        tx.send_view(&MsgView::Frame {
            camera,
            seq,
            width: args.width,
            height: args.height,
            pixels: &pixels,
        })?;
        if seq % 5 == 4 {
            tx.send(&Msg::Tags(vec!["motion".into(), format!("frame-{seq}")]))?;
        }
    }
    tx.send(&Msg::Stop { camera })?;
    Ok(())
}
