//! Roles of the hostile-edge tests (`tests/edges.rs`, `tests/namespaces.rs`): racing
//! creators, a scribbler with write access to the file, a creator on a small tmpfs, and a
//! sender whose `Serialize` panics.

use std::io::BufRead;
use std::os::unix::fs::{FileExt, MetadataExt};

use crate::common::Msg;
use ipmpsc::Error;
use serde::ser::{Serialize, Serializer};

fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim().to_owned()),
        _ => None,
    }
}

/// Forks: 0 in the child, the child's pid in the parent. Each caller says what its child
/// does; every child ends with [`exit_child`].
fn fork() -> libc::pid_t {
    // SAFETY: `fork` has no memory-safety preconditions. What a child of a multi-threaded
    // parent may do before it exits is each caller's concern (they say what their child does).
    unsafe { libc::fork() }
}

/// Ends a forked child at once, without running the destructors of what it inherited.
fn exit_child() -> ! {
    // SAFETY: `_exit` ends the process; nothing runs after it.
    unsafe { libc::_exit(0) }
}

/// Waits for the forked child `pid` to end.
fn reap(pid: libc::pid_t) {
    // SAFETY: waits for a child of this process; no status is read.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
}

/// Forks a helper that keeps whatever it inherited until its stdin ends; its pid.
fn fork_idle_helper() -> libc::pid_t {
    let pid = fork();
    if pid == 0 {
        // The child only reads stdin.
        while read_line().is_some() {}
        exit_child();
    }
    pid
}

/// `race <path> create|open|open-or-create <capacity>`: waits for `go`, tries to become the
/// receiver of `path`, and prints `WON <inode>` or `LOST <error>`. A winner then prints
/// `GOT <message>` for each message it receives until its stdin ends.
pub fn race(path: &str, how: &str, capacity: u64) {
    println!("READY");
    if read_line().as_deref() != Some("go") {
        return;
    }
    let r = match how {
        "create" => Msg::create_receiver(path, capacity),
        "open" => Msg::open_receiver(path),
        "open-or-create" => Msg::open_or_create_receiver(path, capacity),
        _ => crate::usage(),
    };
    let mut rx = match r {
        Ok(rx) => rx,
        Err(e) => {
            let kind = match e {
                Error::ReceiverAlreadyExists { .. } => "ReceiverAlreadyExists".to_owned(),
                Error::ChannelInUse { .. } => "ChannelInUse".to_owned(),
                Error::Io { source, .. } => format!("Io:{:?}", source.kind()),
                other => format!("{other:?}").replace(' ', "_"),
            };
            println!("LOST {kind}");
            return;
        }
    };
    let ino = std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
    println!("WON {ino}");
    while read_line().is_some() {
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(Some(m)) => println!("GOT {m:?}"),
            Ok(None) => println!("GOT nothing"),
            Err(e) => println!("GOT error {}", crate::chain(&e)),
        }
    }
}

/// `scribble <path> <offset>`: flips the byte at `offset` of the file between `a` and 0xFF, as
/// fast as it can, until its stdin ends (a process with write access to the file).
pub fn scribble(path: &str, offset: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while read_line().is_some() {}
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        })
    };
    println!("READY");
    let mut flips = 0u64;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let byte = if flips % 2 == 0 { 0xFF } else { b'a' };
        file.write_at(&[byte], offset).unwrap();
        flips += 1;
    }
    watcher.join().unwrap();
    println!("FLIPS {flips}");
}

/// `small-fs <dir>`: on a small file system, creates a channel as large as the whole file
/// system (refused), then one that fits, fills every byte of it and drains it.
pub fn small_fs(dir: &str, too_big: u64, fits: u64) {
    let big = format!("{dir}/too-big");
    match Msg::create_receiver(&big, too_big) {
        Ok(_) => println!("CREATED {too_big}"),
        Err(e) => match e.io_kind() {
            Some(kind) => println!("REFUSED {kind:?} {}", crate::chain(&e)),
            None => println!("REFUSED other {}", crate::chain(&e)),
        },
    }
    let path = format!("{dir}/fits");
    let mut rx = Msg::create_receiver(&path, fits).unwrap_or_else(|e| crate::fail(e));
    let tx = Msg::open_sender(&path).unwrap_or_else(|e| crate::fail(e));
    let chunk = Msg::Item {
        id: 1,
        seq: 0,
        data: vec![0xAB; 64 * 1024],
    };
    let mut sent = 0u64;
    for _round in 0..2 {
        // Every page of the ring is written: a sparse file would fault here.
        while tx.try_send(&chunk).unwrap_or_else(|e| crate::fail(e)) {
            sent += 1;
        }
        while rx.try_recv().unwrap_or_else(|e| crate::fail(e)).is_some() {}
    }
    println!("FILLED {sent}");
}

/// Encodes like the string it holds, but panics in the encoding pass (the second call of
/// `serialize` of one send: the first is the sizing pass), after the variant tag is written.
struct Panics;

impl Serialize for Panics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let calls = crate::common::FUSE_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if calls % 2 == 1 {
            panic!("Serialize panics half-way through encoding");
        }
        serializer.serialize_str("never")
    }
}

/// `panic-send <path> raw|typed`: a sender whose `Serialize` panics mid-encode (the panic is
/// caught), then sends `after` through the same sender, prints `SENT`, and stays alive until
/// its stdin ends.
pub fn panic_send(path: &str, kind: &str) {
    use crate::common::{Fuse, Fused};
    match kind {
        "raw" => {
            let tx = ipmpsc::Sender::new(
                ipmpsc::SharedRingBuffer::open(path).unwrap_or_else(|e| crate::fail(e)),
            );
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.send(&Panics)));
            println!("PANICKED {}", r.is_err());
            tx.send(&"after").unwrap_or_else(|e| crate::fail(e));
        }
        "typed" => {
            let tx = Fused::open_sender(path).unwrap_or_else(|e| crate::fail(e));
            crate::common::FUSE_ARMED.store(true, std::sync::atomic::Ordering::Relaxed);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tx.send(&Fused::Text(Fuse("never".into())))
            }));
            crate::common::FUSE_ARMED.store(false, std::sync::atomic::Ordering::Relaxed);
            println!("PANICKED {}", r.is_err());
            tx.send(&Fused::Text(Fuse("after".into())))
                .unwrap_or_else(|e| crate::fail(e));
        }
        _ => crate::usage(),
    }
    println!("SENT");
    while read_line().is_some() {}
}

/// `fork-receiver <path>`: creates the channel as its receiver, forks a helper that lives on
/// (without `exec`) until its stdin ends, prints `READY <helper pid>`, and waits.
pub fn fork_receiver(path: &str) {
    let _rx = Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e));
    let pid = fork_idle_helper();
    println!("READY {pid}");
    while read_line().is_some() {}
}

/// `fork-drop-receiver <path>`: creates the channel as its receiver and forks a child that
/// drops its copy of the receiver (as a child that returns or unwinds would) and exits; then
/// prints `READY` and `GOT <message>` for every message it receives.
pub fn fork_drop_receiver(path: &str) {
    let mut rx = Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e));
    let pid = fork();
    if pid == 0 {
        // The child drops its copy and exits.
        drop(rx);
        exit_child();
    }
    reap(pid);
    println!("READY");
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(Some(m)) => println!("GOT {m:?}"),
            Ok(None) => return,
            Err(e) => {
                println!("ERR {e:?}");
                return;
            }
        }
    }
}

/// `open-sender-only <path>`: opens a typed sender, prints `READY`, and waits to be killed
/// without ever sending.
pub fn open_sender_only(path: &str) {
    let _tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    println!("READY {}", std::process::id());
    while read_line().is_some() {}
}

/// `raw-create <path>`: `SharedRingBuffer::create`, then prints `RESULT <outcome>`.
pub fn raw_create(path: &str) {
    match ipmpsc::SharedRingBuffer::create(path, 4096) {
        Ok(_) => println!("RESULT Ok"),
        Err(e) => println!("RESULT {e:?}"),
    }
}

/// `fork-racer <path> <forks>`: one thread creates receivers on `<path>-<i>` without pause;
/// the main thread forks `<forks>` children, each of which looks at its descriptors for a
/// channel file of this path (anything but `/dev/null`) and reports it. Prints `LEAK <fd
/// target>` for the first child that found one, or `CLEAN <forks>`.
pub fn fork_racer(path: &str, forks: u32) {
    let base = path.to_owned();
    std::thread::spawn(move || {
        for i in 0.. {
            drop(Msg::create_receiver(format!("{base}-{i}"), 64 * 1024));
            let _ = std::fs::remove_file(format!("{base}-{i}"));
        }
    });
    let needle = std::path::Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut fds = [0i32; 2];
    // SAFETY: a pipe for the children's reports.
    unsafe { libc::pipe(fds.as_mut_ptr()) };
    for _ in 0..forks {
        let pid = fork();
        if pid == 0 {
            // The child only reads /proc, writes to a pipe and exits.
            let mut found = String::new();
            if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
                for e in entries.flatten() {
                    if let Ok(t) = std::fs::read_link(e.path()) {
                        let t = t.to_string_lossy().into_owned();
                        if t.contains(&needle) {
                            found = t;
                        }
                    }
                }
            }
            let line = format!("{found}\n");
            // SAFETY: writes the report, `line.len()` bytes of `line`, to the pipe.
            unsafe { libc::write(fds[1], line.as_ptr().cast(), line.len()) };
            exit_child();
        }
        reap(pid);
        let mut buf = [0u8; 4096];
        // SAFETY: reads the child's report (it wrote before exiting).
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        let report = String::from_utf8_lossy(&buf[..n.max(0) as usize])
            .trim()
            .to_owned();
        if !report.is_empty() {
            println!("LEAK {report}");
            return;
        }
    }
    println!("CLEAN {forks}");
}

/// `many-rings-fork <path> <n>`: creates `n` channels `<path>-<i>` as their receiver, forks a
/// helper that lives until its stdin ends, prints `READY`, and waits.
pub fn many_rings_fork(path: &str, n: usize) {
    let rxs: Vec<_> = (0..n)
        .map(|i| {
            Msg::create_receiver(format!("{path}-{i}"), 4096).unwrap_or_else(|e| crate::fail(e))
        })
        .collect();
    fork_idle_helper();
    println!("READY");
    while read_line().is_some() {}
    drop(rxs);
}

/// `nested-ns-drop <path> receiver|sender`: as pid 1 of a PID namespace (run it under
/// `unshare --pid --fork`), holds a receiver or a sender, then forks a child into a new PID
/// namespace (so it is pid 1 too) that drops its copy and exits; prints `READY` and waits.
pub fn nested_ns_drop(path: &str, what: &str) {
    let rx = (what == "receiver")
        .then(|| Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e)));
    let tx = (what == "sender").then(|| Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e)));
    // SAFETY: unshare(CLONE_NEWPID) only affects children forked from now on.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        println!("SKIP unshare: {}", std::io::Error::last_os_error());
        return;
    }
    let pid = fork();
    if pid == 0 {
        // The child drops its copies and exits.
        drop((rx, tx));
        exit_child();
    }
    reap(pid);
    println!("READY {}", std::process::id());
    while read_line().is_some() {}
    drop((rx, tx));
}

/// `read-locker <path> <offset> [<len>]`: opens the file read-only, takes a read lock on the
/// `len` bytes (default 1) from `offset` (waiting for it), prints `READY`, and holds it until
/// its stdin ends.
pub fn read_locker(path: &str, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {path}: {e}"));
    // SAFETY: a plain flock struct, all-zero valid.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = offset as libc::off_t;
    fl.l_len = len as libc::off_t;
    // SAFETY: a valid descriptor and flock; F_OFD_SETLKW waits for the lock.
    let r = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_OFD_SETLKW, &mut fl) };
    println!("READY {r}");
    while read_line().is_some() {}
}

/// `limited-create <path> <headroom>`: with its address space limited to what it uses plus
/// `headroom` bytes, tries `create_receiver` and prints `RESULT <outcome>`.
pub fn limited_create(path: &str, headroom: u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let vm_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let limit = vm_kb * 1024 + headroom;
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: lowers this process's own address-space limit.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) };
    match Msg::create_receiver(path, 4096) {
        Ok(_) => println!("RESULT Ok"),
        Err(Error::ChannelInUse { .. }) => println!("RESULT ChannelInUse"),
        Err(e) => println!("RESULT {e:?}"),
    }
}

/// `fork-use <path>`: creates the channel as its receiver, opens a sender, and forks a child
/// that tries its inherited copies (send, a clone's send, receive) and then opens a sender of
/// its own and sends `Text("child")`; it prints `CHILD <what> <outcome>` for each. The parent
/// then sends `Text("parent")` and prints `PARENT <message>` for the messages it receives.
pub fn fork_use(path: &str) {
    let mut rx = Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e));
    let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    let outcome = |r: Result<(), Error>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("err {}", crate::chain(&e)),
    };
    let pid = fork();
    if pid == 0 {
        // The child makes channel calls, prints, and exits without unwinding.
        println!(
            "CHILD send {}",
            outcome(tx.send(&Msg::Text("inherited".into())))
        );
        let clone = tx.clone();
        println!(
            "CHILD clone-send {}",
            outcome(clone.send(&Msg::Text("clone".into())))
        );
        println!("CHILD recv {}", outcome(rx.try_recv().map(drop)));
        let own = Msg::open_sender(path).and_then(|t| t.send(&Msg::Text("child".into())));
        println!("CHILD own-send {}", outcome(own));
        drop((clone, tx, rx));
        exit_child();
    }
    reap(pid);
    tx.send(&Msg::Text("parent".into()))
        .unwrap_or_else(|e| crate::fail(e));
    drop(tx);
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(10)) {
            Ok(Some(m)) => println!("PARENT {m:?}"),
            Ok(None) => return println!("PARENT timeout"),
            Err(e) => return println!("PARENT {e:?}"),
        }
    }
}

/// `zc-fork <path> use|drop`: makes a raw channel of 8 KiB with one 6000-byte message of 0xAA
/// and a zero-copy context, and forks. `use`: the child receives through its copy of the
/// context and prints `CHILD <outcome>`; the parent then receives and prints `PARENT <len>
/// <first byte>`. `drop`: the parent first receives the message as a view (the ring is full
/// while it holds it), the child only drops its copy of the context; the parent then prints
/// `PARENT <try_send outcome> <first and last byte of its view>`, lets go of the view, and
/// sends and receives again (`NEXT <len> <first byte>`).
pub fn zc_fork(path: &str, mode: &str) {
    use ipmpsc::{Receiver, Sender, SharedRingBuffer};
    use std::time::Duration;
    let rx_buffer = SharedRingBuffer::create(path, 8192).unwrap_or_else(|e| crate::fail(e));
    let mut rx = Receiver::new(rx_buffer);
    let tx = Sender::new(SharedRingBuffer::open(path).unwrap_or_else(|e| crate::fail(e)));
    tx.send(&vec![0xAAu8; 6000])
        .unwrap_or_else(|e| crate::fail(e));
    let print_next =
        |rx: &Receiver, label: &str| match rx.recv_timeout::<Vec<u8>>(Duration::from_secs(10)) {
            Ok(Some(v)) => println!("{label} {} {:#x}", v.len(), v[0]),
            other => println!("{label} {:?}", other.map(|o| o.map(|v| v.len()))),
        };
    let mut ctx = rx.zero_copy_context();
    if mode == "use" {
        let pid = fork();
        if pid == 0 {
            // The child makes channel calls, prints, and exits without unwinding.
            let outcome = match ctx.try_recv::<&[u8]>() {
                Ok(Some(bytes)) => format!("received {}", bytes.len()),
                Ok(None) => "nothing".to_owned(),
                Err(e) => format!("err {}", crate::chain(&e)),
            };
            println!("CHILD {outcome}");
            drop(ctx);
            exit_child();
        }
        reap(pid);
        drop(ctx);
        return print_next(&rx, "PARENT");
    }
    if mode != "drop" {
        crate::usage();
    }
    let view: &[u8] = ctx.recv().unwrap_or_else(|e| crate::fail(e));
    assert_eq!(
        tx.try_send(&vec![0xBBu8; 6000]).ok(),
        Some(false),
        "ring full"
    );
    let pid = fork();
    if pid == 0 {
        // The child drops its copy of the context and exits without unwinding.
        drop(ctx);
        exit_child();
    }
    reap(pid);
    let sent = tx.try_send(&vec![0xBBu8; 6000]);
    println!(
        "PARENT {:?} {:#x} {:#x}",
        sent.map_err(|e| crate::chain(&e)),
        view[0],
        view[5999]
    );
    drop(ctx);
    tx.send(&vec![0xCCu8; 6000])
        .unwrap_or_else(|e| crate::fail(e));
    print_next(&rx, "NEXT");
}

/// `refused-create-fork <path> <millis>`: makes a channel with an undelivered message and no
/// receiver, then for `millis` ms runs the restart idiom (`create_receiver`, refused with
/// `ChannelInUse`, then `open_receiver`) in one thread while the main thread forks short-lived
/// children. Prints `RESULT <opens> <failures>` and the first failure, if any.
pub fn refused_create_fork(path: &str, millis: u64) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rx = Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e));
    Msg::open_sender(path)
        .and_then(|tx| tx.send(&Msg::Stop))
        .unwrap_or_else(|e| crate::fail(e));
    drop(rx);
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = stop.clone();
        let path = path.to_owned();
        std::thread::spawn(move || {
            let (mut opens, mut failures, mut first) = (0u64, 0u64, None);
            while !stop.load(Ordering::Relaxed) {
                match Msg::create_receiver(&path, 4096) {
                    Err(Error::ChannelInUse { .. }) => {}
                    other => panic!("create_receiver: {:?}", other.map(drop)),
                }
                match Msg::open_receiver(&path) {
                    Ok(rx) => {
                        opens += 1;
                        drop(rx);
                    }
                    Err(e) => {
                        failures += 1;
                        first.get_or_insert_with(|| format!("{e:?}"));
                    }
                }
            }
            (opens, failures, first)
        })
    };
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_millis(millis) {
        let pid = fork();
        if pid == 0 {
            // The child exits at once, calling nothing.
            exit_child();
        }
        reap(pid);
    }
    stop.store(true, Ordering::Relaxed);
    let (opens, failures, first) = worker.join().unwrap_or_else(|_| std::process::exit(3));
    println!("RESULT {opens} {failures}");
    if let Some(first) = first {
        println!("FIRST {first}");
    }
}

/// `create-loop <path> <millis>`: prints `READY`, waits for `go`, then calls `create_receiver`
/// on `path` for `millis` ms and prints `TALLY <outcome>=<count>...` (a channel with a message
/// waiting refuses every call with `ChannelInUse`).
pub fn create_loop(path: &str, millis: u64) {
    println!("READY");
    if read_line().as_deref() != Some("go") {
        return;
    }
    let mut tally = std::collections::BTreeMap::<String, u64>::new();
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_millis(millis) {
        let outcome = match Msg::create_receiver(path, 4096) {
            Ok(_) => "Ok".to_owned(),
            Err(Error::ChannelInUse { .. }) => "ChannelInUse".to_owned(),
            Err(e) => format!("{e:?}").replace(' ', "_"),
        };
        *tally.entry(outcome).or_default() += 1;
    }
    let line: Vec<String> = tally.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("TALLY {}", line.join(" "));
}

/// `loan-fork <path> <what>`: makes a loan of an `Item` (id 79), forks, and the child drops its
/// copy of the loan (`drop`) or sends it (`send`) and exits; then the parent, after reaping
/// the child, sends the loan itself and 300 items after it (ids 80, seq 0..300), and prints
/// `DONE`. A copy of a loan inherited through fork is the parent's: the child's drop or send
/// must do nothing.
pub fn loan_fork(path: &str, what: &str) {
    let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    let loan = tx
        .loan_uninit(100, |data| crate::MsgView::Item {
            id: 79,
            seq: 0,
            data,
        })
        .unwrap_or_else(|e| crate::fail(e))
        .write_from_slice(&[0x79; 100]);
    // SAFETY of the child: it only drops or sends its copy of the loan, then `_exit`s.
    let pid = fork();
    if pid == 0 {
        match what {
            "drop" => drop(loan),
            _ => loan.send(),
        }
        exit_child();
    }
    reap(pid);
    loan.send();
    for seq in 0..300 {
        tx.send(&Msg::Item {
            id: 80,
            seq,
            data: vec![seq as u8; 50],
        })
        .unwrap_or_else(|e| crate::fail(e));
    }
    println!("DONE");
}
