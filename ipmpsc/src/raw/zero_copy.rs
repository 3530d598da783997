//! [`ZeroCopyContext`]: receiving one message that borrows from the ring.

use std::time::Duration;

use serde::Deserialize;

use crate::codec;
use crate::ring::consumer::Consumer;
use crate::ring::record::RecordRef;
use crate::ring::wait::deadline_after;
use crate::{Error, Result};

/// Borrows a [`Receiver`](crate::Receiver) to receive one message whose references point into
/// the ring. The message's bytes are freed when the context is dropped, and the borrow checker
/// keeps every reference from outliving the context.
///
/// Decoding borrows from shared memory: a process with write access to the channel file could
/// change a borrowed `&str` after it was checked to be UTF-8. Use the owned receives
/// ([`Receiver::recv`](crate::Receiver::recv) and friends), which check strings only on private
/// copies, when the writers are not trusted (see the crate's safety notes).
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
    /// The receiver's consumer until a message is received (or why there is none).
    consumer: Option<Result<&'a mut Consumer>>,
    /// The received message, consumed when the context drops.
    record: Option<RecordRef<'a>>,
}

impl<'a> ZeroCopyContext<'a> {
    pub(super) fn new(consumer: Result<&'a mut Consumer>) -> Self {
        ZeroCopyContext {
            consumer: Some(consumer),
            record: None,
        }
    }

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
        self.receive(Some(None))
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
        match self.receive(None)? {
            Some(value) => Ok(value),
            None => Err(Error::AlreadyReceived), // unreachable: waiting forever returns a message
        }
    }

    /// Receives a message, waiting at most `timeout` (`Duration::MAX`: forever); `Ok(None)` if
    /// none came.
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
        self.receive(Some(deadline_after(timeout)))
    }

    /// `wait`: `None` waits forever; `Some(None)` does not wait; `Some(Some(d))` waits until
    /// `d`.
    fn receive<'b, T: Deserialize<'b>>(
        &'b mut self,
        wait: Option<Option<std::time::Instant>>,
    ) -> Result<Option<T>> {
        if self.record.is_some() {
            return Err(Error::AlreadyReceived);
        }
        let consumer = match self.consumer.take() {
            Some(Ok(consumer)) => consumer,
            Some(Err(e)) => {
                let again = e.duplicate();
                self.consumer = Some(Err(again));
                return Err(e);
            }
            None => return Err(Error::AlreadyReceived),
        };
        // A context made before a fork refuses in the child, like every other receive.
        if let Err(e) = consumer.check_not_inherited() {
            self.consumer = Some(Ok(consumer));
            return Err(e);
        }
        let ready = match wait {
            Some(None) => consumer.poll(),
            Some(Some(deadline)) => consumer.wait(Some(deadline)),
            None => loop {
                match consumer.wait(None) {
                    Ok(None) => continue,
                    other => break other,
                }
            },
        };
        match ready {
            Ok(Some(ready)) => {
                let record = self.record.insert(consumer.take(ready));
                codec::decode(record.bytes()).map(Some)
            }
            Ok(None) => {
                self.consumer = Some(Ok(consumer));
                Ok(None)
            }
            Err(e) => {
                self.consumer = Some(Ok(consumer));
                Err(e)
            }
        }
    }
}
