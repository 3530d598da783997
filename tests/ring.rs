//! The ring and the raw API across real processes: order and completeness with one and many
//! producer processes, wrap-around with messages up to the whole capacity, zero-copy receive
//! of data written by another process, timeouts, `send_when_empty`, size limits, zero-sized
//! messages, and a property test over capacities, sizes and producer counts.

mod common;

use std::time::{Duration, Instant};

use common::{ChildProc, Item, Pattern, ShmPath, Tracker};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};
use proptest::prelude::*;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(20);

fn spawn(args: &[&str]) -> ChildProc {
    ChildProc::spawn(CHILD, args, &[])
}

fn producer(path: &ShmPath, id: u32, count: u64, pattern: &Pattern) -> ChildProc {
    common::spawn_producer(CHILD, path, id, count, pattern, &[], &[])
}

/// Receives `Item`s until every producer in `counts` has delivered its count, checking order,
/// uniqueness and content. Fails if the channel stays silent for `idle` or if more arrives.
fn consume(
    rx: &Receiver,
    pattern: &Pattern,
    counts: &[(u32, u64)],
    idle: Duration,
    children: &mut [ChildProc],
) -> Tracker {
    let mut tracker = Tracker::default();
    let total: u64 = counts.iter().map(|c| c.1).sum();
    while tracker.total < total {
        match rx.recv_timeout::<Item>(idle).expect("recv_timeout") {
            Some(item) => tracker.check(pattern, item.id, item.seq, &item.data),
            None => panic!(
                "nothing received for {idle:?} after {} of {total} messages; per producer: {:?}\n{}",
                tracker.total,
                tracker.next,
                children.iter_mut().map(|c| c.report()).collect::<Vec<_>>().join("\n")
            ),
        }
    }
    for &(id, count) in counts {
        assert_eq!(tracker.received(id), count, "producer {id}");
    }
    assert_eq!(
        rx.try_recv::<Item>().expect("try_recv"),
        None,
        "more messages than were sent"
    );
    tracker
}

#[test]
fn one_producer_process_in_order() {
    let path = ShmPath::new("one-producer");
    let rx = Receiver::new(SharedRingBuffer::create(&path, 16 * 1024).unwrap());
    let pattern = Pattern {
        seed: 1,
        min: 0,
        max: 64,
    };
    let mut p = producer(&path, 7, 20_000, &pattern);
    consume(
        &rx,
        &pattern,
        &[(7, 20_000)],
        T,
        std::slice::from_mut(&mut p),
    );
    p.wait_success(T);
}

#[test]
fn four_producer_processes_100k_each() {
    let path = ShmPath::new("four-producers");
    let rx = Receiver::new(SharedRingBuffer::create(&path, 64 * 1024).unwrap());
    let pattern = Pattern {
        seed: 2,
        min: 0,
        max: 16,
    };
    let start = Instant::now();
    let mut ps: Vec<_> = (1..=4)
        .map(|id| producer(&path, id, 100_000, &pattern))
        .collect();
    let counts: Vec<_> = (1..=4).map(|id| (id, 100_000)).collect();
    consume(&rx, &pattern, &counts, T, &mut ps);
    for p in &mut ps {
        p.wait_success(T);
    }
    eprintln!(
        "4 producer processes x 100,000 messages: {:?}",
        start.elapsed()
    );
}

#[test]
fn wrap_around_with_random_sizes_up_to_the_capacity() {
    const CAP: u64 = 4096;
    let path = ShmPath::new("wrap");
    let rx = Receiver::new(SharedRingBuffer::create(&path, CAP).unwrap());
    assert_eq!(rx_capacity(&path), CAP);
    // Item payloads of 0..=4076 bytes encode to 20..=4096 bytes: up to the largest message,
    // whose record fills the whole ring.
    let max = (CAP - 20) as usize;
    assert_eq!(common::item_encoded_len(max as u64), CAP);
    let pattern = Pattern {
        seed: 3,
        min: 0,
        max,
    };
    let mut ps: Vec<_> = (1..=2)
        .map(|id| producer(&path, id, 1500, &pattern))
        .collect();
    consume(&rx, &pattern, &[(1, 1500), (2, 1500)], T, &mut ps);
    for p in &mut ps {
        p.wait_success(T);
    }
}

fn rx_capacity(path: &ShmPath) -> u64 {
    SharedRingBuffer::open(path).unwrap().capacity()
}

#[test]
fn records_of_exactly_the_capacity_pass_one_by_one() {
    const CAP: u64 = 1024;
    let path = ShmPath::new("whole-ring");
    let rx = Receiver::new(SharedRingBuffer::create(&path, CAP).unwrap());
    // Small and whole-ring messages alternate, so every whole-ring record needs padding first.
    let whole = (CAP - 20) as usize;
    assert_eq!(common::item_encoded_len(whole as u64), CAP);
    let big = Pattern {
        seed: 4,
        min: whole,
        max: whole,
    };
    let small = Pattern {
        seed: 4,
        min: 0,
        max: 24,
    };
    let mut a = producer(&path, 1, 300, &big);
    let mut b = producer(&path, 2, 300, &small);
    let mut tracker = Tracker::default();
    while tracker.total < 600 {
        let item: Item = rx
            .recv_timeout(T)
            .unwrap()
            .expect("a message within the timeout");
        let pattern = if item.id == 1 { &big } else { &small };
        tracker.check(pattern, item.id, item.seq, &item.data);
    }
    a.wait_success(T);
    b.wait_success(T);
}

/// A receiver that sleeps on an empty ring, is woken by a padding record, skips it and goes
/// back to sleep must still hand the skipped bytes back to senders: the sender that wrote the
/// padding waits for exactly those bytes (its next record needs the whole ring).
///
/// Each round: a message whose record is 3200 of the ring's 4104 bytes (a capacity of 4096,
/// and the length word of a record), then (once the receiver is asleep again) the largest
/// message, whose record is the whole ring and needs a 904-byte padding record first.
#[test]
fn padding_skipped_by_a_sleeping_receiver_is_released() {
    const CAP: u64 = 4096;
    const ROUNDS: usize = 30;
    let path = ShmPath::new("padding-release");
    let rx = Receiver::new(SharedRingBuffer::create(&path, CAP).unwrap());
    // A Vec<u8> of n bytes encodes to 8 + n bytes; its record is 8 more.
    let (part, whole) = ((3200 - 16) as usize, (CAP - 8) as usize);
    let mut script = vec![path.as_str().to_string()];
    for _ in 0..ROUNDS {
        script.extend([
            part.to_string(),
            "wait".into(),
            whole.to_string(),
            "wait".into(),
        ]);
    }
    let mut args = vec!["send-script"];
    args.extend(script.iter().map(String::as_str));
    let mut child = spawn(&args);
    for round in 0..ROUNDS {
        let got: Vec<u8> = rx
            .recv_timeout(T)
            .unwrap()
            .expect("first message of the round");
        assert_eq!(got.len(), part);
        child.send_line("go");
        let start = Instant::now();
        let got: Option<Vec<u8>> = rx.recv_timeout(Duration::from_secs(3)).unwrap();
        let got = got.unwrap_or_else(|| {
            panic!(
                "round {round}: the whole-ring message did not arrive within {:?}: the sender \
                 waits for space the receiver consumed (a padding record) but never released\n{}",
                start.elapsed(),
                child.report()
            )
        });
        assert_eq!(got.len(), whole);
        child.send_line("go");
    }
    child.wait_success(T);
}

#[test]
fn zero_copy_receive_of_str_and_bytes_from_another_process() {
    const COUNT: u64 = 600;
    let seed = 5;
    let path = ShmPath::new("zero-copy");
    let mut rx = Receiver::new(SharedRingBuffer::create(&path, 8 * 1024).unwrap());
    let mut child = spawn(&[
        "send-text",
        path.as_str(),
        &COUNT.to_string(),
        &seed.to_string(),
    ]);
    for i in 0..COUNT {
        let expected_text = common::text(seed, i);
        let expected_bytes = common::payload(seed, 1, i, 0, 300);
        let check_range = i % 50 == 0;
        {
            let mut ctx = rx.zero_copy_context();
            let s: &str = ctx.recv_timeout(T).unwrap().expect("text");
            assert_eq!(s, expected_text);
            if check_range {
                assert!(
                    common::within_mapping(s.as_bytes(), &path.path),
                    "&str not in the mapping"
                );
            }
            assert!(matches!(
                ctx.try_recv::<&str>(),
                Err(Error::AlreadyReceived)
            ));
        }
        {
            let mut ctx = rx.zero_copy_context();
            let b: &[u8] = ctx.recv().unwrap();
            assert_eq!(b, expected_bytes.as_slice());
            if check_range && !b.is_empty() {
                assert!(
                    common::within_mapping(b, &path.path),
                    "&[u8] not in the mapping"
                );
            }
        }
        {
            let mut ctx = rx.zero_copy_context();
            let (n, s, b): (u64, &str, &[u8]) = ctx.recv_timeout(T).unwrap().expect("tuple");
            assert_eq!(
                (n, s, b),
                (i, expected_text.as_str(), expected_bytes.as_slice())
            );
        }
    }
    child.wait_success(T);
    assert_eq!(rx.try_recv::<Vec<u8>>().unwrap(), None);
}

#[test]
fn typed_channel_across_processes_with_views() {
    use common::{Msg, MsgView};
    let path = ShmPath::new("typed");
    let mut rx = Msg::create_receiver(&path, 16 * 1024).unwrap();
    let pattern = Pattern {
        seed: 6,
        min: 0,
        max: 200,
    };
    let [seed, min, max] = pattern.args();
    let mut ps: Vec<_> = (1..=3u32)
        .map(|id| {
            spawn(&[
                "produce-typed",
                path.as_str(),
                &id.to_string(),
                "3000",
                &seed,
                &min,
                &max,
            ])
        })
        .collect();
    let mut tracker = Tracker::default();
    let mut texts: std::collections::HashMap<u32, u64> = Default::default();
    // Producer `id` sends `text(seed ^ id, seq)` after each item with seq % 16 == 0, in order.
    let check_text = |texts: &mut std::collections::HashMap<u32, u64>, t: &str| {
        let id = (1..=3u32)
            .find(|&id| {
                let k = texts.get(&id).copied().unwrap_or(0);
                t == common::text(pattern.seed ^ u64::from(id), k * 16)
            })
            .unwrap_or_else(|| panic!("unexpected or out-of-order text {t:?}"));
        *texts.entry(id).or_default() += 1;
    };
    let mut stops = 0;
    let mut n = 0u64;
    while stops < 3 {
        n += 1;
        if n % 2 == 0 {
            let msg = rx
                .recv_timeout(T)
                .unwrap()
                .expect("a message within the timeout");
            match msg {
                Msg::Item { id, seq, data } => tracker.check(&pattern, id, seq, &data),
                Msg::Text(t) => check_text(&mut texts, &t),
                Msg::Stop => stops += 1,
            }
        } else {
            let guard = rx
                .recv_view_timeout(T)
                .unwrap()
                .expect("a message within the timeout");
            match &*guard {
                MsgView::Item { id, seq, data } => {
                    if n % 101 == 1 && !data.is_empty() {
                        assert!(
                            common::within_mapping(data, &path.path),
                            "view not in the mapping"
                        );
                    }
                    tracker.check(&pattern, *id, *seq, data);
                }
                MsgView::Text(t) => check_text(&mut texts, t),
                MsgView::Stop => stops += 1,
            }
        }
    }
    for id in 1..=3 {
        assert_eq!(tracker.received(id), 3000);
        assert_eq!(texts.get(&id).copied(), Some(3000 / 16 + 1));
    }
    for p in &mut ps {
        p.wait_success(T);
    }
    // Every producer is gone and everything was received: the end of the stream.
    assert!(matches!(rx.try_recv(), Err(ipmpsc::Error::Disconnected)));
}

#[test]
fn timeouts_return_on_time() {
    let path = ShmPath::new("timeouts");
    let mut rx = Receiver::new(SharedRingBuffer::create(&path, 256).unwrap());
    let check = |what: &str, timeout: Duration, start: Instant| {
        let elapsed = start.elapsed();
        eprintln!("{what}: timeout {timeout:?}, returned after {elapsed:?}");
        assert!(
            elapsed >= timeout,
            "{what} returned early: {elapsed:?} < {timeout:?}"
        );
        assert!(
            elapsed < timeout + Duration::from_secs(2),
            "{what} returned late: {elapsed:?}"
        );
    };

    for ms in [0, 1, 30, 200] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        assert_eq!(rx.recv_timeout::<u64>(timeout).unwrap(), None);
        check("Receiver::recv_timeout", timeout, start);

        let start = Instant::now();
        let mut ctx = rx.zero_copy_context();
        assert_eq!(ctx.recv_timeout::<&[u8]>(timeout).unwrap(), None);
        check("ZeroCopyContext::recv_timeout", timeout, start);
    }
    let start = Instant::now();
    assert_eq!(rx.try_recv::<u64>().unwrap(), None);
    assert!(start.elapsed() < Duration::from_secs(2));

    // A message from another process ends a long wait early.
    let mut child = spawn(&["send-len", path.as_str(), "10"]);
    let start = Instant::now();
    let got: Vec<u8> = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap()
        .expect("message");
    assert_eq!(got, vec![0xA5; 10]);
    assert!(start.elapsed() < Duration::from_secs(30));
    child.wait_success(T);

    // Full ring, receiver alive in another process but not reading: send_timeout times out.
    drop(rx);
    let mut holder = spawn(&["hold-receiver", path.as_str(), "raw"]);
    holder.expect_out("READY", T);
    let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
    while tx.try_send(&[7u8; 32]).unwrap() {}
    let start = Instant::now();
    assert!(!tx.try_send(&[7u8; 32]).unwrap());
    assert!(start.elapsed() < Duration::from_secs(2));
    for ms in [0, 1, 30, 300] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        assert!(
            !tx.send_timeout(&[7u8; 32], timeout).unwrap(),
            "ring should be full"
        );
        check("Sender::send_timeout", timeout, start);
    }
    holder.kill();

    // Typed: no sender ever registered, so a timeout is `Ok(None)`, not `Disconnected`.
    let typed = ShmPath::new("timeouts-typed");
    let mut trx = common::Msg::create_receiver(&typed, 1024).unwrap();
    for ms in [1, 100] {
        let timeout = Duration::from_millis(ms);
        let start = Instant::now();
        assert!(trx.recv_timeout(timeout).unwrap().is_none());
        check("TypedReceiver::recv_timeout", timeout, start);
        let start = Instant::now();
        assert!(trx.recv_view_timeout(timeout).unwrap().is_none());
        check("TypedReceiver::recv_view_timeout", timeout, start);
    }
}

#[test]
fn send_when_empty_waits_until_the_receiver_drained_the_ring() {
    let path = ShmPath::new("when-empty");
    let rx = Receiver::new(SharedRingBuffer::create(&path, 4096).unwrap());
    let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
    let pattern = Pattern {
        seed: 0,
        min: 0,
        max: 0,
    };
    let mut seq = 0;
    for _ in 0..8 {
        tx.send(&pattern.item(1, seq)).unwrap();
        seq += 1;
    }
    let mut child = spawn(&["send-when-empty", path.as_str(), "2"]);
    child.expect_out("WAITING", T);
    // Keep the ring non-empty for a while: receive one, send one. The child's message must not
    // appear, since the ring is never empty.
    let window = Instant::now();
    let mut expected = 0;
    let mut rounds = 0;
    while window.elapsed() < Duration::from_millis(300) || rounds < 200 {
        let item: Item = rx.recv_timeout(T).unwrap().expect("message");
        assert_eq!(
            (item.id, item.seq),
            (1, expected),
            "send_when_empty sent into a non-empty ring"
        );
        expected += 1;
        tx.send(&pattern.item(1, seq)).unwrap();
        seq += 1;
        rounds += 1;
    }
    // Drain: the child's message comes right after ours, and the child reports it sent.
    while expected < seq {
        let item: Item = rx.recv_timeout(T).unwrap().expect("message");
        assert_eq!((item.id, item.seq), (1, expected));
        expected += 1;
    }
    let item: Item = rx
        .recv_timeout(T)
        .unwrap()
        .expect("the child's message after the ring emptied");
    assert_eq!((item.id, item.seq), (2, 0));
    child.expect_out("SENT", T);
    child.wait_success(T);
}

#[test]
fn message_too_large_is_refused_and_the_ring_stays_usable() {
    const CAP: u64 = 4096;
    let path = ShmPath::new("too-large");
    let rx = Receiver::new(SharedRingBuffer::create(&path, CAP).unwrap());
    let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
    // A Vec<u8> of n bytes encodes to 8 + n bytes.
    let fits = (CAP - 8) as usize;
    for len in [fits + 1, fits + 8, CAP as usize, 10 * CAP as usize] {
        match tx.send(&vec![1u8; len]) {
            Err(Error::MessageTooLarge { size, capacity }) => {
                assert_eq!(capacity, CAP);
                assert_eq!(size, len as u64 + 8);
            }
            other => panic!("{len} bytes into {CAP}: {other:?}"),
        }
        assert!(matches!(
            tx.try_send(&vec![1u8; len]),
            Err(Error::MessageTooLarge { .. })
        ));
        assert!(matches!(
            tx.send_timeout(&vec![1u8; len], Duration::from_millis(1)),
            Err(Error::MessageTooLarge { .. })
        ));
    }
    let mut child = spawn(&["send-len", path.as_str(), &(fits + 1).to_string()]);
    let line = child.expect_out("ERR", T);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts[1], "MessageTooLarge", "{line}");
    assert_eq!(parts[3], CAP.to_string(), "{line}");
    drop(child);

    // The largest message that fits, from another process, then a small one from here.
    let mut child = spawn(&["send-len", path.as_str(), &fits.to_string()]);
    let got: Vec<u8> = rx.recv_timeout(T).unwrap().expect("largest message");
    assert_eq!(got, vec![0xA5; fits]);
    child.expect_out("OK", T);
    child.wait_success(T);
    tx.send(&vec![2u8; 3]).unwrap();
    assert_eq!(rx.recv::<Vec<u8>>().unwrap(), vec![2u8; 3]);
}

#[test]
fn zero_sized_messages_across_processes() {
    const COUNT: u64 = 3000;
    let path = ShmPath::new("zero-sized");
    // 64 bytes: eight empty records; the ring wraps hundreds of times.
    let mut rx = Receiver::new(SharedRingBuffer::create(&path, 64).unwrap());
    let mut child = spawn(&["produce-zero", path.as_str(), &COUNT.to_string()]);
    for i in 0..COUNT {
        assert_eq!(rx.recv_timeout::<()>(T).unwrap(), Some(()));
        let v: Vec<u8> = rx.recv_timeout(T).unwrap().expect("empty vec");
        assert!(v.is_empty());
        if i % 2 == 0 {
            assert_eq!(rx.recv_timeout::<u64>(T).unwrap(), Some(i));
        } else {
            let mut ctx = rx.zero_copy_context();
            assert_eq!(ctx.recv::<u64>().unwrap(), i);
        }
    }
    child.wait_success(T);
    assert_eq!(rx.try_recv::<()>().unwrap(), None);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 16, ..ProptestConfig::default() })]

    /// Random capacity, payload sizes (up to the whole ring) and number of producer processes:
    /// everything arrives once, in order per producer, byte for byte.
    #[test]
    fn random_capacities_sizes_and_producer_counts(
        cap in 32u64..20_000,
        producers in 1u32..=4,
        count in 1u64..1500,
        seed in any::<u64>(),
        size_frac in 0.0f64..=1.0,
    ) {
        let path = ShmPath::new("prop");
        let rx = Receiver::new(SharedRingBuffer::create(&path, cap).unwrap());
        let cap = rx_capacity(&path);
        // Largest Item payload whose record fits the ring.
        let max_fit = (cap - 28) as usize;
        let max = ((max_fit as f64) * size_frac) as usize;
        let pattern = Pattern { seed, min: 0, max };
        let mut ps: Vec<_> = (0..producers).map(|id| producer(&path, id, count, &pattern)).collect();
        let counts: Vec<_> = (0..producers).map(|id| (id, count)).collect();
        consume(&rx, &pattern, &counts, T, &mut ps);
        for p in &mut ps {
            p.wait_success(T);
        }
    }
}

/// As in ipmpsc 0.5, a ring created with capacity C takes one message of C encoded bytes (a
/// program that sized its ring to its largest message keeps working), and not one byte more.
/// Capacities are rounded up to a multiple of 8, and `capacity()` says what they became.
#[test]
fn a_ring_of_capacity_c_takes_a_message_of_c_encoded_bytes() {
    // A Vec<u8> of n bytes encodes to 8 + n bytes (a u64 length, then the bytes); the refusal
    // of C + 1 bytes below checks that by its reported size.
    const PREFIX: u64 = 8;
    for (asked, c) in [(8, 8), (64, 64), (1000, 1000), (1001, 1008), (4096, 4096)] {
        let path = ShmPath::new(&format!("exact-{asked}"));
        let buffer = SharedRingBuffer::create(&path, asked).unwrap();
        assert_eq!(buffer.capacity(), c);
        let rx = Receiver::new(buffer);

        let mut child = spawn(&["send-len", path.as_str(), &(c - PREFIX).to_string()]);
        let sent = child.next_out(T);
        assert_eq!(sent.as_deref(), Some("OK"), "capacity {asked}, {c} bytes");
        child.wait_success(T);
        let got: Vec<u8> = rx.recv_timeout(T).unwrap().expect("the message");
        assert_eq!(got, vec![0xA5; (c - PREFIX) as usize], "capacity {asked}");

        // Twice in a row, from another position in the ring: still whole.
        let tx = Sender::new(SharedRingBuffer::open(&path).unwrap());
        for round in 0..2u8 {
            tx.send(&vec![round; (c - PREFIX) as usize]).unwrap();
            let got: Vec<u8> = rx.recv_timeout(T).unwrap().expect("again");
            assert_eq!(got, vec![round; (c - PREFIX) as usize]);
        }

        let mut child = spawn(&["send-len", path.as_str(), &(c - PREFIX + 1).to_string()]);
        let line = child.expect_out("ERR", T);
        assert_eq!(
            line,
            format!("ERR MessageTooLarge {} {c}", c + 1),
            "capacity {asked}"
        );
        assert_eq!(child.wait_exit(T).code(), Some(3));
    }
}
