//! Stress: four producer processes push a million messages each through a 64 KiB ring; every
//! sequence number of every producer must arrive once and in order.
//!
//! The full size takes about 10 s in a debug build on 2 cores. `IPMPSC_STRESS_COUNT`
//! overrides the count per producer.

mod common;

use std::time::{Duration, Instant};

use common::{Item, Pattern, ShmPath, Tracker};
use ipmpsc::{Receiver, SharedRingBuffer};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");

fn per_producer() -> u64 {
    if let Some(n) = std::env::var("IPMPSC_STRESS_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return n;
    }
    1_000_000
}

#[test]
fn four_producers_a_million_messages_each_through_64k() {
    const PRODUCERS: u32 = 4;
    let count = per_producer();
    let path = ShmPath::new("stress");
    let rx = Receiver::new(SharedRingBuffer::create(&path, 64 * 1024).unwrap());
    // Empty payloads: 20-byte messages in 32-byte records, 2048 of them fill the ring.
    let pattern = Pattern {
        seed: 0,
        min: 0,
        max: 0,
    };
    let start = Instant::now();
    let mut producers: Vec<_> = (1..=PRODUCERS)
        .map(|id| common::spawn_producer(CHILD, &path, id, count, &pattern, &[], &[]))
        .collect();
    let total = count * u64::from(PRODUCERS);
    let mut tracker = Tracker::default();
    while tracker.total < total {
        match rx.recv_timeout::<Item>(Duration::from_secs(30)).unwrap() {
            Some(item) => tracker.check(&pattern, item.id, item.seq, &item.data),
            None => panic!(
                "nothing for 30 s after {} of {total} messages: {:?}\n{}",
                tracker.total,
                tracker.next,
                producers
                    .iter_mut()
                    .map(|p| p.report())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        }
    }
    let elapsed = start.elapsed();
    for p in &mut producers {
        p.wait_success(Duration::from_secs(30));
    }
    for id in 1..=PRODUCERS {
        assert_eq!(tracker.received(id), count);
    }
    assert_eq!(rx.try_recv::<Item>().unwrap(), None);
    eprintln!(
        "stress: {PRODUCERS} producers x {count} messages in {elapsed:?} ({:.2} M msg/s, {} build)",
        total as f64 / elapsed.as_secs_f64() / 1e6,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
}
