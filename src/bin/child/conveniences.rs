//! Roles of `tests/conveniences.rs`: temporary receivers that end in different ways, a sender
//! that waits for its receiver to be created, and a sender of views on a full ring.

use std::io::BufRead;
use std::time::{Duration, Instant};

use crate::common::{Msg, MsgView};
use ipmpsc::Error;

fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => Some(line.trim().to_owned()),
        _ => None,
    }
}

fn path_line(rx: &ipmpsc::TypedReceiver<Msg>) {
    println!("PATH {}", rx.path().display());
}

/// `temp-receiver return|panic`: creates a temporary receiver and prints `PATH <path>`; then,
/// for each stdin line `recv`, receives a message and prints `GOT <message>`; at the line
/// `end` (or the end of stdin) it returns from `main` (dropping the receiver) or panics (the
/// receiver is dropped while the panic unwinds; exit status 101).
pub fn temp_receiver(how: &str) {
    let mut rx = Msg::create_temp_receiver(4096).unwrap_or_else(|e| crate::fail(e));
    path_line(&rx);
    while let Some(line) = read_line() {
        match line.as_str() {
            "recv" => match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(m) => println!("GOT {m:?}"),
                Err(e) => println!("GOT error {}", crate::chain(&e)),
            },
            "end" => break,
            _ => crate::usage(),
        }
    }
    match how {
        "return" => drop(rx),
        "panic" => {
            std::panic::set_hook(Box::new(|_| {}));
            let _rx = rx;
            panic!("the temporary receiver's process panics");
        }
        _ => crate::usage(),
    }
}

/// `temp-fork`: creates a temporary receiver, prints `PATH <path>`, forks a child that drops its
/// copy of the receiver and exits, reaps it and prints `CHILD-DONE`; then receives one message
/// (`GOT <message>`) and waits for its stdin to end before dropping the receiver.
pub fn temp_fork() {
    let mut rx = Msg::create_temp_receiver(4096).unwrap_or_else(|e| crate::fail(e));
    path_line(&rx);
    // SAFETY: this process is single-threaded (its stdout is line-buffered and flushed); the
    // child only drops a value and `_exit`s.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        drop(rx);
        // SAFETY: ends the forked child at once.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: reaps the child forked above.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
    println!("CHILD-DONE");
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(m) => println!("GOT {m:?}"),
        Err(e) => println!("GOT error {}", crate::chain(&e)),
    }
    while read_line().is_some() {}
}

/// `temp-many <n>`: creates `n` temporary receivers, prints `PATH <path>` for each and `READY`,
/// and drops them all when its stdin ends.
pub fn temp_many(n: usize) {
    let rxs: Vec<_> = (0..n)
        .map(|_| Msg::create_temp_receiver(4096).unwrap_or_else(|e| crate::fail(e)))
        .collect();
    for rx in &rxs {
        path_line(rx);
    }
    println!("READY");
    while read_line().is_some() {}
    drop(rxs);
}

/// `wait-sender <path> <millis>|max`: prints `WAITING`, then `open_sender_timeout`; once open,
/// sends `Text("hello from <pid>")` and prints `OPENED <ms waited>`; on timeout prints
/// `TIMEOUT <ms waited>`; on an error, `ERR <variant> <ms waited>`.
pub fn wait_sender(path: &str, timeout: &str) {
    let timeout = match timeout {
        "max" => Duration::MAX,
        ms => Duration::from_millis(crate::num(ms)),
    };
    println!("WAITING");
    let start = Instant::now();
    let opened = Msg::open_sender_timeout(path, timeout);
    let ms = start.elapsed().as_millis();
    match opened {
        Err(e) => {
            let kind = match e {
                Error::SchemaMismatch(_) => "SchemaMismatch".to_owned(),
                Error::IncompatibleRingBuffer(_) => "IncompatibleRingBuffer".to_owned(),
                Error::Corrupt(_) => "Corrupt".to_owned(),
                other => format!("{other:?}").replace(' ', "_"),
            };
            println!("ERR {kind} {ms}");
        }
        Ok(Some(tx)) => {
            tx.send(&Msg::Text(format!("hello from {}", std::process::id())))
                .unwrap_or_else(|e| crate::fail(e));
            println!("OPENED {ms}");
        }
        Ok(None) => println!("TIMEOUT {ms}"),
    }
}

/// `view-sender <path>`: sends `Item { id: 5, seq, data: [seq; 100] }` views with
/// `try_send_view` until the ring is full and prints `FULL <sent>`; tries the next one with
/// `send_view_timeout` of 20 ms and prints `TIMEOUT <sent?>`; waits for a line on stdin,
/// prints `BLOCKING`, sends it with `send_view_timeout` of 30 s and prints `RESULT <sent?>`.
pub fn view_sender(path: &str) {
    let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    let data = |seq: u64| vec![seq as u8; 100];
    let mut seq = 0u64;
    loop {
        let bytes = data(seq);
        let view = MsgView::Item {
            id: 5,
            seq,
            data: &bytes,
        };
        if !tx.try_send_view(&view).unwrap_or_else(|e| crate::fail(e)) {
            break;
        }
        seq += 1;
    }
    println!("FULL {seq}");
    let bytes = data(seq);
    let view = MsgView::Item {
        id: 5,
        seq,
        data: &bytes,
    };
    let sent = tx
        .send_view_timeout(&view, Duration::from_millis(20))
        .unwrap_or_else(|e| crate::fail(e));
    println!("TIMEOUT {sent}");
    if read_line().is_none() {
        return;
    }
    println!("BLOCKING");
    match tx.send_view_timeout(&view, Duration::from_secs(30)) {
        Ok(sent) => println!("RESULT {sent}"),
        Err(Error::Disconnected) => println!("RESULT Disconnected"),
        Err(e) => crate::fail(e),
    }
}
