//! ipc-channel 0.23.1 (Servo's; Unix domain sockets on Linux, bincode over serde).
//!
//! Handshake: the parent opens a one-shot server; the child connects and sends a sender by
//! which the parent hands it the parent's inbox sender, together with the child's own inbox
//! sender (used by ping-pong).

use std::time::Instant;

use ipc_channel::ipc::{self, IpcOneShotServer, IpcReceiver, IpcSender};

use crate::common::*;

pub const NAME: &str = "ipc-channel";

type Hello = (IpcSender<IpcSender<Wire>>, IpcSender<Wire>);

/// Parent: accepts one child on `server`; hands it `inbox`; returns the child's inbox sender.
fn accept(server: IpcOneShotServer<Hello>, inbox: &IpcSender<Wire>) -> IpcSender<Wire> {
    let (_rx, (back, child_inbox)) = server.accept().unwrap();
    back.send(inbox.clone()).unwrap();
    child_inbox
}

/// Child: connects to the parent's server; returns (sender to the parent, own inbox).
fn connect(name: &str) -> (IpcSender<Wire>, IpcReceiver<Wire>) {
    let (back_tx, back_rx) = ipc::channel::<IpcSender<Wire>>().unwrap();
    let (inbox_tx, inbox_rx) = ipc::channel::<Wire>().unwrap();
    IpcSender::<Hello>::connect(name.to_owned()).unwrap().send((back_tx, inbox_tx)).unwrap();
    (back_rx.recv().unwrap(), inbox_rx)
}

/// Spawns `n` children for `workload` and connects each to `inbox`.
fn spawn(n: u64, workload: &str, inbox: &IpcSender<Wire>, extra: impl Fn(u64) -> Vec<String>) -> Vec<(Child, IpcSender<Wire>)> {
    (0..n)
        .map(|p| {
            let (server, name) = IpcOneShotServer::<Hello>::new().unwrap();
            let mut args = vec![name];
            args.extend(extra(p));
            let child = Child::spawn(NAME, workload, &args);
            let child_inbox = accept(server, inbox);
            (child, child_inbox)
        })
        .collect()
}

pub fn throughput(producers: u64, per_producer: u64) -> Sample {
    let (tx, rx) = ipc::channel::<Wire>().unwrap();
    let mut children = spawn(producers, "produce", &tx, |p| vec![p.to_string(), per_producer.to_string()]);
    drop(tx);
    children.iter_mut().for_each(|(c, _)| c.wait_ready());
    children.iter_mut().for_each(|(c, _)| c.go());
    let total = producers * per_producer;
    let mut check = TickChecker::new(producers);
    let mut first = None;
    for _ in 0..total {
        match rx.recv().unwrap() {
            Wire::Tick { seq, value } => check.check(seq, value),
            Wire::Frame { .. } => panic!("unexpected frame"),
        }
        first.get_or_insert_with(Instant::now);
    }
    let last = Instant::now();
    check.finish(per_producer);
    children.into_iter().for_each(|(c, _)| c.finish());
    crate::common::throughput(total, first.unwrap(), last)
}

pub fn ping_pong() -> Sample {
    let (tx, rx) = ipc::channel::<Wire>().unwrap();
    let (mut child, ping) = spawn(1, "echo", &tx, |_| vec![]).pop().unwrap();
    child.wait_ready();
    child.go();
    let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let t0 = Instant::now();
        ping.send(Wire::Tick { seq: i, value: tick_value(i) }).unwrap();
        let got = rx.recv().unwrap();
        let dt = t0.elapsed().as_nanos() as u64;
        match got {
            Wire::Tick { seq, value } => assert!(seq == i && value == tick_value(i), "bad pong"),
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
/// it as in `frame` (a clone of the planes, since the typed `send` takes the message by value).
pub fn frame_made() -> Sample {
    receive_frames("frames-made", check_made_frame)
}

/// Parent side of `frame` and `frame-made`: owned frames, checked with `check`.
fn receive_frames(child_workload: &str, check: fn(u64, u64, u32, u32, [&[u8]; 3])) -> Sample {
    let (tx, rx) = ipc::channel::<Wire>().unwrap();
    let (mut child, _) = spawn(1, child_workload, &tx, |_| vec![]).pop().unwrap();
    drop(tx);
    child.wait_ready();
    child.go();
    let mut start = None;
    for i in 0..FRAME_WARMUP + FRAME_COUNT {
        match rx.recv().unwrap() {
            Wire::Frame { seq, width, height, y, u, v } => check(seq, i, width, height, [&y, &u, &v]),
            _ => panic!("unexpected tick"),
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
    let (tx, inbox) = connect(&args[0]);
    match workload {
        "produce" => {
            let p: u64 = args[1].parse().unwrap();
            let n: u64 = args[2].parse().unwrap();
            child::ready();
            child::wait_go();
            for i in 0..n {
                let seq = tick_seq(p, i);
                tx.send(Wire::Tick { seq, value: tick_value(seq) }).unwrap();
            }
            child::wait_done();
        }
        "echo" => {
            child::ready();
            child::wait_go();
            for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
                match inbox.recv().unwrap() {
                    Wire::Tick { seq, value } => {
                        assert!(seq == i && value == tick_value(i), "bad ping");
                        tx.send(Wire::Tick { seq, value }).unwrap();
                    }
                    _ => panic!("unexpected frame"),
                }
            }
            child::wait_done();
        }
        "frames" => {
            let (y, u, v) = make_planes();
            child::ready();
            child::wait_go();
            // ipc-channel's typed `send` takes the message by value: each frame is a clone.
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                let frame = Wire::Frame { seq, width: WIDTH, height: HEIGHT, y: y.clone(), u: u.clone(), v: v.clone() };
                tx.send(frame).unwrap();
            }
            child::wait_done();
        }
        "frames-made" => {
            let mut planes = made_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                fill_made_planes(seq, &mut planes);
                let [y, u, v] = &planes;
                let frame = Wire::Frame { seq, width: WIDTH, height: HEIGHT, y: y.clone(), u: u.clone(), v: v.clone() };
                tx.send(frame).unwrap();
            }
            child::wait_done();
        }
        other => panic!("unknown workload {other}"),
    }
}
