//! The sending side of the ring: a sender's hold on the ring ([`SenderHandle`]), reservation,
//! and the [`Reservation`] guard that is committed, or abandoned when dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::peers::{SenderSlot, SlotState, LIVENESS_INTERVAL};
#[cfg(feature = "async")]
use super::wait::announce_for_space;
use super::wait::{sleep_budget, sleep_for_space};
use super::{
    record_size, Ring, CLOSED, FLAG_MESSAGE, FLAG_PADDING, MAX_POSITION, POSITION_MASK,
    RECORD_HEADER, REPLACED, REPLACING,
};
use crate::error::op;
use crate::sys::clock;
use crate::{Error, Result};

/// How long a sender spins on a full ring before it sleeps.
const SPIN: Duration = Duration::from_micros(20);

/// How often a sender sleeping on a full ring looks for space on its own, between the
/// receiver's wake-ups (which come only once a quarter of the ring is free, see
/// [`Ring::wait_for_free`]).
pub(crate) const SPACE_POLL: Duration = Duration::from_millis(2);

/// Whether and how long to wait for space.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Wait {
    /// Return `None` at once when the ring is full.
    No,
    /// Wait until the deadline (`None`: forever).
    Until(Option<Instant>),
}

/// A sender's hold on the ring: its slot (if it has one), its cached copy of `free`, and a
/// flag that lets one thread at a time use the slot (a second thread sending through the same
/// handle at the same moment borrows a temporary slot instead of waiting).
#[derive(Debug)]
pub(crate) struct SenderHandle {
    /// The registered slot; `None` when the table was full at registration (each send then
    /// borrows one).
    slot: Option<u32>,
    busy: AtomicBool,
    /// This sender's copy of the release cursor, refreshed only when it says "full"; possibly
    /// stale (lower than the real one), which only ever makes the sender look again.
    cached_free: AtomicU64,
    /// A multiple of the capacity at or below the tail last seen (see [`Ring::offset`]).
    lap: AtomicU64,
    /// When (coarse monotonic nanoseconds) the receiver was last found alive.
    checked_at: AtomicU64,
}

impl SenderHandle {
    /// Registers a sender: takes a slot in state `Sender`.
    ///
    /// # Errors
    /// [`Error::TooManySenders`] if every slot is held by a live sender.
    pub(crate) fn register(ring: &Ring) -> Result<SenderHandle> {
        ring.check_not_inherited("sender's channel", op::REGISTER_SENDER)?;
        let slot = ring.claim_slot(SlotState::Sender)?;
        Ok(Self::with(ring, Some(slot)))
    }

    /// A sender without a slot of its own: every send borrows one.
    pub(crate) fn unregistered(ring: &Ring) -> SenderHandle {
        Self::with(ring, None)
    }

    fn with(ring: &Ring, slot: Option<u32>) -> SenderHandle {
        SenderHandle {
            slot,
            busy: AtomicBool::new(false),
            cached_free: AtomicU64::new(ring.free().load(Ordering::Acquire)),
            lap: AtomicU64::new(0),
            // Check the receiver on the first send.
            checked_at: AtomicU64::new(clock::coarse_nanos().wrapping_sub(u64::MAX / 2)),
        }
    }

    /// The registered slot, if any.
    pub(crate) fn slot(&self) -> Option<u32> {
        self.slot
    }

    /// Gives the registered slot back (the sender is dropped).
    pub(crate) fn unregister(&self, ring: &Ring) {
        if let Some(i) = self.slot {
            ring.release_slot(i);
        }
    }

    /// Runs `f` with exclusive use of a slot (see [`SenderHandle::hold_slot`]).
    #[cfg(test)]
    pub(crate) fn with_slot<R>(
        &self,
        ring: &Ring,
        f: impl FnOnce(&SenderSlot) -> Result<R>,
    ) -> Result<R> {
        let hold = self.hold_slot(ring)?;
        f(hold.slot())
    }

    /// Exclusive use of a slot until the returned guard is dropped: the registered one, or,
    /// while another thread uses that, one borrowed for as long as the guard lives (given back
    /// even if the holder unwinds); when no slot is free to borrow, it waits for the
    /// registered one.
    #[cfg(test)]
    pub(crate) fn hold_slot<'a>(&'a self, ring: &'a Ring) -> Result<SlotHold<'a>> {
        Ok(self
            .hold_slot_within(ring, Wait::Until(None))?
            .expect("a hold without a deadline waits until it has the slot"))
    }

    /// [`SenderHandle::hold_slot`], waiting for the registered slot (held by a loan, or by
    /// another thread's send) no longer than `wait` allows; `Ok(None)` if it stayed taken.
    #[inline]
    pub(crate) fn hold_slot_within<'a>(
        &'a self,
        ring: &'a Ring,
        wait: Wait,
    ) -> Result<Option<SlotHold<'a>>> {
        if let Some(i) = self.slot {
            if !self.busy.swap(true, Ordering::Acquire) {
                return Ok(Some(SlotHold {
                    ring,
                    index: i,
                    busy: Some(&self.busy),
                }));
            }
        }
        self.hold_slot_slow(ring, wait)
    }

    #[cold]
    fn hold_slot_slow<'a>(&'a self, ring: &'a Ring, wait: Wait) -> Result<Option<SlotHold<'a>>> {
        match (ring.claim_slot(SlotState::Borrowed), self.slot) {
            (Ok(temp), _) => Ok(Some(SlotHold {
                ring,
                index: temp,
                busy: None,
            })),
            // No slot to borrow: wait for our own (another thread of this process is sending
            // through it, or a loan holds it), as a sender of a full table can do no better;
            // no longer than `wait` allows.
            (Err(e), Some(i)) if no_slot_free(&e) => {
                while self.busy.swap(true, Ordering::Acquire) {
                    match wait {
                        Wait::Until(d) if d.is_none_or(|d| Instant::now() < d) => {
                            std::thread::yield_now()
                        }
                        _ => return Ok(None),
                    }
                }
                Ok(Some(SlotHold {
                    ring,
                    index: i,
                    busy: Some(&self.busy),
                }))
            }
            (Err(e), _) => Err(e),
        }
    }
}

/// A sender's exclusive use of a slot (see [`SenderHandle::hold_slot`]). Dropping it marks
/// the registered slot free for the sender's other threads again, or gives a borrowed slot
/// back.
pub(crate) struct SlotHold<'a> {
    ring: &'a Ring,
    index: u32,
    /// The registered slot's busy flag; `None` for a borrowed slot.
    busy: Option<&'a AtomicBool>,
}

impl<'a> SlotHold<'a> {
    /// The slot held.
    #[inline]
    pub(crate) fn slot(&self) -> &'a SenderSlot {
        self.ring.slot(self.index)
    }
}

impl Drop for SlotHold<'_> {
    #[inline]
    fn drop(&mut self) {
        // A copy inherited through fork (a loan held at the fork) gives nothing back on its
        // parent's behalf: the slot is the parent's.
        if self.ring.inherited() {
            return;
        }
        match self.busy {
            Some(busy) => busy.store(false, Ordering::Release),
            None => self.ring.release_slot(self.index),
        }
    }
}

/// Whether `e` is [`Ring::claim_slot`]'s "no slot to take" (all held by senders, or some kept
/// out by read locks of a process that may read the file).
fn no_slot_free(e: &Error) -> bool {
    match e {
        Error::TooManySenders { .. } => true,
        _ => e.io_kind() == Some(std::io::ErrorKind::ResourceBusy),
    }
}

/// Bytes reserved for one message, for its sender alone to fill. [`Reservation::commit`]
/// publishes them; dropping the reservation without committing (an encoding error, or a
/// panic that unwinds through the send) publishes padding instead, so the receiver skips it
/// at once and nobody waits for a record that will never come.
pub(crate) struct Reservation<'a> {
    ring: &'a Ring,
    slot: &'a SenderSlot,
    /// Data offset of the record's length word.
    off: u64,
    /// Bytes of the payload; the record is `record_size(len)` bytes.
    len: u64,
}

impl Reservation<'_> {
    /// The payload bytes to fill. They hold whatever an earlier record left there: the
    /// caller writes every byte before committing.
    #[inline]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `[off, off + record_size(len))` lies inside the data region (`reserve`
        // checked it against `capacity - off`). Until the flag is published, this
        // reservation's sender is the only party that touches these bytes: senders touch only
        // their own reservations, and the receiver stops at the unpublished flag. The slice
        // borrows `self` mutably, so no second slice of it can exist, and it cannot outlive
        // the publication in `commit` or `drop`.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.ring.data_ptr(self.off + RECORD_HEADER),
                self.len as usize,
            )
        }
    }

    /// The payload bytes as possibly uninitialised memory, for a writer that promises (see
    /// `raw::LoanUninit::assume_init`) to initialise every byte before it reads any of them
    /// through [`Reservation::bytes_mut`] or publishes them.
    #[inline]
    pub(crate) fn uninit_mut(&mut self) -> &mut [std::mem::MaybeUninit<u8>] {
        // SAFETY: the bytes are the reservation's alone, as in `bytes_mut`; `MaybeUninit<u8>`
        // has the layout of `u8`, and every value of it may be written, which is all a
        // `&mut [MaybeUninit<u8>]` allows without `unsafe`. Anything that later reads these
        // bytes as `u8` does so only after its caller promised to have initialised them.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.ring.data_ptr(self.off + RECORD_HEADER) as *mut std::mem::MaybeUninit<u8>,
                self.len as usize,
            )
        }
    }

    /// Publishes the filled reservation as a message. A copy of a reservation that a forked
    /// child inherited (a loan held across `fork`) is its parent's: the child publishes
    /// nothing.
    #[inline]
    pub(crate) fn commit(self) {
        crate::fault::point("before-publish");
        let this = std::mem::ManuallyDrop::new(self);
        if this.ring.inherited() {
            return;
        }
        this.ring
            .publish(this.slot, this.off, this.len, FLAG_MESSAGE);
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.ring.inherited() {
            return; // the parent's (see `commit`)
        }
        let size = record_size(self.len).unwrap_or(RECORD_HEADER);
        self.ring.publish(self.slot, self.off, size, FLAG_PADDING);
    }
}

/// Space reserved for a run of messages, published together: one reservation, one
/// publication and at most one wake-up for all of them.
///
/// Records are filled one after another with [`Batch::push`]. Each record's length word and,
/// from the second record on, its commit flag are written as soon as it is filled, but none
/// of it is visible before the first record's flag is published: the receiver reads records
/// in order and stops at that flag. Dropping the batch (committing it, or an error or a panic
/// part-way) publishes the records filled so far, as messages in order, and the rest of the
/// space as one padding record; a batch with nothing filled becomes padding. A sender that
/// dies half-way leaves a reservation the receiver turns into padding whole, clearing the
/// flags inside it (see `Ring::skip_dead_reservation`).
pub(crate) struct Batch<'a> {
    ring: &'a Ring,
    slot: &'a SenderSlot,
    /// Data offset of the reserved space.
    off: u64,
    /// Bytes reserved.
    size: u64,
    /// Bytes of the records filled so far.
    used: u64,
    /// Payload length of the first record (valid once `used > 0`).
    first_len: u64,
}

impl Batch<'_> {
    /// Bytes reserved and not filled yet.
    #[inline]
    pub(crate) fn remaining(&self) -> u64 {
        self.size - self.used
    }

    /// Adds a record of a `len`-byte payload that `fill` writes in full. On `fill`'s error
    /// (or panic) the record is left out and the batch stays as it was.
    ///
    /// # Errors
    /// `fill`'s; [`Error::Encode`] if the record does not fit in what is left of the batch
    /// (a message whose encoding grew after it was sized).
    #[inline]
    pub(crate) fn push(
        &mut self,
        len: u64,
        fill: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<()> {
        let size = match record_size(len) {
            Some(size) if size <= self.remaining() => size,
            _ => {
                return Err(Error::Encode(format!(
                    "a {len}-byte message does not fit in the {} bytes left of its batch (a \
                     Serialize implementation that is not deterministic?)",
                    self.remaining().saturating_sub(RECORD_HEADER)
                )))
            }
        };
        let at = self.off + self.used;
        // SAFETY: `[at, at + size)` lies inside the batch (checked above), which lies inside
        // the data region; the batch's bytes are its sender's alone until it is published
        // (as for `Reservation::bytes_mut`), and the slice does not outlive this call.
        let payload = unsafe {
            std::slice::from_raw_parts_mut(self.ring.data_ptr(at + RECORD_HEADER), len as usize)
        };
        fill(payload)?;
        self.ring.length_word(at).store(len, Ordering::Relaxed);
        if self.used == 0 {
            self.first_len = len;
        } else {
            // Not visible before the first record's flag is published (Release, SeqCst).
            self.ring.flag(at).store(FLAG_MESSAGE, Ordering::Relaxed);
        }
        self.used += size;
        Ok(())
    }

    /// Publishes the records filled so far (dropping does the same).
    #[inline]
    pub(crate) fn commit(self) {}
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        crate::fault::point("before-publish");
        if self.ring.inherited() {
            return; // a forked child's copy is its parent's (see `Reservation::commit`)
        }
        if self.used == 0 {
            self.ring
                .publish(self.slot, self.off, self.size, FLAG_PADDING);
            return;
        }
        if self.used < self.size {
            let at = self.off + self.used;
            self.ring
                .length_word(at)
                .store(self.size - self.used, Ordering::Relaxed);
            self.ring.flag(at).store(FLAG_PADDING, Ordering::Relaxed);
        }
        self.ring
            .publish(self.slot, self.off, self.first_len, FLAG_MESSAGE);
    }
}

impl Ring {
    /// Reserves a record for a payload of `len` bytes through `slot`, on behalf of `handle`.
    /// `Ok(None)`: the ring stayed full (at once for `Wait::No`, or until the deadline).
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if it cannot fit even in an empty ring;
    /// [`Error::Disconnected`] if the receiver is gone (checked on every call from the channel's
    /// state bits, and with a syscall at most every [`LIVENESS_INTERVAL`]).
    #[inline]
    pub(crate) fn reserve<'a>(
        &'a self,
        slot: &'a SenderSlot,
        handle: &SenderHandle,
        len: u64,
        wait: Wait,
    ) -> Result<Option<Reservation<'a>>> {
        let size = self.record_size_of(len)?;
        Ok(self
            .reserve_space(slot, handle, size, wait)?
            .map(|off| Reservation {
                ring: self,
                slot,
                off,
                len,
            }))
    }

    /// Reserves `size` bytes (a multiple of 8, at least one record header, at most the
    /// capacity) for a [`Batch`] of records. As [`Ring::reserve`] otherwise.
    ///
    /// # Errors
    /// As [`Ring::reserve`].
    #[inline]
    pub(crate) fn reserve_batch<'a>(
        &'a self,
        slot: &'a SenderSlot,
        handle: &SenderHandle,
        size: u64,
        wait: Wait,
    ) -> Result<Option<Batch<'a>>> {
        if size < RECORD_HEADER || size % 8 != 0 || size > self.capacity() {
            return Err(self.too_large(size.saturating_sub(RECORD_HEADER)));
        }
        Ok(self
            .reserve_space(slot, handle, size, wait)?
            .map(|off| Batch {
                ring: self,
                slot,
                off,
                size,
                used: 0,
                first_len: 0,
            }))
    }

    /// Size of the record of a `len`-byte message.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if it cannot fit even in an empty ring.
    #[inline]
    pub(crate) fn record_size_of(&self, len: u64) -> Result<u64> {
        match record_size(len) {
            Some(size) if size <= self.capacity() => Ok(size),
            _ => Err(self.too_large(len)),
        }
    }

    /// [`Error::MessageTooLarge`] for a message of `len` bytes.
    #[cold]
    pub(crate) fn too_large(&self, len: u64) -> Error {
        Error::MessageTooLarge {
            size: len,
            capacity: self.max_message(),
        }
    }

    /// Reserves `size` bytes (checked by the caller: a multiple of 8, at least 8, at most the
    /// capacity) and returns their data offset.
    #[inline]
    fn reserve_space(
        &self,
        slot: &SenderSlot,
        handle: &SenderHandle,
        size: u64,
        wait: Wait,
    ) -> Result<Option<u64>> {
        // The fast path: the receiver was seen alive recently, the record fits before the end
        // of the region and in the space this sender knows to be free, and the CAS succeeds at
        // the first attempt. Anything else takes the careful path below.
        let cap = self.capacity();
        // A receiver that left cleanly shows in the state bits; one that died is found by
        // its lock, looked at once per interval (a coarse clock read costs a few ns).
        let now = clock::coarse_nanos();
        let word = self.tail().load(Ordering::Relaxed);
        if now.wrapping_sub(handle.checked_at.load(Ordering::Relaxed))
            < LIVENESS_INTERVAL.as_nanos() as u64
            && word & !POSITION_MASK == 0
            && word % 8 == 0
            && word <= MAX_POSITION - cap
        {
            let mut lap = handle.lap.load(Ordering::Relaxed);
            let off = self.offset(word, &mut lap);
            if size <= cap - off && word + size <= handle.cached_free.load(Ordering::Relaxed) + cap
            {
                slot.announce(word, size);
                crate::fault::point("after-announce");
                if self
                    .tail()
                    .compare_exchange(word, word + size, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    crate::fault::point("after-cas");
                    slot.confirm(size);
                    crate::fault::point("after-reserve");
                    handle.lap.store(lap, Ordering::Relaxed);
                    return Ok(Some(off));
                }
            }
        }
        self.reserve_slow(slot, handle, size, wait)
    }

    #[cold]
    #[inline(never)]
    fn reserve_slow(
        &self,
        slot: &SenderSlot,
        handle: &SenderHandle,
        size: u64,
        wait: Wait,
    ) -> Result<Option<u64>> {
        let result = self.reserve_carefully(slot, handle, size, wait);
        if let Err(Error::Disconnected) = result {
            // Look at the receiver again on the next call: a new one may have claimed the
            // channel, and until then every send must report this.
            handle.checked_at.store(
                clock::coarse_nanos().wrapping_sub(u64::MAX / 2),
                Ordering::Relaxed,
            );
        }
        result
    }

    fn reserve_carefully(
        &self,
        slot: &SenderSlot,
        handle: &SenderHandle,
        size: u64,
        wait: Wait,
    ) -> Result<Option<u64>> {
        let cap = self.capacity();
        let now = clock::coarse_nanos();
        if now.wrapping_sub(handle.checked_at.load(Ordering::Relaxed))
            >= LIVENESS_INTERVAL.as_nanos() as u64
        {
            if self.receiver_gone() {
                return Err(Error::Disconnected);
            }
            handle.checked_at.store(now, Ordering::Relaxed);
        }
        let mut lap = handle.lap.load(Ordering::Relaxed);
        let mut word = self.tail().load(Ordering::Relaxed);
        loop {
            if word & (CLOSED | REPLACED) != 0 {
                return Err(Error::Disconnected);
            }
            if word & REPLACING != 0 {
                // A creator is deciding whether to replace the file. It counted the senders
                // and bytes already there; anything reserved now could be lost with the file,
                // so wait for the outcome (microseconds), for as long as its lock says it
                // lives, like for space; without a creator behind it (it died half-way, or
                // the bit was forged), the bit is cleared.
                if !self.creator_deciding() {
                    self.clear_stale_replacing();
                } else {
                    match wait {
                        Wait::Until(deadline) if deadline.is_none_or(|d| Instant::now() < d) => {
                            std::thread::sleep(Duration::from_micros(50));
                        }
                        _ => return Ok(None),
                    }
                }
                word = self.tail().load(Ordering::Acquire);
                continue;
            }
            let tail = word & POSITION_MASK;
            if tail > MAX_POSITION - cap || tail % 8 != 0 {
                return Err(Error::Corrupt(format!(
                    "tail {tail} is not a position a sender can reach"
                )));
            }
            let off = self.offset(tail, &mut lap);
            let room = cap - off;
            let (need, padding) = if size <= room {
                (size, false)
            } else {
                (room, true)
            };
            let mut free = handle.cached_free.load(Ordering::Relaxed);
            if tail + need > free.saturating_add(cap) {
                free = self.free().load(Ordering::Acquire);
                handle.cached_free.store(free, Ordering::Relaxed);
                if tail + need > free.saturating_add(cap) {
                    match wait {
                        Wait::No => return Ok(None),
                        Wait::Until(deadline) => {
                            if !self.wait_for_free(tail + need - cap, tail, deadline)? {
                                return Ok(None);
                            }
                            word = self.tail().load(Ordering::Relaxed);
                            continue;
                        }
                    }
                }
            }
            slot.announce(tail, need);
            crate::fault::point("after-announce");
            match self.tail().compare_exchange_weak(
                word,
                word + need,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    crate::fault::point("after-cas");
                    slot.confirm(need);
                    crate::fault::point("after-reserve");
                    if padding {
                        self.publish(slot, off, need, FLAG_PADDING);
                        word += need;
                        continue;
                    }
                    handle.lap.store(lap, Ordering::Relaxed);
                    return Ok(Some(off));
                }
                Err(current) => word = current,
            }
        }
    }

    /// Sets the record's length word and publishes its flag, then forgets the intent and
    /// wakes the receiver.
    #[inline]
    fn publish(&self, slot: &SenderSlot, off: u64, length: u64, flag: u8) {
        self.length_word(off).store(length, Ordering::Relaxed);
        // SeqCst: releases the payload and length to the receiver's Acquire load of the flag,
        // and orders the flag before the `sleepers` load in `wake_receiver` (see `wait`).
        self.flag(off).swap(flag, Ordering::SeqCst);
        slot.clear();
        self.wake_receiver();
    }

    /// For an async sender whose message of `len` bytes did not fit: announces it as a sleeper
    /// on the senders' word, asking to be woken once the record (and the padding before it,
    /// should it wrap) fits behind the current write position, and re-checks (see `wait`).
    /// `None` if it fits now or the receiver left (try again at once); otherwise the value of
    /// the word to wait on.
    #[cfg(feature = "async")]
    pub(crate) fn announce_space_sleep(&self, len: u64) -> Option<u32> {
        let cap = self.capacity();
        let size = record_size(len).unwrap_or(cap).min(cap);
        let tail = self.tail().load(Ordering::SeqCst) & POSITION_MASK;
        let room = cap - tail % cap;
        let need = if size <= room { size } else { room + size };
        let fits = (tail + need).saturating_sub(cap);
        let target = self.first_wake(fits, tail);
        announce_for_space(&self.header().space_wait, target, || {
            self.free().load(Ordering::SeqCst) >= target || self.receiver_left()
        })
    }

    /// Where a sender that needs `free` to reach `target` first asks to be woken, `reach`
    /// being the write position when it began to wait: once a quarter of the ring more than
    /// it needs is free (or all of it), so that on a machine with fewer cores than processes
    /// it does not run for every few bytes the receiver hands back.
    fn first_wake(&self, target: u64, reach: u64) -> u64 {
        target
            .saturating_add(self.capacity() / 4)
            .min(reach.max(target))
    }

    /// Whether the channel's state bits say the receiver left (closed or replaced); SeqCst,
    /// a sleeper's wake-up condition.
    fn receiver_left(&self) -> bool {
        self.tail().load(Ordering::SeqCst) & (CLOSED | REPLACED) != 0
    }

    /// Waits until `free >= target`. `Ok(false)` on timeout. `reach` is the position up to
    /// which the ring was reserved when the wait began.
    ///
    /// A sleeping sender first asks to be woken once `free` passes `target` by a quarter of
    /// the ring (or reaches `reach`, whichever comes first), so that on a machine with fewer
    /// cores than processes the senders do not take the receiver's core for every few freed
    /// bytes. It also looks on its own every [`SPACE_POLL`], and from then on asks for exactly
    /// `target`: a blocked sender waits at most about [`SPACE_POLL`] after its message fits
    /// and the receiver handed the space back (it does so every `consumer::release_batch`
    /// bytes, at most 4 KiB, and whenever it catches up).
    ///
    /// # Errors
    /// [`Error::Disconnected`] when the receiver is gone (it left, died, or the file was
    /// replaced): at once when it left cleanly, within [`LIVENESS_INTERVAL`] otherwise.
    pub(crate) fn wait_for_free(
        &self,
        target: u64,
        reach: u64,
        deadline: Option<Instant>,
    ) -> Result<bool> {
        let space = || self.free().load(Ordering::SeqCst) >= target;
        let gone = || self.receiver_left();
        let spin_until = Instant::now() + SPIN;
        while Instant::now() < spin_until {
            for _ in 0..64 {
                if space() {
                    return Ok(true);
                }
                std::hint::spin_loop();
            }
        }
        let w = &self.header().space_wait;
        let mut wake_at = self.first_wake(target, reach);
        let mut announced = None;
        let result = (|| {
            let mut next_probe = Instant::now();
            let next_poll = Instant::now() + SPACE_POLL;
            loop {
                if space() {
                    return Ok(true);
                }
                if gone() {
                    return Err(Error::Disconnected);
                }
                let now = Instant::now();
                if now >= next_probe {
                    if self.receiver_gone() {
                        return Err(Error::Disconnected);
                    }
                    next_probe = now + LIVENESS_INTERVAL;
                }
                if now >= next_poll {
                    wake_at = target; // waited long enough: ask for exactly what fits
                }
                let until = next_probe.min(next_poll.max(now + SPACE_POLL));
                let Some(budget) = sleep_budget(deadline, now, until - now) else {
                    return Ok(false);
                };
                announced = Some(wake_at);
                sleep_for_space(w, wake_at, Some(budget), || space() || gone());
            }
        })();
        // Take back a target nobody woke us for (we stopped waiting on our own), so that the
        // receiver does not hand space back early for a sender that no longer waits. Another
        // sleeper's lower target stays; one equal to ours is woken by its own poll.
        if let Some(t) = announced {
            let _ = w
                .target
                .compare_exchange(t, u64::MAX, Ordering::SeqCst, Ordering::Relaxed);
        }
        result
    }
}
