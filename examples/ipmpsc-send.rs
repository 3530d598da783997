//! Sends lines of text to an `ipmpsc-receive` process.
//!
//! ```text
//! cargo run --example ipmpsc-receive -- --zero-copy /tmp/ipmpsc   # terminal 1
//! cargo run --example ipmpsc-send -- /tmp/ipmpsc                  # terminals 2, 3, ...
//! ```
//!
//! Each line typed here is printed by the receiver. While no receiver runs (it was stopped,
//! and not started again yet), a line is not sent and this says so. `--count N` sends N
//! numbered lines and exits, for scripts.

use std::io::BufRead;

use clap::Parser;
use ipmpsc::{Sender, SharedRingBuffer};

#[derive(Parser)]
#[command(about = "Send lines of standard input to an ipmpsc-receive process")]
struct Args {
    /// Channel file created by ipmpsc-receive.
    map_file: String,
    /// Send this many numbered lines ("message <i>") instead of reading standard input.
    #[arg(long)]
    count: Option<u64>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let tx = Sender::new(SharedRingBuffer::open(&args.map_file)?);
    if let Some(count) = args.count {
        for i in 0..count {
            tx.send(&format!("message {i}"))?;
        }
        return Ok(());
    }
    println!(
        "Ready!  Type lines and press enter to send them to {}.",
        args.map_file
    );
    for line in std::io::stdin().lock().lines() {
        match tx.send(&line?) {
            Ok(()) => {}
            Err(ipmpsc::Error::Disconnected) => {
                println!("not sent: the receiver is gone; start ipmpsc-receive again")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
