//! A read-only look at a channel file while others use it: the header's counters and cursors,
//! who holds which lock, and copies of the records queued between `head` and `tail`. What
//! [`crate::inspect`] shows is read here; nothing here knows serde or schemas.
//!
//! # Never a trace in the file
//!
//! The file is opened read-only and mapped read-only, so not a byte of it can change through
//! this mapping (a write would fault). Locks are only asked about (`F_OFD_GETLK`, see
//! [`crate::sys::lock::is_locked`]), never taken: a description opened read-only could not
//! take the write locks that mean "a peer lives", and a read lock, which it could take, would
//! keep receivers and senders out for as long as it lasts. Every load is a relaxed atomic load
//! of at most 8 bytes (the only atomic accesses Rust allows on read-only memory), ordered
//! where it matters by an `Acquire` fence, which gives it what an `Acquire` load would.
//!
//! # Reading records that may change under us
//!
//! The receiver may consume, and release, the records the walk is reading, and senders may
//! then write a newer lap's records over them. A record at position `p` stays as it was
//! committed until `free` passes `p` (senders write only below `free + capacity`, and `free`
//! never moves back). So each record is copied out word by word, and `free` is read again
//! after the copy (behind an `Acquire` fence): if it is still at or below `p`, nobody could
//! have written the bytes while they were copied, and the copy is the record. If it passed
//! `p`, the copy is dropped and the walk goes on from the receiver's current head (those
//! records were received meanwhile). Everything is bounds-checked before it is read, so bytes
//! that lie give an error, never a read outside the mapping, and the walk stops at the write
//! position it found when it began, so it ends however fast senders send.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};

use memmap2::MmapRaw;

use super::create::{check_start, read_identity};
use super::header::{Geometry, Header, MAGIC, RECEIVER_LOCK, REPLACE_LOCK};
use super::peers::{slot_lock, SenderSlot, SLOT_SIZE};
use super::{
    record_size, FLAG_EMPTY, FLAG_MESSAGE, FLAG_PADDING, MAX_POSITION, POSITION_MASK, RECORD_HEADER,
};
use crate::error::{op, IoContext};
use crate::schema::StoredSchema;
use crate::sys::{file, lock};
use crate::{Error, Result};

/// A channel file mapped read-only, its identity validated.
pub(crate) struct ReadOnlyRing {
    map: MmapRaw,
    /// A read-only description of the file: asks about locks, never holds one.
    file: File,
    /// Where it was opened, for errors.
    path: PathBuf,
    geo: Geometry,
    schema: StoredSchema,
}

/// The three cursors and the state bits, as one consistent reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursors {
    pub(crate) free: u64,
    pub(crate) head: u64,
    /// The position part of `tail`.
    pub(crate) tail: u64,
    /// `tail` with its state bits.
    pub(crate) tail_word: u64,
}

/// The counters of the header's peers section and its wait words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerCounters {
    pub(crate) receiver_pid: u32,
    pub(crate) claims: u64,
    pub(crate) registrations: u64,
    pub(crate) attached: u64,
    pub(crate) skipped_reservations: u64,
    /// Processes announced as sleeping on the data wait word (the receiver).
    pub(crate) data_sleepers: u32,
    /// Processes announced as sleeping on the space wait word (senders on a full ring).
    pub(crate) space_sleepers: u32,
}

/// One sender slot as read, with whether its lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotReading {
    pub(crate) index: u32,
    pub(crate) state: u32,
    pub(crate) pid: u32,
    pub(crate) intent_pos: u64,
    /// With [`super::peers::CONFIRMED`].
    pub(crate) intent_len: u64,
    pub(crate) locked: bool,
}

/// Where a walk over the queued records stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkEnd {
    /// At the write position found when the walk began: every record before it was read.
    Tail,
    /// After the number of messages asked for.
    Limit,
    /// At a reservation not committed yet (being written, or its sender died).
    Uncommitted(u64),
    /// At bytes that are not a record.
    Corrupt(String),
}

/// What a walk read: `(position, payload)` of each message, in order.
#[derive(Debug)]
pub(crate) struct Walk {
    pub(crate) start: Cursors,
    pub(crate) messages: Vec<(u64, Vec<u8>)>,
    /// Times the receiver released records the walk was about to read.
    pub(crate) overtaken: u32,
    pub(crate) end: WalkEnd,
}

/// Whether the file at `path` starts with the channel magic.
///
/// # Errors
/// [`Error::Io`] if it cannot be opened or read.
pub(crate) fn has_magic(path: &Path) -> Result<bool> {
    let file = file::open_read_only(path).doing(op::OPEN, path)?;
    if !file.metadata().doing(op::OPEN, path)?.is_file() {
        return Ok(false);
    }
    let start = file::read_start(&file, MAGIC.len()).doing(op::OPEN, path)?;
    Ok(start == MAGIC)
}

impl ReadOnlyRing {
    /// Opens and maps the channel file at `path` read-only and validates its identity.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened or mapped; [`Error::IncompatibleRingBuffer`] if it
    /// is not a channel of this layout; [`Error::Corrupt`] if its geometry is impossible.
    pub(crate) fn open(path: &Path) -> Result<ReadOnlyRing> {
        let file = file::open_read_only(path).doing(op::OPEN, path)?;
        check_start(&file, path)?;
        let map = file::map_read_only(&file).doing(op::MAP, path)?;
        let (geo, schema) = read_identity(&map, path)?;
        Ok(ReadOnlyRing {
            map,
            file,
            path: path.to_path_buf(),
            geo,
            schema,
        })
    }

    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geo
    }

    pub(crate) fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    fn header(&self) -> &Header {
        // SAFETY: `read_identity` checked that the mapping holds a whole header; the mapping
        // is page aligned and lives as long as `self`; the header holds only atomics and plain
        // bytes, valid for any bit pattern, and is only loaded from (relaxed, at most 8 bytes:
        // sound on read-only memory).
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    /// Relaxed load followed by an Acquire fence: an Acquire load that read-only memory allows.
    fn acquire(word: &AtomicU64) -> u64 {
        let v = word.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        v
    }

    /// The cursors, read so that an honest channel always satisfies `free <= head <= tail`
    /// and `tail - free <= capacity`: `tail` first (for the last check), then `free`, `head`
    /// and `tail` again, each ordered before the next. Each cursor only grows, and each is
    /// written after the one it may not pass, so a reading in this order never sees them
    /// crossed unless the bytes lie.
    ///
    /// # Errors
    /// The reason, naming the values, if they are impossible.
    pub(crate) fn cursors(&self) -> std::result::Result<Cursors, String> {
        let h = self.header();
        let first_tail = Self::acquire(&h.tail) & POSITION_MASK;
        let free = Self::acquire(&h.free);
        let head = Self::acquire(&h.head);
        let tail_word = Self::acquire(&h.tail);
        let tail = tail_word & POSITION_MASK;
        let cap = self.geo.capacity;
        if (free | head | tail) % 8 != 0
            || free > head
            || head > tail
            || tail > MAX_POSITION
            || first_tail.saturating_sub(free) > cap
        {
            return Err(format!(
                "impossible cursors: free {free}, head {head}, tail {tail}, capacity {cap}"
            ));
        }
        Ok(Cursors {
            free,
            head,
            tail,
            tail_word,
        })
    }

    /// The cursors as they are, checked or not (to show a corrupt file's).
    pub(crate) fn raw_cursors(&self) -> (u64, u64, u64) {
        let h = self.header();
        (
            h.free.load(Ordering::Relaxed),
            h.head.load(Ordering::Relaxed),
            h.tail.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn peer_counters(&self) -> PeerCounters {
        let h = self.header();
        let p = &h.peers;
        PeerCounters {
            receiver_pid: p.receiver_pid.load(Ordering::Relaxed),
            claims: p.claims.load(Ordering::Relaxed),
            registrations: p.registrations.load(Ordering::Relaxed),
            attached: p.attached.load(Ordering::Relaxed),
            skipped_reservations: p.skipped_reservations.load(Ordering::Relaxed),
            data_sleepers: h.data_wait.sleepers.load(Ordering::Relaxed),
            space_sleepers: h.space_wait.sleepers.load(Ordering::Relaxed),
        }
    }

    /// Whether a process holds the receiver lock (a receiver, or a creator deciding).
    pub(crate) fn receiver_locked(&self) -> Result<bool> {
        self.is_locked(RECEIVER_LOCK)
    }

    /// Whether a creator holds the replace lock (it is deciding whether to replace the file).
    pub(crate) fn creator_deciding(&self) -> Result<bool> {
        self.is_locked(REPLACE_LOCK)
    }

    fn is_locked(&self, offset: u64) -> Result<bool> {
        lock::is_locked(self.file.as_fd(), offset)
            .map_err(|e| Error::io(op::INSPECT, self.path.clone(), e))
    }

    /// Sender slot `i` (`i < max_senders`).
    fn slot(&self, i: u32) -> &SenderSlot {
        let i = i.min(self.geo.max_senders - 1);
        // SAFETY: `read_identity` checked that `max_senders` is non-zero and that the slot
        // table, which `Geometry` places inside the file, lies inside the mapping; slot `i`
        // (clamped below `max_senders`) is 64-byte aligned (the table starts at 896) and holds
        // only atomics, loaded relaxed.
        unsafe {
            &*(self
                .map
                .as_ptr()
                .add(self.geo.slots_offset as usize + i as usize * SLOT_SIZE as usize)
                as *const SenderSlot)
        }
    }

    /// Every slot that is in use, announces a reservation, or whose lock is held: one lock
    /// query per slot that is not plainly free.
    pub(crate) fn slots(&self) -> Result<Vec<SlotReading>> {
        let mut found = Vec::new();
        for index in 0..self.geo.max_senders {
            let s = self.slot(index);
            let state = s.state.load(Ordering::Relaxed);
            let pid = s.pid.load(Ordering::Relaxed);
            let intent_len = s.intent_len.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            let intent_pos = s.intent_pos.load(Ordering::Relaxed);
            if state == 0 && intent_len == 0 && pid == 0 {
                continue;
            }
            found.push(SlotReading {
                index,
                state,
                pid,
                intent_pos,
                intent_len,
                locked: self.is_locked(slot_lock(index))?,
            });
        }
        Ok(found)
    }

    /// Commit flag at data offset `off` (`< capacity`, word aligned), with Acquire effect.
    fn flag(&self, off: u64) -> u8 {
        let idx = (off % self.geo.capacity) / 8;
        // SAFETY: `idx < capacity / 8`, and the flag array of `capacity / 8` bytes lies inside
        // the mapping at `flags_offset` (checked by `read_identity`).
        let flag = unsafe {
            &*(self
                .map
                .as_ptr()
                .add((self.geo.flags_offset + idx) as usize) as *const AtomicU8)
        };
        let v = flag.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        v
    }

    /// The word at data offset `off` (word aligned; clamped below the capacity).
    fn data_word(&self, off: u64) -> u64 {
        let off = (off % self.geo.capacity) & !7;
        // SAFETY: `off + 8 <= capacity` (a multiple of 8 below the capacity, itself a multiple
        // of 8), so the word lies in the data region inside the mapping, which is page aligned:
        // the word is 8-byte aligned.
        let word = unsafe {
            &*(self.map.as_ptr().add((self.geo.data_offset + off) as usize) as *const AtomicU64)
        };
        word.load(Ordering::Relaxed)
    }

    /// Copies `len` payload bytes from data offset `off` (word aligned, and `off + len`
    /// rounded up to a word within the capacity), a word at a time.
    fn copy_out(&self, off: u64, len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len as usize + 8);
        let mut at = off;
        while (out.len() as u64) < len {
            out.extend_from_slice(&self.data_word(at).to_ne_bytes());
            at += 8;
        }
        out.truncate(len as usize);
        out
    }

    /// Whether the receiver has released position `pos` (so a sender may have written there
    /// since), read after everything before it.
    fn released_past(&self, pos: u64) -> bool {
        fence(Ordering::Acquire);
        self.header().free.load(Ordering::Relaxed) > pos
    }

    /// Copies out up to `max` messages queued from the receiver's head to the write position,
    /// in order, without consuming anything.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the cursors are impossible.
    pub(crate) fn walk(&self, max: usize) -> Result<Walk> {
        let start = self.cursors().map_err(Error::Corrupt)?;
        let cap = self.geo.capacity;
        let end = start.tail;
        let mut walk = Walk {
            start,
            messages: Vec::new(),
            overtaken: 0,
            end: WalkEnd::Tail,
        };
        let mut pos = start.head;
        loop {
            if pos >= end {
                walk.end = WalkEnd::Tail;
                return Ok(walk);
            }
            if walk.messages.len() >= max {
                walk.end = WalkEnd::Limit;
                return Ok(walk);
            }
            let off = pos % cap;
            let flag = self.flag(off);
            let problem = match flag {
                FLAG_EMPTY => {
                    if !self.released_past(pos) {
                        walk.end = WalkEnd::Uncommitted(pos);
                        return Ok(walk);
                    }
                    None
                }
                FLAG_MESSAGE => {
                    let len = self.data_word(off);
                    match record_size(len) {
                        Some(size) if size <= cap - off && size <= end - pos => {
                            let payload = self.copy_out(off + RECORD_HEADER, len);
                            if !self.released_past(pos) {
                                if self.flag(off) != FLAG_MESSAGE || self.data_word(off) != len {
                                    Some(format!(
                                        "the record at position {pos} changed while it was read, \
                                         but the receiver had not released it"
                                    ))
                                } else {
                                    walk.messages.push((pos, payload));
                                    pos += size;
                                    continue;
                                }
                            } else {
                                None
                            }
                        }
                        _ => Some(format!(
                            "the record at position {pos} claims {len} bytes, more than the {} \
                             bytes left before the end of the ring or the {} queued",
                            (cap - off).saturating_sub(RECORD_HEADER),
                            end - pos
                        )),
                    }
                }
                FLAG_PADDING => {
                    let skip = self.data_word(off);
                    if skip >= RECORD_HEADER
                        && skip % 8 == 0
                        && skip <= cap - off
                        && skip <= end - pos
                    {
                        pos += skip;
                        continue;
                    }
                    Some(format!(
                        "padding at position {pos} claims {skip} bytes; {} bytes are left before \
                         the end of the ring",
                        cap - off
                    ))
                }
                other => Some(format!(
                    "commit flag {other} at position {pos} is not a record state"
                )),
            };
            // What lies at `pos` is not what the walk expected: either the receiver released
            // it meanwhile (go on from its head), or the file is corrupt.
            if self.released_past(pos) {
                walk.overtaken += 1;
                let head = Self::acquire(&self.header().head);
                if head <= pos || head % 8 != 0 {
                    walk.end = WalkEnd::Corrupt(format!(
                        "the release cursor passed position {pos} but the read cursor is at \
                         {head}"
                    ));
                    return Ok(walk);
                }
                pos = head;
                continue;
            }
            if let Some(why) = problem {
                walk.end = WalkEnd::Corrupt(why);
                return Ok(walk);
            }
        }
    }
}
