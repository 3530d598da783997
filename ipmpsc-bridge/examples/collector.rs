//! The consumer of the bridge walk-through: creates (or continues) the channel at PATH and
//! receives readings until it has `--count` distinct ones, checking that each sensor's
//! readings come in order. With `--print`, every reading is printed as `reading SENSOR SEQ`.
//!
//! ```sh
//! cargo run -p ipmpsc-bridge --example collector -- /dev/shm/collector --count 3000
//! ```

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use clap::Parser;

#[path = "shared/reading.rs"]
mod reading;
use reading::Reading;

#[derive(Parser)]
struct Args {
    /// The channel to create (or continue) and receive from.
    path: String,
    /// Stop after this many distinct readings (0: never).
    #[arg(long, default_value_t = 0)]
    count: usize,
    /// Capacity of the channel, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    capacity: u64,
    /// Print every reading on standard output.
    #[arg(long)]
    print: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let mut rx = Reading::open_or_create_receiver(&args.path, args.capacity)?;
    eprintln!("collector: receiving on {}", args.path);
    let mut seen = HashSet::new();
    let mut next: HashMap<u32, u64> = HashMap::new();
    let (mut received, mut repeats, mut out_of_order) = (0u64, 0u64, 0u64);
    let mut start = None;
    while args.count == 0 || seen.len() < args.count {
        let Reading::Temp { sensor, seq, .. } = match rx.recv() {
            Ok(reading) => reading,
            // Every sender (the importer) left; a new one may come: keep receiving.
            Err(ipmpsc::Error::Disconnected) => continue,
            Err(e) => return Err(e.into()),
        };
        start.get_or_insert_with(Instant::now);
        received += 1;
        if args.print {
            println!("reading {sensor} {seq}");
        }
        let expected = next.entry(sensor).or_insert(0);
        if seq < *expected {
            repeats += 1;
        } else if seq > *expected {
            out_of_order += 1;
        }
        *expected = (*expected).max(seq + 1);
        seen.insert((sensor, seq));
    }
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    eprintln!(
        "collector: {} distinct readings from {} sensors ({received} received, {repeats} \
         repeated, {out_of_order} out of order) in {secs:.2} s",
        seen.len(),
        next.len()
    );
    if out_of_order > 0 {
        return Err(format!("{out_of_order} readings came out of order").into());
    }
    Ok(())
}
