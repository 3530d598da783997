//! [`ZeroCopyContext`]: receiving one message that borrows from the ring.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::Receiver;
use crate::codec;
use crate::ring::consumer::Record;
use crate::{Error, Result};

/// Borrows a [`Receiver`] to receive one message whose references point into the ring. The
/// message's bytes are freed when the context is dropped, and the borrow checker keeps every
/// reference from outliving the context.
///
/// # Examples
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Line<'a> { n: u32, text: &'a str }
///
/// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
/// let mut rx = ipmpsc::Receiver::new(buffer.clone());
/// ipmpsc::Sender::new(buffer).send(&(5u32, "five"))?;
/// let mut ctx = rx.zero_copy_context();
/// let line: Line<'_> = ctx.recv()?;
/// assert_eq!((line.n, line.text), (5, "five"));
/// # Ok::<(), ipmpsc::Error>(())
/// ```
pub struct ZeroCopyContext<'a> {
    pub(super) receiver: &'a Receiver,
    pub(super) record: Option<Record>,
}

impl ZeroCopyContext<'_> {
    /// Receives a message if one is ready. `Error::AlreadyReceived` if this context was used
    /// already.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let mut rx = ipmpsc::Receiver::new(buffer);
    /// let mut ctx = rx.zero_copy_context();
    /// assert_eq!(ctx.try_recv::<&str>()?, None);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn try_recv<'b, T: Deserialize<'b>>(&'b mut self) -> Result<Option<T>> {
        self.receive(Some(Instant::now()), true)
    }

    /// Receives a message, waiting as long as it takes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let mut rx = ipmpsc::Receiver::new(buffer.clone());
    /// ipmpsc::Sender::new(buffer).send(&serde_bytes::Bytes::new(b"raw"))?;
    /// let mut ctx = rx.zero_copy_context();
    /// let bytes: &serde_bytes::Bytes = ctx.recv()?;
    /// assert_eq!(&bytes[..], b"raw");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn recv<'b, T: Deserialize<'b>>(&'b mut self) -> Result<T> {
        loop {
            if self.record.is_none() {
                if let Some(record) = self.receiver.wait(None)? {
                    self.record = Some(record);
                    return self.decode();
                }
            } else {
                return Err(Error::AlreadyReceived);
            }
        }
    }

    /// Receives a message, waiting at most `timeout`; `Ok(None)` if none came.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// let mut rx = ipmpsc::Receiver::new(buffer);
    /// let mut ctx = rx.zero_copy_context();
    /// assert_eq!(ctx.recv_timeout::<&str>(std::time::Duration::from_millis(1))?, None);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn recv_timeout<'b, T: Deserialize<'b>>(
        &'b mut self,
        timeout: Duration,
    ) -> Result<Option<T>> {
        self.receive(Some(Instant::now() + timeout), false)
    }

    fn receive<'b, T: Deserialize<'b>>(
        &'b mut self,
        deadline: Option<Instant>,
        no_wait: bool,
    ) -> Result<Option<T>> {
        if self.record.is_some() {
            return Err(Error::AlreadyReceived);
        }
        let record = if no_wait {
            self.receiver.check_claim()?;
            self.receiver.ring().poll()?
        } else {
            self.receiver.wait(deadline)?
        };
        match record {
            Some(record) => {
                self.record = Some(record);
                self.decode().map(Some)
            }
            None => Ok(None),
        }
    }

    fn decode<'b, T: Deserialize<'b>>(&'b self) -> Result<T> {
        let Some(record) = &self.record else {
            return Err(Error::AlreadyReceived);
        };
        // SAFETY: the record stays unconsumed until this context is dropped, and the returned
        // value borrows the context, so it cannot outlive the bytes it points into.
        codec::decode(unsafe { self.receiver.ring().payload(record) })
    }
}

impl Drop for ZeroCopyContext<'_> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            self.receiver.ring().consume(&record);
        }
    }
}
