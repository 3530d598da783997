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
                Error::Io(e) => format!("Io:{:?}", e.kind()),
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
            Err(e) => println!("GOT error {e}"),
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
        Err(Error::Io(e)) => println!("REFUSED {:?} {e}", e.kind()),
        Err(e) => println!("REFUSED other {e}"),
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
    // SAFETY: the child only reads stdin and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        while read_line().is_some() {}
        // SAFETY: ends the forked child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    println!("READY {pid}");
    while read_line().is_some() {}
}

/// `fork-drop-receiver <path>`: creates the channel as its receiver and forks a child that
/// drops its copy of the receiver (as a child that returns or unwinds would) and exits; then
/// prints `READY` and `GOT <message>` for every message it receives.
pub fn fork_drop_receiver(path: &str) {
    let mut rx = Msg::create_receiver(path, 4096).unwrap_or_else(|e| crate::fail(e));
    // SAFETY: the child drops a value and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(rx);
        // SAFETY: ends the forked child.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
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
