//! The typed face that `#[ipmpsc::channel]` generates glue for: [`Channel`], [`TypedSender`],
//! [`TypedReceiver`] and [`ViewGuard`]. Opening a channel compares the schema stored in the file
//! with the one this process was built with, and refuses a mismatch.

use std::marker::PhantomData;
use std::ops::Deref;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::raw::{Receiver, Sender, SharedRingBuffer};
use crate::ring::consumer::Record;
use crate::ring::producer::Wait;
use crate::ring::Ring;
use crate::schema::{Schema, SchemaMismatch};
use crate::sys::file;
use crate::{Error, Result};

/// A message type with a schema: implemented by `#[ipmpsc::channel]` on an enum.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Ping {
///     Hello(String),
///     Bye,
/// }
///
/// use ipmpsc::Channel;
/// assert_eq!(Ping::SCHEMA.name, "Ping");
/// assert_eq!(Ping::SCHEMA.hash, Ping::SCHEMA_HASH);
/// assert_eq!(Ping::view_into_owned(PingView::Hello("hi")), Ping::Hello("hi".into()));
/// ```
pub trait Channel: Serialize + DeserializeOwned + Send + 'static {
    /// Name, version and structural hash of the message type.
    const SCHEMA: Schema;
    /// The borrowed form of a message: `&str` for `String`, `&[u8]` for `Vec<u8>`, and so on.
    type View<'a>: Serialize + Deserialize<'a>;
    /// Copies a view into an owned message.
    fn view_into_owned(view: Self::View<'_>) -> Self;
}

fn check_schema<M: Channel>(ring: &Ring) -> Result<()> {
    let stored = ring.schema();
    if stored.hash != M::SCHEMA.hash || M::SCHEMA.hash == 0 {
        return Err(Error::SchemaMismatch(Box::new(SchemaMismatch::new(
            stored.clone(),
            &M::SCHEMA,
        ))));
    }
    Ok(())
}

/// Sends messages of type `M` into a channel. Cheap to clone (each clone registers its own
/// sender slot) and usable from many threads at once.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Note { Text(String) }
///
/// let path = format!("/dev/shm/ipmpsc-doc-tsender-{}", std::process::id());
/// let mut rx = Note::create_receiver(&path, 4096)?;
/// let tx: NoteSender = Note::open_sender(&path)?;
/// tx.send(&Note::Text("hi".into()))?;
/// assert!(matches!(rx.recv()?, Note::Text(t) if t == "hi"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TypedSender<M: Channel> {
    raw: Sender,
    _message: PhantomData<fn(&M)>,
}

impl<M: Channel> std::fmt::Debug for TypedSender<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedSender")
            .field("schema", &M::SCHEMA.name)
            .field("raw", &self.raw)
            .finish()
    }
}

impl<M: Channel> Clone for TypedSender<M> {
    fn clone(&self) -> Self {
        TypedSender {
            raw: self.raw.clone(),
            _message: PhantomData,
        }
    }
}

impl<M: Channel> TypedSender<M> {
    /// Opens the channel file at `path` for sending `M`.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] if the channel was created for another message type or
    /// version (or is a raw channel); [`Error::IncompatibleRingBuffer`] / [`Error::Corrupt`] if
    /// the file is not a usable channel; [`Error::Io`] if it cannot be opened;
    /// [`Error::TooManySenders`] if every sender slot is held by a live sender.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum A { X(u32) }
    /// #[ipmpsc::channel]
    /// pub enum B { X(u64) }
    ///
    /// let path = format!("/dev/shm/ipmpsc-doc-topen-{}", std::process::id());
    /// let _rx = A::create_receiver(&path, 4096)?;
    /// assert!(ipmpsc::TypedSender::<A>::open(&path).is_ok());
    /// let err = ipmpsc::TypedSender::<B>::open(&path).unwrap_err();
    /// assert!(matches!(err, ipmpsc::Error::SchemaMismatch(_)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let ring = Ring::open(path.as_ref())?;
        check_schema::<M>(&ring)?;
        let buffer = SharedRingBuffer {
            ring: std::sync::Arc::new(ring),
        };
        let handle = crate::ring::producer::SenderHandle::register(&buffer.ring)?;
        Ok(TypedSender {
            raw: Sender::from_parts(buffer, handle),
            _message: PhantomData,
        })
    }

    /// Sends `message`, waiting for space if the ring is full.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`] if it cannot fit even in an empty ring;
    /// [`Error::Disconnected`] if the receiver is gone while this call waits for space.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Count { N(u64) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tsend-{}", std::process::id());
    /// let mut rx = Count::create_receiver(&path, 4096)?;
    /// Count::open_sender(&path)?.send(&Count::N(3))?;
    /// assert!(matches!(rx.recv()?, Count::N(3)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&self, message: &M) -> Result<()> {
        self.raw.send_with(message, Wait::Until(None)).map(|_| ())
    }

    /// Sends a borrowed view of a message, without building an owned message first. A view
    /// encodes to exactly the bytes of the message it stands for.
    ///
    /// # Errors
    /// As [`TypedSender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Blob { Data { id: u32, bytes: Vec<u8> } }
    /// let path = format!("/dev/shm/ipmpsc-doc-tview-{}", std::process::id());
    /// let mut rx = Blob::create_receiver(&path, 4096)?;
    /// let buf = [7u8; 100];
    /// Blob::open_sender(&path)?.send_view(&BlobView::Data { id: 1, bytes: &buf })?;
    /// assert!(matches!(rx.recv()?, Blob::Data { id: 1, bytes } if bytes == buf));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_view(&self, view: &M::View<'_>) -> Result<()> {
        self.raw.send_with(view, Wait::Until(None)).map(|_| ())
    }

    /// Sends `message` if there is room now; `Ok(false)` if the ring is full.
    ///
    /// # Errors
    /// As [`TypedSender::send`], except `Disconnected` (it never waits).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Big { B(Vec<u8>) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttry-{}", std::process::id());
    /// let _rx = Big::create_receiver(&path, 256)?;
    /// let tx = Big::open_sender(&path)?;
    /// assert!(tx.try_send(&Big::B(vec![0; 150]))?);
    /// assert!(!tx.try_send(&Big::B(vec![0; 150]))?);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_send(&self, message: &M) -> Result<bool> {
        self.raw.send_with(message, Wait::No)
    }

    /// Sends `message`, waiting at most `timeout` for space; `Ok(false)` if the ring stayed full.
    ///
    /// # Errors
    /// As [`TypedSender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// #[ipmpsc::channel]
    /// pub enum Big { B(Vec<u8>) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttimeout-{}", std::process::id());
    /// let _rx = Big::create_receiver(&path, 256)?;
    /// let tx = Big::open_sender(&path)?;
    /// assert!(tx.send_timeout(&Big::B(vec![0; 150]), Duration::from_millis(5))?);
    /// assert!(!tx.send_timeout(&Big::B(vec![0; 150]), Duration::from_millis(5))?);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_timeout(&self, message: &M, timeout: Duration) -> Result<bool> {
        self.raw
            .send_with(message, Wait::Until(Some(Instant::now() + timeout)))
    }
}

/// Receives messages of type `M`: the one consumer of a channel. `Send` (move it to another
/// thread) but neither `Clone` nor `Sync`.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// pub enum Event { Key(char), Quit }
///
/// let path = format!("/dev/shm/ipmpsc-doc-treceiver-{}", std::process::id());
/// let mut rx: EventReceiver = Event::create_receiver(&path, 4096)?;
/// let tx = Event::open_sender(&path)?;
/// tx.send(&Event::Key('q'))?;
/// tx.send(&Event::Quit)?;
/// assert!(matches!(rx.recv()?, Event::Key('q')));
/// assert!(matches!(rx.try_recv()?, Some(Event::Quit)));
/// assert!(rx.try_recv()?.is_none());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TypedReceiver<M: Channel> {
    raw: Receiver,
    /// A record whose view guard was dropped: freed at the start of the next call (see
    /// [`ViewGuard`] for why not earlier).
    pending: Option<Record>,
    _message: PhantomData<fn() -> M>,
}

impl<M: Channel> TypedReceiver<M> {
    /// Creates the channel file at `path` with `capacity_bytes` of ring (rounded up to a
    /// multiple of 8) for messages `M`, and becomes its receiver. The file is initialised under
    /// a temporary name and renamed into place, with mode 0600.
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds a channel at `path` (a stale
    /// file from a dead one is replaced); [`Error::Io`] if the file cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tcreate-{}", std::process::id());
    /// let rx = ipmpsc::TypedReceiver::<Job>::create(&path, 1 << 16)?;
    /// assert!(matches!(Job::create_receiver(&path, 1 << 16), Err(ipmpsc::Error::ReceiverAlreadyExists { .. })));
    /// drop(rx);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, capacity_bytes: u64) -> Result<Self> {
        Self::create_with_mode(path, capacity_bytes, file::DEFAULT_MODE)
    }

    /// Like [`TypedReceiver::create`] with explicit permission bits for the file.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tmode-{}", std::process::id());
    /// let _rx = ipmpsc::TypedReceiver::<Job>::create_with_mode(&path, 4096, 0o660)?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o660);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_with_mode(
        path: impl AsRef<Path>,
        capacity_bytes: u64,
        mode: u32,
    ) -> Result<Self> {
        let ring = Ring::create(path.as_ref(), capacity_bytes, &M::SCHEMA, mode, true)?;
        let buffer = SharedRingBuffer {
            ring: std::sync::Arc::new(ring),
        };
        Ok(TypedReceiver {
            raw: Receiver::from_claimed(buffer),
            pending: None,
            _message: PhantomData,
        })
    }

    /// Reattaches to the existing channel at `path` as its receiver: a receiver restarted after
    /// a crash continues where the last one stopped.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] if the channel is for another message type or version;
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds it; the errors of
    /// [`TypedSender::open`] for unusable files.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-treopen-{}", std::process::id());
    /// drop(Job::create_receiver(&path, 4096)?);
    /// Job::open_sender(&path)?.send(&Job::Run(9))?;
    /// let mut rx = Job::open_receiver(&path)?;
    /// assert!(matches!(rx.recv()?, Job::Run(9)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let ring = Ring::open(path.as_ref())?;
        check_schema::<M>(&ring)?;
        let buffer = SharedRingBuffer {
            ring: std::sync::Arc::new(ring),
        };
        Ok(TypedReceiver {
            raw: Receiver::try_new(buffer)?,
            pending: None,
            _message: PhantomData,
        })
    }

    /// Sets how long a blocking receive spins before sleeping (default 50 µs); see
    /// [`Receiver::set_spin`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tspin-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// rx.set_spin(std::time::Duration::ZERO);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_spin(&mut self, spin: Duration) {
        self.raw.set_spin(spin);
    }

    /// Number of live senders registered on the channel, in any process.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tcount-{}", std::process::id());
    /// let rx = Job::create_receiver(&path, 4096)?;
    /// let tx = Job::open_sender(&path)?;
    /// assert_eq!(rx.sender_count(), 1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sender_count(&self) -> usize {
        self.raw.sender_count()
    }

    fn free_pending(&mut self) {
        if let Some(record) = self.pending.take() {
            self.raw.ring().consume(&record);
        }
    }

    fn next(&mut self, deadline: Option<Instant>) -> Result<Option<Record>> {
        self.free_pending();
        match self.raw.wait(deadline)? {
            Some(record) => Ok(Some(record)),
            None if deadline.is_some() && self.raw.ring().senders_gone() => {
                // Re-check: a last message may have landed just before the last sender left.
                match self.raw.ring().peek()? {
                    Some(record) => Ok(Some(record)),
                    None => Err(Error::Disconnected),
                }
            }
            None => Ok(None),
        }
    }

    fn take_owned(&mut self, record: Record) -> Result<M> {
        let ring = self.raw.ring();
        // SAFETY: `record` is the unconsumed head record; the slice is not used after the
        // record is consumed on the next line.
        let value = codec::decode::<M>(unsafe { ring.payload(&record) });
        ring.consume(&record);
        value
    }

    /// Receives the next message, waiting as long as it takes (senders may join at any time).
    ///
    /// # Errors
    /// [`Error::Decode`] if the message does not decode (it is skipped); [`Error::Corrupt`] if
    /// the ring's bytes violate the protocol.
    ///
    /// # Examples
    ///
    /// See [`TypedReceiver`].
    pub fn recv(&mut self) -> Result<M> {
        loop {
            if let Some(record) = self.next(None)? {
                return self.take_owned(record);
            }
        }
    }

    /// Receives a message if one is ready.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv`].
    ///
    /// # Examples
    ///
    /// See [`TypedReceiver`].
    pub fn try_recv(&mut self) -> Result<Option<M>> {
        self.free_pending();
        match self.raw.ring().peek()? {
            Some(record) => self.take_owned(record).map(Some),
            None => Ok(None),
        }
    }

    /// Receives a message, waiting at most `timeout`.
    ///
    /// `Ok(None)` if none came while senders are (or may yet be) there.
    ///
    /// # Errors
    /// [`Error::Disconnected`] if, when the time is up, the ring is empty, at least one sender
    /// has registered on the channel and none is alive any more. New senders may still open
    /// the channel later; a later call then receives their messages. Otherwise as
    /// [`TypedReceiver::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-trecvto-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// assert!(rx.recv_timeout(Duration::from_millis(5))?.is_none()); // no sender yet
    /// let tx = Job::open_sender(&path)?;
    /// tx.send(&Job::Run(1))?;
    /// drop(tx);
    /// assert!(matches!(rx.recv_timeout(Duration::from_millis(5))?, Some(Job::Run(1))));
    /// assert!(matches!(rx.recv_timeout(Duration::from_millis(5)), Err(ipmpsc::Error::Disconnected)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<M>> {
        match self.next(Some(Instant::now() + timeout))? {
            Some(record) => self.take_owned(record).map(Some),
            None => Ok(None),
        }
    }

    fn guard(&mut self, record: Record) -> Result<ViewGuard<'_, M>> {
        let ring: &Ring = self.raw.ring();
        // SAFETY: the record stays unconsumed for as long as `self` is mutably borrowed by the
        // guard: dropping the guard only parks the record in `pending`, and it is consumed at
        // the start of the next call on `&mut self`, which cannot happen while the borrow
        // (and so any reference taken from the view) lives.
        let bytes: &[u8] = unsafe { ring.payload(&record) };
        match codec::decode::<M::View<'_>>(bytes) {
            Ok(view) => Ok(ViewGuard {
                view,
                pending: &mut self.pending,
                record: Some(record),
                _not_send: PhantomData,
            }),
            Err(e) => {
                ring.consume(&record);
                Err(e)
            }
        }
    }

    /// Receives the next message as a view that borrows its `&str` and `&[u8]` fields straight
    /// from shared memory: no copy. Waits as long as it takes.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Frame { Image { width: u32, pixels: Vec<u8> } }
    /// let path = format!("/dev/shm/ipmpsc-doc-tview-recv-{}", std::process::id());
    /// let mut rx = Frame::create_receiver(&path, 1 << 16)?;
    /// Frame::open_sender(&path)?.send(&Frame::Image { width: 2, pixels: vec![1, 2, 3, 4] })?;
    /// let guard = rx.recv_view()?;
    /// let FrameView::Image { width, pixels } = &*guard;
    /// assert_eq!((*width, *pixels), (2, &[1u8, 2, 3, 4][..]));
    /// # drop(guard);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_view(&mut self) -> Result<ViewGuard<'_, M>> {
        loop {
            if let Some(record) = self.next(None)? {
                return self.guard(record);
            }
        }
    }

    /// Receives a view if a message is ready.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttryview-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// assert!(rx.try_recv_view()?.is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_recv_view(&mut self) -> Result<Option<ViewGuard<'_, M>>> {
        self.free_pending();
        match self.raw.ring().peek()? {
            Some(record) => self.guard(record).map(Some),
            None => Ok(None),
        }
    }

    /// Receives a view, waiting at most `timeout`; `Ok(None)` on timeout.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv_timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tviewto-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// assert!(rx.recv_view_timeout(std::time::Duration::from_millis(2))?.is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_view_timeout(&mut self, timeout: Duration) -> Result<Option<ViewGuard<'_, M>>> {
        match self.next(Some(Instant::now() + timeout))? {
            Some(record) => self.guard(record).map(Some),
            None => Ok(None),
        }
    }
}

impl<M: Channel> std::fmt::Debug for TypedReceiver<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypedReceiver")
            .field("schema", &M::SCHEMA.name)
            .field("raw", &self.raw)
            .finish()
    }
}

impl<M: Channel> Drop for TypedReceiver<M> {
    fn drop(&mut self) {
        self.free_pending();
    }
}

/// A message received in place: derefs to `M::View<'r>`, whose `&str` and `&[u8]` fields point
/// into the channel's shared memory.
///
/// The guard borrows the receiver mutably, so holding it across another receive does not
/// compile. When it is dropped, the message's bytes are released; they are handed back to
/// senders at the start of the receiver's next call (or when the receiver is dropped), which is
/// exactly when the borrow checker guarantees that no reference copied out of the view is left.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Log { Line(String) }
/// let path = format!("/dev/shm/ipmpsc-doc-guard-{}", std::process::id());
/// let mut rx = Log::create_receiver(&path, 4096)?;
/// Log::open_sender(&path)?.send(&Log::Line("kept".into()))?;
/// let owned: Log = rx.recv_view()?.into_owned();
/// assert_eq!(owned, Log::Line("kept".into()));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ViewGuard<'r, M: Channel> {
    view: M::View<'r>,
    pending: &'r mut Option<Record>,
    record: Option<Record>,
    _not_send: PhantomData<*const ()>,
}

impl<'r, M: Channel> ViewGuard<'r, M> {
    /// Copies the message out of shared memory.
    ///
    /// # Examples
    ///
    /// See [`ViewGuard`].
    pub fn into_owned(self) -> M {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is in a ManuallyDrop and never used again after these reads, so each
        // field is moved out exactly once and the guard's own `Drop` does not run.
        let (view, pending, record) = unsafe {
            (
                std::ptr::read(&this.view),
                std::ptr::read(&this.pending),
                std::ptr::read(&this.record),
            )
        };
        let owned = M::view_into_owned(view);
        *pending = record;
        owned
    }
}

impl<'r, M: Channel> Deref for ViewGuard<'r, M> {
    type Target = M::View<'r>;

    fn deref(&self) -> &M::View<'r> {
        &self.view
    }
}

impl<M: Channel> Drop for ViewGuard<'_, M> {
    fn drop(&mut self) {
        *self.pending = self.record.take();
    }
}

impl<M: Channel> std::fmt::Debug for ViewGuard<'_, M>
where
    for<'a> M::View<'a>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.view.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
    pub struct Meta {
        id: u32,
        labels: Vec<String>,
    }

    #[crate::channel]
    #[derive(Debug, Clone, PartialEq)]
    pub enum Every {
        Bytes(Vec<u8>),
        Boxed(Box<[u8]>),
        BoxedStr(Box<str>),
        Text { s: String, n: u64 },
        Strings(Vec<String>),
        Nested(Vec<Vec<u8>>),
        Maybe(Option<Vec<u8>>),
        Deep(Option<Vec<Option<Vec<u8>>>>),
        Derived(Meta),
        Unit,
    }

    fn samples() -> Vec<Every> {
        vec![
            Every::Bytes(vec![1, 2, 3]),
            Every::Boxed(vec![4, 5].into_boxed_slice()),
            Every::BoxedStr("boxed".into()),
            Every::Text {
                s: "héllo".into(),
                n: 7,
            },
            Every::Strings(vec!["a".into(), "".into(), "ccc".into()]),
            Every::Nested(vec![vec![], vec![9; 10]]),
            Every::Maybe(Some(vec![8; 3])),
            Every::Maybe(None),
            Every::Deep(Some(vec![None, Some(vec![1, 2])])),
            Every::Derived(Meta {
                id: 3,
                labels: vec!["x".into()],
            }),
            Every::Unit,
        ]
    }

    #[test]
    fn view_and_owned_message_encode_to_the_same_bytes() {
        for msg in samples() {
            let owned = codec::encode_to_vec(&msg).unwrap();
            let view = codec::encode_to_vec(&msg.as_view()).unwrap();
            assert_eq!(owned, view, "{msg:?}");
            let back: EveryView<'_> = codec::decode(&owned).unwrap();
            assert_eq!(Every::view_into_owned(back), msg);
        }
    }

    #[test]
    fn decoded_views_borrow_from_the_encoded_bytes() {
        let msg = Every::Text {
            s: "in place".into(),
            n: 1,
        };
        let bytes = codec::encode_to_vec(&msg).unwrap();
        let EveryView::Text { s, .. } = codec::decode::<EveryView<'_>>(&bytes).unwrap() else {
            panic!("wrong variant")
        };
        assert!(bytes.as_ptr_range().contains(&s.as_ptr()));
    }

    #[test]
    fn received_view_points_into_the_mapping_and_frees_its_slot() {
        let path = format!("/dev/shm/ipmpsc-unit-view-{}", std::process::id());
        struct Remove<'a>(&'a str);
        impl Drop for Remove<'_> {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(self.0);
            }
        }
        let _remove = Remove(&path);
        let mut rx = Every::create_receiver(&path, 256).unwrap();
        let tx = Every::open_sender(&path).unwrap();
        let big = vec![5u8; 200]; // 4 + 8 + 200 bytes: the ring holds one at a time
        tx.send_view(&EveryView::Bytes(&big)).unwrap();
        assert!(
            !tx.try_send(&Every::Bytes(big.clone())).unwrap(),
            "ring should be full"
        );
        let mapping = rx.raw.ring().mapped_range();
        {
            let guard = rx.recv_view().unwrap();
            let EveryView::Bytes(bytes) = &*guard else {
                panic!("wrong variant")
            };
            assert!(mapping.contains(&(bytes.as_ptr() as usize)));
            assert!(mapping.contains(&(bytes.as_ptr() as usize + bytes.len() - 1)));
            assert_eq!(*bytes, &big[..]);
        }
        // The guard is gone; the next call on the receiver frees the slot.
        assert!(rx.try_recv().unwrap().is_none());
        assert!(
            tx.try_send(&Every::Bytes(big.clone())).unwrap(),
            "slot should be free again"
        );
        assert_eq!(rx.recv().unwrap(), Every::Bytes(big));
    }
}
