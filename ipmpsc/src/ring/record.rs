//! Records at the head of the ring as the consumer hands them out: [`RecordRef`], a guard
//! whose bytes stay in place until it is consumed.

use super::consumer::Consumer;
use super::{Ring, RECORD_HEADER};

/// A committed message record at the head of the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) pos: u64,
    pub(super) off: u64,
    pub(super) len: u64,
    pub(super) size: u64,
}

/// A committed message found at the head; [`Consumer::take`] turns it into a [`RecordRef`].
#[derive(Debug)]
pub(crate) struct Ready(pub(super) Record);

/// A committed message at the head of the ring, handed out by [`Consumer::take`]. Its bytes
/// stay in place (no sender reuses them) until it is consumed: by [`RecordRef::consume`], when
/// it is dropped (also when a decode panics, so a poisonous message is delivered at most once),
/// or at the consumer's next call after [`RecordRef::park`].
pub(crate) struct RecordRef<'c> {
    consumer: &'c mut Consumer,
    record: Record,
}

impl<'c> RecordRef<'c> {
    /// A guard for `record`, the committed record at `consumer`'s head.
    pub(super) fn new(consumer: &'c mut Consumer, record: Record) -> Self {
        RecordRef { consumer, record }
    }

    /// The payload, in shared memory.
    ///
    /// A process with write access to the file can change these bytes while they are read;
    /// owned values are decoded from them with `codec::decode_private`, which reads each byte
    /// once and checks strings only on private copies.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the record stays unconsumed while `self` lives: consuming it takes `self` by
        // value or needs the consumer, which `self` borrows mutably.
        unsafe { self.consumer.ring.payload(&self.record) }
    }

    /// The position just past the record: where the record after it starts.
    #[inline]
    pub(crate) fn end(&self) -> u64 {
        self.record.pos + self.record.size
    }

    /// Consumes the record now.
    #[inline]
    pub(crate) fn consume(self) {
        // Dropping consumes.
    }

    /// Keeps the record in place until the consumer's next call (or its drop), and returns its
    /// payload for as long as the consumer stays borrowed: the borrow checker forbids that
    /// next call while the bytes are in use.
    pub(crate) fn park(self) -> &'c [u8] {
        let this = std::mem::ManuallyDrop::new(self);
        let record = this.record;
        // SAFETY: `this` is never used again and never dropped, so the reference is moved out
        // of it exactly once.
        let consumer: &'c mut Consumer = unsafe { std::ptr::read(&this.consumer) };
        consumer.pending = Some(record);
        let consumer: &'c Consumer = consumer;
        // SAFETY: the record is parked, and parked records are consumed only at the start of
        // a call that needs `&mut Consumer`, which cannot happen while the returned borrow of
        // lifetime `'c` lives.
        unsafe { consumer.ring.payload(&record) }
    }
}

impl Drop for RecordRef<'_> {
    fn drop(&mut self) {
        // A copy inherited through fork (a view or zero-copy context held at the fork) consumes
        // nothing on its parent's behalf: the parent may still be reading the record.
        if self.consumer.inherited() {
            return;
        }
        self.consumer.advance(self.record.pos, self.record.size);
    }
}

impl Ring {
    /// The payload of `record`.
    ///
    /// # Safety
    /// `record` must be a committed record at the consumer's head found by `peek` on this ring,
    /// not consumed yet, and the slice must not be used after it is consumed.
    #[inline]
    pub(super) unsafe fn payload(&self, record: &Record) -> &[u8] {
        // SAFETY: `peek` checked `off + size <= cap` with `len + 8 <= size`, so the bytes lie in
        // the data region. The record is committed (its flag was loaded with Acquire, which
        // synchronises with the sender's publication), and no sender writes it again before
        // `free` passes it, which happens only after it is consumed (caller's contract).
        unsafe {
            std::slice::from_raw_parts(
                self.data_ptr(record.off + RECORD_HEADER),
                record.len as usize,
            )
        }
    }
}
