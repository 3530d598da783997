//! [`Receiver`]: the one consumer of a raw channel.

use std::cell::{RefCell, RefMut};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{SharedRingBuffer, ZeroCopyContext};
use crate::codec;
use crate::error::op;
use crate::ring::consumer::{Claimed, Consumer};
use crate::ring::record::RecordRef;
use crate::ring::wait::deadline_after;
use crate::{Error, Result};

/// The receiving end of a channel. There is one live receiver per channel at a time.
///
/// A receiver that crashes loses nothing that was committed: the next receiver on the file
/// continues at the first message the dead one had not finished with. The message being read
/// when it died is delivered again (at-least-once for that one message).
///
/// When a receiver goes away (dropped, or its process ends in any way), every sender of the
/// channel gets [`Error::Disconnected`] until a new receiver claims it. The raw receiver keeps
/// ipmpsc 0.5's behaviour towards senders: it never reports that they left; `recv` waits for
/// the next message however long it takes (the typed [`TypedReceiver`](crate::TypedReceiver)
/// reports [`Error::Disconnected`] once every sender is gone).
///
/// # Examples
///
/// ```
/// use ipmpsc::{Receiver, Sender, SharedRingBuffer};
/// use std::time::Duration;
///
/// let (_path, buffer) = SharedRingBuffer::create_temp(4096)?;
/// let rx = Receiver::new(buffer.clone());
/// assert_eq!(rx.try_recv::<u32>()?, None);
/// Sender::new(buffer).send(&7u32)?;
/// assert_eq!(rx.recv_timeout::<u32>(Duration::from_secs(1))?, Some(7));
/// # Ok::<(), ipmpsc::Error>(())
/// ```
pub struct Receiver {
    buffer: SharedRingBuffer,
    /// The receiver role, or why this receiver could not claim it (a copy of which every
    /// receive reports). `RefCell`: one consumer, so the receiver is `Send` but not `Sync`.
    core: std::result::Result<RefCell<Consumer>, Error>,
}

/// The file at `path` was replaced by a new channel before this receiver could claim it.
fn replaced(path: &std::path::Path) -> Error {
    Error::refused(
        op::CLAIM_RECEIVER,
        path.to_path_buf(),
        std::io::ErrorKind::NotFound,
        "the file was replaced by a new channel at its path; open the path again",
    )
}

impl Receiver {
    /// Creates the receiver of `buffer`, claiming the channel for this process. If another live
    /// receiver holds it, every receive reports [`Error::ReceiverAlreadyExists`]; use
    /// [`Receiver::try_new`] to find out at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer);
    /// assert_eq!(rx.try_recv::<u8>()?, None);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn new(buffer: SharedRingBuffer) -> Receiver {
        let core = match Consumer::claim(buffer.ring.clone()) {
            Ok(Claimed::Consumer(c)) => Ok(RefCell::new(c)),
            Ok(Claimed::Replaced) => Err(replaced(buffer.ring.path())),
            Err(e) => Err(e),
        };
        Receiver { buffer, core }
    }

    /// Creates the receiver of `buffer`.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] (with the holder's pid, in its own PID namespace) if a
    /// live receiver holds the channel, in this process or another. A receiver that died is
    /// replaced.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let first = ipmpsc::Receiver::try_new(buffer.clone())?;
    /// let second = ipmpsc::Receiver::try_new(buffer.clone());
    /// assert!(matches!(second, Err(ipmpsc::Error::ReceiverAlreadyExists { .. })));
    /// drop(first);
    /// assert!(ipmpsc::Receiver::try_new(buffer).is_ok());
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_new(buffer: SharedRingBuffer) -> Result<Receiver> {
        match Consumer::claim(buffer.ring.clone())? {
            Claimed::Consumer(c) => Ok(Self::from_consumer(buffer, c)),
            Claimed::Replaced => Err(replaced(buffer.ring.path())),
        }
    }

    /// A receiver over a consumer that claimed `buffer` already.
    pub(crate) fn from_consumer(buffer: SharedRingBuffer, consumer: Consumer) -> Receiver {
        Receiver {
            buffer,
            core: Ok(RefCell::new(consumer)),
        }
    }

    /// Sets how long a blocking receive spins on an empty ring before it sleeps on the futex
    /// (default 50 µs). Longer spins lower latency when messages come in quick succession, at
    /// the cost of CPU between them; zero sleeps at once.
    ///
    /// A non-zero spin adapts: when a message keeps arriving just after the receiver fell
    /// asleep (a request/response peer that answers in about the time the kernel takes to wake
    /// a sleeper), the spin doubles, up to 400 µs; after a long quiet period it returns to the
    /// value set here. An idle receiver spins at most once, then sleeps without using CPU.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let mut rx = ipmpsc::Receiver::new(buffer);
    /// rx.set_spin(std::time::Duration::from_micros(200));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn set_spin(&mut self, spin: Duration) {
        if let Ok(core) = &mut self.core {
            core.get_mut().set_spin(spin);
        }
    }

    /// Number of senders, in any process, registered on the channel and alive (one syscall
    /// per registered sender: each one's lock is asked).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// assert_eq!(rx.sender_count(), 0);
    /// let tx = ipmpsc::Sender::new(buffer);
    /// assert_eq!(rx.sender_count(), 1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn sender_count(&self) -> usize {
        self.buffer.ring.live_senders()
    }

    /// Number of messages queued for this receiver: the committed messages it could receive
    /// now, one after another, without waiting. Counted by walking the records from the
    /// receiver's read position, so it takes time in proportion to the messages queued
    /// (use [`Receiver::is_empty`] to ask only whether there is one).
    ///
    /// It is a snapshot of a live channel: senders in other processes may commit more at
    /// any moment (never less: only this receiver takes messages out). A reservation that a
    /// sender has not committed yet is not a message, and the count stops at it: messages
    /// committed behind a sender that is still writing count once it commits (or once the
    /// receiver skips the reservation of a sender that died). A receiver that could not claim
    /// the channel counts 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// let tx = ipmpsc::Sender::new(buffer);
    /// assert_eq!(rx.len(), 0);
    /// tx.send(&1u32)?;
    /// tx.send_batch(&["two", "three"])?;
    /// assert_eq!(rx.len(), 3);
    /// assert_eq!(rx.recv::<u32>()?, 1);
    /// assert_eq!(rx.len(), 2);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.queued(usize::MAX)
    }

    /// Whether no message is queued for this receiver ([`Receiver::len`] is 0), found by
    /// looking at the record at its read position: O(1) (plus one step over each padding
    /// record there).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// assert!(rx.is_empty());
    /// ipmpsc::Sender::new(buffer).send(&"hi")?;
    /// assert!(!rx.is_empty());
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.queued(1) == 0
    }

    /// The channel's capacity in bytes, as [`SharedRingBuffer::capacity`]: the capacity it
    /// was created with, rounded up to a multiple of 8, which is the largest message it takes
    /// (in encoded bytes). Smaller messages share it, each taking its encoded size rounded up
    /// to 8, plus 8.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(1000)?;
    /// assert_eq!(ipmpsc::Receiver::new(buffer).capacity(), 1000);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.buffer.capacity()
    }

    /// [`Receiver::len`], counting to `limit` at most.
    pub(crate) fn queued(&self, limit: usize) -> usize {
        match &self.core {
            // Borrowed only during a receive: a `Deserialize` that asks is told 0.
            Ok(core) => core.try_borrow().map_or(0, |core| core.queued(limit)),
            Err(_) => 0,
        }
    }

    fn core(&self) -> Result<RefMut<'_, Consumer>> {
        match &self.core {
            Ok(core) => {
                let core = core.borrow_mut();
                core.check_not_inherited()?;
                Ok(core)
            }
            Err(refusal) => Err(refusal.duplicate()),
        }
    }

    /// The acknowledged position of a consumer in acknowledged mode (see
    /// `ipmpsc::records`).
    pub(crate) fn acknowledged(&self) -> Option<u64> {
        match &self.core {
            Ok(core) => core.try_borrow().ok().and_then(|core| core.acknowledged()),
            Err(_) => None,
        }
    }

    /// The path the channel was created or opened at.
    pub(crate) fn path(&self) -> &std::path::Path {
        self.buffer.ring.path()
    }

    /// The mapping (tests check that views point into it).
    #[cfg(test)]
    pub(crate) fn ring(&self) -> &crate::ring::Ring {
        &self.buffer.ring
    }

    /// The consumer, for the typed receiver and the zero-copy context.
    pub(crate) fn core_mut(&mut self) -> Result<&mut Consumer> {
        match &mut self.core {
            Ok(core) => {
                let core = core.get_mut();
                core.check_not_inherited()?;
                Ok(core)
            }
            Err(refusal) => Err(refusal.duplicate()),
        }
    }

    /// Receives a message if one is ready, without waiting.
    ///
    /// # Errors
    /// [`Error::Decode`] if the next message does not decode as `T` (it is consumed, so the
    /// next call moves on); [`Error::Corrupt`] if the ring's bytes violate the protocol.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer);
    /// assert_eq!(rx.try_recv::<String>()?, None);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_recv<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        match self.core()?.try_next()? {
            Some(record) => take_owned(record).map(Some),
            None => Ok(None),
        }
    }

    /// Receives a message, waiting as long as it takes.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer.clone());
    /// ipmpsc::Sender::new(buffer).send(&"hi")?;
    /// assert_eq!(rx.recv::<String>()?, "hi");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T> {
        let mut core = self.core()?;
        loop {
            if let Some(record) = core.next(None)? {
                return take_owned(record);
            }
        }
    }

    /// Receives a message, waiting at most `timeout` (any `Duration`; `Duration::MAX` waits
    /// forever); `Ok(None)` if none came.
    ///
    /// # Errors
    /// As [`Receiver::try_recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let rx = ipmpsc::Receiver::new(buffer);
    /// let start = Instant::now();
    /// assert_eq!(rx.recv_timeout::<u8>(Duration::from_millis(20))?, None);
    /// assert!(start.elapsed() >= Duration::from_millis(20));
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<Option<T>> {
        let deadline = deadline_after(timeout);
        let mut core = self.core()?;
        loop {
            match core.next(deadline)? {
                Some(record) => return take_owned(record).map(Some),
                None if deadline.is_some() => return Ok(None),
                None => {}
            }
        }
    }

    /// Borrows this receiver to receive one message that borrows `&str` and `&[u8]` fields
    /// straight from shared memory. The message is freed when the context is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let mut rx = ipmpsc::Receiver::new(buffer.clone());
    /// ipmpsc::Sender::new(buffer).send(&"borrowed")?;
    /// let mut ctx = rx.zero_copy_context();
    /// let s: &str = ctx.recv()?;
    /// assert_eq!(s, "borrowed");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn zero_copy_context(&mut self) -> ZeroCopyContext<'_> {
        ZeroCopyContext::new(self.core_mut())
    }
}

/// Decodes `record` as an owned `T` built only from private copies of what it read (see
/// [`codec::decode_private`]: no other process can change a value between its check and its
/// use), and consumes it, also when the decode fails or panics.
pub(crate) fn take_owned<T: DeserializeOwned>(record: RecordRef<'_>) -> Result<T> {
    let value = codec::decode_private::<T>(record.bytes());
    record.consume();
    value
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Receiver");
        d.field("buffer", &self.buffer);
        match &self.core {
            Ok(core) => match core.try_borrow() {
                Ok(c) => d.field("spin", &c.spin()),
                Err(_) => d.field("spin", &"(receiving)"),
            },
            Err(refusal) => d.field("refused", refusal),
        };
        d.finish_non_exhaustive()
    }
}

impl crate::select::sealed::Sealed for Receiver {}

impl crate::select::Selectable for Receiver {
    fn __select_core(&mut self) -> crate::select::SelectCore<'_> {
        crate::select::SelectCore(self.core_mut().ok())
    }
}
