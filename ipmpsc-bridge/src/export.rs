//! [`Exporter`]: the receiver of a local channel that publishes its records on zenoh.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipmpsc::records::{Position, RecordReceiver};
use ipmpsc::schema::StoredSchema;
use zenoh::bytes::ZBytes;
use zenoh::qos::CongestionControl;
use zenoh::Wait;

use crate::wire::{self, Control, Header};
use crate::{Error, Event, Result};

/// With records not acknowledged and no word from any importer for this long, the exporter
/// announces its schema and sends them again.
const SILENCE_BEFORE_RESEND: Duration = Duration::from_secs(1);

/// How long one step waits for a record when none is outstanding; with records outstanding
/// it waits 1 ms, so that acknowledgements (which give space back to producers) are acted on
/// at once.
const IDLE_WAIT: Duration = Duration::from_millis(50);

/// An importer that said something this recently is taken to be answering (its heartbeat
/// comes every 200 ms).
const ANSWERING: Duration = Duration::from_millis(500);

/// Records read from the channel in one step before the exporter looks at its inbox again.
const BATCH: usize = 256;

/// What importers said since the exporter last looked; filled by the control subscriber's
/// callback, which never blocks.
#[derive(Debug, Default)]
struct Inbox {
    /// The highest acknowledgement received.
    ack: Option<u64>,
    resend: bool,
    refused: Option<String>,
    heard: bool,
}

/// A record published and not acknowledged yet.
struct Sent {
    start: Position,
    end: Position,
    payload: ZBytes,
}

/// Counts of what an [`Exporter`] did, for monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Records published for the first time.
    pub published: u64,
    /// Records published again (an importer asked, or none answered).
    pub republished: u64,
    /// Records acknowledged (committed in the importing channel) and handed back.
    pub acknowledged: u64,
}

/// The receiver of a local channel, publishing each record's bytes on a zenoh key (see the
/// [crate docs](crate) for what is sent and the delivery guarantee).
///
/// Created with [`Exporter::open`] (a channel that exists), [`Exporter::create`] (the
/// channel for a message type of this program) or [`Exporter::open_or_create`] (for a
/// schema learnt elsewhere, e.g. from the importer with [`Exporter::importer_schema`]); then
/// [`Exporter::run`] until stopped.
pub struct Exporter {
    records: RecordReceiver,
    publisher: zenoh::pubsub::Publisher<'static>,
    _control: zenoh::pubsub::Subscriber<()>,
    inbox: Arc<Mutex<Inbox>>,
    stream: u64,
    schema: StoredSchema,
    schema_bytes: ZBytes,
    unacked: VecDeque<Sent>,
    /// Index in `unacked` of the first record to publish (again).
    next: usize,
    last_heard: Instant,
    last_announced: Instant,
    refused: Option<String>,
    stats: ExportStats,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("stream", &format_args!("{:016x}", self.stream))
            .field("schema", &self.schema.to_string())
            .field("unacknowledged", &self.unacked.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Exporter {
    /// Becomes the receiver of the existing channel at `path` (any schema) and exports it on
    /// `key`, a zenoh key (no wildcards). Records the last exporter of this channel read but
    /// did not get acknowledged are published again first.
    ///
    /// # Errors
    /// As [`RecordReceiver::open`] (a live receiver holds the channel, nothing is at `path`);
    /// [`Error::Zenoh`] for a bad key.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { T(u32) }
    /// let path = format!("/dev/shm/ipmpsc-doc-export-open-{}", std::process::id());
    /// drop(Tick::create_receiver(&path, 4096)?); // a channel its receiver left
    /// let session = ipmpsc_bridge::Network::isolated().open()?;
    /// let exporter = ipmpsc_bridge::Exporter::open(&session, &path, "ticks")?;
    /// assert_eq!(exporter.schema().name, "Tick");
    /// # drop(exporter); std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(session: &zenoh::Session, path: impl AsRef<Path>, key: &str) -> Result<Exporter> {
        Exporter::from_records(session, RecordReceiver::open(path)?, key)
    }

    /// Becomes the receiver of the channel at `path`, creating it for `schema` with room for
    /// a message of `capacity_bytes` if nothing is there, and exports it on `key`.
    ///
    /// # Errors
    /// As [`RecordReceiver::open_or_create`] (a channel of another schema is there);
    /// [`Error::Zenoh`] for a bad key.
    pub fn open_or_create(
        session: &zenoh::Session,
        path: impl AsRef<Path>,
        capacity_bytes: u64,
        schema: &StoredSchema,
        key: &str,
    ) -> Result<Exporter> {
        let records = RecordReceiver::open_or_create(path, capacity_bytes, schema)?;
        Exporter::from_records(session, records, key)
    }

    /// [`Exporter::open_or_create`] for the channel type `M` of this program.
    ///
    /// # Errors
    /// As [`Exporter::open_or_create`].
    pub fn create<M: ipmpsc::Channel>(
        session: &zenoh::Session,
        path: impl AsRef<Path>,
        capacity_bytes: u64,
        key: &str,
    ) -> Result<Exporter> {
        let schema = StoredSchema::from(&M::SCHEMA);
        Exporter::open_or_create(session, path, capacity_bytes, &schema, key)
    }

    /// Asks the importers of `key` for their channel's schema, waiting at most `timeout` for
    /// one to answer: what an exporter that creates its channel needs when its program does
    /// not know the message type (the command line's `export --capacity`). `Ok(None)` if no
    /// importer answered.
    ///
    /// # Errors
    /// [`Error::Zenoh`] for a bad key or a closed session.
    pub fn importer_schema(
        session: &zenoh::Session,
        key: &str,
        timeout: Duration,
    ) -> Result<Option<StoredSchema>> {
        let replies = session.get(key).timeout(timeout).wait()?;
        while let Ok(reply) = replies.recv() {
            if let Ok(sample) = reply.result() {
                if let Some(schema) = wire::decode_schema(&sample.payload().to_bytes()) {
                    return Ok(Some(schema));
                }
            }
        }
        Ok(None)
    }

    /// Exports `records` on `key`.
    ///
    /// # Errors
    /// [`Error::Zenoh`] for a bad key (one with wildcards, or empty).
    pub fn from_records(
        session: &zenoh::Session,
        records: RecordReceiver,
        key: &str,
    ) -> Result<Exporter> {
        if key.contains('*') || key.contains('$') {
            return Err(Error::Zenoh(
                format!("cannot export on `{key}`: a key expression with wildcards matches many keys; give one key").into(),
            ));
        }
        let key = zenoh::key_expr::KeyExpr::try_from(key.to_owned())?;
        let publisher = session
            .declare_publisher(key)
            .congestion_control(CongestionControl::Block)
            .wait()?;
        let mut stream = records.channel_id();
        if stream == 0 {
            // A channel file from before channel ids: a new stream each run.
            stream = fallback_stream_id();
        }
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        let control = {
            let inbox = inbox.clone();
            session
                .declare_subscriber(wire::control_key(stream))
                .callback(move |sample| {
                    let Some(control) = Control::decode(&sample.payload().to_bytes()) else {
                        return;
                    };
                    let mut inbox = inbox.lock().unwrap_or_else(|e| e.into_inner());
                    inbox.heard = true;
                    match control {
                        Control::Ack { through } => {
                            inbox.ack = Some(inbox.ack.map_or(through, |a| a.max(through)));
                        }
                        Control::Resend => inbox.resend = true,
                        Control::Refused(reason) => inbox.refused = Some(reason),
                    }
                })
                .wait()?
        };
        let schema = records.schema().clone();
        let now = Instant::now();
        Ok(Exporter {
            schema_bytes: ZBytes::from(wire::encode_schema(&schema)),
            schema,
            records,
            publisher,
            _control: control,
            inbox,
            stream,
            unacked: VecDeque::new(),
            next: 0,
            last_heard: now,
            last_announced: now,
            refused: None,
            stats: ExportStats::default(),
        })
    }

    /// The exported channel's schema.
    pub fn schema(&self) -> &StoredSchema {
        &self.schema
    }

    /// The stream id importers know this channel by: its `channel_id`.
    pub fn stream(&self) -> u64 {
        self.stream
    }

    /// What the exporter did so far.
    pub fn stats(&self) -> ExportStats {
        self.stats
    }

    /// Records published and not acknowledged yet.
    pub fn unacknowledged(&self) -> usize {
        self.unacked.len()
    }

    /// Exports until `stop` is set (checked at least every 50 ms), reporting what happens to
    /// `on_event`. Records not acknowledged when it returns stay in the channel for the next
    /// exporter.
    ///
    /// # Errors
    /// [`Error::Channel`] if the channel is corrupt; [`Error::Zenoh`] if the session closed.
    pub fn run(&mut self, stop: &AtomicBool, mut on_event: impl FnMut(Event)) -> Result<()> {
        self.announce()?;
        while !stop.load(Ordering::Relaxed) {
            self.step(&mut on_event)?;
        }
        Ok(())
    }

    /// One round of [`Exporter::run`]: acts on what importers said, publishes again what
    /// they asked for, then publishes up to 256 new records (waiting up to 50 ms for one).
    ///
    /// # Errors
    /// As [`Exporter::run`].
    pub fn step(&mut self, on_event: &mut impl FnMut(Event)) -> Result<()> {
        let inbox = std::mem::take(&mut *self.inbox.lock().unwrap_or_else(|e| e.into_inner()));
        let now = Instant::now();
        if inbox.heard {
            self.last_heard = now;
        }
        if let Some(through) = inbox.ack {
            self.acknowledged(through)?;
        }
        match inbox.refused {
            Some(reason) if self.refused.as_ref() != Some(&reason) => {
                on_event(Event::Refused {
                    stream: self.stream,
                    reason: reason.clone(),
                });
                self.refused = Some(reason);
            }
            Some(_) => {}
            None if inbox.ack.is_some() => self.refused = None,
            None => {}
        }
        let silent =
            now.duration_since(self.last_heard.max(self.last_announced)) >= SILENCE_BEFORE_RESEND;
        if inbox.resend || (silent && !self.unacked.is_empty()) {
            self.announce()?;
            if !self.unacked.is_empty() {
                on_event(Event::Resending {
                    records: self.unacked.len(),
                });
            }
            self.next = 0;
        }
        while let Some(sent) = self.unacked.get(self.next) {
            let header = self.header(sent.start, sent.end);
            self.publisher
                .put(sent.payload.clone())
                .attachment(header)
                .wait()?;
            self.next += 1;
            self.stats.republished += 1;
        }
        // Acknowledgements are acted on within 1 ms while an importer answers; with nothing
        // outstanding, or nobody answering, the exporter sleeps longer between looks.
        let answering = now.duration_since(self.last_heard) < ANSWERING;
        let wait = if self.unacked.is_empty() || !answering {
            IDLE_WAIT
        } else {
            Duration::from_millis(1)
        };
        for i in 0..BATCH {
            let record = if i == 0 {
                self.records.recv_timeout(wait)?
            } else {
                self.records.try_recv()?
            };
            let Some(record) = record else { break };
            let (start, end) = (record.start(), record.end());
            let payload = ZBytes::from(record.bytes().to_vec());
            let header = self.header(start, end);
            self.publisher
                .put(payload.clone())
                .attachment(header)
                .wait()?;
            self.unacked.push_back(Sent {
                start,
                end,
                payload,
            });
            self.next = self.unacked.len();
            self.stats.published += 1;
        }
        Ok(())
    }

    fn header(&self, start: Position, end: Position) -> ZBytes {
        ZBytes::from(
            Header::Record {
                stream: self.stream,
                start: start.get(),
                end: end.get(),
                base: self.records.acknowledged().get(),
                hash: self.schema.hash,
                version: self.schema.version,
            }
            .encode(),
        )
    }

    /// Publishes the schema, and where the records not acknowledged begin.
    fn announce(&mut self) -> Result<()> {
        let header = Header::Schema {
            stream: self.stream,
            base: self.records.acknowledged().get(),
        };
        self.publisher
            .put(self.schema_bytes.clone())
            .attachment(header.encode())
            .wait()?;
        self.last_announced = Instant::now();
        Ok(())
    }

    /// Hands back every record that ends at or before `through`.
    fn acknowledged(&mut self, through: u64) -> Result<()> {
        let mut last = None;
        while let Some(sent) = self.unacked.front() {
            if sent.end.get() > through {
                break;
            }
            last = Some(sent.end);
            self.unacked.pop_front();
            self.next = self.next.saturating_sub(1);
            self.stats.acknowledged += 1;
        }
        if let Some(end) = last {
            self.records.acknowledge(end)?;
        }
        Ok(())
    }
}

/// A stream id for a channel without a channel id: from the clock and the pid.
fn fallback_stream_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)).max(1)
}
