//! The one error type of ipmpsc.
//!
//! Its `Display` and its `source()` never repeat each other (the Rust API guidelines' rule):
//! an [`Error::Io`] displays what ipmpsc was doing and to which file, and hands the
//! operating system's error out as its `source()`; every other variant is the whole story
//! and has no source. So a reporter that prints the chain (`anyhow`'s `{:#}`) shows each
//! part once, and one that prints only `Display` still says what failed.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What can go wrong when creating, opening, sending on or receiving from a channel.
///
/// Every variant says what happened and what to do about it in its `Display` output. An
/// [`Error::Io`] says there what ipmpsc was doing and to which file; the operating system's
/// error is its [`source()`](std::error::Error::source), so print the chain (`anyhow`'s
/// `{:#}`, or walk `source()`) to see both. No `Display` repeats its source.
///
/// # Examples
///
/// ```
/// use ipmpsc::{Error, SharedRingBuffer};
///
/// let err = SharedRingBuffer::open("/definitely/not/here").unwrap_err();
/// assert!(matches!(err, Error::Io { .. }));
/// assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
/// assert_eq!(
///     err.to_string(),
///     "could not open the channel file /definitely/not/here"
/// );
///
/// // The cause is the error's source: print the chain to see it.
/// let cause = std::error::Error::source(&err).expect("the operating system's error");
/// println!("{err}: {cause}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The message is larger than the channel could ever hold, even when empty.
    MessageTooLarge {
        /// Encoded size of the message, in bytes.
        size: u64,
        /// Largest message the channel takes, in encoded bytes: the capacity it was created
        /// with, rounded up to a multiple of 8.
        capacity: u64,
    },
    /// The file is not an ipmpsc channel this build can use: another format, another
    /// layout version, word size or codec.
    IncompatibleRingBuffer(String),
    /// The file is an ipmpsc channel, but bytes in it violate the protocol (a truncated file,
    /// an impossible cursor or record length, a message that does not decode). Nothing was
    /// read out of bounds; the channel may be unusable from here on.
    Corrupt(String),
    /// The other side is gone.
    ///
    /// For a sender: the channel had a receiver and it is gone (it was dropped, or its
    /// process ended in any way, or the file was replaced by a new channel). Sends succeed
    /// again once a receiver claims the channel (`open_receiver`); for a replaced file, open
    /// the path again.
    ///
    /// For a typed receiver: every sender that came has left and everything they sent has
    /// been received (the end of the stream). Reported once; the next receive waits for a new
    /// sender.
    Disconnected,
    /// Another live receiver already holds this channel (or a creator is replacing its file
    /// at this moment); ipmpsc allows one consumer.
    ReceiverAlreadyExists {
        /// Process id of the live receiver, as its own PID namespace numbers it (0 if unknown).
        pid: u32,
    },
    /// Creating a channel at a path was refused because the channel already there is in use:
    /// replacing it would cut off its live senders or lose what they sent.
    ChannelInUse {
        /// The path.
        path: std::path::PathBuf,
        /// Live senders registered on the existing channel.
        senders: usize,
        /// Bytes queued in it and not yet received (messages, and reservations not yet
        /// committed).
        undelivered: u64,
    },
    /// The channel was created for another message type (or another version of it). Displays
    /// as the [`SchemaMismatch`](crate::SchemaMismatch) itself.
    SchemaMismatch(Box<crate::schema::SchemaMismatch>),
    /// Every sender slot of the channel is taken by a live sender.
    TooManySenders {
        /// How many senders the channel supports at once.
        max: usize,
    },
    /// A [`ZeroCopyContext`](crate::ZeroCopyContext) was asked for a second message; each
    /// context receives one, and frees it when dropped.
    AlreadyReceived,
    /// Encoding a message failed (a serde `Serialize` implementation reported an error).
    Encode(String),
    /// Decoding a message failed: the bytes are not a message of the expected type.
    Decode(String),
    /// An operating-system call on the channel file failed; or the channel cannot be used from
    /// here for a reason `source` gives: a creator that stopped while deciding about the file
    /// (kind `WouldBlock`), read locks of a process without write access keeping receivers,
    /// creators or senders out (`ResourceBusy`), a channel end inherited through `fork`
    /// (`Other`), a file replaced under a receiver (`NotFound`).
    ///
    /// Displays as what ipmpsc was doing ("could not open the channel file /dev/shm/x");
    /// the cause is `source`, returned by [`source()`](std::error::Error::source).
    /// [`Error::io_kind`] gives its kind.
    Io {
        /// What ipmpsc was doing, as words that follow "could not": `"open the channel
        /// file"`.
        op: &'static str,
        /// The channel file it was doing it to, where known.
        path: Option<PathBuf>,
        /// What went wrong.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MessageTooLarge { size, capacity } => write!(
                f,
                "message needs {size} bytes but the channel holds at most {capacity}; \
                 create the channel with a larger capacity or send smaller messages"
            ),
            Error::IncompatibleRingBuffer(why) => {
                write!(f, "not a channel this version of ipmpsc can use: {why}")
            }
            Error::Corrupt(why) => write!(f, "channel file is corrupt: {why}"),
            Error::Disconnected => f.write_str(
                "the other side of the channel is gone (for a sender: the receiver left; for a \
                 receiver: every sender left and everything was received)",
            ),
            Error::ReceiverAlreadyExists { pid } => write!(
                f,
                "a live receiver (pid {pid}) already holds this channel; ipmpsc allows one \
                 receiver at a time"
            ),
            Error::ChannelInUse {
                path,
                senders,
                undelivered,
            } => write!(
                f,
                "the channel at {} is in use: {senders} live sender(s) and {undelivered} bytes \
                 not yet received; continue it with `open_or_create_receiver` (or \
                 `open_receiver`) instead of creating it anew, or remove the file to start over",
                path.display()
            ),
            // The mismatch is the whole story, so it is displayed here and is no source.
            Error::SchemaMismatch(m) => fmt::Display::fmt(m, f),
            Error::TooManySenders { max } => write!(
                f,
                "all {max} sender slots of the channel are held by live senders; drop a sender \
                 before opening another"
            ),
            Error::AlreadyReceived => f.write_str(
                "this ZeroCopyContext already received its message; drop it and make a new one",
            ),
            Error::Encode(why) => write!(f, "could not encode the message: {why}"),
            Error::Decode(why) => write!(f, "could not decode a message: {why}"),
            // The cause is the source, not repeated here.
            Error::Io { op, path, .. } => match path {
                Some(path) => write!(f, "could not {op} {}", path.display()),
                None => write!(f, "could not {op}"),
            },
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// The kind of an [`Error::Io`]'s cause; `None` for every other variant.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = ipmpsc::SharedRingBuffer::open("/definitely/not/here").unwrap_err();
    /// assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));
    /// assert_eq!(ipmpsc::Error::Disconnected.io_kind(), None);
    /// ```
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Error::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// An [`Error::Io`]: `source` happened while ipmpsc tried to `op` (see [`op`]) the file
    /// at `path`.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<Option<PathBuf>>,
        source: impl Into<io::Error>,
    ) -> Error {
        Error::Io {
            op,
            path: path.into(),
            source: source.into(),
        }
    }

    /// An [`Error::Io`] that ipmpsc decided on itself (no system call failed): `why`, of
    /// `kind`, stopped it from doing `op` to the file at `path`.
    pub(crate) fn refused(
        op: &'static str,
        path: impl Into<Option<PathBuf>>,
        kind: io::ErrorKind,
        why: impl Into<String>,
    ) -> Error {
        Error::io(op, path, io::Error::new(kind, why.into()))
    }

    /// A copy of this error, for one that is reported again on a later call. An I/O cause
    /// keeps its OS error code, or else its kind and text.
    pub(crate) fn duplicate(&self) -> Error {
        match self {
            Error::MessageTooLarge { size, capacity } => Error::MessageTooLarge {
                size: *size,
                capacity: *capacity,
            },
            Error::IncompatibleRingBuffer(why) => Error::IncompatibleRingBuffer(why.clone()),
            Error::Corrupt(why) => Error::Corrupt(why.clone()),
            Error::Disconnected => Error::Disconnected,
            Error::ReceiverAlreadyExists { pid } => Error::ReceiverAlreadyExists { pid: *pid },
            Error::ChannelInUse {
                path,
                senders,
                undelivered,
            } => Error::ChannelInUse {
                path: path.clone(),
                senders: *senders,
                undelivered: *undelivered,
            },
            Error::SchemaMismatch(m) => Error::SchemaMismatch(m.clone()),
            Error::TooManySenders { max } => Error::TooManySenders { max: *max },
            Error::AlreadyReceived => Error::AlreadyReceived,
            Error::Encode(why) => Error::Encode(why.clone()),
            Error::Decode(why) => Error::Decode(why.clone()),
            Error::Io { op, path, source } => Error::Io {
                op,
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => io::Error::from_raw_os_error(code),
                    None => io::Error::new(source.kind(), source.to_string()),
                },
            },
        }
    }
}

/// What ipmpsc was doing when an [`Error::Io`] happened: the words after "could not", before
/// the path.
pub(crate) mod op {
    /// Creating a channel file (staging it, reserving its memory, publishing it).
    pub(crate) const CREATE: &str = "create the channel file";
    /// Replacing the channel file at a path with a new one.
    pub(crate) const REPLACE: &str = "replace the channel file";
    /// Opening an existing channel file.
    pub(crate) const OPEN: &str = "open the channel file";
    /// Mapping a channel file into memory.
    pub(crate) const MAP: &str = "map the channel file";
    /// Taking the receiver role of a channel.
    pub(crate) const CLAIM_RECEIVER: &str = "claim the receiver role of the channel";
    /// Taking a sender slot of a channel.
    pub(crate) const REGISTER_SENDER: &str = "register a sender on the channel";
    /// Sending a message.
    pub(crate) const SEND: &str = "send on the channel";
    /// Receiving a message (looking at a sender's lock on the way).
    pub(crate) const RECEIVE: &str = "receive from the channel";
    /// Asking who holds the locks of a channel file (the inspector).
    pub(crate) const INSPECT: &str = "ask who holds the locks of the channel file";
    /// Acknowledging records read through `ipmpsc::records`.
    pub(crate) const ACKNOWLEDGE: &str = "acknowledge records of the channel";
}

/// Attaches what ipmpsc was doing, and to which file, to the error of an OS call.
pub(crate) trait IoContext<T> {
    /// `Error::Io { op, path, source }` for an error.
    fn doing(self, op: &'static str, path: &Path) -> Result<T>;
}

impl<T, E: Into<io::Error>> IoContext<T> for std::result::Result<T, E> {
    #[inline]
    fn doing(self, op: &'static str, path: &Path) -> Result<T> {
        self.map_err(|e| Error::io(op, path.to_path_buf(), e))
    }
}

/// `Result` with ipmpsc's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
