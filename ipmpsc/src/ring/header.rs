//! The channel file's header: identity, geometry, peers, cursors and wait words, each cursor on
//! its own pair of cache lines.
//!
//! ```text
//! offset  size  what
//!      0   128  identity and geometry (written once by the creator, read once by openers)
//!    128   128  peers: receiver pid, claim and sender counters  (locks: receiver 128, creator 129)
//!    256   128  head: the read cursor (written by the receiver only)
//!    384   128  free: the release cursor (written by the receiver only)
//!    512   128  tail: the reservation cursor and the channel state bits (CAS by senders)
//!    640   128  data wait word (the receiver sleeps here)
//!    768   128  space wait word and target (senders sleep here)
//!    896  64*N  sender slots (N = max_senders)                (sender i's lock: byte 896 + 64 i)
//!      …     …  schema name and description (UTF-8)
//!      …   D/8  commit flags, one byte per 8-byte word of the data region (page aligned)
//!      …     D  data region (page aligned): D = C rounded up to 8, plus a record's length
//!               word, for a channel created with capacity C (see [`data_capacity`])
//! ```
//!
//! The lock bytes are byte-range locks on the file (see [`crate::sys::lock`]), not bytes of
//! the mapping: the kernel keeps them, and they say who is alive.

use std::sync::atomic::{AtomicU32, AtomicU64};

/// First eight bytes of every channel file.
pub(crate) const MAGIC: [u8; 8] = *b"IPMPSCrb";
/// Version of this layout; a file of another layout version is refused. Version 2 decides
/// liveness with file locks instead of pids.
pub(crate) const LAYOUT_VERSION: u32 = 2;
/// Written natively: reads back as this value only on a machine of the same byte order.
pub(crate) const ENDIAN_MARK: u32 = 0x0102_0304;
/// Longest schema name plus description the header holds.
pub(crate) const MAX_SCHEMA_TEXT: u64 = 1 << 20;
/// Most senders a channel supports at once.
pub(crate) const MAX_SENDERS_LIMIT: u32 = 4096;
/// Sender slots of a channel created by this build.
pub(crate) const DEFAULT_MAX_SENDERS: u32 = 128;

/// File offset of the receiver's lock byte.
pub(crate) const RECEIVER_LOCK: u64 = 128;
/// File offset of the byte a creator locks (before the receiver lock) while it decides
/// whether it may replace the file: whoever finds the receiver lock held can tell a creator
/// deciding (wait a moment) from a live receiver.
pub(crate) const REPLACE_LOCK: u64 = 129;
/// File offset of sender slot 0's lock byte; slot `i` locks `SENDER_LOCKS + 64 * i`.
pub(crate) const SENDER_LOCKS: u64 = 896;

const PAGE: u64 = 4096;

/// A value on its own 128 bytes: two cache lines, so that the adjacent-line prefetcher does not
/// couple a cursor written by one side with a cursor written by the other. Derefs to the value,
/// so hot code reads `self.tail.load(..)`.
#[repr(C, align(128))]
pub(crate) struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Identity and geometry. Written by the creator before the file is renamed into place;
/// nobody writes them afterwards, and openers copy them into [`Geometry`] once, so a later
/// scribble by a hostile process cannot move a bound the receiver relies on.
#[repr(C)]
pub(crate) struct Identity {
    /// [`MAGIC`].
    pub(crate) magic: [u8; 8],
    /// [`LAYOUT_VERSION`].
    pub(crate) layout_version: AtomicU32,
    /// `size_of::<usize>()` of the creator.
    pub(crate) word_size: AtomicU32,
    /// [`ENDIAN_MARK`] as the creator wrote it.
    pub(crate) endian_mark: AtomicU32,
    /// [`crate::codec::CODEC_ID`] of the creator.
    pub(crate) codec: AtomicU32,
    /// Number of sender slots.
    pub(crate) max_senders: AtomicU32,
    /// Version of the message schema (0 for a raw channel).
    pub(crate) schema_version: AtomicU32,
    /// Capacity of the data region in bytes: a non-zero multiple of 8.
    pub(crate) capacity: AtomicU64,
    /// Total length of the file; must equal the file's real length.
    pub(crate) file_len: AtomicU64,
    /// Structural hash of the message schema; 0 for a raw (untyped) channel.
    pub(crate) schema_hash: AtomicU64,
    /// Byte length of the schema name stored after the sender slots.
    pub(crate) schema_name_len: AtomicU32,
    /// Byte length of the schema description stored after the name.
    pub(crate) schema_desc_len: AtomicU32,
    /// A random number chosen by the creator: tells this file from any other channel, also
    /// one created later at the same path (0 in files of builds that did not write it).
    pub(crate) channel_id: AtomicU64,
}

/// Who is there. Liveness itself is the kernel's lock on [`RECEIVER_LOCK`] and on each sender
/// slot's byte; these words count arrivals and departures so that the hot paths need no
/// syscall to ask "is anybody there?".
#[repr(C)]
pub(crate) struct Peers {
    /// Pid of the receiver that last claimed the channel, in its own PID namespace; only for
    /// naming it in errors. 0 once it released the claim.
    pub(crate) receiver_pid: AtomicU32,
    _reserved: AtomicU32,
    /// Number of times a receiver claimed the channel; non-zero means a receiver existed, so a
    /// sender that finds the receiver lock free knows the receiver is gone rather than not yet
    /// started.
    pub(crate) claims: AtomicU64,
    /// Number of times a sender registered (took a slot as a [`SlotState::Sender`]). The
    /// receiver watches it to tell "senders came and went" from "nobody came yet".
    pub(crate) registrations: AtomicU64,
    /// Number of slots in state [`SlotState::Sender`]: incremented when a sender registers,
    /// decremented exactly once per registration, under the slot's lock, by whoever frees the
    /// slot (the sender itself, or the receiver or a new sender after its owner died).
    pub(crate) attached: AtomicU64,
    /// Number of dead senders' reservations the receiver turned into padding (statistics).
    pub(crate) skipped_reservations: AtomicU64,
}

/// A futex word with a count of sleepers, and the lowest position any of them waits for.
#[repr(C)]
pub(crate) struct WaitWord {
    /// Bumped by a waker before `FUTEX_WAKE`; sleepers wait while it holds the value they read.
    pub(crate) seq: AtomicU32,
    /// Number of processes that announced they are about to sleep or sleep on `seq`. Wakers
    /// skip the syscall while it is 0.
    pub(crate) sleepers: AtomicU32,
    /// For the space wait word: the smallest release cursor a sleeping sender needs (its
    /// message fits once `free` reaches it); `u64::MAX` when nobody said. The receiver wakes
    /// senders as soon as `free` reaches it.
    pub(crate) target: AtomicU64,
}

/// The fixed part of the header, at offset 0 of the file.
#[repr(C)]
pub(crate) struct Header {
    /// Written once at creation.
    pub(crate) identity: Padded<Identity>,
    /// Who is there.
    pub(crate) peers: Padded<Peers>,
    /// Read cursor: position of the first record not yet consumed. Written by the receiver
    /// only, after each message; read back only by a receiver that claims the channel (so a
    /// restarted receiver continues here) and by senders deciding whether a dead sender's
    /// reservation was consumed. `free <= head <= tail`.
    pub(crate) head: Padded<AtomicU64>,
    /// Release cursor: everything below it may be overwritten by senders, and every commit flag
    /// below it is `EMPTY`. The receiver moves it up to `head` in batches (after clearing the
    /// flags of the consumed records), so that senders and receiver do not pass the flag cache
    /// line back and forth on every message. `tail - free <= capacity`.
    pub(crate) free: Padded<AtomicU64>,
    /// Reservation cursor: position just past the last reserved record, in the low
    /// [`super::POSITION_BITS`] bits, and the channel state bits above them
    /// ([`super::CLOSED`], [`super::REPLACED`], [`super::REPLACING`]). Advanced by senders with
    /// compare-and-swap, so a reservation and the state it was made in are one atomic step;
    /// the position never moves backwards.
    pub(crate) tail: Padded<AtomicU64>,
    /// The receiver sleeps here when the ring is empty; senders wake it after a commit, and a
    /// departing sender wakes it so that it can notice that everyone left.
    pub(crate) data_wait: Padded<WaitWord>,
    /// Senders sleep here when the ring is full; the receiver wakes them once the space they
    /// need is free, or when it goes away.
    pub(crate) space_wait: Padded<WaitWord>,
}

/// Where everything is, derived from capacity, sender count and schema text length alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) capacity: u64,
    pub(crate) max_senders: u32,
    pub(crate) slots_offset: u64,
    pub(crate) schema_offset: u64,
    pub(crate) schema_name_len: u32,
    pub(crate) schema_desc_len: u32,
    pub(crate) flags_offset: u64,
    pub(crate) data_offset: u64,
    pub(crate) file_len: u64,
}

fn align_up(x: u64, to: u64) -> Option<u64> {
    x.checked_add(to - 1).map(|v| v & !(to - 1))
}

impl Geometry {
    /// Lays out a channel; `None` if the numbers overflow.
    pub(crate) fn new(
        capacity: u64,
        max_senders: u32,
        name_len: u32,
        desc_len: u32,
    ) -> Option<Geometry> {
        let slots_offset = std::mem::size_of::<Header>() as u64;
        let schema_offset = slots_offset + u64::from(max_senders) * super::peers::SLOT_SIZE;
        let schema_end = schema_offset + u64::from(name_len) + u64::from(desc_len);
        let flags_offset = align_up(schema_end, PAGE)?;
        let data_offset = align_up(flags_offset.checked_add(capacity / 8)?, PAGE)?;
        let file_len = data_offset.checked_add(capacity)?;
        Some(Geometry {
            capacity,
            max_senders,
            slots_offset,
            schema_offset,
            schema_name_len: name_len,
            schema_desc_len: desc_len,
            flags_offset,
            data_offset,
            file_len,
        })
    }
}

/// The data region of a ring that takes one message of `largest` encoded bytes: the message
/// rounded up to a multiple of 8, and room for its record's length word. So a ring created
/// with capacity C takes a message of C bytes, as in ipmpsc 0.5. `None` if it overflows.
pub(crate) fn data_capacity(largest: u64) -> Option<u64> {
    align_up(largest, 8)?.checked_add(super::RECORD_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use static_assertions::const_assert_eq;
    use std::mem::{offset_of, size_of};

    // The header layout is part of the file format: pin it.
    const_assert_eq!(size_of::<Identity>(), 72);
    const_assert_eq!(size_of::<Header>(), 896);
    const_assert_eq!(offset_of!(Header, peers) as u64, RECEIVER_LOCK);
    const_assert_eq!(offset_of!(Header, head), 256);
    const_assert_eq!(offset_of!(Header, free), 384);
    const_assert_eq!(offset_of!(Header, tail), 512);
    const_assert_eq!(offset_of!(Header, data_wait), 640);
    const_assert_eq!(offset_of!(Header, space_wait), 768);
    const_assert_eq!(size_of::<Header>() as u64, SENDER_LOCKS);
    const_assert_eq!(offset_of!(Identity, capacity), 32);
    const_assert_eq!(offset_of!(Identity, schema_hash), 48);
    const_assert_eq!(offset_of!(Peers, attached), 24);

    #[test]
    fn geometry_is_page_aligned_and_ordered() {
        let g = Geometry::new(1 << 20, 128, 3, 100).unwrap();
        assert_eq!(g.slots_offset, 896);
        assert_eq!(g.schema_offset, 896 + 128 * 64);
        assert_eq!(g.flags_offset % PAGE, 0);
        assert_eq!(g.data_offset % PAGE, 0);
        assert!(g.flags_offset >= g.schema_offset + 103);
        assert!(g.data_offset >= g.flags_offset + (1 << 20) / 8);
        assert_eq!(g.file_len, g.data_offset + (1 << 20));
    }

    #[test]
    fn huge_capacity_overflows_to_none() {
        assert!(Geometry::new(u64::MAX - 7, 128, 0, 0).is_none());
    }

    #[test]
    fn the_data_region_holds_the_largest_message_and_its_length_word() {
        assert_eq!(data_capacity(0), Some(8));
        assert_eq!(data_capacity(8), Some(16));
        assert_eq!(data_capacity(9), Some(24));
        assert_eq!(data_capacity(64), Some(72));
        assert_eq!(data_capacity(u64::MAX), None);
        assert_eq!(data_capacity(u64::MAX - 7), None);
        for c in [0, 1, 8, 63, 64, 1000, 4096] {
            let region = data_capacity(c).unwrap();
            assert_eq!(region % 8, 0);
            assert!(super::super::record_size(c).unwrap() <= region);
        }
    }
}
