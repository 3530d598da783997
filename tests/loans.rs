//! Loaned sends and batched sends, as users write them: a loan abandoned by drop, by a panic
//! and by SIGKILL between loan and send leaves nothing visible to the receiver and blocks
//! nobody for long; loaned buffers at any depth of a message arrive as written; misuse is a
//! typed error that loses nothing; batches arrive whole and in order, and one that fails
//! half-way sends exactly the messages before the failure.

mod common;

use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use common::{ChildProc, Msg, MsgView, ShmPath};
use ipmpsc::Error;
use serde::{Deserialize, Serialize};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

/// Receives the next message, waiting at most 5 s.
fn next(rx: &mut common::MsgReceiver) -> Msg {
    rx.recv_timeout(Duration::from_secs(5))
        .expect("receive")
        .expect("no message within 5 s")
}

#[test]
fn a_loan_killed_before_it_is_sent_is_skipped_and_holds_up_the_channel_only_briefly() {
    let path = ShmPath::new("loan-kill");
    let mut rx = Msg::create_receiver(&path, 1 << 16).unwrap();
    let mut child = ChildProc::spawn(CHILD, &["loan-hold", path.as_str(), "5000"], &[]);
    child.expect_out("LOANED", T);
    // Sent after the loan was made: the receiver delivers in order, so it waits for the loan.
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Text("after the loan".into())).unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(300)).unwrap(),
        None,
        "a live loan was skipped, or its half-written bytes delivered"
    );
    child.kill();
    let killed = Instant::now();
    assert_eq!(next(&mut rx), Msg::Text("after the loan".into()));
    let waited = killed.elapsed();
    eprintln!("a killed loan held up the receiver for {waited:?} after the kill");
    assert!(waited < Duration::from_secs(5), "blocked for {waited:?}");
    assert_eq!(
        rx.try_recv().unwrap(),
        None,
        "something of the loan arrived"
    );
}

#[test]
fn a_loan_dropped_when_its_process_returns_from_main_is_skipped_at_once() {
    let path = ShmPath::new("loan-return");
    let mut rx = Msg::create_receiver(&path, 1 << 16).unwrap();
    let mut child = ChildProc::spawn(CHILD, &["loan-hold", path.as_str(), "100"], &[]);
    child.expect_out("LOANED", T);
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Stop).unwrap();
    child.close_stdin();
    child.expect_out("RETURNED", T);
    child.wait_success(T);
    assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop));
    assert_eq!(rx.try_recv().unwrap(), None);
}

#[test]
fn a_process_that_panics_while_it_fills_a_loan_sends_nothing_of_it() {
    let path = ShmPath::new("loan-panic");
    let mut rx = Msg::create_receiver(&path, 1 << 16).unwrap();
    let mut child = ChildProc::spawn(CHILD, &["loan-panic", path.as_str(), "100"], &[]);
    child.expect_out("LOANED", T);
    let status = child.wait_exit(T);
    assert_eq!(
        status.code(),
        Some(101),
        "the child should end by its panic"
    );
    let tx = Msg::open_sender(&path).unwrap();
    tx.send(&Msg::Stop).unwrap();
    // The unwinding loan was turned into padding on its way out: nothing to wait for.
    assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop));
}

#[test]
fn a_loan_dropped_or_unwound_in_process_is_abandoned_and_the_sender_goes_on() {
    let path = ShmPath::new("loan-drop");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let tx = Msg::open_sender(&path).unwrap();

    let loan = tx
        .loan(100, |data| MsgView::Item {
            id: 1,
            seq: 0,
            data,
        })
        .unwrap();
    drop(loan);
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut loan = tx
            .loan_uninit(100, |data| MsgView::Item {
                id: 2,
                seq: 0,
                data,
            })
            .unwrap();
        loan.as_uninit_mut()[0].write(1);
        panic!("the producer fails while it fills the loan");
    }));
    assert!(r.is_err());
    let r = catch_unwind(AssertUnwindSafe(|| {
        tx.loan(100, |_| -> MsgView<'_> {
            panic!("building the message fails")
        })
    }));
    assert!(r.is_err());
    // The sender is usable, and nothing of the three loans is visible.
    tx.send(&Msg::Stop).unwrap();
    assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop));
    assert_eq!(rx.try_recv().unwrap(), None);
}

#[test]
fn loaned_bytes_arrive_as_written_and_messages_after_a_loan_wait_their_turn() {
    let path = ShmPath::new("loan-order");
    let mut rx = Msg::create_receiver(&path, 1 << 16).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    let other = tx.clone();
    let mut loan = tx
        .loan_uninit(1000, |data| MsgView::Item {
            id: 5,
            seq: 9,
            data,
        })
        .unwrap();
    other.send(&Msg::Text("second".into())).unwrap();
    assert_eq!(rx.try_recv().unwrap(), None, "overtook the loan");
    for (i, b) in loan.as_uninit_mut().iter_mut().enumerate() {
        b.write((i * 7) as u8);
    }
    // SAFETY: every byte was written just above.
    unsafe { loan.assume_init() }.send();
    match next(&mut rx) {
        Msg::Item {
            id: 5,
            seq: 9,
            data,
        } => {
            assert_eq!(data, (0..1000).map(|i| (i * 7) as u8).collect::<Vec<_>>())
        }
        other => panic!("got {other:?}"),
    }
    assert_eq!(next(&mut rx), Msg::Text("second".into()));

    // The zeroing and copying forms.
    let mut loan = tx
        .loan(8, |data| MsgView::Item {
            id: 1,
            seq: 1,
            data,
        })
        .unwrap();
    loan.bytes_mut()[7] = 7;
    loan.send();
    tx.loan_uninit(3, |data| MsgView::Item {
        id: 1,
        seq: 2,
        data,
    })
    .unwrap()
    .write_from_slice(b"abc")
    .send();
    tx.loan_uninit(0, |data| MsgView::Item {
        id: 1,
        seq: 3,
        data,
    })
    .unwrap()
    .zeroed()
    .send();
    let got: Vec<Msg> = rx.try_iter().collect();
    assert_eq!(
        got,
        [
            Msg::Item {
                id: 1,
                seq: 1,
                data: vec![0, 0, 0, 0, 0, 0, 0, 7]
            },
            Msg::Item {
                id: 1,
                seq: 2,
                data: b"abc".to_vec()
            },
            Msg::Item {
                id: 1,
                seq: 3,
                data: vec![]
            },
        ]
    );
}

/// A frame's planes nested in a derived struct, next to other borrowed fields.
#[derive(Serialize, Deserialize, ipmpsc::Schema, Debug, PartialEq)]
pub struct Planes {
    pub width: u32,
    #[serde(with = "ipmpsc::wire")]
    pub y: Vec<u8>,
    pub uv: Option<Vec<u8>>,
}

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Camera {
    Frame {
        seq: u64,
        camera: String,
        planes: Planes,
    },
    Off,
}

#[test]
fn loaned_planes_at_any_depth_are_written_in_place_in_the_ring() {
    let path = ShmPath::new("loan-planes");
    let mut rx = Camera::create_receiver(&path, 1 << 20).unwrap();
    let tx = Camera::open_sender(&path).unwrap();
    let name = String::from("front");
    for seq in 0..20u64 {
        let mut loan = tx
            .loan_planes_uninit([64 * 48, 64 * 48 / 2], |[y, uv]| CameraView::Frame {
                seq,
                camera: &name,
                planes: PlanesView {
                    width: 64,
                    y,
                    uv: Some(uv),
                },
            })
            .unwrap();
        let [y, uv] = loan.planes_uninit_mut();
        assert_eq!((y.len(), uv.len()), (3072, 1536));
        y.fill(MaybeUninit::new(seq as u8));
        uv.fill(MaybeUninit::new(!(seq as u8)));
        // SAFETY: both planes were filled just above.
        unsafe { loan.assume_init() }.send();
        let view = rx.recv_view().unwrap();
        let CameraView::Frame {
            seq: s,
            camera,
            planes,
        } = &*view
        else {
            panic!("not a frame")
        };
        assert_eq!((*s, *camera, planes.width), (seq, "front", 64));
        assert!(planes.y.iter().all(|&b| b == seq as u8));
        assert!(planes.uv.unwrap().iter().all(|&b| b == !(seq as u8)));
        assert!(
            common::within_mapping(planes.y, path.as_ref()),
            "not zero-copy"
        );
    }
}

#[test]
fn a_loan_the_message_does_not_hold_is_refused_and_loses_nothing() {
    let path = ShmPath::new("loan-misuse");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    let elsewhere = vec![0u8; 10];
    // The view holds another slice of the same length.
    let err = tx
        .loan(10, |_| MsgView::Item {
            id: 1,
            seq: 0,
            data: &elsewhere,
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Encode(m) if m.contains("loaned buffer 0")),
        "{err}"
    );
    // A part of the buffer is not the buffer.
    let err = tx
        .loan_uninit(10, |data| MsgView::Item {
            id: 1,
            seq: 0,
            data: &data[..5],
        })
        .unwrap_err();
    assert!(matches!(err, Error::Encode(_)), "{err}");
    // Too large for the ring, whole or in planes.
    let err = tx
        .loan(5000, |data| MsgView::Item {
            id: 1,
            seq: 0,
            data,
        })
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { .. }), "{err}");
    let err = tx
        .loan_planes_uninit([usize::MAX, 2], |[data, _]| MsgView::Item {
            id: 1,
            seq: 0,
            data,
        })
        .unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { .. }), "{err}");
    // Full ring: `try_loan_uninit` says so and reserves nothing.
    let mut loans = 0;
    while let Some(loan) = tx
        .try_loan_uninit(1000, |data| MsgView::Item {
            id: 2,
            seq: loans,
            data,
        })
        .unwrap()
    {
        loan.zeroed().send();
        loans += 1;
    }
    // Records of 1,032 bytes (1,024 encoded) in a data region of 4,104.
    assert_eq!(loans, 3, "1,000-byte loans in a 4 KiB ring");
    for seq in 0..loans {
        assert_eq!(
            next(&mut rx),
            Msg::Item {
                id: 2,
                seq,
                data: vec![0; 1000]
            }
        );
    }
    tx.send(&Msg::Stop).unwrap();
    assert_eq!(rx.try_recv().unwrap(), Some(Msg::Stop));
    assert_eq!(rx.try_recv().unwrap(), None);
}

/// A buffer named twice in the message is ambiguous.
#[test]
fn a_loaned_buffer_held_twice_is_refused() {
    #[ipmpsc::channel]
    pub enum Two {
        Pair(Vec<u8>, Vec<u8>),
    }
    let path = ShmPath::new("loan-twice");
    let mut rx = Two::create_receiver(&path, 4096).unwrap();
    let tx = Two::open_sender(&path).unwrap();
    let err = tx.loan(4, |b| TwoView::Pair(b, b)).unwrap_err();
    assert!(
        matches!(&err, Error::Encode(m) if m.contains("more than once")),
        "{err}"
    );
    assert!(rx.try_recv().unwrap().is_none());
}

#[test]
fn batches_arrive_whole_in_order_across_wraps_and_waits() {
    let path = ShmPath::new("batch-order");
    // Small ring: runs wrap around its end and wait for the receiver.
    let mut rx = Msg::create_receiver(&path, 2048).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    let sender = std::thread::spawn(move || {
        let mut seq = 0u64;
        for round in 0..200u64 {
            let n = 1 + round % 70; // runs of 1 .. 70 messages: some split in two
            let batch: Vec<Msg> = (0..n)
                .map(|_| {
                    seq += 1;
                    Msg::Item {
                        id: 1,
                        seq,
                        data: vec![seq as u8; (seq % 90) as usize],
                    }
                })
                .collect();
            if round % 2 == 0 {
                tx.send_batch(&batch).unwrap();
            } else {
                tx.send_iter(batch).unwrap();
            }
        }
        tx.send_iter([Msg::Stop].iter()).unwrap();
        seq
    });
    let mut expect = 1u64;
    loop {
        match next(&mut rx) {
            Msg::Item { id: 1, seq, data } => {
                assert_eq!(seq, expect, "out of order");
                assert_eq!(data, vec![seq as u8; (seq % 90) as usize]);
                expect += 1;
            }
            Msg::Stop => break,
            other => panic!("got {other:?}"),
        }
    }
    assert_eq!(expect - 1, sender.join().unwrap());
}

/// A value that fails to serialize (an error, or a panic) when asked to.
#[derive(Debug, PartialEq, Deserialize)]
struct Touchy {
    n: u32,
    fail: u8,
}

impl Serialize for Touchy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.fail {
            1 => Err(serde::ser::Error::custom("this one cannot be encoded")),
            2 => panic!("Serialize panics"),
            _ => (self.n, 0u8).serialize(s),
        }
    }
}

#[test]
fn a_batch_that_fails_part_way_sends_exactly_the_messages_before_the_failure() {
    let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096).unwrap();
    let rx = ipmpsc::Receiver::new(buffer.clone());
    let tx = ipmpsc::Sender::new(buffer);
    let t = |n, fail| Touchy { n, fail };
    let err = tx
        .send_batch(&[t(1, 0), t(2, 0), t(3, 1), t(4, 0)])
        .unwrap_err();
    assert!(matches!(err, Error::Encode(_)), "{err}");
    let r = catch_unwind(AssertUnwindSafe(|| {
        tx.send_batch(&[t(5, 0), t(6, 2), t(7, 0)])
    }));
    assert!(r.is_err(), "the panic propagates");
    // 70 messages: the first run of 64 is sent, the failure is in the second.
    let mut long: Vec<Touchy> = (100..170).map(|n| t(n, 0)).collect();
    long[66].fail = 1;
    assert!(tx.send_batch(&long).is_err());
    // A message too large for the ring, after two that fit.
    let big = vec![vec![1u8; 8], vec![2u8; 8], vec![3u8; 5000], vec![4u8; 8]];
    assert!(matches!(
        tx.send_batch(&big),
        Err(Error::MessageTooLarge { .. })
    ));
    tx.send(&(9u32, 0u8)).unwrap();
    let mut got = Vec::new();
    while let Some((n, _)) = rx.try_recv::<(u32, u8)>().unwrap() {
        got.push(n);
        if n == 9 {
            break;
        }
        if n == 165 {
            // The byte-vector messages follow.
            break;
        }
    }
    let mut want: Vec<u32> = vec![1, 2, 5];
    want.extend(100..166);
    assert_eq!(got, want);
    assert_eq!(rx.try_recv::<Vec<u8>>().unwrap(), Some(vec![1u8; 8]));
    assert_eq!(rx.try_recv::<Vec<u8>>().unwrap(), Some(vec![2u8; 8]));
    assert_eq!(rx.try_recv::<(u32, u8)>().unwrap(), Some((9, 0)));
    assert_eq!(rx.try_recv::<(u32, u8)>().unwrap(), None);
}

#[test]
fn threads_sending_batches_through_one_sender_keep_their_own_order() {
    let path = ShmPath::new("batch-threads");
    let mut rx = Msg::create_receiver(&path, 1 << 14).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    const PER: u64 = 5_000;
    std::thread::scope(|s| {
        for id in 0..4u32 {
            let tx = &tx; // one sender shared: threads borrow slots while another holds its own
            s.spawn(move || {
                for start in (0..PER).step_by(25) {
                    let run: Vec<Msg> = (start..start + 25)
                        .map(|seq| Msg::Item {
                            id,
                            seq,
                            data: vec![id as u8; 3],
                        })
                        .collect();
                    tx.send_batch(&run).unwrap();
                }
            });
        }
        let mut next_seq = [0u64; 4];
        for _ in 0..4 * PER {
            match next(&mut rx) {
                Msg::Item { id, seq, data } => {
                    assert_eq!(seq, next_seq[id as usize], "thread {id} out of order");
                    assert_eq!(data, vec![id as u8; 3]);
                    next_seq[id as usize] += 1;
                }
                other => panic!("got {other:?}"),
            }
        }
    });
    assert_eq!(rx.try_recv().unwrap(), None);
}

/// A loan held across `fork` is the parent's: the child's copy, dropped or sent, publishes
/// nothing (it would turn the parent's message into padding, or publish it twice, and the
/// parent's own publication would then land in space the receiver had handed back).
#[test]
fn a_loan_inherited_through_fork_is_left_to_the_parent() {
    for what in ["drop", "send"] {
        let path = ShmPath::new(&format!("loan-fork-{what}"));
        // Small ring: the 300 items after the loan go around it several times.
        let mut rx = Msg::create_receiver(&path, 4096).unwrap();
        let mut child = ChildProc::spawn(CHILD, &["loan-fork", path.as_str(), what], &[]);
        let mut got = Vec::new();
        while got.len() < 301 {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(Some(m)) => got.push(m),
                Ok(None) => panic!("{what}: stalled after {} messages", got.len()),
                Err(e) => panic!("{what}: after {} messages: {e}", got.len()),
            }
        }
        child.expect_out("DONE", T);
        child.wait_success(T);
        assert_eq!(
            got[0],
            Msg::Item {
                id: 79,
                seq: 0,
                data: vec![0x79; 100]
            },
            "{what}"
        );
        for (seq, m) in got[1..].iter().enumerate() {
            let seq = seq as u64;
            assert_eq!(
                m,
                &Msg::Item {
                    id: 80,
                    seq,
                    data: vec![seq as u8; 50]
                },
                "{what}"
            );
        }
        // The child process has left: nothing more, and then the end of the stream.
        assert!(
            matches!(rx.try_recv(), Ok(None) | Err(Error::Disconnected)),
            "{what}: a message too many"
        );
    }
}

/// A loan holds its sender's slot until it is sent, so another send through the same sender
/// borrows a free slot. When every slot of the table is held by a live sender there is none
/// to borrow: `try_send`, `send_timeout` and `try_loan_uninit` must still return (they promise
/// not to wait, or not for longer than asked), not spin until the loan is sent, which, from
/// the thread that holds the loan, is never.
#[test]
fn with_every_slot_taken_a_loan_does_not_wedge_its_own_threads_other_sends() {
    let path = ShmPath::new("loan-full-table");
    let _rx = Msg::create_receiver(&path, 1 << 16).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    let mut others = Vec::new();
    loop {
        match Msg::open_sender(&path) {
            Ok(s) => others.push(s),
            Err(Error::TooManySenders { .. }) => break,
            Err(e) => panic!("{e}"),
        }
    }
    let (report, outcome) = std::sync::mpsc::channel();
    // Not scoped: a wedged thread must not keep the test from failing.
    std::thread::spawn(move || {
        let loan = tx
            .loan(8, |data| MsgView::Item {
                id: 1,
                seq: 1,
                data,
            })
            .unwrap();
        let r = tx.try_send(&Msg::Stop);
        report.send(format!("try_send {r:?}")).unwrap();
        let r = tx.send_timeout(&Msg::Stop, Duration::from_millis(50));
        report.send(format!("send_timeout {r:?}")).unwrap();
        let r = tx.try_loan_uninit(8, |data| MsgView::Item {
            id: 2,
            seq: 2,
            data,
        });
        report
            .send(format!("try_loan_uninit {:?}", r.map(|l| l.is_some())))
            .unwrap();
        loan.send();
    });
    for call in ["try_send", "send_timeout", "try_loan_uninit"] {
        match outcome.recv_timeout(Duration::from_secs(5)) {
            Ok(got) => eprintln!("{got}"),
            Err(_) => panic!(
                "{call} through a sender that holds a loan, with every slot taken, did not \
                 return within 5 s"
            ),
        }
    }
    drop(others);
}

/// The placeholder must be held as a byte buffer (`&[u8]`): safe code cannot hold it as a
/// string (`str::from_utf8` refuses it), so a message built that way does not hold it and is
/// refused with `Encode`, rather than lent: the bytes written into it would make a string
/// field of arbitrary bytes that no receiver can decode.
#[test]
fn a_placeholder_held_as_a_string_is_refused() {
    let path = ShmPath::new("loan-str");
    let mut rx = Msg::create_receiver(&path, 4096).unwrap();
    let tx = Msg::open_sender(&path).unwrap();
    let r = tx.loan(4, |b| {
        MsgView::Text(std::str::from_utf8(b).unwrap_or("not text"))
    });
    let outcome = match r {
        Ok(mut loan) => {
            loan.bytes_mut().copy_from_slice(&[0xFF, 0xFE, 0, 1]);
            loan.send();
            format!("lent; the receiver got {:?}", rx.try_recv())
        }
        Err(Error::Encode(_)) => "refused".to_owned(),
        Err(e) => format!("{e}"),
    };
    assert_eq!(outcome, "refused");
}

#[test]
fn try_send_batch_says_exactly_how_many_it_sent() {
    let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096).unwrap();
    let rx = ipmpsc::Receiver::new(buffer.clone());
    let tx = ipmpsc::Sender::new(buffer);
    // 100-byte messages take 112-byte records: 36 fit in the 4,104-byte data region.
    let values: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 92]).collect();
    let sent = tx.try_send_batch(&values).unwrap();
    assert_eq!(sent, 36);
    assert_eq!(tx.try_send_batch(&values[sent..]).unwrap(), 0, "full");
    for i in 0..10u8 {
        assert_eq!(rx.recv::<Vec<u8>>().unwrap(), vec![i; 92]);
    }
    // Room again (released when the receiver caught up, or every 1 KiB it consumed).
    while rx.try_recv::<Vec<u8>>().unwrap().is_some() {}
    assert_eq!(tx.try_send_batch(&values[sent..]).unwrap(), 50 - 36);
    for i in 36..50u8 {
        assert_eq!(rx.recv::<Vec<u8>>().unwrap(), vec![i; 92]);
    }
    // A failure is an error only for the first message; after others, the count says where.
    let t = |n, fail| Touchy { n, fail };
    assert_eq!(
        tx.try_send_batch(&[t(1, 0), t(2, 0), t(3, 1), t(4, 0)])
            .unwrap(),
        2
    );
    assert!(matches!(
        tx.try_send_batch(&[t(3, 1), t(4, 0)]),
        Err(Error::Encode(_))
    ));
    assert_eq!(tx.try_send_batch(&[t(4, 0)]).unwrap(), 1);
    let got: Vec<u32> = (0..3).map(|_| rx.recv::<(u32, u8)>().unwrap().0).collect();
    assert_eq!(got, [1, 2, 4]);
}
