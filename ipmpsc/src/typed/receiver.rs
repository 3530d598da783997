//! [`TypedReceiver`]: the one consumer of a typed channel, owned or in-place receive.

use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use super::{Channel, Iter, TryIter, ViewGuard};
use crate::codec;
use crate::raw::{take_owned, Receiver, SharedRingBuffer};
use crate::ring::consumer::Consumer;
use crate::ring::record::{Ready, RecordRef};
use crate::ring::wait::deadline_after;
use crate::sys::file;
use crate::{Error, Result};

/// Receives messages of type `M`: the one consumer of a channel. `Send` (move it to another
/// thread) but neither `Clone` nor `Sync`.
///
/// # End of stream
///
/// Once at least one sender has attached and then every sender has gone (dropped, or its
/// process ended however it ended) and every message they sent has been received, every
/// receive returns [`Error::Disconnected`], within about 25 ms of the last sender leaving (at
/// once when it left cleanly). It is reported once per such moment: the next call waits for a
/// new sender, so a service whose producers come and go keeps working, and a pipeline can end
/// its loop: [`TypedReceiver::iter`] and `for msg in &mut rx` end there.
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
/// drop(tx);
/// assert!(matches!(rx.recv(), Err(ipmpsc::Error::Disconnected)));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TypedReceiver<M: Channel> {
    pub(super) raw: Receiver,
    /// An error an iterator met and ended on, returned by the next receive.
    deferred: Option<Error>,
    _message: PhantomData<fn() -> M>,
}

impl<M: Channel> TypedReceiver<M> {
    fn from_parts(buffer: SharedRingBuffer, mut consumer: Consumer) -> Self {
        consumer.watch_senders();
        TypedReceiver {
            raw: Receiver::from_consumer(buffer, consumer),
            deferred: None,
            _message: PhantomData,
        }
    }

    /// Creates the channel file at `path` with `capacity_bytes` of ring (rounded up to a
    /// multiple of 8) for messages `M`, and becomes its receiver. The file's memory is
    /// reserved at once; the file is initialised under a temporary name, claimed by this
    /// receiver and only then renamed into place, with mode 0600. Of several processes
    /// creating one path at the same moment, exactly one becomes the receiver.
    ///
    /// A file already at `path` is replaced only if nobody uses it: no live receiver, no live
    /// sender, nothing undelivered. To continue a channel that may hold messages (a service
    /// restarting after a crash), use [`TypedReceiver::open_or_create`].
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds a channel at `path`;
    /// [`Error::ChannelInUse`] if live senders or undelivered messages are in it (it says how
    /// many); [`Error::IncompatibleRingBuffer`] if a file that is not a channel is there (it
    /// is never clobbered); [`Error::Io`] if the file cannot be created or its memory reserved
    /// (`ErrorKind::StorageFull` names the path and the size).
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
        let (buffer, consumer) =
            SharedRingBuffer::create_receiver(path.as_ref(), capacity_bytes, &M::SCHEMA, mode)?;
        Ok(Self::from_parts(buffer, consumer))
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
    /// let first = Job::create_receiver(&path, 4096)?;
    /// Job::open_sender(&path)?.send(&Job::Run(9))?;
    /// drop(first); // the message stays in the file
    /// let mut rx = Job::open_receiver(&path)?;
    /// assert!(matches!(rx.recv()?, Job::Run(9)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let (buffer, consumer) = SharedRingBuffer::open_receiver(path.as_ref(), &M::SCHEMA, None)?;
        Ok(Self::from_parts(buffer, consumer))
    }

    /// Continues the channel at `path` as its receiver if there is one (with every message
    /// still in it), or creates it with `capacity_bytes` (mode 0600) if there is none: the
    /// call a service makes at start, whether it starts fresh or after a crash. Of several
    /// processes calling it at the same moment, exactly one becomes the receiver.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] if the file there is a channel for another message type or
    /// version; [`Error::ReceiverAlreadyExists`] if a live receiver holds it; the errors of
    /// [`TypedReceiver::create`] and [`TypedReceiver::open`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-topenorcreate-{}", std::process::id());
    /// let mut rx = Job::open_or_create_receiver(&path, 4096)?; // creates
    /// let tx = Job::open_sender(&path)?;
    /// tx.send(&Job::Run(1))?;
    /// drop(rx); // a restart...
    /// let mut rx = Job::open_or_create_receiver(&path, 4096)?; // ...continues
    /// assert!(matches!(rx.recv()?, Job::Run(1)));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_or_create(path: impl AsRef<Path>, capacity_bytes: u64) -> Result<Self> {
        let (buffer, consumer) = SharedRingBuffer::open_receiver(
            path.as_ref(),
            &M::SCHEMA,
            Some((capacity_bytes, file::DEFAULT_MODE)),
        )?;
        Ok(Self::from_parts(buffer, consumer))
    }

    /// Creates a channel of `capacity_bytes` (as [`TypedReceiver::create`]) under a fresh,
    /// unique name in `/dev/shm` (or the system's temporary directory where `/dev/shm` does
    /// not exist), and becomes its receiver. Hand [`TypedReceiver::path`] to the senders.
    ///
    /// The file is removed when this receiver is dropped, also while a panic unwinds (not
    /// when the process is killed or aborts: then the file stays, as any file would). Only
    /// this receiver removes it, and only if the path still names the file it created: a
    /// forked child dropping its inherited copy, a sender or a later receiver of the channel
    /// never remove it, and neither does this receiver once somebody else has put another file
    /// at the path. A receiver made with [`TypedReceiver::create`] or
    /// [`TypedReceiver::open`] never removes its file. Names never collide, across threads
    /// and processes (a name that is taken is passed over, never replaced).
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be created or its memory reserved.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    ///
    /// let mut rx = ipmpsc::TypedReceiver::<Job>::create_temp(4096)?;
    /// let path = rx.path().to_path_buf();
    /// let tx = Job::open_sender(&path)?; // usually in another process
    /// tx.send(&Job::Run(7))?;
    /// assert!(matches!(rx.recv()?, Job::Run(7)));
    /// drop(rx);
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_temp(capacity_bytes: u64) -> Result<Self> {
        let (buffer, consumer) =
            SharedRingBuffer::create_temp_receiver(capacity_bytes, &M::SCHEMA)?;
        Ok(Self::from_parts(buffer, consumer))
    }

    /// The path this receiver's channel was created or opened at (where senders open it).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let rx = Job::create_temp_receiver(4096)?;
    /// assert!(rx.path().exists());
    /// let path = format!("/dev/shm/ipmpsc-doc-tpath-{}", std::process::id());
    /// let rx = Job::create_receiver(&path, 4096)?;
    /// assert_eq!(rx.path(), std::path::Path::new(&path));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.raw.path()
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

    /// Number of messages queued for this receiver: the committed messages it could receive
    /// now, one after another, without waiting. Counted by walking the records from the
    /// receiver's read position: O(messages queued); use [`TypedReceiver::is_empty`] to
    /// ask only whether there is one.
    ///
    /// A snapshot of a live channel: senders may commit more at any moment (never less:
    /// only this receiver takes messages out). A reservation that a sender has not committed
    /// yet (it is still encoding, or its loan is open) is not a message, and the count stops
    /// there: messages committed behind it count once it is committed, or once the receiver
    /// skipped it because its sender died. A message that does not decode counts, and its
    /// receive reports [`Error::Decode`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let mut rx = Job::create_temp_receiver(4096)?;
    /// let tx = Job::open_sender(rx.path())?;
    /// tx.send(&Job::Run(1))?;
    /// tx.send_batch(&[Job::Run(2), Job::Run(3)])?;
    /// assert_eq!(rx.len(), 3);
    /// rx.recv()?;
    /// assert_eq!(rx.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether no message is queued ([`TypedReceiver::len`] is 0): O(1), a look at the
    /// record at the read position (and a step over each padding record there).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let mut rx = Job::create_temp_receiver(4096)?;
    /// assert!(rx.is_empty());
    /// Job::open_sender(rx.path())?.send(&Job::Run(1))?;
    /// assert!(!rx.is_empty());
    /// let view = rx.recv_view()?;
    /// drop(view);
    /// assert!(rx.is_empty()); // a message received as a view is gone from the queue
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The channel's capacity in bytes: the `capacity_bytes` it was created with, rounded up
    /// to a multiple of 8, which is the largest message it takes (encoded). Smaller messages
    /// share it, each taking its encoded size rounded up to 8, plus 8 bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let rx = Job::create_temp_receiver(1000)?;
    /// assert_eq!(rx.capacity(), 1000);
    /// assert_eq!(Job::open_sender(rx.path())?.capacity(), 1000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.raw.capacity()
    }

    /// The consumer, after reporting an error an iterator ended on.
    pub(super) fn core(&mut self) -> Result<&mut Consumer> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        self.raw.core_mut()
    }

    /// Keeps an error an iterator ended on, for the next receive to return.
    pub(super) fn defer(&mut self, e: Error) {
        self.deferred = Some(e);
    }

    /// Waits for the next message until `deadline` (`None`: forever).
    fn ready(core: &mut Consumer, deadline: Option<std::time::Instant>) -> Result<Option<Ready>> {
        loop {
            match core.wait(deadline)? {
                None if deadline.is_none() => continue,
                other => return Ok(other),
            }
        }
    }

    /// Receives the next message, waiting as long as it takes.
    ///
    /// # Errors
    /// [`Error::Disconnected`] at the end of the stream (see [`TypedReceiver`]);
    /// [`Error::Decode`] if the message does not decode (it is consumed, so the next call
    /// moves on; a `Deserialize` that panics consumes it too); [`Error::Corrupt`] if the
    /// ring's bytes violate the protocol.
    ///
    /// # Examples
    ///
    /// See [`TypedReceiver`].
    pub fn recv(&mut self) -> Result<M> {
        let core = self.core()?;
        let ready = Self::ready(core, None)?.expect("waiting forever returns a message");
        take_owned(core.take(ready))
    }

    /// Receives a message if one is ready.
    ///
    /// This is also the cheapest way to take a run of queued messages (a batch a sender sent
    /// with `send_batch`, or a backlog): a message at the head of the ring is taken in a few
    /// loads and compares. [`TypedReceiver::try_iter`] drains them the same way. The blocking
    /// receives go through the general path on purpose: a receiver that keeps up with a
    /// sender message by message reads each record while its sender is still writing next to
    /// it, and both lose more to moving cache lines between the cores than they would save.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv`].
    ///
    /// # Examples
    ///
    /// See [`TypedReceiver`].
    pub fn try_recv(&mut self) -> Result<Option<M>> {
        match self.core()?.try_next()? {
            Some(record) => take_owned(record).map(Some),
            None => Ok(None),
        }
    }

    /// Receives a message, waiting at most `timeout` (any `Duration`; `Duration::MAX` waits
    /// forever). `Ok(None)` if none came.
    ///
    /// # Errors
    /// As [`TypedReceiver::recv`]: [`Error::Disconnected`] comes as soon as every sender is
    /// gone, not when the time is up.
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
    /// assert!(matches!(rx.recv_timeout(Duration::from_secs(5))?, Some(Job::Run(1))));
    /// assert!(matches!(rx.recv_timeout(Duration::from_secs(5)), Err(ipmpsc::Error::Disconnected)));
    /// // Reported once: the next call waits for a new sender.
    /// assert!(rx.recv_timeout(Duration::from_millis(5))?.is_none());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<M>> {
        let deadline = deadline_after(timeout);
        let core = self.core()?;
        match Self::ready(core, deadline)? {
            Some(ready) => take_owned(core.take(ready)).map(Some),
            None => Ok(None),
        }
    }

    /// Receives the next message as a view that borrows its `&str` and `&[u8]` fields straight
    /// from shared memory: no copy. Waits as long as it takes.
    ///
    /// Views trust the channel's writers: see the crate's safety notes, and use the owned
    /// receives when a process with write access to the file is not trusted.
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
        let core = self.core()?;
        let ready = Self::ready(core, None)?.expect("waiting forever returns a message");
        view(core.take(ready))
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
        match self.core()?.try_next()? {
            Some(record) => view(record).map(Some),
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
        let deadline = deadline_after(timeout);
        let core = self.core()?;
        match Self::ready(core, deadline)? {
            Some(ready) => view(core.take(ready)).map(Some),
            None => Ok(None),
        }
    }

    /// A blocking iterator over owned messages, ending at the end of the stream (every sender
    /// gone, everything received; see [`TypedReceiver`]). Any other error also ends it, and is
    /// returned by the receiver's next receive.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// #[derive(Debug, PartialEq)]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-titer-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// let tx = Job::open_sender(&path)?;
    /// for i in 0..3 {
    ///     tx.send(&Job::Run(i))?;
    /// }
    /// drop(tx);
    /// let jobs: Vec<Job> = rx.iter().collect();
    /// assert_eq!(jobs, [Job::Run(0), Job::Run(1), Job::Run(2)]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn iter(&mut self) -> Iter<'_, M> {
        Iter::new(self)
    }

    /// A non-blocking iterator over the owned messages ready now: it ends when none is ready
    /// (or at the end of the stream, or at an error, which the next receive returns).
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttryiter-{}", std::process::id());
    /// let mut rx = Job::create_receiver(&path, 4096)?;
    /// let tx = Job::open_sender(&path)?;
    /// tx.send(&Job::Run(1))?;
    /// tx.send(&Job::Run(2))?;
    /// assert_eq!(rx.try_iter().count(), 2);
    /// assert_eq!(rx.try_iter().count(), 0); // the sender is still there: nothing ready
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_iter(&mut self) -> TryIter<'_, M> {
        TryIter::new(self)
    }
}

/// Decodes the view of `record` in place; the record stays in the ring until the receiver's
/// next call (also if the decode fails or panics: that call moves on).
pub(super) fn view<M: Channel>(record: RecordRef<'_>) -> Result<ViewGuard<'_, M>> {
    let bytes = record.park();
    Ok(ViewGuard::new(codec::decode::<M::View<'_>>(bytes)?))
}

impl<'a, M: Channel> IntoIterator for &'a mut TypedReceiver<M> {
    type Item = M;
    type IntoIter = Iter<'a, M>;

    /// See [`TypedReceiver::iter`].
    fn into_iter(self) -> Iter<'a, M> {
        self.iter()
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

impl<M: Channel> crate::select::sealed::Sealed for TypedReceiver<M> {}

impl<M: Channel> crate::select::Selectable for TypedReceiver<M> {
    fn __select_core(&mut self) -> crate::select::SelectCore<'_> {
        if self.deferred.is_some() {
            return crate::select::SelectCore(None); // the next receive returns it
        }
        crate::select::SelectCore(self.raw.core_mut().ok())
    }
}
