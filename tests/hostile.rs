//! Hostile bytes: random values written over the header, the commit flags and the records of
//! a channel file (including plausible records forged inside the ring's bounds) (before it is opened, or while a receiver reads it, as a corrupt producer
//! would), and truncated files. Opening and receiving must return `Ok` or a typed error:
//! never panic, never hang past a timeout, never hand out a slice outside the mapping.
//!
//! This runs in the test process on purpose: a panic, or a crash from an out-of-bounds read,
//! fails the test. (Shrinking a file while it is mapped would make any mmap reader fault with
//! SIGBUS, so truncation is applied only before opening; `open` must refuse the short file.)

mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Msg, MsgView, ShmPath};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};
use proptest::prelude::*;

const PAGE: u64 = 4096;
const SHORT: Duration = Duration::from_millis(5);
/// Longer than the receiver's stall timeout (100 ms), so that it inspects the sender table for
/// the owner of a (hostile) uncommitted reservation.
const LONG: Duration = Duration::from_millis(150);
/// A timeout form must return within its timeout plus this.
const SLACK: Duration = Duration::from_secs(2);
/// A whole case must finish within this, or it hangs.
const CASE_LIMIT: Duration = Duration::from_secs(20);

/// Where a mutation writes.
#[derive(Debug, Clone)]
enum Target {
    /// Byte offset into the first 1280 bytes (identity, claim, cursors, wait words, slots).
    Header(u64),
    /// 8-byte aligned word of the header.
    HeaderWord(u64),
    /// Commit flag of the given word of the data region.
    Flag(u64),
    /// 8-byte aligned word of the data region (record lengths, payload).
    DataWord(u64),
    /// Anywhere in the file.
    Anywhere(u64),
    /// A forged record inside the ring's bounds at the given word of the data region:
    /// `bytes` is the flag byte followed by the 8-byte length word.
    Record(u64),
}

#[derive(Debug, Clone)]
struct Mutation {
    target: Target,
    bytes: Vec<u8>,
}

/// Values that tend to break bounds checks.
fn interesting_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(7),
        Just(8),
        Just(u64::MAX),
        Just(u64::MAX - 7),
        Just(i64::MAX as u64),
        Just(1 << 32),
        Just(1 << 63),
        0u64..70_000,
        any::<u64>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let word = || interesting_u64().prop_map(|v| v.to_le_bytes().to_vec());
    let bytes = proptest::collection::vec(any::<u8>(), 1..16);
    let flag = prop_oneof![Just(0u8), Just(1), Just(2), Just(3), any::<u8>()].prop_map(|b| vec![b]);
    prop_oneof![
        1 => (0u64..1280, bytes.clone()).prop_map(|(o, bytes)| Mutation { target: Target::Header(o), bytes }),
        1 => (0u64..160, word()).prop_map(|(w, bytes)| Mutation { target: Target::HeaderWord(w * 8), bytes }),
        3 => (any::<u64>(), flag).prop_map(|(i, bytes)| Mutation { target: Target::Flag(i), bytes }),
        3 => (any::<u64>(), word()).prop_map(|(i, bytes)| Mutation { target: Target::DataWord(i), bytes }),
        1 => (any::<u64>(), bytes).prop_map(|(o, bytes)| Mutation { target: Target::Anywhere(o), bytes }),
        // Plausible records: a message or padding flag with a length that fits the ring.
        3 => (any::<u64>(), prop_oneof![Just(1u8), Just(2u8)], prop_oneof![0u64..64, (1u64..1024).prop_map(|w| w * 8)])
            .prop_map(|(i, flag, len)| {
                let mut bytes = vec![flag];
                bytes.extend_from_slice(&len.to_le_bytes());
                Mutation { target: Target::Record(i), bytes }
            }),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    typed: bool,
    capacity: u64,
    /// Payload sizes sent before the mutations, and how many of them are received first.
    sends: Vec<usize>,
    received_first: usize,
    mutations: Vec<Mutation>,
    /// Mutate while a receiver has the file open (else before opening it).
    while_open: bool,
    /// Truncate to this fraction of the length before opening (only when not `while_open`).
    truncate: Option<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<bool>(),
        prop_oneof![Just(64u64), Just(256), Just(1024), Just(4096), 64u64..8192],
        proptest::collection::vec(0usize..300, 0..32),
        0usize..32,
        proptest::collection::vec(mutation(), 1..8),
        any::<bool>(),
        proptest::option::weighted(0.2, 0.0f64..1.0),
    )
        .prop_map(
            |(typed, capacity, sends, received_first, mutations, while_open, truncate)| Case {
                typed,
                capacity,
                sends,
                received_first,
                mutations,
                while_open,
                truncate: if while_open { None } else { truncate },
            },
        )
}

/// Applies `m` to the file with plain file writes (the page cache is what the mapping shows);
/// `capacity` is its `data_region`, read before any mutation could change it.
fn apply(path: &Path, capacity: u64, m: &Mutation) {
    let len = std::fs::metadata(path).unwrap().len();
    let data_offset = len - capacity;
    let flags_offset = data_offset - (capacity / 8).div_ceil(PAGE) * PAGE;
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    if let Target::Record(i) = m.target {
        let word = i % (capacity / 8);
        f.seek(SeekFrom::Start(data_offset + word * 8)).unwrap();
        f.write_all(&m.bytes[1..9]).unwrap();
        f.seek(SeekFrom::Start(flags_offset + word)).unwrap();
        f.write_all(&m.bytes[..1]).unwrap();
        return;
    }
    let offset = match m.target {
        Target::Header(o) | Target::HeaderWord(o) => o,
        Target::Flag(i) => flags_offset + i % (capacity / 8),
        Target::DataWord(i) => data_offset + (i % (capacity / 8)) * 8,
        Target::Anywhere(o) => o % len,
        Target::Record(_) => unreachable!(),
    };
    let n = m.bytes.len().min((len - offset) as usize);
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(&m.bytes[..n]).unwrap();
}

/// A typed error is fine; only the kinds that make no sense here are refused.
fn allowed(e: &Error, what: &str) {
    match e {
        Error::IncompatibleRingBuffer(_)
        | Error::Corrupt(_)
        | Error::Decode(_)
        | Error::Io { .. }
        | Error::SchemaMismatch(_)
        | Error::ReceiverAlreadyExists { .. }
        | Error::Disconnected
        | Error::MessageTooLarge { .. }
        | Error::TooManySenders { .. } => {}
        other => panic!("{what}: unexpected error {other:?}"),
    }
    // Errors must render.
    let _ = e.to_string();
    match e {
        Error::Corrupt(_) if !what.contains("open") => count(CORRUPT),
        Error::Decode(_) => count(DECODE),
        _ if what.contains("open") || what.contains("try_new") => count(OPEN_REFUSED),
        _ => {}
    }
}

/// Runs a timeout form and checks that it returned in time.
fn timed<R>(what: &str, timeout: Duration, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    assert!(
        took < timeout + SLACK,
        "{what} with timeout {timeout:?} took {took:?}"
    );
    r
}

fn exercise_raw(path: &Path, rx: Receiver) {
    let mut rx = rx;
    let mut empty = 0;
    for i in 0..12 {
        let wait = if i == 0 { LONG } else { SHORT };
        match timed("try_recv", Duration::ZERO, || rx.try_recv::<Vec<u8>>()) {
            Ok(Some(_)) => count(RECEIVED),
            Ok(None) => empty += 1,
            Err(e @ Error::Decode(_)) => allowed(&e, "try_recv"),
            Err(e) => {
                allowed(&e, "try_recv");
                break;
            }
        }
        match timed("recv_timeout", wait, || rx.recv_timeout::<Vec<u8>>(wait)) {
            Ok(_) => {}
            Err(e) => allowed(&e, "recv_timeout"),
        }
        {
            let mut ctx = rx.zero_copy_context();
            match timed("zero-copy recv_timeout", SHORT, || {
                ctx.recv_timeout::<&[u8]>(SHORT)
            }) {
                Ok(Some(b)) => {
                    assert!(
                        b.is_empty() || common::within_mapping(b, path),
                        "zero-copy slice outside the mapping"
                    )
                }
                Ok(None) => {}
                Err(e) => allowed(&e, "zero-copy recv_timeout"),
            }
        }
        {
            let mut ctx = rx.zero_copy_context();
            match timed("zero-copy try_recv", Duration::ZERO, || {
                ctx.try_recv::<&str>()
            }) {
                Ok(Some(s)) => assert!(s.is_empty() || common::within_mapping(s.as_bytes(), path)),
                Ok(None) => {}
                Err(e) => allowed(&e, "zero-copy try_recv"),
            }
        }
        if empty >= 2 {
            break;
        }
    }
}

fn exercise_typed(path: &Path, mut rx: common::MsgReceiver) {
    let mut empty = 0;
    for i in 0..12 {
        let wait = if i == 0 { LONG } else { SHORT };
        match timed("typed try_recv", Duration::ZERO, || rx.try_recv()) {
            Ok(Some(_)) => count(RECEIVED),
            Ok(None) => empty += 1,
            Err(e @ Error::Decode(_)) => allowed(&e, "typed try_recv"),
            Err(e) => {
                allowed(&e, "typed try_recv");
                break;
            }
        }
        match timed("typed recv_timeout", wait, || rx.recv_timeout(wait)) {
            Ok(_) => {}
            Err(e) => allowed(&e, "typed recv_timeout"),
        }
        let start = Instant::now();
        match rx.recv_view_timeout(SHORT) {
            Ok(Some(view)) => {
                assert!(start.elapsed() < SHORT + SLACK);
                match &*view {
                    MsgView::Item { data, .. } => {
                        assert!(data.is_empty() || common::within_mapping(data, path))
                    }
                    MsgView::Text(t) => {
                        assert!(t.is_empty() || common::within_mapping(t.as_bytes(), path))
                    }
                    MsgView::Stop => {}
                }
            }
            Ok(None) => assert!(start.elapsed() < SHORT + SLACK),
            Err(e) => allowed(&e, "typed recv_view_timeout"),
        }
        match rx.try_recv_view() {
            Ok(_) => {}
            Err(e) => allowed(&e, "typed try_recv_view"),
        }
        if empty >= 2 {
            break;
        }
    }
}

/// Senders on a hostile file must not panic or hang either.
fn exercise_senders(path: &Path, typed: bool) {
    if typed {
        match Msg::open_sender(path) {
            Ok(tx) => {
                let msg = Msg::Text("hostile".into());
                if let Err(e) = timed("typed try_send", Duration::ZERO, || tx.try_send(&msg)) {
                    allowed(&e, "typed try_send");
                }
                if let Err(e) = timed("typed send_timeout", SHORT, || tx.send_timeout(&msg, SHORT))
                {
                    allowed(&e, "typed send_timeout");
                }
            }
            Err(e) => allowed(&e, "open_sender"),
        }
    } else {
        match SharedRingBuffer::open(path) {
            Ok(buffer) => {
                let tx = Sender::new(buffer);
                if let Err(e) = timed("try_send", Duration::ZERO, || tx.try_send(&vec![9u8; 20])) {
                    allowed(&e, "try_send");
                }
                if let Err(e) = timed("send_timeout", SHORT, || {
                    tx.send_timeout(&vec![9u8; 20], SHORT)
                }) {
                    allowed(&e, "send_timeout");
                }
            }
            Err(e) => allowed(&e, "open"),
        }
    }
}

fn run_case(c: Case) {
    let shm = ShmPath::new("hostile");
    let path = shm.path.clone();
    // Create, fill, and read some of it, so that cursors are not all zero.
    let capacity;
    if c.typed {
        let mut rx = Msg::create_receiver(&path, c.capacity).unwrap();
        capacity = common::data_region(&path);
        let tx = Msg::open_sender(&path).unwrap();
        for (i, &n) in c.sends.iter().enumerate() {
            let msg = Msg::Item {
                id: 1,
                seq: i as u64,
                data: vec![i as u8; n],
            };
            if !tx.try_send(&msg).unwrap_or(false) {
                break;
            }
            if i < c.received_first {
                rx.try_recv().unwrap();
            }
        }
    } else {
        let buffer = SharedRingBuffer::create(&path, c.capacity).unwrap();
        capacity = common::data_region(&path);
        let rx = Receiver::new(buffer.clone());
        let tx = Sender::new(buffer);
        for (i, &n) in c.sends.iter().enumerate() {
            if !tx.try_send(&vec![i as u8; n]).unwrap_or(false) {
                break;
            }
            if i < c.received_first {
                rx.try_recv::<Vec<u8>>().unwrap();
            }
        }
    }

    let mutate = || {
        for m in &c.mutations {
            apply(&path, capacity, m);
        }
    };
    if !c.while_open {
        mutate();
        if let Some(frac) = c.truncate {
            let len = std::fs::metadata(&path).unwrap().len();
            OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len((len as f64 * frac) as u64)
                .unwrap();
        }
    }
    if c.typed {
        match timed("open_receiver", Duration::ZERO, || {
            Msg::open_receiver(&path)
        }) {
            Ok(rx) => {
                if c.while_open {
                    mutate();
                }
                exercise_typed(&path, rx);
            }
            Err(e) => allowed(&e, "open_receiver"),
        }
    } else {
        match timed("open", Duration::ZERO, || SharedRingBuffer::open(&path)) {
            Ok(buffer) => match Receiver::try_new(buffer) {
                Ok(rx) => {
                    if c.while_open {
                        mutate();
                    }
                    exercise_raw(&path, rx);
                }
                Err(e) => allowed(&e, "Receiver::try_new"),
            },
            Err(e) => allowed(&e, "open"),
        }
    }
    exercise_senders(&path, c.typed);
}

/// What the cases ran into, to show that the mutations bite (printed at the end).
static STATS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
const OPEN_REFUSED: usize = 0;
const CORRUPT: usize = 1;
const DECODE: usize = 2;
const RECEIVED: usize = 3;

fn count(i: usize) {
    STATS[i].fetch_add(1, Ordering::Relaxed);
}

#[test]
fn hostile_bytes_give_typed_errors() {
    let config = ProptestConfig {
        cases: 128,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    // A fixed seed keeps CI reproducible; set IPMPSC_TEST_SEED to explore other cases.
    let seed: u64 = std::env::var("IPMPSC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    eprintln!("hostile bytes: seed {seed} (set IPMPSC_TEST_SEED to change)");
    let mut seed_bytes = [0u8; 32];
    for (i, chunk) in seed_bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&common::mix(seed ^ i as u64).to_le_bytes());
    }
    let rng = proptest::test_runner::TestRng::from_seed(
        proptest::test_runner::RngAlgorithm::ChaCha,
        &seed_bytes,
    );
    let mut runner = proptest::test_runner::TestRunner::new_with_rng(config, rng);
    let result = runner.run(&case(), |c| {
        let (done_tx, done_rx) = mpsc::channel();
        let worker = std::thread::spawn(move || {
            run_case(c);
            let _ = done_tx.send(());
        });
        match done_rx.recv_timeout(CASE_LIMIT) {
            Ok(()) => worker.join().unwrap(),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // The worker panicked: report its panic.
                if let Err(p) = worker.join() {
                    std::panic::resume_unwind(p);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("hang: a case did not finish within {CASE_LIMIT:?}")
            }
        }
        Ok(())
    });
    let [open_refused, corrupt, decode, received] =
        STATS.each_ref().map(|a| a.load(Ordering::Relaxed));
    eprintln!(
        "hostile cases: open refused {open_refused}, Corrupt during use {corrupt}, Decode {decode}, \
         messages received {received}"
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A message whose string or byte-buffer length prefix is huge (a hostile producer, or a raw
/// sender of another type) must be a `Decode`/`Corrupt` error: the receiver must not try to
/// allocate what the prefix claims. The receiving side runs in a child process, because the
/// failure mode is an abort (failed allocation, SIGABRT) that would end this whole test binary.
#[test]
fn huge_length_prefix_is_an_error_not_an_abort() {
    const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
    const T: Duration = Duration::from_secs(30);
    let mut failures = Vec::new();
    for kind in ["string", "typed"] {
        let shm = ShmPath::new("huge-prefix");
        if kind == "string" {
            // Raw: a u64 read back as a String is a length prefix of 2^62 bytes.
            let buffer = SharedRingBuffer::create(&shm.path, 4096).unwrap();
            Sender::new(buffer).send(&(1u64 << 62)).unwrap();
        } else {
            // Typed: a valid `Msg::Item { data: [] }`, then its `data` length prefix rewritten.
            let rx = Msg::create_receiver(&shm.path, 4096).unwrap();
            Msg::open_sender(&shm.path)
                .unwrap()
                .send(&Msg::Item {
                    id: 1,
                    seq: 2,
                    data: Vec::new(),
                })
                .unwrap();
            drop(rx);
            // Record at data offset 0: length word, then variant (u32), id (u32), seq (u64),
            // data length (u64).
            let region = common::data_region(&shm.path);
            let data_offset = std::fs::metadata(&shm.path).unwrap().len() - region;
            let m = Mutation {
                target: Target::Anywhere(data_offset + 8 + 16),
                bytes: (1u64 << 62).to_le_bytes().to_vec(),
            };
            apply(&shm.path, region, &m);
        }
        let mut child = common::ChildProc::spawn(CHILD, &["recv-once", shm.as_str(), kind], &[]);
        let line = child.next_out(T);
        let report = child.report();
        if !line
            .as_deref()
            .is_some_and(|l| l.starts_with("ERR Decode") || l.starts_with("ERR Corrupt"))
        {
            failures.push(format!(
                "{kind}: receiving a message with a 2^62-byte length prefix gave {line:?} instead of \
                 a Decode error; {report}"
            ));
            continue;
        }
        child.wait_success(T);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
/// A corrupt producer writes an unaligned value into the head cursor (file offset 256, see
/// the header layout) while a receiver has the channel open: receiving must report an error,
/// not panic (debug builds assert that flag offsets are word aligned).
#[test]
fn unaligned_head_written_while_open_is_an_error_not_a_panic() {
    let shm = ShmPath::new("unaligned-head");
    let mut rx = Receiver::new(SharedRingBuffer::create(&shm.path, 64).unwrap());
    let m = Mutation {
        target: Target::Header(256),
        bytes: vec![1],
    };
    apply(&shm.path, 64, &m);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let a = rx.try_recv::<Vec<u8>>().map(|_| ());
        let b = rx.recv_timeout::<Vec<u8>>(SHORT).map(|_| ());
        let c = rx
            .zero_copy_context()
            .recv_timeout::<&[u8]>(SHORT)
            .map(|_| ());
        (a, b, c)
    }));
    match r {
        Ok(results) => eprintln!("unaligned head: {results:?}"),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned());
            panic!("receiving after a hostile unaligned head panicked: {msg:?}");
        }
    }
}

/// Files that are not channels at all.
#[test]
fn foreign_and_short_files_are_refused() {
    let shm = ShmPath::new("foreign");
    for content in [
        &b""[..],
        b"IPMPSCrb",
        b"not a channel at all",
        &[0u8; 8192],
        &[0xffu8; 70_000],
    ] {
        std::fs::write(&shm.path, content).unwrap();
        match SharedRingBuffer::open(&shm.path) {
            Err(Error::IncompatibleRingBuffer(_) | Error::Corrupt(_)) => {}
            other => panic!("{} bytes: {:?}", content.len(), other.map(|_| ())),
        }
        match Msg::open_receiver(&shm.path) {
            Err(Error::IncompatibleRingBuffer(_) | Error::Corrupt(_)) => {}
            other => panic!("typed, {} bytes: {:?}", content.len(), other.map(|_| ())),
        }
        assert!(matches!(
            Msg::open_sender(&shm.path),
            Err(Error::IncompatibleRingBuffer(_) | Error::Corrupt(_))
        ));
    }
    // None of them is replaced by `create` either: it is somebody's file.
    assert!(matches!(
        SharedRingBuffer::create(&shm.path, 4096),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    std::fs::remove_file(&shm.path).unwrap();
    // A real channel cut short by any amount.
    let full = {
        drop(SharedRingBuffer::create(&shm.path, 4096).unwrap());
        std::fs::read(&shm.path).unwrap()
    };
    for cut in [1, 8, 4096, full.len() / 2, full.len() - 1] {
        std::fs::write(&shm.path, &full[..full.len() - cut]).unwrap();
        match SharedRingBuffer::open(&shm.path) {
            Err(Error::IncompatibleRingBuffer(_) | Error::Corrupt(_)) => {}
            other => panic!("cut by {cut}: {:?}", other.map(|_| ())),
        }
    }
    // Raw and typed channels refuse each other.
    std::fs::remove_file(&shm.path).unwrap();
    drop(SharedRingBuffer::create(&shm.path, 4096).unwrap());
    assert!(matches!(
        Msg::open_receiver(&shm.path),
        Err(Error::SchemaMismatch(_))
    ));
    assert!(matches!(
        Msg::open_sender(&shm.path),
        Err(Error::SchemaMismatch(_))
    ));
    drop(Msg::create_receiver(&shm.path, 4096).unwrap());
    assert!(matches!(
        SharedRingBuffer::open(&shm.path),
        Err(Error::SchemaMismatch(_))
    ));
}
