//! Dead and departed peers: senders blocked on a full ring learn that the receiver is gone,
//! `sender_count` follows senders in other processes, and a typed receiver learns that every
//! sender is gone.

mod common;

use std::time::{Duration, Instant};

use common::{ChildProc, Item, Msg, ShmPath};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);
const BOUND: Duration = Duration::from_secs(5);

fn spawn(args: &[&str]) -> ChildProc {
    ChildProc::spawn(CHILD, args, &[])
}

/// How the receiver goes away.
#[derive(Clone, Copy, Debug)]
enum Departure {
    Killed,
    Dropped,
}

fn depart(holder: &mut ChildProc, how: Departure) {
    match how {
        Departure::Killed => holder.kill(),
        Departure::Dropped => {
            holder.send_line("drop");
            holder.expect_out("DROPPED", T);
        }
    }
}

/// A sender process blocked on a full ring gets `Disconnected` once the receiver process is
/// killed (or drops its receiver).
fn blocked_sender_process(how: Departure) -> Duration {
    let path = ShmPath::new("disc-proc");
    drop(SharedRingBuffer::create(&path, 1024).unwrap());
    let mut holder = spawn(&["hold-receiver", path.as_str(), "raw"]);
    holder.expect_out("READY", T);
    let mut sender = spawn(&["blocked-sender", path.as_str()]);
    sender.expect_out("FULL", T);
    let gone = Instant::now();
    depart(&mut holder, how);
    let line = sender.expect_out("RESULT", BOUND + T);
    let latency = gone.elapsed();
    assert!(
        line.starts_with("RESULT Disconnected"),
        "blocked sender got {line:?}"
    );
    eprintln!("receiver {how:?}: the blocked sender process got Disconnected after {latency:?}");
    assert!(latency < BOUND, "Disconnected took {latency:?}");
    sender.wait_success(T);
    latency
}

#[test]
fn blocked_sender_process_disconnected_when_receiver_killed() {
    blocked_sender_process(Departure::Killed);
}

#[test]
fn blocked_sender_process_disconnected_when_receiver_dropped() {
    blocked_sender_process(Departure::Dropped);
}

/// The same with the blocked sender (raw, and typed with `send` and `send_timeout`) in this
/// process.
#[test]
fn blocked_senders_here_disconnected_when_receiver_process_killed() {
    // Raw.
    let path = ShmPath::new("disc-here");
    drop(SharedRingBuffer::create(&path, 1024).unwrap());
    let mut holder = spawn(&["hold-receiver", path.as_str(), "raw"]);
    holder.expect_out("READY", T);
    let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
    let item = Item {
        id: 1,
        seq: 0,
        data: vec![1; 64],
    };
    while tx.try_send(&item).unwrap() {}
    let blocked = std::thread::spawn(move || {
        let r = tx.send(&item);
        (r, Instant::now())
    });
    let timed = {
        let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
        std::thread::spawn(move || {
            tx.send_timeout(&vec![0u8; 200], Duration::from_secs(60))
                .map(|_| Instant::now())
        })
    };
    holder.kill();
    let killed = Instant::now();
    let (result, at) = blocked.join().unwrap();
    assert!(matches!(result, Err(Error::Disconnected)), "{result:?}");
    let latency = at.saturating_duration_since(killed);
    eprintln!("raw Sender::send: Disconnected {latency:?} after the receiver was killed");
    assert!(latency < BOUND);
    let result = timed.join().unwrap();
    assert!(
        matches!(result, Err(Error::Disconnected)),
        "send_timeout: {result:?}"
    );

    // Typed: the receiver process created the channel.
    let path = ShmPath::new("disc-typed");
    let mut holder = spawn(&["create-receiver", path.as_str(), "typed", "1024"]);
    holder.expect_out("READY", T);
    let tx = Msg::open_sender(&path).unwrap();
    let msg = Msg::Text("x".repeat(100));
    while tx.try_send(&msg).unwrap() {}
    let tx2 = tx.clone();
    let blocked = std::thread::spawn(move || (tx.send(&Msg::Stop), Instant::now()));
    let timed = std::thread::spawn(move || {
        (
            tx2.send_timeout(&Msg::Stop, Duration::from_secs(60))
                .map(|_| ()),
            Instant::now(),
        )
    });
    holder.kill();
    let killed = Instant::now();
    for (what, (result, at)) in [
        ("send", blocked.join().unwrap()),
        ("send_timeout", timed.join().unwrap()),
    ] {
        assert!(
            matches!(result, Err(Error::Disconnected)),
            "typed {what}: {result:?}"
        );
        let latency = at.saturating_duration_since(killed);
        eprintln!("TypedSender::{what}: Disconnected {latency:?} after the receiver was killed");
        assert!(latency < BOUND);
    }
}

/// A sender blocked before any receiver ever existed keeps waiting (it is not disconnected),
/// and its message arrives once a receiver starts.
#[test]
fn sender_waits_for_a_receiver_that_has_not_started_yet() {
    let path = ShmPath::new("disc-not-yet");
    drop(SharedRingBuffer::create(&path, 1024).unwrap());
    let mut sender = spawn(&["blocked-sender", path.as_str()]);
    sender.expect_out("FULL", T);
    // Long enough for several liveness checks (every 50 ms) to have looked at the claim.
    if let Some(line) = sender.poll_out(Duration::from_millis(400)) {
        panic!("the sender should still be waiting, but printed {line:?}");
    }
    let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
    let mut n = 0;
    while let Some(item) = rx.recv_timeout::<Item>(Duration::from_millis(500)).unwrap() {
        assert_eq!(item.data.len(), 100);
        n += 1;
    }
    assert!(n >= 2);
    let line = sender.expect_out("RESULT", T);
    assert!(line.starts_with("RESULT Ok"), "{line}");
    sender.wait_success(T);
}

#[test]
fn sender_count_follows_senders_in_other_processes() {
    for kind in ["raw", "typed"] {
        let path = ShmPath::new("count");
        let count: Box<dyn Fn() -> usize> = if kind == "raw" {
            let rx = Receiver::new(SharedRingBuffer::create(&path, 4096).unwrap());
            Box::new(move || rx.sender_count())
        } else {
            let rx = Msg::create_receiver(&path, 4096).unwrap();
            Box::new(move || rx.sender_count())
        };
        assert_eq!(count(), 0);
        let mut senders: Vec<_> = (0..3)
            .map(|_| spawn(&["hold-sender", path.as_str(), kind, "2"]))
            .collect();
        for s in &mut senders {
            s.expect_out("READY", T);
        }
        assert_eq!(count(), 3, "{kind}: three live sender processes");
        senders[0].kill();
        assert_eq!(count(), 2, "{kind}: after one was SIGKILLed");
        senders[1].send_line("drop");
        senders[1].expect_out("DROPPED", T);
        assert_eq!(count(), 1, "{kind}: after one dropped its sender");
        senders[2].close_stdin();
        senders[2].wait_success(T);
        assert_eq!(count(), 0, "{kind}: after the last one exited");
    }
}

/// Typed `recv_timeout` returns `Err(Disconnected)` once the ring is empty and every sender
/// that came is dead; before that, `Ok(None)`. It is reported once; a new sender reconnects.
#[test]
fn typed_recv_timeout_reports_disconnected_when_all_senders_died() {
    let path = ShmPath::new("typed-disc");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let mut a = spawn(&["hold-sender", path.as_str(), "typed", "3"]);
    let mut b = spawn(&["hold-sender", path.as_str(), "typed", "3"]);
    a.expect_out("READY", T);
    b.expect_out("READY", T);
    for _ in 0..6 {
        assert!(matches!(
            rx.recv_timeout(T).unwrap(),
            Some(Msg::Item { .. })
        ));
    }
    let short = Duration::from_millis(50);
    assert!(
        rx.recv_timeout(short).unwrap().is_none(),
        "both senders alive"
    );
    a.kill();
    assert!(
        rx.recv_timeout(short).unwrap().is_none(),
        "one sender alive"
    );
    assert!(
        rx.recv_view_timeout(short).unwrap().is_none(),
        "one sender alive"
    );
    b.kill();
    let start = Instant::now();
    assert!(
        matches!(rx.recv_timeout(short), Err(Error::Disconnected)),
        "all senders dead"
    );
    assert!(start.elapsed() < short + BOUND);
    // Reported once per "everyone left": the next calls wait for a new sender.
    assert!(rx.recv_view_timeout(short).unwrap().is_none());
    assert!(rx.try_recv().unwrap().is_none());

    // A message sent just before the last sender died is still delivered, not `Disconnected`.
    let mut c = spawn(&["hold-sender", path.as_str(), "typed", "1"]);
    c.expect_out("READY", T);
    c.kill();
    assert!(matches!(rx.recv_timeout(short), Ok(Some(Msg::Item { .. }))));
    assert!(matches!(rx.recv_timeout(short), Err(Error::Disconnected)));

    // A new sender: messages flow again.
    let mut d = spawn(&["hold-sender", path.as_str(), "typed", "1"]);
    d.expect_out("READY", T);
    assert!(matches!(rx.recv_timeout(T), Ok(Some(Msg::Item { .. }))));
    assert!(
        rx.recv_timeout(short).unwrap().is_none(),
        "a live sender again"
    );
}

/// The sender table has 128 slots. When live senders in another process hold all of them, a
/// new sender is refused with `TooManySenders`; once that process is killed, its slots are
/// taken over.
#[test]
fn sender_slots_of_a_killed_process_are_reused() {
    let path = ShmPath::new("slots");
    let rx = Receiver::new(SharedRingBuffer::create(&path, 4096).unwrap());
    let mut holder = spawn(&["hold-senders", path.as_str(), "128"]);
    holder.expect_out("READY", T);
    assert_eq!(rx.sender_count(), 128);
    let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
    match tx.send(&1u32) {
        Err(Error::TooManySenders { max }) => assert_eq!(max, 128),
        other => panic!("129th sender: {other:?}"),
    }
    assert!(matches!(
        Msg::open_sender(&path),
        Err(Error::SchemaMismatch(_) | Error::TooManySenders { .. })
    ));
    holder.kill();
    assert_eq!(rx.sender_count(), 0);
    tx.send(&2u32).expect("a dead process's slots are reused");
    let tx2 = Sender::new(SharedRingBuffer::open(&path).unwrap());
    tx2.send(&3u32).unwrap();
    assert_eq!(
        rx.sender_count(),
        1,
        "tx registered no slot of its own; tx2 did"
    );
    assert_eq!(rx.recv_timeout::<u32>(T).unwrap(), Some(2));
    assert_eq!(rx.recv_timeout::<u32>(T).unwrap(), Some(3));
}
