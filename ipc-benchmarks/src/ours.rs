//! This repository's ipmpsc, through the typed API that `#[ipmpsc::channel]` generates.

use std::time::Instant;

use crate::common::*;

#[ipmpsc::channel]
pub enum Bench {
    Tick { seq: u64, value: u64 },
    Frame { seq: u64, width: u32, height: u32, y: Vec<u8>, u: Vec<u8>, v: Vec<u8> },
}

/// The same frame, nested in a type of its own: its view (`FrameDataView`) borrows the planes
/// as the flat message's does.
#[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub struct FrameData {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    #[serde(with = "ipmpsc::wire")]
    pub y: Vec<u8>,
    #[serde(with = "ipmpsc::wire")]
    pub u: Vec<u8>,
    #[serde(with = "ipmpsc::wire")]
    pub v: Vec<u8>,
}

#[ipmpsc::channel]
pub enum NestedBench {
    Frame(FrameData),
}

pub const NAME: &str = "ours";
/// Ours, with producers that send in batches of [`BATCH`] (`send_batch`).
pub const BATCH_NAME: &str = "ours-batch";
/// Ours, with a producer that makes each frame in a loan (`loan_planes_uninit`).
pub const LOAN_NAME: &str = "ours-loan";
/// Ours, with both ends of `ping-pong` waiting in a select over their channel and a second,
/// idle channel of another message type (`ipmpsc::select::ready`).
pub const SELECT_NAME: &str = "ours-select";
/// Ours, with both ends of `ping-pong` in a one-thread tokio runtime (`send_async`,
/// `recv_view_async`).
pub const ASYNC_NAME: &str = "ours-async";
/// Messages per `send_batch` call of `ours-batch`.
pub const BATCH: u64 = 16;

/// Receiver spin from `--ours-spin-us` (passed to children through the environment); `None`
/// keeps the library's default.
fn configure(rx: &mut BenchReceiver) {
    if let Some(us) = std::env::var("IPC_BENCH_OURS_SPIN_US").ok().and_then(|v| v.parse().ok()) {
        rx.set_spin(std::time::Duration::from_micros(us));
    }
}

pub fn throughput(producers: u64, per_producer: u64) -> Sample {
    throughput_of("produce", producers, per_producer, false)
}

/// `throughput`, each producer sending batches of [`BATCH`], the receiver taking what is
/// queued after each `recv` with `try_iter`.
pub fn throughput_batched(producers: u64, per_producer: u64) -> Sample {
    throughput_of("produce-batched", producers, per_producer, true)
}

/// `drain`: after each blocking `recv`, take what else is queued with `try_iter`.
fn throughput_of(child_workload: &str, producers: u64, per_producer: u64, drain: bool) -> Sample {
    let path = ShmPath::new("ours-tp");
    let mut rx = Bench::create_receiver(&path.0, SMALL_RING as u64).unwrap();
    configure(&mut rx);
    let mut children: Vec<Child> = (0..producers)
        .map(|p| Child::spawn(NAME, child_workload, &[path.0.clone(), p.to_string(), per_producer.to_string()]))
        .collect();
    children.iter_mut().for_each(Child::wait_ready);
    children.iter_mut().for_each(Child::go);
    let total = producers * per_producer;
    let mut check = TickChecker::new(producers);
    let mut first = None;
    let mut received = 0;
    let mut take = |m: Bench| match m {
        Bench::Tick { seq, value } => check.check(seq, value),
        Bench::Frame { .. } => panic!("unexpected frame"),
    };
    while received < total {
        take(rx.recv().unwrap());
        first.get_or_insert_with(Instant::now);
        received += 1;
        if drain {
            // The rest of the run: the non-blocking receive takes queued records cheapest.
            for m in rx.try_iter().take((total - received) as usize) {
                take(m);
                received += 1;
            }
        }
    }
    let last = Instant::now();
    check.finish(per_producer);
    children.into_iter().for_each(Child::finish);
    crate::common::throughput(total, first.unwrap(), last)
}

pub fn ping_pong() -> Sample {
    ping_pong_with("echo", |rx| tick_of(&rx.recv_view().unwrap()))
}

/// `ping-pong` with both ends in a select over two channels: the one the pings (pongs) come
/// on, and an idle one of another message type that nobody sends on.
pub fn ping_pong_select() -> Sample {
    let idle = ShmPath::new("ours-sidle");
    let mut quiet = NestedBench::create_receiver(&idle.0, 4096).unwrap();
    ping_pong_with("echo-select", |rx| loop {
        if ipmpsc::select::ready(&mut [&mut quiet, rx]).unwrap() == 1 {
            if let Some(got) = rx.try_recv_view().unwrap() {
                break tick_of(&got);
            }
        }
    })
}

/// The `(seq, value)` of a tick; any other message fails the run.
fn tick_of(view: &BenchView<'_>) -> (u64, u64) {
    match *view {
        BenchView::Tick { seq, value } => (seq, value),
        _ => panic!("unexpected frame"),
    }
}

/// Round trips with the child `echo` (a workload of [`child`]): each sends a tick, and
/// `pong` waits for the reply on the receiver and returns its `(seq, value)`.
fn ping_pong_with(echo: &str, mut pong: impl FnMut(&mut BenchReceiver) -> (u64, u64)) -> Sample {
    let ping = ShmPath::new("ours-ping");
    let pong_path = ShmPath::new("ours-pong");
    let mut rx = Bench::create_receiver(&pong_path.0, PING_RING as u64).unwrap();
    configure(&mut rx);
    let mut child = Child::spawn(NAME, echo, &[ping.0.clone(), pong_path.0.clone()]);
    child.wait_ready();
    let tx = Bench::open_sender(&ping.0).unwrap();
    child.go();
    let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let t0 = Instant::now();
        tx.send(&Bench::Tick { seq: i, value: tick_value(i) }).unwrap();
        let (seq, value) = pong(&mut rx);
        let dt = t0.elapsed().as_nanos() as u64;
        assert!(seq == i && value == tick_value(i), "bad pong");
        if i >= PING_WARMUP {
            rtts.push(dt);
        }
    }
    drop(tx);
    child.finish();
    latencies(rtts)
}

/// A one-thread tokio runtime.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// `ping-pong` with both ends async, each on a one-thread tokio runtime.
pub fn ping_pong_async() -> Sample {
    let ping = ShmPath::new("ours-aping");
    let pong = ShmPath::new("ours-apong");
    let mut rx = Bench::create_receiver(&pong.0, PING_RING as u64).unwrap();
    let mut child = Child::spawn(NAME, "echo-async", &[ping.0.clone(), pong.0.clone()]);
    child.wait_ready();
    let tx = Bench::open_sender(&ping.0).unwrap();
    child.go();
    let rtts = tokio_runtime().block_on(async {
        let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
        for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
            let t0 = Instant::now();
            tx.send_async(&Bench::Tick { seq: i, value: tick_value(i) }).await.unwrap();
            let got = rx.recv_view_async().await.unwrap();
            let dt = t0.elapsed().as_nanos() as u64;
            match *got {
                BenchView::Tick { seq, value } => assert!(seq == i && value == tick_value(i), "bad pong"),
                _ => panic!("unexpected frame"),
            }
            if i >= PING_WARMUP {
                rtts.push(dt);
            }
        }
        rtts
    });
    drop(tx);
    child.finish();
    latencies(rtts)
}

pub fn frame() -> Sample {
    receive_frames("frames", check_frame)
}

/// `frame-made` through ours' copying path: the producer makes each frame in planes of its
/// own (`fill_plane`) and sends them with `send_view`, which copies them into the ring (as
/// upstream ipmpsc does). Not the loaned path, where the producer would make the frame in the
/// ring itself; that one is a contender of its own.
pub fn frame_made() -> Sample {
    receive_frames("frames-made", check_made_frame)
}

/// `frame-made` with a loan: the producer makes each frame's planes in the ring.
pub fn frame_made_loan() -> Sample {
    receive_frames("frames-made-loan", check_made_frame)
}

/// Parent side of `frame` and `frame-made`: receives the child's frames as views and checks
/// them with `check`.
fn receive_frames(child_workload: &str, check: fn(u64, u64, u32, u32, [&[u8]; 3])) -> Sample {
    let path = ShmPath::new("ours-frame");
    let mut rx = Bench::create_receiver(&path.0, FRAME_RING as u64).unwrap();
    configure(&mut rx);
    let mut child = Child::spawn(NAME, child_workload, &[path.0.clone()]);
    child.wait_ready();
    child.go();
    let mut start = None;
    for i in 0..FRAME_WARMUP + FRAME_COUNT {
        {
            let got = rx.recv_view().unwrap();
            match *got {
                BenchView::Frame { seq, width, height, y, u, v } => check(seq, i, width, height, [y, u, v]),
                _ => panic!("unexpected tick"),
            }
        }
        if i + 1 == FRAME_WARMUP {
            start = Some(Instant::now());
        }
    }
    let elapsed = start.unwrap().elapsed();
    child.finish();
    frames(FRAME_COUNT, elapsed)
}

/// `frame`, with the frame nested in a derived struct.
pub fn nested_frame() -> Sample {
    let path = ShmPath::new("ours-nested-frame");
    let mut rx = NestedBench::create_receiver(&path.0, FRAME_RING as u64).unwrap();
    if let Some(us) = std::env::var("IPC_BENCH_OURS_SPIN_US").ok().and_then(|v| v.parse().ok()) {
        rx.set_spin(std::time::Duration::from_micros(us));
    }
    let mut child = Child::spawn(NAME, "nested-frames", &[path.0.clone()]);
    child.wait_ready();
    child.go();
    let mut start = None;
    for i in 0..FRAME_WARMUP + FRAME_COUNT {
        {
            let got = rx.recv_view().unwrap();
            let NestedBenchView::Frame(FrameDataView { seq, width, height, y, u, v }) = &*got;
            check_frame(*seq, i, *width, *height, [y, u, v]);
        }
        if i + 1 == FRAME_WARMUP {
            start = Some(Instant::now());
        }
    }
    let elapsed = start.unwrap().elapsed();
    child.finish();
    frames(FRAME_COUNT, elapsed)
}

pub fn child(workload: &str, args: &[String]) {
    match workload {
        "produce" => {
            let tx = Bench::open_sender(&args[0]).unwrap();
            let p: u64 = args[1].parse().unwrap();
            let n: u64 = args[2].parse().unwrap();
            child::ready();
            child::wait_go();
            for i in 0..n {
                let seq = tick_seq(p, i);
                tx.send(&Bench::Tick { seq, value: tick_value(seq) }).unwrap();
            }
            child::wait_done();
        }
        "produce-batched" => {
            let tx = Bench::open_sender(&args[0]).unwrap();
            let p: u64 = args[1].parse().unwrap();
            let n: u64 = args[2].parse().unwrap();
            assert_eq!(n % BATCH, 0);
            child::ready();
            child::wait_go();
            for start in (0..n).step_by(BATCH as usize) {
                let batch: [Bench; BATCH as usize] = std::array::from_fn(|j| {
                    let seq = tick_seq(p, start + j as u64);
                    Bench::Tick { seq, value: tick_value(seq) }
                });
                tx.send_batch(&batch).unwrap();
            }
            child::wait_done();
        }
        "echo" => echo(args, |rx| tick_of(&rx.recv_view().unwrap())),
        "echo-select" => {
            let idle = ShmPath::new("ours-sidle-echo");
            let mut quiet = NestedBench::create_receiver(&idle.0, 4096).unwrap();
            echo(args, |rx| loop {
                if ipmpsc::select::ready(&mut [rx, &mut quiet]).unwrap() == 0 {
                    if let Some(ping) = rx.try_recv_view().unwrap() {
                        break tick_of(&ping);
                    }
                }
            })
        }
        "echo-async" => {
            let mut rx = Bench::create_receiver(&args[0], PING_RING as u64).unwrap();
            let tx = Bench::open_sender(&args[1]).unwrap();
            child::ready();
            child::wait_go();
            tokio_runtime().block_on(async {
                for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
                    let reply = match *rx.recv_view_async().await.unwrap() {
                        BenchView::Tick { seq, value } => {
                            assert!(seq == i && value == tick_value(i), "bad ping");
                            Bench::Tick { seq, value }
                        }
                        _ => panic!("unexpected frame"),
                    };
                    tx.send_async(&reply).await.unwrap();
                }
            });
            child::wait_done();
        }
        "frames" => {
            let tx = Bench::open_sender(&args[0]).unwrap();
            let (y, u, v) = make_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                tx.send_view(&BenchView::Frame { seq, width: WIDTH, height: HEIGHT, y: &y, u: &u, v: &v }).unwrap();
            }
            child::wait_done();
        }
        "frames-made" => {
            let tx = Bench::open_sender(&args[0]).unwrap();
            let mut planes = made_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                fill_made_planes(seq, &mut planes);
                let [y, u, v] = &planes;
                tx.send_view(&BenchView::Frame { seq, width: WIDTH, height: HEIGHT, y, u, v }).unwrap();
            }
            child::wait_done();
        }
        "frames-made-loan" => {
            let tx = Bench::open_sender(&args[0]).unwrap();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                let mut loan = tx
                    .loan_planes_uninit([Y_BYTES, UV_BYTES, UV_BYTES], |[y, u, v]| BenchView::Frame {
                        seq,
                        width: WIDTH,
                        height: HEIGHT,
                        y,
                        u,
                        v,
                    })
                    .unwrap();
                for (p, plane) in loan.planes_uninit_mut().into_iter().enumerate() {
                    fill_plane_uninit(seq, p, plane);
                }
                // SAFETY: `fill_plane_uninit` wrote every byte of the three planes.
                unsafe { loan.assume_init() }.send();
            }
            child::wait_done();
        }
        "nested-frames" => {
            let tx = NestedBench::open_sender(&args[0]).unwrap();
            let (y, u, v) = make_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                let frame = FrameDataView { seq, width: WIDTH, height: HEIGHT, y: &y, u: &u, v: &v };
                tx.send_view(&NestedBenchView::Frame(frame)).unwrap();
            }
            child::wait_done();
        }
        other => panic!("unknown workload {other}"),
    }
}

/// The child of [`ping_pong_with`]: answers each tick that `ping` waits for with the same tick.
fn echo(args: &[String], mut ping: impl FnMut(&mut BenchReceiver) -> (u64, u64)) {
    let mut rx = Bench::create_receiver(&args[0], PING_RING as u64).unwrap();
    configure(&mut rx);
    let tx = Bench::open_sender(&args[1]).unwrap();
    child::ready();
    child::wait_go();
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let (seq, value) = ping(&mut rx);
        assert!(seq == i && value == tick_value(i), "bad ping");
        tx.send(&Bench::Tick { seq, value }).unwrap();
    }
    child::wait_done();
}

/// `__profile <n>`: a single-process loop for instruction counting (`valgrind --tool=callgrind`):
/// `n` typed sends of a tick, received in batches of 1,000 with `recv`.
pub fn profile(n: u64) {
    let path = ShmPath::new("ours-profile");
    let mut rx = Bench::create_receiver(&path.0, SMALL_RING as u64).unwrap();
    let tx = Bench::open_sender(&path.0).unwrap();
    let mut check = TickChecker::new(1);
    let mut i = 0;
    while i < n {
        let k = 1_000.min(n - i);
        for j in i..i + k {
            tx.send(&Bench::Tick { seq: j, value: tick_value(j) }).unwrap();
        }
        for _ in 0..k {
            match rx.recv().unwrap() {
                Bench::Tick { seq, value } => check.check(seq, value),
                _ => unreachable!(),
            }
        }
        i += k;
    }
    check.finish(n);
}

/// `__split`: single process, no second core involved: ns per `send` while filling the ring
/// with 100,000 ticks, then ns per `recv` while draining them (medians of 20 rounds).
pub fn split() {
    let path = ShmPath::new("ours-split");
    let mut rx = Bench::create_receiver(&path.0, SMALL_RING as u64).unwrap();
    let tx = Bench::open_sender(&path.0).unwrap();
    let n = 100_000u64;
    let (mut send_ns, mut recv_ns) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let t = Instant::now();
        for j in 0..n {
            tx.send(&Bench::Tick { seq: j, value: tick_value(j) }).unwrap();
        }
        send_ns.push(t.elapsed().as_nanos() as f64 / n as f64);
        let mut check = TickChecker::new(1);
        let t = Instant::now();
        for _ in 0..n {
            match rx.recv().unwrap() {
                Bench::Tick { seq, value } => check.check(seq, value),
                _ => unreachable!(),
            }
        }
        recv_ns.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    println!(
        "send {:.1} ns/msg, recv {:.1} ns/msg (single process, ring filled then drained)",
        crate::limits::median(&mut send_ns),
        crate::limits::median(&mut recv_ns)
    );
}
