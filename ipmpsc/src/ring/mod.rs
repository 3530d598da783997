//! The shared-memory protocol: a multi-producer, single-consumer ring of variable-sized records
//! in a memory-mapped file, with lock-free reservation, commit flags beside the data, and
//! futex sleeping. Nothing here knows serde or schemas.
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
//!                 reserve (CAS tail)          commit (flag store, Release)
//!   flag EMPTY  ----------------------> [reserved] -----------------------> MESSAGE | PADDING
//!       ^                                    |                                     |
//!       |                                    | owner dead (receiver, after         |
//!       |                                    | `STALL_TIMEOUT`)                    |
//!       |                                    v                                     |
//!       |                                 PADDING                                  |
//!       +--------------------------------------------------------------------------+
//!        release (flags of [free, head) EMPTY, then free = head, SeqCst; batched)
//! ```
//!
//! * **Reserve.** A sender reads `tail`, announces `(tail, size)` in its slot of the sender
//!   table (see [`senders`]), checks space against its cached copy of `free` (reloading `free`
//!   only when the cache says "full"), and moves `tail` forward with a compare-and-swap. The
//!   CAS is the only write any two senders contend on; no lock is taken anywhere.
//! * **Commit.** The sender writes the payload and the length word, then stores the flag with
//!   a SeqCst swap (which also releases the payload to the receiver's Acquire load of the flag).
//! * **Consume.** The receiver loads the flag at `head` (Acquire). `MESSAGE`: the length is
//!   bounds-checked against the region, the payload is handed out as a slice, and when the
//!   caller is done `head` is advanced. `PADDING`: skipped the same way.
//! * **Release.** Consumed bytes go back to senders in batches: the receiver resets the flags
//!   in `[free, head)` to `EMPTY` and then moves `free` up to `head` (SeqCst). It does so
//!   after [`consumer::release_batch`] bytes, whenever a sender sleeps for space, and always
//!   before it waits for data itself, so space is never held back while the receiver idles.
//!   Batching keeps the flag cache line from bouncing between the two sides on every message. `EMPTY`: nothing to read yet. Any other value, or a length that does not fit, is
//!   `Error::Corrupt`; the receiver never reads outside the mapping.
//!
//! Senders never read the flags and the receiver never reads `tail` on the fast path, so in
//! steady state the only shared cache lines are the data itself and the flag line.
//!
//! # Sleeping without lost wake-ups
//!
//! Each side spins briefly, then sleeps on a futex word of the shared mapping
//! ([`header::WaitWord`]). The sleeper (1) reads the word's `seq`, (2) increments `sleepers`
//! (SeqCst), (3) re-checks its condition (SeqCst), and only then (4) calls `FUTEX_WAIT(seq)`.
//! The waker (a) makes the condition true with a SeqCst store, (b) loads `sleepers` (SeqCst),
//! and only if it is non-zero (c) swaps it to 0 and, if it took a non-zero value, increments
//! `seq` and calls `FUTEX_WAKE` for all. The SeqCst operations are totally ordered, so either
//! the waker sees the sleeper's announcement in (b), or the sleeper sees the new condition in
//! (3). In the first case the announcement is taken by this waker's swap or by an earlier
//! one's; either way a `seq` increment follows (1), so the kernel either finds `seq` changed
//! and refuses to sleep, or wakes the sleeper. In the second case the sleeper does not sleep.
//! When nobody sleeps, `sleepers` is 0 and the waker makes no syscall; and because the swap
//! takes all announcements at once, a burst of commits while the receiver is waking up costs
//! one `FUTEX_WAKE`, not one per message.
//!
//! # Dead peers
//!
//! A reservation whose flag stays `EMPTY` for [`consumer::STALL_TIMEOUT`] makes the receiver look
//! at the sender table: if every slot announcing that position belongs to a dead process (pid
//! and start time, see [`crate::sys::process`]), the receiver turns the record into padding and
//! carries on. Senders blocked on a full ring check the receiver's claim every
//! [`producer::LIVENESS_INTERVAL`] and give up with `Error::Disconnected` when it is dead.

pub(crate) mod consumer;
pub(crate) mod header;
pub(crate) mod producer;
pub(crate) mod senders;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use memmap2::MmapRaw;

use crate::schema::{Schema, StoredSchema};
use crate::sys::{file, process};
use crate::{Error, Result};
use header::{Geometry, Header};
use senders::SenderSlot;

/// Commit flag: no record starts here (or one is reserved but not yet published).
pub(crate) const FLAG_EMPTY: u8 = 0;
/// Commit flag: a message record starts here.
pub(crate) const FLAG_MESSAGE: u8 = 1;
/// Commit flag: a padding record starts here; its length word is the number of bytes to skip.
pub(crate) const FLAG_PADDING: u8 = 2;

/// Largest position a cursor can honestly reach (2^62 bytes: 146 years at 1 TB/s). A cursor
/// beyond it was written by a corrupt process; refusing it keeps all position arithmetic free of
/// overflow.
pub(crate) const MAX_POSITION: u64 = 1 << 62;

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
    /// A multiple of the capacity at or below the receiver's head (see [`Ring::offset`]);
    /// process-local, used by the one receiver.
    pub(crate) consumer_lap: AtomicU64,
    /// Head position of a reservation the receiver found uncommitted, or
    /// [`consumer::NO_STALL`]; with `stall_since`, the clock that tells when to check whether
    /// its owner died. Process-local, kept across receive calls so that short timeouts and
    /// polling still get past a dead sender.
    pub(crate) stall_head: AtomicU64,
    /// When the receiver first saw `stall_head` uncommitted (monotonic nanoseconds).
    pub(crate) stall_since: AtomicU64,
    /// Spin the receiver has adapted to, in nanoseconds (0: the configured one); see
    /// `consumer::adapt_spin`. Process-local.
    pub(crate) adaptive_spin: AtomicU64,
    map: MmapRaw,
    _file: File,
    geo: Geometry,
    schema: StoredSchema,
    /// Removed when the last user in this process drops the ring (`create_temp`).
    remove_on_drop: Option<PathBuf>,
}

// SAFETY: `Ring` owns a shared mapping that is only accessed through atomics and through byte
// ranges whose ownership the ring protocol hands to exactly one party at a time (a reserving
// sender, or the receiver once the flag is published); nothing in it is tied to a thread.
unsafe impl Send for Ring {}
// SAFETY: as above: concurrent access from several threads is what the protocol is built for.
unsafe impl Sync for Ring {}

impl Ring {
    /// Creates a channel file at `path` of `capacity` data bytes for `schema`, initialised
    /// under a temporary name and renamed into place. `claim_receiver` also claims the receiver
    /// role for the calling process before the file becomes visible.
    pub(crate) fn create(
        path: &Path,
        capacity: u64,
        schema: &Schema,
        mode: u32,
        claim_receiver: bool,
    ) -> Result<Ring> {
        refuse_if_live_receiver(path)?;
        let capacity = header::round_capacity(capacity).ok_or(Error::MessageTooLarge {
            size: capacity,
            capacity: u64::MAX,
        })?;
        let name = schema.name.as_bytes();
        let desc = schema.description();
        let text_len = name.len() as u64 + desc.len() as u64;
        if text_len > header::MAX_SCHEMA_TEXT {
            return Err(Error::Encode(format!(
                "schema description of {text_len} bytes exceeds {} bytes",
                header::MAX_SCHEMA_TEXT
            )));
        }
        let geo = Geometry::new(
            capacity,
            header::DEFAULT_MAX_SENDERS,
            name.len() as u32,
            desc.len() as u32,
        )
        .ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "capacity too large",
            ))
        })?;
        let staged = file::StagedFile::create(path, geo.file_len, mode)?;
        let map = file::map(&staged.file)?;
        let ring = Ring {
            consumer_lap: AtomicU64::new(0),
            stall_head: AtomicU64::new(consumer::NO_STALL),
            stall_since: AtomicU64::new(0),
            adaptive_spin: AtomicU64::new(0),
            map,
            _file: staged.file.try_clone()?,
            geo,
            schema: StoredSchema {
                name: schema.name.to_owned(),
                version: schema.version,
                hash: schema.hash,
                description: desc.clone(),
            },
            remove_on_drop: None,
        };
        ring.write_identity(name, desc.as_bytes());
        if claim_receiver {
            ring.header()
                .receiver
                .0
                .owner
                .store(senders::pack(process::current()), Ordering::SeqCst);
        }
        staged.publish()?;
        Ok(ring)
    }

    fn write_identity(&self, name: &[u8], desc: &[u8]) {
        let geo = &self.geo;
        // SAFETY: the file is fresh, not yet visible under its final name, and `geo.file_len`
        // bytes long; the schema text range lies inside the header area computed by `Geometry`.
        unsafe {
            let base = self.map.as_mut_ptr();
            std::ptr::copy_nonoverlapping(header::MAGIC.as_ptr(), base, 8);
            let text = base.add(geo.schema_offset as usize);
            std::ptr::copy_nonoverlapping(name.as_ptr(), text, name.len());
            std::ptr::copy_nonoverlapping(desc.as_ptr(), text.add(name.len()), desc.len());
        }
        let id = &self.header().identity.0;
        id.layout_version
            .store(header::LAYOUT_VERSION, Ordering::Relaxed);
        id.word_size
            .store(std::mem::size_of::<usize>() as u32, Ordering::Relaxed);
        id.endian_mark.store(header::ENDIAN_MARK, Ordering::Relaxed);
        id.codec.store(crate::codec::CODEC_ID, Ordering::Relaxed);
        id.max_senders.store(geo.max_senders, Ordering::Relaxed);
        id.schema_version
            .store(self.schema.version, Ordering::Relaxed);
        id.capacity.store(geo.capacity, Ordering::Relaxed);
        id.file_len.store(geo.file_len, Ordering::Relaxed);
        id.schema_hash.store(self.schema.hash, Ordering::Relaxed);
        id.schema_name_len
            .store(geo.schema_name_len, Ordering::Relaxed);
        id.schema_desc_len
            .store(geo.schema_desc_len, Ordering::Release);
    }

    /// Maps and validates an existing channel file.
    pub(crate) fn open(path: &Path) -> Result<Ring> {
        let f = file::open(path)?;
        let actual_len = f.metadata()?.len();
        let min = std::mem::size_of::<Header>() as u64;
        if actual_len < min {
            return Err(Error::IncompatibleRingBuffer(format!(
                "{} is {actual_len} bytes long, shorter than a channel header ({min} bytes)",
                path.display()
            )));
        }
        let map = file::map(&f)?;
        if (map.len() as u64) < min {
            return Err(Error::IncompatibleRingBuffer(
                "file shrank while being opened".into(),
            ));
        }
        // SAFETY: the mapping is at least `size_of::<Header>()` bytes and page aligned; the
        // header's fields are atomics and plain bytes, valid for any bit pattern.
        let hdr = unsafe { &*(map.as_ptr() as *const Header) };
        let id = &hdr.identity.0;
        if id.magic != header::MAGIC {
            return Err(Error::IncompatibleRingBuffer(format!(
                "{} does not start with the ipmpsc magic: not a channel file",
                path.display()
            )));
        }
        let check = |what: &str, theirs: u32, ours: u32| {
            if theirs == ours {
                Ok(())
            } else {
                Err(Error::IncompatibleRingBuffer(format!(
                    "{what} differs: the file has {theirs}, this build uses {ours}"
                )))
            }
        };
        check(
            "layout version",
            id.layout_version.load(Ordering::Acquire),
            header::LAYOUT_VERSION,
        )?;
        check(
            "word size",
            id.word_size.load(Ordering::Relaxed),
            std::mem::size_of::<usize>() as u32,
        )?;
        check(
            "byte order mark",
            id.endian_mark.load(Ordering::Relaxed),
            header::ENDIAN_MARK,
        )?;
        check(
            "codec",
            id.codec.load(Ordering::Relaxed),
            crate::codec::CODEC_ID,
        )?;

        let capacity = id.capacity.load(Ordering::Relaxed);
        let max_senders = id.max_senders.load(Ordering::Relaxed);
        let name_len = id.schema_name_len.load(Ordering::Relaxed);
        let desc_len = id.schema_desc_len.load(Ordering::Relaxed);
        if capacity == 0 || capacity % 8 != 0 {
            return Err(Error::Corrupt(format!(
                "capacity {capacity} is not a positive multiple of 8"
            )));
        }
        if max_senders == 0 || max_senders > header::MAX_SENDERS_LIMIT {
            return Err(Error::Corrupt(format!(
                "sender table of {max_senders} slots"
            )));
        }
        if u64::from(name_len) + u64::from(desc_len) > header::MAX_SCHEMA_TEXT {
            return Err(Error::Corrupt(
                "schema text longer than the header allows".into(),
            ));
        }
        let geo = Geometry::new(capacity, max_senders, name_len, desc_len)
            .ok_or_else(|| Error::Corrupt(format!("capacity {capacity} overflows the layout")))?;
        let recorded_len = id.file_len.load(Ordering::Relaxed);
        if recorded_len != geo.file_len || (map.len() as u64) < geo.file_len {
            return Err(Error::Corrupt(format!(
                "file is {} bytes, header records {recorded_len}, layout needs {}",
                map.len(),
                geo.file_len
            )));
        }
        // SAFETY: the schema text range lies inside the mapping (checked against
        // `geo.file_len` just above) and is read as plain bytes.
        let text = unsafe {
            std::slice::from_raw_parts(
                map.as_ptr().add(geo.schema_offset as usize),
                name_len as usize + desc_len as usize,
            )
        };
        let schema = StoredSchema {
            name: String::from_utf8_lossy(&text[..name_len as usize]).into_owned(),
            version: id.schema_version.load(Ordering::Relaxed),
            hash: id.schema_hash.load(Ordering::Relaxed),
            description: String::from_utf8_lossy(&text[name_len as usize..]).into_owned(),
        };
        let ring = Ring {
            consumer_lap: AtomicU64::new(0),
            stall_head: AtomicU64::new(consumer::NO_STALL),
            stall_since: AtomicU64::new(0),
            adaptive_spin: AtomicU64::new(0),
            map,
            _file: f,
            geo,
            schema,
            remove_on_drop: None,
        };
        ring.check_cursors()?;
        Ok(ring)
    }

    /// `Error::Corrupt` unless `free <= head <= tail <= free + capacity`, all word aligned.
    pub(crate) fn check_cursors(&self) -> Result<()> {
        let free = self.free().load(Ordering::Acquire);
        let head = self.head().load(Ordering::Acquire);
        let tail = self.tail().load(Ordering::Acquire);
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
        Ok(())
    }

    pub(crate) fn set_remove_on_drop(&mut self, path: PathBuf) {
        self.remove_on_drop = Some(path);
    }

    /// The addresses of the whole mapping (tests check that views point into it).
    #[cfg(test)]
    pub(crate) fn mapped_range(&self) -> std::ops::Range<usize> {
        let start = self.map.as_ptr() as usize;
        start..start + self.map.len()
    }

    /// Data capacity in bytes.
    #[inline]
    pub(crate) fn capacity(&self) -> u64 {
        self.geo.capacity
    }

    /// The schema recorded in the file.
    pub(crate) fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    #[inline]
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: `open`/`create` checked that the mapping holds a whole header; the mapping
        // is page aligned and lives as long as `self`.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    #[inline]
    pub(crate) fn head(&self) -> &AtomicU64 {
        &self.header().head.0
    }

    #[inline]
    pub(crate) fn free(&self) -> &AtomicU64 {
        &self.header().free.0
    }

    #[inline]
    pub(crate) fn tail(&self) -> &AtomicU64 {
        &self.header().tail.0
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
        // mapping; slots are 64-byte aligned (the table starts at 768) and hold only atomics.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add(self.geo.slots_offset as usize + i as usize * senders::SLOT_SIZE as usize)
                as *const SenderSlot)
        }
    }

    /// Offset in the data region of position `pos`, using `lap` (a multiple of the capacity at
    /// or below recent positions, kept by the caller) to avoid a division on every call.
    #[inline]
    pub(crate) fn offset(&self, pos: u64, lap: &std::sync::atomic::AtomicU64) -> u64 {
        let cap = self.geo.capacity;
        let base = lap.load(Ordering::Relaxed);
        let d = pos.wrapping_sub(base);
        if d < cap {
            d
        } else {
            let base = pos - pos % cap;
            lap.store(base, Ordering::Relaxed);
            pos - base
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
    pub(crate) fn data_ptr(&self, off: u64) -> *mut u8 {
        debug_assert!(off <= self.geo.capacity);
        // SAFETY: `off <= capacity`, so the pointer stays inside (or one past) the data region.
        unsafe {
            self.map
                .as_mut_ptr()
                .add((self.geo.data_offset + off.min(self.geo.capacity)) as usize)
        }
    }

    /// Wakes the receiver if it sleeps or is about to (after a commit).
    #[inline]
    pub(crate) fn wake_receiver(&self) {
        wake(&self.header().data_wait.0);
    }

    /// Wakes senders that sleep waiting for space (after `free` moved).
    #[inline]
    pub(crate) fn wake_senders(&self) {
        wake(&self.header().space_wait.0);
    }
}

/// The waker's half of the sleep protocol (module docs): after making the sleepers' condition
/// true with a SeqCst operation, wake them if any announced itself. Taking the announcements
/// with a swap means one wake per sleep, however many wakers pass by before the sleepers run.
#[inline]
fn wake(w: &header::WaitWord) {
    if w.sleepers.load(Ordering::SeqCst) != 0 && w.sleepers.swap(0, Ordering::SeqCst) != 0 {
        w.seq.fetch_add(1, Ordering::SeqCst);
        crate::sys::futex::wake_all(&w.seq);
    }
}

/// The sleeper's half: announce, re-check `ready` (which must load with SeqCst), and sleep on
/// the futex unless it is ready. Returns whether `ready` held. Never consumes a wake-up meant for
/// anyone else: announcements are only ever cleared by a waker that then wakes everybody.
#[inline]
pub(crate) fn sleep_unless(
    w: &header::WaitWord,
    timeout: Option<std::time::Duration>,
    ready: impl Fn() -> bool,
) -> bool {
    let seq = w.seq.load(Ordering::SeqCst);
    w.sleepers.fetch_add(1, Ordering::SeqCst);
    if ready() {
        return true;
    }
    crate::sys::futex::wait(&w.seq, seq, timeout);
    false
}

impl Drop for Ring {
    fn drop(&mut self) {
        if let Some(path) = self.remove_on_drop.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Refuses to replace a channel file that a live receiver holds.
fn refuse_if_live_receiver(path: &Path) -> Result<()> {
    let Ok(existing) = Ring::open(path) else {
        return Ok(()); // nothing there, or not a channel we can read: replace it
    };
    let owner = existing.header().receiver.0.owner.load(Ordering::Acquire);
    if owner != 0 && senders::owner_liveness(owner) == process::Liveness::Alive {
        return Err(Error::ReceiverAlreadyExists {
            pid: senders::unpack(owner).pid,
        });
    }
    Ok(())
}
