//! Waiting on several receivers at once, with real sender processes: which receiver is ready,
//! timeouts, the end of one stream among others, a dead sender's reservation, the `select!`
//! macro merging two producer processes, and an idle select that uses no CPU.

mod common;

use std::time::{Duration, Instant};

use common::{ChildProc, Msg, Note, ShmPath};
use ipmpsc::select::{self, Selectable};
use ipmpsc::Error;

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

fn typed_sender(path: &ShmPath, kind: &str, id: u32) -> ChildProc {
    let id = id.to_string();
    let mut c = ChildProc::spawn(CHILD, &["typed-sender", path.as_str(), kind, &id], &[]);
    c.expect_out("READY", T);
    c
}

/// Tells a `typed-sender` child to send `k` more messages and waits until it did.
fn send(c: &mut ChildProc, k: u64) {
    c.send_line(&format!("send {k}"));
    c.expect_out("SENT", T);
}

/// An empty note.
fn blank() -> Note {
    Note::Line {
        id: 0,
        seq: 0,
        text: String::new(),
    }
}

/// Two fresh note channels `a` and `b` (named after `tag`), with one note waiting in `b`.
fn a_note_waiting_in_b(tag: &str) -> ([ShmPath; 2], common::NoteReceiver, common::NoteReceiver) {
    let paths = [
        ShmPath::new(&format!("{tag}-a")),
        ShmPath::new(&format!("{tag}-b")),
    ];
    let a = Note::create_receiver(&paths[0].path, 4096).unwrap();
    let b = Note::create_receiver(&paths[1].path, 4096).unwrap();
    Note::open_sender(&paths[1].path)
        .unwrap()
        .send(&blank())
        .unwrap();
    (paths, a, b)
}

/// CPU time this thread used so far.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid, writable timespec and a clock id the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[test]
fn select_says_which_receiver_has_a_message() {
    let (pa, pb, pc) = (
        ShmPath::new("sel-a"),
        ShmPath::new("sel-b"),
        ShmPath::new("sel-c"),
    );
    let mut a = Msg::create_receiver(&pa.path, 1 << 14).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 14).unwrap();
    let mut c = Msg::create_receiver(&pc.path, 1 << 14).unwrap();
    let mut sa = typed_sender(&pa, "msg", 1);
    let mut sb = typed_sender(&pb, "note", 2);
    let mut sc = typed_sender(&pc, "msg", 3);

    // Nothing queued: the timeout form times out.
    let start = Instant::now();
    let none = select::ready_timeout(&mut [&mut a, &mut b, &mut c], Duration::from_millis(30));
    assert_eq!(none.unwrap(), None);
    assert!(start.elapsed() >= Duration::from_millis(30));

    for who in [1, 2, 0, 1] {
        send([&mut sa, &mut sb, &mut sc][who], 1);
        let i = select::ready(&mut [&mut a, &mut b, &mut c]).unwrap();
        assert_eq!(i, who, "the receiver whose sender just sent");
        match i {
            0 => assert!(matches!(
                a.try_recv().unwrap(),
                Some(Msg::Item { id: 1, .. })
            )),
            1 => assert!(matches!(
                b.try_recv().unwrap(),
                Some(Note::Line { id: 2, .. })
            )),
            _ => assert!(matches!(
                c.try_recv().unwrap(),
                Some(Msg::Item { id: 3, .. })
            )),
        }
        // Drained: nothing is ready any more.
        let again = select::ready_timeout(&mut [&mut a, &mut b, &mut c], Duration::ZERO);
        assert_eq!(again.unwrap(), None);
    }
}

#[test]
fn a_sleeping_select_is_woken_by_a_sender_in_another_process() {
    let (pa, pb) = (ShmPath::new("selw-a"), ShmPath::new("selw-b"));
    let mut a = Msg::create_receiver(&pa.path, 1 << 14).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 14).unwrap();
    let mut sa = typed_sender(&pa, "msg", 1);
    let mut sb = typed_sender(&pb, "note", 2);
    for round in 0..20u64 {
        // The select sleeps (no deadline) in this thread; the other thread tells a sender to
        // send once the select has announced itself as a sleeper on both channels... which
        // only the select knows, so the sender is told after a short delay and the select
        // must be woken from a sleep or a spin, whichever it is in.
        let pick_b = round % 2 == 1;
        std::thread::scope(|s| {
            let sender = if pick_b { &mut sb } else { &mut sa };
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                send(sender, 1);
            });
            let i = select::ready(&mut [&mut a, &mut b]).unwrap();
            assert_eq!(i, usize::from(pick_b));
        });
        if pick_b {
            assert_eq!(
                b.try_recv().unwrap(),
                Some(Note::Line {
                    id: 2,
                    seq: round / 2,
                    text: format!("note 2 {}", round / 2)
                })
            );
        } else {
            assert!(
                matches!(a.try_recv().unwrap(), Some(Msg::Item { id: 1, seq, .. }) if seq == round / 2)
            );
        }
    }
}

#[test]
fn the_end_of_one_stream_is_reported_by_the_select_once() {
    let (pa, pb) = (ShmPath::new("sele-a"), ShmPath::new("sele-b"));
    let mut a = Msg::create_receiver(&pa.path, 1 << 14).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 14).unwrap();
    let mut sa = typed_sender(&pa, "msg", 1);
    let mut sb = typed_sender(&pb, "note", 2);
    send(&mut sa, 2);
    sa.send_line("exit");
    sa.wait_success(T);

    // The two queued messages, then the end of a's stream.
    for seq in 0..2 {
        assert_eq!(select::ready(&mut [&mut a, &mut b]).unwrap(), 0);
        assert!(matches!(a.try_recv().unwrap(), Some(Msg::Item { id: 1, seq: s, .. }) if s == seq));
    }
    assert_eq!(select::ready(&mut [&mut a, &mut b]).unwrap(), 0);
    assert!(matches!(a.try_recv(), Err(Error::Disconnected)));

    // Reported once: a is not ready again, b still works.
    let none = select::ready_timeout(&mut [&mut a, &mut b], Duration::from_millis(60));
    assert_eq!(none.unwrap(), None);
    send(&mut sb, 1);
    assert_eq!(select::ready(&mut [&mut a, &mut b]).unwrap(), 1);
    assert!(matches!(
        b.try_recv().unwrap(),
        Some(Note::Line { id: 2, seq: 0, .. })
    ));

    // A sender killed with SIGKILL ends b's stream too.
    sb.kill();
    assert_eq!(select::ready(&mut [&mut a, &mut b]).unwrap(), 1);
    assert!(matches!(b.try_recv(), Err(Error::Disconnected)));
}

#[test]
fn a_dead_senders_reservation_does_not_hide_the_message_behind_it() {
    // Raw channels: the producer child stops inside the reservation of its 3rd message and
    // is killed there; a second producer's message lies behind the dead reservation.
    let (pa, pb) = (ShmPath::new("seld-a"), ShmPath::new("seld-b"));
    let buffer = ipmpsc::SharedRingBuffer::create(pa.as_str(), 1 << 14).unwrap();
    let mut raw = ipmpsc::Receiver::new(buffer);
    let mut other = Note::create_receiver(&pb.path, 1 << 14).unwrap();
    let pattern = common::Pattern {
        seed: 7,
        min: 8,
        max: 64,
    };
    let mut victim = common::spawn_producer(CHILD, &pa, 1, 10, &pattern, &["mid-encode", "3"], &[]);
    victim.expect_err("IPMPSC_FAULT_STOPPED", T);
    let mut second = common::spawn_producer(CHILD, &pa, 2, 1, &pattern, &[], &[]);
    second.wait_success(T);
    victim.kill();

    let mut got = Vec::new();
    while got.len() < 3 {
        let i = select::ready_timeout(&mut [&mut other, &mut raw], T).unwrap();
        assert_eq!(i, Some(1), "only the raw channel has messages");
        while let Some(item) = raw.try_recv::<common::Item>().unwrap() {
            got.push((item.id, item.seq));
        }
    }
    assert_eq!(got, [(1, 0), (1, 1), (2, 0)]);
}

#[test]
fn select_macro_merges_two_producer_processes_in_order() {
    let (pa, pb) = (ShmPath::new("selm-a"), ShmPath::new("selm-b"));
    let mut items = Msg::create_receiver(&pa.path, 1 << 12).unwrap();
    let mut notes = Note::create_receiver(&pb.path, 1 << 12).unwrap();
    let pattern = common::Pattern {
        seed: 11,
        min: 0,
        max: 300,
    };
    let (n_items, n_notes) = (3000u64, 2000u64);
    let [seed, min, max] = pattern.args();
    let count = n_items.to_string();
    let mut pi = ChildProc::spawn(
        CHILD,
        &["produce-typed", pa.as_str(), "5", &count, &seed, &min, &max],
        &[],
    );
    let count = n_notes.to_string();
    let mut pn = ChildProc::spawn(CHILD, &["produce-notes", pb.as_str(), "6", &count], &[]);

    let (mut next_item, mut next_note) = (0u64, 0u64);
    let (mut items_ended, mut notes_ended) = (false, false);
    let mut stops = 0;
    while !(items_ended && notes_ended) {
        ipmpsc::select! {
            recv(items) -> m => match m {
                Ok(Msg::Item { id: 5, seq, data }) => {
                    assert_eq!(seq, next_item);
                    assert_eq!(data, common::payload(pattern.seed, 5, seq, pattern.min, pattern.max));
                    next_item += 1;
                }
                Ok(Msg::Text(_)) => {}
                Ok(Msg::Stop) => stops += 1,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(Error::Disconnected) => items_ended = true,
                Err(e) => panic!("{e}"),
            },
            recv(notes) -> n => match n {
                Ok(Note::Line { id: 6, seq, text }) => {
                    assert_eq!(seq, next_note);
                    assert_eq!(text, format!("note 6 {seq}"));
                    next_note += 1;
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(Error::Disconnected) => notes_ended = true,
                Err(e) => panic!("{e}"),
            },
            default(T) => panic!("no message and no end of stream within {T:?}"),
        }
    }
    assert_eq!((next_item, next_note, stops), (n_items, n_notes, 1));
    pi.wait_success(T);
    pn.wait_success(T);
}

#[test]
fn select_macro_bodies_break_the_callers_loop_and_default_runs_on_timeout() {
    let (pa, pb) = (ShmPath::new("selb-a"), ShmPath::new("selb-b"));
    let mut a = Msg::create_receiver(&pa.path, 1 << 12).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 12).unwrap();
    let tx = Note::open_sender(&pb.path).unwrap();
    let mut rounds = 0;
    let mut timeouts = 0;
    loop {
        rounds += 1;
        ipmpsc::select! {
            recv(a) -> _m => unreachable!("nothing is sent on a"),
            recv(&mut b) -> n => {
                assert!(n.is_ok());
                break; // the caller's loop
            }
            default(Duration::from_millis(5)) => {
                timeouts += 1;
                tx.send(&blank()).unwrap();
                continue; // the caller's loop
            }
        }
    }
    assert_eq!((rounds, timeouts), (2, 1));
    // `default` without a timeout: nothing ready now.
    let r = ipmpsc::select! {
        recv(a) -> _m => 1,
        recv(b) -> _n => 2,
        default => 3,
    };
    assert_eq!(r, 3);
}

#[test]
fn an_idle_select_uses_no_cpu() {
    // Senders in another process are attached (so the select wakes every 25 ms to look for
    // dead ones) but send nothing.
    let (pa, pb) = (ShmPath::new("seli-a"), ShmPath::new("seli-b"));
    let mut a = Msg::create_receiver(&pa.path, 1 << 12).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 12).unwrap();
    let _sa = typed_sender(&pa, "msg", 1);
    let _sb = typed_sender(&pb, "note", 2);
    let idle = Duration::from_millis(500);
    let before = thread_cpu();
    let r = select::ready_timeout(&mut [&mut a, &mut b], idle).unwrap();
    let used = thread_cpu() - before;
    assert_eq!(r, None);
    // A select that polled would use about `idle` of CPU; a sleeping one a spin of 50 µs and
    // twenty short wake-ups.
    assert!(
        used < idle / 10,
        "an idle select used {used:?} of CPU in {idle:?}"
    );
}

#[test]
fn a_select_over_no_receivers_or_too_many_is_refused() {
    let err = select::ready(&mut []).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::InvalidInput));

    let paths: Vec<ShmPath> = (0..=select::MAX_RECEIVERS)
        .map(|_| ShmPath::new("selmax"))
        .collect();
    let mut rxs: Vec<_> = paths
        .iter()
        .map(|p| Note::create_receiver(&p.path, 64).unwrap())
        .collect();
    let mut set: Vec<&mut dyn Selectable> =
        rxs.iter_mut().map(|r| r as &mut dyn Selectable).collect();
    let err = select::ready_timeout(&mut set, Duration::ZERO).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::InvalidInput));
    // The limit itself works.
    let r = select::ready_timeout(&mut set[..select::MAX_RECEIVERS], Duration::from_millis(1));
    assert_eq!(r.unwrap(), None);
}

#[test]
fn a_receiver_with_an_error_to_report_is_ready() {
    // A second receiver of a channel that has one cannot claim it: every receive reports
    // that, so a select returns it at once rather than waiting forever.
    let (pa, pb) = (ShmPath::new("selr-a"), ShmPath::new("selr-b"));
    let _first =
        ipmpsc::Receiver::new(ipmpsc::SharedRingBuffer::create(pa.as_str(), 4096).unwrap());
    let mut refused = ipmpsc::Receiver::new(ipmpsc::SharedRingBuffer::open(pa.as_str()).unwrap());
    let mut b = Note::create_receiver(&pb.path, 4096).unwrap();
    let i = select::ready_timeout(&mut [&mut b, &mut refused], T).unwrap();
    assert_eq!(i, Some(1));
    assert!(matches!(
        refused.try_recv::<u32>(),
        Err(Error::ReceiverAlreadyExists { .. })
    ));
}

#[test]
fn select_macro_takes_block_bodies_followed_by_commas() {
    let (_paths, mut a, mut b) = a_note_waiting_in_b("selc");
    let r = ipmpsc::select! {
        recv(a) -> m => { m.unwrap(); 1 },
        recv(b) -> m => { m.unwrap(); 2 },
        default(T) => 3,
    };
    assert_eq!(r, 2);
}

#[test]
fn select_macro_is_round_robin_when_both_receivers_are_ready() {
    // Both channels hold a backlog: the macro must alternate (as its docs and `ready` say),
    // not drain the first arm's channel before it looks at the second.
    let (pa, pb) = (ShmPath::new("selrr-a"), ShmPath::new("selrr-b"));
    let mut a = Note::create_receiver(&pa.path, 1 << 14).unwrap();
    let mut b = Note::create_receiver(&pb.path, 1 << 14).unwrap();
    let (ta, tb) = (
        Note::open_sender(&pa.path).unwrap(),
        Note::open_sender(&pb.path).unwrap(),
    );
    for seq in 0..20 {
        let text = String::new();
        ta.send(&Note::Line {
            id: 1,
            seq,
            text: text.clone(),
        })
        .unwrap();
        tb.send(&Note::Line { id: 2, seq, text }).unwrap();
    }
    let mut order = Vec::new();
    for _ in 0..20 {
        ipmpsc::select! {
            recv(a) -> m => { m.unwrap(); order.push('a') },
            recv(b) -> m => { m.unwrap(); order.push('b') },
            default => panic!("both channels hold messages"),
        }
    }
    let from_b = order.iter().filter(|&&c| c == 'b').count();
    assert_eq!(
        from_b, 10,
        "one flooding channel starves the other: {order:?}"
    );
}

/// A `select!` over receivers that a function borrows (`&mut` parameters, which are not
/// themselves `mut`).
fn select_borrowed(a: &mut common::NoteReceiver, b: &mut common::NoteReceiver) -> u32 {
    ipmpsc::select! {
        recv(a) -> m => { m.unwrap(); 1 },
        recv(b) -> m => { m.unwrap(); 2 },
        default(T) => 0,
    }
}

#[test]
fn select_macro_takes_mut_references_held_in_plain_bindings() {
    let (_paths, mut a, mut b) = a_note_waiting_in_b("selp");
    assert_eq!(select_borrowed(&mut a, &mut b), 2);
}
