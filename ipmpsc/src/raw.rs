//! The untyped channel, with the names and behaviour of ipmpsc 0.5: a [`SharedRingBuffer`] is
//! shared by any number of [`Sender`]s in any number of processes and one [`Receiver`]; any
//! `Serialize` value can be sent and any `Deserialize` value received.
//!
//! A raw channel records schema hash 0 ("untyped") in its header. Opening a typed channel
//! (created by `#[ipmpsc::channel]` code) with [`SharedRingBuffer::open`] is refused, and so is
//! the reverse.

use std::cell::Cell;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::ring::consumer::{Record, DEFAULT_SPIN};
use crate::ring::producer::{SenderHandle, Wait};
use crate::ring::Ring;
use crate::schema::{Schema, SchemaMismatch};
use crate::sys::file;
use crate::{Error, Result};

/// A channel file mapped into this process. Cloning is cheap and shares the mapping.
///
/// # Examples
///
/// ```
/// use ipmpsc::{Receiver, Sender, SharedRingBuffer};
///
/// let (path, buffer) = SharedRingBuffer::create_temp(32 * 1024)?;
/// let rx = Receiver::new(buffer);
///
/// // Usually in another process:
/// let tx = Sender::new(SharedRingBuffer::open(&path)?);
/// tx.send(&"hello")?;
///
/// assert_eq!(rx.recv::<String>()?, "hello");
/// # Ok::<(), ipmpsc::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedRingBuffer {
    pub(crate) ring: Arc<Ring>,
}

impl SharedRingBuffer {
    /// Creates a raw channel file at `path` with room for `size_in_bytes` bytes of records
    /// (rounded up to a multiple of 8), readable and writable by the owner only (mode 0600).
    ///
    /// The file is initialised under a temporary name in the same directory and renamed into
    /// place, so nobody ever maps a half-written header; a file or symlink already at `path`
    /// is replaced, not written through.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds a channel at `path`;
    /// [`Error::Io`] if the file cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-create-{}", std::process::id());
    /// let buffer = ipmpsc::SharedRingBuffer::create(&path, 64 * 1024)?;
    /// assert!(buffer.capacity() >= 64 * 1024);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, size_in_bytes: u64) -> Result<SharedRingBuffer> {
        Self::create_with_mode(path, size_in_bytes, file::DEFAULT_MODE)
    }

    /// Like [`SharedRingBuffer::create`], with the file's permission bits given explicitly
    /// (for example `0o660` to let a group send).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// let path = format!("/dev/shm/ipmpsc-doc-mode-{}", std::process::id());
    /// let _buffer = ipmpsc::SharedRingBuffer::create_with_mode(&path, 4096, 0o640)?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o640);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn create_with_mode(
        path: impl AsRef<Path>,
        size_in_bytes: u64,
        mode: u32,
    ) -> Result<SharedRingBuffer> {
        let ring = Ring::create(path.as_ref(), size_in_bytes, &Schema::UNTYPED, mode, false)?;
        Ok(SharedRingBuffer {
            ring: Arc::new(ring),
        })
    }

    /// Creates a raw channel under a fresh name in `/dev/shm` (or the system's temporary
    /// directory where `/dev/shm` does not exist) and returns the path with the buffer. The file
    /// is removed when the last clone of the returned buffer in this process is dropped
    /// (processes that opened it keep their mapping).
    ///
    /// # Examples
    ///
    /// ```
    /// let (path, buffer) = ipmpsc::SharedRingBuffer::create_temp(4096)?;
    /// assert!(std::path::Path::new(&path).exists());
    /// drop(buffer);
    /// assert!(!std::path::Path::new(&path).exists());
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn create_temp(size_in_bytes: u64) -> Result<(String, SharedRingBuffer)> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = file::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "ipmpsc-{}-{}-{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            nanos
        );
        let path = dir.join(name);
        let mut ring = Ring::create(
            &path,
            size_in_bytes,
            &Schema::UNTYPED,
            file::DEFAULT_MODE,
            false,
        )?;
        ring.set_remove_on_drop(path.clone());
        let path = path.into_os_string().into_string().map_err(|p| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("temporary path {p:?} is not UTF-8"),
            ))
        })?;
        Ok((
            path,
            SharedRingBuffer {
                ring: Arc::new(ring),
            },
        ))
    }

    /// Maps an existing raw channel file, checking its header.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened; [`Error::IncompatibleRingBuffer`] if it is not an
    /// ipmpsc channel of this layout, word size and codec; [`Error::Corrupt`] if its geometry or
    /// cursors are impossible; [`Error::SchemaMismatch`] if it is a typed channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-open-{}", std::process::id());
    /// std::fs::write(&path, b"not a channel")?;
    /// let err = ipmpsc::SharedRingBuffer::open(&path).unwrap_err();
    /// assert!(matches!(err, ipmpsc::Error::IncompatibleRingBuffer(_)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<SharedRingBuffer> {
        let ring = Ring::open(path.as_ref())?;
        if ring.schema().hash != 0 {
            return Err(Error::SchemaMismatch(Box::new(SchemaMismatch::new(
                ring.schema().clone(),
                &Schema::UNTYPED,
            ))));
        }
        Ok(SharedRingBuffer {
            ring: Arc::new(ring),
        })
    }

    /// Capacity of the data region in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_path, buffer) = ipmpsc::SharedRingBuffer::create_temp(1000)?;
    /// assert_eq!(buffer.capacity(), 1000);
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.ring.capacity()
    }
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
    handle: Option<SenderHandle>,
}

impl Sender {
    /// Creates a sender on `buffer` and registers it in the channel's sender table. If every
    /// slot is held by a live sender, each send borrows a slot for its duration instead and
    /// fails with [`Error::TooManySenders`] when none is free.
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
        let handle = SenderHandle::register(&buffer.ring).ok();
        Sender { buffer, handle }
    }

    /// Sends `value`, waiting for space if the ring is full.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if the encoded message cannot fit even in an empty ring;
    /// [`Error::Disconnected`] if the receiver died (or went away) while this call waited for
    /// space; [`Error::Encode`] if `value`'s `Serialize` implementation fails.
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
        self.send_with(value, Wait::Until(Some(Instant::now() + timeout)))
    }

    /// Sends `value` if there is room right now; `Ok(false)` if the ring is full.
    ///
    /// # Errors
    /// As [`Sender::send`], except that it never waits and so never reports `Disconnected`.
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
        let ring = &self.buffer.ring;
        loop {
            let tail = ring.tail().load(Ordering::Acquire);
            ring.wait_for_free(tail, None)?;
            // The receiver releases everything it consumed before it waits for more, so an
            // empty ring shows as `free == tail`.
            if ring.free().load(Ordering::Acquire) == ring.tail().load(Ordering::Acquire) {
                return self.send(value);
            }
        }
    }

    /// A sender with a slot registered already.
    pub(crate) fn from_parts(buffer: SharedRingBuffer, handle: SenderHandle) -> Sender {
        Sender {
            buffer,
            handle: Some(handle),
        }
    }

    pub(crate) fn send_with(&self, value: &(impl Serialize + ?Sized), wait: Wait) -> Result<bool> {
        let ring = &*self.buffer.ring;
        let len = codec::encoded_size(value)?;
        let send = |slot: &crate::ring::senders::SenderSlot, handle: &SenderHandle| {
            let Some(reservation) =
                ring.reserve(slot, &handle.cached_free, &handle.lap, len, wait)?
            else {
                return Ok(false);
            };
            // SAFETY: the reservation was just made by this slot, is filled once here and
            // then committed or abandoned; no other slice of it exists.
            let dst = unsafe { ring.payload_mut(&reservation) };
            match codec::encode_into(value, dst) {
                Ok(()) => {
                    ring.commit(slot, reservation);
                    Ok(true)
                }
                Err(e) => {
                    ring.abandon(slot, reservation);
                    Err(e)
                }
            }
        };
        match &self.handle {
            Some(handle) => handle.with_slot(ring, |slot| send(slot, handle)),
            None => {
                let temp = SenderHandle::register(ring)?;
                let result = temp.with_slot(ring, |slot| send(slot, &temp));
                ring.release_slot(temp.slot);
                result
            }
        }
    }
}

impl std::fmt::Debug for SharedRingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRingBuffer")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("buffer", &self.buffer)
            .field("slot", &self.handle.as_ref().map(|h| h.slot))
            .finish()
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

impl Clone for Sender {
    fn clone(&self) -> Sender {
        Sender::new(self.buffer.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        if let Some(handle) = &self.handle {
            self.buffer.ring.release_slot(handle.slot);
        }
    }
}

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

    /// Sets how long a blocking receive spins on an empty ring before it sleeps (default
    /// 50 µs). Longer spins lower latency when messages come in quick succession, at the cost
    /// of CPU while idle; zero sleeps at once.
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

    fn check_claim(&self) -> Result<()> {
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
        match self.buffer.ring.peek()? {
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

    fn take<T: DeserializeOwned>(&self, record: Record) -> Result<T> {
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
    receiver: &'a Receiver,
    record: Option<Record>,
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
            self.receiver.ring().peek()?
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
