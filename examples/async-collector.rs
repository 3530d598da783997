//! An async collector on tokio: `cargo run --example async-collector`.
//!
//! Starts four sensor processes (this program, re-executed) that send readings with
//! `send_async`, and collects them as a `Stream` in a `tokio::select!` loop beside a progress
//! timer and Ctrl-C. Nothing polls: the stream is woken by the senders, and dropping its
//! `next()` future when the timer fires loses no reading. The loop ends when every sensor is
//! done and gone (the end of the stream). Cleans up after itself.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;

#[path = "shared/cleanup.rs"]
mod cleanup;
use cleanup::RemoveOnDrop;

/// What a sensor sends.
#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Sample {
        sensor: u32,
        seq: u64,
        celsius: f64,
        label: String,
    },
    Done {
        sensor: u32,
        sent: u64,
    },
}

const ROLE: &str = "IPMPSC_ASYNC_COLLECTOR_ROLE";
const SENSORS: u32 = 4;
const SAMPLES: u64 = 50_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if std::env::var(ROLE).as_deref() == Ok("sensor") {
        let path = args.next().unwrap_or_default();
        let sensor = args.next().unwrap_or_default().parse()?;
        return runtime.block_on(sensor_main(&path, sensor));
    }
    runtime.block_on(collector())
}

async fn collector() -> Result<(), Box<dyn std::error::Error>> {
    let path = format!("/dev/shm/ipmpsc-async-collector-{}", std::process::id());
    let _cleanup = RemoveOnDrop(vec![path.clone()]);
    // A small ring (64 KiB), so that the sensors often wait for space in `send_async`.
    let readings = Reading::create_receiver(&path, 64 << 10)?.into_stream();
    tokio::pin!(readings);

    let me = std::env::current_exe()?;
    let mut sensors = Vec::new();
    for sensor in 1..=SENSORS {
        sensors.push(
            tokio::process::Command::new(&me)
                .env(ROLE, "sensor")
                .args([&path, &sensor.to_string()])
                .kill_on_drop(true)
                .spawn()?,
        );
    }

    let mut progress = tokio::time::interval(Duration::from_millis(20));
    let (mut total, mut cancelled_waits) = (0u64, 0u64);
    let mut per_sensor: BTreeMap<u32, (u64, f64)> = BTreeMap::new();
    let mut done = 0;
    loop {
        tokio::select! {
            reading = readings.next() => match reading {
                Some(Ok(Reading::Sample { sensor, seq, celsius, label })) => {
                    let entry = per_sensor.entry(sensor).or_default();
                    assert_eq!(seq, entry.0, "sensor {sensor}'s readings arrive in order");
                    debug_assert_eq!(label, format!("sensor-{sensor}"));
                    entry.0 += 1;
                    entry.1 += celsius;
                    total += 1;
                }
                Some(Ok(Reading::Done { sensor, sent })) => {
                    println!("sensor {sensor} done after {sent} readings");
                    done += 1;
                }
                Some(Err(e)) => return Err(e.into()),
                // Every sensor is gone and everything it sent was received.
                None => break,
            },
            _ = progress.tick() => {
                // The `next()` future above was dropped half-way: no reading is lost by it.
                cancelled_waits += 1;
                println!("progress: {total} readings");
            }
            _ = tokio::signal::ctrl_c() => {
                println!("interrupted after {total} readings");
                break;
            }
        }
    }
    for mut s in sensors {
        let status = s.wait().await?;
        if !status.success() {
            return Err(format!("a sensor failed: {status}").into());
        }
    }
    for (sensor, (n, sum)) in &per_sensor {
        println!(
            "sensor {sensor}: {n} readings, mean {:.2} °C",
            sum / *n as f64
        );
    }
    println!(
        "{total} readings from {done} sensors; the receive was interrupted {cancelled_waits} \
         times by the progress timer and lost nothing"
    );
    if total != u64::from(SENSORS) * SAMPLES {
        return Err("readings were lost".into());
    }
    Ok(())
}

/// A sensor process: sends its readings with `send_async` (waiting for space without
/// blocking its runtime), then a `Done`.
async fn sensor_main(path: &str, sensor: u32) -> Result<(), Box<dyn std::error::Error>> {
    let tx = Reading::open_sender(path)?;
    let label = format!("sensor-{sensor}");
    for seq in 0..SAMPLES {
        let celsius = 20.0 + f64::from(sensor) + (seq % 10) as f64 / 10.0;
        tx.send_view_async(&ReadingView::Sample {
            sensor,
            seq,
            celsius,
            label: &label,
        })
        .await?;
    }
    tx.send_async(&Reading::Done {
        sensor,
        sent: SAMPLES,
    })
    .await?;
    Ok(())
}
