//! The machine's own bounds, measured by the same harness: memcpy bandwidth for one frame's
//! worth of bytes, the time to make (fill) one `frame-made` frame, and the round trip of a cache
//! line between two threads on two cores.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::common::{check_fill_agrees, check_made_frame, fill_plane, made_planes, FRAME_BYTES, HEIGHT, WIDTH};

/// Median GB/s of `copy_from_slice` of a 12.4 MB frame into a second buffer.
pub fn memcpy_gbps() -> f64 {
    let src: Vec<u8> = (0..FRAME_BYTES).map(|i| i as u8).collect();
    let mut dst = vec![1u8; FRAME_BYTES];
    let mut rates = Vec::new();
    for round in 0..30 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        let secs = t.elapsed().as_secs_f64();
        std::hint::black_box(&mut dst);
        if round >= 5 {
            rates.push(FRAME_BYTES as f64 / secs / 1e9);
        }
    }
    assert_eq!(dst[FRAME_BYTES - 1], src[FRAME_BYTES - 1]);
    median(&mut rates)
}

/// Median GB/s of making one `frame-made` frame in one process: [`fill_plane`] of its three
/// planes (12.4 MB) into buffers that are already faulted in, with a new `seq` each round. The
/// floor of `frame-made`: no channel can deliver a made frame faster than its producer makes it.
pub fn fill_gbps() -> f64 {
    check_fill_agrees();
    let mut planes = made_planes();
    let mut rates = Vec::new();
    for round in 0..30u64 {
        let t = Instant::now();
        for (p, plane) in planes.iter_mut().enumerate() {
            fill_plane(round, p, plane);
        }
        std::hint::black_box(&mut planes);
        let secs = t.elapsed().as_secs_f64();
        if round >= 5 {
            rates.push(FRAME_BYTES as f64 / secs / 1e9);
        }
    }
    check_made_frame(29, 29, WIDTH, HEIGHT, [&planes[0], &planes[1], &planes[2]]);
    median(&mut rates)
}

#[repr(align(128))]
struct Line(AtomicU64);

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Median nanoseconds of one round trip of a cache line between two threads pinned to the
/// first two CPUs, each spinning on the other's atomic.
pub fn cache_line_rtt_ns() -> f64 {
    const BATCH: u64 = 10_000;
    const BATCHES: u64 = 100;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let ping = Line(AtomicU64::new(0));
    let pong = Line(AtomicU64::new(0));
    let total = BATCH * (BATCHES + 5);
    let mut per_rt = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            if cpus >= 2 {
                pin(1);
            }
            for i in 1..=total {
                while ping.0.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
                pong.0.store(i, Ordering::Release);
            }
        });
        if cpus >= 2 {
            pin(0);
        }
        let mut i = 0;
        for batch in 0..BATCHES + 5 {
            let t = Instant::now();
            for _ in 0..BATCH {
                i += 1;
                ping.0.store(i, Ordering::Release);
                while pong.0.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
            }
            if batch >= 5 {
                per_rt.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
            }
        }
    });
    // Unpin the main thread again.
    // SAFETY: as in `pin`.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for c in 0..cpus {
            libc::CPU_SET(c, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    median(&mut per_rt)
}

pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
