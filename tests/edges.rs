//! Hostile and unlucky edges, each once a reproduction of a bug: creators racing for one path,
//! a process with write access scribbling while the receiver decodes, a channel larger than
//! its file system, a forged record length, a sender blocked on a full ring while space is
//! freed, messages whose `Serialize` or `Deserialize` panics, `Duration::MAX`, and a forged
//! receiver pid.

mod common;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use common::{mono_ns, ChildProc, Fuse, Fused, Msg, ShmPath};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};
use serde::{Deserialize, Serialize};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

fn spawn(args: &[&str]) -> ChildProc {
    ChildProc::spawn(CHILD, args, &[])
}

/// Processes calling `create_receiver`, `open_or_create_receiver` and `open_receiver` on one
/// path at the same moment: exactly one becomes the receiver, and it is the receiver of the
/// file at the path. Rounds start with no file, with a stale empty file (a dead receiver's),
/// and with a file a live receiver holds.
#[test]
fn racing_creators_make_exactly_one_receiver() {
    const RACERS: usize = 6;
    let modes = [
        "create",
        "open-or-create",
        "create",
        "open",
        "open-or-create",
        "create",
    ];
    for round in 0..20 {
        let path = ShmPath::new("race");
        let start = round % 3;
        let mut holder = None;
        if start == 1 {
            // A stale file: its receiver died, nothing in it.
            let mut dead = spawn(&["create-receiver", path.as_str(), "typed", "4096"]);
            dead.expect_out("READY", T);
            dead.kill();
        } else if start == 2 {
            let mut live = spawn(&["create-receiver", path.as_str(), "typed", "4096"]);
            live.expect_out("READY", T);
            holder = Some(live);
        }
        let mut racers: Vec<ChildProc> = (0..RACERS)
            .map(|i| spawn(&["race", path.as_str(), modes[i % modes.len()], "4096"]))
            .collect();
        for r in &mut racers {
            r.expect_out("READY", T);
        }
        for r in &mut racers {
            r.send_line("go");
        }
        let outcomes: Vec<String> = racers
            .iter_mut()
            .map(|r| {
                let line = r.next_out(T).expect("an outcome");
                assert!(
                    line.starts_with("WON") || line.starts_with("LOST"),
                    "round {round}: {line}"
                );
                line
            })
            .collect();
        let winners: Vec<usize> = (0..RACERS)
            .filter(|&i| outcomes[i].starts_with("WON"))
            .collect();
        if holder.is_some() {
            assert!(
                winners.is_empty(),
                "round {round}: a live receiver holds it: {outcomes:?}"
            );
            for o in &outcomes {
                assert!(
                    o == "LOST ReceiverAlreadyExists",
                    "round {round}: {outcomes:?}"
                );
            }
            continue;
        }
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let w = winners[0];
        for (i, o) in outcomes.iter().enumerate() {
            if i != w {
                assert!(
                    o == "LOST ReceiverAlreadyExists" || o == "LOST Io:NotFound",
                    "round {round}: {outcomes:?}"
                );
            }
        }
        // The winner holds the file that is at the path: a sender reaches it.
        let ino: u64 = outcomes[w]["WON ".len()..].parse().unwrap();
        assert_eq!(
            std::fs::metadata(&path.path).unwrap().ino(),
            ino,
            "round {round}"
        );
        Msg::open_sender(&path)
            .unwrap()
            .send(&Msg::Text(format!("round {round}")))
            .unwrap();
        racers[w].send_line("recv");
        let got = racers[w].expect_out("GOT", T);
        assert_eq!(got, format!("GOT Text(\"round {round}\")"));
    }
}

/// A process with write access flips the last byte of a 1 MiB string between `a` and 0xFF
/// while the receiver decodes it. Owned receives decode a private copy, so every `String`
/// they return is valid UTF-8 (a message caught mid-flip is a `Decode` error, never garbage
/// that safe code can read past).
#[test]
fn a_scribbler_never_gets_invalid_utf8_into_an_owned_string() {
    const LEN: usize = 1 << 20;
    const MESSAGES: usize = 40;
    let path = ShmPath::new("scribble");
    // Room for exactly one message: every message sits at data offset 0.
    let encoded = 4 + 8 + LEN as u64;
    let mut rx = Msg::create_receiver(&path, encoded).unwrap();
    let data_offset =
        std::fs::metadata(&path.path).unwrap().len() - common::data_region(&path.path);
    let last_byte = data_offset + 8 + 4 + 8 + LEN as u64 - 1;
    let mut scribbler = spawn(&["scribble", path.as_str(), &last_byte.to_string()]);
    scribbler.expect_out("READY", T);
    let tx = Msg::open_sender(&path).unwrap();
    let sender = std::thread::spawn(move || {
        for _ in 0..MESSAGES {
            tx.send(&Msg::Text("a".repeat(LEN))).unwrap();
        }
    });
    let (mut valid, mut refused) = (0, 0);
    for _ in 0..MESSAGES {
        match rx.recv() {
            Ok(Msg::Text(s)) => {
                assert!(
                    std::str::from_utf8(s.as_bytes()).is_ok(),
                    "an owned String holds invalid UTF-8"
                );
                assert_eq!(s.len(), LEN);
                valid += 1;
            }
            Err(Error::Decode(_)) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    sender.join().unwrap();
    scribbler.close_stdin();
    let flips = scribbler.expect_out("FLIPS", T);
    eprintln!("{valid} valid strings, {refused} refused as invalid UTF-8 ({flips})");
    assert_eq!(valid + refused, MESSAGES);
}

/// A channel larger than the free space of its tmpfs is refused when it is created, with an
/// error that names the path and the size, instead of killing a sender with SIGBUS later; a
/// channel that fits can be written in full. Runs in a private mount namespace with a 64 MiB
/// tmpfs (Docker's default /dev/shm); skipped where that is not allowed.
#[test]
fn a_channel_larger_than_its_tmpfs_is_refused_at_creation() {
    /// Removes the mount point once the child (declared after it, so dropped before it) is
    /// gone: removing a directory that is a mount point in another namespace unmounts it.
    struct MountPoint(std::path::PathBuf);
    impl Drop for MountPoint {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let dir = std::env::temp_dir().join(format!("ipmpsc-small-fs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = MountPoint(dir);
    let dir = &dir.0;
    let script = format!(
        "mount -t tmpfs -o size=64m ipmpsc-test {d} || exit 77; exec {c} small-fs {d} {big} {fits}",
        d = dir.display(),
        c = CHILD,
        big = 64 << 20,
        fits = 16 << 20,
    );
    let mut child = ChildProc::spawn("unshare", &["--mount", "sh", "-c", &script], &[]);
    let first = child.next_out(T);
    let Some(first) = first else {
        eprintln!(
            "skipped: could not mount a tmpfs in a private mount namespace (needs root): {}",
            child.report()
        );
        return;
    };
    assert!(
        first.starts_with("REFUSED StorageFull"),
        "a 64 MiB channel on a 64 MiB tmpfs: {first}"
    );
    assert!(first.contains("too-big"), "names the path: {first}");
    assert!(first.contains("bytes"), "names the size: {first}");
    let filled = child.expect_out("FILLED", T);
    assert!(filled != "FILLED 0", "{filled}");
    child.wait_success(T);
}

/// One length word forged to jump past the write position (but inside the ring) must end in
/// `Error::Corrupt`, not in a receiver that waits forever while genuine messages pile up.
#[test]
fn a_forged_length_is_reported_not_a_silent_wedge() {
    let path = ShmPath::new("forged-len");
    let capacity = 64 * 1024;
    let mut rx = Msg::create_receiver(&path, capacity).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Text("x".into())).unwrap(); // 24-byte record at data offset 0
    let data_offset =
        std::fs::metadata(&path.path).unwrap().len() - common::data_region(&path.path);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path.path)
        .unwrap();
    std::os::unix::fs::FileExt::write_at(&file, &2048u64.to_le_bytes(), data_offset).unwrap();
    for seq in 0..300 {
        tx.send(&Msg::Item {
            id: 1,
            seq,
            data: Vec::new(),
        })
        .unwrap();
    }
    let start = Instant::now();
    let mut received = 0;
    let err = loop {
        assert!(start.elapsed() < T, "no error after {received} messages");
        match rx.recv_timeout(Duration::from_secs(2)) {
            Ok(Some(_)) | Err(Error::Decode(_)) => received += 1,
            Ok(None) => panic!("wedged: nothing, and no error, after {received} messages"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(
        matches!(rx.try_recv(), Err(Error::Corrupt(_))),
        "reported from then on"
    );
}

/// A sender blocked on a full ring goes on soon after its message fits, not when a quarter of
/// the ring is free: the receiver consumes one message per millisecond and hands space back
/// every 4 KiB, and the sender's send completes within about one such batch (some 35 of its
/// 120-byte records), not after the 2,000 of a quarter of the ring.
#[test]
fn a_blocked_sender_wakes_when_its_message_fits() {
    let path = ShmPath::new("wake-fits");
    let mut rx = Msg::create_receiver(&path, 1 << 20).unwrap();
    let mut sender = spawn(&["lc-blocked-sender", path.as_str()]);
    sender.expect_out("FULL", T);
    std::thread::sleep(Duration::from_millis(50)); // let it fall asleep
    let first = mono_ns();
    let mut consumed = 0;
    let line = loop {
        assert!(rx.try_recv().unwrap().is_some());
        consumed += 1;
        if let Some(line) = sender.poll_out(Duration::from_millis(1)) {
            break line.expect("a result");
        }
        assert!(consumed < 5000, "the sender never woke");
    };
    assert!(line.starts_with("RESULT Ok"), "{line}");
    let at: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
    let waited = Duration::from_nanos(at.saturating_sub(first));
    eprintln!("the blocked sender sent {waited:?} after the first message was consumed ({consumed} consumed by then)");
    assert!(
        waited < Duration::from_millis(500),
        "woke {waited:?} after its message fit ({consumed} messages consumed)"
    );
}

/// A value whose `Deserialize` panics on 666.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Poison(u32);

impl<'de> Deserialize<'de> for Poison {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        if v == 666 {
            panic!("Deserialize panics on 666");
        }
        Ok(Poison(v))
    }
}

ipmpsc::opaque_schema!(Poison, "tests::Poison", version = 1);

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
enum Poisoned {
    V(Poison),
}

fn quietly<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// A message whose decoding panics is consumed before the panic propagates: the next receive
/// moves on to the next message (delivered at most once), raw, typed, owned and view.
#[test]
fn a_poison_message_is_consumed_by_the_receive_that_panicked() {
    // Raw.
    let (_path, buffer) = SharedRingBuffer::create_temp(4096).unwrap();
    let rx = Receiver::new(buffer.clone());
    let tx = Sender::new(buffer);
    tx.send(&666u32).unwrap();
    tx.send(&7u32).unwrap();
    assert!(quietly(|| rx.recv::<Poison>()).is_err());
    assert_eq!(rx.recv::<u32>().unwrap(), 7);
    tx.send(&666u32).unwrap();
    tx.send(&8u32).unwrap();
    let mut rx = rx;
    assert!(quietly(|| {
        let mut ctx = rx.zero_copy_context();
        ctx.recv::<Poison>().map(|_| ())
    })
    .is_err());
    assert_eq!(rx.recv::<u32>().unwrap(), 8);

    // Typed: owned and view.
    let path = ShmPath::new("poison");
    let mut rx = Poisoned::create_receiver(&path, 4096).unwrap();
    let tx = Poisoned::open_sender(&path).unwrap();
    for v in [666, 7, 666, 8] {
        tx.send(&Poisoned::V(Poison(v))).unwrap();
    }
    assert!(quietly(|| rx.recv()).is_err());
    assert_eq!(rx.recv().unwrap(), Poisoned::V(Poison(7)));
    assert!(quietly(|| rx.recv_view().map(|v| v.into_owned())).is_err());
    assert_eq!(rx.recv_view().unwrap().into_owned(), Poisoned::V(Poison(8)));
}

/// A `Serialize` that panics half-way through a send abandons its reservation at once: the
/// sender process stays alive and usable, and its next message arrives without the receiver
/// waiting for a dead owner.
#[test]
fn a_panicking_serialize_does_not_wedge_the_channel() {
    for kind in ["raw", "typed"] {
        let path = ShmPath::new("panic-send");
        let raw_rx;
        let mut typed_rx = None;
        if kind == "raw" {
            raw_rx = Some(Receiver::new(
                SharedRingBuffer::create(&path, 4096).unwrap(),
            ));
        } else {
            raw_rx = None;
            typed_rx = Some(Fused::create_receiver(&path, 4096).unwrap());
        }
        let mut sender = spawn(&["panic-send", path.as_str(), kind]);
        assert_eq!(sender.expect_out("PANICKED", T), "PANICKED true", "{kind}");
        sender.expect_out("SENT", T);
        let start = Instant::now();
        let limit = Duration::from_millis(500);
        if let Some(rx) = &raw_rx {
            assert_eq!(
                rx.recv_timeout::<String>(limit).unwrap().as_deref(),
                Some("after")
            );
        } else {
            let rx = typed_rx.as_mut().unwrap();
            assert_eq!(
                rx.recv_timeout(limit).unwrap(),
                Some(Fused::Text(Fuse("after".into())))
            );
        }
        let waited = start.elapsed();
        assert!(
            waited < Duration::from_millis(100),
            "{kind}: waited {waited:?}"
        );
    }
}

/// Every timeout form takes any `Duration`, `Duration::MAX` included (it means "no limit"):
/// none panics with an overflow.
#[test]
fn duration_max_is_a_timeout_like_any_other() {
    let (_path, buffer) = SharedRingBuffer::create_temp(4096).unwrap();
    let mut rx = Receiver::new(buffer.clone());
    let tx = Sender::new(buffer);
    assert!(tx.send_timeout(&1u8, Duration::MAX).unwrap());
    assert_eq!(rx.recv_timeout::<u8>(Duration::MAX).unwrap(), Some(1));
    assert!(tx.send_timeout(&2u8, Duration::MAX).unwrap());
    assert_eq!(
        rx.zero_copy_context()
            .recv_timeout::<u8>(Duration::MAX)
            .unwrap(),
        Some(2)
    );

    let path = ShmPath::new("duration-max");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    assert!(tx.send_timeout(&Msg::Stop, Duration::MAX).unwrap());
    assert_eq!(rx.recv_timeout(Duration::MAX).unwrap(), Some(Msg::Stop));
    assert!(tx.send_timeout(&Msg::Stop, Duration::MAX).unwrap());
    assert_eq!(
        rx.recv_view_timeout(Duration::MAX)
            .unwrap()
            .map(|v| v.into_owned()),
        Some(Msg::Stop)
    );
}

/// The receiver's pid in the file only names it: forged to pid 1 (always alive), it does not
/// keep a new receiver out once the real one is dead.
#[test]
fn a_forged_receiver_pid_does_not_hold_the_channel() {
    let path = ShmPath::new("forged-pid");
    let mut holder = spawn(&["create-receiver", path.as_str(), "typed", "4096"]);
    holder.expect_out("READY", T);
    holder.kill();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path.path)
        .unwrap();
    // Offset 128: where the receiver's identity lives (pid 1, start time 0).
    std::os::unix::fs::FileExt::write_at(&file, &1u64.to_le_bytes(), 128).unwrap();
    let mut rx = Msg::open_receiver(&path).expect("the dead receiver's claim is taken over");
    Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
}

/// A process that may only read the file takes read locks on every sender slot after a sender
/// died in the middle of a send (at each step of it). It cannot make the dead sender look
/// alive: its reservation is skipped and the message behind it delivered, its leaving ends the
/// stream, and new senders are kept out with an error that says why (not `TooManySenders`
/// with no sender there).
#[test]
fn a_reader_cannot_keep_a_dead_sender_alive() {
    for point in [
        "after-announce",
        "after-cas",
        "after-reserve",
        "before-publish",
    ] {
        let path = ShmPath::new("reader-slots");
        let mut rx = Msg::create_receiver(&path, 4096).unwrap();
        // Sends seq 0, then stops at `point` of seq 1, and dies there.
        let fault = format!("{point}:2");
        let mut dead = ChildProc::spawn(
            CHILD,
            &["hold-sender", path.as_str(), "typed", "2"],
            &[("IPMPSC_FAULT", &fault)],
        );
        dead.expect_err(&format!("IPMPSC_FAULT_STOPPED {point}"), T);
        let tx = Msg::open_sender(&path).unwrap();
        tx.send(&Msg::Text("behind".into())).unwrap();
        drop(tx);
        dead.kill();
        // Slot bytes: 896 + 64·i for the 128 slots.
        let mut reader = spawn(&["read-locker", path.as_str(), "896", "8192"]);
        reader.expect_out("READY 0", T);
        let first = rx.recv_timeout(T).unwrap();
        assert!(
            matches!(first, Some(Msg::Item { seq: 0, .. })),
            "{point}: {first:?}"
        );
        assert_eq!(
            rx.recv_timeout(T).unwrap(),
            Some(Msg::Text("behind".into())),
            "{point}: a reader's lock kept the dead reservation alive"
        );
        match rx.recv_timeout(T) {
            Err(Error::Disconnected) => {}
            other => panic!("{point}: a reader's lock withheld the end of the stream: {other:?}"),
        }
        match Msg::open_sender(&path) {
            Err(e @ Error::Io { .. }) => {
                assert_eq!(e.io_kind(), Some(std::io::ErrorKind::ResourceBusy), "{e:?}")
            }
            other => panic!("expected the read-lock error, got {:?}", other.map(drop)),
        }
        drop(reader);
        let tx = Msg::open_sender(&path).expect("free once the reader is gone");
        tx.send(&Msg::Stop).unwrap();
        assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
        assert_eq!(rx.sender_count(), 1);
    }
}

/// Read locks on every free sender slot do not break the sends of a sender already
/// registered: threads sharing it wait for its slot when none is free to borrow, as with a
/// full table.
#[test]
fn a_reader_does_not_break_a_registered_senders_sends() {
    const EACH: u64 = 20_000;
    let path = ShmPath::new("reader-registered");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let tx = Msg::open_sender(&path).unwrap(); // slot 0
                                               // Slots 1 to 127.
    let mut reader = spawn(&["read-locker", path.as_str(), "960", "8128"]);
    reader.expect_out("READY 0", T);
    let senders: Vec<_> = (0..2u32)
        .map(|id| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for seq in 0..EACH {
                    let item = Msg::Item {
                        id,
                        seq,
                        data: Vec::new(),
                    };
                    if let Err(e) = tx.send(&item) {
                        return Err(format!("thread {id} at {seq}: {e}"));
                    }
                }
                Ok(())
            })
        })
        .collect();
    drop(tx);
    let mut next = [0u64; 2];
    while next.iter().sum::<u64>() < 2 * EACH {
        match rx.recv_timeout(T) {
            Ok(Some(Msg::Item { id, seq, .. })) => {
                assert_eq!(seq, next[id as usize], "order of thread {id}");
                next[id as usize] += 1;
            }
            // A thread that failed sends no more: its error is below.
            Ok(None) | Err(Error::Disconnected) => break,
            other => panic!("{other:?}"),
        }
    }
    for s in senders {
        s.join().unwrap().unwrap();
    }
    assert_eq!(next, [EACH; 2]);
    drop(reader);
}

/// One process claims the receiver role over and over while three others keep trying
/// `create_receiver` on the file (refused: a message is waiting). A creator holds the
/// receiver's byte for a moment while it decides; the claimant waits for it and is never told
/// of a receiver that does not exist.
#[test]
fn a_claimant_is_not_told_of_a_receiver_by_deciding_creators() {
    let path = ShmPath::new("claim-vs-creators");
    let rx = Msg::create_receiver(&path, 4096).unwrap();
    Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
    drop(rx);
    let mut creators: Vec<ChildProc> = (0..3)
        .map(|_| spawn(&["create-loop", path.as_str(), "3000"]))
        .collect();
    for c in &mut creators {
        c.expect_out("READY", T);
    }
    for c in &mut creators {
        c.send_line("go");
    }
    let start = Instant::now();
    let (mut claims, mut wrong) = (0u64, Vec::new());
    while start.elapsed() < Duration::from_millis(3000) {
        match Msg::open_receiver(&path) {
            Ok(rx) => {
                claims += 1;
                drop(rx);
            }
            Err(e) => wrong.push(format!("{e:?}")),
        }
    }
    for c in &mut creators {
        // The claimant is a receiver at times: creators are told so then.
        let tally = c.expect_out("TALLY", T);
        assert!(
            tally
                .split_whitespace()
                .skip(1)
                .all(|t| t.starts_with("ChannelInUse=") || t.starts_with("ReceiverAlreadyExists")),
            "a creator was told something else: {tally}"
        );
    }
    assert!(claims > 0);
    assert!(
        wrong.is_empty(),
        "{} of {} claims failed, e.g. {}",
        wrong.len(),
        claims + wrong.len() as u64,
        wrong[0]
    );
}

/// Read locks on the receiver's or the creator's byte of an unused file keep `create_receiver`
/// out, and it says so (`ResourceBusy`), neither naming a receiver that is not there nor
/// reporting a file that "kept changing". Once the reader is gone, the file is replaced.
#[test]
fn create_names_a_reader_in_the_way() {
    let path = ShmPath::new("reader-create");
    for (byte, what) in [("128", "receiver"), ("129", "creator")] {
        drop(Msg::create_receiver(&path, 4096).unwrap());
        let mut reader = spawn(&["read-locker", path.as_str(), byte]);
        reader.expect_out("READY 0", T);
        match Msg::create_receiver(&path, 4096) {
            Err(Error::Io { source, .. }) => {
                assert_eq!(source.kind(), std::io::ErrorKind::ResourceBusy, "{source}");
                assert!(source.to_string().contains(what), "{source}");
            }
            other => panic!(
                "byte {byte}: expected the read-lock error, got {:?}",
                other.map(drop)
            ),
        }
        drop(reader);
        drop(Msg::create_receiver(&path, 4096).expect("replaced once the reader is gone"));
    }
}
