//! Async receives and sends on a real tokio runtime, with real producer and consumer
//! processes: order and end of stream through the `Stream`, cancelled receives that lose
//! nothing, sends that wait for space without blocking the runtime, a receiver or sender that
//! dies, and more waiting futures than one waiter thread serves.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ChildProc, Msg, Note, Pattern, ShmPath};
use std::future::Future;

use futures_util::{FutureExt, StreamExt};
use ipmpsc::Error;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn produce_typed(path: &ShmPath, id: u32, count: u64, pattern: &Pattern) -> ChildProc {
    let [seed, min, max] = pattern.args();
    let (id, count) = (id.to_string(), count.to_string());
    ChildProc::spawn(
        CHILD,
        &[
            "produce-typed",
            path.as_str(),
            &id,
            &count,
            &seed,
            &min,
            &max,
        ],
        &[],
    )
}

/// Checks one producer's `Item`s: in order, every byte as the pattern says.
struct Order {
    next: HashMap<u32, u64>,
    pattern: Pattern,
}

impl Order {
    fn new(pattern: Pattern) -> Order {
        Order {
            next: HashMap::new(),
            pattern,
        }
    }

    fn check(&mut self, m: &Msg) {
        if let Msg::Item { id, seq, data } = m {
            let want = self.next.entry(*id).or_insert(0);
            assert_eq!(*seq, *want, "producer {id} out of order");
            let p = &self.pattern;
            assert_eq!(*data, common::payload(p.seed, *id, *seq, p.min, p.max));
            *want += 1;
        }
    }
}

#[test]
fn a_stream_delivers_every_producers_messages_in_order_and_ends_with_them() {
    let path = ShmPath::new("async-stream");
    let rx = Msg::create_receiver(&path.path, 1 << 12).unwrap();
    let pattern = Pattern {
        seed: 3,
        min: 0,
        max: 200,
    };
    let n = 2000;
    let mut producers: Vec<_> = (1..=3)
        .map(|id| produce_typed(&path, id, n, &pattern))
        .collect();
    let mut order = Order::new(pattern);
    let (items, stops) = runtime().block_on(async {
        let mut stream = rx.into_stream();
        let (mut items, mut stops) = (0u64, 0);
        while let Some(m) = tokio::time::timeout(T, stream.next())
            .await
            .expect("stalled")
        {
            let m = m.unwrap();
            order.check(&m);
            match m {
                Msg::Item { .. } => items += 1,
                Msg::Stop => stops += 1,
                Msg::Text(_) => {}
            }
        }
        // Ended: and stays ended.
        assert!(stream.next().await.is_none());
        (items, stops)
    });
    assert_eq!((items, stops), (3 * n, 3));
    for p in &mut producers {
        p.wait_success(T);
    }
}

#[test]
fn cancelled_receives_lose_no_message() {
    // Each round: a receive polled once and dropped while nothing is queued; a receive that
    // is woken by the message and dropped before it is polled again; then a receive that
    // completes. Exactly one message per round arrives, in order.
    let path = ShmPath::new("async-cancel");
    let mut rx = Note::create_receiver(&path.path, 1 << 12).unwrap();
    let mut sender = ChildProc::spawn(CHILD, &["typed-sender", path.as_str(), "note", "3"], &[]);
    sender.expect_out("READY", T);
    let rt = runtime();
    for round in 0..200u64 {
        // Nothing queued: the receive waits (it registered with the waiter thread), and is
        // cancelled.
        assert!(rx.recv_async().now_or_never().is_none());
        // Woken by the message, dropped before it ran again.
        rt.block_on(async {
            let (waker, woken) = flag_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut fut = Box::pin(rx.recv_async());
            assert!(fut.as_mut().poll(&mut cx).is_pending());
            sender.send_line("send 1");
            sender.expect_out("SENT", T);
            let start = std::time::Instant::now();
            while !woken.load(std::sync::atomic::Ordering::SeqCst) {
                assert!(
                    start.elapsed() < T,
                    "the waiter thread never woke the receive"
                );
                tokio::task::yield_now().await;
            }
            drop(fut);
        });
        let m = rt.block_on(async { tokio::time::timeout(T, rx.recv_async()).await });
        let m = m.expect("the message was lost").unwrap();
        assert_eq!(
            m,
            Note::Line {
                id: 3,
                seq: round,
                text: format!("note 3 {round}")
            }
        );
        assert!(rx.try_recv().unwrap().is_none(), "a message arrived twice");
    }
}

/// A waker that sets a flag.
fn flag_waker() -> (
    std::task::Waker,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl std::task::Wake for Flag {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let waker = std::task::Waker::from(std::sync::Arc::new(Flag(flag.clone())));
    (waker, flag)
}

#[test]
fn views_are_received_in_place_and_a_killed_sender_ends_the_stream() {
    let path = ShmPath::new("async-view");
    let mut rx = Note::create_receiver(&path.path, 1 << 12).unwrap();
    let mut sender = ChildProc::spawn(CHILD, &["typed-sender", path.as_str(), "note", "4"], &[]);
    sender.expect_out("READY", T);
    runtime().block_on(async {
        for round in 0..3u64 {
            sender.send_line("send 2");
            for k in 0..2 {
                let view = tokio::time::timeout(T, rx.recv_view_async())
                    .await
                    .unwrap()
                    .unwrap();
                let common::NoteView::Line { id, seq, text } = *view;
                assert_eq!((id, seq), (4, round * 2 + k));
                assert_eq!(text, format!("note 4 {seq}"));
            }
        }
        sender.kill();
        let end = tokio::time::timeout(T, rx.recv_view_async()).await.unwrap();
        assert!(matches!(end, Err(Error::Disconnected)));
    });
}

#[test]
fn send_async_waits_for_space_without_blocking_the_runtime() {
    let path = ShmPath::new("async-send");
    let mut consumer = ChildProc::spawn(CHILD, &["typed-consumer", path.as_str(), "3000"], &[]);
    consumer.expect_out("READY", T);
    let tx = Msg::open_sender(&path.path).unwrap();
    let rt = runtime();
    let ticks = rt.block_on(async {
        // The ring (1 KiB) fills after a few messages; the consumer does not read yet.
        let ticker = tokio::spawn(async {
            let mut ticks = 0u64;
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                ticks += 1;
                if ticks == 20 {
                    return ticks;
                }
            }
        });
        let item = |seq: u64| Msg::Item {
            id: 1,
            seq,
            data: vec![seq as u8; 100],
        };
        let mut seq = 0;
        // Fill the ring; a send that cannot finish within 5 ms is cancelled and retried
        // later: nothing of it may arrive twice or be lost.
        let mut cancelled = 0;
        loop {
            match tokio::time::timeout(Duration::from_millis(5), tx.send_async(&item(seq))).await {
                Ok(r) => {
                    r.unwrap();
                    seq += 1;
                }
                Err(_) => {
                    cancelled += 1;
                    if cancelled == 3 {
                        break;
                    }
                }
            }
        }
        // The runtime kept running while the sends waited (one thread: a blocked send would
        // have stopped the ticker).
        let ticks = tokio::time::timeout(T, ticker).await.unwrap().unwrap();
        consumer.send_line("go");
        while seq < 3000 {
            tokio::time::timeout(T, tx.send_async(&item(seq)))
                .await
                .unwrap()
                .unwrap();
            seq += 1;
        }
        ticks
    });
    assert_eq!(ticks, 20);
    consumer.expect_out("GOT 3000", T);
    consumer.wait_success(T);
}

#[test]
fn send_async_learns_that_a_killed_receiver_is_gone() {
    let path = ShmPath::new("async-send-dead");
    let mut consumer = ChildProc::spawn(CHILD, &["typed-consumer", path.as_str(), "0"], &[]);
    consumer.expect_out("READY", T);
    let tx = Msg::open_sender(&path.path).unwrap();
    runtime().block_on(async {
        let item = Msg::Item {
            id: 1,
            seq: 0,
            data: vec![0; 200],
        };
        // Fill the ring until a send waits.
        while tokio::time::timeout(Duration::from_millis(20), tx.send_async(&item))
            .await
            .is_ok()
        {}
        let pending = tokio::spawn({
            let tx = tx.clone();
            let item = item.clone();
            async move { tx.send_async(&item).await }
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        consumer.kill();
        let r = tokio::time::timeout(T, pending).await.unwrap().unwrap();
        assert!(matches!(r, Err(Error::Disconnected)), "{r:?}");
    });
}

#[test]
fn more_waiting_receives_than_one_waiter_thread_serves() {
    // 150 channels, a receive waiting on each (one waiter thread serves 127), then one
    // message into each from another process.
    let paths: Vec<ShmPath> = (0..150).map(|_| ShmPath::new("async-many")).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let receivers: Vec<_> = paths
        .iter()
        .map(|p| Note::create_receiver(&p.path, 256).unwrap())
        .collect();
    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|mut rx| rt.spawn(async move { rx.recv_async().await }))
        .collect();
    let mut senders: Vec<ChildProc> = paths
        .iter()
        .map(|p| {
            let mut c = ChildProc::spawn(CHILD, &["typed-sender", p.as_str(), "note", "9"], &[]);
            c.expect_out("READY", T);
            c
        })
        .collect();
    for s in &mut senders {
        s.send_line("send 1");
    }
    rt.block_on(async {
        for t in tasks {
            let m = tokio::time::timeout(T, t).await.unwrap().unwrap().unwrap();
            assert!(matches!(m, Note::Line { id: 9, seq: 0, .. }));
        }
    });
}

#[test]
fn a_task_draining_a_busy_channel_lets_other_tasks_run() {
    // A backlog from another process, drained by a task on a one-thread runtime: the receives
    // complete without waiting, and still the other task gets turns before the drain ends.
    let path = ShmPath::new("async-fair");
    let mut rx = Note::create_receiver(&path.path, 1 << 20).unwrap();
    let mut producer = ChildProc::spawn(CHILD, &["produce-notes", path.as_str(), "1", "5000"], &[]);
    producer.expect_out("DONE", T);
    producer.wait_success(T);
    let turns = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let turns_during_drain = runtime().block_on(async {
        let other = tokio::spawn({
            let turns = turns.clone();
            async move {
                loop {
                    turns.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::task::yield_now().await;
                }
            }
        });
        for seq in 0..5000 {
            let m = rx.recv_async().await.unwrap();
            assert!(matches!(m, Note::Line { seq: s, .. } if s == seq));
        }
        let during = turns.load(std::sync::atomic::Ordering::SeqCst);
        other.abort();
        during
    });
    assert!(
        turns_during_drain > 0,
        "the draining task never yielded to the other task"
    );
}

#[test]
fn a_forked_child_waits_asynchronously_with_a_waiter_thread_of_its_own() {
    // The parent's waiter thread is not in the child: a child that registered with it would
    // never be woken.
    let mut c = ChildProc::spawn(CHILD, &["async-fork"], &[]);
    c.expect_out("PARENT GOT", T);
    c.expect_out("CHILD GOT", T);
    c.expect_out("DONE", T);
    c.wait_success(T);
}

#[test]
fn a_waker_that_drops_the_waiting_stream_does_not_stop_the_waiter() {
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Wake, Waker};
    type Slot = Arc<Mutex<Option<ipmpsc::RecvStream<Note>>>>;
    // An executor that is gone drops a task's future when the task is woken (as async-task's
    // `Runnable` does): the future's registration goes away inside `wake`.
    struct DropOnWake(Slot);
    impl Wake for DropOnWake {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let stream = self.0.lock().unwrap().take();
            drop(stream);
        }
    }
    let (pa, pb) = (ShmPath::new("async-wd-a"), ShmPath::new("async-wd-b"));
    let mut stream = Note::create_receiver(&pa.path, 4096).unwrap().into_stream();
    let tx = Note::open_sender(&pa.path).unwrap();
    let slot: Slot = Arc::default();
    let waker = Waker::from(Arc::new(DropOnWake(Arc::clone(&slot))));
    let first = stream.poll_next_unpin(&mut Context::from_waker(&waker));
    assert!(first.is_pending());
    *slot.lock().unwrap() = Some(stream);
    tx.send(&Note::Line {
        id: 0,
        seq: 0,
        text: String::new(),
    })
    .unwrap();

    // The waiter thread goes on serving other futures.
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let path_b = pb.path.clone();
    std::thread::spawn(move || {
        let mut rx = Note::create_receiver(&path_b, 4096).unwrap();
        let tx = Note::open_sender(&path_b).unwrap();
        let (waker, woken) = flag_waker();
        let mut cx = Context::from_waker(&waker);
        let mut recv = Box::pin(rx.recv_async());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        tx.send(&Note::Line {
            id: 1,
            seq: 0,
            text: String::new(),
        })
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !woken.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(std::time::Instant::now() < deadline, "never woken");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(recv.as_mut().poll(&mut cx).is_ready());
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(T)
        .expect("the waiter thread deadlocked in a waker that dropped its future");
    assert!(slot.lock().unwrap().is_none());
}

#[test]
fn a_temporary_receiver_that_waited_asynchronously_removes_its_file_when_dropped() {
    // The waiter thread holds the channels it sleeps on for a moment after a future goes
    // away: the file must go with the receiver all the same, not when the waiter lets go
    // (which a process that exits at once never sees).
    use std::task::Context;
    let (waker, _) = flag_waker();
    let mut left = 0;
    for _ in 0..200 {
        let mut rx = Note::create_temp_receiver(4096).unwrap();
        let path = rx.path().to_path_buf();
        {
            let mut recv = Box::pin(rx.recv_async());
            assert!(recv
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
        }
        drop(rx);
        if path.exists() {
            left += 1;
            let deadline = std::time::Instant::now() + T;
            while path.exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    assert_eq!(left, 0, "files outlived their receivers");
}

#[test]
fn a_stream_ends_after_an_error_that_every_receive_would_repeat() {
    // A sender in another process commits a message, then the write position is scribbled
    // past the capacity: the receiver reports the corruption on every call from then on, so
    // the stream yields it once and ends rather than yielding it forever.
    use std::os::unix::fs::FileExt;
    const TAIL: u64 = 512; // file offset of the write position (see tests/replacement.rs)
    let path = ShmPath::new("async-corrupt");
    let rx = Note::create_receiver(&path.path, 4096).unwrap();
    let mut sender = ChildProc::spawn(CHILD, &["typed-sender", path.as_str(), "note", "1"], &[]);
    sender.expect_out("READY", T);
    sender.send_line("send 1");
    sender.expect_out("SENT", T);
    let items = runtime().block_on(async {
        let mut stream = rx.into_stream();
        let first = tokio::time::timeout(T, stream.next()).await.unwrap();
        assert!(matches!(first, Some(Ok(Note::Line { seq: 0, .. }))));
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path.path)
            .unwrap();
        f.write_all_at(&(1u64 << 40).to_le_bytes(), TAIL).unwrap();
        sender.send_line("send 1"); // fails or not: the ring is broken either way
        let mut items = Vec::new();
        while let Some(item) = tokio::time::timeout(T, stream.next()).await.unwrap() {
            items.push(item);
            assert!(
                items.len() < 100,
                "the stream repeats its error: {:?}",
                items[0]
            );
        }
        items
    });
    assert!(
        matches!(items.as_slice(), [.., Err(Error::Corrupt(_))]),
        "{items:?}"
    );
}

#[test]
fn a_waker_that_panics_does_not_stop_the_waiter() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};
    struct Panics(Arc<AtomicBool>);
    impl Wake for Panics {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
            panic!("a waker that panics");
        }
    }
    let (pa, pb) = (ShmPath::new("async-wp-a"), ShmPath::new("async-wp-b"));
    let mut ra = Note::create_receiver(&pa.path, 4096).unwrap();
    let ta = Note::open_sender(&pa.path).unwrap();
    let called = Arc::new(AtomicBool::new(false));
    let waker = Waker::from(Arc::new(Panics(Arc::clone(&called))));
    let line = |id| Note::Line {
        id,
        seq: 0,
        text: String::new(),
    };
    {
        let mut recv = Box::pin(ra.recv_async());
        let mut cx = Context::from_waker(&waker);
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        ta.send(&line(0)).unwrap();
        let start = std::time::Instant::now();
        while !called.load(Ordering::SeqCst) {
            assert!(start.elapsed() < T, "the waker was never called");
            std::thread::yield_now();
        }
    }
    // The waiter thread still serves other futures.
    let mut rb = Note::create_receiver(&pb.path, 4096).unwrap();
    let tb = Note::open_sender(&pb.path).unwrap();
    let (waker, woken) = flag_waker();
    let mut cx = Context::from_waker(&waker);
    let mut recv = Box::pin(rb.recv_async());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    tb.send(&line(1)).unwrap();
    let start = std::time::Instant::now();
    while !woken.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < T,
            "the waiter thread died with the panicking waker"
        );
        std::thread::yield_now();
    }
    match recv.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Ok(Note::Line { id: 1, .. })) => {}
        other => panic!("{other:?}"),
    }
}
