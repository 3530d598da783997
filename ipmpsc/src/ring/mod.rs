//! The shared-memory protocol: a multi-producer, single-consumer ring of variable-sized records
//! in a memory-mapped file, with lock-free reservation, commit flags beside the data, futex
//! sleeping, and liveness decided by the kernel's file locks. Nothing here knows serde or
//! schemas; callers see guards ([`producer::Reservation`], [`record::RecordRef`]), never
//! offsets, so the layers above hold no `unsafe`.
//!
//! # Records
//!
//! Positions are `u64` byte counts that only grow; a position's place in the data region is
//! `pos % capacity`. A record is an 8-byte length word followed by its payload, padded to a
//! multiple of 8, and is always contiguous: a record that would cross the end of the region is
//! preceded by a *padding* record that fills the region to its end. Beside the data region lies
//! one commit flag byte per 8-byte word. The flag at a record's first word says its state;
//! flags live apart from the data so that stale payload bytes of an earlier lap can never be
//! mistaken for a record header.
//!
//! ```text
//!                 reserve (CAS tail)          commit (flag swap, SeqCst)
//!   flag EMPTY  ----------------------> [reserved] -----------------------> MESSAGE | PADDING
//!       ^                                 |     |                                  |
//!       |           dropped or unwinding  |     | owner's lock gone (receiver,     |
//!       |           (abandon) ------------+     | after `STALL_TIMEOUT`)           |
//!       |                                 v     v                                  |
//!       |                                 PADDING                                  |
//!       +--------------------------------------------------------------------------+
//!        release (flags of [free, head) EMPTY, then free = head, SeqCst; batched)
//! ```
//!
//! * **Reserve.** A sender reads `tail`, announces `(tail, size)` in its slot of the sender
//!   table (see [`peers`]), checks space against its cached copy of `free` (reloading `free`
//!   only when the cache says "full"), and moves `tail` forward with a compare-and-swap. The
//!   CAS is the only write any two senders contend on; no lock is taken anywhere.
//! * **Commit.** The sender writes the payload and the length word, then stores the flag with
//!   a SeqCst swap (which also releases the payload to the receiver's Acquire load of the
//!   flag). A reservation that is dropped unfilled, or whose encoding unwinds, is committed as
//!   padding at once, so a panicking `Serialize` delays nobody.
//! * **Consume.** The receiver loads the flag at `head` (Acquire). `MESSAGE`: the length is
//!   bounds-checked against the region and against `tail`, and the payload is handed out
//!   through a guard. `PADDING`: skipped the same way. `EMPTY`: nothing to read yet. Any other
//!   value, a length that crosses the write position, or a reservation nobody announced is
//!   `Error::Corrupt`; the receiver never reads outside the mapping and never waits forever
//!   on bytes that cannot become a record.
//! * **Release.** Consumed bytes go back to senders in batches: the receiver resets the flags
//!   in `[free, head)` to `EMPTY` and then moves `free` up to `head` (SeqCst). It does so
//!   after [`consumer::release_batch`] bytes and always before it waits for data itself, and
//!   it wakes sleeping senders as soon as `free` reaches the position the first of them needs.
//!
//! The receiver keeps `head` and `free` privately and only writes them to the file (for a
//! receiver that takes over after a crash, and for senders); it reads them back only when it
//! claims the channel. Senders never read the flags and the receiver reads `tail` only when its
//! cached copy says a record would cross it, so in steady state the only shared cache lines are
//! the data itself and the flag line.
//!
//! # Channel state bits
//!
//! The top bits of `tail` hold the channel's state, so that a reservation and the state it
//! was made in are one atomic step and the send path checks the state for free:
//! [`CLOSED`] (the receiver left cleanly; cleared by the next receiver that claims the
//! channel), [`REPLACED`] (a new file took this one's path; permanent) and [`REPLACING`] (a
//! creator is deciding whether it may replace this file; new senders wait for the outcome).
//!
//! # Sleeping without lost wake-ups
//!
//! See [`wait`]: a sleeper announces itself, re-checks its condition and only then sleeps on
//! the futex; a waker makes the condition true and wakes only if someone announced itself.
//!
//! # Who is alive
//!
//! See [`peers`]: the receiver and every sender hold a byte-range lock on the channel file
//! that the kernel drops when the process ends, however it ends. A reservation whose flag stays
//! `EMPTY` for [`consumer::STALL_TIMEOUT`] makes the receiver look at the sender table: if it
//! can take the lock of every slot announcing that position, their owners are dead, and the
//! record becomes padding. Senders check the receiver's lock at most every
//! [`peers::LIVENESS_INTERVAL`] and give up with `Error::Disconnected` when it is gone.

mod backlog;
pub(crate) mod consumer;
mod create;
pub(crate) mod header;
pub(crate) mod inspect;
pub(crate) mod peers;
pub(crate) mod producer;
pub(crate) mod record;
#[cfg(test)]
mod tests;
pub(crate) mod wait;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use memmap2::MmapRaw;

use crate::schema::StoredSchema;
use crate::sys::fork::ChannelFile;
use crate::{Error, Result};
use header::{Geometry, Header};
use peers::SenderSlot;

pub(crate) use create::{replaced_by_creators, Creation, Replace};

/// Commit flag: no record starts here (or one is reserved but not yet published).
pub(crate) const FLAG_EMPTY: u8 = 0;
/// Commit flag: a message record starts here.
pub(crate) const FLAG_MESSAGE: u8 = 1;
/// Commit flag: a padding record starts here; its length word is the number of bytes to skip.
pub(crate) const FLAG_PADDING: u8 = 2;

/// Bits of `tail` that hold a position; the bits above are [`CLOSED`], [`REPLACED`] and
/// [`REPLACING`].
pub(crate) const POSITION_BITS: u32 = 61;
/// Mask of the position in `tail`.
pub(crate) const POSITION_MASK: u64 = (1 << POSITION_BITS) - 1;
/// Largest position a cursor can honestly reach (2^61 bytes: 73 years at 1 TB/s). A cursor
/// beyond it was written by a corrupt process; refusing it keeps all position arithmetic free
/// of overflow.
pub(crate) const MAX_POSITION: u64 = POSITION_MASK & !7;
/// `tail` state bit: the receiver left cleanly. Every send fails with `Disconnected` until a
/// receiver claims the channel again.
pub(crate) const CLOSED: u64 = 1 << 63;
/// `tail` state bit: the file was replaced at its path by a new channel; it will never have a
/// receiver again.
pub(crate) const REPLACED: u64 = 1 << 62;
/// `tail` state bit: a creator holds the receiver lock and is checking whether nobody uses the
/// file before replacing it. Registering senders retry their open until it is decided.
pub(crate) const REPLACING: u64 = 1 << 61;

#[cold]
fn inherited(end: &str, op: &'static str, path: &Path) -> Error {
    Error::refused(
        op,
        path.to_path_buf(),
        std::io::ErrorKind::Other,
        format!(
            "this {end} was inherited through fork: a forked child cannot use its parent's \
             channel ends; open the channel again in the child"
        ),
    )
}

/// Bytes of the length word in front of every record.
pub(crate) const RECORD_HEADER: u64 = 8;

/// Size in bytes of the record holding a payload of `len` bytes, if it is representable.
#[inline]
pub(crate) fn record_size(len: u64) -> Option<u64> {
    len.checked_add(RECORD_HEADER + 7).map(|v| v & !7)
}

/// A mapped channel file. Shared by every sender and receiver of a process that use the file
/// through the same `SharedRingBuffer`.
pub(crate) struct Ring {
    map: MmapRaw,
    /// The receiver's open file description: holds the receiver lock while this mapping's
    /// receiver role is taken, and probes and takes the locks of sender slots (which it never
    /// holds for long, so probing through it sees every sender, including this process's).
    receiver_file: ChannelFile,
    /// The senders' open file description: holds the locks of the slots this mapping's
    /// senders registered, and probes the receiver lock (which it never holds).
    sender_file: ChannelFile,
    geo: Geometry,
    schema: StoredSchema,
    /// The path the file was opened or created at (where it may no longer be), for errors.
    path: PathBuf,
    /// Whether a receiver of this process holds the receiver role through this mapping (the
    /// kernel lock cannot tell: a description never conflicts with itself).
    receiver_taken: AtomicBool,
    /// One bit per sender slot held through `sender_file`, for the same reason.
    held_slots: Box<[AtomicU64]>,
    /// A temporary channel (`create_temp`): its file is removed when the last user in the
    /// process that created it drops the ring, if the path still names it.
    temporary: AtomicBool,
    /// The fork generation the ring was made in (see `sys::fork`). Every channel end is made
    /// on a ring of its own process (claims and registrations refuse an inherited one), so
    /// this tells for all of them whether they are a forked child's copies, which give
    /// nothing back on the parent's behalf.
    generation: u64,
}

// SAFETY: `Ring` owns a shared mapping that is only accessed through atomics and through byte
// ranges whose ownership the ring protocol hands to exactly one party at a time (a reserving
// sender, or the receiver once the flag is published); nothing in it is tied to a thread.
unsafe impl Send for Ring {}
// SAFETY: as above: concurrent access from several threads is what the protocol is built for.
unsafe impl Sync for Ring {}

impl Ring {
    /// Wraps a mapping of the file at `path` whose identity and geometry have been validated
    /// (or just written).
    fn from_parts(
        map: MmapRaw,
        receiver_file: ChannelFile,
        sender_file: ChannelFile,
        geo: Geometry,
        schema: StoredSchema,
        path: &Path,
    ) -> Ring {
        let words = (geo.max_senders as usize).div_ceil(64);
        Ring {
            map,
            receiver_file,
            sender_file,
            geo,
            schema,
            path: path.to_path_buf(),
            receiver_taken: AtomicBool::new(false),
            held_slots: (0..words).map(|_| AtomicU64::new(0)).collect(),
            temporary: AtomicBool::new(false),
            generation: crate::sys::fork::generation(),
        }
    }

    /// `Error::Corrupt` unless `free <= head <= tail <= free + capacity`, all word aligned.
    /// Returns `(head, free, tail)`.
    pub(crate) fn check_cursors(&self) -> Result<(u64, u64, u64)> {
        let free = self.free().load(Ordering::Acquire);
        let head = self.head().load(Ordering::Acquire);
        let tail = self.tail().load(Ordering::Acquire) & POSITION_MASK;
        if (free | head | tail) % 8 != 0
            || free > head
            || head > tail
            || tail > MAX_POSITION
            || tail - free > self.geo.capacity
        {
            return Err(Error::Corrupt(format!(
                "impossible cursors: free {free}, head {head}, tail {tail}, capacity {}",
                self.geo.capacity
            )));
        }
        Ok((head, free, tail))
    }

    /// Whether `path` (following symlinks, as opening it does) names this mapping's file.
    pub(crate) fn is_at(&self, path: &std::path::Path) -> bool {
        crate::sys::file::path_leads_to(path, &self.receiver_file).unwrap_or(false)
    }

    /// Makes this a temporary channel: its file goes when the ring is dropped (see `Drop`).
    pub(crate) fn mark_temporary(&self) {
        self.temporary.store(true, Ordering::Release);
    }

    /// Removes the file of a temporary channel now, if the path still names it (and this is
    /// not a forked child's copy); the ring's drop then has nothing left to remove.
    pub(crate) fn remove_temporary(&self) {
        if self.temporary.swap(false, Ordering::AcqRel) && !self.inherited() {
            let _ = crate::sys::file::remove_if_is(&self.path, &self.receiver_file);
        }
    }

    /// `Ok` if this mapping was made by this process; an error if it is a copy a forked child
    /// inherited: its descriptors point at `/dev/null` and its slots and role are the
    /// parent's, so using it would act in the parent's name. `end` names the channel end
    /// used, `op` what was tried (see [`crate::error::op`]).
    #[inline]
    pub(crate) fn check_not_inherited(&self, end: &str, op: &'static str) -> Result<()> {
        if self.inherited() {
            return Err(inherited(end, op, &self.path));
        }
        Ok(())
    }

    /// The path the file was opened or created at.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this mapping is a copy that a forked child inherited.
    #[inline]
    pub(crate) fn inherited(&self) -> bool {
        crate::sys::fork::generation() != self.generation
    }

    /// The addresses of the whole mapping (tests check that views point into it).
    #[cfg(test)]
    pub(crate) fn mapped_range(&self) -> std::ops::Range<usize> {
        let start = self.map.as_ptr() as usize;
        start..start + self.map.len()
    }

    /// Bytes of the data region.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.geo.capacity
    }

    /// The largest message the ring takes, in bytes: a record of it fills the data region.
    #[inline]
    pub(crate) fn max_message(&self) -> u64 {
        self.geo.capacity - RECORD_HEADER
    }

    /// The schema recorded in the file.
    pub(crate) fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    /// The random number the file's creator chose (see `Identity::channel_id`).
    pub(crate) fn channel_id(&self) -> u64 {
        self.header().identity.channel_id.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `open`/`create` checked that the mapping holds a whole header; the mapping
        // is page aligned and lives as long as `self`; the header holds only atomics and
        // plain bytes, valid for any bit pattern.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    #[inline]
    pub(crate) fn head(&self) -> &AtomicU64 {
        &self.header().head
    }

    #[inline]
    pub(crate) fn free(&self) -> &AtomicU64 {
        &self.header().free
    }

    #[inline]
    pub(crate) fn tail(&self) -> &AtomicU64 {
        &self.header().tail
    }

    /// Number of sender slots.
    #[inline]
    pub(crate) fn max_senders(&self) -> u32 {
        self.geo.max_senders
    }

    /// Sender slot `i`; `i < max_senders`.
    #[inline]
    pub(crate) fn slot(&self, i: u32) -> &SenderSlot {
        debug_assert!(i < self.geo.max_senders);
        // Callers iterate below `max_senders` (validated non-zero at open); the clamp keeps a
        // bug from ever becoming an out-of-bounds access.
        let i = i.min(self.geo.max_senders - 1);
        // SAFETY: slot `i` lies inside the slot table, which `Geometry` placed inside the
        // mapping; slots are 64-byte aligned (the table starts at 896) and hold only atomics.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add(self.geo.slots_offset as usize + i as usize * peers::SLOT_SIZE as usize)
                as *const SenderSlot)
        }
    }

    /// Offset in the data region of position `pos`. `lap` is a multiple of the capacity at or
    /// below recent positions, kept by the caller to avoid a division on every call; it is
    /// updated when `pos` left its lap.
    #[inline]
    pub(crate) fn offset(&self, pos: u64, lap: &mut u64) -> u64 {
        let cap = self.geo.capacity;
        let d = pos.wrapping_sub(*lap);
        if d < cap {
            d
        } else {
            *lap = pos - pos % cap;
            pos - *lap
        }
    }

    /// Commit flag of the word at data offset `off` (`off < capacity`, word aligned).
    #[inline]
    pub(crate) fn flag(&self, off: u64) -> &AtomicU8 {
        debug_assert!(off < self.geo.capacity && off % 8 == 0);
        // Out-of-range offsets are a bug, but must not become an out-of-bounds access.
        let off = if off < self.geo.capacity {
            off
        } else {
            off % self.geo.capacity
        };
        let idx = off / 8;
        // SAFETY: `idx < capacity / 8`, and the flag array of `capacity / 8` bytes lies inside
        // the mapping at `flags_offset`; `AtomicU8` has no alignment requirement.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add((self.geo.flags_offset + idx) as usize) as *const AtomicU8)
        }
    }

    /// Length word of the record at data offset `off` (`off < capacity`, word aligned).
    #[inline]
    pub(crate) fn length_word(&self, off: u64) -> &AtomicU64 {
        debug_assert!(off < self.geo.capacity && off % 8 == 0);
        let off = if off < self.geo.capacity {
            off
        } else {
            off % self.geo.capacity
        } & !7;
        // SAFETY: `off + 8 <= capacity` since `off` is a multiple of 8 below the capacity (a
        // multiple of 8); the data region is page aligned, so the word is 8-byte aligned.
        unsafe {
            &*(self.map.as_ptr().add((self.geo.data_offset + off) as usize) as *const AtomicU64)
        }
    }

    /// Resets the commit flags of the words at offsets `[from, to)` (`from <= to <= capacity`,
    /// both word aligned) to `EMPTY`, eight at a time where alignment allows.
    pub(crate) fn clear_flags(&self, from: u64, to: u64) {
        debug_assert!(from <= to && to <= self.geo.capacity && from % 8 == 0 && to % 8 == 0);
        let (mut i, end) = (
            (from / 8).min(self.geo.capacity / 8),
            (to / 8).min(self.geo.capacity / 8),
        );
        while i < end && i % 8 != 0 {
            self.flag(i * 8).store(FLAG_EMPTY, Ordering::Relaxed);
            i += 1;
        }
        while i + 8 <= end {
            // SAFETY: flags `[i, i + 8)` lie inside the flag array (`i + 8 <= capacity / 8`),
            // and `flags_offset + i` is a multiple of 8 (page-aligned array, `i % 8 == 0`), so
            // the word is aligned; `AtomicU64` is valid for any bit pattern.
            let word = unsafe {
                &*(self.map.as_ptr().add((self.geo.flags_offset + i) as usize) as *const AtomicU64)
            };
            word.store(0, Ordering::Relaxed);
            i += 8;
        }
        while i < end {
            self.flag(i * 8).store(FLAG_EMPTY, Ordering::Relaxed);
            i += 1;
        }
    }

    /// Pointer to data offset `off`; the caller keeps `off + len <= capacity`.
    #[inline]
    fn data_ptr(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.geo.capacity);
        // SAFETY: `off <= capacity`, so the pointer stays inside (or one past) the data region.
        unsafe {
            self.map
                .as_mut_ptr()
                .add((self.geo.data_offset + off.min(self.geo.capacity)) as usize)
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // A forked child's copy removes nothing of its parent's; and a file that is no longer
        // the one this ring maps (removed, or replaced at its path by someone else) stays.
        self.remove_temporary();
    }
}
