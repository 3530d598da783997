//! Records at the head of the ring as the consumer hands them out: [`RecordRef`], a guard
//! whose bytes stay in place until it is consumed, and the private copies owned decoding
//! reads from.

use super::consumer::Consumer;
use super::{Ring, RECORD_HEADER};

/// Bytes of a record that [`RecordRef::copy`] copies word by word into the consumer.
pub(super) const SMALL_COPY: usize = 128;

/// The private buffer of small copies (words, for alignment).
pub(super) struct SmallCopy(pub(super) [u64; SMALL_COPY / 8]);

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
    /// decode from [`RecordRef::copy`] where that matters.
    #[inline]
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: the record stays unconsumed while `self` lives: consuming it takes `self` by
        // value or needs the consumer, which `self` borrows mutably.
        unsafe { self.consumer.ring.payload(&self.record) }
    }

    /// A private copy of the payload: bytes no other process can change any more.
    #[inline]
    pub(crate) fn copy(&mut self) -> &[u8] {
        let consumer = &mut *self.consumer;
        let len = self.record.len as usize;
        if len <= SMALL_COPY {
            let words = len.div_ceil(8);
            let src = consumer.ring.data_ptr(self.record.off + RECORD_HEADER) as *const u64;
            for i in 0..words {
                // SAFETY: the payload starts 8 bytes into the record, whose data offset is a
                // multiple of 8 in a page-aligned region, so `src` is aligned; the record is
                // `8 + len` rounded up to 8 bytes long, so `words` words lie inside it (and
                // inside the data region, as `peek` checked); it is committed and not
                // consumed while `self` lives (see `bytes`).
                consumer.small.0[i] = unsafe { src.add(i).read() };
            }
            // SAFETY: `SmallCopy` is `SMALL_COPY` bytes of plain integers, and `len` of them
            // are read as bytes; the borrow of `consumer.small` lasts as long as the slice.
            unsafe { std::slice::from_raw_parts(consumer.small.0.as_ptr() as *const u8, len) }
        } else {
            // SAFETY: as in `bytes`; the copy is taken before the record is consumed.
            let src = unsafe { consumer.ring.payload(&self.record) };
            consumer.scratch.clear();
            consumer.scratch.extend_from_slice(src);
            &consumer.scratch
        }
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
