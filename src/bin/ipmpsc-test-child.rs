//! Helper process for the cross-process tests in `tests/`: producers, consumers, receivers and
//! senders that hold a channel until killed. One subcommand per role; see `usage()`.
//!
//! Lines on stdout report progress to the test (`READY`, `DONE`, `GOT <id> <seq>`, ...). A
//! child that has to stay alive until the test kills it waits for the end of its stdin, so it
//! also goes away when the test process dies.

#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "child/conveniences.rs"]
mod conveniences;
#[path = "child/edges.rs"]
mod edges;
#[path = "child/lifecycle.rs"]
mod lifecycle;
#[path = "child/select.rs"]
mod select;

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use common::{Item, Msg, MsgView, Pattern};
use ipmpsc::{Error, Receiver, Sender, SharedRingBuffer};
use serde::ser::{Serialize, SerializeStruct, Serializer};

pub(crate) fn usage() -> ! {
    eprintln!(
        "usage: ipmpsc-test-child <command> ...\n\
         produce <path> <id> <count> <seed> <min> <max> [mid-encode <n>] [pause-after <k>] [report-every <k>] [batch <k>]\n\
         produce-typed <path> <id> <count> <seed> <min> <max>\n\
         produce-zero <path> <count>\n\
         send-text <path> <count> <seed>\n\
         send-len <path> <len>\n\
         send-script <path> (<len>|wait)...\n\
         send-when-empty <path> <id>\n\
         loan-hold <path> <len> | loan-panic <path> <len> | loan-fork <path> drop|send\n\
         blocked-sender <path>\n\
         hold-receiver <path> raw|typed\n\
         hold-sender <path> raw|typed <count>\n\
         hold-senders <path> <n>\n\
         recv-once <path> string|typed\n\
         create-receiver <path> raw|typed <capacity>\n\
         consume <path> hold:<n>|step|run <seed> <min> <max>\n\
         lc-receiver <path> <how> | lc-sender <path> <how> | lc-blocked-sender <path>\n\
         race <path> create|open|open-or-create <capacity> | scribble <path> <offset>\n\
         small-fs <dir> <too-big> <fits> | panic-send <path> raw|typed\n\
         fork-receiver <path> | fork-drop-receiver <path> | open-sender-only <path> | raw-create <path>\n\
         fork-racer <path> <forks> | many-rings-fork <path> <n> | nested-ns-drop <path> receiver|sender\n\
         read-locker <path> <offset> [<len>] | limited-create <path> <headroom> | fork-use <path>\n\
         zc-fork <path> use|drop | refused-create-fork <path> <millis> | create-loop <path> <millis>\n\
         typed-sender <path> msg|note <id> | produce-notes <path> <id> <count>\n\
         typed-consumer <path> <count> | async-fork\n\
         temp-receiver return|panic | temp-fork | temp-many <n> | wait-sender <path> <millis>|max\n\
         view-sender <path>"
    );
    std::process::exit(64)
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse().unwrap_or_else(|_| usage())
}

/// Waits until stdin ends (the test closes it or dies), then exits.
fn wait_for_stdin_end() -> ! {
    let mut line = String::new();
    while std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map(|n| n > 0)
        .unwrap_or(false)
    {
        line.clear();
    }
    std::process::exit(0)
}

/// The error and each of its causes, joined by ": " (as `anyhow` prints a chain with `{:#}`).
pub(crate) fn chain(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Prints the error in a form the tests parse, and exits with status 3.
pub(crate) fn fail(e: Error) -> ! {
    match &e {
        Error::MessageTooLarge { size, capacity } => {
            println!("ERR MessageTooLarge {size} {capacity}")
        }
        Error::Disconnected => println!("ERR Disconnected"),
        Error::ReceiverAlreadyExists { pid } => println!("ERR ReceiverAlreadyExists {pid}"),
        other => println!("ERR {other:?}"),
    }
    std::process::exit(3)
}

fn open(path: &str) -> SharedRingBuffer {
    SharedRingBuffer::open(path).unwrap_or_else(|e| fail(e))
}

static SERIALIZE_CALLS: AtomicU64 = AtomicU64::new(0);

/// Encodes exactly like [`Item`], but the `stop_at`-th call of `serialize` in this process
/// stops half-way (after `id` and `seq`, before `data`): the process announces
/// `IPMPSC_FAULT_STOPPED mid-encode` and waits to be killed. The send path serializes twice
/// per message (a sizing pass, then the encoding into the reserved slot), so `stop_at = 2n`
/// stops inside the reservation of the n-th message.
struct Bomb<'a> {
    item: &'a Item,
    stop_at: u64,
}

impl Serialize for Bomb<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let call = SERIALIZE_CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        let mut s = serializer.serialize_struct("Item", 3)?;
        s.serialize_field("id", &self.item.id)?;
        s.serialize_field("seq", &self.item.seq)?;
        if call == self.stop_at {
            eprintln!("IPMPSC_FAULT_STOPPED mid-encode");
            wait_for_stdin_end();
        }
        s.serialize_field("data", &self.item.data)?;
        s.end()
    }
}

/// Options of `produce`.
#[derive(Default)]
struct ProduceOptions {
    /// Stop half-way through encoding the n-th message (see [`Bomb`]).
    mid_encode: Option<u64>,
    /// After this many messages, print `PAUSED` and wait for a line on stdin.
    pause_after: Option<u64>,
    /// Print `AT <seq>` after every this many messages.
    report_every: Option<u64>,
    /// Send `k` messages at a time with `send_batch` (`count`, `pause-after` and
    /// `report-every` multiples of `k`). With `mid-encode <n>`, the process stops half-way
    /// through encoding the middle message of its n-th batch.
    batch: Option<u64>,
}

fn produce(path: &str, id: u32, count: u64, pattern: Pattern, opts: ProduceOptions) {
    let tx = Sender::new(open(path));
    println!("READY");
    let k = opts.batch.unwrap_or(1);
    let mut seq = 0;
    while seq < count {
        if opts.pause_after == Some(seq) {
            println!("PAUSED");
            let mut line = String::new();
            if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
                std::process::exit(0);
            }
        }
        let result = match opts.batch {
            None => {
                let item = pattern.item(id, seq);
                match opts.mid_encode {
                    Some(n) => tx.send(&Bomb {
                        item: &item,
                        stop_at: 2 * n,
                    }),
                    None => tx.send(&item),
                }
            }
            Some(k) => {
                let items: Vec<Item> = (seq..(seq + k).min(count))
                    .map(|s| pattern.item(id, s))
                    .collect();
                match opts.mid_encode {
                    // Every message is serialized twice, the batch's sizing pass first: the
                    // n-th batch's encoding pass starts after 2k(n - 1) + k calls.
                    Some(n) => {
                        let stop_at = 2 * k * (n - 1) + k + k / 2 + 1;
                        let bombs: Vec<Bomb> =
                            items.iter().map(|item| Bomb { item, stop_at }).collect();
                        tx.send_batch(&bombs)
                    }
                    None => tx.send_batch(&items),
                }
            }
        };
        result.unwrap_or_else(|e| fail(e));
        seq += k;
        if let Some(r) = opts.report_every {
            if seq % r == 0 {
                println!("AT {seq}");
            }
        }
    }
    println!("DONE {count}");
}

fn produce_typed(path: &str, id: u32, count: u64, pattern: Pattern) {
    let tx = Msg::open_sender(path).unwrap_or_else(|e| fail(e));
    println!("READY");
    for seq in 0..count {
        let data = common::payload(pattern.seed, id, seq, pattern.min, pattern.max);
        // Half owned, half borrowed views: both must arrive identically.
        let result = if seq % 2 == 0 {
            tx.send(&Msg::Item { id, seq, data })
        } else {
            tx.send_view(&MsgView::Item {
                id,
                seq,
                data: &data,
            })
        };
        result.unwrap_or_else(|e| fail(e));
        if seq % 16 == 0 {
            tx.send(&Msg::Text(common::text(pattern.seed ^ u64::from(id), seq)))
                .unwrap_or_else(|e| fail(e));
        }
    }
    tx.send(&Msg::Stop).unwrap_or_else(|e| fail(e));
    println!("DONE {count}");
}

/// `()`, an empty `Vec<u8>` and the counter, `count` times.
fn produce_zero(path: &str, count: u64) {
    let tx = Sender::new(open(path));
    for i in 0..count {
        tx.send(&()).unwrap_or_else(|e| fail(e));
        tx.send(&Vec::<u8>::new()).unwrap_or_else(|e| fail(e));
        tx.send(&i).unwrap_or_else(|e| fail(e));
    }
    println!("DONE {count}");
}

/// For each `i`: the text alone, the payload bytes alone, then `(i, text, bytes)`.
fn send_text(path: &str, count: u64, seed: u64) {
    let tx = Sender::new(open(path));
    for i in 0..count {
        let text = common::text(seed, i);
        let bytes = common::payload(seed, 1, i, 0, 300);
        tx.send(&text).unwrap_or_else(|e| fail(e));
        tx.send(&bytes).unwrap_or_else(|e| fail(e));
        tx.send(&(i, text.as_str(), bytes.as_slice()))
            .unwrap_or_else(|e| fail(e));
    }
    println!("DONE {count}");
}

/// Other builds of the tests' `Msg`, as producers compiled from changed sources would have it.
mod changed {
    /// `data` retyped.
    pub mod retyped {
        #[ipmpsc::channel]
        pub enum Msg {
            Item { id: u32, seq: u64, data: Vec<u16> },
            Text(String),
            Stop,
        }
    }
    /// `seq` renamed.
    pub mod renamed {
        #[ipmpsc::channel]
        pub enum Msg {
            Item {
                id: u32,
                sequence: u64,
                data: Vec<u8>,
            },
            Text(String),
            Stop,
        }
    }
    /// A variant added.
    pub mod added {
        #[ipmpsc::channel]
        pub enum Msg {
            Item { id: u32, seq: u64, data: Vec<u8> },
            Text(String),
            Pause,
            Stop,
        }
    }
    /// Same structure, version bumped.
    pub mod bumped {
        #[ipmpsc::channel(version = 2)]
        pub enum Msg {
            Item { id: u32, seq: u64, data: Vec<u8> },
            Text(String),
            Stop,
        }
    }
    /// A nested type with a field that serde skips: on the wire as if the field were absent.
    pub mod nested_skip {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            #[serde(skip)]
            pub x: u32,
            pub y: u32,
        }
        #[ipmpsc::channel]
        pub enum Nested {
            Data(Inner, u64),
        }
    }
    /// The same definition written another way: a type alias and a full path.
    pub mod respelled {
        type Bytes = std::vec::Vec<u8>;
        #[ipmpsc::channel(version = 1)]
        pub enum Msg {
            Item { id: u32, seq: u64, data: Bytes },
            Text(std::string::String),
            Stop,
        }
    }
}

/// Opens a sender with one of the [`changed`] definitions; prints `OPENED` (after sending a
/// `Text`) or `REFUSED <message>`.
fn open_changed(path: &str, which: &str) {
    fn report<T>(r: ipmpsc::Result<T>, send: impl FnOnce(T) -> ipmpsc::Result<()>) {
        match r {
            Ok(tx) => {
                send(tx).unwrap_or_else(|e| fail(e));
                println!("OPENED");
            }
            Err(Error::SchemaMismatch(m)) => println!("REFUSED {m}"),
            Err(e) => println!("ERR {e:?}"),
        }
    }
    use changed::*;
    match which {
        "retyped" => report(retyped::Msg::open_sender(path), |tx| {
            tx.send(&retyped::Msg::Stop)
        }),
        "renamed" => report(renamed::Msg::open_sender(path), |tx| {
            tx.send(&renamed::Msg::Stop)
        }),
        "added" => report(added::Msg::open_sender(path), |tx| {
            tx.send(&added::Msg::Stop)
        }),
        "bumped" => report(bumped::Msg::open_sender(path), |tx| {
            tx.send(&bumped::Msg::Stop)
        }),
        "respelled" => report(respelled::Msg::open_sender(path), |tx| {
            tx.send(&respelled::Msg::Text("respelled".into()))
        }),
        "nested-skip" => report(nested_skip::Nested::open_sender(path), |tx| {
            tx.send(&nested_skip::Nested::Data(
                nested_skip::Inner { x: 1, y: 2 },
                3,
            ))
        }),
        "raw" => report(SharedRingBuffer::open(path), |b| {
            Sender::new(b).send(&"raw")
        }),
        _ => usage(),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["produce", path, id, count, seed, min, max, rest @ ..] => {
            let pattern = Pattern {
                seed: num(seed),
                min: num(min),
                max: num(max),
            };
            let mut opts = ProduceOptions::default();
            for pair in rest.chunks(2) {
                match pair {
                    ["mid-encode", n] => opts.mid_encode = Some(num(n)),
                    ["pause-after", n] => opts.pause_after = Some(num(n)),
                    ["report-every", n] => opts.report_every = Some(num(n)),
                    ["batch", k] => opts.batch = Some(num(k)),
                    _ => usage(),
                }
            }
            produce(path, num(id), num(count), pattern, opts);
        }
        ["produce-typed", path, id, count, seed, min, max] => {
            let pattern = Pattern {
                seed: num(seed),
                min: num(min),
                max: num(max),
            };
            produce_typed(path, num(id), num(count), pattern);
        }
        ["open-changed-sender", path, which] => open_changed(path, which),
        ["produce-zero", path, count] => produce_zero(path, num(count)),
        ["send-text", path, count, seed] => send_text(path, num(count), num(seed)),
        ["send-len", path, len] => {
            let tx = Sender::new(open(path));
            tx.send(&vec![0xA5u8; num(len)]).unwrap_or_else(|e| fail(e));
            println!("OK");
        }
        ["send-script", path, steps @ ..] => {
            // `<len>`: send a Vec<u8> of that many bytes; `wait`: wait for a line on stdin.
            let tx = Sender::new(open(path));
            let mut stdin = std::io::stdin().lock();
            for step in steps {
                if *step == "wait" {
                    let mut line = String::new();
                    if stdin.read_line(&mut line).unwrap_or(0) == 0 {
                        std::process::exit(0);
                    }
                } else {
                    tx.send(&vec![0x5Au8; num(step)])
                        .unwrap_or_else(|e| fail(e));
                    println!("SENT {step}");
                }
            }
            println!("DONE");
        }
        ["send-when-empty", path, id] => {
            let tx = Sender::new(open(path));
            println!("WAITING");
            let item = Item {
                id: num(id),
                seq: 0,
                data: Vec::new(),
            };
            tx.send_when_empty(&item).unwrap_or_else(|e| fail(e));
            println!("SENT");
        }
        ["blocked-sender", path] => {
            let tx = Sender::new(open(path));
            let item = Item {
                id: 0,
                seq: 0,
                data: vec![0; 100],
            };
            while tx.try_send(&item).unwrap_or_else(|e| fail(e)) {}
            println!("FULL");
            let start = Instant::now();
            let result = tx.send(&item);
            let ms = start.elapsed().as_millis();
            match result {
                Ok(()) => println!("RESULT Ok {ms}"),
                Err(Error::Disconnected) => println!("RESULT Disconnected {ms}"),
                Err(e) => println!("RESULT {e:?} {ms}"),
            }
        }
        ["hold-receiver", path, kind] => {
            let rx: Box<dyn std::any::Any> = match *kind {
                "raw" => Box::new(Receiver::try_new(open(path)).unwrap_or_else(|e| fail(e))),
                "typed" => Box::new(Msg::open_receiver(path).unwrap_or_else(|e| fail(e))),
                _ => usage(),
            };
            println!("READY {}", std::process::id());
            let mut rx = Some(rx);
            for line in std::io::stdin().lock().lines() {
                if line.as_deref().unwrap_or("") == "drop" {
                    rx = None;
                    println!("DROPPED");
                }
            }
            drop(rx);
        }
        ["hold-sender", path, kind, count] => {
            let count: u64 = num(count);
            let tx: Box<dyn std::any::Any> = match *kind {
                "raw" => {
                    let tx = Sender::new(open(path));
                    for seq in 0..count {
                        tx.send(&Item {
                            id: 0,
                            seq,
                            data: Vec::new(),
                        })
                        .unwrap_or_else(|e| fail(e));
                    }
                    Box::new(tx)
                }
                "typed" => {
                    let tx = Msg::open_sender(path).unwrap_or_else(|e| fail(e));
                    for seq in 0..count {
                        tx.send(&Msg::Item {
                            id: 0,
                            seq,
                            data: Vec::new(),
                        })
                        .unwrap_or_else(|e| fail(e));
                    }
                    Box::new(tx)
                }
                _ => usage(),
            };
            println!("READY {}", std::process::id());
            let mut tx = Some(tx);
            for line in std::io::stdin().lock().lines() {
                if line.as_deref().unwrap_or("") == "drop" {
                    tx = None;
                    println!("DROPPED");
                }
            }
            drop(tx);
        }
        ["hold-senders", path, n] => {
            // `n` registered senders (each clone takes its own slot), held until killed.
            let first = Sender::new(open(path));
            let senders: Vec<Sender> = (1..num::<usize>(n)).map(|_| first.clone()).collect();
            println!("READY {}", std::process::id());
            let _held = (first, senders);
            wait_for_stdin_end();
        }
        ["recv-once", path, kind] => {
            // One `try_recv`: `string` (raw, as a String) or `typed` (as Msg).
            let result = match *kind {
                "string" => {
                    let rx = Receiver::try_new(open(path)).unwrap_or_else(|e| fail(e));
                    rx.try_recv::<String>().map(|m| format!("{m:?}"))
                }
                "typed" => {
                    let mut rx = Msg::open_receiver(path).unwrap_or_else(|e| fail(e));
                    rx.try_recv().map(|m| format!("{m:?}"))
                }
                _ => usage(),
            };
            match result {
                Ok(m) => println!("OK {m}"),
                Err(e) => println!("ERR {e:?}"),
            }
        }
        ["create-receiver", path, kind, capacity] => {
            let rx: Box<dyn std::any::Any> = match *kind {
                "raw" => Box::new(Receiver::new(
                    SharedRingBuffer::create(path, num(capacity)).unwrap_or_else(|e| fail(e)),
                )),
                "typed" => {
                    Box::new(Msg::create_receiver(path, num(capacity)).unwrap_or_else(|e| fail(e)))
                }
                _ => usage(),
            };
            println!("READY {}", std::process::id());
            let _rx = rx;
            wait_for_stdin_end();
        }
        ["consume", path, mode, seed, min, max] => {
            // mode `hold:<n>`: after n messages, print `HOLDING` for the next one and wait to be
            // killed while its zero-copy context is open. `step`: after printing each message,
            // wait for a line on stdin before freeing it and reading on. `run`: read on.
            let pattern = Pattern {
                seed: num(seed),
                min: num(min),
                max: num(max),
            };
            let hold_after: Option<u64> = mode.strip_prefix("hold:").map(num);
            let step = *mode == "step";
            let mut rx = Receiver::try_new(open(path)).unwrap_or_else(|e| fail(e));
            println!("READY {}", std::process::id());
            let mut stdin = std::io::stdin().lock();
            let mut n = 0u64;
            loop {
                // Zero-copy context: the record is freed only when `ctx` drops, after the line
                // is printed, so a kill loses nothing the test has not seen.
                let mut ctx = rx.zero_copy_context();
                let item: Item = ctx.recv().unwrap_or_else(|e| fail(e));
                if item.data
                    != common::payload(pattern.seed, item.id, item.seq, pattern.min, pattern.max)
                {
                    println!("BAD {} {}", item.id, item.seq);
                    std::process::exit(4);
                }
                if hold_after == Some(n) {
                    println!("HOLDING {} {}", item.id, item.seq);
                    wait_for_stdin_end();
                }
                println!("GOT {} {}", item.id, item.seq);
                if step {
                    let mut line = String::new();
                    if stdin.read_line(&mut line).unwrap_or(0) == 0 {
                        std::process::exit(0);
                    }
                }
                drop(ctx);
                n += 1;
            }
        }
        ["loan-hold", path, len] => {
            // Loans `len` bytes of an `Item`, writes half of them, says `LOANED` and waits to
            // be killed (or, when stdin ends, returns from `main` without sending).
            let tx = Msg::open_sender(path).unwrap_or_else(|e| fail(e));
            let mut loan = tx
                .loan_uninit(num(len), |data| MsgView::Item {
                    id: 77,
                    seq: 0,
                    data,
                })
                .unwrap_or_else(|e| fail(e));
            let half = loan.as_uninit_mut().len() / 2;
            loan.as_uninit_mut()[..half].fill(std::mem::MaybeUninit::new(0xEE));
            println!("LOANED");
            let mut line = String::new();
            while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
                line.clear();
            }
            drop(loan);
            println!("RETURNED");
        }
        ["loan-panic", path, len] => {
            // Loans, says `LOANED`, and panics while writing the loan: the process ends by
            // the panic (status 101).
            let tx = Msg::open_sender(path).unwrap_or_else(|e| fail(e));
            let mut loan = tx
                .loan(num(len), |data| MsgView::Item {
                    id: 78,
                    seq: 0,
                    data,
                })
                .unwrap_or_else(|e| fail(e));
            println!("LOANED");
            loan.bytes_mut()[0] = 1;
            panic!("the producer panics while it fills its loan");
        }
        ["lc-receiver", path, how] => lifecycle::receiver(path, how),
        ["typed-sender", path, kind, id] => select::typed_sender(path, kind, num(id)),
        ["produce-notes", path, id, count] => select::produce_notes(path, num(id), num(count)),
        ["typed-consumer", path, count] => select::typed_consumer(path, num(count)),
        ["lc-sender", path, how] => lifecycle::sender(path, how),
        ["lc-blocked-sender", path] => lifecycle::blocked_sender(path),
        ["race", path, how, capacity] => edges::race(path, how, num(capacity)),
        ["scribble", path, offset] => edges::scribble(path, num(offset)),
        ["small-fs", dir, too_big, fits] => edges::small_fs(dir, num(too_big), num(fits)),
        ["panic-send", path, kind] => edges::panic_send(path, kind),
        ["fork-receiver", path] => edges::fork_receiver(path),
        ["fork-drop-receiver", path] => edges::fork_drop_receiver(path),
        ["open-sender-only", path] => edges::open_sender_only(path),
        ["raw-create", path] => edges::raw_create(path),
        ["fork-racer", path, forks] => edges::fork_racer(path, num(forks)),
        ["many-rings-fork", path, n] => edges::many_rings_fork(path, num(n)),
        ["nested-ns-drop", path, what] => edges::nested_ns_drop(path, what),
        ["read-locker", path, offset] => edges::read_locker(path, num(offset), 1),
        ["read-locker", path, offset, len] => edges::read_locker(path, num(offset), num(len)),
        ["zc-fork", path, mode] => edges::zc_fork(path, mode),
        ["create-loop", path, millis] => edges::create_loop(path, num(millis)),
        ["refused-create-fork", path, millis] => edges::refused_create_fork(path, num(millis)),
        ["fork-use", path] => edges::fork_use(path),
        ["loan-fork", path, what] => edges::loan_fork(path, what),
        ["limited-create", path, headroom] => edges::limited_create(path, num(headroom)),
        ["temp-receiver", how] => conveniences::temp_receiver(how),
        ["temp-fork"] => conveniences::temp_fork(),
        ["async-fork"] => select::async_fork(),
        ["temp-many", n] => conveniences::temp_many(num(n)),
        ["wait-sender", path, timeout] => conveniences::wait_sender(path, timeout),
        ["view-sender", path] => conveniences::view_sender(path),
        _ => usage(),
    }
}
