//! [`TypedReceiver`]: the one consumer of a typed channel, owned or in-place receive.

use std::marker::PhantomData;
use std::path::Path;
use std::time::{Duration, Instant};

use super::{check_schema, Channel, ViewGuard};
use crate::codec;
use crate::raw::{Receiver, SharedRingBuffer};
use crate::ring::consumer::Record;
use crate::ring::Ring;
use crate::sys::file;
use crate::{Error, Result};

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
    pub(super) raw: Receiver,
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
    /// [`TypedSender::open`](crate::TypedSender::open) for unusable files.
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
                // Every sender is dead: skip their unfinished reservations at once, and report
                // `Disconnected` only if nothing committed is left behind them.
                match self.raw.ring().skip_dead_now()? {
                    Some(record) => Ok(Some(record)),
                    None if self.raw.ring().is_empty() => Err(Error::Disconnected),
                    None => Ok(None),
                }
            }
            None => Ok(None),
        }
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
                return self.raw.take::<M>(record);
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
        match self.raw.ring().poll()? {
            Some(record) => self.raw.take::<M>(record).map(Some),
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
            Some(record) => self.raw.take::<M>(record).map(Some),
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
        match self.raw.ring().poll()? {
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
