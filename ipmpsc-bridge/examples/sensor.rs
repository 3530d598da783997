//! A producer for the bridge walk-through: sends `--count` readings into the channel at PATH,
//! numbered from 0, once a receiver (the exporter) holds it. If the exporter restarts, the
//! sensor waits for it and goes on.
//!
//! ```sh
//! cargo run -p ipmpsc-bridge --example sensor -- /dev/shm/sensors --id 1 --count 1000
//! ```

use std::time::Duration;

use clap::Parser;

#[path = "shared/reading.rs"]
mod reading;

#[derive(Parser)]
struct Args {
    /// The channel to send into.
    path: String,
    /// This sensor's number.
    #[arg(long, default_value_t = 1)]
    id: u32,
    /// Readings to send.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Pause between readings, in microseconds.
    #[arg(long, default_value_t = 0)]
    every_us: u64,
    /// Create the channel first (with room for this many bytes) and leave it to the
    /// exporter, as an older build of this program would.
    #[arg(long, value_name = "BYTES")]
    create: Option<u64>,
    /// Be that older build: its readings' `celsius` is an `f64`.
    #[arg(long)]
    old_build: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.old_build {
        use reading::old_build::Reading;
        if let Some(capacity) = args.create {
            drop(Reading::create_receiver(&args.path, capacity)?);
        }
        let mut tx = open(|| Reading::open_sender_timeout(&args.path, WAIT))?;
        for seq in 0..args.count {
            let celsius = 20.0 + (seq % 50) as f64 / 10.0;
            let reading = Reading::Temp {
                sensor: args.id,
                seq,
                celsius,
            };
            // The exporter (this channel's receiver) restarting: wait for the next one and
            // send the reading again (it was not sent).
            while let Err(ipmpsc::Error::Disconnected) = tx.send(&reading) {
                tx = open(|| Reading::open_sender_timeout(&args.path, WAIT))?;
            }
            pause(args.every_us);
        }
    } else {
        use reading::Reading;
        if let Some(capacity) = args.create {
            drop(Reading::create_receiver(&args.path, capacity)?);
        }
        let mut tx = open(|| Reading::open_sender_timeout(&args.path, WAIT))?;
        for seq in 0..args.count {
            let celsius = 20.0 + (seq % 50) as f32 / 10.0;
            let reading = Reading::Temp {
                sensor: args.id,
                seq,
                celsius,
            };
            // The exporter (this channel's receiver) restarting: wait for the next one and
            // send the reading again (it was not sent).
            while let Err(ipmpsc::Error::Disconnected) = tx.send(&reading) {
                tx = open(|| Reading::open_sender_timeout(&args.path, WAIT))?;
            }
            pause(args.every_us);
        }
    }
    eprintln!("sensor {}: sent {} readings", args.id, args.count);
    Ok(())
}

/// How long a sensor waits for a receiver of its channel.
const WAIT: Duration = Duration::from_secs(60);

/// A sender from `open`, or an error if no receiver came within [`WAIT`].
fn open<S>(open: impl Fn() -> ipmpsc::Result<Option<S>>) -> Result<S, Box<dyn std::error::Error>> {
    Ok(open()?.ok_or("no receiver came for the channel within a minute")?)
}

fn pause(us: u64) {
    if us > 0 {
        std::thread::sleep(Duration::from_micros(us));
    }
}
