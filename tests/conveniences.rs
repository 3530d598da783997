//! The small things a user reaches for, across processes: temporary channels that remove
//! their file (and only their own), `len`/`is_empty` on a channel that other processes fill,
//! the view forms of `try_send` and `send_timeout` on a full ring, and a sender that starts
//! before its receiver and waits for it with `open_sender_timeout`.

mod common;

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ChildProc, Fused, Msg, ShmPath};
use ipmpsc::Error;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

fn spawn(args: &[&str]) -> ChildProc {
    ChildProc::spawn(CHILD, args, &[])
}

/// The path a child printed as `PATH <path>`.
fn path_of(child: &mut ChildProc) -> PathBuf {
    let line = child.expect_out("PATH ", T);
    PathBuf::from(line.trim_start_matches("PATH "))
}

/// The number in field `i` of `line`.
fn field(line: &str, i: usize) -> u64 {
    line.split_whitespace()
        .nth(i)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number in field {i} of {line:?}"))
}

// ------------------------------------------------------------------------------------------
// Temporary channels.

#[test]
fn a_temporary_receiver_removes_its_file_when_dropped_and_when_a_panic_unwinds() {
    for how in ["return", "panic"] {
        let mut rx_proc = spawn(&["temp-receiver", how]);
        let path = path_of(&mut rx_proc);
        assert!(path.starts_with("/dev/shm"), "{}", path.display());
        Msg::open_sender(&path)
            .unwrap()
            .send(&Msg::Text(how.into()))
            .unwrap();
        rx_proc.send_line("recv");
        assert_eq!(
            rx_proc.expect_out("GOT", T),
            format!("GOT Some(Text({how:?}))")
        );
        assert!(path.exists());
        rx_proc.send_line("end");
        let status = rx_proc.wait_exit(T);
        assert_eq!(status.code(), Some(if how == "panic" { 101 } else { 0 }));
        assert!(
            !path.exists(),
            "{how}: the temporary file outlived its receiver"
        );
    }
}

#[test]
fn a_forked_child_dropping_its_copy_leaves_the_temporary_channel() {
    let mut rx_proc = spawn(&["temp-fork"]);
    let path = path_of(&mut rx_proc);
    rx_proc.expect_out("CHILD-DONE", T);
    assert!(path.exists(), "removed by the forked child's copy");
    // Still the receiver's channel, and still usable.
    Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
    assert_eq!(rx_proc.expect_out("GOT", T), "GOT Some(Stop)");
    rx_proc.close_stdin();
    rx_proc.wait_success(T);
    assert!(!path.exists());
}

#[test]
fn processes_that_did_not_create_a_temporary_channel_never_remove_it() {
    let mut rx = Msg::create_temp_receiver(4096).unwrap();
    let path = rx.path().to_str().unwrap().to_owned();
    // A sender that ends cleanly, one that is killed, and a would-be receiver that is refused.
    let mut sender = spawn(&["lc-sender", &path, "return"]);
    sender.expect_out("READY", T);
    sender.send_line("go");
    sender.wait_success(T);
    let mut killed = spawn(&["open-sender-only", &path]);
    killed.expect_out("READY", T);
    killed.kill();
    let mut refused = spawn(&["recv-once", &path, "typed"]);
    assert!(refused
        .expect_out("ERR", T)
        .starts_with("ERR ReceiverAlreadyExists"));
    refused.wait_exit(T);
    assert!(Path::new(&path).exists());
    assert!(matches!(rx.recv_timeout(T).unwrap(), Some(Msg::Text(_))));
    drop(rx);
    assert!(!Path::new(&path).exists());
}

#[test]
fn a_temporary_receiver_leaves_the_file_that_replaced_its_own() {
    let rx = Msg::create_temp_receiver(4096).unwrap();
    let path = rx.path().to_str().unwrap().to_owned();
    // Somebody removes the file and creates a channel of their own at the path.
    std::fs::remove_file(&path).unwrap();
    let mut theirs = spawn(&["create-receiver", &path, "typed", "4096"]);
    theirs.expect_out("READY", T);
    let ino = std::fs::metadata(&path).unwrap().ino();
    drop(rx);
    assert_eq!(
        std::fs::metadata(&path).map(|m| m.ino()).ok(),
        Some(ino),
        "the temporary receiver removed a file that was not its own"
    );
    // And it is theirs, working.
    Msg::open_sender(&path).unwrap().send(&Msg::Stop).unwrap();
    theirs.kill();
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn temporary_names_never_collide_across_threads_and_processes() {
    const EACH: usize = 40;
    let mut children: Vec<ChildProc> = (0..3)
        .map(|_| spawn(&["temp-many", &EACH.to_string()]))
        .collect();
    let threads: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(|| {
                (0..EACH)
                    .map(|_| Msg::create_temp_receiver(4096).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut paths = HashSet::new();
    let mut receivers = Vec::new();
    for t in threads {
        for rx in t.join().unwrap() {
            assert!(paths.insert(rx.path().to_path_buf()), "{:?}", rx.path());
            receivers.push(rx);
        }
    }
    for child in &mut children {
        for _ in 0..EACH {
            let path = path_of(child);
            assert!(paths.insert(path.clone()), "{}", path.display());
        }
        child.expect_out("READY", T);
    }
    assert_eq!(paths.len(), 6 * EACH);
    assert!(paths.iter().all(|p| p.exists()));
    drop(receivers);
    for child in &mut children {
        child.close_stdin();
        child.wait_success(T);
    }
    let left: Vec<_> = paths.iter().filter(|p| p.exists()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

// ------------------------------------------------------------------------------------------
// len and is_empty.

#[test]
fn len_counts_the_messages_other_processes_queued() {
    let mut rx = Msg::create_temp_receiver(1 << 16).unwrap();
    let path = rx.path().to_str().unwrap().to_owned();
    assert_eq!((rx.len(), rx.is_empty()), (0, true));
    assert_eq!(rx.capacity(), 1 << 16);
    let mut three = spawn(&["hold-sender", &path, "typed", "3"]);
    three.expect_out("READY", T);
    let mut five = spawn(&["hold-sender", &path, "typed", "5"]);
    five.expect_out("READY", T);
    assert_eq!((rx.len(), rx.is_empty()), (8, false));
    rx.recv().unwrap();
    let view = rx.recv_view().unwrap();
    drop(view);
    assert_eq!(rx.len(), 6);
    assert_eq!(rx.try_iter().count(), 6);
    assert_eq!((rx.len(), rx.is_empty()), (0, true));
}

#[test]
fn len_stops_at_a_reservation_another_process_has_not_committed() {
    let rx = Msg::create_temp_receiver(1 << 16).unwrap();
    let path = rx.path().to_str().unwrap().to_owned();
    // A sender holds an open loan at the head; three messages are committed behind it.
    let mut loaner = spawn(&["loan-hold", &path, "100"]);
    loaner.expect_out("LOANED", T);
    let mut behind = spawn(&["hold-sender", &path, "typed", "3"]);
    behind.expect_out("READY", T);
    assert_eq!((rx.len(), rx.is_empty()), (0, true));
    // The loan is dropped unsent: padding, stepped over.
    loaner.close_stdin();
    loaner.expect_out("RETURNED", T);
    assert_eq!((rx.len(), rx.is_empty()), (3, false));
}

// ------------------------------------------------------------------------------------------
// try_send_view and send_view_timeout.

#[test]
fn view_sends_on_a_full_ring_refuse_time_out_lose_nothing_and_go_through_once_there_is_room() {
    let mut rx = Msg::create_temp_receiver(1024).unwrap();
    let path = rx.path().to_str().unwrap().to_owned();
    let mut sender = spawn(&["view-sender", &path]);
    let full = field(&sender.expect_out("FULL", T), 1);
    assert!(full >= 3, "{full}");
    assert_eq!(sender.expect_out("TIMEOUT", T), "TIMEOUT false");
    assert_eq!(
        rx.len() as u64,
        full,
        "a refused send left something behind"
    );
    sender.send_line("go");
    sender.expect_out("BLOCKING", T);
    for seq in 0..=full {
        match rx.recv_timeout(T).unwrap() {
            Some(Msg::Item {
                id: 5,
                seq: s,
                data,
            }) => {
                assert_eq!(s, seq);
                assert_eq!(data, vec![seq as u8; 100]);
            }
            other => panic!("message {seq}: {other:?}"),
        }
    }
    assert_eq!(sender.expect_out("RESULT", T), "RESULT true");
    sender.wait_success(T);
    assert!(matches!(rx.recv_timeout(T), Err(Error::Disconnected)));
}

// ------------------------------------------------------------------------------------------
// open_sender_timeout.

#[test]
fn a_sender_started_before_its_receiver_waits_for_it() {
    for timeout in ["30000", "max"] {
        let path = ShmPath::new("wait-sender");
        let mut sender = spawn(&["wait-sender", path.as_str(), timeout]);
        sender.expect_out("WAITING", T);
        let mut rx = Msg::create_receiver(&path, 4096).unwrap();
        let hello = format!("hello from {}", sender.pid());
        assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Text(hello)));
        sender.expect_out("OPENED", T);
        sender.wait_success(T);
    }
}

#[test]
fn open_sender_timeout_gives_up_when_nobody_creates_the_channel() {
    let path = ShmPath::new("wait-nobody");
    let start = Instant::now();
    assert!(Msg::open_sender_timeout(&path, Duration::ZERO)
        .unwrap()
        .is_none());
    assert!(start.elapsed() < Duration::from_secs(1));

    let mut sender = spawn(&["wait-sender", path.as_str(), "300"]);
    let ms = field(&sender.expect_out("TIMEOUT", T), 1);
    assert!(ms >= 300, "gave up after {ms} ms");
    sender.wait_success(T);
    assert!(!path.path.exists());
}

/// Waits until `count` opens of the file at `path` happened after this call (inotify
/// `IN_OPEN`): a handshake with a process whose only sign of life is that it looks at a file.
fn wait_for_opens(path: &Path, count: usize) {
    let c_path = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a new inotify descriptor, owned here and closed below.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    assert!(fd >= 0);
    // SAFETY: `c_path` is a valid NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd, c_path.as_ptr(), libc::IN_OPEN) };
    assert!(wd >= 0, "{}", std::io::Error::last_os_error());
    let deadline = Instant::now() + T;
    let mut seen = 0;
    let mut buf = [0u8; 4096];
    while seen < count {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "only {seen} of {count} opens of {path:?}");
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, left.as_millis() as i32) } <= 0 {
            continue;
        }
        // SAFETY: reads events into `buf`, at most its length.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n > 0);
        // Events on a watched file carry no name: each is one header.
        seen += n as usize / std::mem::size_of::<libc::inotify_event>();
    }
    // SAFETY: closes the descriptor made above.
    unsafe { libc::close(fd) };
}

/// A file left by a receiver that is gone is waited on, not used: the receiver that comes
/// can replace it (`create_receiver`) or claim it (`open_receiver`, which no directory event
/// announces), and the waiting sender's message reaches it.
#[test]
fn a_waiting_sender_leaves_a_stale_file_to_the_receiver_that_comes() {
    for how in ["create", "open"] {
        let path = ShmPath::new("wait-stale");
        drop(Msg::create_receiver(&path, 4096).unwrap());
        let mut sender = spawn(&["wait-sender", path.as_str(), "30000"]);
        sender.expect_out("WAITING", T);
        // Two looks at the stale file (three opens each): the first one has decided.
        wait_for_opens(&path.path, 4);
        let mut rx = match how {
            "create" => Msg::create_receiver(&path, 4096).unwrap(),
            _ => Msg::open_receiver(&path).unwrap(),
        };
        let hello = format!("hello from {}", sender.pid());
        assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Text(hello)), "{how}");
        sender.wait_success(T);
    }
}

#[test]
fn a_waiting_sender_is_refused_at_once_by_a_channel_of_another_schema() {
    let path = ShmPath::new("wait-schema");
    let _rx = Fused::create_receiver(&path, 4096).unwrap();
    let mut sender = spawn(&["wait-sender", path.as_str(), "max"]);
    let line = sender.expect_out("ERR", T);
    assert!(line.starts_with("ERR SchemaMismatch"), "{line}");
}

#[test]
fn a_waiting_sender_is_refused_at_once_by_a_file_that_is_not_a_channel() {
    let path = ShmPath::new("wait-garbage");
    let mut sender = spawn(&["wait-sender", path.as_str(), "max"]);
    sender.expect_out("WAITING", T);
    std::fs::write(&path.path, vec![0x5A; 4096]).unwrap();
    let line = sender.expect_out("ERR", T);
    assert!(line.starts_with("ERR IncompatibleRingBuffer"), "{line}");
}

#[test]
fn a_waiting_sender_waits_for_a_directory_that_does_not_exist_yet() {
    let dir = ShmPath::new("wait-dir");
    let path = dir.path.join("channel");
    struct RemoveDir<'a>(&'a Path);
    impl Drop for RemoveDir<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0);
        }
    }
    let _cleanup = RemoveDir(&dir.path);
    let mut sender = spawn(&["wait-sender", path.to_str().unwrap(), "30000"]);
    sender.expect_out("WAITING", T);
    std::fs::create_dir(&dir.path).unwrap();
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let hello = format!("hello from {}", sender.pid());
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Text(hello)));
    sender.wait_success(T);
}

/// A file that a receiver's create replaces (an empty file, an ipmpsc file of another layout)
/// is waited out, not refused: the waiting sender's message reaches the receiver that
/// replaces it.
#[test]
fn a_waiting_sender_waits_out_a_file_that_the_receiver_replaces() {
    let mut old_layout = b"IPMPSCrb".to_vec();
    old_layout.resize(200, 0);
    for contents in [Vec::new(), old_layout] {
        let path = ShmPath::new("wait-replaced");
        std::fs::write(&path.path, &contents).unwrap();
        let mut sender = spawn(&["wait-sender", path.as_str(), "30000"]);
        sender.expect_out("WAITING", T);
        // Into its second look (four opens each): the first one decided to wait.
        wait_for_opens(&path.path, 5);
        let mut rx = Msg::create_receiver(&path, 4096).unwrap();
        let hello = format!("hello from {}", sender.pid());
        assert_eq!(rx.recv_timeout(T).unwrap(), Some(Msg::Text(hello)));
        sender.wait_success(T);
    }
}

/// When the time is up and what is there is still unusable, the sender says what it is.
#[test]
fn a_waiting_sender_that_times_out_on_an_unusable_file_says_what_it_is() {
    let empty = ShmPath::new("wait-empty");
    std::fs::write(&empty.path, b"").unwrap();
    let stale = ShmPath::new("wait-stale-schema");
    drop(Fused::create_receiver(&stale, 4096).unwrap());
    for (path, error) in [
        (&empty, "ERR IncompatibleRingBuffer"),
        (&stale, "ERR SchemaMismatch"),
    ] {
        let mut sender = spawn(&["wait-sender", path.as_str(), "200"]);
        let line = sender.expect_out("ERR", T);
        assert!(line.starts_with(error), "{line}");
        assert!(
            field(&line, 2) >= 200,
            "refused before the time was up: {line}"
        );
    }
}
