//! Crashes: producers SIGKILLed at every step of a send (and at random instants), consumers
//! SIGKILLed while reading and restarted. Good producers running at the same time must lose
//! nothing, duplicate nothing and stay in order; a restarted consumer continues where the dead
//! one stopped (the message it was reading is delivered again).

mod common;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{ChildProc, Item, Pattern, ShmPath, Tracker};
use ipmpsc::{Error, Receiver, SharedRingBuffer};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

/// Producer id of the sentinel: one message sent after every other producer is done or dead,
/// so that once it arrives, everything before it has been received or skipped.
const SENTINEL: u32 = 0;

fn producer(
    path: &ShmPath,
    id: u32,
    count: u64,
    pattern: &Pattern,
    extra: &[&str],
    env: &[(&str, &str)],
) -> ChildProc {
    common::spawn_producer(CHILD, path, id, count, pattern, extra, env)
}

struct Consumed {
    tracker: Tracker,
    /// Pauses of more than 20 ms between two received messages: (start, end).
    gaps: Vec<(Instant, Instant)>,
}

/// Receives `Item`s in a thread of this process until `done` says so, checking each one.
fn spawn_consumer(
    buffer: SharedRingBuffer,
    pattern: Pattern,
    limit: Duration,
    done: impl Fn(&Tracker) -> bool + Send + 'static,
) -> JoinHandle<Consumed> {
    std::thread::spawn(move || {
        let rx = Receiver::try_new(buffer).expect("claim the receiver");
        let start = Instant::now();
        let mut tracker = Tracker::default();
        let mut gaps = Vec::new();
        let mut last = Instant::now();
        while !done(&tracker) {
            assert!(
                start.elapsed() < limit,
                "consumer still waiting after {limit:?}; received so far per producer: {:?}",
                tracker.next
            );
            let item = match rx.recv_timeout::<Item>(Duration::from_millis(200)) {
                Ok(Some(item)) => item,
                Ok(None) => continue,
                Err(e) => panic!("receive failed after {} messages: {e}", tracker.total),
            };
            let now = Instant::now();
            if now - last > Duration::from_millis(20) {
                gaps.push((last, now));
            }
            last = now;
            tracker.check(&pattern, item.id, item.seq, &item.data);
        }
        assert_eq!(
            rx.try_recv::<Item>().expect("try_recv"),
            None,
            "a message after the sentinel"
        );
        Consumed { tracker, gaps }
    })
}

/// Longest pause of the consumer that ended after `after`.
fn longest_gap_after(gaps: &[(Instant, Instant)], after: Instant) -> Duration {
    gaps.iter()
        .filter(|g| g.1 > after)
        .map(|g| g.1 - g.0.max(after))
        .max()
        .unwrap_or_default()
}

/// Three good producers and one victim that stops at `point` of its 40th send and is SIGKILLed
/// there. Returns how long the consumer waited on the dead reservation after the kill.
fn crash_at(point: &str) -> Duration {
    crash_at_batched(point, None)
}

/// [`crash_at`], with every producer sending with `send_batch`: the good ones 5 messages at a
/// time, the victim `batch` at a time (stopped in its 40th batch).
fn crash_at_batched(point: &str, batch: Option<u64>) -> Duration {
    const GOOD: u64 = 12_000;
    const PHASE1: u64 = 2_000;
    const VICTIM: u32 = 9;
    const N: u64 = 40;
    let path = ShmPath::new(&format!("crash-{point}"));
    let buffer = SharedRingBuffer::create(&path, 16 * 1024).unwrap();
    let pattern = Pattern {
        seed: 11,
        min: 0,
        max: 48,
    };
    let consumer = spawn_consumer(buffer, pattern, Duration::from_secs(60), |t| {
        (1..=3).all(|id| t.received(id) == GOOD) && t.received(SENTINEL) == 1
    });
    let phase1 = PHASE1.to_string();
    let good_extra: &[&str] = match batch {
        Some(_) => &["pause-after", &phase1, "batch", "5"],
        None => &["pause-after", &phase1],
    };
    let mut goods: Vec<_> = (1..=3)
        .map(|id| producer(&path, id, GOOD, &pattern, good_extra, &[]))
        .collect();
    let n = N.to_string();
    let k = batch.unwrap_or(1);
    let ks = k.to_string();
    let mut victim_extra = Vec::new();
    if batch.is_some() {
        victim_extra.extend(["batch", ks.as_str()]);
    }
    let fault = format!("{point}:{N}");
    let mut victim = if point == "mid-encode" {
        victim_extra.extend(["mid-encode", n.as_str()]);
        producer(&path, VICTIM, 1_000_000, &pattern, &victim_extra, &[])
    } else {
        producer(
            &path,
            VICTIM,
            1_000_000,
            &pattern,
            &victim_extra,
            &[("IPMPSC_FAULT", &fault)],
        )
    };
    victim.expect_err(&format!("IPMPSC_FAULT_STOPPED {point}"), T);
    victim.kill();
    let killed = Instant::now();
    // Everything the good producers send from now on is reserved after the victim's
    // reservation, so the consumer cannot finish without skipping it.
    for g in &mut goods {
        g.expect_out("PAUSED", T);
        g.send_line("go");
    }
    for g in &mut goods {
        g.wait_success(T);
    }
    producer(&path, SENTINEL, 1, &pattern, &[], &[]).wait_success(T);
    let consumed = consumer.join().expect("consumer thread");
    let delivered = consumed.tracker.received(VICTIM);
    match point {
        // The fault fires once per message (or batch): exactly the first N - 1 were
        // published.
        "before-publish" | "mid-encode" => {
            assert_eq!(delivered, k * (N - 1), "victim's messages")
        }
        // The fault fires once per reservation attempt (padding records and lost CAS races
        // count too): at most N - 1 messages (or batches), a prefix (checked by the tracker).
        _ => assert!(
            delivered <= k * (N - 1),
            "victim delivered {delivered} messages, more than {}",
            k * (N - 1)
        ),
    }
    let waited = longest_gap_after(&consumed.gaps, killed);
    eprintln!(
        "producer killed at {point}: {delivered} of its messages delivered; the consumer's longest \
         wait after the kill: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(5),
        "dead reservation blocked the consumer for {waited:?}"
    );
    waited
}

#[test]
fn producer_killed_after_announce() {
    crash_at("after-announce");
}

#[test]
fn producer_killed_between_its_cas_and_confirm() {
    crash_at("after-cas");
}

#[test]
fn producer_killed_after_reserve() {
    crash_at("after-reserve");
}

/// Two senders die announcing the same position with different sizes, neither confirmed: one
/// right after its successful CAS, the other before its CAS (as if right after losing the race
/// to it). The receiver finds the real size (the one at whose end the next record starts),
/// skips the dead reservation and delivers everything behind it.
#[test]
fn two_dead_unconfirmed_announcers_of_one_position() {
    let path = ShmPath::new("two-dead");
    let buffer = SharedRingBuffer::create(&path, 4096).unwrap();
    // The loser: announces (0, 120) and stops before its CAS.
    let mut loser = ChildProc::spawn(
        CHILD,
        &["send-len", path.as_str(), "100"],
        &[("IPMPSC_FAULT", "after-announce:1")],
    );
    loser.expect_err("IPMPSC_FAULT_STOPPED after-announce", T);
    // The winner: announces (0, 40), moves the tail, and stops before confirming.
    let mut winner = ChildProc::spawn(
        CHILD,
        &["send-len", path.as_str(), "20"],
        &[("IPMPSC_FAULT", "after-cas:1")],
    );
    winner.expect_err("IPMPSC_FAULT_STOPPED after-cas", T);
    loser.kill();
    winner.kill();
    let pattern = Pattern {
        seed: 5,
        min: 0,
        max: 40,
    };
    common::spawn_producer(CHILD, &path, 1, 5, &pattern, &[], &[]).wait_success(T);
    let rx = Receiver::try_new(buffer).unwrap();
    let mut tracker = Tracker::default();
    for _ in 0..5 {
        let item: Item = rx
            .recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("after {} messages: {e}", tracker.total))
            .expect("the dead reservation was not skipped");
        tracker.check(&pattern, item.id, item.seq, &item.data);
    }
    assert_eq!(rx.try_recv::<Item>().unwrap(), None);
}

#[test]
fn producer_killed_mid_encode() {
    crash_at("mid-encode");
}

#[test]
fn producer_killed_before_publish() {
    crash_at("before-publish");
}

/// Batches under every kill point: a batch whose sender dies before its first record's flag is
/// published is skipped whole (also when the flags of its later records are set already, at
/// `before-publish`); the batches before it arrive whole and in order, and so does everything
/// the good producers (sending batches of 5) send.
#[test]
fn batched_producer_killed_at_every_step() {
    for point in [
        "after-announce",
        "after-cas",
        "after-reserve",
        "mid-encode",
        "before-publish",
    ] {
        crash_at_batched(point, Some(8));
    }
}

/// Expected number of a victim's messages that arrive.
enum Expect {
    Exactly(u64),
    AtMost(u64),
}

/// 200 producers SIGKILLed at random fault points and random instants, while good producers
/// send: the good ones lose nothing, every victim's delivered messages are a prefix of what it
/// sent, and the channel keeps working (sender slots of the dead are reused: 200 victims and
/// 20 good producers pass through a table of 128 slots).
#[test]
fn two_hundred_random_producer_kills() {
    const BATCHES: u32 = 10;
    const PER_BATCH: u32 = 20;
    const GOOD: u64 = 3_000;
    let seed = std::env::var("IPMPSC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    eprintln!("random kills: seed {seed} (set IPMPSC_TEST_SEED to replay)");
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng = common::mix(rng);
        rng % n
    };
    let path = ShmPath::new("random-kills");
    let buffer = SharedRingBuffer::create(&path, 64 * 1024).unwrap();
    let pattern = Pattern {
        seed,
        min: 0,
        max: 40,
    };
    let good_ids: Vec<u32> = (1..=2 * BATCHES).collect();
    let ids = good_ids.clone();
    let consumer = spawn_consumer(buffer, pattern, Duration::from_secs(120), move |t| {
        t.received(SENTINEL) == 1 && ids.iter().all(|&id| t.received(id) == GOOD)
    });
    let start = Instant::now();
    let mut expectations = Vec::new();
    let mut kills = 0;
    let mut by_mode = std::collections::BTreeMap::<&str, u32>::new();
    for batch in 0..BATCHES {
        let mut goods: Vec<_> = [2 * batch + 1, 2 * batch + 2]
            .iter()
            .map(|&id| producer(&path, id, GOOD, &pattern, &[], &[]))
            .collect();
        for v in 0..PER_BATCH {
            let id = 1000 + batch * PER_BATCH + v;
            let n = 1 + next(60);
            let ns = n.to_string();
            let mode = [
                "after-announce",
                "after-reserve",
                "before-publish",
                "mid-encode",
                "any-instant",
            ][next(5) as usize];
            *by_mode.entry(mode).or_default() += 1;
            let mut victim = match mode {
                "mid-encode" => producer(&path, id, 100_000, &pattern, &["mid-encode", &ns], &[]),
                "any-instant" => {
                    producer(&path, id, 100_000, &pattern, &["report-every", "8"], &[])
                }
                point => producer(
                    &path,
                    id,
                    100_000,
                    &pattern,
                    &[],
                    &[("IPMPSC_FAULT", &format!("{point}:{n}"))],
                ),
            };
            match mode {
                "any-instant" => {
                    // Kill while it keeps sending, once it reported `at` messages.
                    let at = 8 * (1 + next(40));
                    loop {
                        let line = victim.next_out(T).expect("victim output");
                        if let Some(k) = line.strip_prefix("AT ") {
                            if k.parse::<u64>().unwrap() >= at {
                                break;
                            }
                        }
                    }
                    expectations.push((id, Expect::AtMost(100_000)));
                }
                point => {
                    victim.expect_err(&format!("IPMPSC_FAULT_STOPPED {point}"), T);
                    let e = match point {
                        "before-publish" | "mid-encode" => Expect::Exactly(n - 1),
                        _ => Expect::AtMost(n - 1),
                    };
                    expectations.push((id, e));
                }
            }
            victim.kill();
            kills += 1;
        }
        for g in &mut goods {
            g.wait_success(T);
        }
    }
    producer(&path, SENTINEL, 1, &pattern, &[], &[]).wait_success(T);
    let consumed = consumer.join().expect("consumer thread");
    let t = &consumed.tracker;
    for (id, e) in &expectations {
        let got = t.received(*id);
        match e {
            Expect::Exactly(n) => assert_eq!(got, *n, "victim {id}"),
            Expect::AtMost(n) => assert!(got <= *n, "victim {id} delivered {got} > {n}"),
        }
    }
    let longest = consumed
        .gaps
        .iter()
        .map(|g| g.1 - g.0)
        .max()
        .unwrap_or_default();
    let stalls = consumed
        .gaps
        .iter()
        .filter(|g| g.1 - g.0 >= Duration::from_millis(90))
        .count();
    eprintln!(
        "{kills} producers killed ({by_mode:?}) in {:?}; {} messages received; consumer pauses \
         of 90 ms or more: {stalls}, longest pause {longest:?}",
        start.elapsed(),
        t.total
    );
    assert!(kills >= 200);
    assert!(
        longest < Duration::from_secs(5),
        "the consumer was blocked for {longest:?}"
    );
}

/// Parses `GOT <id> <seq>` / `HOLDING <id> <seq>`.
fn parse_seq(line: &str) -> u64 {
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.len(), 3, "{line}");
    parts[2].parse().unwrap()
}

/// Consumers killed while reading (once while holding a zero-copy message, then at random
/// instants), each replaced by a new receiver on the same file: nothing committed is lost, and
/// only the message in flight at a kill may arrive twice. A second receiver is refused while a
/// live one holds the channel, with the holder's pid; a dead holder's claim is taken over.
#[test]
fn consumer_killed_and_restarted_loses_nothing() {
    const COUNT: u64 = 5_000;
    let path = ShmPath::new("consumer-restart");
    let buffer = SharedRingBuffer::create(&path, 512 * 1024).unwrap();
    let pattern = Pattern {
        seed: 21,
        min: 0,
        max: 48,
    };
    let [seed, min, max] = pattern.args();
    // Everything is committed before any consumer runs.
    producer(&path, 1, COUNT, &pattern, &[], &[]).wait_success(T);

    // `seen`: every sequence number printed by a consumer, in order.
    let mut seen: Vec<u64> = Vec::new();
    let mut boundaries = Vec::new();

    // Consumer 1 holds message 1234 in a zero-copy context when it is killed.
    let mut c1 = ChildProc::spawn(
        CHILD,
        &["consume", path.as_str(), "hold:1234", &seed, &min, &max],
        &[],
    );
    c1.expect_out("READY", T);
    match Receiver::try_new(buffer.clone()) {
        Err(Error::ReceiverAlreadyExists { pid }) => assert_eq!(pid, c1.pid()),
        Err(e) => panic!("second receiver: {e}"),
        Ok(_) => panic!("a second receiver was accepted while a live one holds the channel"),
    }
    // `Receiver::new` does not fail, but every receive reports the live holder.
    let refused = Receiver::new(SharedRingBuffer::open(&path).unwrap());
    match refused.try_recv::<Item>() {
        Err(Error::ReceiverAlreadyExists { pid }) => assert_eq!(pid, c1.pid()),
        other => panic!("receive on a refused receiver: {:?}", other.map(|_| ())),
    }
    drop(refused);
    let Err(err) = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()) else {
        panic!("a second receiver (own mapping) was accepted while a live one holds the channel");
    };
    assert!(
        err.to_string().contains(&c1.pid().to_string()),
        "error should name the holder: {err}"
    );
    let held = loop {
        let line = c1.next_out(T).expect("consumer output");
        if line.starts_with("HOLDING") {
            break parse_seq(&line);
        }
        seen.push(parse_seq(&line));
    };
    assert_eq!(held, 1234);
    c1.kill();
    boundaries.push((seen.len(), Some(held)));

    // The dead holder's claim is taken over (and given back).
    drop(Receiver::try_new(buffer.clone()).expect("the dead receiver's claim is taken over"));

    // Consumers 2..=7 are killed at random instants while they read: each prints a message,
    // waits for an acknowledgement, then frees it and reads on; the kill follows the last
    // acknowledgement after a random spin, so it lands anywhere in handling a message.
    let mut rng = 0xC0FFEE_u64;
    for _ in 2..=7 {
        let mut c = ChildProc::spawn(
            CHILD,
            &["consume", path.as_str(), "step", &seed, &min, &max],
            &[],
        );
        c.expect_out("READY", T);
        rng = common::mix(rng);
        let stop_after = 100 + rng % 500;
        for n in 0..stop_after {
            let line = c.next_out(T).expect("consumer output");
            if n == 0 && boundaries.last().map(|b| b.0) != Some(seen.len()) {
                boundaries.push((seen.len(), None));
            }
            seen.push(parse_seq(&line));
            c.send_line("ok");
        }
        rng = common::mix(rng);
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_micros(rng % 300) {
            std::hint::spin_loop();
        }
        c.kill();
        // Lines it printed before it died.
        while let Some(line) = c.next_out(T) {
            seen.push(parse_seq(&line));
        }
    }

    // The test process takes over and reads the rest.
    let rx = Receiver::try_new(buffer.clone()).expect("take over from the killed consumer");
    boundaries.push((seen.len(), None));
    while let Some(item) = rx.try_recv::<Item>().unwrap() {
        assert_eq!(item.data, pattern.item(item.id, item.seq).data);
        seen.push(item.seq);
    }

    // Within a consumer: +1 each. At a boundary: the same message again (the one in flight)
    // or the next one; after the zero-copy hold exactly the held one.
    let starts: std::collections::HashMap<usize, Option<u64>> =
        boundaries.iter().copied().collect();
    let mut duplicates = 0;
    assert_eq!(seen[0], 0);
    for i in 1..seen.len() {
        let (prev, cur) = (seen[i - 1], seen[i]);
        match starts.get(&i) {
            Some(Some(held)) => assert_eq!(cur, *held, "the held message must be delivered again"),
            Some(None) => assert!(
                cur == prev || cur == prev + 1,
                "restart at {i}: {prev} then {cur}"
            ),
            None => assert_eq!(cur, prev + 1, "within one consumer at {i}"),
        }
        if cur == prev {
            duplicates += 1;
        }
    }
    assert_eq!(*seen.last().unwrap(), COUNT - 1, "nothing lost at the end");
    eprintln!(
        "consumer restarts: {} consumers, {duplicates} redelivered in-flight messages",
        boundaries.len()
    );
}

/// A channel whose head is a dead producer's reservation, with five committed messages from a
/// good producer behind it. Returns the path and the buffer (no receiver yet).
fn dead_reservation_at_head(tag: &str, typed: bool) -> (ShmPath, Option<common::MsgReceiver>) {
    let path = ShmPath::new(tag);
    let pattern = Pattern {
        seed: 31,
        min: 0,
        max: 16,
    };
    let [seed, min, max] = pattern.args();
    let typed_rx = if typed {
        Some(common::Msg::create_receiver(&path, 4096).unwrap())
    } else {
        drop(SharedRingBuffer::create(&path, 4096).unwrap());
        None
    };
    let cmd = if typed { "produce-typed" } else { "produce" };
    let mut victim = ChildProc::spawn(
        CHILD,
        &[cmd, path.as_str(), "9", "10", &seed, &min, &max],
        &[("IPMPSC_FAULT", "before-publish:1")],
    );
    victim.expect_err("IPMPSC_FAULT_STOPPED before-publish", T);
    let mut good = ChildProc::spawn(
        CHILD,
        &[cmd, path.as_str(), "1", "5", &seed, &min, &max],
        &[],
    );
    good.wait_success(T);
    victim.kill();
    (path, typed_rx)
}

/// A consumer that polls with `try_recv` must get past a dead producer's reservation too: the
/// contract bounds how long a killed producer can block anybody, whatever receive call the
/// consumer uses.
#[test]
fn polling_consumer_gets_past_a_dead_reservation() {
    let (path, _) = dead_reservation_at_head("dead-head-poll", false);
    let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
    let start = Instant::now();
    let mut got = 0;
    while got < 5 && start.elapsed() < Duration::from_secs(5) {
        match rx.try_recv::<Item>().unwrap() {
            Some(item) => {
                assert_eq!((item.id, item.seq), (1, got));
                got += 1;
            }
            None => std::thread::yield_now(),
        }
    }
    assert_eq!(
        got,
        5,
        "try_recv polled for {:?} and never got past the dead producer's reservation",
        start.elapsed()
    );
}

/// The same with short `recv_timeout`s (shorter than the receiver's 100 ms stall timeout), as
/// an event loop would call it.
#[test]
fn short_recv_timeouts_get_past_a_dead_reservation() {
    let (path, _) = dead_reservation_at_head("dead-head-short", false);
    let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
    let start = Instant::now();
    let mut got = 0;
    while got < 5 && start.elapsed() < Duration::from_secs(5) {
        if let Some(item) = rx.recv_timeout::<Item>(Duration::from_millis(20)).unwrap() {
            assert_eq!((item.id, item.seq), (1, got));
            got += 1;
        }
    }
    assert_eq!(
        got,
        5,
        "recv_timeout(20 ms) in a loop for {:?} never got past the dead producer's reservation",
        start.elapsed()
    );
}

/// Typed `recv_timeout` may report `Disconnected` only when the ring is empty: here every
/// sender is gone, but five committed messages wait behind a dead producer's reservation.
#[test]
fn typed_disconnected_only_after_the_messages_behind_a_dead_reservation() {
    let (_path, rx) = dead_reservation_at_head("dead-head-typed", true);
    let mut rx = rx.unwrap();
    let mut items = 0;
    let mut texts = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(20)) {
            Ok(Some(common::Msg::Item { id, seq, .. })) => {
                assert_eq!((id, seq), (1, items));
                items += 1;
            }
            Ok(Some(common::Msg::Text(_))) => texts += 1,
            Ok(Some(common::Msg::Stop)) => {}
            Ok(None) => {}
            Err(Error::Disconnected) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(
        items, 5,
        "recv_timeout reported Disconnected while committed messages were still in the ring"
    );
    assert_eq!(texts, 1);
}
