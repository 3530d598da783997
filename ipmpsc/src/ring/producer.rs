//! The sending side of the ring: sender slots, reservation, commit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::senders::{self, SenderSlot, CONFIRMED};
use super::{record_size, Ring, FLAG_MESSAGE, FLAG_PADDING, RECORD_HEADER};
use crate::sys::process::{self, Liveness};
use crate::{Error, Result};

/// How often a sender blocked on a full ring checks that the receiver still lives.
pub(crate) const LIVENESS_INTERVAL: Duration = Duration::from_millis(50);

/// How long a sender spins on a full ring before it sleeps.
const SPIN: Duration = Duration::from_micros(20);

/// Whether and how long to wait for space.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// Return `None` at once when the ring is full.
    No,
    /// Wait until the deadline (`None`: forever).
    Until(Option<Instant>),
}

/// Bytes reserved for one message: `size` bytes at data offset `off`, the payload at `off + 8`.
#[derive(Debug)]
pub(crate) struct Reservation {
    pub(crate) off: u64,
    pub(crate) size: u64,
    pub(crate) len: u64,
}

impl Ring {
    /// Takes a free sender slot, or one whose owner died and whose intent needs nobody.
    pub(crate) fn claim_slot(&self) -> Result<u32> {
        let me = senders::pack(process::current());
        let registrations = &self.header().receiver.0.sender_registrations;
        for i in 0..self.max_senders() {
            let s = self.slot(i);
            if s.owner.load(Ordering::Relaxed) == 0
                && s.owner
                    .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                s.intent_len.store(0, Ordering::Release);
                registrations.fetch_add(1, Ordering::AcqRel);
                return Ok(i);
            }
        }
        let head = self.head().load(Ordering::Acquire);
        let tail = self.tail().load(Ordering::Acquire);
        for i in 0..self.max_senders() {
            let s = self.slot(i);
            let owner = s.owner.load(Ordering::Acquire);
            if owner == 0 || senders::owner_liveness(owner) == Liveness::Alive {
                continue;
            }
            let len = s.intent_len.load(Ordering::Acquire);
            let pos = s.intent_pos.load(Ordering::Acquire);
            // An intent below the head was consumed; an unconfirmed one at or past the tail
            // was never reserved. Anything else is a dead reservation the receiver still has
            // to skip, and the slot stays as it is until then.
            let stale = len == 0 || pos < head || (len & CONFIRMED == 0 && pos >= tail);
            if stale
                && s.owner
                    .compare_exchange(owner, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                s.intent_len.store(0, Ordering::Release);
                registrations.fetch_add(1, Ordering::AcqRel);
                return Ok(i);
            }
        }
        Err(Error::TooManySenders {
            max: self.max_senders() as usize,
        })
    }

    /// Gives a slot back.
    pub(crate) fn release_slot(&self, i: u32) {
        let s = self.slot(i);
        s.intent_len.store(0, Ordering::Release);
        s.owner.store(0, Ordering::Release);
    }

    /// Reserves a record for a payload of `len` bytes. `cached_free` is the sender's private
    /// copy of the release cursor, refreshed only when it says "full".
    pub(crate) fn reserve(
        &self,
        slot: &SenderSlot,
        cached_free: &AtomicU64,
        lap: &AtomicU64,
        len: u64,
        wait: Wait,
    ) -> Result<Option<Reservation>> {
        let cap = self.capacity();
        let size = match record_size(len) {
            Some(size) if size <= cap => size,
            _ => {
                return Err(Error::MessageTooLarge {
                    size: len.saturating_add(RECORD_HEADER),
                    capacity: cap,
                })
            }
        };
        let mut tail = self.tail().load(Ordering::Relaxed);
        loop {
            if tail > super::MAX_POSITION || tail % 8 != 0 {
                return Err(Error::Corrupt(format!(
                    "tail {tail} is not a position a sender can reach"
                )));
            }
            let off = self.offset(tail, lap);
            let room = cap - off;
            let (need, padding) = if size <= room {
                (size, false)
            } else {
                (room, true)
            };
            let mut free = cached_free.load(Ordering::Relaxed);
            if tail.saturating_add(need) > free.saturating_add(cap) {
                free = self.free().load(Ordering::Acquire);
                cached_free.store(free, Ordering::Relaxed);
                if tail.saturating_add(need) > free.saturating_add(cap) {
                    match wait {
                        Wait::No => return Ok(None),
                        Wait::Until(deadline) => {
                            if !self.wait_for_free(tail + need - cap, deadline)? {
                                return Ok(None);
                            }
                            tail = self.tail().load(Ordering::Relaxed);
                            continue;
                        }
                    }
                }
            }
            slot.announce(tail, need);
            crate::fault::point("after-announce");
            match self.tail().compare_exchange_weak(
                tail,
                tail + need,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    slot.confirm(need);
                    crate::fault::point("after-reserve");
                    if padding {
                        self.publish(slot, off, need, FLAG_PADDING);
                        tail += need;
                        continue;
                    }
                    return Ok(Some(Reservation { off, size, len }));
                }
                Err(current) => tail = current,
            }
        }
    }

    /// The payload bytes of a reservation, for the reserving sender to fill.
    ///
    /// # Safety
    /// `r` must come from [`Ring::reserve`] on this ring and be neither committed nor
    /// abandoned yet, and the caller must not create a second slice for it.
    #[inline]
    // The bytes live in the shared mapping, not in `self`; exclusivity comes from the
    // reservation, which the caller's contract makes unique.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn payload_mut(&self, r: &Reservation) -> &mut [u8] {
        // SAFETY: the reservation `[off, off + size)` lies inside the data region (reserve
        // checked `size <= cap - off`), `len + 8 <= size`, and until the flag is published
        // this sender is the only party that touches these bytes (the caller's contract).
        unsafe {
            std::slice::from_raw_parts_mut(self.data_ptr(r.off + RECORD_HEADER), r.len as usize)
        }
    }

    /// Publishes a filled reservation.
    #[inline]
    pub(crate) fn commit(&self, slot: &SenderSlot, r: Reservation) {
        crate::fault::point("before-publish");
        self.publish(slot, r.off, r.len, FLAG_MESSAGE);
    }

    /// Turns a reservation that could not be filled into padding, so the receiver skips it.
    pub(crate) fn abandon(&self, slot: &SenderSlot, r: Reservation) {
        self.publish(slot, r.off, r.size, FLAG_PADDING);
    }

    #[inline]
    fn publish(&self, slot: &SenderSlot, off: u64, length: u64, flag: u8) {
        self.length_word(off).store(length, Ordering::Relaxed);
        // SeqCst: releases the payload and length to the receiver's Acquire load of the flag,
        // and orders the flag before the `sleepers` load in `wake_receiver` (module docs).
        self.flag(off).swap(flag, Ordering::SeqCst);
        slot.clear();
        self.wake_receiver();
    }

    /// Waits until `free >= target`. `Ok(false)` on timeout; `Err(Disconnected)` when the
    /// receiver is gone (dead, or dropped after having existed).
    pub(crate) fn wait_for_free(&self, target: u64, deadline: Option<Instant>) -> Result<bool> {
        let spin_until = Instant::now() + SPIN;
        while Instant::now() < spin_until {
            for _ in 0..64 {
                if self.free().load(Ordering::Acquire) >= target {
                    return Ok(true);
                }
                std::hint::spin_loop();
            }
        }
        let w = &self.header().space_wait.0;
        let mut last_free = self.free().load(Ordering::Acquire);
        let mut last_progress = Instant::now();
        loop {
            let now = Instant::now();
            let free = self.free().load(Ordering::Acquire);
            if free >= target {
                return Ok(true);
            }
            if free != last_free {
                last_free = free;
                last_progress = now;
            } else if now.duration_since(last_progress) >= LIVENESS_INTERVAL {
                last_progress = now;
                if self.receiver_gone() {
                    return Err(Error::Disconnected);
                }
            }
            let mut timeout = LIVENESS_INTERVAL;
            if let Some(deadline) = deadline {
                if now >= deadline {
                    return Ok(false);
                }
                timeout = timeout.min(deadline - now);
            }
            if super::sleep_unless(w, Some(timeout), || {
                self.free().load(Ordering::SeqCst) >= target
            }) {
                return Ok(true);
            }
        }
    }

    /// Whether a receiver existed and is no longer there.
    pub(crate) fn receiver_gone(&self) -> bool {
        let claim = &self.header().receiver.0;
        let owner = claim.owner.load(Ordering::Acquire);
        if owner == 0 {
            claim.claims.load(Ordering::Acquire) != 0
        } else {
            senders::owner_liveness(owner) == Liveness::Dead
        }
    }
}

/// A sender's hold on the ring: its slot, its cached copy of `free`, and a flag that lets one thread at a
/// time use the slot (a second thread sending through the same handle at the same moment
/// borrows a temporary slot instead of waiting).
pub(crate) struct SenderHandle {
    pub(crate) slot: u32,
    busy: AtomicBool,
    pub(crate) cached_free: AtomicU64,
    /// A multiple of the capacity at or below the tail last seen (see [`Ring::offset`]).
    pub(crate) lap: AtomicU64,
}

impl SenderHandle {
    pub(crate) fn register(ring: &Ring) -> Result<SenderHandle> {
        Ok(SenderHandle {
            slot: ring.claim_slot()?,
            busy: AtomicBool::new(false),
            cached_free: AtomicU64::new(ring.free().load(Ordering::Acquire)),
            lap: AtomicU64::new(0),
        })
    }

    /// Runs `f` with exclusive use of a slot.
    #[inline]
    pub(crate) fn with_slot<R>(
        &self,
        ring: &Ring,
        f: impl FnOnce(&SenderSlot) -> Result<R>,
    ) -> Result<R> {
        if !self.busy.swap(true, Ordering::Acquire) {
            struct Unbusy<'a>(&'a AtomicBool);
            impl Drop for Unbusy<'_> {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let _unbusy = Unbusy(&self.busy);
            f(ring.slot(self.slot))
        } else {
            let temp = ring.claim_slot()?;
            struct Release<'a>(&'a Ring, u32);
            impl Drop for Release<'_> {
                fn drop(&mut self) {
                    self.0.release_slot(self.1);
                }
            }
            let _release = Release(ring, temp);
            f(ring.slot(temp))
        }
    }
}
