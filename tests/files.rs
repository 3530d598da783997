//! The channel file itself: permissions, planted symlinks, files held by a live receiver, and
//! stale files left by a dead one.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use common::{ChildProc, Msg, ShmPath};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

fn mode(path: &ShmPath) -> u32 {
    std::fs::metadata(&path.path).unwrap().permissions().mode() & 0o777
}

#[test]
fn files_are_mode_0600_by_default() {
    let raw = ShmPath::new("mode-raw");
    let _buffer = SharedRingBuffer::create(&raw, 4096).unwrap();
    assert_eq!(mode(&raw), 0o600);

    let typed = ShmPath::new("mode-typed");
    let _rx = Msg::create_receiver(&typed, 4096).unwrap();
    assert_eq!(mode(&typed), 0o600);

    let (temp, buffer) = SharedRingBuffer::create_temp(4096).unwrap();
    assert!(
        temp.starts_with("/dev/shm/"),
        "create_temp should use /dev/shm: {temp}"
    );
    assert_eq!(
        std::fs::metadata(&temp).unwrap().permissions().mode() & 0o777,
        0o600
    );
    drop(buffer);
    assert!(
        !std::path::Path::new(&temp).exists(),
        "create_temp's file is removed with the buffer"
    );

    // Explicit modes are honoured (within the umask), and a file created by a child process
    // gets the same default.
    let explicit = ShmPath::new("mode-explicit");
    let _b = SharedRingBuffer::create_with_mode(&explicit, 4096, 0o640).unwrap();
    assert_eq!(mode(&explicit), 0o640);
    let by_child = ShmPath::new("mode-child");
    let mut child = ChildProc::spawn(
        CHILD,
        &["create-receiver", by_child.as_str(), "typed", "4096"],
        &[],
    );
    child.expect_out("READY", T);
    assert_eq!(mode(&by_child), 0o600);
}

#[test]
fn create_replaces_a_planted_symlink_and_leaves_its_target_alone() {
    for typed in [false, true] {
        let target = ShmPath::new("symlink-target");
        std::fs::write(&target.path, b"precious data").unwrap();
        std::fs::set_permissions(&target.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let target_ino = std::fs::metadata(&target.path).unwrap().ino();
        let link = ShmPath::new("symlink");
        std::os::unix::fs::symlink(&target.path, &link.path).unwrap();

        // Also a dangling symlink: create must not bring its target into existence.
        let missing = ShmPath::new("symlink-missing");
        let dangling = ShmPath::new("symlink-dangling");
        std::os::unix::fs::symlink(&missing.path, &dangling.path).unwrap();

        for path in [&link, &dangling] {
            if typed {
                let mut rx = Msg::create_receiver(path, 4096).unwrap();
                Msg::open_sender(path).unwrap().send(&Msg::Stop).unwrap();
                assert!(matches!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop)));
            } else {
                let rx = Receiver::new(SharedRingBuffer::create(path, 4096).unwrap());
                Sender::new(SharedRingBuffer::open(path).unwrap())
                    .send(&1u8)
                    .unwrap();
                assert_eq!(rx.recv_timeout::<u8>(T).unwrap(), Some(1));
            }
            let meta = std::fs::symlink_metadata(&path.path).unwrap();
            assert!(
                meta.file_type().is_file(),
                "the symlink is replaced by a regular file"
            );
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read(&target.path).unwrap(),
            b"precious data",
            "symlink target written through"
        );
        let meta = std::fs::metadata(&target.path).unwrap();
        assert_eq!(meta.ino(), target_ino);
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o644,
            "symlink target's mode changed"
        );
        assert!(
            !missing.path.exists(),
            "a dangling symlink's target was created"
        );
    }
}

/// A child process that created a `kind` ("raw" or "typed") channel and holds its receiver,
/// with one message queued: `42u64` (raw) or `Msg::Text("queued")` (typed).
fn receiver_process_with_one_message(tag: &str, kind: &str) -> (ShmPath, ChildProc) {
    let path = ShmPath::new(tag);
    let mut holder = ChildProc::spawn(
        CHILD,
        &["create-receiver", path.as_str(), kind, "4096"],
        &[],
    );
    holder.expect_out("READY", T);
    if kind == "raw" {
        Sender::new(SharedRingBuffer::open(&path).unwrap())
            .send(&42u64)
            .unwrap();
    } else {
        Msg::open_sender(&path)
            .unwrap()
            .send(&Msg::Text("queued".into()))
            .unwrap();
    }
    (path, holder)
}

/// `create` over a channel whose receiver lives in another process is refused with that
/// process's pid, and the file (and the messages in it) stay as they were.
#[test]
fn create_refuses_a_file_that_a_live_receiver_holds() {
    for kind in ["raw", "typed"] {
        let (path, mut holder) = receiver_process_with_one_message("live-holder", kind);
        let before = std::fs::metadata(&path.path).unwrap();

        let expect_refused = |what: &str, r: ipmpsc::Result<()>| match r {
            Err(Error::ReceiverAlreadyExists { pid }) => {
                assert_eq!(pid, holder.pid(), "{kind} {what}")
            }
            other => panic!("{kind} {what} over a live receiver's file: {other:?}"),
        };
        expect_refused(
            "SharedRingBuffer::create",
            SharedRingBuffer::create(&path, 8192).map(drop),
        );
        expect_refused(
            "create_with_mode",
            SharedRingBuffer::create_with_mode(&path, 8192, 0o600).map(drop),
        );
        expect_refused(
            "Msg::create_receiver",
            Msg::create_receiver(&path, 8192).map(drop),
        );

        let after = std::fs::metadata(&path.path).unwrap();
        assert_eq!(
            (after.ino(), after.len()),
            (before.ino(), before.len()),
            "{kind}: file replaced or resized"
        );
        // The message is still there for the next receiver.
        holder.kill();
        if kind == "raw" {
            let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
            assert_eq!(rx.try_recv::<u64>().unwrap(), Some(42));
        } else {
            let mut rx = Msg::open_receiver(&path).unwrap();
            assert_eq!(rx.try_recv().unwrap(), Some(Msg::Text("queued".into())));
        }
    }
}

/// The file of a receiver that was SIGKILLed, with nothing left in it, is stale: `create`
/// replaces it with a fresh, empty channel.
#[test]
fn create_replaces_the_stale_empty_file_of_a_killed_receiver() {
    for kind in ["raw", "typed"] {
        let (path, mut holder) = receiver_process_with_one_message("stale", kind);
        // Receive the queued message (the holder is still alive: claim after killing it).
        holder.kill();
        if kind == "raw" {
            let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
            assert_eq!(rx.try_recv::<u64>().unwrap(), Some(42));
        } else {
            let mut rx = Msg::open_receiver(&path).unwrap();
            assert!(rx.try_recv().unwrap().is_some());
        }
        let old_ino = std::fs::metadata(&path.path).unwrap().ino();
        if kind == "raw" {
            let buffer = SharedRingBuffer::create(&path, 8192).unwrap();
            assert_eq!(buffer.capacity(), 8192);
            let rx = Receiver::try_new(buffer).unwrap();
            assert_eq!(
                rx.try_recv::<u64>().unwrap(),
                None,
                "the new channel starts empty"
            );
        } else {
            let mut rx = Msg::create_receiver(&path, 8192).unwrap();
            assert!(
                rx.try_recv().unwrap().is_none(),
                "the new channel starts empty"
            );
        }
        let meta = std::fs::metadata(&path.path).unwrap();
        assert_ne!(
            meta.ino(),
            old_ino,
            "{kind}: the stale file is replaced, not reused"
        );
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}

/// A killed receiver's file that still holds a message is not replaced by `create`: that
/// would lose the message. The error says what is there and what to call instead, and
/// `open_or_create_receiver` continues the channel.
#[test]
fn create_refuses_a_dead_receivers_file_with_undelivered_messages() {
    for kind in ["raw", "typed"] {
        let (path, mut holder) = receiver_process_with_one_message("undelivered", kind);
        holder.kill();
        let before = std::fs::metadata(&path.path).unwrap().ino();
        let err = if kind == "raw" {
            SharedRingBuffer::create(&path, 8192).map(drop).unwrap_err()
        } else {
            Msg::create_receiver(&path, 8192).map(drop).unwrap_err()
        };
        match &err {
            Error::ChannelInUse {
                senders,
                undelivered,
                ..
            } => {
                assert_eq!(*senders, 0, "{kind}");
                assert!(*undelivered > 0, "{kind}");
            }
            other => panic!("{kind}: {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("open_or_create_receiver"), "{text}");
        assert_eq!(std::fs::metadata(&path.path).unwrap().ino(), before);
        if kind == "raw" {
            let rx = Receiver::try_new(SharedRingBuffer::open(&path).unwrap()).unwrap();
            assert_eq!(rx.try_recv::<u64>().unwrap(), Some(42));
        } else {
            let mut rx = Msg::open_or_create_receiver(&path, 8192).unwrap();
            assert_eq!(rx.try_recv().unwrap(), Some(Msg::Text("queued".into())));
        }
    }
}

/// A consumer restarted with `create_receiver` while a producer still runs must not replace
/// the file under it (the producer would go on "sending" into an unlinked file nobody reads):
/// it is refused with what is there and the call to use, and `open_or_create_receiver`
/// continues the channel with every message the producer sent.
#[test]
fn restart_with_create_is_refused_while_senders_live() {
    for ending in ["killed", "returned"] {
        let path = ShmPath::new("restart");
        let mut first = ChildProc::spawn(CHILD, &["lc-receiver", path.as_str(), "return"], &[]);
        first.expect_out("READY", T);
        let mut producer =
            ChildProc::spawn(CHILD, &["hold-sender", path.as_str(), "typed", "3"], &[]);
        producer.expect_out("READY", T);
        if ending == "killed" {
            first.kill();
        } else {
            first.send_line("go");
            first.wait_success(T);
        }
        let before = std::fs::metadata(&path.path).unwrap().ino();
        match Msg::create_receiver(&path, 4096) {
            Err(Error::ChannelInUse {
                senders,
                undelivered,
                ..
            }) => {
                assert_eq!(senders, 1, "{ending}");
                assert!(undelivered > 0, "{ending}");
            }
            other => panic!(
                "{ending}: create_receiver over a live sender: {:?}",
                other.map(drop)
            ),
        }
        assert_eq!(std::fs::metadata(&path.path).unwrap().ino(), before);
        let mut rx = Msg::open_or_create_receiver(&path, 4096).unwrap();
        for seq in 0..3 {
            assert_eq!(
                rx.recv_timeout(T).unwrap(),
                Some(Msg::Item {
                    id: 0,
                    seq,
                    data: Vec::new()
                }),
                "{ending}"
            );
        }
        producer.close_stdin();
        producer.wait_success(T);
        assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
    }
}

/// A sender whose receiver left, and whose file was then removed and created anew by another
/// receiver, never reports success into the old file: it gets `Disconnected` every time,
/// while a sender that opens the path now reaches the new receiver.
#[test]
fn a_sender_of_a_replaced_file_never_reports_success() {
    let path = ShmPath::new("unlinked");
    let mut first = ChildProc::spawn(CHILD, &["lc-receiver", path.as_str(), "return"], &[]);
    first.expect_out("READY", T);
    let old = Msg::open_sender(&path).unwrap();
    old.send(&Msg::Stop).unwrap();
    first.send_line("go");
    first.wait_success(T);
    std::fs::remove_file(&path.path).unwrap();
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    for _ in 0..3 {
        assert!(matches!(old.send(&Msg::Stop), Err(Error::Disconnected)));
        assert!(matches!(old.try_send(&Msg::Stop), Err(Error::Disconnected)));
    }
    Msg::open_sender(&path)
        .unwrap()
        .send(&Msg::Text("new".into()))
        .unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Text("new".into())));
}
