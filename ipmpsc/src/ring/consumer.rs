//! The receiving side of the ring: the receiver claim, reading committed records, freeing them,
//! sleeping when the ring is empty, and skipping the reservations of dead senders.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::senders::{self, CONFIRMED};
use super::{record_size, Ring, FLAG_EMPTY, FLAG_MESSAGE, FLAG_PADDING, RECORD_HEADER};
use crate::sys::process::{self, Liveness};
use crate::{Error, Result};

/// How long a reservation may stay uncommitted before the receiver checks whether its owner is
/// alive. A dead sender's reservation is skipped after at most about this long (plus the time
/// to read the sender table, a few milliseconds).
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_millis(100);

/// How often a sleeping receiver looks again at an uncommitted reservation.
const STALL_POLL: Duration = Duration::from_millis(10);

/// Bytes the receiver consumes before it hands them back to senders (unless a sender is
/// waiting for space, or the receiver is about to wait for data). A quarter of the ring at
/// most, so that senders always find most of it available.
#[inline]
pub(crate) fn release_batch(capacity: u64) -> u64 {
    (capacity / 4).clamp(8, 4096)
}

/// Released ranges up to this many bytes have all their flags reset at once (a few word
/// stores); longer ones, which hold a large record, are walked record by record.
const FLAG_SWEEP_LIMIT: u64 = 4096;

/// `stall_head` value meaning "no reservation is being watched".
pub(crate) const NO_STALL: u64 = u64::MAX;

/// Nanoseconds on a process-wide monotonic clock.
fn monotonic_nanos() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Longest spin the receiver adapts to (see `Ring::adapt_spin`).
const MAX_ADAPTIVE_SPIN: Duration = Duration::from_micros(400);

/// `pause` instructions between two polls of an empty ring while spinning.
const POLL_PAUSES: u32 = 4;

/// Default time a receiver spins on an empty ring before it sleeps on the futex.
pub(crate) const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// A committed message record at the head of the ring.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record {
    pub(crate) pos: u64,
    pub(crate) off: u64,
    pub(crate) len: u64,
    pub(crate) size: u64,
}

impl Ring {
    /// Claims the receiver role for this process; a live holder makes it fail.
    pub(crate) fn claim_receiver(&self) -> Result<()> {
        let claim = &self.header().receiver.0;
        let me = senders::pack(process::current());
        loop {
            let owner = claim.owner.load(Ordering::Acquire);
            if owner != 0 && senders::owner_liveness(owner) == Liveness::Alive {
                return Err(Error::ReceiverAlreadyExists {
                    pid: senders::unpack(owner).pid,
                });
            }
            if claim
                .owner
                .compare_exchange(owner, me, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                claim.claims.fetch_add(1, Ordering::AcqRel);
                // A previous receiver may have died between consuming and releasing.
                if let Err(e) = self.check_cursors() {
                    claim.owner.store(0, Ordering::Release);
                    return Err(e);
                }
                self.release();
                return Ok(());
            }
        }
    }

    /// Gives the receiver role back.
    pub(crate) fn release_receiver(&self) {
        self.release();
        let claim = &self.header().receiver.0;
        let me = senders::pack(process::current());
        let _ = claim
            .owner
            .compare_exchange(me, 0, Ordering::AcqRel, Ordering::Relaxed);
        // Senders blocked on a full ring re-check and report `Disconnected`.
        self.wake_senders();
    }

    /// The next committed message, skipping padding, without waiting.
    #[inline]
    pub(crate) fn peek(&self) -> Result<Option<Record>> {
        let cap = self.capacity();
        loop {
            let head = self.head().load(Ordering::Relaxed);
            if head > super::MAX_POSITION || head % 8 != 0 {
                return Err(Error::Corrupt(format!(
                    "head {head} is not a position a receiver can reach"
                )));
            }
            let off = self.offset(head, &self.consumer_lap);
            match self.flag(off).load(Ordering::Acquire) {
                FLAG_EMPTY => {
                    // Caught up: hand consumed space back before reporting "nothing".
                    self.release();
                    return Ok(None);
                }
                FLAG_MESSAGE => {
                    let len = self.length_word(off).load(Ordering::Relaxed);
                    return match record_size(len) {
                        Some(size) if size <= cap - off => Ok(Some(Record {
                            pos: head,
                            off,
                            len,
                            size,
                        })),
                        _ => Err(Error::Corrupt(format!(
                            "record at position {head} claims {len} bytes, more than the {} bytes \
                             left before the end of the ring",
                            cap - off - RECORD_HEADER.min(cap - off)
                        ))),
                    };
                }
                FLAG_PADDING => {
                    let skip = self.length_word(off).load(Ordering::Relaxed);
                    if skip < RECORD_HEADER || skip % 8 != 0 || skip > cap - off {
                        return Err(Error::Corrupt(format!(
                            "padding at position {head} claims {skip} bytes; {} bytes are left \
                             before the end of the ring",
                            cap - off
                        )));
                    }
                    self.advance(head, skip);
                }
                other => {
                    return Err(Error::Corrupt(format!(
                        "commit flag {other} at position {head} is not a record state"
                    )))
                }
            }
        }
    }

    /// The payload of a record returned by [`Ring::peek`].
    ///
    /// # Safety
    /// `r` must come from `peek` on this ring and not be consumed yet; the slice must not be
    /// used after [`Ring::consume`] of `r`.
    #[inline]
    pub(crate) unsafe fn payload(&self, r: &Record) -> &[u8] {
        // SAFETY: `peek` checked `off + size <= cap` with `len + 8 <= size`, so the bytes lie in
        // the data region. The record is committed (its flag was loaded with Acquire, which
        // synchronises with the sender's publication), and no sender writes it again before the
        // head passes it, which happens only in `consume` (caller's contract).
        unsafe { std::slice::from_raw_parts(self.data_ptr(r.off + RECORD_HEADER), r.len as usize) }
    }

    /// Marks a record returned by [`Ring::peek`] as consumed; its bytes go back to senders at
    /// the next [`Ring::release`].
    #[inline]
    pub(crate) fn consume(&self, r: &Record) {
        self.advance(r.pos, r.size);
    }

    #[inline]
    fn advance(&self, pos: u64, size: u64) {
        let head = pos + size;
        // Release: a receiver that takes over after a crash sees the records before `head` as
        // consumed; nobody else reads `head` on a hot path.
        self.head().store(head, Ordering::Release);
        let pending = head.wrapping_sub(self.free().load(Ordering::Relaxed));
        if pending >= release_batch(self.capacity()) {
            // Senders that found the ring full sleep until a quarter of it is free: waking them
            // for every batch would have them fill a few slots each and sleep again, and on a
            // machine with fewer cores than processes, take the receiver's core to do it.
            if self.header().space_wait.0.sleepers.load(Ordering::Relaxed) == 0
                || pending >= self.capacity() / 4
            {
                self.release();
            }
        }
    }

    /// Gives the consumed bytes `[free, head)` back to senders: resets their commit flags, then
    /// moves `free` up to `head` and wakes sleeping senders.
    pub(crate) fn release(&self) {
        let cap = self.capacity();
        let head = self.head().load(Ordering::Relaxed);
        let free = self.free().load(Ordering::Relaxed);
        if head <= free || head - free > cap || (head | free) % 8 != 0 {
            return; // nothing to do, or cursors a corrupt process wrote: leave them alone
        }
        if head - free <= FLAG_SWEEP_LIMIT {
            self.clear_positions(free, head);
        } else {
            // A large record: only record starts hold a flag, so reset those instead of one
            // flag byte per word of payload (1.5 MB of writes for a 12 MB frame).
            let mut pos = free;
            while pos < head {
                let off = pos % cap;
                let size = match self.flag(off).load(Ordering::Relaxed) {
                    FLAG_MESSAGE => record_size(self.length_word(off).load(Ordering::Relaxed)),
                    FLAG_PADDING => Some(self.length_word(off).load(Ordering::Relaxed)),
                    _ => None,
                };
                match size {
                    Some(size)
                        if size >= RECORD_HEADER
                            && size % 8 == 0
                            && size <= (head - pos).min(cap - off) =>
                    {
                        self.flag(off).store(FLAG_EMPTY, Ordering::Relaxed);
                        pos += size;
                    }
                    // Bytes changed since they were consumed (a corrupt process): fall back
                    // to resetting every flag that is left.
                    _ => {
                        self.clear_positions(pos, head);
                        break;
                    }
                }
            }
        }
        // SeqCst: releases the flag resets to the senders that reserve these bytes next, and
        // orders `free` before the `sleepers` load in `wake_senders` (module docs).
        self.free().store(head, Ordering::SeqCst);
        self.wake_senders();
    }

    /// Resets every commit flag of the positions `[from, to)` (at most one lap).
    fn clear_positions(&self, from: u64, to: u64) {
        let cap = self.capacity();
        let start = from % cap;
        let end = start + (to - from);
        if end <= cap {
            self.clear_flags(start, end);
        } else {
            self.clear_flags(start, cap);
            self.clear_flags(0, end - cap);
        }
    }

    /// Waits for the next committed message: spins for `spin`, then sleeps on the futex until
    /// `deadline` (`None`: forever). Skips the reservations of dead senders on the way.
    pub(crate) fn wait_record(
        &self,
        spin: Duration,
        deadline: Option<Instant>,
    ) -> Result<Option<Record>> {
        if let Some(r) = self.peek()? {
            return Ok(Some(r));
        }
        let start = Instant::now();
        let spin = spin.max(Duration::from_nanos(
            self.adaptive_spin.load(Ordering::Relaxed),
        ));
        let spin_until = deadline.map_or(start + spin, |d| d.min(start + spin));
        while Instant::now() < spin_until {
            for _ in 0..16 {
                if let Some(r) = self.peek()? {
                    return Ok(Some(r));
                }
                // Poll the head's flag line only every few pauses: a receiver that re-reads it
                // in a tight loop steals it from the sender at every commit.
                for _ in 0..POLL_PAUSES {
                    std::hint::spin_loop();
                }
            }
        }
        let w = &self.header().data_wait.0;
        let sleep_start = Instant::now();
        loop {
            if let Some(r) = self.poll()? {
                self.adapt_spin(spin, sleep_start.elapsed());
                return Ok(Some(r));
            }
            let head = self.head().load(Ordering::Relaxed);
            let now = Instant::now();
            let mut timeout = match deadline {
                Some(d) if now >= d => return Ok(None),
                Some(d) => Some(d - now),
                None => None,
            };
            if self.tail().load(Ordering::Acquire) != head {
                // A reservation at the head is not committed yet: look again soon, in case its
                // owner died.
                timeout = Some(timeout.map_or(STALL_POLL, |t| t.min(STALL_POLL)));
            }
            super::sleep_unless(w, timeout, || {
                self.flag(self.offset(head, &self.consumer_lap))
                    .load(Ordering::SeqCst)
                    != FLAG_EMPTY
            });
        }
    }

    /// Adjusts the spin after a wait that ended in a sleep. A message that came soon after the
    /// receiver fell asleep means the spin was just too short: a sender that answers a request
    /// usually needs about as long as the kernel takes to wake a sleeper, and two processes
    /// that keep missing each other's spin fall into a convoy of futex wake-ups (tens of
    /// microseconds per message on a VM). So the spin doubles, up to [`MAX_ADAPTIVE_SPIN`] (never from a
    /// configured spin of zero);
    /// a long sleep (the channel went quiet) sets it back to the configured one.
    pub(crate) fn adapt_spin(&self, spin: Duration, slept: Duration) {
        if spin.is_zero() {
            return; // the user asked for no spinning at all
        }
        let next = if slept <= spin * 2 {
            (spin * 2).min(MAX_ADAPTIVE_SPIN)
        } else if slept >= MAX_ADAPTIVE_SPIN * 10 {
            Duration::ZERO
        } else {
            return;
        };
        self.adaptive_spin
            .store(next.as_nanos() as u64, Ordering::Relaxed);
    }

    /// [`Ring::peek`], and if the head is a reservation that has stayed uncommitted for
    /// [`STALL_TIMEOUT`] (counted across calls), a check whether its owner died.
    #[inline]
    pub(crate) fn poll(&self) -> Result<Option<Record>> {
        if let Some(r) = self.peek()? {
            return Ok(Some(r));
        }
        let head = self.head().load(Ordering::Relaxed);
        if self.tail().load(Ordering::Acquire) == head {
            self.stall_head.store(NO_STALL, Ordering::Relaxed);
            return Ok(None);
        }
        let now = monotonic_nanos();
        if self.stall_head.load(Ordering::Relaxed) != head {
            self.stall_head.store(head, Ordering::Relaxed);
            self.stall_since.store(now, Ordering::Relaxed);
            return Ok(None);
        }
        if now.saturating_sub(self.stall_since.load(Ordering::Relaxed))
            < STALL_TIMEOUT.as_nanos() as u64
        {
            return Ok(None);
        }
        if self.skip_dead_reservation(head)? {
            self.peek()
        } else {
            // The owner lives (or nobody can tell): start the clock again.
            self.stall_since.store(now, Ordering::Relaxed);
            Ok(None)
        }
    }

    /// Whether nothing is reserved beyond the head.
    pub(crate) fn is_empty(&self) -> bool {
        self.tail().load(Ordering::Acquire) == self.head().load(Ordering::Relaxed)
    }

    /// Skips every reservation at the head whose owner is dead, without waiting for
    /// [`STALL_TIMEOUT`]: for when all senders are known to be gone. Returns the first committed
    /// message behind them, if any.
    pub(crate) fn skip_dead_now(&self) -> Result<Option<Record>> {
        loop {
            if let Some(r) = self.peek()? {
                return Ok(Some(r));
            }
            let head = self.head().load(Ordering::Relaxed);
            if self.tail().load(Ordering::Acquire) == head || !self.skip_dead_reservation(head)? {
                return Ok(None);
            }
        }
    }

    /// If every sender announcing the reservation at `head` is dead, turns it into padding and
    /// frees their slots. `Ok(true)` if the reservation is gone (skipped or committed).
    fn skip_dead_reservation(&self, head: u64) -> Result<bool> {
        let cap = self.capacity();
        let off = self.offset(head, &self.consumer_lap);
        let mut dead: Vec<(u32, u64, u64)> = Vec::new();
        for i in 0..self.max_senders() {
            let s = self.slot(i);
            let len = s.intent_len.load(Ordering::Acquire);
            if len == 0 || s.intent_pos.load(Ordering::Acquire) != head {
                continue;
            }
            let owner = s.owner.load(Ordering::Acquire);
            if senders::owner_liveness(owner) == Liveness::Alive {
                return Ok(false);
            }
            dead.push((i, owner, len));
        }
        if self.flag(off).load(Ordering::Acquire) != FLAG_EMPTY {
            return Ok(true);
        }
        if dead.is_empty() {
            return Ok(false);
        }
        let confirmed: Vec<u64> = dead
            .iter()
            .map(|d| d.2)
            .filter(|l| l & CONFIRMED != 0)
            .collect();
        let size = match confirmed.as_slice() {
            [one] => one & !CONFIRMED,
            _ if dead
                .iter()
                .all(|d| d.2 & !CONFIRMED == dead[0].2 & !CONFIRMED) =>
            {
                dead[0].2 & !CONFIRMED
            }
            _ => {
                return Err(Error::Corrupt(format!(
                    "several dead senders announced position {head} with different sizes; \
                     cannot tell which reservation is real"
                )))
            }
        };
        let tail = self.tail().load(Ordering::Acquire);
        if size < RECORD_HEADER || size % 8 != 0 || size > cap - off || head + size > tail {
            return Err(Error::Corrupt(format!(
                "dead sender's reservation at position {head} of {size} bytes does not fit"
            )));
        }
        self.length_word(off).store(size, Ordering::Relaxed);
        self.flag(off).store(FLAG_PADDING, Ordering::Release);
        for (i, owner, _) in dead {
            let s = self.slot(i);
            s.intent_len.store(0, Ordering::Release);
            let _ = s
                .owner
                .compare_exchange(owner, 0, Ordering::AcqRel, Ordering::Relaxed);
        }
        self.header()
            .receiver
            .0
            .skipped_reservations
            .fetch_add(1, Ordering::Relaxed);
        Ok(true)
    }

    /// Number of senders registered by live processes.
    pub(crate) fn live_senders(&self) -> usize {
        let mut seen: Vec<(u64, bool)> = Vec::new();
        let mut count = 0;
        for i in 0..self.max_senders() {
            let owner = self.slot(i).owner.load(Ordering::Acquire);
            if owner == 0 {
                continue;
            }
            let alive = match seen.iter().find(|(o, _)| *o == owner) {
                Some((_, alive)) => *alive,
                None => {
                    let alive = senders::owner_liveness(owner) == Liveness::Alive;
                    seen.push((owner, alive));
                    alive
                }
            };
            count += usize::from(alive);
        }
        count
    }

    /// Whether senders existed and none is alive now.
    pub(crate) fn senders_gone(&self) -> bool {
        self.header()
            .receiver
            .0
            .sender_registrations
            .load(Ordering::Acquire)
            != 0
            && self.live_senders() == 0
    }

    /// Number of dead senders' reservations skipped over the channel's life.
    #[cfg(test)]
    pub(crate) fn skipped_reservations(&self) -> u64 {
        self.header()
            .receiver
            .0
            .skipped_reservations
            .load(Ordering::Relaxed)
    }
}
