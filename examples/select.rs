//! Waiting on two channels of different message types at once: `cargo run --example select`.
//!
//! A monitor receives camera frames on one channel and operator commands on another. It
//! starts two camera processes and one operator process (this program, re-executed), and waits
//! on both channels with `ipmpsc::select!`: no polling, no thread per channel. It ends once
//! every camera said it is done and the operator said `Shutdown`.
//! Cleans up after itself.

use std::process::{Command, Stdio};
use std::time::Duration;

use ipmpsc::Error;

#[path = "shared/camera.rs"]
mod camera;
use camera::{test_pattern, Msg, MsgView};
#[path = "shared/cleanup.rs"]
mod cleanup;
use cleanup::RemoveOnDrop;

/// Commands from an operator console.
#[ipmpsc::channel]
#[derive(Debug)]
pub enum Operator {
    Status,
    Shutdown { reason: String },
}

const ROLE: &str = "IPMPSC_SELECT_ROLE";
const CAMERAS: u32 = 2;
const FRAMES: u64 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    match std::env::var(ROLE).as_deref() {
        Ok("camera") => {
            let path = args.next().unwrap_or_default();
            return camera(&path, args.next().unwrap_or_default().parse()?);
        }
        Ok("operator") => return operator(&args.next().unwrap_or_default()),
        _ => {}
    }

    let id = std::process::id();
    let (frames_path, commands_path) = (
        format!("/dev/shm/ipmpsc-select-frames-{id}"),
        format!("/dev/shm/ipmpsc-select-commands-{id}"),
    );
    let _cleanup = RemoveOnDrop(vec![frames_path.clone(), commands_path.clone()]);
    let mut frames = Msg::create_receiver(&frames_path, 1 << 20)?;
    let mut commands = Operator::create_receiver(&commands_path, 1 << 12)?;

    let me = std::env::current_exe()?;
    let mut children = Vec::new();
    for camera in 1..=CAMERAS {
        children.push(
            Command::new(&me)
                .env(ROLE, "camera")
                .args([&frames_path, &camera.to_string()])
                .stdin(Stdio::null())
                .spawn()?,
        );
    }
    children.push(
        Command::new(&me)
            .env(ROLE, "operator")
            .arg(&commands_path)
            .stdin(Stdio::null())
            .spawn()?,
    );

    let (mut frames_seen, mut cameras_done) = (0u64, 0u32);
    let (mut frames_done, mut commands_done) = (false, false);
    while !(frames_done && commands_done) {
        ipmpsc::select! {
            // `select!` hands over owned messages. For zero-copy views, wait with
            // `ipmpsc::select::ready(&mut [&mut frames, &mut commands])` and call
            // `frames.try_recv_view()` on the receiver it names.
            recv(frames) -> frame => {
                match frame {
                    Ok(Msg::Frame { camera, seq, width, height, pixels }) => {
                        frames_seen += 1;
                        let ok = pixels == test_pattern(camera, seq, width, height);
                        println!("frame   camera {camera} #{seq} {width}x{height} pattern ok: {ok}");
                    }
                    Ok(Msg::Log(line)) => {
                        println!("camera  {line}");
                        cameras_done += 1;
                        frames_done = cameras_done == CAMERAS;
                    }
                    Ok(other) => println!("camera  {other:?}"),
                    // Every camera that had started has stopped (one may not have started
                    // yet): the next receive waits for a new sender.
                    Err(Error::Disconnected) => println!("frames  no camera is sending"),
                    Err(e) => return Err(e.into()),
                }
            }
            recv(commands) -> command => match command {
                Ok(Operator::Status) => println!("command status: {frames_seen} frames so far"),
                Ok(Operator::Shutdown { reason }) => {
                    println!("command shutdown ({reason})");
                    commands_done = true;
                }
                Err(Error::Disconnected) => commands_done = true,
                Err(e) => return Err(e.into()),
            },
            default(Duration::from_secs(30)) => return Err("nothing arrived for 30 s".into()),
        }
    }

    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a producer failed: {status}").into());
        }
    }
    println!("received {frames_seen} frames from {CAMERAS} cameras; done");
    Ok(())
}

/// A camera process: sends `FRAMES` frames, then stops (its sender goes with it).
fn camera(path: &str, camera: u32) -> Result<(), Box<dyn std::error::Error>> {
    let tx = Msg::open_sender(path)?;
    let (width, height) = (64, 48);
    for seq in 0..FRAMES {
        let pixels = test_pattern(camera, seq, width, height);
        tx.send_view(&MsgView::Frame {
            camera,
            seq,
            width,
            height,
            pixels: &pixels,
        })?;
    }
    tx.send(&Msg::Log(format!("camera {camera} done")))?;
    Ok(())
}

/// An operator process: asks for a status, then for a shutdown (which may come before or after
/// the cameras' last frame: the monitor handles either order).
fn operator(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let tx = Operator::open_sender(path)?;
    tx.send(&Operator::Status)?;
    tx.send(&Operator::Shutdown {
        reason: "operator is done".into(),
    })?;
    Ok(())
}
