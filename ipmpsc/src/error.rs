//! The one error type of ipmpsc.

use std::fmt;
use std::io;

/// What can go wrong when creating, opening, sending on or receiving from a channel.
///
/// Every variant says what happened and what to do about it in its `Display` output.
///
/// # Examples
///
/// ```
/// use ipmpsc::{Error, SharedRingBuffer};
///
/// let err = SharedRingBuffer::open("/definitely/not/here").unwrap_err();
/// assert!(matches!(err, Error::Io(_)));
/// println!("{err}");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The message is larger than the channel could ever hold, even when empty.
    MessageTooLarge {
        /// Size of the record the message needs, in bytes (header and padding included).
        size: u64,
        /// Largest record the channel can hold, in bytes.
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
    /// The channel was created for another message type (or another version of it).
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
    /// An operating-system call failed; or the channel cannot be used from here for a reason
    /// the message gives: a creator that stopped while deciding about the file (kind
    /// `WouldBlock`), read locks of a process without write access keeping receivers,
    /// creators or senders out (`ResourceBusy`), a channel end inherited through `fork`
    /// (`Other`).
    Io(io::Error),
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
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::SchemaMismatch(m) => Some(&**m),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<rustix::io::Errno> for Error {
    fn from(e: rustix::io::Errno) -> Self {
        Error::Io(e.into())
    }
}

/// `Result` with ipmpsc's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
