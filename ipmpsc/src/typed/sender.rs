//! [`TypedSender`]: sends one message type into a channel whose schema it checked.

use std::marker::PhantomData;
use std::path::Path;
use std::time::Duration;

use super::Channel;
use crate::raw::{check_schema, Sender};
use crate::ring::producer::Wait;
use crate::ring::wait::deadline_after;
use crate::Result;

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
}
