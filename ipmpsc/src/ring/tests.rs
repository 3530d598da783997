//! Unit tests of the record protocol on a real mapping, in one process.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::producer::{SenderHandle, Wait};
use super::senders::{self, CONFIRMED};
use super::*;
use crate::sys::process::ProcessId;

struct TempRing {
    ring: Ring,
    path: PathBuf,
}

impl Drop for TempRing {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn temp_ring(capacity: u64) -> TempRing {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = crate::sys::file::temp_dir().join(format!(
        "ipmpsc-unit-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let ring = Ring::create(&path, capacity, &Schema::UNTYPED, 0o600, true).unwrap();
    TempRing { ring, path }
}

fn send(ring: &Ring, handle: &SenderHandle, payload: &[u8]) -> bool {
    handle
        .with_slot(ring, |slot| {
            let Some(r) = ring.reserve(
                slot,
                &handle.cached_free,
                &handle.lap,
                payload.len() as u64,
                Wait::No,
            )?
            else {
                return Ok(false);
            };
            // SAFETY: fresh reservation, filled once, then committed.
            unsafe { ring.payload_mut(&r) }.copy_from_slice(payload);
            ring.commit(slot, r);
            Ok(true)
        })
        .unwrap()
}

fn recv(ring: &Ring) -> Option<Vec<u8>> {
    let r = ring.peek().unwrap()?;
    // SAFETY: unconsumed head record, copied before consuming it.
    let v = unsafe { ring.payload(&r) }.to_vec();
    ring.consume(&r);
    Some(v)
}

/// A process identity that is certainly dead: a child that has exited and been reaped.
fn dead_owner() -> u64 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    senders::pack(ProcessId { pid, start_time: 1 })
}

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
    let t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"first"));
    assert!(send(&t.ring, &h, b"second!"));
    assert!(send(&t.ring, &h, &[]));
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 16 + 16 + 8);
    assert_eq!(recv(&t.ring).unwrap(), b"first");
    assert_eq!(recv(&t.ring).unwrap(), b"second!");
    assert_eq!(recv(&t.ring).unwrap(), b"");
    assert_eq!(recv(&t.ring), None);
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 40);
    t.ring.release();
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 40);
}

#[test]
fn full_ring_refuses_then_accepts_after_consume() {
    let t = temp_ring(32);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 24])); // 32 bytes: the whole ring
    assert!(!send(&t.ring, &h, &[2; 1]));
    assert_eq!(recv(&t.ring).unwrap(), [1; 24]);
    // Consumed, and (a quarter of the ring consumed) released to senders at once.
    assert!(send(&t.ring, &h, &[2; 1]));
    assert_eq!(recv(&t.ring).unwrap(), [2]);
}

#[test]
fn record_that_would_cross_the_end_is_preceded_by_padding() {
    let t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[1; 40])); // [0, 48)
    assert_eq!(recv(&t.ring).unwrap(), [1; 40]);
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 48);
    assert!(send(&t.ring, &h, &[2; 20])); // needs 32 contiguous: pad [48, 64), record at 64
    assert_eq!(t.ring.flag(48).load(Ordering::Relaxed), FLAG_PADDING);
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 64 + 32);
    assert_eq!(recv(&t.ring).unwrap(), [2; 20]);
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 96);
    t.ring.release();
    assert_eq!(t.ring.flag(48).load(Ordering::Relaxed), FLAG_EMPTY);
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_EMPTY);
}

#[test]
fn message_larger_than_capacity_is_refused() {
    let t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    let err = h
        .with_slot(&t.ring, |slot| {
            t.ring.reserve(slot, &h.cached_free, &h.lap, 57, Wait::No)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { capacity: 64, .. }),
        "{err}"
    );
    assert!(send(&t.ring, &h, &[0; 56])); // exactly the capacity
}

#[test]
fn stale_payload_bytes_are_never_taken_for_a_record() {
    let t = temp_ring(64);
    let h = SenderHandle::register(&t.ring).unwrap();
    // A payload full of bytes that look like length words.
    assert!(send(&t.ring, &h, &[0x01; 56]));
    assert!(recv(&t.ring).is_some());
    assert_eq!(recv(&t.ring), None);
}

#[test]
fn consumed_space_is_released_in_batches_and_before_waiting() {
    let t = temp_ring(4096); // batch: 1024 bytes
    let h = SenderHandle::register(&t.ring).unwrap();
    for _ in 0..10 {
        assert!(send(&t.ring, &h, &[7; 16])); // 24-byte records
    }
    for _ in 0..10 {
        assert!(recv(&t.ring).is_some());
    }
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 240);
    assert_eq!(
        t.ring.free().load(Ordering::Relaxed),
        0,
        "below the batch: not yet released"
    );
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_MESSAGE);
    assert!(t
        .ring
        .wait_record(Duration::ZERO, Some(Instant::now()))
        .unwrap()
        .is_none());
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
fn new_receiver_releases_what_a_dead_one_consumed() {
    let t = temp_ring(4096);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"consumed"));
    assert!(send(&t.ring, &h, b"not yet"));
    assert!(recv(&t.ring).is_some());
    // The receiver dies here: consumed, not released.
    t.ring
        .header()
        .receiver
        .0
        .owner
        .store(dead_owner(), Ordering::Relaxed);
    t.ring.claim_receiver().unwrap();
    assert_eq!(t.ring.free().load(Ordering::Relaxed), 16);
    assert_eq!(t.ring.flag(0).load(Ordering::Relaxed), FLAG_EMPTY);
    assert_eq!(recv(&t.ring).unwrap(), b"not yet");
}

#[test]
fn unknown_flag_value_is_corrupt() {
    let t = temp_ring(64);
    t.ring.flag(0).store(7, Ordering::Relaxed);
    assert!(matches!(t.ring.peek(), Err(Error::Corrupt(_))));
}

#[test]
fn record_length_past_the_end_is_corrupt() {
    let t = temp_ring(64);
    t.ring.length_word(48).store(9, Ordering::Relaxed);
    t.ring.head().store(48, Ordering::Relaxed);
    t.ring.free().store(48, Ordering::Relaxed);
    t.ring.tail().store(64, Ordering::Relaxed);
    t.ring.flag(48).store(FLAG_MESSAGE, Ordering::Relaxed);
    assert!(matches!(t.ring.peek(), Err(Error::Corrupt(_))));
    t.ring.length_word(48).store(u64::MAX, Ordering::Relaxed);
    assert!(matches!(t.ring.peek(), Err(Error::Corrupt(_))));
    t.ring.flag(48).store(FLAG_PADDING, Ordering::Relaxed);
    t.ring.length_word(48).store(24, Ordering::Relaxed);
    assert!(matches!(t.ring.peek(), Err(Error::Corrupt(_))));
}

#[test]
fn reservation_of_a_dead_sender_is_skipped() {
    let t = temp_ring(256);
    // A dead sender announced and reserved [0, 32) and never committed.
    let dead = t.ring.slot(5);
    dead.owner.store(dead_owner(), Ordering::Relaxed);
    dead.intent_pos.store(0, Ordering::Relaxed);
    dead.intent_len.store(32 | CONFIRMED, Ordering::Relaxed);
    t.ring.tail().store(32, Ordering::Relaxed);
    // A live sender commits after it.
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"after the dead one"));
    assert_eq!(t.ring.peek().unwrap().map(|r| r.pos), None);

    let start = Instant::now();
    let r = t
        .ring
        .wait_record(Duration::ZERO, Some(start + Duration::from_secs(5)))
        .unwrap()
        .unwrap();
    let waited = start.elapsed();
    // SAFETY: unconsumed head record.
    assert_eq!(unsafe { t.ring.payload(&r) }, b"after the dead one");
    assert!(
        waited >= consumer::STALL_TIMEOUT,
        "skipped after {waited:?}"
    );
    assert_eq!(t.ring.skipped_reservations(), 1);
    assert_eq!(dead.owner.load(Ordering::Relaxed), 0, "dead slot freed");
}

#[test]
fn reservation_of_a_live_sender_is_waited_for() {
    let t = temp_ring(256);
    let h = SenderHandle::register(&t.ring).unwrap();
    h.with_slot(&t.ring, |slot| {
        let r = t
            .ring
            .reserve(slot, &h.cached_free, &h.lap, 4, Wait::No)?
            .unwrap();
        let got = t.ring.wait_record(
            Duration::ZERO,
            Some(Instant::now() + consumer::STALL_TIMEOUT * 3),
        )?;
        assert!(
            got.is_none(),
            "a live sender's reservation must not be skipped"
        );
        // SAFETY: fresh reservation, filled once, then committed.
        unsafe { t.ring.payload_mut(&r) }.copy_from_slice(b"late");
        t.ring.commit(slot, r);
        Ok(())
    })
    .unwrap();
    assert_eq!(recv(&t.ring).unwrap(), b"late");
    assert_eq!(t.ring.skipped_reservations(), 0);
}

#[test]
fn dead_slots_with_stale_intents_are_reclaimed() {
    let t = temp_ring(64);
    let owner = dead_owner();
    for i in 0..t.ring.max_senders() {
        t.ring.slot(i).owner.store(owner, Ordering::Relaxed);
    }
    // All slots held by a dead process with no intent: the next sender reuses one.
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
    t.ring.release_slot(handles[3].slot);
    assert!(SenderHandle::register(&t.ring).is_ok());
}

#[test]
fn second_receiver_is_refused_and_dead_claim_taken_over() {
    let t = temp_ring(64);
    // `temp_ring` claimed the receiver for this process.
    let me = std::process::id();
    assert!(
        matches!(t.ring.claim_receiver(), Err(Error::ReceiverAlreadyExists { pid }) if pid == me)
    );
    t.ring
        .header()
        .receiver
        .0
        .owner
        .store(dead_owner(), Ordering::Relaxed);
    assert!(t.ring.claim_receiver().is_ok());
}

#[test]
fn sender_waiting_for_space_sees_a_dead_receiver() {
    let t = temp_ring(32);
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, &[0; 24]));
    t.ring
        .header()
        .receiver
        .0
        .owner
        .store(dead_owner(), Ordering::Relaxed);
    let start = Instant::now();
    let err = h
        .with_slot(&t.ring, |slot| {
            t.ring
                .reserve(slot, &h.cached_free, &h.lap, 8, Wait::Until(None))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Disconnected), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
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
    write(&bytes);
    assert!(Ring::open(&t.path).is_ok());
}

#[test]
fn positions_and_capacities_beyond_four_gib() {
    // A 5 GiB ring: the file is sparse, and only the pages this test touches are allocated.
    let cap = 5u64 << 30;
    let t = temp_ring(cap);
    assert_eq!(t.ring.capacity(), cap);
    // Start a few bytes before the end of the region, in the second lap, past 2^32 and 2^33.
    let start = 2 * cap - 32;
    for cursor in [t.ring.head(), t.ring.free(), t.ring.tail()] {
        cursor.store(start, Ordering::Relaxed);
    }
    let h = SenderHandle::register(&t.ring).unwrap();
    assert!(send(&t.ring, &h, b"fits before the end")); // 8 + 24 = 32 bytes: exactly up to it
    assert!(send(&t.ring, &h, b"wraps to offset zero"));
    assert_eq!(t.ring.tail().load(Ordering::Relaxed), 2 * cap + 32);
    assert_eq!(recv(&t.ring).unwrap(), b"fits before the end");
    assert_eq!(recv(&t.ring).unwrap(), b"wraps to offset zero");
    assert_eq!(t.ring.head().load(Ordering::Relaxed), 2 * cap + 32);
}

#[test]
fn a_message_larger_than_four_gib_is_sized_without_truncation() {
    let t = temp_ring(1 << 20);
    let h = SenderHandle::register(&t.ring).unwrap();
    let err = h
        .with_slot(&t.ring, |slot| {
            t.ring
                .reserve(slot, &h.cached_free, &h.lap, (4 << 30) + 1, Wait::No)
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::MessageTooLarge { size, .. } if size == (4 << 30) + 9),
        "{err}"
    );
}

#[test]
fn release_of_a_large_record_resets_its_flag_and_survives_scribbles() {
    let t = temp_ring(1 << 16);
    let h = SenderHandle::register(&t.ring).unwrap();
    let big = vec![0xAB; 10_000];
    for round in 0..3 {
        assert!(send(&t.ring, &h, b"small"));
        assert!(send(&t.ring, &h, &big));
        assert_eq!(recv(&t.ring).unwrap(), b"small");
        let start = t.ring.head().load(Ordering::Relaxed);
        assert_eq!(recv(&t.ring).unwrap(), big);
        if round == 1 {
            // A corrupt process rewrites the consumed record's length: release must still reset
            // every flag of the range.
            t.ring
                .length_word(start % t.ring.capacity())
                .store(3, Ordering::Relaxed);
        }
        t.ring.release();
        let (free, cap) = (t.ring.free().load(Ordering::Relaxed), t.ring.capacity());
        assert_eq!(free, t.ring.head().load(Ordering::Relaxed));
        assert!((0..cap)
            .step_by(8)
            .all(|off| t.ring.flag(off).load(Ordering::Relaxed) == FLAG_EMPTY));
    }
}

#[test]
fn spin_adapts_to_short_sleeps_and_resets_after_long_ones() {
    let t = temp_ring(64);
    let us = Duration::from_micros;
    let adapted = || Duration::from_nanos(t.ring.adaptive_spin.load(Ordering::Relaxed));
    t.ring.adapt_spin(us(50), us(60)); // woken soon after falling asleep: spin longer
    assert_eq!(adapted(), us(100));
    t.ring.adapt_spin(us(300), us(100));
    assert_eq!(adapted(), us(400), "capped");
    t.ring.adapt_spin(us(400), us(1000)); // neither short nor long: unchanged
    assert_eq!(adapted(), us(400));
    t.ring.adapt_spin(us(400), Duration::from_millis(10)); // the channel went quiet
    assert_eq!(adapted(), Duration::ZERO);
    t.ring.adapt_spin(Duration::ZERO, us(1)); // a configured spin of zero never grows
    assert_eq!(adapted(), Duration::ZERO);
}
