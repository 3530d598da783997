//! [`Sender`]: the sending end of a raw channel.

use std::time::Duration;

use serde::Serialize;

use std::sync::Arc;

use super::SharedRingBuffer;
use crate::codec;
use crate::error::op;
use crate::ring::producer::{SenderHandle, Wait};
use crate::ring::wait::deadline_after;
use crate::ring::Ring;
use crate::Result;

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
}

impl Registration {
    fn new(ring: &Arc<Ring>, handle: SenderHandle) -> Arc<Registration> {
        Arc::new(Registration {
            ring: ring.clone(),
            handle,
        })
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

    /// Sizes `value`, reserves exactly that much, encodes straight into the reservation and
    /// commits it. `Ok(false)`: the ring stayed full. An encoding error or a panic in
    /// `value`'s `Serialize` abandons the reservation (the receiver skips it at once) and
    /// leaves the sender usable.
    pub(crate) fn send_with(&self, value: &(impl Serialize + ?Sized), wait: Wait) -> Result<bool> {
        self.buffer.ring.check_not_inherited("sender", op::SEND)?;
        let ring = &*self.buffer.ring;
        let len = codec::encoded_size(value)?;
        let handle = &self.registration.handle;
        handle.with_slot(ring, |slot| {
            let Some(mut reservation) = ring.reserve(slot, handle, len, wait)? else {
                return Ok(false);
            };
            codec::encode_into(value, reservation.bytes_mut())?;
            reservation.commit();
            Ok(true)
        })
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
