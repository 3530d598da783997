//! What is queued for the receiver: the committed messages it could take one after another
//! now, counted by walking the records from its read position without changing anything.

use std::sync::atomic::Ordering;

use super::{record_size, Ring, FLAG_MESSAGE, FLAG_PADDING, POSITION_MASK, RECORD_HEADER};

impl Ring {
    /// Number of committed messages, at most `limit`, from position `from` (the receiver's
    /// read position) up to the first place that holds no committed record: the write
    /// position as loaded on entry, a reservation whose sender has not committed it yet
    /// (its size is not in the ring until then, so nothing behind it can be reached), or
    /// bytes that are not a record (the next receive reports those as corrupt). Padding is
    /// stepped over. Reads only; O(records walked), never more than one lap of the ring.
    pub(crate) fn committed_messages(&self, from: u64, limit: usize) -> usize {
        let cap = self.capacity();
        let tail = self.tail().load(Ordering::Acquire) & POSITION_MASK;
        if tail < from || tail - from > cap || from % 8 != 0 {
            return 0;
        }
        let mut lap = 0;
        let (mut pos, mut count) = (from, 0);
        while pos < tail && count < limit {
            let off = self.offset(pos, &mut lap);
            // Acquire: a flag published by a sender makes its length word visible (and a
            // batch's later records, whose flags it stored before publishing the first).
            let (size, message) = match self.flag(off).load(Ordering::Acquire) {
                FLAG_MESSAGE => {
                    let len = self.length_word(off).load(Ordering::Relaxed);
                    (record_size(len), true)
                }
                FLAG_PADDING => (Some(self.length_word(off).load(Ordering::Relaxed)), false),
                _ => break, // uncommitted
            };
            match size {
                Some(size)
                    if size >= RECORD_HEADER
                        && size % 8 == 0
                        && size <= cap - off
                        && size <= tail - pos =>
                {
                    count += usize::from(message);
                    pos += size;
                }
                _ => break,
            }
        }
        count
    }
}
