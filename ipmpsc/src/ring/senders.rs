//! The sender table: one slot per live sender, so that the receiver can tell whether the owner
//! of a reservation that stays uncommitted is still alive, and can skip it when it is not.
//!
//! A sender writes its intent (position and size) into its slot *before* the compare-and-swap
//! on the tail that makes the reservation, sets the `CONFIRMED` bit right after a successful
//! CAS, and clears the intent after publishing the record. So every reserved, uncommitted
//! record has at least one announcer; if several slots announce the same position (a failed
//! CAS whose owner died before retrying), the confirmed one, or failing that the only length
//! they all agree on, is the real one.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::sys::process::{self, Liveness, ProcessId};

/// Bytes per slot: one cache line, written by its owner only (the receiver writes a slot only
/// to clear a dead owner's intent).
pub(crate) const SLOT_SIZE: u64 = 64;

/// Set in `intent_len` once the CAS that reserved `intent_pos` succeeded.
pub(crate) const CONFIRMED: u64 = 1 << 63;

/// One sender's slot.
#[repr(C, align(64))]
pub(crate) struct SenderSlot {
    /// Packed owner identity ([`pack`]), 0 when free. Taken and given back with CAS.
    pub(crate) owner: AtomicU64,
    /// Position the owner is reserving or has reserved but not yet committed.
    pub(crate) intent_pos: AtomicU64,
    /// Size in bytes of that reservation, `| CONFIRMED` once it is made; 0 when none.
    pub(crate) intent_len: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<SenderSlot>() as u64 == SLOT_SIZE);

/// Packs a process identity into one word: pid in the low half, the low 32 bits of the start
/// time in the high half (a reused pid would also need a start time equal modulo 2^32 clock
/// ticks, about 497 days at 100 Hz).
pub(crate) fn pack(id: ProcessId) -> u64 {
    u64::from(id.pid) | ((id.start_time & 0xffff_ffff) << 32)
}

/// Inverse of [`pack`] (the start time comes back truncated to 32 bits).
pub(crate) fn unpack(word: u64) -> ProcessId {
    ProcessId {
        pid: word as u32,
        start_time: word >> 32,
    }
}

/// Whether the owner packed in `word` runs (0 means "nobody": dead).
pub(crate) fn owner_liveness(word: u64) -> Liveness {
    let id = unpack(word);
    process::liveness_with(id.pid, |start| {
        id.start_time == 0 || start & 0xffff_ffff == id.start_time
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_roundtrips_pid_and_low_start_time() {
        let id = ProcessId {
            pid: 4_000_000,
            start_time: 0x1_2345_6789,
        };
        let back = unpack(pack(id));
        assert_eq!(back.pid, 4_000_000);
        assert_eq!(back.start_time, 0x2345_6789);
    }

    #[test]
    fn own_packed_identity_is_alive_and_zero_is_dead() {
        assert_eq!(owner_liveness(pack(process::current())), Liveness::Alive);
        assert_eq!(owner_liveness(0), Liveness::Dead);
    }
}
