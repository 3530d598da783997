//! The ring's hot paths in isolation, single process, through the public API only.
//!
//! ```text
//! cargo bench -p ipmpsc --bench hot_path
//! ```
//!
//! * `tick/*`: send + receive of one 16-byte `Tick` in one thread (reserve, encode, commit,
//!   peek, decode, consume), through the raw API and the typed one.
//! * `send_no_sleeper/*`: `send` alone while nobody sleeps on the channel, i.e. the cost of a
//!   send including the futex-wake check that must not make a syscall; the ring is drained
//!   outside the timed section.
//! * `frame_1mb/*`: a message with a 1 MB `Vec<u8>` field: `send_view` alone (size, reserve,
//!   one copy into the slot, commit), `recv_view` alone (borrowed decode, no copy), and both.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use serde::{Deserialize, Serialize};

#[ipmpsc::channel]
pub enum Bench {
    Tick { seq: u64, value: u64 },
    Frame { seq: u64, data: Vec<u8> },
}

/// The same shape for the raw API.
#[derive(Serialize, Deserialize)]
enum RawTick {
    Tick { seq: u64, value: u64 },
}

const MB: usize = 1 << 20;

fn shm_path(tag: &str) -> String {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        "/dev/shm".to_owned()
    } else {
        std::env::temp_dir().display().to_string()
    };
    format!("{dir}/ipmpsc-bench-{tag}-{}", std::process::id())
}

struct Remove(String);
impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick");
    g.throughput(Throughput::Elements(1));

    {
        let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(1 << 20).unwrap();
        let rx = ipmpsc::Receiver::new(buffer.clone());
        let tx = ipmpsc::Sender::new(buffer);
        let mut seq = 0u64;
        g.bench_function("raw_send_recv", |b| {
            b.iter(|| {
                seq += 1;
                tx.send(&RawTick::Tick {
                    seq,
                    value: seq ^ 7,
                })
                .unwrap();
                let RawTick::Tick { seq: s, value } = rx.recv::<RawTick>().unwrap();
                black_box((s, value))
            })
        });
    }

    {
        let path = shm_path("tick");
        let _rm = Remove(path.clone());
        let mut rx = Bench::create_receiver(&path, 1 << 20).unwrap();
        let tx = Bench::open_sender(&path).unwrap();
        let mut seq = 0u64;
        g.bench_function("typed_send_recv", |b| {
            b.iter(|| {
                seq += 1;
                tx.send(&Bench::Tick {
                    seq,
                    value: seq ^ 7,
                })
                .unwrap();
                match rx.recv().unwrap() {
                    Bench::Tick { seq, value } => black_box((seq, value)),
                    _ => unreachable!(),
                }
            })
        });
        g.bench_function("typed_send_recv_view", |b| {
            b.iter(|| {
                seq += 1;
                tx.send(&Bench::Tick {
                    seq,
                    value: seq ^ 7,
                })
                .unwrap();
                match *rx.recv_view().unwrap() {
                    BenchView::Tick { seq, value } => black_box((seq, value)),
                    _ => unreachable!(),
                }
            })
        });
    }
    g.finish();
}

/// Runs `iters` timed operations in chunks of `chunk`, calling `untimed` between chunks.
fn chunked(
    iters: u64,
    chunk: u64,
    mut timed: impl FnMut(u64),
    mut untimed: impl FnMut(u64),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = chunk.min(iters - done);
        let t = Instant::now();
        timed(n);
        total += t.elapsed();
        untimed(n);
        done += n;
    }
    total
}

fn send_no_sleeper(c: &mut Criterion) {
    let mut g = c.benchmark_group("send_no_sleeper");
    g.throughput(Throughput::Elements(1));
    let path = shm_path("nosleep");
    let _rm = Remove(path.clone());
    // 4 MiB: room for 131,072 ticks of 32 bytes between drains.
    let mut rx = Bench::create_receiver(&path, 4 << 20).unwrap();
    let tx = Bench::open_sender(&path).unwrap();
    g.bench_function("typed_tick", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                100_000,
                |n| {
                    for seq in 0..n {
                        tx.send(black_box(&Bench::Tick { seq, value: seq }))
                            .unwrap();
                    }
                },
                |n| {
                    for _ in 0..n {
                        drop(rx.recv_view().unwrap());
                    }
                },
            )
        })
    });
    g.finish();
}

fn frame_1mb(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame_1mb");
    g.throughput(Throughput::Bytes(MB as u64));
    let path = shm_path("frame");
    let _rm = Remove(path.clone());
    // 40 MiB: room for 32 one-megabyte records between drains.
    let mut rx = Bench::create_receiver(&path, 40 << 20).unwrap();
    let tx = Bench::open_sender(&path).unwrap();
    let data: Vec<u8> = (0..MB).map(|i| (i * 31) as u8).collect();
    // Fault every page of the ring in before measuring.
    for _ in 0..64 {
        tx.send_view(&BenchView::Frame {
            seq: 0,
            data: &data,
        })
        .unwrap();
        drop(rx.recv_view().unwrap());
    }

    g.bench_function("send_view", |b| {
        b.iter_custom(|iters| {
            chunked(
                iters,
                32,
                |n| {
                    for seq in 0..n {
                        tx.send_view(black_box(&BenchView::Frame { seq, data: &data }))
                            .unwrap();
                    }
                },
                |n| {
                    for _ in 0..n {
                        drop(rx.recv_view().unwrap());
                    }
                },
            )
        })
    });

    g.bench_function("recv_view", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let n = 32.min(iters - done);
                for seq in 0..n {
                    tx.send_view(&BenchView::Frame { seq, data: &data })
                        .unwrap();
                }
                let t = Instant::now();
                for _ in 0..n {
                    let guard = rx.recv_view().unwrap();
                    match &*guard {
                        BenchView::Frame { seq, data } => {
                            black_box((*seq, data.len(), data[data.len() - 1]));
                        }
                        _ => unreachable!(),
                    }
                }
                total += t.elapsed();
                done += n;
            }
            total
        })
    });

    g.bench_function("send_view_recv_view", |b| {
        b.iter_batched(
            || (),
            |()| {
                tx.send_view(&BenchView::Frame {
                    seq: 1,
                    data: &data,
                })
                .unwrap();
                let guard = rx.recv_view().unwrap();
                match &*guard {
                    BenchView::Frame { data, .. } => black_box(data.len()),
                    _ => unreachable!(),
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = tick, send_no_sleeper, frame_1mb
}
criterion_main!(benches);
