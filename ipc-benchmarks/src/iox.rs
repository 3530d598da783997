//! iceoryx2 0.10.0 publish-subscribe (`ipc::Service`): a fixed-size `#[repr(C)]` payload for
//! ticks, a `[u8]` slice with a user header for frames. The subscriber polls (`receive()` in a
//! spin-then-yield loop; pure spinning for the first 1,000 polls); publishers block on a full
//! subscriber buffer (`enable_safe_overflow(false)` + `RetryUntilDelivered`), so nothing is lost.

use std::time::Instant;

use iceoryx2::port::backpressure_strategy::BackpressureStrategy;
use iceoryx2::prelude::*;

use crate::common::*;

pub const NAME: &str = "iceoryx2";

/// Subscriber buffer (samples) for the throughput workloads: about as many 16-byte messages as
/// fit in a few MiB, like the ring of the other shared-memory contenders.
const SMALL_BUFFER_DEFAULT: usize = 16_384;

fn small_buffer() -> usize {
    std::env::var("IPC_BENCH_IOX_BUFFER").ok().and_then(|v| v.parse().ok()).unwrap_or(SMALL_BUFFER_DEFAULT)
}
const PING_BUFFER: usize = 16;
const FRAME_BUFFER: usize = 2;

#[derive(Debug, Clone, Copy, ZeroCopySend)]
#[repr(C)]
#[type_name("IpcBenchTick")]
pub struct Tick {
    pub seq: u64,
    pub value: u64,
}

#[derive(Debug, Clone, Copy, Default, ZeroCopySend)]
#[repr(C)]
#[type_name("IpcBenchFrameInfo")]
pub struct FrameInfo {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
}

fn node() -> Node<ipc::Service> {
    // No config file is expected; keep the "using defaults" warning out of the output.
    set_log_level(LogLevel::Error);
    NodeBuilder::new().signal_handling_mode(SignalHandlingMode::Disabled).create::<ipc::Service>().unwrap()
}

/// A per-run token so that runs never share a service.
fn unique() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn tick_service(
    node: &Node<ipc::Service>,
    name: &str,
    publishers: usize,
    buffer: usize,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, Tick, ()> {
    node.service_builder(&name.try_into().unwrap())
        .publish_subscribe::<Tick>()
        .max_publishers(publishers)
        .max_subscribers(1)
        .subscriber_max_buffer_size(buffer)
        .history_size(0)
        .enable_safe_overflow(false)
        .open_or_create()
        .unwrap()
}

fn frame_service(
    node: &Node<ipc::Service>,
    name: &str,
) -> iceoryx2::service::port_factory::publish_subscribe::PortFactory<ipc::Service, [u8], FrameInfo> {
    node.service_builder(&name.try_into().unwrap())
        .publish_subscribe::<[u8]>()
        .user_header::<FrameInfo>()
        .max_publishers(1)
        .max_subscribers(1)
        .subscriber_max_buffer_size(FRAME_BUFFER)
        .history_size(0)
        .enable_safe_overflow(false)
        .open_or_create()
        .unwrap()
}

/// A subscriber attaches to publishers' connections only when it polls: poll once before
/// the publishers start, or a publisher that fills the buffer before the first poll finds no
/// connected receiver and drops the sample (`send` returns 0 recipients).
fn connect<P: std::fmt::Debug + IceoryxSend + ?Sized + 'static, H: std::fmt::Debug + ZeroCopySend>(
    sub: &iceoryx2::port::subscriber::Subscriber<ipc::Service, P, H>,
) {
    use iceoryx2::port::update_connections::UpdateConnections;
    sub.update_connections().unwrap();
}

fn spawn(workload: &str, token: &str, args: &[String]) -> Child {
    let mut a = vec![token.to_owned()];
    a.extend_from_slice(args);
    Child::spawn(NAME, workload, &a)
}

pub fn throughput(producers: u64, per_producer: u64) -> Sample {
    let node = node();
    let token = unique();
    let name = format!("ipc-bench/{token}/tp");
    let service = tick_service(&node, &name, producers as usize, small_buffer());
    let sub = service.subscriber_builder().buffer_size(small_buffer()).create().unwrap();
    let mut children: Vec<Child> = (0..producers)
        .map(|p| spawn("produce", &name, &[producers.to_string(), p.to_string(), per_producer.to_string()]))
        .collect();
    children.iter_mut().for_each(Child::wait_ready);
    connect(&sub);
    children.iter_mut().for_each(Child::go);
    let total = producers * per_producer;
    let mut check = TickChecker::new(producers);
    let mut first = None;
    let mut got = 0;
    let mut spins = 0;
    while got < total {
        match sub.receive().unwrap() {
            Some(sample) => {
                check.check(sample.seq, sample.value);
                got += 1;
                spins = 0;
                first.get_or_insert_with(Instant::now);
            }
            None => backoff(&mut spins),
        }
    }
    let last = Instant::now();
    check.finish(per_producer);
    children.into_iter().for_each(Child::finish);
    crate::common::throughput(total, first.unwrap(), last)
}

pub fn ping_pong() -> Sample {
    let node = node();
    let token = unique();
    let ping_name = format!("ipc-bench/{token}/ping");
    let pong_name = format!("ipc-bench/{token}/pong");
    let ping = tick_service(&node, &ping_name, 1, PING_BUFFER);
    let pong = tick_service(&node, &pong_name, 1, PING_BUFFER);
    let tx = ping.publisher_builder().backpressure_strategy(BackpressureStrategy::RetryUntilDelivered).create().unwrap();
    let rx = pong.subscriber_builder().buffer_size(PING_BUFFER).create().unwrap();
    let mut child = spawn("echo", &ping_name, &[pong_name.clone()]);
    child.wait_ready();
    connect(&rx);
    child.go();
    let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let t0 = Instant::now();
        tx.send_copy(Tick { seq: i, value: tick_value(i) }).unwrap();
        let mut spins = 0;
        let got = loop {
            match rx.receive().unwrap() {
                Some(s) => break *s,
                None => backoff(&mut spins),
            }
        };
        let dt = t0.elapsed().as_nanos() as u64;
        assert!(got.seq == i && got.value == tick_value(i), "bad pong");
        if i >= PING_WARMUP {
            rtts.push(dt);
        }
    }
    child.finish();
    latencies(rtts)
}

pub fn frame() -> Sample {
    let node = node();
    let token = unique();
    let name = format!("ipc-bench/{token}/frame");
    let service = frame_service(&node, &name);
    let sub = service.subscriber_builder().buffer_size(FRAME_BUFFER).create().unwrap();
    let mut child = spawn("frames", &name, &[]);
    child.wait_ready();
    connect(&sub);
    child.go();
    let mut start = None;
    let mut i = 0;
    let mut spins = 0;
    while i < FRAME_WARMUP + FRAME_COUNT {
        match sub.receive().unwrap() {
            Some(sample) => {
                let info = *sample.user_header();
                let bytes: &[u8] = sample.payload();
                let (y, rest) = bytes.split_at(Y_BYTES.min(bytes.len()));
                let (u, v) = rest.split_at(UV_BYTES.min(rest.len()));
                check_frame(info.seq, i, info.width, info.height, [y, u, v]);
                drop(sample);
                if i + 1 == FRAME_WARMUP {
                    start = Some(Instant::now());
                }
                i += 1;
                spins = 0;
            }
            None => backoff(&mut spins),
        }
    }
    let elapsed = start.unwrap().elapsed();
    child.finish();
    frames(FRAME_COUNT, elapsed)
}

pub fn child(workload: &str, args: &[String]) {
    let node = node();
    match workload {
        "produce" => {
            let producers: usize = args[1].parse().unwrap();
            let p: u64 = args[2].parse().unwrap();
            let n: u64 = args[3].parse().unwrap();
            let service = tick_service(&node, &args[0], producers, small_buffer());
            let tx = service
                .publisher_builder()
                .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
                .create()
                .unwrap();
            child::ready();
            child::wait_go();
            for i in 0..n {
                let seq = tick_seq(p, i);
                let sample = tx.loan_uninit().unwrap();
                let delivered = sample.write_payload(Tick { seq, value: tick_value(seq) }).send().unwrap();
                assert_eq!(delivered, 1, "iceoryx2 did not deliver message {i}");
            }
            child::wait_done();
        }
        "echo" => {
            let ping = tick_service(&node, &args[0], 1, PING_BUFFER);
            let pong = tick_service(&node, &args[1], 1, PING_BUFFER);
            let rx = ping.subscriber_builder().buffer_size(PING_BUFFER).create().unwrap();
            let tx = pong.publisher_builder().backpressure_strategy(BackpressureStrategy::RetryUntilDelivered).create().unwrap();
            connect(&rx);
            child::ready();
            child::wait_go();
            for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
                let mut spins = 0;
                let got = loop {
                    match rx.receive().unwrap() {
                        Some(s) => break *s,
                        None => backoff(&mut spins),
                    }
                };
                assert!(got.seq == i && got.value == tick_value(i), "bad ping");
                tx.send_copy(got).unwrap();
            }
            child::wait_done();
        }
        "frames" => {
            let service = frame_service(&node, &args[0]);
            let tx = service
                .publisher_builder()
                .initial_max_slice_len(FRAME_BYTES)
                .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
                .create()
                .unwrap();
            let (y, u, v) = make_planes();
            child::ready();
            child::wait_go();
            for seq in 0..FRAME_WARMUP + FRAME_COUNT {
                let mut sample = tx.loan_slice_uninit(FRAME_BYTES).unwrap();
                *sample.user_header_mut() = FrameInfo { seq, width: WIDTH, height: HEIGHT };
                let dst = sample.payload_mut();
                // SAFETY-free copy: MaybeUninit<u8> slices written plane by plane.
                write_plane(&mut dst[..Y_BYTES], &y);
                write_plane(&mut dst[Y_BYTES..Y_BYTES + UV_BYTES], &u);
                write_plane(&mut dst[Y_BYTES + UV_BYTES..], &v);
                // SAFETY: every byte of the payload was written just above.
                let sample = unsafe { sample.assume_init() };
                sample.send().unwrap();
            }
            child::wait_done();
        }
        other => panic!("unknown workload {other}"),
    }
}

fn write_plane(dst: &mut [std::mem::MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; lengths are equal.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr() as *mut u8, src.len()) }
}

