//! [`Sender`]: the sending end of a raw channel.

use std::time::Duration;

use serde::Serialize;

use std::sync::Arc;

use super::loan::LoanUninit;
use super::SharedRingBuffer;
use crate::codec;
use crate::error::{op, IoContext};
use crate::ring::producer::{SenderHandle, Wait};
use crate::ring::wait::deadline_after;
use crate::ring::Ring;
use crate::sys::placeholder::Placeholder;
use crate::{Error, Result};

/// Most messages in one reservation of [`Sender::send_batch`].
pub(crate) const BATCH_MAX: usize = 64;

/// What stopped a batch (see `Sender::send_runs`).
enum Failure {
    /// The ring had no room (only when not waiting).
    Full,
    Error(crate::Error),
    /// A message's `Serialize` panicked in the sizing pass; resumed once the messages before
    /// it are sent.
    Panic(Box<dyn std::any::Any + Send>),
}

/// The sending end of a channel. Clones register separate sender slots, so each thread can
/// own one and send without contending on anything but the ring's tail.
///
/// # Examples
///
/// ```
/// use ipmpsc::{Receiver, Sender, SharedRingBuffer};
///
/// let (path, buffer) = SharedRingBuffer::create_temp(4096)?;
/// let rx = Receiver::new(buffer);
/// let tx = Sender::new(SharedRingBuffer::open(&path)?);
/// tx.send(&(1u32, "one"))?;
/// assert_eq!(rx.recv::<(u32, String)>()?, (1, "one".to_string()));
/// # Ok::<(), ipmpsc::Error>(())
/// ```
pub struct Sender {
    buffer: SharedRingBuffer,
    /// The sender's slot, shared with clones made when no slot was free.
    registration: Arc<Registration>,
}

/// A sender's hold on the ring, given back when the last sender sharing it is dropped, by
/// the process that registered it (not by a child that inherited a copy through `fork`).
struct Registration {
    ring: Arc<Ring>,
    handle: SenderHandle,
    /// Placeholders for loaned buffers (see `raw::loan`), made on the first loan.
    marks: std::sync::OnceLock<Placeholder>,
}

impl Registration {
    fn new(ring: &Arc<Ring>, handle: SenderHandle) -> Arc<Registration> {
        Arc::new(Registration {
            ring: ring.clone(),
            handle,
            marks: std::sync::OnceLock::new(),
        })
    }

    /// The placeholders of a loan of buffers of `lens` bytes: buffer `k` starts at byte `k`
    /// of the placeholder mapping, whose first page is `0xFF` (so no placeholder can be taken
    /// for text), and no two start at the same address.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if the buffers cannot fit in a message together;
    /// [`Error::Encode`] for more buffers than a page has bytes; [`Error::Io`] if the
    /// mapping cannot be made.
    fn marks<const K: usize>(&self, lens: [usize; K]) -> Result<[&[u8]; K]> {
        let max = self.ring.max_message();
        let fits = lens
            .iter()
            .try_fold(0usize, |sum, &len| sum.checked_add(len))
            .is_some_and(|total| total as u64 <= max);
        if !fits {
            let total = lens
                .iter()
                .fold(0u64, |sum, &l| sum.saturating_add(l as u64));
            return Err(self.ring.too_large(total));
        }
        let page = rustix::param::page_size();
        if K > page {
            return Err(Error::Encode(format!(
                "a loan of {K} buffers: at most {page} fit in one message"
            )));
        }
        if self.marks.get().is_none() {
            let map = Placeholder::new(max as usize + page).doing(op::SEND, self.ring.path())?;
            let _ = self.marks.set(map); // or another thread's, which is as good
        }
        let bytes = self.marks.get().map_or(&[][..], Placeholder::bytes);
        let mut holes = [&[][..]; K];
        for (k, (hole, &len)) in holes.iter_mut().zip(&lens).enumerate() {
            *hole = bytes
                .get(k..k + len)
                .ok_or_else(|| self.ring.too_large(len as u64))?;
        }
        Ok(holes)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.ring.inherited() {
            self.handle.unregister(&self.ring);
        }
    }
}

impl Sender {
    /// Creates a sender on `buffer` and registers it in the channel's sender table. If every
    /// slot is held by a live sender, each send borrows a slot for its duration instead and
    /// fails with [`Error::TooManySenders`](crate::Error::TooManySenders) when none is free.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let sender = ipmpsc::Sender::new(buffer);
    /// sender.send(&42u64)?;
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn new(buffer: SharedRingBuffer) -> Sender {
        let handle = SenderHandle::register(&buffer.ring)
            .unwrap_or_else(|_| SenderHandle::unregistered(&buffer.ring));
        let registration = Registration::new(&buffer.ring, handle);
        Sender {
            buffer,
            registration,
        }
    }

    /// A sender with a slot of its own.
    ///
    /// # Errors
    /// [`Error::TooManySenders`](crate::Error::TooManySenders) if every slot is held by a live
    /// sender.
    pub(crate) fn register(buffer: SharedRingBuffer) -> Result<Sender> {
        let handle = SenderHandle::register(&buffer.ring)?;
        let registration = Registration::new(&buffer.ring, handle);
        Ok(Sender {
            buffer,
            registration,
        })
    }

    /// Opens the channel at `path` (its schema checked by `check`) and registers a sender with
    /// a slot of its own. A file that a creator is replacing at this moment is left for the
    /// new one: either the creator counted this sender and keeps the file, or the sender sees
    /// the file going and opens the path again.
    ///
    /// # Errors
    /// The errors of [`SharedRingBuffer::open`]; `check`'s; [`Error::TooManySenders`].
    ///
    /// [`Error::TooManySenders`]: crate::Error::TooManySenders
    pub(crate) fn open_registered(
        path: &std::path::Path,
        check: impl Fn(&crate::schema::StoredSchema) -> Result<()>,
    ) -> Result<Sender> {
        for _ in 0..crate::sys::file::OPEN_ATTEMPTS {
            let sender = Sender::register(SharedRingBuffer::open_checked(path, &check)?)?;
            if !sender.buffer.should_reopen_after_registering()? {
                return Ok(sender);
            }
        }
        Err(crate::Error::refused(
            op::REGISTER_SENDER,
            path.to_path_buf(),
            std::io::ErrorKind::Other,
            format!(
                "it was being replaced {} times while a sender registered",
                crate::sys::file::OPEN_ATTEMPTS
            ),
        ))
    }

    /// The channel's capacity in bytes, as [`SharedRingBuffer::capacity`]: the largest
    /// message it takes, in encoded bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(64)?;
    /// let tx = ipmpsc::Sender::new(buffer);
    /// assert_eq!(tx.capacity(), 64);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.buffer.capacity()
    }

    /// Whether a receiver holds the channel now (one syscall).
    pub(super) fn receiver_present(&self) -> bool {
        self.buffer.ring.receiver_present()
    }

    /// Sends `value`, waiting for space if the ring is full.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`](crate::Error::MessageTooLarge) if the encoded message cannot fit even in an empty ring;
    /// [`Error::Disconnected`](crate::Error::Disconnected) if the channel had a receiver and it
    /// is gone (it dropped its receiver, its process ended however it ended, or the file was
    /// replaced): at once for a clean departure, within about 25 ms otherwise, also while
    /// this call waits for space; [`Error::Encode`](crate::Error::Encode) if `value`'s
    /// `Serialize` implementation fails (nothing is sent, and the sender stays usable).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// ipmpsc::Sender::new(buffer).send(&vec![1u8, 2, 3])?;
    /// assert_eq!(rx.recv::<Vec<u8>>()?, [1, 2, 3]);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send(&self, value: &(impl Serialize + ?Sized)) -> Result<()> {
        self.send_with(value, Wait::Until(None)).map(|_| ())
    }

    /// Sends `value`, waiting at most `timeout` for space. `Ok(false)` if the ring stayed full.
    ///
    /// # Errors
    /// As [`Sender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(64)?;
    /// let tx = ipmpsc::Sender::new(buffer);
    /// assert!(tx.send_timeout(&[0u8; 32], Duration::from_millis(1))?); // fits
    /// assert!(!tx.send_timeout(&[0u8; 32], Duration::from_millis(1))?); // full: nobody reads
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send_timeout(
        &self,
        value: &(impl Serialize + ?Sized),
        timeout: Duration,
    ) -> Result<bool> {
        self.send_with(value, Wait::Until(deadline_after(timeout)))
    }

    /// Sends `value` if there is room right now; `Ok(false)` if the ring is full.
    ///
    /// # Errors
    /// As [`Sender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(64)?;
    /// let tx = ipmpsc::Sender::new(buffer);
    /// assert!(tx.try_send(&[0u8; 32])?);
    /// assert!(!tx.try_send(&[0u8; 32])?);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_send(&self, value: &(impl Serialize + ?Sized)) -> Result<bool> {
        self.send_with(value, Wait::No)
    }

    /// Waits until the ring is empty (the receiver has consumed everything sent so far), then
    /// sends `value`. Useful for "latest state wins" flows where a backlog is unwanted.
    ///
    /// # Errors
    /// As [`Sender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// tx.send_when_empty(&1u8)?; // empty already: sent at once
    /// assert_eq!(rx.recv::<u8>()?, 1);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send_when_empty(&self, value: &(impl Serialize + ?Sized)) -> Result<()> {
        use std::sync::atomic::Ordering;
        self.buffer.ring.check_not_inherited("sender", op::SEND)?;
        let ring = &self.buffer.ring;
        loop {
            let tail = ring.tail().load(Ordering::Acquire) & crate::ring::POSITION_MASK;
            ring.wait_for_free(tail, tail, None)?;
            // The receiver releases everything it consumed before it waits for more, so an
            // empty ring shows as `free == tail`.
            if ring.free().load(Ordering::Acquire)
                == ring.tail().load(Ordering::Acquire) & crate::ring::POSITION_MASK
            {
                return self.send(value);
            }
        }
    }

    /// Sends every value of `values`, in order, a run of them at a time: each run takes one
    /// reservation, one publication and at most one wake-up of the receiver, so a burst costs
    /// the shared-memory atomics once per run instead of once per message. A run is at most
    /// 64 messages and a quarter of the ring (a larger message goes alone). Waits for space as
    /// [`Sender::send`] does.
    ///
    /// # Errors
    /// As [`Sender::send`]. The messages before the one that failed (to encode, by panicking
    /// in its `Serialize`, or to fit in the ring) were sent; it and those after it were not.
    /// When the receiver goes away part-way (`Disconnected`), the runs published before were
    /// sent (a new receiver of the channel gets them) and the error does not say how many
    /// that was: a caller that needs to know sends with [`Sender::try_send_batch`], which
    /// returns the count.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// tx.send_batch(&[1u32, 2, 3])?;
    /// let got: Vec<u32> = (0..3).map(|_| rx.recv()).collect::<Result<_, _>>()?;
    /// assert_eq!(got, [1, 2, 3]);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send_batch<T: Serialize>(&self, values: &[T]) -> Result<()> {
        let (_, failure) = self.send_runs(values, Wait::Until(None));
        match failure {
            None | Some(Failure::Full) => Ok(()),
            Some(Failure::Error(e)) => Err(e),
            Some(Failure::Panic(panic)) => std::panic::resume_unwind(panic),
        }
    }

    /// Sends as many of `values` as fit in the ring now, in order and without waiting, as
    /// [`Sender::send_batch`] does, and returns how many it sent: all of them, or fewer when
    /// the ring filled up or a message failed. A failure is reported only when it stopped the
    /// first message (so a caller that resends from the count it got back sees it then).
    ///
    /// # Errors
    /// As [`Sender::send`], for `values[0]`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(64)?;
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let values = [[7u8; 20]; 5]; // 32-byte records in a 72-byte ring
    /// assert_eq!(tx.try_send_batch(&values)?, 2); // nobody reads: two fit
    /// assert_eq!(tx.try_send_batch(&values[2..])?, 0);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_send_batch<T: Serialize>(&self, values: &[T]) -> Result<usize> {
        match self.send_runs(values, Wait::No) {
            (0, Some(Failure::Error(e))) => Err(e),
            (_, Some(Failure::Panic(panic))) => std::panic::resume_unwind(panic),
            (sent, _) => Ok(sent),
        }
    }

    /// Sends `values` a run at a time (see [`Sender::send_batch`]); returns how many were
    /// sent and what stopped it, if anything did.
    fn send_runs<T: Serialize>(&self, values: &[T], wait: Wait) -> (usize, Option<Failure>) {
        let ring = &*self.buffer.ring;
        if let Err(e) = ring.check_not_inherited("sender", op::SEND) {
            return (0, Some(Failure::Error(e)));
        }
        let handle = &self.registration.handle;
        let hold = match handle.hold_slot_within(ring, wait) {
            Ok(Some(hold)) => hold,
            Ok(None) => return (0, Some(Failure::Full)),
            Err(e) => return (0, Some(Failure::Error(e))),
        };
        // A run waits for at most a quarter of the ring to be free.
        let budget = (ring.capacity() / 4).max(8);
        let mut sent = 0;
        while sent < values.len() {
            let rest = &values[sent..];
            let mut sizes = [(0u64, 0u64); BATCH_MAX];
            let mut n = 0;
            let mut total = 0u64;
            let mut failed = None;
            for value in rest.iter().take(BATCH_MAX) {
                // A panic in the sizing pass, like one in the encoding pass, sends the
                // messages before it first.
                let sized = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    codec::encoded_size(value)
                }));
                let (len, size) = match sized {
                    Ok(Ok(len)) => match ring.record_size_of(len) {
                        Ok(size) => (len, size),
                        Err(e) => {
                            failed = Some(Failure::Error(e));
                            break;
                        }
                    },
                    Ok(Err(e)) => {
                        failed = Some(Failure::Error(e));
                        break;
                    }
                    Err(panic) => {
                        failed = Some(Failure::Panic(panic));
                        break;
                    }
                };
                if n > 0 && total + size > budget {
                    break;
                }
                sizes[n] = (len, size);
                total += size;
                n += 1;
            }
            // Without waiting, a run that does not fit is cut in half until one does.
            while n > 0 {
                match ring.reserve_batch(hold.slot(), handle, total, wait) {
                    Ok(Some(mut batch)) => {
                        for (value, &(len, _)) in rest.iter().zip(&sizes[..n]) {
                            if let Err(e) = batch.push(len, |dst| codec::encode_into(value, dst)) {
                                // The messages before it are published when `batch` drops.
                                return (sent, Some(Failure::Error(e)));
                            }
                            sent += 1;
                        }
                        batch.commit();
                        break;
                    }
                    Ok(None) if n > 1 => {
                        n /= 2;
                        total = sizes[..n].iter().map(|&(_, size)| size).sum();
                        failed = None; // the message that failed is not in the run now
                    }
                    Ok(None) => return (sent, Some(Failure::Full)),
                    Err(e) => return (sent, Some(Failure::Error(e))),
                }
            }
            if failed.is_some() {
                return (sent, failed);
            }
        }
        (sent, None)
    }

    /// [`Sender::send_batch`] for the values of an iterator, taken from it 64 at a time.
    ///
    /// # Errors
    /// As [`Sender::send_batch`]. The values taken from the iterator but not sent (up to 63
    /// after the one that failed) are dropped; those not taken yet are left in it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// tx.send_iter((0..100u64).map(|i| i * i))?;
    /// assert_eq!(rx.recv::<u64>()?, 0);
    /// assert_eq!(rx.recv::<u64>()?, 1);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn send_iter<I>(&self, values: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let mut values = values.into_iter();
        let mut run = Vec::with_capacity(values.size_hint().0.clamp(1, BATCH_MAX));
        loop {
            run.clear();
            run.extend(values.by_ref().take(BATCH_MAX));
            if run.is_empty() {
                return Ok(());
            }
            self.send_batch(&run)?;
        }
    }

    /// Lends the bytes of a message's byte buffer, to write in place in the ring: `build`
    /// makes the message around a placeholder slice of `len` bytes (which must be serialized
    /// as a byte string: `serde_bytes`, or `&[u8]` in a `#[ipmpsc::channel]` view), the message
    /// is encoded into the ring except for those bytes, and the returned loan hands them out.
    /// Nothing is copied. Waits for space as [`Sender::send`] does.
    ///
    /// # Errors
    /// As [`Sender::send`]; [`Error::Encode`](crate::Error::Encode) if the message does not
    /// hold the placeholder as a byte string, or holds it twice.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let loan = tx.loan_uninit(5, |b| (42u32, serde_bytes::Bytes::new(b)))?;
    /// loan.write_from_slice(b"hello").send();
    /// assert_eq!(rx.recv::<(u32, Vec<u8>)>()?, (42, b"hello".to_vec()));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn loan_uninit<'s, T: Serialize>(
        &'s self,
        len: usize,
        build: impl FnOnce(&'s [u8]) -> T,
    ) -> Result<LoanUninit<'s>> {
        self.loan_with([len], |[b]| build(b), Wait::Until(None))
            .map(|loan| loan.expect("a send without a deadline waits until there is room"))
    }

    /// [`Sender::loan_uninit`] if there is room now; `Ok(None)` if the ring is full.
    ///
    /// # Errors
    /// As [`Sender::loan_uninit`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(64)?;
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let first = tx.try_loan_uninit(40, serde_bytes::Bytes::new)?.expect("room");
    /// first.zeroed().send();
    /// assert!(tx.try_loan_uninit(40, serde_bytes::Bytes::new)?.is_none()); // nobody reads
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_loan_uninit<'s, T: Serialize>(
        &'s self,
        len: usize,
        build: impl FnOnce(&'s [u8]) -> T,
    ) -> Result<Option<LoanUninit<'s>>> {
        self.loan_with([len], |[b]| build(b), Wait::No)
    }

    /// [`Sender::loan_uninit`] with several buffers in one message (the planes of a frame):
    /// `build` gets one placeholder per length.
    ///
    /// # Errors
    /// As [`Sender::loan_uninit`].
    ///
    /// # Examples
    ///
    /// ```
    /// use serde_bytes::Bytes;
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// let loan = tx.loan_planes_uninit([2, 3], |[a, b]| (Bytes::new(a), Bytes::new(b)))?;
    /// loan.write_planes([b"ab", b"cde"]).send();
    /// assert_eq!(rx.recv::<(Vec<u8>, Vec<u8>)>()?, (b"ab".to_vec(), b"cde".to_vec()));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn loan_planes_uninit<'s, T: Serialize, const K: usize>(
        &'s self,
        lens: [usize; K],
        build: impl FnOnce([&'s [u8]; K]) -> T,
    ) -> Result<LoanUninit<'s, K>> {
        self.loan_with(lens, build, Wait::Until(None))
            .map(|loan| loan.expect("a send without a deadline waits until there is room"))
    }

    /// Makes a loan (see [`Sender::loan_uninit`]); `Ok(None)`: the ring stayed full.
    pub(crate) fn loan_with<'s, T: Serialize, const K: usize>(
        &'s self,
        lens: [usize; K],
        build: impl FnOnce([&'s [u8]; K]) -> T,
        wait: Wait,
    ) -> Result<Option<LoanUninit<'s, K>>> {
        let ring = &*self.buffer.ring;
        ring.check_not_inherited("sender", op::SEND)?;
        let holes = self.registration.marks(lens)?;
        let value = build(holes);
        let len = codec::encoded_size(&value)?;
        let handle = &self.registration.handle;
        let Some(hold) = handle.hold_slot_within(ring, wait)? else {
            return Ok(None);
        };
        let Some(mut reservation) = ring.reserve(hold.slot(), handle, len, wait)? else {
            return Ok(None);
        };
        let offsets = codec::encode_with_holes(&value, reservation.bytes_mut(), holes)?;
        let holes = std::array::from_fn(|k| (offsets[k], lens[k]));
        Ok(Some(LoanUninit::new(reservation, holes, hold)))
    }

    /// The channel this sender sends on.
    pub(crate) fn buffer(&self) -> &SharedRingBuffer {
        &self.buffer
    }

    /// Sizes `value`, reserves exactly that much, encodes straight into the reservation and
    /// commits it. `Ok(false)`: the ring stayed full. An encoding error or a panic in
    /// `value`'s `Serialize` abandons the reservation (the receiver skips it at once) and
    /// leaves the sender usable.
    pub(crate) fn send_with(&self, value: &(impl Serialize + ?Sized), wait: Wait) -> Result<bool> {
        self.buffer.ring.check_not_inherited("sender", op::SEND)?;
        let len = codec::encoded_size(value)?;
        self.send_into(len, wait, |dst| codec::encode_into(value, dst))
    }

    /// Writes `bytes`, an encoded message, into the ring as they are (see
    /// `ipmpsc::records`). `Ok(false)`: the ring stayed full.
    pub(crate) fn send_bytes_with(&self, bytes: &[u8], wait: Wait) -> Result<bool> {
        self.buffer.ring.check_not_inherited("sender", op::SEND)?;
        self.send_into(bytes.len() as u64, wait, |dst| {
            dst.copy_from_slice(bytes);
            Ok(())
        })
    }

    /// Reserves `len` bytes, has `write` fill them and commits them; an error or a panic in
    /// `write` abandons the reservation. `Ok(false)`: the ring stayed full.
    #[inline(always)]
    fn send_into(
        &self,
        len: u64,
        wait: Wait,
        write: impl FnOnce(&mut [u8]) -> Result<()>,
    ) -> Result<bool> {
        let ring = &*self.buffer.ring;
        let handle = &self.registration.handle;
        let Some(hold) = handle.hold_slot_within(ring, wait)? else {
            return Ok(false);
        };
        let Some(mut reservation) = ring.reserve(hold.slot(), handle, len, wait)? else {
            return Ok(false);
        };
        write(reservation.bytes_mut())?;
        reservation.commit();
        Ok(true)
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("buffer", &self.buffer)
            .field("slot", &self.registration.handle.slot())
            .finish()
    }
}

impl Clone for Sender {
    /// A sender with a slot of its own; when every slot is taken, one that shares this
    /// sender's slot (so that it still counts as a sender, and the slot stays registered until
    /// the last of them is dropped).
    fn clone(&self) -> Sender {
        // A copy inherited through fork stays one (its sends refuse), and so do its clones.
        let registration = if self.buffer.ring.inherited() {
            self.registration.clone()
        } else {
            match SenderHandle::register(&self.buffer.ring) {
                Ok(handle) => Registration::new(&self.buffer.ring, handle),
                Err(_) => self.registration.clone(),
            }
        };
        Sender {
            buffer: self.buffer.clone(),
            registration,
        }
    }
}
