//! [`TypedSender`]: sends one message type into a channel whose schema it checked.

use std::borrow::Borrow;
use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use super::Channel;
use crate::raw::{check_schema, open_sender_within, Sender};
use crate::ring::producer::Wait;
use crate::ring::wait::deadline_after;
use crate::{Loan, LoanUninit, Result};

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
    pub(super) raw: Sender,
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
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) if the channel was created for another message type or
    /// version (or is a raw channel); [`Error::IncompatibleRingBuffer`](crate::Error::IncompatibleRingBuffer) / [`Error::Corrupt`](crate::Error::Corrupt) if
    /// the file is not a usable channel; [`Error::Io`](crate::Error::Io) if it cannot be opened;
    /// [`Error::TooManySenders`](crate::Error::TooManySenders) if every sender slot is held by a live sender.
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
        let raw =
            Sender::open_registered(path.as_ref(), |stored| check_schema(stored, &M::SCHEMA))?;
        Ok(TypedSender {
            raw,
            _message: PhantomData,
        })
    }

    /// Opens the channel at `path` for sending `M` once a receiver holds it, waiting at most
    /// `timeout` for one to create it (or to claim the file there): the call a process makes
    /// when it may start before its peer. `Duration::ZERO` looks once; `Duration::MAX` waits
    /// as long as it takes.
    ///
    /// Unlike [`TypedSender::open`], this waits for a live receiver: a file at `path` that
    /// no receiver holds (left by one that is gone) is not used, so that the receiver that
    /// comes can replace it with `create_receiver` (a sender registered on it would keep it in
    /// use). The wait sleeps on an inotify watch of `path`'s directory, so a channel created
    /// there is noticed at once; a receiver that claims an existing file, or a directory that
    /// does not exist yet, is noticed within 100 ms.
    ///
    /// # Errors
    /// A timeout is no error, as for every other `_timeout` call of the crate: `Ok(None)` if no
    /// receiver held a channel at `path` within `timeout`. It waits for what the receiver that
    /// comes can put right, and returns at once what it cannot:
    /// [`Error::SchemaMismatch`](crate::Error::SchemaMismatch) if a receiver holds a channel
    /// for another message type or version there;
    /// [`Error::IncompatibleRingBuffer`](crate::Error::IncompatibleRingBuffer) if a file of
    /// another format is there (a receiver's create would not replace it either);
    /// [`Error::Io`](crate::Error::Io) for anything but a missing file (permission denied,
    /// say); [`Error::TooManySenders`](crate::Error::TooManySenders). What a receiver's create
    /// replaces is waited on: a channel of another schema that no receiver holds, an empty
    /// file, an ipmpsc file of another layout or with a broken header; if it is still there
    /// when the time is up, its error ([`Error::SchemaMismatch`](crate::Error::SchemaMismatch),
    /// [`Error::IncompatibleRingBuffer`](crate::Error::IncompatibleRingBuffer) or
    /// [`Error::Corrupt`](crate::Error::Corrupt)) is returned instead of `Ok(None)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// #[ipmpsc::channel]
    /// pub enum Request { Get(String) }
    ///
    /// let path = format!("/dev/shm/ipmpsc-doc-topento-{}", std::process::id());
    /// // Nobody has created it yet: a zero timeout looks once.
    /// assert!(Request::open_sender_timeout(&path, Duration::ZERO)?.is_none());
    ///
    /// let server = {
    ///     let path = path.clone();
    ///     std::thread::spawn(move || -> ipmpsc::Result<String> {
    ///         let mut rx = Request::create_receiver(&path, 4096)?; // the peer comes later
    ///         let Request::Get(key) = rx.recv()?;
    ///         Ok(key)
    ///     })
    /// };
    /// let tx = ipmpsc::TypedSender::<Request>::open_timeout(&path, Duration::from_secs(10))?
    ///     .expect("the server creates the channel");
    /// tx.send(&Request::Get("key".into()))?;
    /// assert_eq!(server.join().unwrap()?, "key");
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Option<Self>> {
        let check = |stored: &crate::schema::StoredSchema| check_schema(stored, &M::SCHEMA);
        let raw = open_sender_within(path.as_ref(), check, deadline_after(timeout))?;
        Ok(raw.map(|raw| TypedSender {
            raw,
            _message: PhantomData,
        }))
    }

    /// The channel's capacity in bytes, as [`TypedReceiver::capacity`](crate::TypedReceiver::capacity):
    /// the largest message it takes, in encoded bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Job { Run(u32) }
    /// let rx = Job::create_temp_receiver(4096)?;
    /// assert_eq!(Job::open_sender(rx.path())?.capacity(), 4096);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capacity(&self) -> u64 {
        self.raw.capacity()
    }

    /// Sends `message`, waiting for space if the ring is full.
    ///
    /// # Errors
    /// [`Error::MessageTooLarge`](crate::Error::MessageTooLarge) if it cannot fit even in an
    /// empty ring; [`Error::Disconnected`](crate::Error::Disconnected) if the receiver is gone
    /// (it dropped its receiver or its process ended, however it ended; or the file was
    /// replaced): at once for a clean departure, within about 25 ms otherwise, also while this
    /// call waits for space. Once a new receiver claims the channel, sends succeed again.
    /// [`Error::Encode`](crate::Error::Encode) if the message's `Serialize` fails; a panic in
    /// it unwinds out of `send` but abandons the reservation, so the channel and this sender
    /// stay usable.
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
    /// As [`TypedSender::send`].
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
            .send_with(message, Wait::Until(deadline_after(timeout)))
    }

    /// [`TypedSender::try_send`] for a view: sends it if there is room now; `Ok(false)` if
    /// the ring is full (nothing of it was sent).
    ///
    /// # Errors
    /// As [`TypedSender::send`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Big { B(Vec<u8>) }
    /// let rx = Big::create_temp_receiver(256)?;
    /// let tx = Big::open_sender(rx.path())?;
    /// let bytes = [0u8; 150];
    /// assert!(tx.try_send_view(&BigView::B(&bytes))?);
    /// assert!(!tx.try_send_view(&BigView::B(&bytes))?); // full: nobody reads
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_send_view(&self, view: &M::View<'_>) -> Result<bool> {
        self.raw.send_with(view, Wait::No)
    }

    /// [`TypedSender::send_timeout`] for a view: sends it, waiting at most `timeout` for
    /// space (`Duration::MAX` waits as long as it takes); `Ok(false)` if the ring stayed full
    /// (nothing of it was sent).
    ///
    /// # Errors
    /// As [`TypedSender::send`]: [`Error::Disconnected`](crate::Error::Disconnected) comes as
    /// soon as the receiver is gone, not when the time is up.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// #[ipmpsc::channel]
    /// pub enum Big { B(Vec<u8>) }
    /// let mut rx = Big::create_temp_receiver(256)?;
    /// let tx = Big::open_sender(rx.path())?;
    /// let bytes = [1u8; 150];
    /// assert!(tx.send_view_timeout(&BigView::B(&bytes), Duration::from_millis(5))?);
    /// assert!(!tx.send_view_timeout(&BigView::B(&bytes), Duration::from_millis(5))?);
    /// rx.recv()?; // room again
    /// assert!(tx.send_view_timeout(&BigView::B(&bytes), Duration::from_secs(5))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_view_timeout(&self, view: &M::View<'_>, timeout: Duration) -> Result<bool> {
        self.raw
            .send_with(view, Wait::Until(deadline_after(timeout)))
    }

    /// Sends `messages` in order, a run at a time: each run of up to 64 messages takes one
    /// reservation, one publication and at most one wake-up of the receiver (see
    /// [`Sender::send_batch`](crate::Sender::send_batch)). For a producer with a burst to
    /// send, this is several times faster per message than [`TypedSender::send`] in a loop.
    ///
    /// # Errors
    /// As [`TypedSender::send`]. The messages before the one that failed were sent; it and
    /// those after it were not.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { At(u64) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tbatch-{}", std::process::id());
    /// let mut rx = Tick::create_receiver(&path, 4096)?;
    /// let tx = Tick::open_sender(&path)?;
    /// tx.send_batch(&[Tick::At(1), Tick::At(2), Tick::At(3)])?;
    /// let got: Vec<Tick> = rx.try_iter().collect();
    /// assert!(matches!(got[..], [Tick::At(1), Tick::At(2), Tick::At(3)]));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_batch(&self, messages: &[M]) -> Result<()> {
        self.raw.send_batch(messages)
    }

    /// Sends as many of `messages` as fit in the ring now, in order and without waiting, and
    /// returns how many it sent (see [`Sender::try_send_batch`](crate::Sender::try_send_batch)):
    /// the way to know exactly where to go on from after a full ring or an error.
    ///
    /// # Errors
    /// As [`TypedSender::send`], for `messages[0]`.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { At(u64) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttrybatch-{}", std::process::id());
    /// let mut rx = Tick::create_receiver(&path, 64)?; // room for 3 ticks (24-byte records)
    /// let tx = Tick::open_sender(&path)?;
    /// let ticks: Vec<Tick> = (0..5).map(Tick::At).collect();
    /// let sent = tx.try_send_batch(&ticks)?;
    /// assert_eq!(sent, 3);
    /// assert_eq!(rx.try_iter().count(), 3);
    /// assert_eq!(tx.try_send_batch(&ticks[sent..])?, 2);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_send_batch(&self, messages: &[M]) -> Result<usize> {
        self.raw.try_send_batch(messages)
    }

    /// [`TypedSender::send_batch`] for views.
    ///
    /// # Errors
    /// As [`TypedSender::send_batch`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Line { Text(String) }
    /// let path = format!("/dev/shm/ipmpsc-doc-tvbatch-{}", std::process::id());
    /// let mut rx = Line::create_receiver(&path, 4096)?;
    /// let words = ["a", "b"];
    /// let views: Vec<LineView> = words.iter().map(|w| LineView::Text(w)).collect();
    /// Line::open_sender(&path)?.send_view_batch(&views)?;
    /// assert!(matches!(rx.recv()?, Line::Text(t) if t == "a"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_view_batch(&self, views: &[M::View<'_>]) -> Result<()> {
        self.raw.send_batch(views)
    }

    /// [`TypedSender::send_batch`] for the messages of an iterator, owned or borrowed.
    ///
    /// # Errors
    /// As [`TypedSender::send_batch`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { At(u64) }
    /// let path = format!("/dev/shm/ipmpsc-doc-titer-{}", std::process::id());
    /// let mut rx = Tick::create_receiver(&path, 4096)?;
    /// Tick::open_sender(&path)?.send_iter((0..10).map(Tick::At))?;
    /// assert_eq!(rx.try_iter().count(), 10);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_iter<I>(&self, messages: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: Borrow<M>,
    {
        self.raw.send_iter(
            messages
                .into_iter()
                .map(|m| ByBorrow(m, PhantomData::<fn(&M)>)),
        )
    }

    /// Lends a byte buffer of `len` bytes inside a message, to fill in place in shared
    /// memory, zeroed first: `build` makes the message's view around the buffer (any `&[u8]`
    /// field, at any depth), everything else is encoded at once, and the returned [`Loan`]
    /// hands out the buffer; [`Loan::send`] publishes the message, dropping the loan abandons
    /// it. For a buffer you write whole anyway, [`TypedSender::loan_uninit`] saves the zeroing
    /// pass. Waits for space as [`TypedSender::send`] does.
    ///
    /// # Errors
    /// As [`TypedSender::send`]; [`Error::Encode`](crate::Error::Encode) if the view does not
    /// hold the buffer `build` was given (a copy, or a part of it, does not count), or holds
    /// it twice.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Msg { Blob { name: String, data: Vec<u8> } }
    /// let path = format!("/dev/shm/ipmpsc-doc-tloan-{}", std::process::id());
    /// let mut rx = Msg::create_receiver(&path, 4096)?;
    /// let tx = Msg::open_sender(&path)?;
    /// let mut loan = tx.loan(4, |data| MsgView::Blob { name: "x", data })?;
    /// loan.bytes_mut()[..2].copy_from_slice(b"hi");
    /// loan.send();
    /// assert!(matches!(rx.recv()?, Msg::Blob { data, .. } if data == b"hi\0\0"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn loan<'s>(
        &'s self,
        len: usize,
        build: impl FnOnce(&'s [u8]) -> M::View<'s>,
    ) -> Result<Loan<'s>> {
        Ok(self.loan_uninit(len, build)?.zeroed())
    }

    /// [`TypedSender::loan`] without zeroing the buffer: write it through
    /// [`LoanUninit::as_uninit_mut`], then [`LoanUninit::assume_init`], or fill it with
    /// [`LoanUninit::write_from_slice`]. The fastest way to send data a producer makes: it is
    /// written once, in shared memory, and never copied.
    ///
    /// # Errors
    /// As [`TypedSender::loan`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Msg { Blob { id: u32, data: Vec<u8> } }
    /// let path = format!("/dev/shm/ipmpsc-doc-tloanu-{}", std::process::id());
    /// let mut rx = Msg::create_receiver(&path, 4096)?;
    /// let tx = Msg::open_sender(&path)?;
    /// let mut loan = tx.loan_uninit(100, |data| MsgView::Blob { id: 9, data })?;
    /// for (i, b) in loan.as_uninit_mut().iter_mut().enumerate() {
    ///     b.write(i as u8);
    /// }
    /// // SAFETY: all 100 bytes were written above.
    /// unsafe { loan.assume_init() }.send();
    /// assert!(matches!(rx.recv()?, Msg::Blob { id: 9, data } if data[99] == 99));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn loan_uninit<'s>(
        &'s self,
        len: usize,
        build: impl FnOnce(&'s [u8]) -> M::View<'s>,
    ) -> Result<LoanUninit<'s>> {
        self.raw.loan_uninit(len, build)
    }

    /// [`TypedSender::loan_uninit`] if there is room now; `Ok(None)` if the ring is full (a
    /// camera that drops a frame rather than wait).
    ///
    /// # Errors
    /// As [`TypedSender::loan`].
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Msg { Blob(Vec<u8>) }
    /// let path = format!("/dev/shm/ipmpsc-doc-ttryloan-{}", std::process::id());
    /// let _rx = Msg::create_receiver(&path, 256)?;
    /// let tx = Msg::open_sender(&path)?;
    /// let loan = tx.try_loan_uninit(150, MsgView::Blob)?.expect("an empty ring has room");
    /// loan.zeroed().send();
    /// assert!(tx.try_loan_uninit(150, MsgView::Blob)?.is_none()); // full: nobody reads
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_loan_uninit<'s>(
        &'s self,
        len: usize,
        build: impl FnOnce(&'s [u8]) -> M::View<'s>,
    ) -> Result<Option<LoanUninit<'s>>> {
        self.raw.try_loan_uninit(len, build)
    }

    /// [`TypedSender::loan_uninit`] with several buffers in one message (the planes of a
    /// frame): `build` gets one buffer per length, and
    /// [`LoanUninit::planes_uninit_mut`] hands them out in the same order.
    ///
    /// # Errors
    /// As [`TypedSender::loan`].
    ///
    /// # Examples
    ///
    /// See [`LoanUninit`].
    pub fn loan_planes_uninit<'s, const K: usize>(
        &'s self,
        lens: [usize; K],
        build: impl FnOnce([&'s [u8]; K]) -> M::View<'s>,
    ) -> Result<LoanUninit<'s, K>> {
        self.raw.loan_planes_uninit(lens, build)
    }
}

/// A message of an iterator, serialized through its `Borrow`.
struct ByBorrow<B, M>(B, PhantomData<fn(&M)>);

impl<B: Borrow<M>, M: serde::Serialize> serde::Serialize for ByBorrow<B, M> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        self.0.borrow().serialize(serializer)
    }
}
