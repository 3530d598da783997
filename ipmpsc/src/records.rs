//! A channel's encoded records, untyped: for programs that move messages without knowing
//! their type (a bridge to another machine, a recorder, a replayer).
//!
//! A [`RecordReceiver`] is the receiver of a channel of any schema. It hands out each record's
//! bytes as the sender encoded them, and keeps every record it read in the ring until it is
//! [acknowledged](RecordReceiver::acknowledge): only then does the space go back to senders,
//! and a receiver that claims the channel after this one died starts at the first record that
//! was not acknowledged. So a program that acknowledges a record only once it is safe
//! elsewhere delivers every record at least once, whenever it is killed.
//!
//! A [`RecordSender`] writes such bytes into a channel of any schema, after the caller has
//! [checked](RecordSender::check) that the schema they were encoded with is the channel's:
//! the bytes are not decoded on the way, so the schema check is what keeps garbage out.
//!
//! ```
//! use ipmpsc::records::{RecordReceiver, RecordSender};
//! use std::time::Duration;
//!
//! #[ipmpsc::channel]
//! #[derive(Debug, PartialEq)]
//! pub enum Note { Text(String) }
//!
//! // Channel `a` with a producer; channel `b` with a consumer.
//! let a = format!("/dev/shm/ipmpsc-doc-records-a-{}", std::process::id());
//! let b = format!("/dev/shm/ipmpsc-doc-records-b-{}", std::process::id());
//! let mut consumer = Note::create_receiver(&b, 4096)?;
//! let schema = ipmpsc::schema::StoredSchema::from(&<Note as ipmpsc::Channel>::SCHEMA);
//! let mut from_a = RecordReceiver::open_or_create(&a, 4096, &schema)?;
//! Note::open_sender(&a)?.send(&Note::Text("hello".into()))?;
//!
//! // Move the record from `a` to `b` unchanged, and let `a` forget it only then.
//! let into_b = RecordSender::open(&b)?;
//! into_b.check(from_a.schema())?;
//! let record = from_a.recv_timeout(Duration::from_secs(5))?.expect("sent above");
//! into_b.send(record.bytes())?;
//! let end = record.end();
//! from_a.acknowledge(end)?;
//!
//! assert_eq!(consumer.recv()?, Note::Text("hello".into()));
//! # drop(from_a); std::fs::remove_file(&a)?; std::fs::remove_file(&b)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::Path;
use std::time::Duration;

use crate::error::op;
use crate::raw::{open_sender_within, Receiver, Sender, SharedRingBuffer};
use crate::ring::producer::Wait;
use crate::ring::wait::deadline_after;
use crate::schema::{SchemaMismatch, StoredSchema};
use crate::sys::file;
use crate::{Error, Result};

/// A position in a channel's stream of records, counted in bytes since the channel was
/// created; it only grows. Handed out by [`Record::start`] and [`Record::end`], taken by
/// [`RecordReceiver::acknowledge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position(u64);

impl Position {
    /// The position as a number, to send elsewhere or print.
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { T(u8) }
    /// let path = format!("/dev/shm/ipmpsc-doc-records-pos-{}", std::process::id());
    /// drop(Tick::create_receiver(&path, 4096)?);
    /// let mut rx = ipmpsc::records::RecordReceiver::open(&path)?;
    /// let tx = Tick::open_sender(&path)?;
    /// tx.send(&Tick::T(1))?;
    /// tx.send(&Tick::T(2))?;
    /// let first_end = rx.try_recv()?.expect("sent").end();
    /// let second = rx.try_recv()?.expect("sent");
    /// assert_eq!(second.start(), first_end); // a chain: no gap, no repeat
    /// assert_eq!(first_end.get(), 16); // an 8-byte length word and 2 bytes, padded to 8
    /// # drop(rx); std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One record handed out by a [`RecordReceiver`]: the message's encoded bytes, in shared
/// memory, and where it lies in the channel's stream. The record stays in the ring until it is
/// acknowledged; the borrow ends at the receiver's next call.
#[derive(Debug)]
pub struct Record<'r> {
    bytes: &'r [u8],
    start: Position,
    end: Position,
}

impl<'r> Record<'r> {
    /// The message as its sender encoded it (bincode 2, in the configuration ipmpsc uses).
    ///
    /// These bytes are in the shared mapping: a process with write access to the file could
    /// change them while they are read. Copy them before anything relies on them being stable.
    pub fn bytes(&self) -> &'r [u8] {
        self.bytes
    }

    /// Where the record before it ended (for the first record a receiver hands out: the
    /// position it started reading at). Records of one receiver form a chain: each one's
    /// `start` is the previous one's [`Record::end`], so a gap or a repeat can be seen by
    /// whoever gets them elsewhere.
    pub fn start(&self) -> Position {
        self.start
    }

    /// The position just past the record: acknowledging it acknowledges this record and every
    /// one before it.
    pub fn end(&self) -> Position {
        self.end
    }
}

/// The receiver of a channel of any schema, handing out records as bytes and keeping them in
/// the ring until they are acknowledged (see the [module docs](self)).
///
/// Like every receiver, it is the only one of its channel: opening a channel that a live
/// receiver holds is refused with [`Error::ReceiverAlreadyExists`].
#[derive(Debug)]
pub struct RecordReceiver {
    raw: Receiver,
    schema: StoredSchema,
    channel_id: u64,
    /// The end of the last record handed out (at first, where reading started): the next
    /// record's [`Record::start`], also when padding between them was skipped by a call that
    /// found nothing behind it.
    chain: u64,
}

impl RecordReceiver {
    /// Becomes the receiver of the existing channel at `path`, whatever its schema, and
    /// continues where the last receiver stopped: at the first record it did not acknowledge
    /// (a typed receiver acknowledges each record as it takes it).
    ///
    /// # Errors
    /// [`Error::ReceiverAlreadyExists`] if a live receiver holds it; [`Error::Io`] (kind
    /// `NotFound`) if nothing is there; [`Error::IncompatibleRingBuffer`] or
    /// [`Error::Corrupt`] for a file that is not a usable channel.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { T(u8) }
    /// let path = format!("/dev/shm/ipmpsc-doc-records-open-{}", std::process::id());
    /// let typed = Tick::create_receiver(&path, 4096)?;
    /// Tick::open_sender(&path)?.send(&Tick::T(7))?;
    /// drop(typed); // gone before it took the message
    /// let mut rx = ipmpsc::records::RecordReceiver::open(&path)?;
    /// assert_eq!(rx.schema().name, "Tick");
    /// assert_eq!(rx.try_recv()?.expect("sent").bytes(), &[0, 0, 0, 0, 7]); // variant 0, the u8
    /// # drop(rx); std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<RecordReceiver> {
        let (buffer, consumer) =
            SharedRingBuffer::open_receiver_with(path.as_ref(), |_| Ok(()), None)?;
        Ok(Self::from_parts(buffer, consumer))
    }

    /// Becomes the receiver of the channel at `path`, as [`RecordReceiver::open`] does, or,
    /// if nothing is there, creates it for `schema` with room for a message of
    /// `capacity_bytes` (mode 0600), so that typed senders of that schema can open it.
    ///
    /// # Errors
    /// [`Error::SchemaMismatch`] if a channel of another schema is there; otherwise as
    /// [`RecordReceiver::open`], and [`Error::Io`] if the file cannot be created.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { T(u8) }
    /// let path = format!("/dev/shm/ipmpsc-doc-records-ooc-{}", std::process::id());
    /// let schema = ipmpsc::schema::StoredSchema::from(&<Tick as ipmpsc::Channel>::SCHEMA);
    /// let mut rx = ipmpsc::records::RecordReceiver::open_or_create(&path, 4096, &schema)?;
    /// Tick::open_sender(&path)?.send(&Tick::T(1))?; // a typed sender is welcome
    /// assert!(rx.try_recv()?.is_some());
    /// # drop(rx); std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_or_create(
        path: impl AsRef<Path>,
        capacity_bytes: u64,
        schema: &StoredSchema,
    ) -> Result<RecordReceiver> {
        let check = |found: &StoredSchema| check_stored(found, schema);
        let create = Some((capacity_bytes, file::DEFAULT_MODE, schema));
        let (buffer, consumer) =
            SharedRingBuffer::open_receiver_with(path.as_ref(), check, create)?;
        Ok(Self::from_parts(buffer, consumer))
    }

    fn from_parts(
        buffer: SharedRingBuffer,
        mut consumer: crate::ring::consumer::Consumer,
    ) -> RecordReceiver {
        consumer.hold_until_acknowledged();
        let schema = buffer.ring.schema().clone();
        let channel_id = buffer.ring.channel_id();
        let chain = consumer.read_position();
        RecordReceiver {
            raw: Receiver::from_consumer(buffer, consumer),
            schema,
            channel_id,
            chain,
        }
    }

    /// The channel's schema, as its creator wrote it into the file.
    pub fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    /// A random number the channel's creator chose: it tells this channel from any other,
    /// also from one created later at the same path (whose positions start again at 0).
    /// 0 for a file written by an ipmpsc build before 0.6.
    pub fn channel_id(&self) -> u64 {
        self.channel_id
    }

    /// The largest message the channel takes, in encoded bytes.
    pub fn capacity(&self) -> u64 {
        self.raw.capacity()
    }

    /// The position up to which records are acknowledged: where the next receiver would
    /// start if this one went away now.
    pub fn acknowledged(&self) -> Position {
        Position(self.raw.acknowledged().unwrap_or(0))
    }

    /// The next record if one is committed, without waiting.
    ///
    /// # Errors
    /// [`Error::Corrupt`] if the ring's bytes violate the protocol.
    pub fn try_recv(&mut self) -> Result<Option<Record<'_>>> {
        self.next(None, false)
    }

    /// The next record, waiting at most `timeout` (`Duration::MAX`: as long as it takes);
    /// `Ok(None)` if none came.
    ///
    /// # Errors
    /// As [`RecordReceiver::try_recv`].
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Option<Record<'_>>> {
        self.next(deadline_after(timeout), true)
    }

    fn next(
        &mut self,
        deadline: Option<std::time::Instant>,
        wait: bool,
    ) -> Result<Option<Record<'_>>> {
        let core = self.raw.core_mut()?;
        let start = self.chain;
        let record = if wait {
            let ready = loop {
                match core.wait(deadline)? {
                    Some(ready) => break ready,
                    None if deadline.is_some() => return Ok(None),
                    None => {}
                }
            };
            core.take(ready)
        } else {
            match core.try_next()? {
                Some(record) => record,
                None => return Ok(None),
            }
        };
        let end = Position(record.end());
        self.chain = end.0;
        Ok(Some(Record {
            bytes: record.park(),
            start: Position(start),
            end,
        }))
    }

    /// Acknowledges every record up to `through` (the [`Record::end`] of a record this
    /// receiver handed out): their space goes back to senders, and they are not delivered
    /// again, also not to a receiver that claims the channel after this one.
    ///
    /// # Errors
    /// [`Error::Io`] of kind `InvalidInput` if `through` lies before the acknowledged position,
    /// beyond the records handed out, or inside a record (a position of another channel);
    /// nothing changes then.
    pub fn acknowledge(&mut self, through: Position) -> Result<()> {
        let path = self.raw.path().to_path_buf();
        let core = self.raw.core_mut()?;
        if core.acknowledge(through.0) {
            return Ok(());
        }
        Err(Error::refused(
            op::ACKNOWLEDGE,
            path,
            std::io::ErrorKind::InvalidInput,
            format!(
                "position {through} is not the end of a record between the acknowledged \
                 position {} and the end of the records handed out ({})",
                core.acknowledged().unwrap_or(0),
                core.read_position()
            ),
        ))
    }
}

/// A sender of encoded records into a channel of any schema (see the [module docs](self)).
/// `Send + Sync + Clone`, like [`Sender`].
#[derive(Debug, Clone)]
pub struct RecordSender {
    raw: Sender,
    schema: StoredSchema,
}

impl RecordSender {
    /// Opens the channel at `path`, whatever its schema, and registers a sender on it.
    ///
    /// # Errors
    /// As [`SharedRingBuffer::open`], without its schema check; [`Error::TooManySenders`].
    pub fn open(path: impl AsRef<Path>) -> Result<RecordSender> {
        let raw = Sender::open_registered(path.as_ref(), |_| Ok(()))?;
        Ok(Self::from_raw(raw))
    }

    /// [`RecordSender::open`] once a receiver holds a channel at `path`, waiting at most
    /// `timeout` for one (as `TypedSender::open_timeout` does); `Ok(None)` if none came.
    ///
    /// # Errors
    /// As [`RecordSender::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let path = format!("/dev/shm/ipmpsc-doc-records-sto-{}", std::process::id());
    /// let none = ipmpsc::records::RecordSender::open_timeout(&path, Duration::ZERO)?;
    /// assert!(none.is_none()); // nobody created it
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn open_timeout(path: impl AsRef<Path>, timeout: Duration) -> Result<Option<RecordSender>> {
        let raw = open_sender_within(path.as_ref(), |_| Ok(()), deadline_after(timeout))?;
        Ok(raw.map(Self::from_raw))
    }

    fn from_raw(raw: Sender) -> RecordSender {
        let schema = raw.buffer().ring.schema().clone();
        RecordSender { raw, schema }
    }

    /// The channel's schema, as its creator wrote it into the file.
    pub fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    /// `Ok` if records encoded with `theirs` may be written into this channel: the two
    /// structural hashes are equal. Otherwise [`Error::SchemaMismatch`], saying what differs
    /// as a local `open_sender` would, with `theirs` in the place of "this process".
    ///
    /// # Examples
    ///
    /// ```
    /// use ipmpsc::schema::StoredSchema;
    /// #[ipmpsc::channel]
    /// pub enum Reading { Temp { celsius: f32 } }
    /// mod old {
    ///     #[ipmpsc::channel]
    ///     pub enum Reading { Temp { celsius: f64 } }
    /// }
    /// let rx = Reading::create_temp_receiver(4096)?;
    /// let tx = ipmpsc::records::RecordSender::open(rx.path())?;
    /// let err = tx.check(&StoredSchema::from(&<old::Reading as ipmpsc::Channel>::SCHEMA)).unwrap_err();
    /// assert!(err.to_string().contains("field `celsius`: channel has `f32`"), "{err}");
    /// # Ok::<(), ipmpsc::Error>(())
    /// ```
    pub fn check(&self, theirs: &StoredSchema) -> Result<()> {
        check_stored(&self.schema, theirs)
    }

    /// The largest message the channel takes, in encoded bytes.
    pub fn capacity(&self) -> u64 {
        self.raw.capacity()
    }

    /// Writes `bytes`, one encoded message, into the ring as they are, waiting for space.
    ///
    /// # Errors
    /// As [`Sender::send`]: [`Error::MessageTooLarge`], [`Error::Disconnected`] (no receiver;
    /// sends succeed again once one claims the channel), and the others.
    pub fn send(&self, bytes: &[u8]) -> Result<()> {
        self.raw
            .send_bytes_with(bytes, Wait::Until(None))
            .map(|_| ())
    }

    /// [`RecordSender::send`], waiting at most `timeout` for space; `Ok(false)` if the ring
    /// stayed full.
    ///
    /// # Errors
    /// As [`RecordSender::send`].
    pub fn send_timeout(&self, bytes: &[u8], timeout: Duration) -> Result<bool> {
        self.raw
            .send_bytes_with(bytes, Wait::Until(deadline_after(timeout)))
    }

    /// [`RecordSender::send`] if there is room now; `Ok(false)` if the ring is full.
    ///
    /// # Errors
    /// As [`RecordSender::send`].
    pub fn try_send(&self, bytes: &[u8]) -> Result<bool> {
        self.raw.send_bytes_with(bytes, Wait::No)
    }
}

/// `Error::SchemaMismatch` unless `found` (the channel's) and `theirs` hash alike.
fn check_stored(found: &StoredSchema, theirs: &StoredSchema) -> Result<()> {
    if found.hash == theirs.hash {
        return Ok(());
    }
    Err(Error::SchemaMismatch(Box::new(SchemaMismatch::between(
        found.clone(),
        theirs.clone(),
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[crate::channel]
    #[derive(Debug, PartialEq)]
    pub enum Item {
        N(u32),
        Blob(Vec<u8>),
    }

    fn schema() -> StoredSchema {
        StoredSchema::from(&<Item as crate::Channel>::SCHEMA)
    }

    struct Path(String);
    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    fn path(name: &str) -> Path {
        Path(format!(
            "/dev/shm/ipmpsc-records-{name}-{}",
            std::process::id()
        ))
    }

    #[test]
    fn unacknowledged_records_are_delivered_again_to_the_next_receiver() {
        let p = path("again");
        let mut rx = RecordReceiver::open_or_create(&p.0, 4096, &schema()).unwrap();
        let tx = Item::open_sender(&p.0).unwrap();
        for i in 0..5 {
            tx.send(&Item::N(i)).unwrap();
        }
        let mut ends = Vec::new();
        while let Some(r) = rx.try_recv().unwrap() {
            ends.push(r.end());
        }
        assert_eq!(ends.len(), 5);
        rx.acknowledge(ends[1]).unwrap(); // the first two are safe elsewhere
        drop(rx);

        // A typed receiver continues at the first record not acknowledged.
        let mut typed = Item::open_receiver(&p.0).unwrap();
        for i in 2..5 {
            assert_eq!(typed.try_recv().unwrap(), Some(Item::N(i)));
        }
        assert_eq!(typed.try_recv().unwrap(), None);
    }

    #[test]
    fn held_records_keep_their_space_until_acknowledged() {
        let p = path("space");
        let mut rx = RecordReceiver::open_or_create(&p.0, 64, &schema()).unwrap();
        let tx = Item::open_sender(&p.0).unwrap();
        let mut sent = 0;
        while tx.try_send(&Item::N(sent)).unwrap() {
            sent += 1;
            assert!(sent < 100, "a 64-byte ring took {sent} messages");
        }
        assert!(sent > 0);
        let mut last = None;
        while let Some(r) = rx.try_recv().unwrap() {
            last = Some(r.end());
            assert!(r.end().get() <= 72, "read past the ring: {:?}", r.end());
        }
        // Read, but not acknowledged: the ring is still full.
        assert!(!tx.try_send(&Item::N(99)).unwrap());
        rx.acknowledge(last.unwrap()).unwrap();
        assert!(tx.try_send(&Item::N(99)).unwrap());
        assert_eq!(rx.acknowledged(), last.unwrap());
    }

    #[test]
    fn records_form_a_chain_and_bad_acknowledgements_are_refused() {
        let p = path("chain");
        let mut rx = RecordReceiver::open_or_create(&p.0, 256, &schema()).unwrap();
        let tx = Item::open_sender(&p.0).unwrap();
        let mut prev = rx.acknowledged();
        // Enough large records to wrap the ring (padding between some of them).
        for round in 0..20u8 {
            tx.send(&Item::Blob(vec![round; 40 + round as usize]))
                .unwrap();
            let r = rx.try_recv().unwrap().expect("sent");
            assert_eq!(r.start(), prev);
            assert_eq!(r.bytes()[0], 1, "variant Blob");
            let end = r.end();
            assert!(end > prev);
            prev = end;
            rx.acknowledge(end).unwrap();
        }
        let err = rx.acknowledge(Position(prev.get() + 8)).unwrap_err();
        assert_eq!(
            err.io_kind(),
            Some(std::io::ErrorKind::InvalidInput),
            "{err}"
        );
        let err = rx.acknowledge(Position(0)).unwrap_err();
        assert_eq!(
            err.io_kind(),
            Some(std::io::ErrorKind::InvalidInput),
            "{err}"
        );
        assert_eq!(rx.acknowledged(), prev);
    }

    #[test]
    fn a_channel_of_another_schema_is_refused_by_open_or_create() {
        #[crate::channel]
        pub enum Other {
            N(u64),
        }
        let p = path("other");
        let _rx = Other::create_receiver(&p.0, 4096).unwrap();
        drop(_rx);
        let err = RecordReceiver::open_or_create(&p.0, 4096, &schema()).unwrap_err();
        assert!(matches!(err, Error::SchemaMismatch(_)), "{err}");
        // `open` takes whatever is there, and says what it is.
        let rx = RecordReceiver::open(&p.0).unwrap();
        assert_eq!(rx.schema().name, "Other");
        assert_ne!(rx.channel_id(), 0);
    }

    #[test]
    fn record_sender_writes_bytes_a_typed_receiver_decodes() {
        let p = path("sender");
        let mut rx = Item::create_receiver(&p.0, 4096).unwrap();
        let tx = RecordSender::open(&p.0).unwrap();
        tx.check(&schema()).unwrap();
        let bytes = crate::codec::encode_to_vec(&Item::Blob(vec![1, 2, 3])).unwrap();
        tx.send(&bytes).unwrap();
        assert!(tx.try_send(&bytes).unwrap());
        assert_eq!(rx.recv().unwrap(), Item::Blob(vec![1, 2, 3]));
        assert_eq!(rx.recv().unwrap(), Item::Blob(vec![1, 2, 3]));
        let too_big = vec![0u8; 5000];
        assert!(matches!(
            tx.send(&too_big),
            Err(Error::MessageTooLarge { .. })
        ));
    }

    #[test]
    fn a_position_inside_a_record_is_refused_and_changes_nothing() {
        let p = path("inside");
        let q = path("inside-other");
        let mut rx = RecordReceiver::open_or_create(&p.0, 4096, &schema()).unwrap();
        let mut other = RecordReceiver::open_or_create(&q.0, 4096, &schema()).unwrap();
        Item::open_sender(&p.0)
            .unwrap()
            .send(&Item::Blob(vec![7; 40]))
            .unwrap();
        Item::open_sender(&q.0).unwrap().send(&Item::N(1)).unwrap();
        let big = rx.try_recv().unwrap().expect("sent").end();
        // A position of another channel: the end of a small record there, inside the large
        // record here.
        let small = other.try_recv().unwrap().expect("sent").end();
        assert!(Position(0) < small && small < big, "{small} {big}");
        let err = rx.acknowledge(small).unwrap_err();
        assert_eq!(
            err.io_kind(),
            Some(std::io::ErrorKind::InvalidInput),
            "{err}"
        );
        assert_eq!(rx.acknowledged(), Position(0));
        drop(rx);
        // The record was not cut: the next receiver gets it whole.
        let mut typed = Item::open_receiver(&p.0).unwrap();
        assert_eq!(typed.try_recv().unwrap(), Some(Item::Blob(vec![7; 40])));
    }

    #[test]
    fn a_receiver_whose_ring_is_full_of_held_records_sleeps_while_it_waits() {
        let p = path("fullwait");
        let mut rx = RecordReceiver::open_or_create(&p.0, 64, &schema()).unwrap();
        let tx = Item::open_sender(&p.0).unwrap();
        while tx.try_send(&Item::N(1)).unwrap() {}
        while rx.try_recv().unwrap().is_some() {}
        let cpu = || {
            let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
            Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
        };
        let wait = Duration::from_millis(500);
        let (before, started) = (cpu(), std::time::Instant::now());
        assert!(rx.recv_timeout(wait).unwrap().is_none());
        let used = cpu() - before;
        assert!(started.elapsed() >= wait);
        // Nothing can come until this receiver acknowledges: the wait is a sleep, not a spin.
        assert!(used < wait / 5, "used {used:?} of CPU in a {wait:?} wait");
    }

    #[test]
    fn a_wrapping_ring_full_of_held_records_redelivers_exactly_what_was_not_acknowledged() {
        let p = path("wrap");
        let mut rx = RecordReceiver::open_or_create(&p.0, 200, &schema()).unwrap();
        let tx = Item::open_sender(&p.0).unwrap();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % n
        };
        let mut sent = 0u32;
        // The first record not acknowledged, and the next one expected from `rx`.
        let (mut acked, mut expect) = (0u32, 0u32);
        let mut acked_at = Position(0);
        let mut held: Vec<(u32, Position)> = Vec::new();
        for _ in 0..3000 {
            // Fill the ring (sizes vary, so records wrap with padding of every length).
            loop {
                let mut blob = sent.to_le_bytes().to_vec();
                blob.resize(4 + rand(120) as usize, 0xab);
                if !tx.try_send(&Item::Blob(blob)).unwrap() {
                    break;
                }
                sent += 1;
            }
            // Read what is there: exactly the records after the last one read, in order.
            while let Some(r) = rx.try_recv().unwrap() {
                let Item::Blob(blob) = crate::codec::decode::<Item>(r.bytes()).unwrap() else {
                    panic!("not a blob");
                };
                let seq = u32::from_le_bytes(blob[..4].try_into().unwrap());
                assert_eq!(seq, expect);
                assert!(blob[4..].iter().all(|&b| b == 0xab));
                // A chain: each record starts where the one before it ended, also across
                // padding skipped by a call that found nothing behind it.
                let prev = held.last().map_or(acked_at, |&(_, end)| end);
                assert_eq!(r.start(), prev);
                held.push((seq, r.end()));
                expect += 1;
            }
            assert_eq!(expect, sent, "read everything that was sent");
            match rand(4) {
                // Acknowledge a prefix of what was read.
                0 | 1 if !held.is_empty() => {
                    let n = 1 + rand(held.len() as u64) as usize;
                    let (seq, end) = held[n - 1];
                    rx.acknowledge(end).unwrap();
                    assert_eq!(rx.acknowledged(), end);
                    acked_at = end;
                    held.drain(..n);
                    acked = seq + 1;
                }
                // A new receiver: it starts again at the first record not acknowledged.
                2 => {
                    drop(rx);
                    rx = RecordReceiver::open(&p.0).unwrap();
                    held.clear();
                    expect = acked;
                }
                _ => {}
            }
        }
        assert!(sent > 1000, "only {sent} records went through");
    }

    #[test]
    fn two_creators_get_different_channel_ids() {
        let p = path("ids");
        let a = RecordReceiver::open_or_create(&p.0, 64, &schema()).unwrap();
        let first = a.channel_id();
        drop(a);
        std::fs::remove_file(&p.0).unwrap();
        let b = RecordReceiver::open_or_create(&p.0, 64, &schema()).unwrap();
        assert_ne!(b.channel_id(), first);
    }
}
