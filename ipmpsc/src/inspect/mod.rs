//! Looking at a channel from outside, without taking part in it: who holds it, how full it is,
//! what schema it carries, and what is queued in it, decoded from the schema description
//! stored in the file. The `ipmpsc` command-line inspector (crate `ipmpsc-cli`) is built on
//! this module.
//!
//! An [`Inspection`] opens the file read-only and maps it read-only: it never writes a byte
//! of the channel, never takes a lock (it only asks the kernel who holds them), and never
//! consumes anything. A live channel changes while it is looked at, so a [`Snapshot`] is a
//! reading of one moment, and [`Inspection::peek`] copies each queued message out and keeps
//! the copy only if the receiver had not released the record meanwhile.
//!
//! ```
//! use ipmpsc::inspect::Inspection;
//!
//! #[ipmpsc::channel(version = 3)]
//! pub enum Msg {
//!     Log(String),
//!     Stop,
//! }
//!
//! # fn main() -> ipmpsc::Result<()> {
//! let path = format!("/dev/shm/ipmpsc-doc-inspect-{}", std::process::id());
//! let rx = Msg::create_receiver(&path, 4096)?;
//! let tx = Msg::open_sender(&path)?;
//! tx.send(&Msg::Log("hello".into()))?;
//!
//! let channel = Inspection::open(&path)?;
//! assert_eq!(channel.schema().name, "Msg");
//! assert_eq!(channel.schema().version, 3);
//!
//! let now = channel.snapshot()?;
//! assert!(now.receiver.alive);
//! assert_eq!(now.receiver.pid, Some(std::process::id()));
//! assert_eq!(now.live_senders(), 1);
//! // One record: its length word, then the variant's tag, the string's length and "hello"
//! // (17 bytes), padded to a multiple of 8.
//! assert_eq!(now.queued_bytes(), 32);
//!
//! let queued = channel.peek(usize::MAX)?;
//! let decoder = channel.decoder();
//! assert_eq!(queued.messages.len(), 1);
//! assert_eq!(decoder.decode(&queued.messages[0].bytes)?.to_string(), r#"{"Log":"hello"}"#);
//! # drop((tx, rx));
//! # std::fs::remove_file(&path).unwrap();
//! # Ok(())
//! # }
//! ```

mod decode;
mod reader;
#[cfg(test)]
mod tests;
mod types;
mod value;
mod verify;

use std::path::{Path, PathBuf};

use crate::ring::inspect::{ReadOnlyRing, SlotReading, WalkEnd};
use crate::ring::peers::{SlotState, CONFIRMED};
use crate::ring::{header, CLOSED, POSITION_MASK, RECORD_HEADER, REPLACED, REPLACING};
use crate::schema::StoredSchema;
#[cfg(doc)]
use crate::Error;
use crate::Result;

pub use decode::{Decoder, DescriptionCheck};
pub use value::Value;

/// Whether the file at `path` starts with the bytes every ipmpsc channel file starts with,
/// whatever its layout version. For going through a directory of files of all kinds; an
/// [`Inspection`] checks much more.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened or read.
///
/// # Examples
///
/// ```
/// let path = std::env::temp_dir().join(format!("ipmpsc-doc-is-channel-{}", std::process::id()));
/// std::fs::write(&path, b"\x89PNG\r\n\x1a\n").unwrap();
/// assert!(!ipmpsc::inspect::is_channel(&path)?);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), ipmpsc::Error>(())
/// ```
pub fn is_channel(path: impl AsRef<Path>) -> Result<bool> {
    crate::ring::inspect::has_magic(path.as_ref())
}

/// A channel file opened for looking at it, read-only.
///
/// # Examples
///
/// See the [module docs](self).
pub struct Inspection {
    ring: ReadOnlyRing,
    path: PathBuf,
}

impl std::fmt::Debug for Inspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspection")
            .field("path", &self.path)
            .field("schema", self.ring.schema())
            .finish_non_exhaustive()
    }
}

/// Identity and geometry of a channel file: written once by its creator.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Layout {
    /// Version of the file layout (this build reads only its own).
    pub layout_version: u32,
    /// `size_of::<usize>()` of the creator, in bytes.
    pub word_size: u32,
    /// Identifies the message encoding (1: bincode 2, fixed-width little-endian integers).
    pub codec: u32,
    /// Bytes of the data region that records take turns in.
    pub capacity: u64,
    /// The largest message the channel takes, in encoded bytes.
    pub max_message: u64,
    /// Sender slots: senders that can be registered at once.
    pub max_senders: u32,
    /// Length of the file in bytes.
    pub file_len: u64,
    /// File offset of the commit flags: one byte per 8-byte word of the data region.
    pub flags_offset: u64,
    /// File offset of the data region.
    pub data_offset: u64,
}

/// The channel's state bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ChannelState {
    /// The receiver left cleanly; sends fail until a receiver opens the channel again.
    pub closed: bool,
    /// A new channel file took this one's path; it will never have a receiver again.
    pub replaced: bool,
    /// A creator is deciding whether it may replace this file (or died while deciding).
    pub replacing: bool,
}

impl std::fmt::Display for ChannelState {
    /// `open`, or the state bits that are set, in words.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut words = Vec::new();
        if self.replaced {
            words.push("replaced by a newer channel at its path");
        } else if self.closed {
            words.push("closed (the receiver left)");
        }
        if self.replacing {
            words.push("being replaced (a creator is deciding)");
        }
        if words.is_empty() {
            f.write_str("open")
        } else {
            f.write_str(&words.join(", "))
        }
    }
}

/// The receiver, as the kernel's lock and the header say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiverInfo {
    /// A process holds the receiver lock: a live receiver (or, while
    /// [`creator_deciding`](ReceiverInfo::creator_deciding), a creator).
    pub alive: bool,
    /// The pid the receiver recorded when it claimed the channel, in its own PID namespace;
    /// `None` once it left cleanly. Kept after it died, so read it with `alive`.
    pub pid: Option<u32>,
    /// A creator holds the file's replace lock: it is deciding whether to replace the file.
    pub creator_deciding: bool,
    /// The receiver announced that it sleeps waiting for messages.
    pub asleep: bool,
    /// How many times a receiver claimed the channel (0: never had one).
    pub claims: u64,
}

/// What a sender slot is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotRole {
    /// Free (shown only when it still announces a reservation or its lock is held).
    Free,
    /// A registered sender's.
    Sender,
    /// Borrowed for one send by a sender without a slot of its own.
    Borrowed,
    /// Its owner died with a reservation the receiver has not skipped yet.
    Orphan,
    /// A value no build of this layout writes.
    Unknown(u32),
}

impl std::fmt::Display for SlotRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlotRole::Free => f.write_str("free"),
            SlotRole::Sender => f.write_str("sender"),
            SlotRole::Borrowed => f.write_str("borrowed"),
            SlotRole::Orphan => f.write_str("orphan"),
            SlotRole::Unknown(v) => write!(f, "state {v}"),
        }
    }
}

/// A reservation a sender announced and has not committed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingReservation {
    /// Its position in the ring.
    pub position: u64,
    /// Its size in bytes, with its length word and padding.
    pub size: u64,
    /// The sender's compare-and-swap made it (otherwise it was about to try).
    pub confirmed: bool,
}

/// One sender slot in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderInfo {
    /// Index of the slot.
    pub slot: u32,
    /// What the slot is used for.
    pub role: SlotRole,
    /// Pid the owner recorded, in its own PID namespace (0: none).
    pub pid: u32,
    /// The owner's lock is held: it lives.
    pub alive: bool,
    /// A reservation it announced at or after the read position and has not committed.
    pub reservation: Option<PendingReservation>,
}

impl SenderInfo {
    /// Whether this is a dead sender's reservation, which the receiver turns into padding
    /// (it skips it) once it has waited about 100 ms for it at the head.
    ///
    /// # Examples
    ///
    /// A dead sender needs another process; the `ipmpsc-cli` crate's tests kill one that holds
    /// a loan. A live sender's reservation is no dead one:
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Msg {
    ///     Frame(Vec<u8>),
    /// }
    ///
    /// # fn main() -> ipmpsc::Result<()> {
    /// let path = format!("/dev/shm/ipmpsc-doc-dead-{}", std::process::id());
    /// let rx = Msg::create_receiver(&path, 4096)?;
    /// let tx = Msg::open_sender(&path)?;
    /// let loan = tx.loan(100, MsgView::Frame)?; // reserved, not committed
    /// let now = ipmpsc::inspect::Inspection::open(&path)?.snapshot()?;
    /// let sender = &now.senders[0];
    /// assert!(sender.alive && sender.reservation.is_some());
    /// assert!(!sender.holds_dead_reservation());
    /// # drop(loan);
    /// # drop((tx, rx));
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn holds_dead_reservation(&self) -> bool {
        !self.alive && self.reservation.is_some()
    }
}

/// One reading of a channel's moving parts.
///
/// # Examples
///
/// ```
/// use ipmpsc::inspect::{Inspection, SlotRole};
///
/// #[ipmpsc::channel]
/// pub enum Msg {
///     Tick(u64),
/// }
///
/// # fn main() -> ipmpsc::Result<()> {
/// let path = format!("/dev/shm/ipmpsc-doc-snapshot-{}", std::process::id());
/// let mut rx = Msg::create_receiver(&path, 4096)?;
/// let tx = Msg::open_sender(&path)?;
/// for i in 0..3 {
///     tx.send(&Msg::Tick(i))?;
/// }
/// rx.recv()?;
///
/// let now = Inspection::open(&path)?.snapshot()?;
/// // Three records of 24 bytes (length word, tag, u64); one received, but its space is handed
/// // back to senders only in batches, or when the receiver waits.
/// assert_eq!((now.free, now.head, now.tail), (0, 24, 72));
/// assert_eq!(now.queued_bytes(), 48);
/// assert_eq!(now.bytes_in_use(), 72);
/// assert!(now.fill() > 0.0 && now.fill() < 0.02);
/// assert_eq!(now.live_senders(), 1);
/// assert_eq!(now.senders[0].role, SlotRole::Sender);
/// assert_eq!(now.senders[0].pid, std::process::id());
/// assert_eq!(now.dead_reservations().count(), 0);
/// assert_eq!(now.state.to_string(), "open");
/// # drop((tx, rx));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// Release cursor: everything below it may be written by senders.
    pub free: u64,
    /// Read cursor: the position of the first record not received yet.
    pub head: u64,
    /// Reservation cursor: the position just past the last reserved record.
    pub tail: u64,
    /// The state bits.
    pub state: ChannelState,
    /// Why the cursors are impossible, if they are (then `free`, `head` and `tail` are the
    /// values as found).
    pub corruption: Option<String>,
    /// Bytes of the data region.
    pub capacity: u64,
    /// The receiver.
    pub receiver: ReceiverInfo,
    /// The sender slots in use (or announcing a reservation, or locked), by slot index.
    pub senders: Vec<SenderInfo>,
    /// Senders that registered over the channel's life.
    pub registrations: u64,
    /// Registered senders according to the header's counter (a dead one counts until the
    /// receiver notices).
    pub attached: u64,
    /// Dead senders' reservations the receiver skipped over the channel's life.
    pub skipped_reservations: u64,
    /// Senders that announced they sleep until the ring has room.
    pub senders_waiting_for_space: u32,
}

impl Snapshot {
    /// Bytes between the read and the write position: messages not received yet, and
    /// reservations not committed yet.
    ///
    /// # Examples
    ///
    /// See [`Snapshot`].
    pub fn queued_bytes(&self) -> u64 {
        self.tail.saturating_sub(self.head)
    }

    /// Bytes senders cannot use: queued, and received but not yet handed back (the receiver
    /// hands space back in batches of up to 4 KiB, and always before it sleeps).
    ///
    /// # Examples
    ///
    /// See [`Snapshot`].
    pub fn bytes_in_use(&self) -> u64 {
        self.tail.saturating_sub(self.free)
    }

    /// [`bytes_in_use`](Snapshot::bytes_in_use) as a share of the capacity, from 0 to 1.
    ///
    /// # Examples
    ///
    /// See [`Snapshot`].
    pub fn fill(&self) -> f64 {
        (self.bytes_in_use() as f64 / self.capacity as f64).min(1.0)
    }

    /// Registered senders whose lock is held.
    ///
    /// # Examples
    ///
    /// See [`Snapshot`].
    pub fn live_senders(&self) -> usize {
        self.senders
            .iter()
            .filter(|s| s.alive && s.role == SlotRole::Sender)
            .count()
    }

    /// The slots of dead senders whose reservations the receiver will skip.
    ///
    /// # Examples
    ///
    /// See [`Snapshot`].
    pub fn dead_reservations(&self) -> impl Iterator<Item = &SenderInfo> {
        self.senders.iter().filter(|s| s.holds_dead_reservation())
    }
}

/// One message queued in the channel, copied out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueuedMessage {
    /// The position of its record in the ring (positions only grow: a message's position
    /// tells it apart from every other message of the channel's life).
    pub position: u64,
    /// Its encoded bytes (the record's payload).
    pub bytes: Vec<u8>,
}

/// Where [`Inspection::peek`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeekEnd {
    /// At the write position found when the peek began: every message queued then was read.
    Tail,
    /// After the number of messages asked for.
    Limit,
    /// At a reservation that is not committed yet: a sender is writing it, or died while it
    /// did (then the receiver skips it). Nothing after it can be received before it.
    Uncommitted {
        /// Its position.
        position: u64,
    },
    /// At bytes that are not a record; the reason.
    Corrupt(String),
}

/// The messages [`Inspection::peek`] found.
///
/// # Examples
///
/// ```
/// use ipmpsc::inspect::{Inspection, PeekEnd};
///
/// #[ipmpsc::channel]
/// pub enum Msg {
///     Tick(u64),
/// }
///
/// # fn main() -> ipmpsc::Result<()> {
/// let path = format!("/dev/shm/ipmpsc-doc-peek-{}", std::process::id());
/// let mut rx = Msg::create_receiver(&path, 4096)?;
/// let tx = Msg::open_sender(&path)?;
/// for i in 0..3 {
///     tx.send(&Msg::Tick(i))?;
/// }
/// let channel = Inspection::open(&path)?;
/// let two = channel.peek(2)?;
/// assert_eq!(two.end, PeekEnd::Limit);
/// assert_eq!(two.messages[1].position, 24);
/// assert_eq!(two.messages[1].bytes, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]); // Tick(1)
///
/// // A reservation not committed yet ends the peek: nothing behind it can be received first.
/// let loan = tx.loan_uninit(0, |_| MsgView::Tick(9))?;
/// tx.try_send(&Msg::Tick(4))?;
/// let all = channel.peek(usize::MAX)?;
/// assert_eq!(all.messages.len(), 3);
/// assert_eq!(all.end, PeekEnd::Uncommitted { position: 72 });
/// # drop(loan);
/// # drop((tx, rx));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peek {
    /// The read position when the peek began.
    pub head: u64,
    /// The write position when the peek began; the peek went no further.
    pub tail: u64,
    /// The messages, in the order the receiver gets them.
    pub messages: Vec<QueuedMessage>,
    /// Times the receiver took messages the peek was about to read (they are left out; the
    /// peek went on from the receiver's new read position).
    pub overtaken: u32,
    /// Where it stopped.
    pub end: PeekEnd,
}

impl Inspection {
    /// Opens the channel file at `path` read-only and checks its header.
    ///
    /// # Errors
    /// [`Error::Io`] if it cannot be opened or mapped; [`Error::IncompatibleRingBuffer`] if it
    /// is not an ipmpsc channel (no regular file, empty, another format: the message shows
    /// its first bytes), is one cut short, or is of another layout version, word size, byte
    /// order or codec; [`Error::Corrupt`] if its geometry is impossible.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("ipmpsc-doc-not-a-channel-{}", std::process::id()));
    /// std::fs::write(&path, b"GIF89a and so on").unwrap();
    /// let err = ipmpsc::inspect::Inspection::open(&path).unwrap_err();
    /// assert!(matches!(err, ipmpsc::Error::IncompatibleRingBuffer(_)));
    /// assert!(err.to_string().contains("is not an ipmpsc channel: it starts with the bytes 47 49 46 38"));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Inspection> {
        let path = path.as_ref();
        Ok(Inspection {
            ring: ReadOnlyRing::open(path)?,
            path: path.to_path_buf(),
        })
    }

    /// The path the file was opened at.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Identity and geometry.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = format!("/dev/shm/ipmpsc-doc-layout-{}", std::process::id());
    /// let rx = ipmpsc::SharedRingBuffer::create(&path, 1000)?;
    /// let layout = ipmpsc::inspect::Inspection::open(&path)?.layout();
    /// assert_eq!(layout.max_message, 1000);
    /// assert_eq!(layout.capacity, 1008); // and the length word of its record
    /// # drop(rx);
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn layout(&self) -> Layout {
        let geo = self.ring.geometry();
        Layout {
            layout_version: header::LAYOUT_VERSION,
            word_size: std::mem::size_of::<usize>() as u32,
            codec: crate::codec::CODEC_ID,
            capacity: geo.capacity,
            max_message: geo.capacity - RECORD_HEADER,
            max_senders: geo.max_senders,
            file_len: geo.file_len,
            flags_offset: geo.flags_offset,
            data_offset: geo.data_offset,
        }
    }

    /// The schema stored in the header: name, version, hash (0 for a raw channel) and
    /// description.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub fn schema(&self) -> &StoredSchema {
        self.ring.schema()
    }

    /// A decoder for this channel's messages, built from its stored description.
    ///
    /// # Examples
    ///
    /// See [`Decoder`].
    pub fn decoder(&self) -> Decoder {
        Decoder::new(self.schema())
    }

    /// Reads the cursors, the state, the counters, and who holds which lock, now. Impossible
    /// cursors are reported in [`Snapshot::corruption`], not as an error, so that a broken
    /// channel can still be looked at.
    ///
    /// # Errors
    /// [`Error::Io`] if the kernel cannot be asked about the locks.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub fn snapshot(&self) -> Result<Snapshot> {
        let ring = &self.ring;
        let (free, head, tail_word, corruption) = match ring.cursors() {
            Ok(c) => (c.free, c.head, c.tail_word, None),
            Err(why) => {
                let (free, head, tail) = ring.raw_cursors();
                (free, head, tail, Some(why))
            }
        };
        let tail = tail_word & POSITION_MASK;
        let counters = ring.peer_counters();
        let receiver = ReceiverInfo {
            alive: ring.receiver_locked()?,
            pid: (counters.receiver_pid != 0).then_some(counters.receiver_pid),
            creator_deciding: ring.creator_deciding()?,
            asleep: counters.data_sleepers > 0,
            claims: counters.claims,
        };
        let senders = ring
            .slots()?
            .into_iter()
            .map(|s| sender_info(&s, head, tail))
            .collect();
        Ok(Snapshot {
            free,
            head,
            tail,
            state: ChannelState {
                closed: tail_word & CLOSED != 0,
                replaced: tail_word & REPLACED != 0,
                replacing: tail_word & REPLACING != 0,
            },
            corruption,
            capacity: ring.geometry().capacity,
            receiver,
            senders,
            registrations: counters.registrations,
            attached: counters.attached,
            skipped_reservations: counters.skipped_reservations,
            senders_waiting_for_space: counters.space_sleepers,
        })
    }

    /// Copies out the messages queued from the receiver's read position to the write
    /// position, up to `max` of them, in the order the receiver gets them, without consuming
    /// any. Messages the receiver takes meanwhile are left out (see [`Peek::overtaken`]); the
    /// peek never goes past the write position it found when it began, so it ends however fast
    /// senders send.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the cursors are impossible. Bytes that are not a record further
    /// on end the peek with [`PeekEnd::Corrupt`], keeping the messages before them.
    ///
    /// # Examples
    ///
    /// See [`Decoder`] and the [module docs](self).
    pub fn peek(&self, max: usize) -> Result<Peek> {
        let walk = self.ring.walk(max)?;
        Ok(Peek {
            head: walk.start.head,
            tail: walk.start.tail,
            messages: walk
                .messages
                .into_iter()
                .map(|(position, bytes)| QueuedMessage { position, bytes })
                .collect(),
            overtaken: walk.overtaken,
            end: match walk.end {
                WalkEnd::Tail => PeekEnd::Tail,
                WalkEnd::Limit => PeekEnd::Limit,
                WalkEnd::Uncommitted(position) => PeekEnd::Uncommitted { position },
                WalkEnd::Corrupt(why) => PeekEnd::Corrupt(why),
            },
        })
    }
}

fn sender_info(s: &SlotReading, head: u64, tail: u64) -> SenderInfo {
    let role = match s.state {
        x if x == SlotState::Free as u32 => SlotRole::Free,
        x if x == SlotState::Sender as u32 => SlotRole::Sender,
        x if x == SlotState::Borrowed as u32 => SlotRole::Borrowed,
        x if x == SlotState::Orphan as u32 => SlotRole::Orphan,
        x => SlotRole::Unknown(x),
    };
    let confirmed = s.intent_len & CONFIRMED != 0;
    let size = s.intent_len & !CONFIRMED;
    // As the receiver judges an intent: pending if not consumed yet, and made (or about to be
    // made at a position not reserved yet).
    let pending = size != 0 && s.intent_pos >= head && (confirmed || s.intent_pos < tail);
    SenderInfo {
        slot: s.index,
        role,
        pid: s.pid,
        alive: s.locked,
        reservation: pending.then_some(PendingReservation {
            position: s.intent_pos,
            size,
            confirmed,
        }),
    }
}
