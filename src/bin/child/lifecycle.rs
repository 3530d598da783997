//! Roles of the lifecycle tests (`tests/lifecycle.rs`): receivers and senders that end in
//! every way a process can end, and the peers that watch them go.
//!
//! Each role prints `READY <pid>` once set up, waits for a line on stdin, prints
//! `ENDING <monotonic ns>` and ends the way it was told:
//!
//! * `return`: returns from `main` (destructors run);
//! * `panic`: panics and unwinds out of `main` (destructors run; exit status 101);
//! * `abort`: panics with a hook that aborts, as `panic = "abort"` does (no destructors);
//! * `exit`: `std::process::exit(0)` (no destructors);
//! * `wait`: waits to be killed by the test (`SIGKILL`, `SIGTERM`);
//! * `drop-while-blocked`: drops its channel end while another thread of the same process is
//!   blocked on the other end, prints what that thread got, and exits.

use std::io::BufRead;
use std::sync::mpsc;

use crate::common::{mono_ns, Msg};
use ipmpsc::Error;

fn read_line() -> bool {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0
}

fn outcome<T>(r: &ipmpsc::Result<T>) -> String {
    match r {
        Ok(_) => "Ok".into(),
        Err(Error::Disconnected) => "Disconnected".into(),
        Err(e) => format!("{e:?}").replace(' ', "_"),
    }
}

/// Ends the process as `how` says (after `ENDING`): for `return`, drops `held` and returns,
/// so that the caller returns from `main`; otherwise never returns.
fn end<T>(how: &str, held: T) {
    match how {
        "return" => {
            println!("ENDING {}", mono_ns());
            drop(held);
        }
        "panic" => {
            println!("ENDING {}", mono_ns());
            std::panic::set_hook(Box::new(|_| {}));
            let _held = held;
            panic!("the role panics; destructors run while it unwinds");
        }
        "abort" => {
            println!("ENDING {}", mono_ns());
            std::panic::set_hook(Box::new(|_| std::process::abort()));
            let _held = held;
            panic!("the role panics with panic = abort");
        }
        "exit" => {
            println!("ENDING {}", mono_ns());
            std::process::exit(0)
        }
        "wait" => {
            while read_line() {}
            std::process::exit(0)
        }
        other => panic!("unknown way to end: {other}"),
    }
}

/// `lc-receiver <path> <how>`: creates the channel with `create_receiver` and ends as told.
pub fn receiver(path: &str, how: &str) {
    let rx = Msg::create_receiver(path, 1024).unwrap_or_else(|e| crate::fail(e));
    println!("READY {}", std::process::id());
    if how == "drop-while-blocked" {
        // A sender thread of this process fills the ring and blocks; the receiver is dropped
        // under it.
        let (tx_ready, ready) = mpsc::channel();
        let path = path.to_owned();
        let blocked = std::thread::spawn(move || {
            let tx = Msg::open_sender(&path).unwrap();
            let msg = Msg::Text("x".repeat(100));
            while tx.try_send(&msg).unwrap() {}
            tx_ready.send(()).unwrap();
            let r = tx.send(&msg);
            (outcome(&r), mono_ns())
        });
        ready.recv().unwrap();
        read_line();
        println!("ENDING {}", mono_ns());
        drop(rx);
        let (r, at) = blocked.join().unwrap();
        println!("INPROC {r} {at}");
        std::process::exit(0)
    }
    if how != "wait" {
        read_line();
    }
    end(how, rx)
}

/// `lc-sender <path> <how>`: opens a sender, sends one message, and ends as told.
pub fn sender(path: &str, how: &str) {
    if how == "drop-while-blocked" {
        // This process holds the receiver too: a thread blocks in `recv` while the only
        // sender is dropped.
        let mut rx = Msg::create_receiver(path, 1024).unwrap_or_else(|e| crate::fail(e));
        let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
        tx.send(&Msg::Stop).unwrap_or_else(|e| crate::fail(e));
        let (tx_ready, ready) = mpsc::channel();
        let blocked = std::thread::spawn(move || {
            assert!(matches!(rx.recv(), Ok(Msg::Stop)));
            tx_ready.send(()).unwrap();
            let r = rx.recv();
            (outcome(&r), mono_ns())
        });
        ready.recv().unwrap();
        println!("READY {}", std::process::id());
        read_line();
        println!("ENDING {}", mono_ns());
        drop(tx);
        let (r, at) = blocked.join().unwrap();
        println!("INPROC {r} {at}");
        std::process::exit(0)
    }
    let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    tx.send(&Msg::Text(format!("from {}", std::process::id())))
        .unwrap_or_else(|e| crate::fail(e));
    println!("READY {}", std::process::id());
    if how != "wait" {
        read_line();
    }
    end(how, tx)
}

/// `lc-blocked-sender <path>`: fills the ring, prints `FULL`, blocks in `send`, and prints
/// `RESULT <outcome> <monotonic ns>` when it returns; then `LATER <send> <try_send>` for the
/// two calls that follow at once.
pub fn blocked_sender(path: &str) {
    let tx = Msg::open_sender(path).unwrap_or_else(|e| crate::fail(e));
    let msg = Msg::Text("y".repeat(100));
    while tx.try_send(&msg).unwrap_or_else(|e| crate::fail(e)) {}
    println!("FULL");
    let r = tx.send(&msg);
    println!("RESULT {} {}", outcome(&r), mono_ns());
    let later = tx.send(&Msg::Stop);
    let later_try = tx.try_send(&Msg::Stop);
    println!("LATER {} {}", outcome(&later), outcome(&later_try));
}
