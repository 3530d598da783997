//! The receiving side of the ring: the [`Consumer`] that holds the receiver role, reads
//! committed records through [`RecordRef`] guards, frees them, sleeps when the ring is empty,
//! skips the reservations of dead senders, and notices when every sender has left.
//!
//! The consumer keeps `head` and `free` privately: the file's copies are written for others and
//! read back only when a receiver claims the channel, so bytes scribbled over them later cannot
//! move the receiver. Everything it reads from the mapping on the way (flags and lengths on
//! every record; the tail whenever the ring looks empty, not on the hot path, where reading
//! the senders' cache line would cost a transfer per message) is checked against what it
//! knows; an impossible value is `Error::Corrupt`, reported from then on, never a wait that
//! cannot end. A length forged to jump past the write position therefore delivers at most one
//! garbage record before the next look at the tail reports the corruption.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;

use super::peers::{Claim, Stalled, LIVENESS_INTERVAL};
use super::record::{Ready, Record, RecordRef};
use super::wait::{announce, sleep_unless};
use super::{
    record_size, Ring, FLAG_EMPTY, FLAG_MESSAGE, FLAG_PADDING, POSITION_MASK, RECORD_HEADER,
};
use crate::error::op;
use crate::{Error, Result};

/// How long a reservation may stay uncommitted before the receiver checks whether its owner is
/// alive. A dead sender's reservation is skipped after about this long.
pub(crate) const STALL_TIMEOUT: Duration = Duration::from_millis(100);

/// How often a sleeping receiver looks again at an uncommitted reservation.
const STALL_POLL: Duration = Duration::from_millis(10);

/// Bytes the receiver consumes before it hands them back to senders (and always when it is
/// about to wait for data): a quarter of the ring at most, so that senders always find most
/// of it available, and at most 4 KiB. Senders that sleep on a full ring are woken only once
/// the space they asked for is back (see `Ring::wait_for_free`); a sender that spins, or looks
/// on its own after a sleep, sees it come back a batch at a time.
#[inline]
pub(crate) fn release_batch(capacity: u64) -> u64 {
    (capacity / 4).clamp(8, 4096)
}

/// Released ranges up to this many bytes have all their flags reset at once (a few word
/// stores); longer ones, which hold a large record, are walked record by record.
const FLAG_SWEEP_LIMIT: u64 = 4096;

/// Longest spin the receiver adapts to (see [`Consumer::adapt_spin`]).
const MAX_ADAPTIVE_SPIN: Duration = Duration::from_micros(400);

/// `pause` instructions between two polls of an empty ring while spinning.
const POLL_PAUSES: u32 = 4;

/// Default time a receiver spins on an empty ring before it sleeps on the futex.
pub(crate) const DEFAULT_SPIN: Duration = Duration::from_micros(50);

/// What the consumer knows about the senders, for "everyone left" (typed receivers only).
#[derive(Debug, Clone, Copy)]
struct SendersWatch {
    /// `registrations` when last looked at.
    seen_registrations: u64,
    /// `attached` when last looked at.
    seen_attached: u64,
    /// A sender was there since "everyone left" was last reported (or since the claim).
    armed: bool,
    /// When to look for dead senders next.
    next_reap: Instant,
}

/// A sleep [`Consumer::announce_sleep`] prepared: wait on `word` while it holds `seq`, for at
/// most `cap`.
pub(crate) struct Sleep {
    pub(crate) ring: Arc<Ring>,
    pub(crate) seq: u32,
    pub(crate) cap: Option<Duration>,
}

impl Sleep {
    /// The futex word to sleep on.
    pub(crate) fn word(&self) -> &std::sync::atomic::AtomicU32 {
        &self.ring.header().data_wait.seq
    }
}

/// The receiver role of one process over a ring: claimed on construction, given back on drop.
pub(crate) struct Consumer {
    pub(super) ring: Arc<Ring>,
    /// Position of the next record to read.
    head: u64,
    /// Everything below it is handed back to senders.
    free: u64,
    /// A copy of `tail` (position only), reloaded when a record seems to cross it.
    tail: u64,
    /// See [`Ring::offset`].
    lap: u64,
    /// An uncommitted reservation at the head and when it was first seen; kept across calls so
    /// that polling and short timeouts still get past a dead sender.
    stall: Option<(u64, Instant)>,
    spin: Duration,
    /// Spin adapted to a request/response peer (zero: the configured one).
    adaptive_spin: Duration,
    /// A record handed out with [`RecordRef::park`]: consumed at the start of the next call.
    pub(super) pending: Option<Record>,
    senders: Option<SendersWatch>,
    /// The first `Corrupt` diagnosis; the channel is unusable from then on.
    broken: Option<String>,
    /// A temporary channel whose file goes with its receiver (see
    /// [`Consumer::remove_file_on_drop`]).
    remove_file: bool,
    /// In acknowledged mode (see [`Consumer::hold_until_acknowledged`]): the position up to
    /// which records are acknowledged. Records between it and `head` have been read but stay
    /// in the ring, and a receiver that claims the channel next reads them again.
    acked: Option<u64>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("head", &self.head)
            .field("free", &self.free)
            .field("spin", &self.spin)
            .finish_non_exhaustive()
    }
}

/// What claiming a ring found.
// Built once per claim and unpacked at once: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Claimed {
    /// The receiver role is ours.
    Consumer(Consumer),
    /// The file was replaced at its path (open the path again).
    Replaced,
}

impl Consumer {
    /// An error if this consumer is a copy a forked child inherited (see
    /// `Ring::check_not_inherited`).
    #[inline]
    pub(crate) fn check_not_inherited(&self) -> Result<()> {
        self.ring.check_not_inherited("receiver", op::RECEIVE)
    }

    /// Whether this consumer is a copy a forked child inherited (it must not give the role
    /// back, nor consume anything, on the parent's behalf).
    #[inline]
    pub(crate) fn inherited(&self) -> bool {
        self.ring.inherited()
    }

    /// Claims the receiver role of `ring`. A previous receiver that died between consuming and
    /// releasing has its consumed space released now.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a receiver holds the channel; [`Error::Corrupt`] if
    /// its cursors are impossible.
    pub(crate) fn claim(ring: Arc<Ring>) -> Result<Claimed> {
        let (head, free, tail) = match ring.claim_receiver()? {
            Claim::Claimed { head, free, tail } => (head, free, tail),
            Claim::Replaced => return Ok(Claimed::Replaced),
        };
        let mut consumer = Consumer {
            ring,
            head,
            free,
            tail,
            lap: 0,
            stall: None,
            spin: DEFAULT_SPIN,
            adaptive_spin: Duration::ZERO,
            pending: None,
            senders: None,
            broken: None,
            remove_file: false,
            acked: None,
        };
        consumer.release();
        Ok(Claimed::Consumer(consumer))
    }

    /// Number of committed messages, at most `limit`, that the receiver could take now one
    /// after another (see [`Ring::committed_messages`]); a record parked by a view that was
    /// handed out already does not count.
    pub(crate) fn queued(&self, limit: usize) -> usize {
        if self.broken.is_some() {
            return 0;
        }
        let from = self.pending.map_or(self.head, |r| r.pos + r.size);
        self.ring.committed_messages(from, limit)
    }

    /// Removes the channel's file (a temporary one) when the consumer is dropped, rather than
    /// when the last `Arc` of its ring goes: the async waiter thread holds the rings it sleeps
    /// on for a moment after their futures went away, and a process that exits meanwhile
    /// would leave the file behind.
    pub(crate) fn remove_file_on_drop(&mut self) {
        self.remove_file = true;
    }

    /// From now on records that are read stay in the ring until [`Consumer::acknowledge`]
    /// passes them: the space goes back to senders only then, and the file's read cursor
    /// (where the next receiver to claim the channel starts) stays at the acknowledged
    /// position, so a receiver that dies re-delivers what it read but had not acknowledged.
    pub(crate) fn hold_until_acknowledged(&mut self) {
        self.free_pending();
        if self.acked.is_none() {
            self.acked = Some(self.head);
        }
    }

    /// The position of the next record to read: the end of the last one read.
    pub(crate) fn read_position(&self) -> u64 {
        self.pending.map_or(self.head, |r| r.pos + r.size)
    }

    /// In acknowledged mode, the position up to which records are acknowledged.
    pub(crate) fn acknowledged(&self) -> Option<u64> {
        self.acked
    }

    /// Acknowledges every record read that ends at or before `through`, which must lie
    /// between the acknowledged position and [`Consumer::read_position`] (the caller passes
    /// the end of a record it read): they are handed back to senders, and a receiver that
    /// claims the channel after this one starts there. `false`, and nothing changes, if the
    /// consumer is not in acknowledged mode or `through` is out of that range.
    pub(crate) fn acknowledge(&mut self, through: u64) -> bool {
        let Some(acked) = self.acked else {
            return false;
        };
        if through < acked || through > self.read_position() || !self.ends_a_record(acked, through)
        {
            return false;
        }
        if self.inherited() {
            return true; // a forked child's copy moves nothing on the parent's behalf
        }
        self.acked = Some(through);
        // Release: a receiver that claims the channel after a crash starts here.
        self.ring.head().store(through, Ordering::Release);
        self.release();
        true
    }

    /// Whether `to` is where a record read since `from` ends (or padding after one), not a
    /// position inside one: the records between them are walked by their flags and lengths,
    /// which stay as they were read until they are acknowledged.
    fn ends_a_record(&self, from: u64, to: u64) -> bool {
        let ring = &*self.ring;
        let cap = ring.capacity();
        let mut pos = from;
        while pos < to {
            let off = pos % cap;
            match ring.read_record_size(off, cap - off) {
                Some(size) => pos += size,
                None => return false,
            }
        }
        pos == to
    }

    /// Sets the spin before sleeping.
    pub(crate) fn set_spin(&mut self, spin: Duration) {
        self.spin = spin;
        self.adaptive_spin = Duration::ZERO;
    }

    /// The configured spin.
    pub(crate) fn spin(&self) -> Duration {
        self.spin
    }

    /// Reports `Error::Disconnected` once each time every sender has left and the ring is
    /// drained (see [`Consumer::wait`]).
    pub(crate) fn watch_senders(&mut self) {
        let seen_registrations = self.ring.registrations();
        let seen_attached = self.ring.attached();
        // Senders already there count as having come; asked of the counter and, should it
        // have been written wrong, of the slots' locks.
        let armed = seen_attached > 0 || self.ring.live_senders() > 0;
        self.senders = Some(SendersWatch {
            seen_registrations,
            seen_attached,
            armed,
            next_reap: Instant::now(),
        });
    }

    /// Records the first corruption found; the consumer reports it from then on.
    fn corrupt(&mut self, why: String) -> Error {
        Error::Corrupt(self.broken.get_or_insert(why).clone())
    }

    fn check_broken(&self) -> Result<()> {
        match &self.broken {
            None => Ok(()),
            Some(why) => Err(Error::Corrupt(why.clone())),
        }
    }

    /// Consumes the record parked by [`RecordRef::park`], if any.
    #[inline]
    fn free_pending(&mut self) {
        if self.pending.is_some() {
            self.free_pending_now();
        }
    }

    #[inline(never)]
    fn free_pending_now(&mut self) {
        if let Some(r) = self.pending.take() {
            self.advance(r.pos, r.size);
        }
    }

    /// The write position, checked against the read position.
    fn load_tail(&mut self) -> Result<u64> {
        let tail = self.ring.tail().load(Ordering::Acquire) & POSITION_MASK;
        if tail < self.head || tail - self.head > self.ring.capacity() || tail % 8 != 0 {
            let why = format!(
                "write position {tail} is behind the read position {} or more than the \
                 capacity {} ahead of it",
                self.head,
                self.ring.capacity()
            );
            return Err(self.corrupt(why));
        }
        self.tail = tail;
        Ok(tail)
    }

    /// The next committed message, skipping padding, without waiting.
    #[inline]
    fn peek(&mut self) -> Result<Option<Record>> {
        self.check_broken()?;
        let cap = self.ring.capacity();
        loop {
            let head = self.head;
            if head - self.free >= cap {
                // Every byte of the ring holds records read but not acknowledged (see
                // `hold_until_acknowledged`): the flag here is the oldest one's, and no sender
                // can write until it is acknowledged.
                return Ok(None);
            }
            let off = self.ring.offset(head, &mut self.lap);
            match self.ring.flag(off).load(Ordering::Acquire) {
                FLAG_EMPTY => {
                    // Caught up: hand consumed space back before reporting "nothing".
                    if self.free != self.acked.unwrap_or(head) {
                        self.release();
                    }
                    return Ok(None);
                }
                FLAG_MESSAGE => {
                    return match self.message_at(head, off) {
                        Ok(record) => Ok(Some(record)),
                        Err(len) => {
                            let why = format!(
                                "record at position {head} claims {len} bytes, more than the {} \
                                 bytes left before the end of the ring",
                                (cap - off).saturating_sub(RECORD_HEADER)
                            );
                            Err(self.corrupt(why))
                        }
                    };
                }
                FLAG_PADDING => {
                    let skip = self.ring.length_word(off).load(Ordering::Relaxed);
                    if skip < RECORD_HEADER || skip % 8 != 0 || skip > cap - off {
                        let why = format!(
                            "padding at position {head} claims {skip} bytes; {} bytes are left \
                             before the end of the ring",
                            cap - off
                        );
                        return Err(self.corrupt(why));
                    }
                    self.advance(head, skip);
                }
                other => {
                    let why =
                        format!("commit flag {other} at position {head} is not a record state");
                    return Err(self.corrupt(why));
                }
            }
        }
    }

    #[inline]
    pub(super) fn advance(&mut self, pos: u64, size: u64) {
        let head = pos + size;
        self.head = head;
        if self.acked.is_some() {
            return; // given back by `acknowledge`
        }
        // Release: a receiver that takes over after a crash sees the records before `head` as
        // consumed; nobody reads `head` on a hot path.
        self.ring.head().store(head, Ordering::Release);
        // Not also when a sleeping sender's target is reached: with several senders asleep,
        // that hands space back (and wakes them) every few messages, which costs fan-in a
        // sixth of its throughput; a sleeping sender looks on its own every `SPACE_POLL`.
        if head - self.free >= release_batch(self.ring.capacity()) {
            self.release();
        }
    }

    /// Gives the consumed bytes `[free, head)` back to senders: resets their commit flags, then
    /// moves `free` up to `head` and wakes senders whose message fits now.
    fn release(&mut self) {
        let (head, free) = (self.acked.unwrap_or(self.head), self.free);
        if head == free {
            return;
        }
        let ring = &*self.ring;
        let cap = ring.capacity();
        if head - free <= FLAG_SWEEP_LIMIT {
            ring.clear_positions(free, head);
        } else {
            // A large record: only record starts hold a flag, so reset those instead of one
            // flag byte per word of payload (1.5 MB of writes for a 12 MB frame).
            let mut pos = free;
            while pos < head {
                let off = pos % cap;
                match ring.read_record_size(off, (head - pos).min(cap - off)) {
                    Some(size) => {
                        ring.flag(off).store(FLAG_EMPTY, Ordering::Relaxed);
                        pos += size;
                    }
                    // Bytes changed since they were consumed (a corrupt process): reset every
                    // flag that is left.
                    _ => {
                        ring.clear_positions(pos, head);
                        break;
                    }
                }
            }
        }
        self.free = head;
        // SeqCst: releases the flag resets to the senders that reserve these bytes next, and
        // orders `free` before the loads in `wake_senders_for` (see `wait`).
        ring.free().store(head, Ordering::SeqCst);
        ring.wake_senders_for(head);
    }

    /// [`Consumer::peek`], and if the head is a reservation that has stayed uncommitted for
    /// [`STALL_TIMEOUT`] (counted across calls), a check whether its owners died.
    fn poll_record(&mut self) -> Result<Option<Record>> {
        if let Some(r) = self.peek()? {
            return Ok(Some(r));
        }
        let head = self.head;
        if self.load_tail()? == head {
            self.stall = None;
            return Ok(None);
        }
        let now = Instant::now();
        match self.stall {
            Some((pos, since)) if pos == head => {
                if now.duration_since(since) < STALL_TIMEOUT {
                    return Ok(None);
                }
            }
            _ => {
                self.stall = Some((head, now));
                return Ok(None);
            }
        }
        self.stalled(head, now)
    }

    /// The reservation at `head` stayed uncommitted long enough: skip it if its owners died.
    fn stalled(&mut self, head: u64, now: Instant) -> Result<Option<Record>> {
        let off = self.ring.offset(head, &mut self.lap);
        match self.ring.skip_dead_reservation(head, off, self.tail) {
            Ok(Stalled::Skipped | Stalled::Committed) => {
                self.stall = None;
                self.peek()
            }
            Ok(Stalled::Alive | Stalled::Undecided) => {
                // Start the clock again.
                self.stall = Some((head, now));
                Ok(None)
            }
            Ok(Stalled::Unannounced) => {
                let why = format!(
                    "position {head} has stayed uncommitted for {STALL_TIMEOUT:?} although no \
                     sender announced a reservation there"
                );
                Err(self.corrupt(why))
            }
            Err(Error::Corrupt(why)) => Err(self.corrupt(why)),
            Err(e) => Err(e),
        }
    }

    /// Skips every dead reservation at the head at once (every sender is gone, so nobody can
    /// commit them): the first committed message behind them, if any.
    fn skip_dead_now(&mut self) -> Result<Option<Record>> {
        loop {
            if let Some(r) = self.peek()? {
                return Ok(Some(r));
            }
            let head = self.head;
            if self.load_tail()? == head {
                return Ok(None);
            }
            let off = self.ring.offset(head, &mut self.lap);
            match self.ring.skip_dead_reservation(head, off, self.tail) {
                Ok(Stalled::Skipped | Stalled::Committed) => continue,
                Ok(Stalled::Alive | Stalled::Undecided) => return Ok(None),
                Ok(Stalled::Unannounced) => {
                    let why = format!(
                        "position {head} is uncommitted, every sender is gone and none \
                         announced a reservation there"
                    );
                    return Err(self.corrupt(why));
                }
                Err(Error::Corrupt(why)) => return Err(self.corrupt(why)),
                Err(e) => return Err(e),
            }
        }
    }

    /// For a typed receiver: `Ok(Some(record))` if every sender is gone and a message is still
    /// queued behind their reservations; `Err(Disconnected)` if every sender that came has
    /// left and nothing is left to read (reported once, then the watch waits for a new
    /// sender); `Ok(None)` otherwise.
    fn check_senders(&mut self, now: Instant) -> Result<Option<Record>> {
        let found = self.look_at_senders(now);
        if let (Err(Error::Disconnected), Some(w)) = (&found, &mut self.senders) {
            w.armed = false;
        }
        found
    }

    /// [`Consumer::check_senders`] without reporting: an end of stream found here is found
    /// again (and reported) by the next receive.
    fn look_at_senders(&mut self, now: Instant) -> Result<Option<Record>> {
        let Some(mut w) = self.senders else {
            return Ok(None);
        };
        let registrations = self.ring.registrations();
        if registrations != w.seen_registrations {
            w.seen_registrations = registrations;
            w.armed = true;
        }
        let mut attached = self.ring.attached();
        if attached > 0 && now >= w.next_reap {
            self.ring.reap_dead_senders(self.head);
            w.next_reap = now + LIVENESS_INTERVAL;
            attached = self.ring.attached();
        }
        w.seen_attached = attached;
        if attached > 0 {
            w.armed = true;
        }
        self.senders = Some(w);
        if attached > 0 || !w.armed {
            return Ok(None);
        }
        if let Some(r) = self.skip_dead_now()? {
            return Ok(Some(r));
        }
        if self.load_tail()? != self.head {
            return Ok(None); // a dead reservation whose size is not known yet
        }
        // The counter says nobody; the locks have the last word (a process with write access
        // could have written the counter).
        if !self.ring.confirm_senders_gone() {
            return Ok(None);
        }
        Err(Error::Disconnected)
    }

    /// Whether the senders changed since [`Consumer::check_senders`] looked (a sleeper's
    /// wake-up condition: SeqCst loads, see `wait`).
    fn senders_changed(&self) -> bool {
        match &self.senders {
            None => false,
            Some(w) => {
                self.ring.registrations() != w.seen_registrations
                    || self.ring.attached() != w.seen_attached
            }
        }
    }

    /// The next committed message if one is ready, without waiting (dead senders' reservations
    /// are skipped once they have stalled for [`STALL_TIMEOUT`], counted across calls).
    ///
    /// # Errors
    /// [`Error::Corrupt`]; for a watching consumer, [`Error::Disconnected`] (see
    /// [`Consumer::watch_senders`]).
    #[inline]
    pub(crate) fn poll(&mut self) -> Result<Option<Ready>> {
        self.free_pending();
        if let Some(r) = self.peek()? {
            return Ok(Some(Ready(r)));
        }
        self.poll_slow()
    }

    #[cold]
    #[inline(never)]
    fn poll_slow(&mut self) -> Result<Option<Ready>> {
        if let Some(r) = self.poll_record()? {
            return Ok(Some(Ready(r)));
        }
        Ok(self.check_senders(Instant::now())?.map(Ready))
    }

    /// Waits for the next committed message: spins for the configured spin, then sleeps on
    /// the futex until `deadline` (`None`: forever). `Ok(None)` on timeout.
    ///
    /// # Errors
    /// As [`Consumer::poll`]; a watching consumer gets `Disconnected` within about
    /// [`LIVENESS_INTERVAL`] of the last sender leaving (at once if it left cleanly).
    #[inline]
    pub(crate) fn wait(&mut self, deadline: Option<Instant>) -> Result<Option<Ready>> {
        self.free_pending();
        if let Some(r) = self.peek()? {
            return Ok(Some(Ready(r)));
        }
        self.wait_slow(deadline)
    }

    #[inline(never)]
    fn wait_slow(&mut self, deadline: Option<Instant>) -> Result<Option<Ready>> {
        let start = Instant::now();
        let spin = self.spin.max(self.adaptive_spin);
        let spin_until = deadline.map_or(start + spin, |d| d.min(start + spin));
        while Instant::now() < spin_until {
            for _ in 0..16 {
                if let Some(r) = self.peek()? {
                    return Ok(Some(Ready(r)));
                }
                // Poll the head's flag line only every few pauses: a receiver that re-reads it
                // in a tight loop steals it from the sender at every commit.
                for _ in 0..POLL_PAUSES {
                    std::hint::spin_loop();
                }
            }
        }
        let sleep_start = Instant::now();
        loop {
            if let Some(r) = self.poll_record()? {
                self.adapt_spin(spin, sleep_start.elapsed());
                return Ok(Some(Ready(r)));
            }
            let now = Instant::now();
            if let Some(r) = self.check_senders(now)? {
                return Ok(Some(Ready(r)));
            }
            let cap = self.sleep_cap();
            let timeout = match deadline {
                Some(d) if now >= d => return Ok(None),
                Some(d) => Some(cap.map_or(d - now, |c| c.min(d - now))),
                None => cap,
            };
            let off = self.ring.offset(self.head, &mut self.lap);
            let ring = &*self.ring;
            // Every byte holds records read but not acknowledged (see `peek`): the flag at the
            // head is the oldest one's, and nothing can come before this consumer acknowledges.
            let held_full = self.head - self.free >= ring.capacity();
            sleep_unless(&ring.header().data_wait, timeout, || {
                (!held_full && ring.flag(off).load(Ordering::SeqCst) != FLAG_EMPTY)
                    || self.senders_changed()
            });
        }
    }

    /// The spin a wait on this consumer starts with (the configured one, or longer once it
    /// adapted to a request/response peer).
    pub(crate) fn wait_spin(&self) -> Duration {
        self.spin.max(self.adaptive_spin)
    }

    /// Whether a receive would return at once, for a wait on several channels: a message is
    /// at the head, or an error is there to report. Looks at the head only (the spin of a
    /// select); [`Consumer::is_ready`] looks at everything. Consumes nothing.
    #[inline]
    pub(crate) fn head_ready(&mut self) -> bool {
        self.free_pending();
        !matches!(self.peek(), Ok(None))
    }

    /// Whether a receive would return at once: a message is at the head (after skipping a
    /// dead sender's reservation that stalled for [`STALL_TIMEOUT`]), every sender is gone
    /// ([`Error::Disconnected`] to report), or another error is. Consumes nothing: the
    /// receive that follows finds the same and reports it.
    pub(crate) fn is_ready(&mut self, now: Instant) -> bool {
        self.free_pending();
        if !matches!(self.poll_record(), Ok(None)) {
            return true;
        }
        !matches!(self.look_at_senders(now), Ok(None))
    }

    /// For a wait on several channels, after [`Consumer::is_ready`] said no: announces this
    /// receiver as a sleeper on the channel's data word and re-checks (see `wait`). `None` if
    /// a message came meanwhile; otherwise the word, the value to sleep on, and how long the
    /// sleep may last before this consumer must look again (at a stalled reservation, or for
    /// senders that died without a word).
    pub(crate) fn announce_sleep(&self) -> Option<Sleep> {
        let ring = &*self.ring;
        let off = self.head % ring.capacity();
        let seq = announce(&ring.header().data_wait, || {
            ring.flag(off).load(Ordering::SeqCst) != FLAG_EMPTY || self.senders_changed()
        })?;
        Some(Sleep {
            ring: Arc::clone(&self.ring),
            seq,
            cap: self.sleep_cap(),
        })
    }

    /// How long a sleep may last before the consumer must look again: at an uncommitted
    /// reservation at the head (its owner may have died), or for senders that died without a
    /// word (a watching consumer). `None`: no limit.
    fn sleep_cap(&self) -> Option<Duration> {
        let mut cap: Option<Duration> = None;
        if self.tail != self.head {
            cap = Some(STALL_POLL);
        }
        if self.senders.is_some() && self.ring.attached() > 0 {
            cap = Some(cap.map_or(LIVENESS_INTERVAL, |c| c.min(LIVENESS_INTERVAL)));
        }
        cap
    }

    /// Adjusts the spin after a wait that ended in a sleep. A message that came soon after the
    /// receiver fell asleep means the spin was just too short: a sender that answers a request
    /// usually needs about as long as the kernel takes to wake a sleeper, and two processes
    /// that keep missing each other's spin fall into a convoy of futex wake-ups (tens of
    /// microseconds per message on a VM). So the spin doubles, up to [`MAX_ADAPTIVE_SPIN`]
    /// (never from a configured spin of zero); a long sleep (the channel went quiet) sets it
    /// back to the configured one.
    pub(crate) fn adapt_spin(&mut self, spin: Duration, slept: Duration) {
        if spin.is_zero() {
            return; // the user asked for no spinning at all
        }
        if slept <= spin * 2 {
            self.adaptive_spin = (spin * 2).min(MAX_ADAPTIVE_SPIN);
        } else if slept >= MAX_ADAPTIVE_SPIN * 10 {
            self.adaptive_spin = Duration::ZERO;
        }
    }

    /// The spin the consumer adapted to (tests).
    #[cfg(test)]
    pub(crate) fn adaptive_spin(&self) -> Duration {
        self.adaptive_spin
    }

    /// The committed message at the head, if there is one and nothing else needs doing first
    /// (a parked record to free, padding to skip, a broken ring): the receive fast path, a
    /// few loads and compares, inlined into every receive. `None` says "take the general
    /// path", not "nothing there".
    #[inline(always)]
    fn ready_now(&mut self) -> Option<Ready> {
        if self.pending.is_some() || self.broken.is_some() || self.acked.is_some() {
            return None;
        }
        let head = self.head;
        let off = self.ring.offset(head, &mut self.lap);
        if self.ring.flag(off).load(Ordering::Acquire) != FLAG_MESSAGE {
            return None;
        }
        self.message_at(head, off).ok().map(Ready)
    }

    /// The message whose flag is set at position `head` (data offset `off`), or the length
    /// its length word claims if that does not fit before the end of the region.
    #[inline(always)]
    fn message_at(&self, head: u64, off: u64) -> std::result::Result<Record, u64> {
        let len = self.ring.length_word(off).load(Ordering::Relaxed);
        match record_size(len) {
            Some(size) if size <= self.ring.capacity() - off => Ok(Record {
                pos: head,
                off,
                len,
                size,
            }),
            _ => Err(len),
        }
    }

    /// Hands out the record `ready` found.
    pub(crate) fn take(&mut self, ready: Ready) -> RecordRef<'_> {
        let Ready(record) = ready;
        debug_assert_eq!(record.pos, self.head, "a Ready from another call");
        RecordRef::new(self, record)
    }

    /// [`Consumer::poll`] and [`Consumer::take`] in one, for the non-blocking receives: a
    /// committed message at the head is taken by [`Consumer::ready_now`], inlined into the
    /// caller. The blocking receives ([`Consumer::next`]) do not take that path, on purpose:
    /// a receiver that keeps up message by message with it reads each record while its
    /// sender still writes next to it, and both lose to moving cache lines (see
    /// `TypedReceiver::try_recv`).
    #[inline(always)]
    pub(crate) fn try_next(&mut self) -> Result<Option<RecordRef<'_>>> {
        if let Some(ready) = self.ready_now() {
            return Ok(Some(self.take(ready)));
        }
        match self.poll()? {
            Some(ready) => Ok(Some(self.take(ready))),
            None => Ok(None),
        }
    }

    /// [`Consumer::wait`] and [`Consumer::take`] in one.
    pub(crate) fn next(&mut self, deadline: Option<Instant>) -> Result<Option<RecordRef<'_>>> {
        match self.wait(deadline)? {
            Some(ready) => Ok(Some(self.take(ready))),
            None => Ok(None),
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        if self.inherited() {
            return; // a forked child's copy: the role is the parent's
        }
        self.free_pending();
        self.release();
        self.ring.release_receiver();
        if self.remove_file {
            self.ring.remove_temporary();
        }
    }
}

impl Ring {
    /// The size of the message or padding record at data offset `off` that this consumer has
    /// read (so its flag and length need no acquire), as its flag and length word say; `None`
    /// if the flag holds no record or the size is impossible or larger than `limit`.
    fn read_record_size(&self, off: u64, limit: u64) -> Option<u64> {
        let size = match self.flag(off).load(Ordering::Relaxed) {
            FLAG_MESSAGE => record_size(self.length_word(off).load(Ordering::Relaxed))?,
            FLAG_PADDING => self.length_word(off).load(Ordering::Relaxed),
            _ => return None,
        };
        (size >= RECORD_HEADER && size % 8 == 0 && size <= limit).then_some(size)
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
}
