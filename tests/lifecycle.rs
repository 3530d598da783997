//! Every way a process ends, the other side knows: a receiver that returns from `main`,
//! panics (unwinding, or aborting), calls `exit`, is killed with `SIGKILL` or `SIGTERM`, or is
//! dropped while a thread of its own process is blocked sending; and a sender that ends in the
//! same ways. Each cell runs real processes and asserts the outcome and its latency, measured
//! on `CLOCK_MONOTONIC` from the moment the peer ended to the moment the other side returned.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{mono_ns, send_until_disconnected, ChildProc, Msg, ShmPath};
use ipmpsc::Error;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);
/// The guarantee: the other side knows within this.
const BOUND: Duration = Duration::from_millis(100);

const WAYS: [&str; 7] = [
    "return",
    "panic",
    "abort",
    "exit",
    "SIGKILL",
    "SIGTERM",
    "drop-while-blocked",
];

fn spawn(args: &[&str]) -> ChildProc {
    ChildProc::spawn(CHILD, args, &[])
}

/// The number after `prefix` in `line` (`"ENDING 123"` → 123).
fn ns_after(line: &str, field: usize) -> u64 {
    line.split_whitespace()
        .nth(field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in field {field} of {line:?}"))
}

/// Ends `peer` as `how` says; returns when it ended (monotonic ns).
fn end_peer(peer: &mut ChildProc, how: &str) -> u64 {
    match how {
        "SIGKILL" | "SIGTERM" => {
            let at = mono_ns();
            peer.signal(if how == "SIGKILL" {
                libc::SIGKILL
            } else {
                libc::SIGTERM
            });
            at
        }
        _ => {
            peer.send_line("go");
            ns_after(&peer.expect_out("ENDING", T), 1)
        }
    }
}

/// How the peer process is told to behave: killed ones just wait.
fn role(how: &str) -> &str {
    match how {
        "SIGKILL" | "SIGTERM" => "wait",
        other => other,
    }
}

/// The exit status a way of ending leaves.
fn check_status(peer: &mut ChildProc, how: &str) {
    use std::os::unix::process::ExitStatusExt;
    let status = peer.wait_exit(T);
    let ok = match how {
        "return" | "exit" | "drop-while-blocked" => status.code() == Some(0),
        "panic" => status.code() == Some(101),
        "abort" => status.signal() == Some(libc::SIGABRT),
        "SIGKILL" => status.signal() == Some(libc::SIGKILL),
        "SIGTERM" => status.signal() == Some(libc::SIGTERM),
        _ => false,
    };
    assert!(ok, "{how}: the peer ended with {status}");
}

fn millis(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}

/// The receiver ends as `how` says, under a sender process blocked on the full ring. Returns
/// how long the blocked sender took to get `Disconnected`.
fn receiver_ends(how: &str) -> Duration {
    let path = ShmPath::new("lc-rx");
    let mut receiver = spawn(&["lc-receiver", path.as_str(), role(how)]);
    receiver.expect_out("READY", T);
    let latency = if how == "drop-while-blocked" {
        let ended = end_peer(&mut receiver, how);
        let line = receiver.expect_out("INPROC", T);
        assert!(
            line.starts_with("INPROC Disconnected"),
            "{how}: the blocked thread got {line:?}"
        );
        millis(ns_after(&line, 2).saturating_sub(ended))
    } else {
        let mut sender = spawn(&["lc-blocked-sender", path.as_str()]);
        sender.expect_out("FULL", T);
        let ended = end_peer(&mut receiver, how);
        let line = sender.expect_out("RESULT", T);
        assert!(
            line.starts_with("RESULT Disconnected"),
            "{how}: the blocked sender got {line:?}"
        );
        let latency = millis(ns_after(&line, 2).saturating_sub(ended));
        let later = sender.expect_out("LATER", T);
        assert_eq!(
            later, "LATER Disconnected Disconnected",
            "{how}: the sends after it"
        );
        sender.wait_success(T);
        latency
    };
    check_status(&mut receiver, how);
    // A sender that comes afterwards learns it too, at its first send.
    let tx = Msg::open_sender(&path).expect("the file stays");
    assert!(
        matches!(tx.send(&Msg::Stop), Err(Error::Disconnected)),
        "{how}: a new sender's send"
    );
    assert!(
        matches!(tx.try_send(&Msg::Stop), Err(Error::Disconnected)),
        "{how}: a new sender's try_send"
    );
    latency
}

/// The only sender ends as `how` says while the receiver is blocked in `recv`. Returns how
/// long the receiver took to get `Disconnected`.
fn sender_ends(how: &str) -> Duration {
    let path = ShmPath::new("lc-tx");
    if how == "drop-while-blocked" {
        let mut peer = spawn(&["lc-sender", path.as_str(), how]);
        peer.expect_out("READY", T);
        let ended = end_peer(&mut peer, how);
        let line = peer.expect_out("INPROC", T);
        assert!(
            line.starts_with("INPROC Disconnected"),
            "{how}: the blocked receiver thread got {line:?}"
        );
        check_status(&mut peer, how);
        return millis(ns_after(&line, 2).saturating_sub(ended));
    }
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let mut peer = spawn(&["lc-sender", path.as_str(), role(how)]);
    peer.expect_out("READY", T);
    // The sender's one message, then a receive that blocks until the sender is gone.
    assert!(matches!(rx.recv_timeout(T), Ok(Some(Msg::Text(_)))));
    let (report, result) = mpsc::channel();
    let watcher = std::thread::spawn(move || {
        let r = rx.recv();
        report
            .send((
                matches!(r, Err(Error::Disconnected)),
                format!("{r:?}"),
                mono_ns(),
            ))
            .unwrap();
        rx
    });
    let ended = end_peer(&mut peer, how);
    let (disconnected, what, at) = result.recv_timeout(T).expect("the receiver returned");
    assert!(disconnected, "{how}: the blocked receiver got {what}");
    check_status(&mut peer, how);
    let mut rx = watcher.join().unwrap();
    // Reported once: the next receive waits for a new sender.
    assert!(
        rx.recv_timeout(Duration::from_millis(30))
            .unwrap()
            .is_none(),
        "{how}: Disconnected twice"
    );
    millis(at.saturating_sub(ended))
}

fn run(side: &str, cell: fn(&str) -> Duration) {
    let mut table = format!("{side} ends | the other side gets `Disconnected` after\n");
    let mut slow = Vec::new();
    for how in WAYS {
        let latency = cell(how);
        table.push_str(&format!("{how} | {:.1} ms\n", latency.as_secs_f64() * 1e3));
        if latency > BOUND {
            slow.push(format!("{how}: {latency:?}"));
        }
    }
    eprintln!("{table}");
    assert!(slow.is_empty(), "slower than {BOUND:?}: {slow:?}\n{table}");
}

#[test]
fn receiver_ends_in_every_way_and_every_sender_knows() {
    run("receiver", receiver_ends);
}

#[test]
fn sender_ends_in_every_way_and_the_receiver_knows() {
    run("sender", sender_ends);
}

/// The raw receiver keeps ipmpsc 0.5's behaviour: it never reports that its senders left.
#[test]
fn raw_receiver_keeps_waiting_when_every_sender_left() {
    let path = ShmPath::new("lc-raw");
    let rx = ipmpsc::Receiver::new(ipmpsc::SharedRingBuffer::create(&path, 4096).unwrap());
    let mut peer = spawn(&["hold-sender", path.as_str(), "raw", "2"]);
    peer.expect_out("READY", T);
    peer.kill();
    for _ in 0..2 {
        assert!(rx.recv_timeout::<common::Item>(T).unwrap().is_some());
    }
    assert_eq!(
        rx.recv_timeout::<common::Item>(Duration::from_millis(100))
            .unwrap(),
        None
    );
    assert_eq!(rx.try_recv::<common::Item>().unwrap(), None);
}

/// A typed receiver whose senders come and go reports each "everyone left" once, and keeps
/// receiving from the next sender: the two-terminal walk-through with typed channels.
#[test]
fn typed_receiver_outlives_senders_that_come_and_go() {
    let path = ShmPath::new("lc-comego");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    for round in 0..3 {
        let mut peer = spawn(&["lc-sender", path.as_str(), "return"]);
        peer.expect_out("READY", T);
        peer.send_line("go");
        peer.expect_out("ENDING", T);
        assert!(
            matches!(rx.recv_timeout(T), Ok(Some(Msg::Text(_)))),
            "round {round}"
        );
        assert!(
            matches!(rx.recv_timeout(T), Err(Error::Disconnected)),
            "round {round}"
        );
        peer.wait_success(T);
    }
    // `iter` ends at the end of a stream, and picks up the next one.
    let mut peer = spawn(&["hold-sender", path.as_str(), "typed", "5"]);
    peer.expect_out("READY", T);
    peer.close_stdin();
    let got: Vec<Msg> = rx.iter().collect();
    assert_eq!(got.len(), 5);
}

/// A sender that registers and dies before sending anything (the receiver is asleep in `recv`
/// with nobody attached when it comes) is seen coming and seen going.
#[test]
fn a_sender_that_dies_before_sending_is_missed_all_the_same() {
    let path = ShmPath::new("lc-silent");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let (report, result) = mpsc::channel();
    let watcher = std::thread::spawn(move || {
        let r = rx.recv();
        report
            .send((
                matches!(r, Err(Error::Disconnected)),
                format!("{r:?}"),
                mono_ns(),
            ))
            .unwrap();
    });
    std::thread::sleep(Duration::from_millis(100)); // asleep, with nobody attached
    let mut peer = spawn(&["open-sender-only", path.as_str()]);
    peer.expect_out("READY", T);
    let ended = end_peer(&mut peer, "SIGKILL");
    let (disconnected, what, at) = result.recv_timeout(T).expect("the receiver returned");
    assert!(disconnected, "{what}");
    let latency = millis(at.saturating_sub(ended));
    assert!(latency < BOUND, "{latency:?}");
    watcher.join().unwrap();
}

/// A receiver that forks a helper (without `exec`) and is then killed is known to be gone:
/// the helper does not keep its lock. And a forked child that drops its copy of the receiver
/// (returning, or unwinding) takes nothing from the parent, which goes on receiving alone.
#[test]
fn forked_children_neither_keep_nor_take_the_receiver_role() {
    let path = ShmPath::new("lc-fork");
    let mut receiver = spawn(&["fork-receiver", path.as_str()]);
    receiver.expect_out("READY", T);
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Stop).unwrap();
    receiver.signal(libc::SIGKILL);
    let killed = std::time::Instant::now();
    send_until_disconnected(
        &tx,
        || killed.elapsed(),
        "the forked helper keeps the dead receiver alive",
    );
    drop((tx, receiver)); // (ends the helper too: its stdin closes)

    let path = ShmPath::new("lc-fork-drop");
    let mut receiver = spawn(&["fork-drop-receiver", path.as_str()]);
    receiver.expect_out("READY", T);
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Text("one".into())).unwrap();
    assert_eq!(receiver.expect_out("GOT", T), "GOT Text(\"one\")");
    assert!(
        matches!(
            Msg::open_receiver(&path),
            Err(Error::ReceiverAlreadyExists { .. })
        ),
        "a second receiver while the parent receives"
    );
    tx.send(&Msg::Text("two".into())).unwrap();
    assert_eq!(receiver.expect_out("GOT", T), "GOT Text(\"two\")");
}

/// Senders beyond the slot table still count: a clone made when every slot is taken shares
/// its original's slot (so the receiver sees no end of stream while it lives), and a sender
/// shared by threads waits for its slot instead of failing.
#[test]
fn a_full_sender_table_never_hides_a_sender_or_fails_a_send() {
    let path = ShmPath::new("lc-full-table");
    let mut rx = Msg::create_receiver(&path, 1 << 20).unwrap();
    let senders: Vec<_> = (0..128).map(|_| Msg::open_sender(&path).unwrap()).collect();
    assert!(matches!(
        Msg::open_sender(&path),
        Err(Error::TooManySenders { .. })
    ));
    // Two threads share one registered sender: no spare slot to borrow.
    let shared = senders[0].clone(); // shares senders[0]'s slot
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let tx = shared.clone();
            std::thread::spawn(move || {
                for seq in 0..2000 {
                    tx.send(&Msg::Item {
                        id: t,
                        seq,
                        data: Vec::new(),
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    let mut got = 0;
    while got < 4000 {
        assert!(rx.recv_timeout(T).unwrap().is_some());
        got += 1;
    }
    for t in threads {
        t.join().unwrap();
    }
    drop(senders);
    // `shared` lives: no end of stream.
    assert!(rx
        .recv_timeout(Duration::from_millis(100))
        .unwrap()
        .is_none());
    shared.send(&Msg::Stop).unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
    drop(shared);
    assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
}

/// A slot state forged to "registered sender" by a process with write access does not fake an
/// end of stream while a real sender lives, nor hide the real one when it leaves.
#[test]
fn a_forged_slot_state_fakes_no_end_of_stream() {
    use std::os::unix::fs::FileExt;
    let path = ShmPath::new("lc-forged-slot");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path.path)
        .unwrap();
    f.write_all_at(&1u32.to_le_bytes(), 896 + 64 * 100).unwrap(); // slot 100: "a sender"
    let tx = Msg::open_sender(&path).unwrap();
    assert!(rx
        .recv_timeout(Duration::from_millis(200))
        .unwrap()
        .is_none());
    tx.send(&Msg::Stop).unwrap();
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
    drop(tx);
    assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
}

/// The fork protection has no gaps: a child forked while another thread creates channels
/// never holds a channel file's descriptor, however the fork falls.
#[test]
fn a_fork_during_channel_creation_leaks_no_descriptor() {
    let path = ShmPath::new("lc-forkrace");
    let mut racer = spawn(&["fork-racer", path.as_str(), "400"]);
    let line = racer.next_out(T).expect("a report");
    assert!(line.starts_with("CLEAN"), "{line}");
    racer.wait_success(T);
    for e in std::fs::read_dir("/dev/shm").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.contains(path.name()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// With hundreds of channels open, a forked helper keeps none of their receivers alive.
#[test]
fn a_forked_helper_of_a_process_with_300_channels_keeps_none_alive() {
    const N: usize = 300;
    let path = ShmPath::new("lc-many");
    let remove = || {
        for i in 0..N {
            let _ = std::fs::remove_file(format!("{}-{i}", path.as_str()));
        }
    };
    let mut receiver = spawn(&["many-rings-fork", path.as_str(), &N.to_string()]);
    receiver.expect_out("READY", T);
    let txs: Vec<_> = [0, N / 2, N - 1]
        .iter()
        .map(|i| Msg::open_sender(format!("{}-{i}", path.as_str())).unwrap())
        .collect();
    receiver.signal(libc::SIGKILL);
    receiver.wait_exit(T);
    let started = std::time::Instant::now();
    for tx in &txs {
        send_until_disconnected(
            tx,
            || started.elapsed(),
            "a forked helper keeps a receiver alive",
        );
    }
    drop(receiver);
    remove();
}

/// A child forked into a new PID namespace has its parent's pid (1 in each): dropping its
/// copy of the parent's receiver or sender still gives nothing back. Needs `unshare`.
#[test]
fn a_forked_child_with_its_parents_pid_takes_nothing() {
    for what in ["receiver", "sender"] {
        let path = ShmPath::new("lc-nested");
        let mut rx = (what == "sender").then(|| Msg::create_receiver(&path, 4096).unwrap());
        let mut peer = ChildProc::spawn(
            "unshare",
            &[
                "--pid",
                "--fork",
                "--kill-child",
                CHILD,
                "nested-ns-drop",
                path.as_str(),
                what,
            ],
            &[],
        );
        match peer.poll_out(T) {
            Some(Some(line)) if line == "READY 1" => {}
            other => {
                eprintln!(
                    "skipped: no nested PID namespace here ({other:?}): {}",
                    peer.report()
                );
                return;
            }
        }
        if let Some(rx) = &mut rx {
            assert!(
                rx.recv_timeout(Duration::from_millis(200))
                    .unwrap()
                    .is_none(),
                "the parent's sender was given back by its child"
            );
            assert_eq!(rx.sender_count(), 1);
        } else {
            let tx = Msg::open_sender(&path).unwrap();
            tx.send(&Msg::Stop)
                .expect("the parent's receiver was given back by its child");
        }
    }
}

/// A process that can only read the file cannot make a dead receiver look alive by taking
/// read locks on its bytes.
#[test]
fn a_reader_cannot_keep_a_dead_receiver_alive() {
    let path = ShmPath::new("lc-reader");
    let mut receiver = spawn(&["lc-receiver", path.as_str(), "wait"]);
    receiver.expect_out("READY", T);
    let mut reader = spawn(&["read-locker", path.as_str(), "128"]);
    let tx = Msg::open_sender(&path).unwrap();
    let ended = end_peer(&mut receiver, "SIGKILL");
    reader.expect_out("READY 0", T);
    send_until_disconnected(
        &tx,
        || Duration::from_nanos(mono_ns() - ended),
        "a reader's lock keeps the dead receiver alive",
    );
    // It can keep a new receiver out (its read lock conflicts with the receiver's write
    // lock), but the error says so instead of naming a receiver that is not there.
    match Msg::open_receiver(&path) {
        Err(e @ Error::Io { .. }) => {
            assert_eq!(e.io_kind(), Some(std::io::ErrorKind::ResourceBusy), "{e:?}")
        }
        other => panic!("expected the read-lock error, got {:?}", other.map(drop)),
    }
    drop(reader);
    assert!(
        Msg::open_receiver(&path).is_ok(),
        "free once the reader is gone"
    );
}

/// A sender counter written as 0 before a typed receiver opens does not hide the senders
/// that are there: their leaving is reported.
#[test]
fn a_forged_zero_sender_count_hides_no_sender() {
    use std::os::unix::fs::FileExt;
    let path = ShmPath::new("lc-forged-count");
    drop(Msg::create_receiver(&path, 4096).unwrap());
    let tx = Msg::open_sender(&path).unwrap();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path.path)
        .unwrap();
    f.write_all_at(&0u64.to_le_bytes(), 152).unwrap(); // peers.attached
    let mut rx = Msg::open_receiver(&path).unwrap();
    tx.send(&Msg::Stop).unwrap();
    drop(tx);
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Stop));
    assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
}

/// A forked child cannot use the channel ends it inherited (they would act in the parent's
/// name, through descriptors that point at `/dev/null`): each use is a clear error, never a
/// message in the parent's slot. The channel it opens itself works, and the parent's ends
/// are untouched.
#[test]
fn a_forked_child_is_refused_its_parents_ends_and_opens_its_own() {
    let path = ShmPath::new("lc-fork-use");
    let mut p = spawn(&["fork-use", path.as_str()]);
    for what in ["send", "clone-send", "recv"] {
        let line = p.expect_out(&format!("CHILD {what} "), T);
        assert!(
            line.contains("err") && line.contains("inherited through fork"),
            "{line}"
        );
    }
    assert_eq!(p.expect_out("CHILD own-send", T), "CHILD own-send ok");
    assert_eq!(p.expect_out("PARENT", T), r#"PARENT Text("child")"#);
    assert_eq!(p.expect_out("PARENT", T), r#"PARENT Text("parent")"#);
    assert_eq!(p.expect_out("PARENT", T), "PARENT Disconnected");
    p.wait_success(T);
}

/// A zero-copy context made before a fork is the parent's: the child's receive through its
/// copy is refused (it took the parent's message before), and a child that only drops its copy
/// while the parent holds a view gives nothing back (it handed the view's space to senders,
/// who overwrote it under the parent).
#[test]
fn a_zero_copy_context_inherited_through_fork_is_the_parents() {
    let path = ShmPath::new("lc-zc-use");
    let mut p = spawn(&["zc-fork", path.as_str(), "use"]);
    let child = p.expect_out("CHILD", T);
    assert!(child.contains("inherited through fork"), "{child}");
    assert_eq!(p.expect_out("PARENT", T), "PARENT 6000 0xaa");
    p.wait_success(T);

    let path = ShmPath::new("lc-zc-drop");
    let mut p = spawn(&["zc-fork", path.as_str(), "drop"]);
    assert_eq!(
        p.expect_out("PARENT", T),
        "PARENT Ok(false) 0xaa 0xaa",
        "the child's drop handed back the space of the parent's view"
    );
    assert_eq!(p.expect_out("NEXT", T), "NEXT 6000 0xcc");
    p.wait_success(T);
}

/// The restart idiom `create_receiver(..)` (refused: a message is waiting) then
/// `open_receiver(..)`, while another thread of the process forks: the refused creator's locks
/// are given back at once, not when a child that inherited its descriptor lets go of it, so
/// the open never fails.
#[test]
fn a_refused_create_leaves_no_lock_behind_in_forked_children() {
    let path = ShmPath::new("lc-refused-fork");
    let mut p = spawn(&["refused-create-fork", path.as_str(), "3000"]);
    let result = p.expect_out("RESULT", T);
    let failures: u64 = result.split_whitespace().nth(2).unwrap().parse().unwrap();
    let opens: u64 = result.split_whitespace().nth(1).unwrap().parse().unwrap();
    let first = if failures > 0 {
        p.expect_out("FIRST", T)
    } else {
        String::new()
    };
    assert!(opens > 0, "{result}");
    assert_eq!(failures, 0, "{result}: {first}");
    p.wait_success(T);
}
