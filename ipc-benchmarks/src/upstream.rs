//! Upstream ipmpsc 0.5.1 from crates.io (bincode 1, a process-shared mutex and condvar).

use std::time::Instant;

use ipmpsc_upstream::{Receiver, Sender, SharedRingBuffer};

use crate::common::*;

pub const NAME: &str = "upstream";

pub fn throughput(producers: u64, per_producer: u64) -> Sample {
    let path = ShmPath::new("up-tp");
    let rx = Receiver::new(SharedRingBuffer::create(&path.0, SMALL_RING).unwrap());
    let mut children: Vec<Child> = (0..producers)
        .map(|p| Child::spawn(NAME, "produce", &[path.0.clone(), p.to_string(), per_producer.to_string()]))
        .collect();
    children.iter_mut().for_each(Child::wait_ready);
    children.iter_mut().for_each(Child::go);
    let total = producers * per_producer;
    let mut check = TickChecker::new(producers);
    let mut first = None;
    for _ in 0..total {
        match rx.recv::<Wire>().unwrap() {
            Wire::Tick { seq, value } => check.check(seq, value),
            Wire::Frame { .. } => panic!("unexpected frame"),
        }
        first.get_or_insert_with(Instant::now);
    }
    let last = Instant::now();
    check.finish(per_producer);
    children.into_iter().for_each(Child::finish);
    crate::common::throughput(total, first.unwrap(), last)
}

pub fn ping_pong() -> Sample {
    let ping = ShmPath::new("up-ping");
    let pong = ShmPath::new("up-pong");
    let mut rx = Receiver::new(SharedRingBuffer::create(&pong.0, PING_RING).unwrap());
    let mut child = Child::spawn(NAME, "echo", &[ping.0.clone(), pong.0.clone()]);
    child.wait_ready();
    let tx = Sender::new(SharedRingBuffer::open(&ping.0).unwrap());
    child.go();
    let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let t0 = Instant::now();
        tx.send(&WireView::Tick { seq: i, value: tick_value(i) }).unwrap();
        let mut ctx = rx.zero_copy_context();
        let got: WireView<'_> = ctx.recv().unwrap();
        let dt = t0.elapsed().as_nanos() as u64;
        match got {
            WireView::Tick { seq, value } => assert!(seq == i && value == tick_value(i), "bad pong"),
            _ => panic!("unexpected frame"),
        }
        if i >= PING_WARMUP {
            rtts.push(dt);
        }
    }
    child.finish();
    latencies(rtts)
}

pub fn frame() -> Sample {
    receive_frames("frames", check_frame)
}

/// `frame-made`: the producer makes each frame in planes of its own (`fill_plane`), then sends
/// it as in `frame` (serialized into the ring: one copy).
pub fn frame_made() -> Sample {
    receive_frames("frames-made", check_made_frame)
}

/// Parent side of `frame` and `frame-made`: zero-copy views, checked with `check`.
fn receive_frames(child_workload: &str, check: fn(u64, u64, u32, u32, [&[u8]; 3])) -> Sample {
    let path = ShmPath::new("up-frame");
    let mut rx = Receiver::new(SharedRingBuffer::create(&path.0, FRAME_RING).unwrap());
    let mut child = Child::spawn(NAME, child_workload, &[path.0.clone()]);
    child.wait_ready();
    child.go();
    let mut start = None;
    for i in 0..FRAME_WARMUP + FRAME_COUNT {
        {
            let mut ctx = rx.zero_copy_context();
            match ctx.recv::<WireView<'_>>().unwrap() {
                WireView::Frame { seq, width, height, y, u, v } => check(seq, i, width, height, [y, u, v]),
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

pub fn child(workload: &str, args: &[String]) {
    match workload {
        "produce" => {
            let tx = Sender::new(SharedRingBuffer::open(&args[0]).unwrap());
            let p: u64 = args[1].parse().unwrap();
            let n: u64 = args[2].parse().unwrap();
            child::ready();
            child::wait_go();
            for i in 0..n {
                let seq = tick_seq(p, i);
                tx.send(&WireView::Tick { seq, value: tick_value(seq) }).unwrap();
            }
            child::wait_done();
        }
        "echo" => {
            let mut rx = Receiver::new(SharedRingBuffer::create(&args[0], PING_RING).unwrap());
            let tx = Sender::new(SharedRingBuffer::open(&args[1]).unwrap());
            child::ready();
            child::wait_go();
            for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
                let mut ctx = rx.zero_copy_context();
                match ctx.recv::<WireView<'_>>().unwrap() {
                    WireView::Tick { seq, value } => {
                        assert!(seq == i && value == tick_value(i), "bad ping");
                        tx.send(&WireView::Tick { seq, value }).unwrap();
                    }
                    _ => panic!("unexpected frame"),
                }
            }
            child::wait_done();
        }
        "frames" => {
            let tx = Sender::new(SharedRingBuffer::open(&args[0]).unwrap());
            let (y, u, v) = make_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                tx.send(&WireView::Frame { seq, width: WIDTH, height: HEIGHT, y: &y, u: &u, v: &v }).unwrap();
            }
            child::wait_done();
        }
        "frames-made" => {
            let tx = Sender::new(SharedRingBuffer::open(&args[0]).unwrap());
            let mut planes = made_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                fill_made_planes(seq, &mut planes);
                let [y, u, v] = &planes;
                tx.send(&WireView::Frame { seq, width: WIDTH, height: HEIGHT, y, u, v }).unwrap();
            }
            child::wait_done();
        }
        other => panic!("unknown workload {other}"),
    }
}
