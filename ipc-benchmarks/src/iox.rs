//! iceoryx2 0.10.0 publish-subscribe (`ipc::Service`): a fixed-size `#[repr(C)]` payload for
//! ticks, a `[u8]` slice with a user header for frames. Publishers block on a full subscriber
//! buffer (`enable_safe_overflow(false)` + `RetryUntilDelivered`), so nothing is lost.
//!
//! Two contenders, differing only in how a receiver waits when `receive()` finds nothing:
//!
//! - `iceoryx2` polls: `receive()` in a spin-then-yield loop (pure spinning for the first 1,000
//!   polls).
//! - `iceoryx2-event` blocks: every publish-subscribe service has a companion event service of
//!   the same name (iceoryx2's `event()` messaging pattern). The sender calls `notify()` on its
//!   `Notifier` after each `send`; the receiver drains every available sample with `receive()`
//!   and, when none is left, blocks in `Listener::timed_wait`. A notification that arrives
//!   before the wait is not lost: iceoryx2 keeps it in shared memory (a counting bit set, plus
//!   a "notified" flag) and as a datagram in the listener's socket, and the wait returns at once
//!   when either is pending. At worst a wait returns for a sample that was already received;
//!   the loop then finds nothing and waits again.

use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use iceoryx2::port::backpressure_strategy::BackpressureStrategy;
use iceoryx2::port::listener::Listener;
use iceoryx2::port::notifier::Notifier;
use iceoryx2::prelude::*;

use crate::common::*;

pub const NAME: &str = "iceoryx2";
pub const EVENT_NAME: &str = "iceoryx2-event";

/// How a receiver waits for the next sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// `iceoryx2`: spin, then yield.
    Poll,
    /// `iceoryx2-event`: block on a listener that the sender notifies.
    Event,
}

impl Wake {
    fn contender(self) -> &'static str {
        match self {
            Wake::Poll => NAME,
            Wake::Event => EVENT_NAME,
        }
    }

    pub fn of(contender: &str) -> Wake {
        match contender {
            NAME => Wake::Poll,
            EVENT_NAME => Wake::Event,
            other => panic!("not an iceoryx2 contender: {other}"),
        }
    }
}

/// The blocking contender's entry points, for the dispatch in `main`.
pub mod event {
    use super::Wake;
    use crate::common::Sample;

    pub fn throughput(producers: u64, per_producer: u64) -> Sample {
        super::throughput_with(Wake::Event, producers, per_producer)
    }
    pub fn ping_pong() -> Sample {
        super::ping_pong_with(Wake::Event)
    }
    pub fn frame() -> Sample {
        super::frame_with(Wake::Event)
    }
    pub fn frame_made() -> Sample {
        super::frame_made_with(Wake::Event)
    }
}

pub fn throughput(producers: u64, per_producer: u64) -> Sample {
    throughput_with(Wake::Poll, producers, per_producer)
}
pub fn ping_pong() -> Sample {
    ping_pong_with(Wake::Poll)
}
pub fn frame() -> Sample {
    frame_with(Wake::Poll)
}
pub fn frame_made() -> Sample {
    frame_made_with(Wake::Poll)
}

/// A blocked receiver that hears nothing for this long gives up waiting and polls again, and
/// if a sample was there after all, the run fails as a lost wake-up (rather than hanging).
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// Receiving side: waits after `receive()` found nothing.
struct Waiter {
    listener: Option<Listener<ipc::Service>>,
    spins: u32,
    /// The last wait ended by `WAIT_LIMIT`, not by a notification.
    timed_out: bool,
}

impl Waiter {
    /// Before the peer starts: for `Wake::Event`, opens the event service `name` (for up to
    /// `notifiers` notifiers) and creates this side's listener, so that the peer's first
    /// notification already finds it.
    fn new(wake: Wake, node: &Node<ipc::Service>, name: &str, notifiers: usize) -> Waiter {
        let listener = (wake == Wake::Event).then(|| event_service(node, name, notifiers).listener_builder().create().unwrap());
        Waiter { listener, spins: 0, timed_out: false }
    }

    /// `receive()` returned nothing.
    #[inline]
    fn wait(&mut self) {
        match &self.listener {
            None => backoff(&mut self.spins),
            Some(listener) => {
                let t = Instant::now();
                listener.timed_wait(|_| {}, WAIT_LIMIT).unwrap();
                self.timed_out = t.elapsed() >= WAIT_LIMIT;
            }
        }
    }

    /// `receive()` returned a sample.
    #[inline]
    fn got(&mut self) {
        self.spins = 0;
        assert!(!self.timed_out, "iceoryx2-event: lost wake-up (a sample was there after a {WAIT_LIMIT:?} wait without notification)");
    }
}

/// Sending side: notifies the receiver's listener after each send (`Wake::Event`).
struct Notify(Option<Notifier<ipc::Service>>);

impl Notify {
    fn new(wake: Wake, node: &Node<ipc::Service>, name: &str, notifiers: usize) -> Notify {
        Notify((wake == Wake::Event).then(|| event_service(node, name, notifiers).notifier_builder().create().unwrap()))
    }

    #[inline]
    fn sent(&self) {
        if let Some(n) = &self.0 {
            let listeners = n.notify().unwrap();
            assert_eq!(listeners, 1, "iceoryx2-event: the notification reached {listeners} listeners");
        }
    }
}

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

/// The companion event service of the publish-subscribe service `name` (same name, `event()`
/// messaging pattern): one listener (the receiver), `notifiers` notifiers (the senders).
fn event_service(
    node: &Node<ipc::Service>,
    name: &str,
    notifiers: usize,
) -> iceoryx2::service::port_factory::event::PortFactory<ipc::Service> {
    node.service_builder(&name.try_into().unwrap())
        .event()
        .max_notifiers(notifiers)
        .max_listeners(1)
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

fn spawn(wake: Wake, workload: &str, token: &str, args: &[String]) -> Child {
    let mut a = vec![token.to_owned()];
    a.extend_from_slice(args);
    Child::spawn(wake.contender(), workload, &a)
}

fn throughput_with(wake: Wake, producers: u64, per_producer: u64) -> Sample {
    let node = node();
    let token = unique();
    let name = format!("ipc-bench/{token}/tp");
    let service = tick_service(&node, &name, producers as usize, small_buffer());
    let sub = service.subscriber_builder().buffer_size(small_buffer()).create().unwrap();
    let mut waiter = Waiter::new(wake, &node, &name, producers as usize);
    let mut children: Vec<Child> = (0..producers)
        .map(|p| spawn(wake, "produce", &name, &[producers.to_string(), p.to_string(), per_producer.to_string()]))
        .collect();
    children.iter_mut().for_each(Child::wait_ready);
    connect(&sub);
    children.iter_mut().for_each(Child::go);
    let total = producers * per_producer;
    let mut check = TickChecker::new(producers);
    let mut first = None;
    let mut got = 0;
    while got < total {
        match sub.receive().unwrap() {
            Some(sample) => {
                check.check(sample.seq, sample.value);
                got += 1;
                waiter.got();
                first.get_or_insert_with(Instant::now);
            }
            None => waiter.wait(),
        }
    }
    let last = Instant::now();
    check.finish(per_producer);
    children.into_iter().for_each(Child::finish);
    crate::common::throughput(total, first.unwrap(), last)
}

/// Receives the next tick, waiting as `waiter` does.
#[inline]
fn next_tick(sub: &iceoryx2::port::subscriber::Subscriber<ipc::Service, Tick, ()>, waiter: &mut Waiter) -> Tick {
    loop {
        match sub.receive().unwrap() {
            Some(s) => {
                waiter.got();
                return *s;
            }
            None => waiter.wait(),
        }
    }
}

fn ping_pong_with(wake: Wake) -> Sample {
    let node = node();
    let token = unique();
    let ping_name = format!("ipc-bench/{token}/ping");
    let pong_name = format!("ipc-bench/{token}/pong");
    let ping = tick_service(&node, &ping_name, 1, PING_BUFFER);
    let pong = tick_service(&node, &pong_name, 1, PING_BUFFER);
    let tx = ping.publisher_builder().backpressure_strategy(BackpressureStrategy::RetryUntilDelivered).create().unwrap();
    let rx = pong.subscriber_builder().buffer_size(PING_BUFFER).create().unwrap();
    let mut waiter = Waiter::new(wake, &node, &pong_name, 1);
    let mut child = spawn(wake, "echo", &ping_name, &[pong_name.clone()]);
    child.wait_ready();
    // The child created its listener before saying ready.
    let notify = Notify::new(wake, &node, &ping_name, 1);
    connect(&rx);
    child.go();
    let mut rtts = Vec::with_capacity(PING_ROUND_TRIPS as usize);
    for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
        let t0 = Instant::now();
        tx.send_copy(Tick { seq: i, value: tick_value(i) }).unwrap();
        notify.sent();
        let got = next_tick(&rx, &mut waiter);
        let dt = t0.elapsed().as_nanos() as u64;
        assert!(got.seq == i && got.value == tick_value(i), "bad pong");
        if i >= PING_WARMUP {
            rtts.push(dt);
        }
    }
    child.finish();
    latencies(rtts)
}

fn frame_with(wake: Wake) -> Sample {
    receive_frames(wake, "frames", check_frame)
}

/// `frame-made`: the producer loans a sample and makes the frame directly in it
/// (`fill_plane_uninit`), so no copy at all.
fn frame_made_with(wake: Wake) -> Sample {
    receive_frames(wake, "frames-made", check_made_frame)
}

/// Parent side of `frame` and `frame-made`: borrows each sample's payload, checked with `check`.
fn receive_frames(wake: Wake, child_workload: &str, check: fn(u64, u64, u32, u32, [&[u8]; 3])) -> Sample {
    let node = node();
    let token = unique();
    let name = format!("ipc-bench/{token}/frame");
    let service = frame_service(&node, &name);
    let sub = service.subscriber_builder().buffer_size(FRAME_BUFFER).create().unwrap();
    let mut waiter = Waiter::new(wake, &node, &name, 1);
    let mut child = spawn(wake, child_workload, &name, &[]);
    child.wait_ready();
    connect(&sub);
    child.go();
    let mut start = None;
    let mut i = 0;
    while i < FRAME_WARMUP + FRAME_COUNT {
        match sub.receive().unwrap() {
            Some(sample) => {
                waiter.got();
                let info = *sample.user_header();
                let bytes: &[u8] = sample.payload();
                let (y, rest) = bytes.split_at(Y_BYTES.min(bytes.len()));
                let (u, v) = rest.split_at(UV_BYTES.min(rest.len()));
                check(info.seq, i, info.width, info.height, [y, u, v]);
                drop(sample);
                if i + 1 == FRAME_WARMUP {
                    start = Some(Instant::now());
                }
                i += 1;
            }
            None => waiter.wait(),
        }
    }
    let elapsed = start.unwrap().elapsed();
    child.finish();
    frames(FRAME_COUNT, elapsed)
}

pub fn child(wake: Wake, workload: &str, args: &[String]) {
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
            let notify = Notify::new(wake, &node, &args[0], producers);
            child::ready();
            child::wait_go();
            for i in 0..n {
                let seq = tick_seq(p, i);
                let sample = tx.loan_uninit().unwrap();
                let delivered = sample.write_payload(Tick { seq, value: tick_value(seq) }).send().unwrap();
                assert_eq!(delivered, 1, "iceoryx2 did not deliver message {i}");
                notify.sent();
            }
            child::wait_done();
        }
        "echo" => {
            let ping = tick_service(&node, &args[0], 1, PING_BUFFER);
            let pong = tick_service(&node, &args[1], 1, PING_BUFFER);
            let rx = ping.subscriber_builder().buffer_size(PING_BUFFER).create().unwrap();
            let tx = pong.publisher_builder().backpressure_strategy(BackpressureStrategy::RetryUntilDelivered).create().unwrap();
            let mut waiter = Waiter::new(wake, &node, &args[0], 1);
            // The parent created its listener before spawning this child.
            let notify = Notify::new(wake, &node, &args[1], 1);
            connect(&rx);
            child::ready();
            child::wait_go();
            for i in 0..PING_WARMUP + PING_ROUND_TRIPS {
                let got = next_tick(&rx, &mut waiter);
                assert!(got.seq == i && got.value == tick_value(i), "bad ping");
                tx.send_copy(got).unwrap();
                notify.sent();
            }
            child::wait_done();
        }
        "frames" => {
            let (y, u, v) = make_planes();
            send_frames(wake, &node, &args[0], |_, dst| {
                write_plane(&mut dst[..Y_BYTES], &y);
                write_plane(&mut dst[Y_BYTES..Y_BYTES + UV_BYTES], &u);
                write_plane(&mut dst[Y_BYTES + UV_BYTES..], &v);
            });
        }
        "frames-made" => {
            send_frames(wake, &node, &args[0], |seq, dst| {
                fill_plane_uninit(seq, 0, &mut dst[..Y_BYTES]);
                fill_plane_uninit(seq, 1, &mut dst[Y_BYTES..Y_BYTES + UV_BYTES]);
                fill_plane_uninit(seq, 2, &mut dst[Y_BYTES + UV_BYTES..]);
            });
        }
        other => panic!("unknown workload {other}"),
    }
}

/// Child side of `frame` and `frame-made`: for each frame, loans a `FRAME_BYTES` sample,
/// lets `write` initialize every byte of its payload, and sends it.
fn send_frames(wake: Wake, node: &Node<ipc::Service>, name: &str, mut write: impl FnMut(u64, &mut [MaybeUninit<u8>])) {
    let service = frame_service(node, name);
    let tx = service
        .publisher_builder()
        .initial_max_slice_len(FRAME_BYTES)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .unwrap();
    let notify = Notify::new(wake, node, name, 1);
    child::ready();
    child::wait_go();
    for seq in 0..FRAME_WARMUP + FRAME_COUNT {
        let mut sample = tx.loan_slice_uninit(FRAME_BYTES).unwrap();
        *sample.user_header_mut() = FrameInfo { seq, width: WIDTH, height: HEIGHT };
        let dst = sample.payload_mut();
        assert_eq!(dst.len(), FRAME_BYTES);
        write(seq, dst);
        // SAFETY: `write` initialized every byte of the payload (a copy of, or a fill of, each
        // of the three planes, which tile the payload).
        let sample = unsafe { sample.assume_init() };
        sample.send().unwrap();
        notify.sent();
    }
    child::wait_done();
}

fn write_plane(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`; lengths are equal.
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr() as *mut u8, src.len()) }
}
