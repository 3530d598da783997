//! Senders for the select and async tests: typed senders of two message types that send when
//! the test says so, and exit (dropping the sender) when it says so.

use std::io::BufRead;

use crate::common::{Msg, Note};
use crate::{fail, num, usage};

/// `typed-sender <path> msg|note <id>`: opens a typed sender of [`Msg`] or [`Note`], prints
/// `READY`, then obeys stdin: `send <k>` sends the next `k` messages of its sequence (`Item`
/// or `Line` with `id` and `seq`) and prints `SENT <total>`; `exit` or the end of stdin drops
/// the sender and exits.
pub(crate) fn typed_sender(path: &str, kind: &str, id: u32) -> ! {
    let send: Box<dyn Fn(u64)> = match kind {
        "msg" => {
            let tx = Msg::open_sender(path).unwrap_or_else(|e| fail(e));
            Box::new(move |seq| {
                let data = seq.to_le_bytes().to_vec();
                tx.send(&Msg::Item { id, seq, data })
                    .unwrap_or_else(|e| fail(e))
            })
        }
        "note" => {
            let tx = Note::open_sender(path).unwrap_or_else(|e| fail(e));
            Box::new(move |seq| {
                let text = format!("note {id} {seq}");
                tx.send(&Note::Line { id, seq, text })
                    .unwrap_or_else(|e| fail(e))
            })
        }
        _ => usage(),
    };
    println!("READY");
    let mut seq = 0u64;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["send", k] => {
                for _ in 0..num::<u64>(k) {
                    send(seq);
                    seq += 1;
                }
                println!("SENT {seq}");
            }
            ["exit"] => break,
            _ => usage(),
        }
    }
    drop(send);
    std::process::exit(0)
}

/// `produce-notes <path> <id> <count>`: sends `count` [`Note`]s as fast as it can, then exits.
pub(crate) fn produce_notes(path: &str, id: u32, count: u64) -> ! {
    let tx = Note::open_sender(path).unwrap_or_else(|e| fail(e));
    for seq in 0..count {
        let text = format!("note {id} {seq}");
        tx.send(&Note::Line { id, seq, text })
            .unwrap_or_else(|e| fail(e));
    }
    println!("DONE");
    std::process::exit(0)
}

/// `typed-consumer <path> <count>`: creates a [`Msg`] channel at `path`, prints `READY`, waits
/// for a line on stdin, then receives `count` `Item`s, checking that each producer's `seq`s
/// arrive in order, and prints `GOT <count>`. With `count` 0 it holds the channel until stdin
/// ends.
pub(crate) fn typed_consumer(path: &str, count: u64) -> ! {
    let mut rx = Msg::create_receiver(path, 1 << 10).unwrap_or_else(|e| fail(e));
    println!("READY");
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 || count == 0 {
        std::process::exit(0);
    }
    let mut next = std::collections::HashMap::<u32, u64>::new();
    for _ in 0..count {
        match rx.recv().unwrap_or_else(|e| fail(e)) {
            Msg::Item { id, seq, .. } => {
                let want = next.entry(id).or_insert(0);
                assert_eq!(seq, *want, "producer {id} out of order");
                *want += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    println!("GOT {count}");
    std::process::exit(0)
}

/// Polls `f` on this thread until it completes, polling again only when it was woken;
/// `None` if no wake-up came within `timeout` (a lost wake-up).
fn block_on<F: std::future::Future>(f: F, timeout: std::time::Duration) -> Option<F::Output> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Flag(AtomicBool, std::thread::Thread);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
            self.1.unpark();
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(true), std::thread::current()));
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if flag.0.swap(false, Ordering::SeqCst) {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return Some(v);
            }
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            return None;
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// An async receive that has to wait (a sender thread sends after a pause): `GOT` if it was
/// woken, `HUNG` if not.
fn wait_async_once(who: &str) {
    let mut rx = Note::create_temp_receiver(4096).unwrap_or_else(|e| fail(e));
    let tx = Note::open_sender(rx.path()).unwrap_or_else(|e| fail(e));
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let text = String::new();
        tx.send(&Note::Line {
            id: 0,
            seq: 0,
            text,
        })
        .unwrap_or_else(|e| fail(e));
    });
    match block_on(rx.recv_async(), std::time::Duration::from_secs(5)) {
        Some(Ok(_)) => println!("{who} GOT"),
        Some(Err(e)) => println!("{who} ERR {e}"),
        None => println!("{who} HUNG"),
    }
    sender.join().unwrap();
}

/// `async-fork`: an async receive in this process (which starts its waiter thread), then one
/// in a forked child, which has no waiter thread of its parent's.
pub(crate) fn async_fork() -> ! {
    wait_async_once("PARENT");
    // SAFETY: fork in a process whose other threads (the waiter) touch no lock the child
    // takes before it has made its own; the child exits without returning.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => {
            wait_async_once("CHILD");
            std::process::exit(0);
        }
        pid => {
            let mut status = 0;
            // SAFETY: waits for the child just forked, with a valid status pointer.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            println!("DONE");
            std::process::exit(0)
        }
    }
}
