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
        send(&args, |sensor, seq| reading::old_build::Reading::Temp {
            sensor,
            seq,
            celsius: 20.0 + (seq % 50) as f64 / 10.0,
        })?;
    } else {
        send(&args, |sensor, seq| reading::Reading::Temp {
            sensor,
            seq,
            celsius: 20.0 + (seq % 50) as f32 / 10.0,
        })?;
    }
    eprintln!("sensor {}: sent {} readings", args.id, args.count);
    Ok(())
}

/// How long a sensor waits for a receiver of its channel.
const WAIT: Duration = Duration::from_secs(60);

/// Sends `args.count` readings of type `M`, made by `reading(sensor, seq)`.
fn send<M: ipmpsc::Channel>(
    args: &Args,
    reading: impl Fn(u32, u64) -> M,
) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(capacity) = args.create {
        drop(ipmpsc::TypedReceiver::<M>::create(&args.path, capacity)?);
    }
    let open = || -> Result<ipmpsc::TypedSender<M>, Box<dyn std::error::Error>> {
        Ok(ipmpsc::TypedSender::<M>::open_timeout(&args.path, WAIT)?
            .ok_or("no receiver came for the channel within a minute")?)
    };
    let mut tx = open()?;
    for seq in 0..args.count {
        let reading = reading(args.id, seq);
        // The exporter (this channel's receiver) restarting: wait for the next one and send
        // the reading again (it was not sent).
        while let Err(ipmpsc::Error::Disconnected) = tx.send(&reading) {
            tx = open()?;
        }
        if args.every_us > 0 {
            std::thread::sleep(Duration::from_micros(args.every_us));
        }
    }
    Ok(())
}
