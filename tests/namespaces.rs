//! Peers in other PID namespaces (a container sharing `/dev/shm` with the host): liveness is
//! the kernel's file lock, which means the same in every namespace, so a receiver in a
//! namespace holds the channel against the host, a sender in one counts, and both are known
//! to be gone when they die. Runs `unshare --pid` (CI runs as root); skipped where that is
//! not allowed.

mod common;

use std::time::{Duration, Instant};

use common::{send_until_disconnected, ChildProc, Msg, ShmPath};
use ipmpsc::Error;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

/// Runs the test child in a new PID (and mount, for its own /proc) namespace; `None`, with a
/// message, if namespaces are not available here. Killing the returned process kills the
/// child (`--kill-child`).
fn in_pid_namespace(args: &[&str]) -> Option<ChildProc> {
    let mut full = vec!["--pid", "--fork", "--mount-proc", "--kill-child", CHILD];
    full.extend_from_slice(args);
    let mut child = ChildProc::spawn("unshare", &full, &[]);
    match child.poll_out(T) {
        Some(Some(line)) if line.starts_with("READY") => {
            // The child sees itself as pid 1 of its namespace.
            assert_eq!(line, "READY 1", "not in a new PID namespace");
            Some(child)
        }
        _ => {
            eprintln!(
                "skipped: cannot run in a new PID namespace here (needs root): {}",
                child.report()
            );
            None
        }
    }
}

#[test]
fn a_receiver_in_another_pid_namespace_holds_the_channel_until_it_dies() {
    let path = ShmPath::new("ns-rx");
    let Some(mut receiver) = in_pid_namespace(&["create-receiver", path.as_str(), "typed", "4096"])
    else {
        return;
    };
    // Seen from the host, it is alive: a second receiver is refused, however it asks.
    assert!(matches!(
        Msg::create_receiver(&path, 4096),
        Err(Error::ReceiverAlreadyExists { .. })
    ));
    assert!(matches!(
        Msg::open_receiver(&path),
        Err(Error::ReceiverAlreadyExists { .. })
    ));
    assert!(matches!(
        Msg::open_or_create_receiver(&path, 4096),
        Err(Error::ReceiverAlreadyExists { .. })
    ));
    let tx = Msg::open_sender(&path).unwrap();
    assert!(tx.try_send(&Msg::Stop).unwrap());
    // Dead, the host's sender learns it.
    receiver.kill();
    let killed = Instant::now();
    send_until_disconnected(
        &tx,
        || killed.elapsed(),
        "still sending into a dead namespace's channel",
    );
    eprintln!(
        "the host's sender got Disconnected {:?} after the kill",
        killed.elapsed()
    );
    // And the host can take over (the queued messages are still there).
    let mut rx = Msg::open_receiver(&path).unwrap();
    assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop));
}

#[test]
fn a_sender_in_another_pid_namespace_counts_and_is_missed_when_it_dies() {
    let path = ShmPath::new("ns-tx");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let Some(mut sender) = in_pid_namespace(&["hold-sender", path.as_str(), "typed", "3"]) else {
        return;
    };
    assert_eq!(rx.sender_count(), 1);
    for seq in 0..3 {
        assert_eq!(
            rx.recv_timeout(T).unwrap(),
            Some(Msg::Item {
                id: 0,
                seq,
                data: Vec::new()
            })
        );
    }
    sender.kill();
    let killed = Instant::now();
    assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
    eprintln!(
        "the host's receiver got Disconnected {:?} after the kill",
        killed.elapsed()
    );
    assert!(killed.elapsed() < Duration::from_secs(2));
    assert_eq!(rx.sender_count(), 0);
}
