//! Unit tests of the record protocol on a real mapping, in one process. A second `Ring` over
//! the same file stands for another process: it has its own open file descriptions, so its
//! locks conflict with ours, and dropping it releases them as a process's death would.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::consumer::{Consumer, STALL_TIMEOUT};
use super::peers::{SenderSlot, SlotState, LIVENESS_INTERVAL};
use super::producer::{SenderHandle, Wait};
use super::*;
use crate::schema::Schema;
use crate::sys::lock;

struct TempRing {
    ring: Arc<Ring>,
    rx: Option<Consumer>,
    path: PathBuf,
}

impl Drop for TempRing {
    fn drop(&mut self) {
        self.rx = None;
        let _ = std::fs::remove_file(&self.path);
    }
}

impl TempRing {
    fn rx(&mut self) -> &mut Consumer {
        self.rx.as_mut().expect("the receiver")
    }

    /// Another process's view of the file: its own mapping and open file descriptions.
    fn other(&self) -> Ring {
        Ring::open(&self.path).unwrap()
    }
}

/// A ring whose data region is `capacity` bytes (a multiple of 8, at least 8): the tests
/// here reason about offsets in the region.
fn temp_ring_in(dir: &Path, capacity: u64) -> TempRing {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = dir.join(format!(
        "ipmpsc-unit-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let c = Ring::create(
        &path,
        capacity - RECORD_HEADER,
        &Schema::UNTYPED,
        0o600,
        true,
        Replace::Never,
    )
    .unwrap()
    .unwrap();
    TempRing {
        ring: c.ring,
        rx: c.consumer,
        path,
    }
}

fn temp_ring(capacity: u64) -> TempRing {
    temp_ring_in(&crate::sys::file::temp_dir(), capacity)
}

fn try_send(ring: &Ring, handle: &SenderHandle, payload: &[u8], wait: Wait) -> Result<bool> {
    handle.with_slot(ring, |slot| {
        let Some(mut r) = ring.reserve(slot, handle, payload.len() as u64, wait)? else {
            return Ok(false);
        };
        r.bytes_mut().copy_from_slice(payload);
        r.commit();
        Ok(true)
    })
}

fn send(ring: &Ring, handle: &SenderHandle, payload: &[u8]) -> bool {
    try_send(ring, handle, payload, Wait::No).unwrap()
}

fn recv(rx: &mut Consumer) -> Option<Vec<u8>> {
    let ready = rx.poll().unwrap()?;
    let record = rx.take(ready);
    let v = record.bytes().to_vec();
    record.consume();
    Some(v)
}

/// Leaves a reservation of `len` bytes made through `other` uncommitted, as a sender killed
/// between reserving and committing would (the caller drops `other` to "kill" it).
fn reserve_and_vanish(other: &Ring, len: u64) -> u64 {
    let h = SenderHandle::register(other).unwrap();
    h.with_slot(other, |slot| {
        let r = other.reserve(slot, &h, len, Wait::No)?.unwrap();
        std::mem::forget(r);
        Ok(slot.intent_pos.load(Ordering::Relaxed))
    })
    .unwrap()
}

/// What the kernel does when the receiver's process dies: its lock goes, nothing else.
fn kill_receiver(t: &mut TempRing) {
    let rx = t.rx.take().unwrap();
    std::mem::forget(rx); // no clean release: no CLOSED, no free
    lock::unlock(t.ring.receiver_file.as_fd(), header::RECEIVER_LOCK).unwrap();
    t.ring.receiver_taken.store(false, Ordering::Release);
}

use std::os::fd::AsFd;

#[test]
fn record_size_is_header_plus_padded_payload() {
    assert_eq!(record_size(0), Some(8));
    assert_eq!(record_size(1), Some(16));
    assert_eq!(record_size(8), Some(16));
    assert_eq!(record_size(9), Some(24));
    assert_eq!(record_size(u64::MAX - 3), None);
}

#[test]
fn messages_come_out_in_order_and_free_their_space() {
    let mut t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"first"));
    assert!(send(&t.ring, &h, b"second!"));
    assert!(send(&t.ring, &h, &[]));
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 16 + 16 + 8);
    assert_eq!(recv(t.rx()).unwrap(), b"first");
    assert_eq!(recv(t.rx()).unwrap(), b"second!");
    assert_eq!(recv(t.rx()).unwrap(), b"");
    assert_eq!(recv(t.rx()), None);
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 40);
    assert_eq!(
        t.ring.free().load(Ordering::Relaxed),
        40,
        "released on catching up"
    );
}

#[test]
fn full_ring_refuses_then_accepts_after_consume() {
    let mut t = temp_ring(32);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 24])); // 32 bytes: the whole ring
    assert!(!send(&t.ring, &h, &[2; 1]));
    assert_eq!(recv(t.rx()).unwrap(), [1; 24]);
    // Consumed, and (a quarter of the ring consumed) released to senders at once.
    assert!(send(&t.ring, &h, &[2; 1]));
    assert_eq!(recv(t.rx()).unwrap(), [2]);
}

#[test]
fn record_that_would_cross_the_end_is_preceded_by_padding() {
    let mut t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 40])); // [0, 48)
    assert_eq!(recv(t.rx()).unwrap(), [1; 40]);
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 48);
    assert!(send(&t.ring, &h, &[2; 20])); // needs 32 contiguous: pad [48, 64), record at 64
    assert_eq!(t.ring.flag(48).load(Ordering::Relaxed), FLAG_PADDING);
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 64 + 32);
    assert_eq!(recv(t.rx()).unwrap(), [2; 20]);
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 96);
    assert_eq!(recv(t.rx()), None); // caught up: released
    assert_eq!(t.ring.flag(48).load(Ordering::Relaxed), FLAG_EMPTY);
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_EMPTY);
}

#[test]
fn message_larger_than_capacity_is_refused() {
    let t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    let err = try_send(&t.ring, &h, &[0; 57], Wait::No).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MessageTooLarge {
                size: 57,
                capacity: 56
            }
        ),
        "{err}"
    );
    assert!(send(&t.ring, &h, &[0; 56])); // exactly the capacity
}

#[test]
fn stale_payload_bytes_are_never_taken_for_a_record() {
    let mut t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    // A payload full of bytes that look like length words.
    assert!(send(&t.ring, &h, &[0x01; 56]));
    assert!(recv(t.rx()).is_some());
    assert_eq!(recv(t.rx()), None);
}

#[test]
fn consumed_space_is_released_in_batches_and_before_waiting() {
    let mut t = temp_ring(4096); // batch: 1024 bytes
    let h = SenderHandle::register(&t.ring).unwrap();
    for _ in 0..10 {
        assert!(send(&t.ring, &h, &[7; 16])); // 24-byte records
    }
    for _ in 0..10 {
        let ready = t.rx().poll().unwrap().unwrap();
        t.rx().take(ready).consume();
    }
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 240);
    assert_eq!(
        t.ring.free().load(Ordering::Relaxed),
        0,
        "below the batch: not yet released"
    );
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_MESSAGE);
    t.rx().set_spin(Duration::ZERO);
    assert!(t.rx().wait(Some(Instant::now())).unwrap().is_none());
    assert_eq!(
        t.ring.free().load(Ordering::Relaxed),
        240,
        "released before waiting"
    );
    assert!((0..240)
        .step_by(8)
        .all(|p| t.ring.flag(p).load(Ordering::Relaxed) == FLAG_EMPTY));
}

#[test]
fn abandoned_reservation_is_padding_at_once_and_the_sender_goes_on() {
    let mut t = temp_ring(256);
    let h = SenderHandle::register(&t.ring).unwrap();
    // Dropped without commit (an encoding error, or a panic unwinding through the send).
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        h.with_slot(&t.ring, |slot| {
            let mut r = t.ring.reserve(slot, &h, 10, Wait::No)?.unwrap();
            r.bytes_mut()[0] = 1;
            panic!("Serialize panicked half-way");
            #[allow(unreachable_code)]
            Ok(())
        })
    }));
    assert!(r.is_err());
    assert!(send(&t.ring, &h, b"next"));
    let start = Instant::now();
    assert_eq!(recv(t.rx()).unwrap(), b"next");
    assert!(start.elapsed() < STALL_TIMEOUT, "no dead-owner wait");
    assert_eq!(t.ring.skipped_reservations(), 0);
}

#[test]
fn new_receiver_releases_what_a_dead_one_consumed() {
    let mut t = temp_ring(4096);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"consumed"));
    assert!(send(&t.ring, &h, b"not yet"));
    let ready = t.rx().poll().unwrap().unwrap();
    t.rx().take(ready).consume();
    kill_receiver(&mut t); // consumed, not released
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 0);
    let consumer::Claimed::Consumer(rx) = Consumer::claim(t.ring.clone()).unwrap() else {
        panic!("not replaced")
    };
    t.rx = Some(rx);
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 16);
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_EMPTY);
    assert_eq!(recv(t.rx()).unwrap(), b"not yet");
}

#[test]
fn unknown_flag_value_is_corrupt_and_stays_so() {
    let mut t = temp_ring(64);
    t.ring.flag(0).store(7, Ordering::Relaxed);
    assert!(matches!(t.rx().poll(), Err(Error::Corrupt(_))));
    t.ring.flag(0).store(FLAG_EMPTY, Ordering::Relaxed);
    assert!(matches!(t.rx().poll(), Err(Error::Corrupt(_))), "sticky");
}

#[test]
fn record_length_past_the_end_is_corrupt() {
    for (flag, len) in [
        (FLAG_MESSAGE, 9),
        (FLAG_MESSAGE, u64::MAX),
        (FLAG_PADDING, 24),
    ] {
        let mut t = temp_ring(64);
        let h = SenderHandle::register(&t.ring).unwrap();
        assert!(send(&t.ring, &h, &[0; 40])); // [0, 48)
        assert!(recv(t.rx()).is_some());
        assert!(send(&t.ring, &h, &[0; 8])); // [48, 64)
        t.ring.length_word(48).store(len, Ordering::Relaxed);
        t.ring.flag(48).store(flag, Ordering::Relaxed);
        assert!(
            matches!(t.rx().poll(), Err(Error::Corrupt(_))),
            "flag {flag} length {len}"
        );
    }
}

#[test]
fn forged_length_beyond_the_write_position_is_corrupt_not_a_wedge() {
    let mut t = temp_ring(1024);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 16])); // [0, 24)
    assert!(send(&t.ring, &h, &[2; 16])); // [24, 48)
                                          // Inside the ring's bounds, but past everything reserved: at most the forged record
                                          // comes out (its bytes are garbage, as a hostile writer may make any message), then the
                                          // receiver notices that it read past the write position.
    t.ring.length_word(0).store(200, Ordering::Relaxed);
    let mut results = Vec::new();
    let err = loop {
        match t.rx().poll() {
            Err(e) => break e,
            Ok(r) => {
                results.push(r.is_some());
                let _ = r.map(|ready| t.rx().take(ready).consume());
            }
        }
        assert!(results.len() < 3, "no error after {results:?}");
    };
    assert!(err.to_string().contains("write position"), "{err}");
    assert!(matches!(t.rx().poll(), Err(Error::Corrupt(_))), "sticky");
}

#[test]
fn forged_length_into_the_middle_of_a_record_is_corrupt_after_the_stall_timeout() {
    let mut t = temp_ring(1024);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 16])); // [0, 24)
    assert!(send(&t.ring, &h, &[2; 48])); // [24, 80)
                                          // Lands at 40, inside the second record, where no record starts and nobody reserved.
    t.ring.length_word(0).store(32, Ordering::Relaxed);
    assert!(recv(t.rx()).is_some());
    let start = Instant::now();
    let err = match t.rx().wait(Some(start + Duration::from_secs(5))) {
        Err(e) => e,
        Ok(None) => panic!("wedged: nothing and no error"),
        Ok(Some(_)) => panic!("a record at a position nobody wrote"),
    };
    assert!(matches!(err, Error::Corrupt(_)), "{err}");
    assert!(start.elapsed() >= STALL_TIMEOUT);
}

#[test]
fn reservation_of_a_dead_sender_is_skipped() {
    let mut t = temp_ring(256);
    let other = t.other();
    assert_eq!(reserve_and_vanish(&other, 20), 0);
    drop(other); // the sender's process dies
                 // A live sender commits after it.
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"after the dead one"));
    assert!(t.rx().poll().unwrap().is_none());

    let start = Instant::now();
    let ready = t
        .rx()
        .wait(Some(start + Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    let waited = start.elapsed();
    let record = t.rx().take(ready);
    assert_eq!(record.bytes(), b"after the dead one");
    drop(record);
    assert!(waited >= STALL_TIMEOUT, "skipped after {waited:?}");
    assert_eq!(t.ring.skipped_reservations(), 1);
    assert!(
        (0..t.ring.max_senders()).all(|i| t.ring.slot(i).intent_len.load(Ordering::Relaxed) == 0),
        "dead slot freed"
    );
}

#[test]
fn reservation_of_a_live_sender_is_waited_for() {
    let mut t = temp_ring(256);
    let other = t.other();
    let h = SenderHandle::register(&other).unwrap();
    h.with_slot(&other, |slot| {
        let mut r = other.reserve(slot, &h, 4, Wait::No)?.unwrap();
        let rx = t.rx.as_mut().unwrap();
        let got = rx.wait(Some(Instant::now() + STALL_TIMEOUT * 3))?;
        assert!(
            got.is_none(),
            "a live sender's reservation must not be skipped"
        );
        r.bytes_mut().copy_from_slice(b"late");
        r.commit();
        Ok(())
    })
    .unwrap();
    assert_eq!(recv(t.rx()).unwrap(), b"late");
    assert_eq!(t.ring.skipped_reservations(), 0);
}

/// One sender died between its CAS and `confirm`, another right after a failed CAS at the
/// same position: two dead, unconfirmed announcements with different sizes. The real one is
/// the size at whose end the ring shows a record boundary.
#[test]
fn two_dead_unconfirmed_announcers_of_one_position() {
    for (real, stale) in [(32u64, 48u64), (48, 32), (24, 64)] {
        let mut t = temp_ring(1024);
        let a = t.other();
        let b = t.other();
        let ha = SenderHandle::register(&a).unwrap();
        let hb = SenderHandle::register(&b).unwrap();
        // b announces (0, stale) and stops before its CAS...
        hb.with_slot(&b, |slot| {
            slot.announce(0, stale);
            Ok(())
        })
        .unwrap();
        // ...a announces (0, real), moves the tail, and dies before `confirm`.
        ha.with_slot(&a, |slot| {
            slot.announce(0, real);
            a.tail().fetch_add(real, Ordering::SeqCst);
            Ok(())
        })
        .unwrap();
        drop((ha, hb, a, b));
        // Good messages behind the dead reservation (24-byte records).
        let h = SenderHandle::register(&t.ring).unwrap();
        for i in 0..4u8 {
            assert!(send(&t.ring, &h, &[i; 16]));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for i in 0..4u8 {
            let ready = t.rx().wait(Some(deadline)).unwrap().expect("skipped");
            let record = t.rx().take(ready);
            assert_eq!(record.bytes(), [i; 16], "real {real}, stale {stale}");
        }
        assert_eq!(t.ring.skipped_reservations(), 1);
    }
}

#[test]
fn dead_slots_with_stale_intents_are_reclaimed() {
    let t = temp_ring(64);
    let other = t.other();
    let held: Vec<_> = (0..other.max_senders())
        .map(|_| SenderHandle::register(&other).unwrap())
        .collect();
    assert!(matches!(
        SenderHandle::register(&t.ring),
        Err(Error::TooManySenders { .. })
    ));
    drop(held);
    // Every slot still says `Sender`, and the process dies: the next sender reuses one.
    drop(other);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"x"));
    assert_eq!(t.ring.live_senders(), 1);
}

#[test]
fn every_slot_held_by_live_senders_is_too_many() {
    let t = temp_ring(64);
    let handles: Vec<_> = (0..t.ring.max_senders())
        .map(|_| SenderHandle::register(&t.ring).unwrap())
        .collect();
    assert!(matches!(
        SenderHandle::register(&t.ring),
        Err(Error::TooManySenders { .. })
    ));
    assert_eq!(t.ring.live_senders(), t.ring.max_senders() as usize);
    handles[3].unregister(&t.ring);
    assert!(SenderHandle::register(&t.ring).is_ok());
}

#[test]
fn second_receiver_is_refused_here_and_elsewhere_and_a_dead_claim_taken_over() {
    let mut t = temp_ring(64);
    let me = std::process::id();
    // Through the same mapping (this process), and through another one.
    assert!(matches!(
        Consumer::claim(t.ring.clone()),
        Err(Error::ReceiverAlreadyExists { pid }) if pid == me
    ));
    let other = Arc::new(t.other());
    assert!(matches!(
        Consumer::claim(other.clone()),
        Err(Error::ReceiverAlreadyExists { pid }) if pid == me
    ));
    // A forged pid changes nothing: the lock decides.
    t.ring
        .header()
        .peers
        .receiver_pid
        .store(1, Ordering::Relaxed);
    assert!(Consumer::claim(other.clone()).is_err());
    kill_receiver(&mut t);
    assert!(matches!(
        Consumer::claim(other),
        Ok(consumer::Claimed::Consumer(_))
    ));
}

#[test]
fn sender_sees_a_dead_receiver_within_the_liveness_interval() {
    let mut t = temp_ring(32);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[0; 24]));
    kill_receiver(&mut t);
    let start = Instant::now();
    let err = try_send(&t.ring, &h, &[0; 8], Wait::Until(None)).unwrap_err();
    assert!(matches!(err, Error::Disconnected), "{err}");
    assert!(
        start.elapsed() < LIVENESS_INTERVAL * 3,
        "{:?}",
        start.elapsed()
    );
    // And every later send, without waiting.
    assert!(matches!(
        try_send(&t.ring, &h, &[], Wait::No),
        Err(Error::Disconnected)
    ));
}

#[test]
fn clean_departure_disconnects_at_once_and_a_new_receiver_reconnects() {
    let mut t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"before"));
    t.rx = None; // dropped
    assert!(matches!(
        try_send(&t.ring, &h, b"after", Wait::No),
        Err(Error::Disconnected)
    ));
    let consumer::Claimed::Consumer(rx) = Consumer::claim(t.ring.clone()).unwrap() else {
        panic!("not replaced")
    };
    t.rx = Some(rx);
    assert!(send(&t.ring, &h, b"again"));
    assert_eq!(recv(t.rx()).unwrap(), b"before");
    assert_eq!(recv(t.rx()).unwrap(), b"again");
}

#[test]
fn watching_receiver_learns_that_every_sender_left_once() {
    let mut t = temp_ring(256);
    t.rx().watch_senders();
    t.rx().set_spin(Duration::ZERO);
    let soon = || Some(Instant::now() + Duration::from_millis(20));
    assert!(t.rx().wait(soon()).unwrap().is_none(), "nobody came yet");
    let other = t.other();
    let h = SenderHandle::register(&other).unwrap();
    assert!(send(&other, &h, b"last words"));
    h.unregister(&other);
    assert!(t.rx().wait(soon()).unwrap().is_some(), "messages first");
    // (The record is parked by nobody: `take` was not called, so it is read again.)
    let ready = t.rx().wait(soon()).unwrap().unwrap();
    t.rx().take(ready).consume();
    assert!(matches!(t.rx().wait(soon()), Err(Error::Disconnected)));
    assert!(
        t.rx().wait(soon()).unwrap().is_none(),
        "reported once: waits for a new sender"
    );
    // A sender that dies without a word is found by its lock.
    let h = SenderHandle::register(&other).unwrap();
    assert!(t.rx().wait(soon()).unwrap().is_none());
    let _ = h; // no `unregister`: the process dies holding its slot
    drop(other);
    let start = Instant::now();
    assert!(matches!(
        t.rx().wait(Some(start + Duration::from_secs(5))),
        Err(Error::Disconnected)
    ));
    assert!(
        start.elapsed() < LIVENESS_INTERVAL * 3,
        "{:?}",
        start.elapsed()
    );
    assert_eq!(t.ring.attached(), 0);
    assert_eq!(
        t.ring.slot(0).state.load(Ordering::Relaxed),
        SlotState::Free as u32
    );
}

#[test]
fn sender_wakes_as_soon_as_its_message_fits() {
    let mut t = temp_ring(64 * 1024); // batch 4096, a quarter is 16 KiB
    let h = Arc::new(SenderHandle::register(&t.ring).unwrap());
    while send(&t.ring, &h, &[0; 1016]) {} // 1 KiB records
    let (ring, h2) = (t.ring.clone(), h.clone());
    let blocked = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(3);
        let r = try_send(&ring, &h2, &[1; 1016], Wait::Until(Some(deadline)));
        (r, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(100)); // let it fall asleep
                                                    // Consume four records (one release batch): room for one more.
    for _ in 0..4 {
        let ready = t.rx().poll().unwrap().unwrap();
        t.rx().take(ready).consume();
    }
    let freed = Instant::now();
    let (r, at) = blocked.join().unwrap();
    assert!(r.unwrap(), "still blocked although its message fit");
    let took = at.saturating_duration_since(freed);
    assert!(
        took < Duration::from_secs(1),
        "woke {took:?} after its message fit"
    );
}

#[test]
fn open_validates_the_header() {
    let t = temp_ring(64);
    assert!(Ring::open(&t.path).is_ok());
    let mut bytes = std::fs::read(&t.path).unwrap();
    let write = |b: &[u8]| std::fs::write(&t.path, b).unwrap();

    write(&bytes[..100]);
    assert!(matches!(
        Ring::open(&t.path),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    bytes[0] ^= 0xff;
    write(&bytes);
    assert!(matches!(
        Ring::open(&t.path),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    bytes[0] ^= 0xff;
    bytes[8] = 99; // layout version
    write(&bytes);
    assert!(matches!(
        Ring::open(&t.path),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    bytes[8] = header::LAYOUT_VERSION as u8;
    bytes[12] = 4; // word size
    write(&bytes);
    assert!(matches!(
        Ring::open(&t.path),
        Err(Error::IncompatibleRingBuffer(_))
    ));
    bytes[12] = 8;
    bytes[32] = 65; // capacity not a multiple of 8
    write(&bytes);
    assert!(matches!(Ring::open(&t.path), Err(Error::Corrupt(_))));
    bytes[32] = 64;
    write(&bytes[..bytes.len() - 8]); // truncated data region
    assert!(matches!(Ring::open(&t.path), Err(Error::Corrupt(_))));
    bytes[512] = 200; // tail beyond free + capacity
    write(&bytes);
    assert!(matches!(Ring::open(&t.path), Err(Error::Corrupt(_))));
    bytes[512] = 0;
    bytes[256] = 8; // head beyond tail
    write(&bytes);
    assert!(matches!(Ring::open(&t.path), Err(Error::Corrupt(_))));
    bytes[256] = 0;
    bytes[384] = 8; // free beyond head
    write(&bytes);
    assert!(matches!(Ring::open(&t.path), Err(Error::Corrupt(_))));
    bytes[384] = 0;
    write(&bytes);
    assert!(Ring::open(&t.path).is_ok());
}

#[test]
fn positions_and_capacities_beyond_four_gib() {
    // A 5 GiB ring, on a disk-backed directory: its storage is reserved at creation, which
    // costs extents there, not 5 GiB of memory.
    let cap = 5u64 << 30;
    let mut t = temp_ring_in(&std::env::temp_dir(), cap);
    assert_eq!(t.ring.capacity(), cap);
    // Start a few bytes before the end of the region, in the second lap, past 2^32 and 2^33.
    let start = 2 * cap - 32;
    for cursor in [t.ring.head(), t.ring.free(), t.ring.tail()] {
        cursor.store(start, Ordering::Relaxed);
    }
    t.rx = None;
    let consumer::Claimed::Consumer(rx) = Consumer::claim(t.ring.clone()).unwrap() else {
        panic!("not replaced")
    };
    t.rx = Some(rx);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"fits before the end")); // 8 + 24 = 32 bytes: exactly up to it
    assert!(send(&t.ring, &h, b"wraps to offset zero"));
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 2 * cap + 32);
    assert_eq!(recv(t.rx()).unwrap(), b"fits before the end");
    assert_eq!(recv(t.rx()).unwrap(), b"wraps to offset zero");
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 2 * cap + 32);
}

#[test]
fn a_message_larger_than_four_gib_is_sized_without_truncation() {
    let t = temp_ring(1 << 20);
    let h = SenderHandle::register(&t.ring).unwrap();
    let err = h
        .with_slot(&t.ring, |slot| {
            t.ring
                .reserve(slot, &h, (4 << 30) + 1, Wait::No)
                .map(|_| ())
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { size, .. } if size == (4 << 30) + 1),
        "{err}"
    );
}

#[test]
fn release_of_a_large_record_resets_its_flag_and_survives_scribbles() {
    let mut t = temp_ring(1 << 16);
    let h = SenderHandle::register(&t.ring).unwrap();
    let big = vec![0xAB; 10_000];
    for round in 0..3 {
        assert!(send(&t.ring, &h, b"small"));
        assert!(send(&t.ring, &h, &big));
        assert_eq!(recv(t.rx()).unwrap(), b"small");
        let start = t.ring.head().load(Ordering::Relaxed);
        let ring = t.ring.clone();
        let ready = t.rx().poll().unwrap().unwrap();
        let record = t.rx().take(ready);
        assert_eq!(record.bytes(), big);
        if round == 1 {
            // A corrupt process rewrites the record's length while it is read: release must
            // still reset every flag of the range.
            ring.length_word(start % ring.capacity())
                .store(3, Ordering::Relaxed);
        }
        record.consume();
        assert!(recv(t.rx()).is_none()); // caught up: released
        let (free, cap) = (t.ring.free().load(Ordering::Relaxed), t.ring.capacity());
        assert_eq!(free, t.ring.head().load(Ordering::Relaxed));
        assert!((0..cap)
            .step_by(8)
            .all(|off| t.ring.flag(off).load(Ordering::Relaxed) == FLAG_EMPTY));
    }
}

#[test]
fn scribbled_head_and_free_do_not_move_a_live_receiver() {
    let mut t = temp_ring(256);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"one"));
    assert!(send(&t.ring, &h, b"two"));
    t.ring.head().store(3, Ordering::Relaxed);
    t.ring.free().store(u64::MAX, Ordering::Relaxed);
    assert_eq!(recv(t.rx()).unwrap(), b"one");
    assert_eq!(recv(t.rx()).unwrap(), b"two");
}

#[test]
fn spin_adapts_to_short_sleeps_and_resets_after_long_ones() {
    let mut t = temp_ring(64);
    let rx = t.rx();
    let us = Duration::from_micros;
    rx.adapt_spin(us(50), us(60)); // woken soon after falling asleep: spin longer
    assert_eq!(rx.adaptive_spin(), us(100));
    rx.adapt_spin(us(300), us(100));
    assert_eq!(rx.adaptive_spin(), us(400), "capped");
    rx.adapt_spin(us(400), us(1000)); // neither short nor long: unchanged
    assert_eq!(rx.adaptive_spin(), us(400));
    rx.adapt_spin(us(400), Duration::from_millis(10)); // the channel went quiet
    assert_eq!(rx.adaptive_spin(), Duration::ZERO);
    rx.set_spin(Duration::ZERO);
    rx.adapt_spin(Duration::ZERO, us(1)); // a configured spin of zero never grows
    assert_eq!(rx.adaptive_spin(), Duration::ZERO);
}

#[test]
fn fallocate_refuses_a_ring_larger_than_the_file_system() {
    // A 1 EiB ring cannot be reserved anywhere; the error names the path and the size.
    let path =
        crate::sys::file::temp_dir().join(format!("ipmpsc-unit-huge-{}", std::process::id()));
    let err = match Ring::create(
        &path,
        1 << 60,
        &Schema::UNTYPED,
        0o600,
        true,
        Replace::Never,
    ) {
        Err(e) => e,
        Ok(_) => {
            let _ = std::fs::remove_file(&path);
            panic!("a 1 EiB channel was created")
        }
    };
    let msg = err.to_string();
    let Error::Io { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains(path.to_str().unwrap()), "{msg}");
    assert!(source.to_string().contains("bytes"), "{source}");
    assert!(!path.exists());
}

/// Reserves a batch of `lens.len()` records through `h` and fills record `i` with bytes `i`.
fn fill_batch<'a>(
    ring: &'a Ring,
    slot: &'a SenderSlot,
    h: &SenderHandle,
    lens: &[u64],
) -> super::producer::Batch<'a> {
    let size = lens.iter().map(|&l| record_size(l).unwrap()).sum();
    let mut batch = ring
        .reserve_batch(slot, h, size, Wait::No)
        .unwrap()
        .unwrap();
    for (i, &len) in lens.iter().enumerate() {
        batch
            .push(len, |dst| {
                dst.fill(i as u8);
                Ok(())
            })
            .unwrap();
    }
    batch
}

#[test]
fn a_batch_is_invisible_until_published_and_then_arrives_whole_in_order() {
    let mut t = temp_ring(1024);
    let h = SenderHandle::register(&t.ring).unwrap();
    let ring = t.ring.clone();
    let hold = h.hold_slot(&ring).unwrap();
    let batch = fill_batch(&ring, hold.slot(), &h, &[3, 17, 0, 40]);
    assert!(t.rx().poll().unwrap().is_none(), "seen before publication");
    batch.commit();
    for (i, len) in [3, 17, 0, 40].into_iter().enumerate() {
        assert_eq!(recv(t.rx()).unwrap(), vec![i as u8; len]);
    }
    assert!(recv(t.rx()).is_none());
}

#[test]
fn a_batch_that_fails_part_way_publishes_what_was_filled_and_pads_the_rest() {
    let mut t = temp_ring(1024);
    let h = SenderHandle::register(&t.ring).unwrap();
    let ring = t.ring.clone();
    {
        let hold = h.hold_slot(&ring).unwrap();
        let mut batch = ring
            .reserve_batch(hold.slot(), &h, 3 * 32, Wait::No)
            .unwrap()
            .unwrap();
        batch
            .push(20, |d| {
                d.fill(1);
                Ok(())
            })
            .unwrap();
        let err = batch.push(20, |_| Err(Error::Encode("no".into())));
        assert!(matches!(err, Err(Error::Encode(_))));
        batch
            .push(20, |d| {
                d.fill(2);
                Ok(())
            })
            .unwrap();
        // A record larger than what is left is refused, not written past the batch.
        assert!(matches!(batch.push(40, |_| Ok(())), Err(Error::Encode(_))));
        // Dropped with 2 of 3 records filled (an error, or a panic, in the caller).
    }
    {
        // Nothing filled at all: padding.
        let hold = h.hold_slot(&ring).unwrap();
        drop(ring.reserve_batch(hold.slot(), &h, 64, Wait::No).unwrap());
    }
    assert!(send(&t.ring, &h, b"next"));
    assert_eq!(recv(t.rx()).unwrap(), [1; 20]);
    assert_eq!(recv(t.rx()).unwrap(), [2; 20]);
    let start = Instant::now();
    assert_eq!(recv(t.rx()).unwrap(), b"next");
    assert!(start.elapsed() < STALL_TIMEOUT, "padding skipped at once");
}

/// A sender that dies while it publishes a batch has set the flags of the batch's later
/// records already: the receiver skips the batch whole and resets those flags, so that the
/// release walk, which resets only record starts, leaves no stale flag a later lap could take
/// for a record.
#[test]
fn a_dead_batch_is_skipped_whole_and_leaves_no_flag_behind() {
    let mut t = temp_ring(1 << 16);
    let other = t.other();
    {
        let h = SenderHandle::register(&other).unwrap();
        let hold = h.hold_slot(&other).unwrap();
        // Three records of 3,000 bytes: the released range is longer than the flag sweep, so
        // the release walks record starts.
        let batch = fill_batch(&other, hold.slot(), &h, &[3000, 3000, 3000]);
        std::mem::forget(batch);
        std::mem::forget(hold);
    }
    drop(other); // the sender's process dies
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"after the dead batch"));
    let ready = t
        .rx()
        .wait(Some(Instant::now() + Duration::from_secs(5)))
        .unwrap()
        .expect("the dead batch was not skipped");
    let record = t.rx().take(ready);
    assert_eq!(record.bytes(), b"after the dead batch");
    drop(record);
    assert!(recv(t.rx()).is_none()); // caught up: released
    assert_eq!(t.ring.skipped_reservations(), 1);
    let cap = t.ring.capacity();
    let stale: Vec<u64> = (0..cap)
        .step_by(8)
        .filter(|&off| t.ring.flag(off).load(Ordering::Relaxed) != FLAG_EMPTY)
        .collect();
    assert!(stale.is_empty(), "flags left set at {stale:?}");
}

/// A temporary channel passes over a name that something holds already, and leaves it alone.
#[test]
fn a_temporary_channel_passes_over_a_taken_name() {
    let dir = crate::sys::file::temp_dir();
    let stem = format!("ipmpsc-unit-taken-{}", std::process::id());
    let taken = dir.join(format!("{stem}-a"));
    std::fs::write(&taken, b"somebody's").unwrap();
    let names = [format!("{stem}-a"), format!("{stem}-b")];
    let c = Ring::create_temp_among(&dir, names, 4096, &Schema::UNTYPED, true).unwrap();
    assert_eq!(c.ring.path(), dir.join(format!("{stem}-b")));
    assert_eq!(std::fs::read(&taken).unwrap(), b"somebody's");
    drop(c);
    assert!(
        !dir.join(format!("{stem}-b")).exists(),
        "removed with the ring"
    );
    assert_eq!(std::fs::read(&taken).unwrap(), b"somebody's");
    std::fs::remove_file(&taken).unwrap();

    let only_taken = [format!("{stem}-c")];
    std::fs::write(dir.join(&only_taken[0]), b"x").unwrap();
    let err = Ring::create_temp_among(&dir, only_taken.clone(), 4096, &Schema::UNTYPED, true)
        .err()
        .expect("every name is taken");
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::AlreadyExists));
    std::fs::remove_file(dir.join(&only_taken[0])).unwrap();
}

/// A temporary channel's file that somebody replaced at its path is not removed with the ring.
#[test]
fn a_temporary_channel_removes_only_its_own_file() {
    let c = Ring::create_temp(4096, &Schema::UNTYPED, true).unwrap();
    let path = c.ring.path().to_path_buf();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"another file at the path").unwrap();
    drop(c);
    assert_eq!(std::fs::read(&path).unwrap(), b"another file at the path");
    std::fs::remove_file(&path).unwrap();
}

/// `queued` counts the committed messages the receiver can reach: padding is stepped over,
/// an uncommitted reservation ends the count, a parked record no longer counts.
#[test]
fn queued_counts_committed_messages_up_to_the_first_reservation() {
    let mut t = temp_ring(256);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert_eq!(t.rx().queued(usize::MAX), 0);
    assert!(send(&t.ring, &h, b"one"));
    assert!(send(&t.ring, &h, b"two"));
    assert_eq!(t.rx().queued(usize::MAX), 2);
    assert_eq!(t.rx().queued(1), 1, "stops at the limit");

    // An abandoned reservation becomes padding, stepped over.
    h.with_slot(&t.ring, |slot| {
        drop(t.ring.reserve(slot, &h, 10, Wait::No)?.unwrap());
        Ok(())
    })
    .unwrap();
    assert!(send(&t.ring, &h, b"three"));
    assert_eq!(t.rx().queued(usize::MAX), 3);

    // A reservation not committed yet: nothing behind it is reachable.
    let other = t.other();
    let pos = reserve_and_vanish(&other, 16);
    assert!(send(&t.ring, &h, b"behind"));
    assert_eq!(t.rx().queued(usize::MAX), 3);
    assert_eq!(recv(t.rx()).unwrap(), b"one");
    assert_eq!(t.rx().queued(usize::MAX), 2);

    // A record handed out and parked is not queued any more.
    let ready = t.rx().poll().unwrap().unwrap();
    let _ = t.rx().take(ready).park();
    assert_eq!(t.rx().queued(usize::MAX), 1);
    assert_eq!(recv(t.rx()).unwrap(), b"three");
    assert_eq!(
        t.rx().queued(usize::MAX),
        0,
        "the reservation at {pos} is not a message"
    );
    drop(other);
}
