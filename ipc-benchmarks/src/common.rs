//! What every contender shares: workload sizes, message contents and their checks, and the
//! parent/child plumbing (a re-executed child with a ready/go/done handshake over its pipes).

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// `small`: messages from one producer.
pub const SMALL_MESSAGES: u64 = 1_000_000;
/// `fan-in`: producers and messages from each.
pub const FAN_IN_PRODUCERS: u64 = 4;
pub const FAN_IN_MESSAGES: u64 = 250_000;
/// `ping-pong`: untimed warm-up round trips, then timed ones.
pub const PING_WARMUP: u64 = 10_000;
pub const PING_ROUND_TRIPS: u64 = 100_000;
/// `frame`: untimed warm-up frames (they also fault the ring's pages in), then timed ones.
pub const FRAME_WARMUP: u64 = 10;
pub const FRAME_COUNT: u64 = 100;

/// 4K YUV 4:2:0, as in upstream ipmpsc's benchmark.
pub const WIDTH: u32 = 3840;
pub const HEIGHT: u32 = 2160;
pub const Y_BYTES: usize = (WIDTH * HEIGHT) as usize;
pub const UV_BYTES: usize = (WIDTH / 2 * HEIGHT / 2) as usize;
pub const FRAME_BYTES: usize = Y_BYTES + 2 * UV_BYTES;

/// Ring capacities, the same for ours and upstream.
pub const SMALL_RING: u32 = 4 << 20;
pub const PING_RING: u32 = 1 << 20;
pub const FRAME_RING: u32 = 32 << 20;

/// Message value of a tick: a function of its sequence number, checked on receipt.
#[inline]
pub fn tick_value(seq: u64) -> u64 {
    seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555
}

/// Sequence number of message `i` of producer `p` (the producer id is in the high half).
#[inline]
pub fn tick_seq(p: u64, i: u64) -> u64 {
    (p << 32) | i
}

/// Checks ticks in arrival order: per-producer FIFO, nothing lost or duplicated, value intact.
pub struct TickChecker {
    next: Vec<u64>,
}

impl TickChecker {
    pub fn new(producers: u64) -> Self {
        TickChecker { next: vec![0; producers as usize] }
    }

    #[inline]
    pub fn check(&mut self, seq: u64, value: u64) {
        let p = (seq >> 32) as usize;
        let i = seq & 0xffff_ffff;
        assert!(p < self.next.len(), "tick from unknown producer {p}");
        assert_eq!(i, self.next[p], "producer {p}: expected message {}, got {i}", self.next[p]);
        assert_eq!(value, tick_value(seq), "producer {p}, message {i}: payload corrupted");
        self.next[p] += 1;
    }

    pub fn finish(&self, per_producer: u64) {
        for (p, n) in self.next.iter().enumerate() {
            assert_eq!(*n, per_producer, "producer {p}: {n} messages received, {per_producer} sent");
        }
    }
}

/// Byte `i` of a plane (`plane` 0 = Y, 1 = U, 2 = V).
#[inline]
pub fn pixel(plane: usize, i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 13) ^ (plane * 85)) as u8
}

/// The three planes of the test frame.
pub fn make_planes() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let y = (0..Y_BYTES).map(|i| pixel(0, i)).collect();
    let u = (0..UV_BYTES).map(|i| pixel(1, i)).collect();
    let v = (0..UV_BYTES).map(|i| pixel(2, i)).collect();
    (y, u, v)
}

/// Checks a received frame: header, plane sizes, and about 200 bytes sampled over each plane
/// (first, last, every 65,521st). The same check for every contender.
pub fn check_frame(seq: u64, expected_seq: u64, width: u32, height: u32, planes: [&[u8]; 3]) {
    check_planes(seq, expected_seq, width, height, planes, pixel);
}

/// The frame checks, against `pixel(plane, i)`.
fn check_planes(seq: u64, expected_seq: u64, width: u32, height: u32, planes: [&[u8]; 3], pixel: impl Fn(usize, usize) -> u8) {
    assert_eq!(seq, expected_seq, "frame out of order");
    assert_eq!((width, height), (WIDTH, HEIGHT), "frame header corrupted");
    let lens = [Y_BYTES, UV_BYTES, UV_BYTES];
    for (p, plane) in planes.iter().enumerate() {
        assert_eq!(plane.len(), lens[p], "plane {p} has the wrong size");
        let last = plane.len() - 1;
        assert_eq!(plane[last], pixel(p, last), "frame {seq}, plane {p} corrupted at {last}");
        let mut i = 0;
        while i < plane.len() {
            assert_eq!(plane[i], pixel(p, i), "frame {seq}, plane {p} corrupted at {i}");
            i += 65_521;
        }
    }
}

/// Byte `i` of plane `plane` of made frame `seq` (`frame-made`): every byte depends on `seq`, so
/// no frame can be reused, and on `i` with a period of 2^24 bytes (longer than a plane), so that
/// a misplaced block shows up in the sampled check.
#[inline]
pub fn made_pixel(seq: u64, plane: usize, i: usize) -> u8 {
    let i = i as u64;
    (i.wrapping_mul(31) ^ (i >> 8) ^ (i >> 16) ^ seq.wrapping_mul(7).wrapping_add(plane as u64 * 85)) as u8
}

/// The 256 bytes `j * 31` that every 256-byte block of a made plane is built from.
const MADE_ROW: [u8; 256] = {
    let mut row = [0u8; 256];
    let mut j = 0;
    while j < 256 {
        row[j] = (j as u8).wrapping_mul(31);
        j += 1;
    }
    row
};

/// Writes made plane `plane` of frame `seq` into `dst` (byte `i` = [`made_pixel`]`(seq, plane, i)`).
/// Within a 256-byte block only the low byte of `i * 31` changes, so each block is a fixed row
/// XOR one byte: a loop of vector XORs and stores that runs near memory bandwidth.
pub fn fill_plane_uninit(seq: u64, plane: usize, dst: &mut [std::mem::MaybeUninit<u8>]) {
    let k = seq.wrapping_mul(7).wrapping_add(plane as u64 * 85);
    for (block, chunk) in dst.chunks_mut(256).enumerate() {
        let b = block as u64;
        let x = (b ^ (b >> 8) ^ k) as u8;
        for (d, r) in chunk.iter_mut().zip(MADE_ROW.iter()) {
            d.write(r ^ x);
        }
    }
}

/// [`fill_plane_uninit`] for an initialized buffer.
pub fn fill_plane(seq: u64, plane: usize, dst: &mut [u8]) {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and `fill_plane_uninit` only writes
    // initialized bytes, so `dst` stays initialized.
    let dst = unsafe { &mut *(dst as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]) };
    fill_plane_uninit(seq, plane, dst);
}

/// Asserts that [`fill_plane`] and [`fill_plane_uninit`] write [`made_pixel`] at every index of
/// a slice that spans more than one 64 KiB period of the block term (cheap: run once per
/// repetition of `frame-made`).
pub fn check_fill_agrees() {
    const N: usize = 70_000 + 77;
    for (seq, plane) in [(0u64, 0usize), (3, 1), (109, 2), (u64::MAX, 2)] {
        let mut a = vec![0u8; N];
        fill_plane(seq, plane, &mut a);
        let mut b = vec![std::mem::MaybeUninit::<u8>::uninit(); N];
        fill_plane_uninit(seq, plane, &mut b);
        for i in 0..N {
            // SAFETY: `fill_plane_uninit` wrote every byte of `b`.
            let bi = unsafe { b[i].assume_init() };
            assert_eq!(a[i], made_pixel(seq, plane, i), "fill_plane disagrees with made_pixel at {i}");
            assert_eq!(bi, made_pixel(seq, plane, i), "fill_plane_uninit disagrees with made_pixel at {i}");
        }
    }
}

/// Makes frame `seq` in `planes` (every byte, with [`fill_plane`]).
pub fn fill_made_planes(seq: u64, planes: &mut [Vec<u8>; 3]) {
    for (p, plane) in planes.iter_mut().enumerate() {
        fill_plane(seq, p, plane);
    }
}

/// The producer's own three planes for `frame-made`, to be filled with [`fill_plane`] per frame.
pub fn made_planes() -> [Vec<u8>; 3] {
    [vec![0u8; Y_BYTES], vec![0u8; UV_BYTES], vec![0u8; UV_BYTES]]
}

/// [`check_frame`] for a made frame: header, plane sizes, and about 200 bytes sampled over
/// each plane (first, last, every 65,521st) against [`made_pixel`].
pub fn check_made_frame(seq: u64, expected_seq: u64, width: u32, height: u32, planes: [&[u8]; 3]) {
    check_planes(seq, expected_seq, width, height, planes, |p, i| made_pixel(seq, p, i));
}

/// The message enum of the serde-based peers (upstream ipmpsc, ipc-channel); encodes like ours.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum Wire {
    Tick { seq: u64, value: u64 },
    Frame {
        seq: u64,
        width: u32,
        height: u32,
        #[serde(with = "serde_bytes")]
        y: Vec<u8>,
        #[serde(with = "serde_bytes")]
        u: Vec<u8>,
        #[serde(with = "serde_bytes")]
        v: Vec<u8>,
    },
}

/// Borrowed form of [`Wire`], for zero-copy sending and receiving with upstream ipmpsc.
#[derive(Serialize, Deserialize, Debug)]
pub enum WireView<'a> {
    Tick { seq: u64, value: u64 },
    Frame {
        seq: u64,
        width: u32,
        height: u32,
        #[serde(borrow, with = "serde_bytes")]
        y: &'a [u8],
        #[serde(borrow, with = "serde_bytes")]
        u: &'a [u8],
        #[serde(borrow, with = "serde_bytes")]
        v: &'a [u8],
    },
}

// ---------------------------------------------------------------------------------------------
// Results of one run of one contender on one workload.

#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Throughput workloads: messages per second.
    pub msgs_per_sec: f64,
    /// Ping-pong: median and p99 round trip.
    pub rtt_median_ns: f64,
    pub rtt_p99_ns: f64,
    /// Frame: milliseconds per frame.
    pub ms_per_frame: f64,
}

pub fn throughput(messages: u64, first: Instant, last: Instant) -> Sample {
    let secs = last.duration_since(first).as_secs_f64().max(1e-9);
    Sample { msgs_per_sec: (messages - 1) as f64 / secs, ..Default::default() }
}

pub fn latencies(mut rtts: Vec<u64>) -> Sample {
    rtts.sort_unstable();
    let pick = |q: f64| rtts[((rtts.len() as f64 - 1.0) * q).round() as usize] as f64;
    Sample { rtt_median_ns: pick(0.5), rtt_p99_ns: pick(0.99), ..Default::default() }
}

pub fn frames(count: u64, elapsed: Duration) -> Sample {
    Sample { ms_per_frame: elapsed.as_secs_f64() * 1e3 / count as f64, ..Default::default() }
}

// ---------------------------------------------------------------------------------------------
// Child processes.

/// A re-executed child: `<exe> __child <contender> <workload> <args...>`.
pub struct Child {
    proc: std::process::Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Child {
    pub fn spawn(contender: &str, workload: &str, args: &[String]) -> Child {
        let exe = std::env::current_exe().expect("current_exe");
        let mut proc = Command::new(exe)
            .arg("__child")
            .arg(contender)
            .arg(workload)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdin = proc.stdin.take().unwrap();
        let stdout = BufReader::new(proc.stdout.take().unwrap());
        Child { proc, stdin, stdout }
    }

    fn expect_line(&mut self, what: &str) {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read child");
        assert_eq!(line.trim(), what, "child said {line:?}, expected {what:?}");
    }

    fn say(&mut self, what: &str) {
        writeln!(self.stdin, "{what}").expect("write child");
        self.stdin.flush().unwrap();
    }

    /// Waits until the child has set up its end.
    pub fn wait_ready(&mut self) {
        self.expect_line("ready");
    }

    /// Lets the child start.
    pub fn go(&mut self) {
        self.say("go");
    }

    /// Tells the child that everything arrived, and reaps it.
    pub fn finish(mut self) {
        self.say("done");
        let status = self.proc.wait().expect("wait child");
        assert!(status.success(), "child failed: {status}");
    }
}

/// Child side of the handshake.
pub mod child {
    use std::io::{BufRead, Write};

    fn read_line() -> String {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).expect("read parent");
        line.trim().to_owned()
    }

    pub fn ready() {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready").unwrap();
        out.flush().unwrap();
    }

    pub fn wait_go() {
        let line = read_line();
        assert_eq!(line, "go");
    }

    pub fn wait_done() {
        let line = read_line();
        assert_eq!(line, "done");
    }
}

/// A fresh path in /dev/shm (or the temp dir), removed by [`ShmPath`]'s drop.
pub struct ShmPath(pub String);

impl ShmPath {
    pub fn new(tag: &str) -> ShmPath {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            std::path::PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let p = dir.join(format!("ipc-bench-{}-{tag}-{n}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        ShmPath(p.to_string_lossy().into_owned())
    }
}

impl Drop for ShmPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Spin-then-yield backoff for polling receivers.
#[inline]
pub fn backoff(spins: &mut u32) {
    if *spins < 1_000 {
        std::hint::spin_loop();
        *spins += 1;
    } else {
        std::thread::yield_now();
    }
}
