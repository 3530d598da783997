//! The first thing to run: `cargo run --example demo`.
//!
//! Creates a typed channel under /dev/shm, starts three producer processes (this program,
//! re-executed), receives their messages as zero-copy views and prints them, then shows a
//! producer built from a changed message enum being refused. Cleans up after itself.
//!
//! With `--hold` (`cargo run --example demo -- --hold`) it stops once the producers have
//! sent everything but their `Stop`, before receiving anything, and waits for Enter: the
//! channel is live, with its receiver, three senders and messages queued, for the inspector
//! to look at from another terminal (`ipmpsc inspect`, `ipmpsc peek`; see the README).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[path = "shared/camera.rs"]
mod camera;
use camera::{test_pattern, Msg, MsgView};
#[path = "shared/cleanup.rs"]
mod cleanup;
use cleanup::RemoveOnDrop;

/// The same enum as a producer built from a newer, incompatible source would have it: `pixels`
/// became 16-bit.
mod changed {
    #[ipmpsc::channel(version = 2)]
    #[derive(Debug)]
    pub enum Msg {
        Frame {
            camera: u32,
            seq: u64,
            width: u32,
            height: u32,
            pixels: Vec<u16>,
        },
        Log(String),
        Tags(Vec<String>),
        Stop {
            camera: u32,
        },
    }
}

const PRODUCERS: u32 = 3;
const FRAMES: u64 = 3;
const ROLE: &str = "IPMPSC_DEMO_ROLE";
/// Set for producers of a `--hold` run: say when everything but `Stop` is sent, and send
/// `Stop` only once stdin closes.
const HOLD: &str = "IPMPSC_DEMO_HOLD";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    match std::env::var(ROLE).as_deref() {
        Ok("producer") => {
            return producer(
                &args.next().unwrap_or_default(),
                args.next().unwrap_or_default().parse()?,
            )
        }
        Ok("changed") => return changed_producer(&args.next().unwrap_or_default()),
        _ => {}
    }
    let hold = args.any(|a| a == "--hold");

    let path = format!("/dev/shm/ipmpsc-demo-{}", std::process::id());
    let _cleanup = RemoveOnDrop(vec![path.clone()]);
    let mut rx = Msg::create_receiver(&path, 1 << 20)?;
    println!(
        "consumer {}: created channel {path} for {} v{} (schema #{:016x})",
        std::process::id(),
        <Msg as ipmpsc::Channel>::SCHEMA.name,
        Msg::SCHEMA_VERSION,
        Msg::SCHEMA_HASH
    );

    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for camera in 0..PRODUCERS {
        let mut producer = Command::new(&exe);
        producer
            .env(ROLE, "producer")
            .arg(&path)
            .arg(camera.to_string());
        if hold {
            producer
                .env(HOLD, "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
        }
        children.push(producer.spawn()?);
    }
    if hold {
        // Each producer says when it has sent everything but its `Stop`.
        for child in &mut children {
            let mut line = String::new();
            BufReader::new(child.stdout.take().ok_or("no pipe")?).read_line(&mut line)?;
        }
        println!(
            "holding: {PRODUCERS} producers sent their messages and wait to send Stop, nothing \
             was received yet; look at the channel from another terminal:\n\n    \
             ipmpsc inspect {path}\n    ipmpsc peek {path}\n\npress Enter to receive everything"
        );
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        // Closing their stdin lets the producers send `Stop`.
        for child in &mut children {
            drop(child.stdin.take());
        }
    }

    let mut stopped = 0;
    while stopped < PRODUCERS {
        let msg = match rx.recv_view() {
            Ok(msg) => msg,
            // Every camera that came so far has gone, and its frames were all shown: the
            // others have not started yet. Said once; the next receive waits for them.
            Err(ipmpsc::Error::Disconnected) => {
                println!("  (every camera so far has left; waiting for the others)");
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
                let ok = *pixels == test_pattern(*camera, *seq, *width, *height).as_slice();
                println!(
                    "  frame  camera {camera} #{seq}: {width}x{height}, {} bytes read in place, pattern {}",
                    pixels.len(),
                    if ok { "intact" } else { "DAMAGED" }
                );
            }
            MsgView::Log(line) => println!("  log    {line}"),
            MsgView::Tags(tags) => println!("  tags   {}", tags.join(", ")),
            MsgView::Stop { camera } => {
                println!("  stop   camera {camera}");
                stopped += 1;
            }
        }
    }
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a producer failed: {status}").into());
        }
    }

    println!(
        "\nnow a producer built from a changed `Msg` (pixels: Vec<u16>) tries to open the channel:"
    );
    let out = Command::new(&exe)
        .env(ROLE, "changed")
        .arg(&path)
        .stderr(Stdio::inherit())
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        return Err("the changed producer was not refused".into());
    }
    println!("\ndone; {path} removed");
    Ok(())
}

fn producer(path: &str, camera: u32) -> Result<(), Box<dyn std::error::Error>> {
    let tx = Msg::open_sender(path)?;
    tx.send(&Msg::Log(format!(
        "camera {camera} (process {}) online",
        std::process::id()
    )))?;
    for seq in 0..FRAMES {
        let pixels = test_pattern(camera, seq, 64, 48);
        // Send borrowed pixels: no owned message is built.
        tx.send_view(&MsgView::Frame {
            camera,
            seq,
            width: 64,
            height: 48,
            pixels: &pixels,
        })?;
        if seq == 1 {
            tx.send_view(&MsgView::Tags(vec!["person", "bicycle"]))?;
        }
    }
    if std::env::var_os(HOLD).is_some() {
        println!("sent");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
    }
    tx.send(&Msg::Stop { camera })?;
    Ok(())
}

fn changed_producer(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    match changed::Msg::open_sender(path) {
        Err(ipmpsc::Error::SchemaMismatch(mismatch)) => {
            println!("  refused: {mismatch}");
            Ok(())
        }
        Err(other) => Err(format!("refused for another reason: {other}").into()),
        Ok(_) => Err("opened a channel of another schema".into()),
    }
}
