//! [`Receiver`]: the one consumer of a raw channel.

use std::cell::Cell;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::{SharedRingBuffer, ZeroCopyContext};
use crate::codec;
use crate::ring::consumer::{Record, DEFAULT_SPIN};
use crate::ring::Ring;
use crate::{Error, Result};

/// The receiving end of a channel. There is one live receiver per channel at a time.
///
/// A receiver that crashes loses nothing that was committed: the next receiver on the file
/// continues at the first message the dead one had not finished with. The message being read
/// when it died is delivered again (at-least-once for that one message).
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
    /// Why this receiver could not claim the channel, if it could not (reported by every
    /// receive).
    refused: Option<Refusal>,
    spin: Duration,
    /// One consumer: the protocol allows a single thread to read at a time.
    _not_sync: PhantomData<Cell<()>>,
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
        let refused = match buffer.ring.claim_receiver() {
            Ok(()) => None,
            Err(Error::ReceiverAlreadyExists { pid }) => Some(Refusal::Held(pid)),
            Err(other) => Some(Refusal::Other(other.to_string())),
        };
        Receiver {
            buffer,
            refused,
            spin: DEFAULT_SPIN,
            _not_sync: PhantomData,
        }
    }

    /// Creates the receiver of `buffer`.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] (with the holder's pid) if a live receiver holds the
    /// channel. A receiver that died is replaced.
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
        buffer.ring.claim_receiver()?;
        Ok(Self::from_claimed(buffer))
    }

    /// A receiver on a buffer whose claim this process already holds.
    pub(crate) fn from_claimed(buffer: SharedRingBuffer) -> Receiver {
        Receiver {
            buffer,
            refused: None,
            spin: DEFAULT_SPIN,
            _not_sync: PhantomData,
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
        self.spin = spin;
    }

    /// Number of senders, in any process, registered on the channel and alive.
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

    pub(super) fn check_claim(&self) -> Result<()> {
        match &self.refused {
            None => Ok(()),
            Some(Refusal::Held(pid)) => Err(Error::ReceiverAlreadyExists { pid: *pid }),
            Some(Refusal::Other(why)) => Err(Error::Corrupt(why.clone())),
        }
    }

    /// Receives a message if one is ready, without waiting.
    ///
    /// # Errors
    /// [`Error::Decode`] if the next message does not decode as `T` (it is skipped);
    /// [`Error::Corrupt`] if the ring's bytes violate the protocol.
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
        self.check_claim()?;
        match self.buffer.ring.poll()? {
            Some(record) => self.take(record).map(Some),
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
        loop {
            if let Some(value) = self.recv_deadline(None)? {
                return Ok(value);
            }
        }
    }

    /// Receives a message, waiting at most `timeout`; `Ok(None)` if none came.
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
        self.recv_deadline(Some(Instant::now() + timeout))
    }

    fn recv_deadline<T: DeserializeOwned>(&self, deadline: Option<Instant>) -> Result<Option<T>> {
        match self.wait(deadline)? {
            Some(record) => self.take(record).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn wait(&self, deadline: Option<Instant>) -> Result<Option<Record>> {
        self.check_claim()?;
        self.buffer.ring.wait_record(self.spin, deadline)
    }

    /// Decodes the head record as a `T` and consumes it (also when it does not decode).
    pub(crate) fn take<T: DeserializeOwned>(&self, record: Record) -> Result<T> {
        let ring = &self.buffer.ring;
        // SAFETY: `record` is the unconsumed head record; the slice is dropped before the
        // record is consumed on the next line.
        let value = codec::decode::<T>(unsafe { ring.payload(&record) });
        ring.consume(&record);
        value
    }

    pub(crate) fn ring(&self) -> &Ring {
        &self.buffer.ring
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
        ZeroCopyContext {
            receiver: self,
            record: None,
        }
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("buffer", &self.buffer)
            .field("spin", &self.spin)
            .finish_non_exhaustive()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.refused.is_none() {
            self.buffer.ring.release_receiver();
        }
    }
}

/// Why [`Receiver::new`] could not claim a channel.
#[derive(Debug)]
enum Refusal {
    /// A live receiver with this pid holds it.
    Held(u32),
    /// The channel's cursors are corrupt.
    Other(String),
}
