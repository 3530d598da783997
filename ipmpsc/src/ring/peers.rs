//! Who is alive: the receiver's claim, the sender table, and what happens when a peer goes
//! away, however it goes.
//!
//! # Locks, not pids
//!
//! The receiver holds a byte-range lock on [`RECEIVER_LOCK`] of the channel file, and every
//! sender holds one on its slot's byte ([`SENDER_LOCKS`] + 64 · slot), through an open file
//! description of its own (see [`crate::sys::lock`]). The kernel drops a lock when the
//! process ends, whether it returned, panicked, aborted or was killed, and a lock means the
//! same in every PID namespace that shares the file, so "is it alive?" is one `F_OFD_GETLK`
//! and can be fooled neither by a reused pid nor by a container. Pids are recorded only to
//! name holders in errors.
//!
//! A slot's lock is also the mutex over the slot's contents: a sender writes its slot while
//! it holds the lock, and anyone else (the receiver, or a new sender taking over a dead
//! owner's slot) first takes the lock, which succeeds only once the owner is gone.
//!
//! Peers hold write locks, and only a write lock counts as a live peer. A process that may
//! only read the file can still take read locks, which keep everyone from taking a byte: it
//! cannot make a dead peer look alive, but it can keep receivers, creators and senders out of
//! the bytes it holds (reported as `ResourceBusy`). A dead sender's slot held that way is left
//! as it is: its reservation is skipped and its sender no longer counted, but the slot is freed
//! only once the read locks are gone.
//!
//! # Announcing reservations
//!
//! A sender writes its intent (position and size) into its slot *before* the compare-and-swap
//! on the tail that makes the reservation, sets the [`CONFIRMED`] bit right after a successful
//! CAS, and clears the intent after publishing the record. So every reserved, uncommitted
//! record has at least one announcer. A reservation at the head whose announcers are all dead
//! is turned into padding by the receiver ([`Ring::skip_dead_reservation`]); if several dead
//! announcers disagree on its size (one died between its CAS and `confirm`, another right after
//! a failed CAS at the same position), the real size is the smallest one at whose end the ring
//! shows a record boundary: a record start, an announcement, or the tail. A smaller, false
//! size would end strictly inside the real reservation, where none of those can be.
//!
//! # Counting senders
//!
//! `attached` counts slots in state [`SlotState::Sender`] and `registrations` counts arrivals,
//! so that the receiver can tell "everyone left" without a syscall per check. A sender that
//! leaves cleanly frees its slot and wakes the receiver; one that dies leaves its slot for the
//! receiver's periodic [`Ring::reap_dead_senders`] (every [`LIVENESS_INTERVAL`] while it
//! waits), which takes the dead slot's lock and does what the owner could not.

use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use super::header::{RECEIVER_LOCK, REPLACE_LOCK, SENDER_LOCKS};
use super::{
    Ring, CLOSED, FLAG_EMPTY, FLAG_PADDING, POSITION_MASK, RECORD_HEADER, REPLACED, REPLACING,
};
use crate::error::{op, IoContext};
use crate::sys::lock::{self, Holder};
use crate::sys::process;
use crate::{Error, Result};

/// Bytes per slot: one cache line, written by its owner only (others write a slot only while
/// holding its lock, after its owner died).
pub(crate) const SLOT_SIZE: u64 = 64;

/// Set in `intent_len` once the CAS that reserved `intent_pos` succeeded.
pub(crate) const CONFIRMED: u64 = 1 << 63;

/// How often a sender checks that the receiver still lives (on the send path, and while it
/// waits for space), and how often a waiting receiver looks for senders that died.
pub(crate) const LIVENESS_INTERVAL: Duration = Duration::from_millis(25);

/// How long a claim or a registration waits for a creator that holds the file's replace lock
/// to decide (it takes microseconds; this bounds a creator stopped half-way, as by a
/// debugger).
pub(crate) const CREATOR_PATIENCE: Duration = Duration::from_secs(10);

/// What a sender slot is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum SlotState {
    /// Nobody's.
    Free = 0,
    /// A registered sender's, counted in `attached`.
    Sender = 1,
    /// Borrowed for one send by a sender that has no slot of its own, or whose slot another
    /// thread is using; not counted.
    Borrowed = 2,
    /// Its owner died with a reservation the receiver has not skipped yet; not counted.
    Orphan = 3,
}

/// One sender's slot.
#[repr(C, align(64))]
pub(crate) struct SenderSlot {
    /// A [`SlotState`].
    pub(crate) state: AtomicU32,
    /// Pid of the owner (naming only).
    pub(crate) pid: AtomicU32,
    /// Position the owner is reserving or has reserved but not yet committed.
    pub(crate) intent_pos: AtomicU64,
    /// Size in bytes of that reservation, `| CONFIRMED` once it is made; 0 when none.
    pub(crate) intent_len: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<SenderSlot>() as u64 == SLOT_SIZE);

impl SenderSlot {
    /// Announces the reservation about to be attempted.
    #[inline]
    pub(crate) fn announce(&self, pos: u64, len: u64) {
        self.intent_pos.store(pos, Ordering::Relaxed);
        // Release: the CAS that follows (AcqRel) already orders these before the reservation;
        // the Release here keeps pos before len for a reader that loads len with Acquire.
        self.intent_len.store(len, Ordering::Release);
    }

    /// Marks the announced reservation as made.
    #[inline]
    pub(crate) fn confirm(&self, len: u64) {
        self.intent_len.store(len | CONFIRMED, Ordering::Relaxed);
    }

    /// Forgets the intent after the record was published. Release: a receiver that sees the
    /// intent gone also sees the record's commit flag.
    #[inline]
    pub(crate) fn clear(&self) {
        self.intent_len.store(0, Ordering::Release);
    }
}

/// Another process is creating a channel at the path, and has held the file for longer than
/// [`CREATOR_PATIENCE`] without deciding; `op` (see [`crate::error::op`]) could not wait for it.
pub(crate) fn creator_not_done(op: &'static str, path: &Path) -> Error {
    Error::refused(
        op,
        path.to_path_buf(),
        std::io::ErrorKind::WouldBlock,
        "another process is creating a channel at this path and has not finished; try again",
    )
}

/// A role's lock byte at `offset` is held only through read locks (see
/// [`crate::sys::lock::Holder::Readers`]): no peer holds it, but a process that may read the
/// file keeps everyone from taking it.
#[cold]
pub(crate) fn readers_in_the_way(role: &str, offset: u64, op: &'static str, path: &Path) -> Error {
    Error::refused(
        op,
        path.to_path_buf(),
        std::io::ErrorKind::ResourceBusy,
        format!(
            "no {role} holds the channel, but a process with read access holds a read lock on \
             its {role} byte (offset {offset}) and keeps {role}s out"
        ),
    )
}

/// One registered sender fewer in `attached`, never below zero (a slot state forged to
/// `Sender` that nobody counted would otherwise wrap it, and end-of-stream would never come).
fn leave(attached: &AtomicU64) {
    let _ = attached.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
}

/// File offset of slot `i`'s lock byte.
#[inline]
pub(crate) fn slot_lock(i: u32) -> u64 {
    SENDER_LOCKS + u64::from(i) * SLOT_SIZE
}

/// Whether a newly registered sender may use the file (see [`Ring::registration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Registration {
    /// Yes.
    Stay,
    /// A creator is deciding whether to replace the file: try again in a moment.
    Retry,
    /// The file was replaced: open the path again.
    Reopen,
}

/// What claiming the receiver role found.
pub(crate) enum Claim {
    /// The role is this process's; the cursors it continues from: `(head, free, tail)`.
    Claimed { head: u64, free: u64, tail: u64 },
    /// The file was replaced by a new channel at its path: open the path again.
    Replaced,
}

/// What the receiver found at a reservation that stayed uncommitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stalled {
    /// Every announcer was dead: the reservation is padding now.
    Skipped,
    /// It was committed meanwhile.
    Committed,
    /// An announcer is alive (or its lock is held for a moment by someone else): wait.
    Alive,
    /// The announcers are dead but the ring does not show yet which size was reserved: wait.
    Undecided,
    /// Nobody announced it: no sender ever reserved it, so the bytes that led here lie.
    Unannounced,
}

impl Ring {
    // ---------------------------------------------------------------------------------------
    // The receiver role.

    /// Claims the receiver role for this mapping: takes the receiver lock, clears
    /// [`CLOSED`], and returns the cursors to continue from.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a receiver holds it (in this process or another);
    /// [`Error::Corrupt`] if the cursors are impossible.
    pub(crate) fn claim_receiver(&self) -> Result<Claim> {
        self.check_not_inherited("receiver's channel", op::CLAIM_RECEIVER)?;
        if self.receiver_taken.swap(true, Ordering::AcqRel) {
            return Err(Error::ReceiverAlreadyExists {
                pid: process::current_pid(),
            });
        }
        let undo = |e: Error| {
            self.receiver_taken.store(false, Ordering::Release);
            e
        };
        let deadline = std::time::Instant::now() + CREATOR_PATIENCE;
        // Times in a row a writer held the lock with no creator deciding: a creator that lets
        // go of both its locks between the two questions looks like a receiver once, so a
        // receiver is reported only when it is still there at the third look.
        let mut writer_seen = 0;
        loop {
            let holder = lock::take(self.receiver_file.as_fd(), RECEIVER_LOCK)
                .doing(op::CLAIM_RECEIVER, &self.path)
                .map_err(undo)?;
            // A creator deciding whether to replace the file holds the receiver lock too, for
            // a moment: wait for its decision rather than report a receiver that is not there.
            match holder {
                Holder::Us => break,
                _ if self.creator_deciding() => {}
                // Only read locks, which no receiver takes: a process that may only read the
                // file is in the way; say so rather than name a receiver that is not there.
                Holder::Readers => {
                    return Err(undo(readers_in_the_way(
                        "receiver",
                        RECEIVER_LOCK,
                        op::CLAIM_RECEIVER,
                        &self.path,
                    )));
                }
                Holder::Writer => {
                    writer_seen += 1;
                    if writer_seen >= 3 {
                        return Err(undo(Error::ReceiverAlreadyExists {
                            pid: self.header().peers.receiver_pid.load(Ordering::Acquire),
                        }));
                    }
                    std::thread::yield_now();
                    continue;
                }
            }
            writer_seen = 0;
            if std::time::Instant::now() >= deadline {
                return Err(undo(creator_not_done(op::CLAIM_RECEIVER, &self.path)));
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        let give_back = |e: Error| {
            let _ = lock::unlock(self.receiver_file.as_fd(), RECEIVER_LOCK);
            undo(e)
        };
        if self.tail().load(Ordering::Acquire) & REPLACED != 0 {
            let _ = lock::unlock(self.receiver_file.as_fd(), RECEIVER_LOCK);
            self.receiver_taken.store(false, Ordering::Release);
            return Ok(Claim::Replaced);
        }
        let (head, free, tail) = self.check_cursors().map_err(give_back)?;
        let peers = &self.header().peers;
        peers
            .receiver_pid
            .store(process::current_pid(), Ordering::Release);
        peers.claims.fetch_add(1, Ordering::SeqCst);
        // Senders may send again. (A REPLACING left by a creator that died half-way goes too:
        // from now on, REPLACING with the lock held means a creator is deciding.)
        self.tail()
            .fetch_and(!(CLOSED | REPLACING), Ordering::SeqCst);
        Ok(Claim::Claimed { head, free, tail })
    }

    /// Gives the receiver role back: every blocked and later send gets `Disconnected` until a
    /// receiver claims the channel again. The caller released the consumed space first.
    pub(crate) fn release_receiver(&self) {
        // State first, then the lock: a sender that finds the lock free also finds CLOSED, or
        // a newer receiver's claim.
        self.tail().fetch_or(CLOSED, Ordering::SeqCst);
        self.header().peers.receiver_pid.store(0, Ordering::Release);
        self.wake_all_senders();
        let _ = lock::unlock(self.receiver_file.as_fd(), RECEIVER_LOCK);
        self.receiver_taken.store(false, Ordering::Release);
    }

    /// Whether a receiver existed and is gone: it left cleanly ([`CLOSED`]), the file was
    /// replaced ([`REPLACED`]), or nobody holds the receiver lock any more. One syscall.
    pub(crate) fn receiver_gone(&self) -> bool {
        if self.tail().load(Ordering::Acquire) & (CLOSED | REPLACED) != 0 {
            return true;
        }
        if self.header().peers.claims.load(Ordering::Acquire) == 0 {
            return false; // no receiver yet: senders may fill the ring and wait for one
        }
        // Probed through the senders' description, which never holds the receiver lock, so a
        // receiver of this very process is seen too. An error says nothing: assume alive.
        !lock::is_locked(self.sender_file.as_fd(), RECEIVER_LOCK).unwrap_or(true)
    }

    /// Whether some process holds the receiver lock (a receiver, or a creator deciding).
    pub(crate) fn receiver_held(&self) -> bool {
        lock::is_locked(self.sender_file.as_fd(), RECEIVER_LOCK).unwrap_or(true)
    }

    /// Whether a receiver holds the channel now: its lock is held, and the channel is neither
    /// closed, replaced nor being replaced (a creator deciding holds the lock too). One
    /// syscall.
    pub(crate) fn receiver_present(&self) -> bool {
        self.tail().load(Ordering::SeqCst) & (CLOSED | REPLACED | REPLACING) == 0
            && self.receiver_held()
    }

    /// Pid recorded by the receiver holding the channel (0 if none recorded).
    pub(crate) fn receiver_pid(&self) -> u32 {
        self.header().peers.receiver_pid.load(Ordering::Acquire)
    }

    // ---------------------------------------------------------------------------------------
    // Sender slots.

    /// Marks slot `i` as held by this mapping; false if it already is.
    fn hold_locally(&self, i: u32) -> bool {
        let bit = 1u64 << (i % 64);
        self.held_slots[(i / 64) as usize].fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    fn unhold_locally(&self, i: u32) {
        let bit = 1u64 << (i % 64);
        self.held_slots[(i / 64) as usize].fetch_and(!bit, Ordering::AcqRel);
    }

    /// Whether the intent `(pos, len)` of a dead owner needs nobody: it was consumed, or never
    /// reserved.
    fn intent_is_stale(&self, pos: u64, len: u64) -> bool {
        len == 0
            || pos < self.head().load(Ordering::Acquire)
            || (len & CONFIRMED == 0 && pos >= self.tail().load(Ordering::Acquire) & POSITION_MASK)
    }

    /// Takes a free sender slot, or one whose owner died and whose intent needs nobody, as a
    /// `state` ([`SlotState::Sender`] or [`SlotState::Borrowed`]).
    pub(crate) fn claim_slot(&self, state: SlotState) -> Result<u32> {
        let op = match state {
            SlotState::Sender => op::REGISTER_SENDER,
            _ => op::SEND,
        };
        let peers = &self.header().peers;
        // Slots nobody holds but read locks keep out (see `readers_in_the_way`).
        let mut squatted = 0usize;
        // Free slots first (no syscall wasted on live ones), then the others, whose owners may
        // have died.
        for free_pass in [true, false] {
            for i in 0..self.max_senders() {
                let s = self.slot(i);
                let free = s.state.load(Ordering::Relaxed) == SlotState::Free as u32;
                if free != free_pass || !self.hold_locally(i) {
                    continue;
                }
                match lock::take(self.sender_file.as_fd(), slot_lock(i)) {
                    Ok(Holder::Us) => {}
                    Ok(holder) => {
                        squatted += usize::from(holder == Holder::Readers);
                        self.unhold_locally(i);
                        continue;
                    }
                    Err(e) => {
                        self.unhold_locally(i);
                        return Err(Error::io(op, self.path.clone(), e));
                    }
                }
                // The slot is ours alone; what is in it belongs to a dead owner, or to nobody.
                let len = s.intent_len.load(Ordering::Acquire);
                let pos = s.intent_pos.load(Ordering::Acquire);
                if !self.intent_is_stale(pos, len) {
                    // A dead owner's reservation the receiver still has to skip.
                    let _ = lock::unlock(self.sender_file.as_fd(), slot_lock(i));
                    self.unhold_locally(i);
                    continue;
                }
                s.intent_len.store(0, Ordering::Release);
                let was_sender = s.state.load(Ordering::Acquire) == SlotState::Sender as u32;
                match (was_sender, state == SlotState::Sender) {
                    // A dead registration passes to us: still one attached sender.
                    (true, true) | (false, false) => {}
                    (true, false) => {
                        leave(&peers.attached);
                    }
                    (false, true) => {
                        peers.attached.fetch_add(1, Ordering::SeqCst);
                    }
                }
                s.pid.store(process::current_pid(), Ordering::Relaxed);
                s.state.store(state as u32, Ordering::Release);
                if state == SlotState::Sender {
                    // After `attached`: a receiver that sees the new registration also sees
                    // the sender attached.
                    peers.registrations.fetch_add(1, Ordering::SeqCst);
                    // A receiver asleep with nobody attached sleeps without a timeout: wake it
                    // so that it starts watching this sender's lock (should it die without a
                    // word).
                    self.wake_receiver();
                }
                return Ok(i);
            }
        }
        if squatted > 0 {
            return Err(Error::refused(
                op,
                self.path.clone(),
                std::io::ErrorKind::ResourceBusy,
                format!(
                    "no sender slot is free: {squatted} of the {} are held by nobody but read \
                     locks of a process with read access to the file, which keep senders out",
                    self.max_senders()
                ),
            ));
        }
        Err(Error::TooManySenders {
            max: self.max_senders() as usize,
        })
    }

    /// Gives slot `i` back (its owner's clean departure), and wakes the receiver so that it
    /// notices when that was the last sender.
    pub(crate) fn release_slot(&self, i: u32) {
        let s = self.slot(i);
        s.intent_len.store(0, Ordering::Release);
        let was_sender = s.state.load(Ordering::Acquire) == SlotState::Sender as u32;
        s.state.store(SlotState::Free as u32, Ordering::Release);
        s.pid.store(0, Ordering::Relaxed);
        if was_sender {
            leave(&self.header().peers.attached);
        }
        let _ = lock::unlock(self.sender_file.as_fd(), slot_lock(i));
        self.unhold_locally(i);
        if was_sender {
            self.wake_receiver();
        }
    }

    /// Whether a sender that just registered may stay: checked after taking the slot (and
    /// against `REPLACING`, which a creator sets before counting senders), so that either the
    /// creator counts this sender and keeps the file, or this sender sees the file going.
    /// While a creator decides (microseconds; it may be stopped, as by a debugger), this waits
    /// for its decision, up to [`CREATOR_PATIENCE`]: `Retry` after that.
    pub(crate) fn registration(&self) -> Registration {
        let deadline = std::time::Instant::now() + CREATOR_PATIENCE;
        loop {
            let tail = self.tail().load(Ordering::SeqCst);
            if tail & REPLACED != 0 {
                return Registration::Reopen;
            }
            if tail & REPLACING == 0 {
                return Registration::Stay;
            }
            if !self.creator_deciding() {
                self.clear_stale_replacing();
                return Registration::Stay;
            }
            if std::time::Instant::now() >= deadline {
                return Registration::Retry;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Whether a creator holds the file's replace lock: it is deciding whether to replace the
    /// file (a matter of microseconds).
    pub(crate) fn creator_deciding(&self) -> bool {
        lock::is_locked(self.sender_file.as_fd(), REPLACE_LOCK).unwrap_or(false)
    }

    /// Clears a [`REPLACING`] that no creator stands behind (it died half-way, or the bit was
    /// forged): the file stays as it is.
    pub(crate) fn clear_stale_replacing(&self) {
        self.tail().fetch_and(!REPLACING, Ordering::SeqCst);
    }

    /// Number of registered senders alive, in any process: the slots in state `Sender` whose
    /// lock is held. One syscall per such slot.
    pub(crate) fn live_senders(&self) -> usize {
        (0..self.max_senders())
            .filter(|&i| {
                self.slot(i).state.load(Ordering::Acquire) == SlotState::Sender as u32
                    && lock::is_locked(self.receiver_file.as_fd(), slot_lock(i)).unwrap_or(true)
            })
            .count()
    }

    /// Number of registered senders according to the shared counter (no syscall; counts a
    /// dead sender until [`Ring::reap_dead_senders`] finds it).
    #[inline]
    pub(crate) fn attached(&self) -> u64 {
        self.header().peers.attached.load(Ordering::SeqCst)
    }

    /// Number of registrations so far.
    #[inline]
    pub(crate) fn registrations(&self) -> u64 {
        self.header().peers.registrations.load(Ordering::SeqCst)
    }

    /// Receiver only: frees the slots of registered senders that died (their lock is free),
    /// so that `attached` counts the living. A dead sender's slot that still announces an
    /// unconsumed reservation becomes an `Orphan` until the reservation is skipped.
    pub(crate) fn reap_dead_senders(&self, head: u64) {
        let peers = &self.header().peers;
        let counted = peers.attached.load(Ordering::SeqCst);
        let (mut alive, mut reaped) = (0u64, 0u64);
        for i in 0..self.max_senders() {
            let s = self.slot(i);
            if s.state.load(Ordering::Acquire) != SlotState::Sender as u32 {
                continue;
            }
            // Asked first, so that a live sender costs one syscall per look.
            if lock::is_locked(self.receiver_file.as_fd(), slot_lock(i)).unwrap_or(true) {
                alive += 1;
                continue;
            }
            match lock::take(self.receiver_file.as_fd(), slot_lock(i)) {
                Ok(Holder::Us) => {}
                // Dead, but read locks keep us from taking the slot to free it: it stays as it
                // is (counted below as nobody) until they are gone.
                Ok(Holder::Readers) => continue,
                Ok(Holder::Writer) | Err(_) => {
                    alive += 1;
                    continue;
                }
            }
            // Dead, and the slot is ours until we unlock it.
            if s.state.load(Ordering::Acquire) == SlotState::Sender as u32 {
                leave(&peers.attached);
                reaped += 1;
                let len = s.intent_len.load(Ordering::Acquire);
                let pos = s.intent_pos.load(Ordering::Acquire);
                let tail = self.tail().load(Ordering::Acquire) & POSITION_MASK;
                let pending = len != 0 && pos >= head && (len & CONFIRMED != 0 || pos < tail);
                if pending {
                    s.state.store(SlotState::Orphan as u32, Ordering::Release);
                } else {
                    s.intent_len.store(0, Ordering::Release);
                    s.state.store(SlotState::Free as u32, Ordering::Release);
                    s.pid.store(0, Ordering::Relaxed);
                }
            }
            let _ = lock::unlock(self.receiver_file.as_fd(), slot_lock(i));
        }
        if alive == 0 {
            // Nobody alive, yet counted: the counter disagrees with the slots (written by a
            // process with write access). Set it right, unless a sender came or went meanwhile.
            let _ = peers.attached.compare_exchange(
                counted.saturating_sub(reaped),
                0,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
    }

    /// Receiver only: whether a registered sender is alive, asked of the slots' locks rather
    /// than of the counter (before reporting that everyone left). Repairs a counter that says
    /// nobody while somebody is there.
    pub(crate) fn confirm_senders_gone(&self) -> bool {
        let live = self.live_senders() as u64;
        if live > 0 {
            let _ = self.header().peers.attached.compare_exchange(
                0,
                live,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
        }
        live == 0
    }

    /// Receiver only: the reservation at `head` (data offset `off`, the tail at `tail`) has
    /// stayed uncommitted. If every slot announcing it belongs to a dead owner, turns it into
    /// padding and frees their slots.
    pub(crate) fn skip_dead_reservation(&self, head: u64, off: u64, tail: u64) -> Result<Stalled> {
        let cap = self.capacity();
        // (slot, announced length) of the dead announcers, and whether we hold their lock (read
        // locks of a process that may read the file can keep us from taking a dead one's).
        let mut dead: Vec<(u32, u64, bool)> = Vec::new();
        let unlock_all = |dead: &[(u32, u64, bool)]| {
            for &(i, _, held) in dead {
                if held {
                    let _ = lock::unlock(self.receiver_file.as_fd(), slot_lock(i));
                }
            }
        };
        let mut announced = false;
        for i in 0..self.max_senders() {
            let s = self.slot(i);
            let len = s.intent_len.load(Ordering::Acquire);
            if len == 0 || s.intent_pos.load(Ordering::Acquire) != head {
                continue;
            }
            announced = true;
            match lock::take(self.receiver_file.as_fd(), slot_lock(i)) {
                Ok(Holder::Us) => {
                    // Read again under the lock: the owner may have finished before it died.
                    let len = s.intent_len.load(Ordering::Acquire);
                    if len == 0 || s.intent_pos.load(Ordering::Acquire) != head {
                        let _ = lock::unlock(self.receiver_file.as_fd(), slot_lock(i));
                        continue;
                    }
                    dead.push((i, len, true));
                }
                // Nobody holds the write lock, so the owner is dead (it held the lock from its
                // claim to its release), and no new sender can take the slot while the read
                // locks last; one that takes it later finds this intent pending (and leaves
                // the slot alone) until the head has passed it. So the intent read above
                // stands, and the slot is left as it is.
                Ok(Holder::Readers) => dead.push((i, len, false)),
                Ok(Holder::Writer) => {
                    unlock_all(&dead);
                    return Ok(Stalled::Alive);
                }
                Err(e) => {
                    unlock_all(&dead);
                    return Err(Error::io(op::RECEIVE, self.path.clone(), e));
                }
            }
        }
        if self.flag(off).load(Ordering::Acquire) != FLAG_EMPTY {
            unlock_all(&dead);
            return Ok(Stalled::Committed);
        }
        if dead.is_empty() {
            return Ok(if announced {
                Stalled::Alive
            } else {
                Stalled::Unannounced
            });
        }
        let size = match self.dead_reservation_size(head, off, tail, &dead) {
            Ok(Some(size)) => size,
            Ok(None) => {
                unlock_all(&dead);
                return Ok(Stalled::Undecided);
            }
            Err(e) => {
                unlock_all(&dead);
                return Err(e);
            }
        };
        debug_assert!(size >= RECORD_HEADER && size % 8 == 0 && size <= cap - off);
        // A batch whose sender died while publishing it has flags set inside it already:
        // reset them, so that only record starts ever hold a flag.
        self.clear_flags(off + RECORD_HEADER, off + size);
        self.length_word(off).store(size, Ordering::Relaxed);
        self.flag(off).store(FLAG_PADDING, Ordering::Release);
        let peers = &self.header().peers;
        for &(i, _, held) in &dead {
            if !held {
                continue;
            }
            let s = self.slot(i);
            s.intent_len.store(0, Ordering::Release);
            if s.state.load(Ordering::Acquire) == SlotState::Sender as u32 {
                leave(&peers.attached);
            }
            s.state.store(SlotState::Free as u32, Ordering::Release);
            s.pid.store(0, Ordering::Relaxed);
            let _ = lock::unlock(self.receiver_file.as_fd(), slot_lock(i));
        }
        peers.skipped_reservations.fetch_add(1, Ordering::Relaxed);
        Ok(Stalled::Skipped)
    }

    /// The size of the dead reservation at `head` from its announcers' lengths (module docs).
    /// `None` while the ring does not yet show which of several sizes is real.
    fn dead_reservation_size(
        &self,
        head: u64,
        off: u64,
        tail: u64,
        dead: &[(u32, u64, bool)],
    ) -> Result<Option<u64>> {
        let cap = self.capacity();
        let fits = |size: u64| {
            size >= RECORD_HEADER && size % 8 == 0 && size <= cap - off && head + size <= tail
        };
        let mut confirmed: Vec<u64> = dead
            .iter()
            .filter(|d| d.1 & CONFIRMED != 0)
            .map(|d| d.1 & !CONFIRMED)
            .collect();
        confirmed.dedup();
        match confirmed.as_slice() {
            [size] if fits(*size) => return Ok(Some(*size)),
            [] => {}
            _ => {
                return Err(Error::Corrupt(format!(
                    "dead senders confirmed reservations of different sizes ({confirmed:?}) at \
                     position {head}, or one that does not fit"
                )))
            }
        }
        let mut sizes: Vec<u64> = dead.iter().map(|d| d.1 & !CONFIRMED).collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.iter().all(|&s| !fits(s)) {
            return Err(Error::Corrupt(format!(
                "dead sender's reservation at position {head} of {sizes:?} bytes does not fit"
            )));
        }
        if let [only] = sizes.as_slice() {
            return Ok(Some(*only));
        }
        Ok(sizes
            .into_iter()
            .filter(|&s| fits(s))
            .find(|&s| self.is_record_boundary(head + s, tail)))
    }

    /// Whether the ring shows a record boundary at `pos` (`<= tail`): the tail itself, a
    /// committed record's flag, or a sender's announcement there.
    fn is_record_boundary(&self, pos: u64, tail: u64) -> bool {
        if pos == tail {
            return true;
        }
        let off = pos % self.capacity();
        if self.flag(off).load(Ordering::Acquire) != FLAG_EMPTY {
            return true;
        }
        (0..self.max_senders()).any(|i| {
            let s = self.slot(i);
            s.intent_len.load(Ordering::Acquire) != 0 && s.intent_pos.load(Ordering::Acquire) == pos
        })
    }

    /// Number of dead senders' reservations skipped over the channel's life.
    #[cfg(test)]
    pub(crate) fn skipped_reservations(&self) -> u64 {
        self.header()
            .peers
            .skipped_reservations
            .load(Ordering::Relaxed)
    }
}
