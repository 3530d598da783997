//! Creating a channel where a file already is: creators that die or stop half-way through a
//! replacement, creators racing a restart, senders that register or send while a creator
//! decides, forged state bits, symlinks, and files that are not channels.

mod common;

use std::os::unix::fs::{FileExt, MetadataExt};
use std::time::{Duration, Instant};

use common::{ChildProc, Msg, ShmPath};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

/// File offset of the tail word and its state bits.
const TAIL: u64 = 512;
const REPLACED: u64 = 1 << 62;
const REPLACING: u64 = 1 << 61;

fn set_tail_bits(path: &ShmPath, bits: u64) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path.path)
        .unwrap();
    let mut word = [0u8; 8];
    f.read_exact_at(&mut word, TAIL).unwrap();
    let word = u64::from_le_bytes(word) | bits;
    f.write_all_at(&word.to_le_bytes(), TAIL).unwrap();
}

/// Runs `f` in a thread; `None` if it did not return within `limit` (a hang).
fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).ok()
}

/// A creator killed after deciding to replace a stale file, before its rename: the path keeps
/// the old file, which every kind of open still accepts (and no staging file is left for
/// long: the next creator removes it).
#[test]
fn a_creator_killed_before_its_rename_leaves_a_usable_path() {
    let path = ShmPath::new("killed-creator");
    drop(Msg::create_receiver(&path, 4096).unwrap()); // a stale, empty channel
    let mut creator = ChildProc::spawn(
        CHILD,
        &["create-receiver", path.as_str(), "typed", "4096"],
        &[("IPMPSC_FAULT", "before-replace:1")],
    );
    creator.expect_err("IPMPSC_FAULT_STOPPED before-replace", T);
    creator.kill();
    let p = path.path.clone();
    let opened = within(Duration::from_secs(5), move || {
        let tx = Msg::open_sender(&p).map(drop);
        let rx = Msg::open_or_create_receiver(&p, 4096).map(drop);
        let rx2 = Msg::open_receiver(&p).map(drop);
        (tx, rx, rx2)
    })
    .expect("an open hung after a creator died half-way");
    assert!(
        opened.0.is_ok() && opened.1.is_ok() && opened.2.is_ok(),
        "{opened:?}"
    );
    // The dead creator's staging file is removed by the next creator (once it is a few
    // seconds old); meanwhile, it is there.
    let staging = || {
        path.staging_names()
            .iter()
            .filter(|n| n.ends_with(".tmp"))
            .count()
    };
    assert_eq!(staging(), 1, "the dead creator's staging file");
    std::thread::sleep(Duration::from_secs(6));
    drop(Msg::create_receiver(&path, 4096).unwrap());
    assert_eq!(staging(), 0, "not cleaned up");
}

/// A raw sender that registers and sends after a creator counted the file's senders, and
/// before it renamed its new file over it (stopped right there), is not told "sent" for a
/// message that goes away with the file: its send waits for the creator, and the replacement
/// makes it `Disconnected`.
#[test]
fn a_send_while_a_creator_decides_waits_for_the_outcome() {
    let path = ShmPath::new("deciding");
    drop(SharedRingBuffer::create(&path, 4096).unwrap()); // stale and empty
    let buffer = SharedRingBuffer::open(&path).unwrap(); // opened before the creator decides
    let mut creator = ChildProc::spawn(
        CHILD,
        &["raw-create", path.as_str()],
        &[("IPMPSC_FAULT", "before-replace:1")],
    );
    creator.expect_err("IPMPSC_FAULT_STOPPED before-replace", T);
    let sending = std::thread::spawn(move || Sender::new(buffer).send(&0xdead_beefu32));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !sending.is_finished(),
        "the send did not wait for the decision"
    );
    creator.signal(libc::SIGCONT);
    assert_eq!(creator.expect_out("RESULT", T), "RESULT Ok");
    let sent = sending.join().unwrap();
    assert!(matches!(sent, Err(Error::Disconnected)), "{sent:?}");
    // And nothing is in the new file either.
    let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
    assert_eq!(rx.try_recv::<u32>().unwrap(), None);
}

/// A creator that finds live senders (or undelivered messages) while deciding lets a receiver
/// that raced it claim the file after all: `create_receiver` against `open_or_create_receiver`
/// on a dead receiver's file with a message in it always leaves exactly one receiver.
#[test]
fn create_racing_a_restart_always_leaves_one_receiver() {
    let path = ShmPath::new("restart-race");
    {
        let _rx = Msg::create_receiver(&path, 4096).unwrap();
        Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
    } // the receiver is gone, the message stays
    for round in 0..200 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (b, p) = (barrier.clone(), path.path.clone());
        let creator = std::thread::spawn(move || {
            b.wait();
            Msg::create_receiver(&p, 4096).map(drop)
        });
        let p = path.path.clone();
        let restart = std::thread::spawn(move || {
            barrier.wait();
            Msg::open_or_create_receiver(&p, 4096)
        });
        let created = creator.join().unwrap();
        let restarted = restart.join().unwrap();
        match (&created, &restarted) {
            (Err(Error::ChannelInUse { .. } | Error::ReceiverAlreadyExists { .. }), Ok(_)) => {}
            other => panic!(
                "round {round}: {:?} / {:?}",
                other.0,
                other.1.as_ref().map(drop)
            ),
        }
        // The message is still there for the receiver that won.
        let mut rx = restarted.unwrap();
        assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop), "round {round}");
        // The next round starts as this one did: one message, no receiver.
        Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
        drop(rx);
    }
}

/// State bits a process with write access forges: a `REPLACED` on a file that is at its path
/// makes opens report it rather than spin, and a `REPLACING` that no creator stands behind is
/// ignored by new senders (and cleared).
#[test]
fn forged_state_bits_are_reported_or_ignored_never_a_hang() {
    let path = ShmPath::new("forged-bits");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    set_tail_bits(&path, REPLACING);
    let p = path.path.clone();
    let tx = within(Duration::from_secs(5), move || Msg::open_sender(&p))
        .expect("open_sender hung on a forged REPLACING")
        .unwrap();
    tx.send(&Msg::Stop).unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));

    set_tail_bits(&path, REPLACED);
    let p = path.path.clone();
    let r = within(Duration::from_secs(5), move || {
        Msg::open_sender(&p).map(drop)
    })
    .expect("open_sender hung on a forged REPLACED");
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    drop(rx);
    let p = path.path.clone();
    let r = within(Duration::from_secs(5), move || {
        Msg::open_receiver(&p).map(drop)
    })
    .expect("open_receiver hung on a forged REPLACED");
    assert!(matches!(r, Err(Error::Corrupt(_))), "{r:?}");
    // `create_receiver` starts over, once the sender is gone.
    drop(tx);
    assert!(Msg::create_receiver(&path, 4096).is_ok());
}

/// A symlink at the path that leads to a channel in use makes the path in use; one that leads
/// nowhere is reported by `open_or_create_receiver` (which neither follows nor replaces it),
/// and replaced by `create_receiver`.
#[test]
fn symlinks_at_the_path() {
    let target = ShmPath::new("link-target");
    let link = ShmPath::new("link");
    let mut live = Msg::create_receiver(&target, 4096).unwrap();
    std::os::unix::fs::symlink(&target.path, &link.path).unwrap();
    let tx = Msg::open_sender(&link).unwrap(); // through the link
    assert!(matches!(
        Msg::create_receiver(&link, 4096),
        Err(Error::ReceiverAlreadyExists { .. })
    ));
    tx.send(&Msg::Stop).unwrap();
    assert_eq!(live.recv_timeout(T).unwrap(), Some(Msg::Stop));
    drop(live);
    tx.send(&Msg::Stop).unwrap_err(); // the receiver left: Disconnected
    assert!(
        matches!(
            Msg::create_receiver(&link, 4096),
            Err(Error::ChannelInUse { senders: 1, .. })
        ),
        "a live sender behind the link"
    );
    drop(tx);

    let dangling = ShmPath::new("dangling");
    std::os::unix::fs::symlink("/dev/shm/ipmpsc-nothing-here", &dangling.path).unwrap();
    let p = dangling.path.clone();
    let r = within(Duration::from_secs(5), move || {
        Msg::open_or_create_receiver(&p, 4096).map(drop)
    })
    .expect("open_or_create_receiver hung on a dangling symlink");
    assert!(
        matches!(&r, Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound)),
        "{r:?}"
    );
    assert!(Msg::create_receiver(&dangling, 4096).is_ok());
    assert!(!std::fs::symlink_metadata(&dangling.path)
        .unwrap()
        .is_symlink());
}

/// A file at the path that is not a channel (somebody's data, a mistyped path) is never
/// clobbered; an empty one, or an ipmpsc channel of another layout, is replaced.
#[test]
fn create_never_clobbers_a_file_that_is_not_a_channel() {
    let path = ShmPath::new("not-a-channel");
    std::fs::write(&path.path, b"somebody's data").unwrap();
    let ino = std::fs::metadata(&path.path).unwrap().ino();
    assert!(matches!(
        Msg::create_receiver(&path, 4096),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    assert!(matches!(
        SharedRingBuffer::create(&path, 4096),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    assert_eq!(std::fs::read(&path.path).unwrap(), b"somebody's data");
    assert_eq!(std::fs::metadata(&path.path).unwrap().ino(), ino);

    std::fs::write(&path.path, b"").unwrap();
    assert!(Msg::create_receiver(&path, 4096).is_ok());
    // Layout version 1, as an older ipmpsc wrote it.
    let mut old = b"IPMPSCrb".to_vec();
    old.extend_from_slice(&1u32.to_le_bytes());
    old.resize(8192, 0);
    std::fs::write(&path.path, &old).unwrap();
    assert!(Msg::create_receiver(&path, 4096).is_ok());
}

/// Creators racing for a path also clean up after each other: however many run, every
/// staging file goes (none is left once they are done).
#[test]
fn racing_creators_leave_no_staging_files() {
    let path = ShmPath::new("race-staging");
    let start = Instant::now();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let p = path.path.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    let _ = Msg::create_receiver(&p, 4096);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let left = path.staging_names();
    assert!(
        left.is_empty(),
        "left behind after {:?}: {left:?}",
        start.elapsed()
    );
}

/// A forked child that drops its copy of a `create_temp` buffer removes nothing.
#[test]
fn a_forked_child_removes_no_temporary_channel() {
    let (path, buffer) = SharedRingBuffer::create_temp(4096).unwrap();
    // SAFETY: the child drops a value and exits at once.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(buffer);
        // SAFETY: ends the forked child without running this test's harness.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    assert!(std::path::Path::new(&path).exists());
    drop(buffer);
    assert!(!std::path::Path::new(&path).exists());
}

/// A channel in use that the creator cannot map (no address space left) is not taken for a
/// file of another format and replaced: the creator reports an error and the channel, with its
/// queued message, stays.
#[test]
fn a_channel_the_creator_cannot_map_is_not_replaced() {
    let path = ShmPath::new("unmappable");
    let rx = Msg::create_receiver(&path, 64 << 20).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Stop).unwrap();
    drop(rx); // restarting: a message waits, the sender stays
    let mut creator = ChildProc::spawn(
        CHILD,
        &["limited-create", path.as_str(), &(16u64 << 20).to_string()],
        &[],
    );
    let result = creator.expect_out("RESULT", T);
    assert!(!result.starts_with("RESULT Ok"), "{result}");
    let mut rx = Msg::open_receiver(&path).unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
}

/// Only the creators' own staging files are cleaned up: a file of the same name pattern that is
/// somebody's stays.
#[test]
fn cleanup_removes_only_staging_files() {
    let path = ShmPath::new("dotfile");
    let name = path.name();
    let theirs = format!("/dev/shm/.{name}.my-notes.tmp");
    let shaped = format!("/dev/shm/.{name}.123.abc.tmp"); // the right shape, not ours
    for p in [&theirs, &shaped] {
        std::fs::write(p, b"somebody's data").unwrap();
        std::fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(60))
            .unwrap();
    }
    drop(Msg::create_receiver(&path, 4096).unwrap());
    let kept = [&theirs, &shaped].map(|p| std::path::Path::new(p).exists());
    for p in [&theirs, &shaped] {
        let _ = std::fs::remove_file(p);
    }
    assert_eq!(kept, [true, true]);
}

/// A creator stopped while it decides (as by a debugger) makes new senders and receivers wait
/// for it, and they go on when it does: no error for a creator that is merely slow.
#[test]
fn a_stopped_creator_is_waited_for() {
    let path = ShmPath::new("stopped-creator");
    drop(Msg::create_receiver(&path, 4096).unwrap()); // stale and unused: will be replaced
    let mut creator = ChildProc::spawn(
        CHILD,
        &["create-receiver", path.as_str(), "typed", "4096"],
        &[("IPMPSC_FAULT", "before-replace:1")],
    );
    // Stopped holding the replace lock, the old file marked REPLACING.
    creator.expect_err("IPMPSC_FAULT_STOPPED before-replace", T);
    let p = path.path.clone();
    let opening = std::thread::spawn(move || Msg::open_sender(&p));
    // An opener that does not wait returns at once (an error, or a sender of the old file).
    std::thread::sleep(Duration::from_millis(300));
    assert!(!opening.is_finished(), "did not wait for the creator");
    creator.signal(libc::SIGCONT);
    creator.expect_out("READY", T);
    let tx = opening
        .join()
        .unwrap()
        .expect("opened once the creator decided");
    // Attached to the new channel, whose receiver lives: a sender of the replaced file would
    // be told Disconnected.
    tx.send(&Msg::Stop)
        .expect("the sender reached the new receiver");
    creator.close_stdin();
    creator.wait_success(T);
}
