//! Throughput and latency of the bridged path next to the local channel's, measured in one
//! run on one machine:
//!
//! - local: a producer thread sends into channel B, the consumer receives;
//! - bridged: the producer sends into channel A, `ipmpsc-bridge export` (a process) publishes
//!   over zenoh on localhost TCP, `ipmpsc-bridge import` (a process) writes into channel B,
//!   the consumer receives.
//!
//! ```sh
//! cargo build --release -p ipmpsc-bridge --bins --examples
//! target/release/examples/bridge-bench
//! ```
//!
//! Small messages (a 16-byte reading) in messages per second, 1 MiB frames in MB/s, and the
//! one-way latency of a reading sent every 200 µs or so (the producer sleeps in between) (p50 and p99, from the send to the receive,
//! on one clock).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Bench {
    Small { seq: u64, sent_ns: u64 },
    Frame { seq: u64, pixels: Vec<u8> },
}

#[derive(Parser)]
struct Args {
    /// Small messages per throughput run.
    #[arg(long, default_value_t = 1_000_000)]
    small: u64,
    /// 1 MiB frames per throughput run.
    #[arg(long, default_value_t = 500)]
    frames: u64,
    /// Readings for the latency run.
    #[arg(long, default_value_t = 5000)]
    pings: u64,
    /// Runs of each measurement; the median is reported.
    #[arg(long, default_value_t = 3)]
    reps: usize,
}

const FRAME: usize = 1 << 20;
const CAPACITY: u64 = 16 << 20;

/// Nanoseconds since the first call: one clock for the producer and consumer threads.
fn now_ns() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

struct Bridge {
    children: Vec<Child>,
    files: Vec<PathBuf>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for f in &self.files {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn bridge_binary() -> PathBuf {
    let mut dir = std::env::current_exe().expect("own path");
    dir.pop();
    if dir.ends_with("examples") {
        dir.pop();
    }
    let bin = dir.join("ipmpsc-bridge");
    assert!(
        bin.exists(),
        "{} is not built: cargo build --release -p ipmpsc-bridge --bins --examples",
        bin.display()
    );
    bin
}

/// A path for one run's channel.
fn shm(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "/dev/shm/ipmpsc-bridge-bench-{name}-{}",
        std::process::id()
    ))
}

/// Where the producer sends and the consumer receives, for the local or the bridged path.
struct Route {
    send: PathBuf,
    receiver: BenchReceiver,
    _bridge: Option<Bridge>,
}

fn local() -> Route {
    let b = shm("local");
    let _ = std::fs::remove_file(&b);
    let receiver = Bench::create_receiver(&b, CAPACITY).expect("channel B");
    Route {
        send: b.clone(),
        receiver,
        _bridge: Some(Bridge {
            children: Vec::new(),
            files: vec![b],
        }),
    }
}

fn bridged() -> Route {
    let (a, b) = (shm("a"), shm("b"));
    let _ = std::fs::remove_file(&a);
    let _ = std::fs::remove_file(&b);
    let receiver = Bench::create_receiver(&b, CAPACITY).expect("channel B");
    drop(Bench::create_receiver(&a, CAPACITY).expect("channel A"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let spawn = |args: &[&str]| {
        Command::new(bridge_binary())
            .args(args)
            .stderr(Stdio::null())
            .spawn()
            .expect("ipmpsc-bridge")
    };
    let import = spawn(&[
        "import",
        "bench/path",
        b.to_str().unwrap(),
        "--isolated",
        "--listen",
        &endpoint,
    ]);
    let export = spawn(&[
        "export",
        a.to_str().unwrap(),
        "bench/path",
        "--isolated",
        "--connect",
        &endpoint,
    ]);
    let bridge = Bridge {
        children: vec![import, export],
        files: vec![a.clone(), b],
    };
    let mut path = Route {
        send: a,
        receiver,
        _bridge: Some(bridge),
    };
    // Until one reading makes it through, the two are still finding each other.
    let tx = Bench::open_sender_timeout(&path.send, Duration::from_secs(30))
        .expect("open A")
        .expect("the exporter holds A");
    loop {
        tx.send(&Bench::Small { seq: 0, sent_ns: 0 }).unwrap();
        if path
            .receiver
            .recv_timeout(Duration::from_millis(200))
            .unwrap()
            .is_some()
        {
            break;
        }
    }
    drop(tx);
    while path.receiver.try_recv().unwrap().is_some() {}
    path
}

/// Messages per second for `n` small messages.
fn small(path: &mut Route, n: u64) -> f64 {
    let tx = Bench::open_sender(&path.send).unwrap();
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        for seq in 0..n {
            tx.send(&Bench::Small { seq, sent_ns: 0 }).unwrap();
        }
    });
    for expected in 0..n {
        match path.receiver.recv().unwrap() {
            Bench::Small { seq, .. } => assert_eq!(seq, expected),
            other => panic!("unexpected {other:?}"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    producer.join().unwrap();
    n as f64 / secs
}

/// MB/s (10^6 bytes) for `n` frames of 1 MiB.
fn frames(path: &mut Route, n: u64) -> f64 {
    let tx = Bench::open_sender(&path.send).unwrap();
    let start = Instant::now();
    let producer = std::thread::spawn(move || {
        let pixels = vec![7u8; FRAME];
        for seq in 0..n {
            tx.send_view(&BenchView::Frame {
                seq,
                pixels: &pixels,
            })
            .unwrap();
        }
    });
    for expected in 0..n {
        let view = path.receiver.recv_view().unwrap();
        match &*view {
            BenchView::Frame { seq, pixels } => {
                assert_eq!((*seq, pixels.len()), (expected, FRAME));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    producer.join().unwrap();
    (n as f64 * FRAME as f64) / secs / 1e6
}

/// One-way latencies in µs (p50, p99) of `n` readings sent every 200 µs.
fn latency(path: &mut Route, n: u64) -> (f64, f64) {
    let tx = Bench::open_sender(&path.send).unwrap();
    now_ns();
    let producer = std::thread::spawn(move || {
        for seq in 0..n {
            tx.send(&Bench::Small {
                seq,
                sent_ns: now_ns(),
            })
            .unwrap();
            std::thread::sleep(Duration::from_micros(200));
        }
    });
    let mut lat = Vec::with_capacity(n as usize);
    for _ in 0..n {
        match path.receiver.recv().unwrap() {
            Bench::Small { sent_ns, .. } => lat.push((now_ns() - sent_ns) as f64 / 1e3),
            other => panic!("unexpected {other:?}"),
        }
    }
    producer.join().unwrap();
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (at(0.50), at(0.99))
}

/// zenoh alone, the bridge's floor: a publisher and a subscriber in two sessions of this
/// process over localhost TCP. Messages per second of `small` 24-byte samples, MB/s of
/// `frames` 1 MiB samples, and the one-way latency of `pings` samples sent every 200 µs.
fn zenoh_alone(small: u64, frames: u64, pings: u64) -> (f64, f64, f64, f64) {
    use zenoh::Wait;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let network = ipmpsc_bridge::Network::isolated();
    let s2 = network.clone().listen(endpoint.clone()).open().unwrap();
    let s1 = network.connect(endpoint).open().unwrap();
    let sub = s2.declare_subscriber("bench/zenoh").wait().unwrap();
    let publisher = s1
        .declare_publisher("bench/zenoh")
        .congestion_control(zenoh::qos::CongestionControl::Block)
        .wait()
        .unwrap();
    loop {
        publisher.put(vec![0u8; 24]).wait().unwrap();
        if sub
            .recv_timeout(Duration::from_millis(200))
            .unwrap()
            .is_some()
        {
            break;
        }
    }
    while sub.try_recv().unwrap().is_some() {}
    let run = |n: u64, size: usize, pace: bool| {
        let start = Instant::now();
        std::thread::scope(|s| {
            let publisher = &publisher;
            s.spawn(move || {
                for _ in 0..n {
                    let mut payload = vec![0u8; size];
                    payload[..8].copy_from_slice(&now_ns().to_le_bytes());
                    publisher.put(payload).wait().unwrap();
                    if pace {
                        std::thread::sleep(Duration::from_micros(200));
                    }
                }
            });
            let mut lat = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let sample = sub.recv().unwrap();
                let bytes = sample.payload().to_bytes();
                let sent = u64::from_le_bytes(bytes[..8].try_into().unwrap());
                lat.push((now_ns() - sent) as f64 / 1e3);
            }
            (start.elapsed().as_secs_f64(), lat)
        })
    };
    let (secs, _) = run(small, 24, false);
    let small_rate = small as f64 / secs;
    let (secs, _) = run(frames, FRAME, false);
    let frame_rate = frames as f64 * FRAME as f64 / secs / 1e6;
    let (_, mut lat) = run(pings, 24, true);
    lat.sort_by(f64::total_cmp);
    let at = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    (small_rate, frame_rate, at(0.50), at(0.99))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args = Args::parse();
    println!("| path | small messages | 1 MiB frames | latency p50 | latency p99 |");
    println!("|---|---:|---:|---:|---:|");
    for (name, make) in [
        ("local channel", local as fn() -> Route),
        ("bridged (zenoh TCP, localhost)", bridged),
    ] {
        let mut path = make();
        let (mut s, mut f, mut p50, mut p99) = (vec![], vec![], vec![], vec![]);
        for _ in 0..args.reps {
            s.push(small(&mut path, args.small));
            f.push(frames(&mut path, args.frames));
            let (a, b) = latency(&mut path, args.pings);
            p50.push(a);
            p99.push(b);
        }
        println!(
            "| {name} | {:.2} M msg/s | {:.0} MB/s | {:.1} µs | {:.1} µs |",
            median(s) / 1e6,
            median(f),
            median(p50),
            median(p99)
        );
    }
    let (mut s, mut f, mut p50, mut p99) = (vec![], vec![], vec![], vec![]);
    for _ in 0..args.reps {
        let (a, b, c, d) = zenoh_alone(args.small, args.frames, args.pings);
        s.push(a);
        f.push(b);
        p50.push(c);
        p99.push(d);
    }
    println!(
        "| zenoh alone (pub → sub, two sessions of one process) | {:.2} M msg/s | {:.0} MB/s | {:.1} µs | {:.1} µs |",
        median(s) / 1e6,
        median(f),
        median(p50),
        median(p99)
    );
}
