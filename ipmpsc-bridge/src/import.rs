//! [`Importer`]: writes the records exporters publish into a local channel.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ipmpsc::records::RecordSender;
use ipmpsc::schema::StoredSchema;
use zenoh::handlers::{FifoChannel, FifoChannelHandler};
use zenoh::qos::CongestionControl;
use zenoh::sample::Sample;
use zenoh::Wait;

use crate::wire::{self, Control, Header};
use crate::{Error, Event, Result};

/// How often the importer tells each exporter where it stands (an acknowledgement or a
/// refusal), also when nothing moved: an exporter that hears nothing for a second sends its
/// records again.
const HEARTBEAT: Duration = Duration::from_millis(200);

/// The importer asks an exporter to send its records again at most this often.
const RESEND_INTERVAL: Duration = Duration::from_millis(250);

/// A stream not heard from for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// Streams the importer keeps at most: a new one beyond this makes it forget the stream heard
/// from least recently (whose exporter, if it is still there, is taken up again from its
/// first record not acknowledged). Bounds what a flood of made-up stream ids can cost.
const MAX_STREAMS: usize = 4096;

/// Records the importer acknowledges at least every this many.
const ACK_EVERY: u32 = 64;

/// Samples zenoh queues for the importer before it stops reading the network (the
/// backpressure that reaches the exporter).
const QUEUE: usize = 1024;

/// How far along one exporter's stream is.
enum State {
    /// Records came before the schema: the exporter was asked to send it.
    Unknown,
    /// The schema matches; every record up to `last` is committed in the channel.
    Open { hash: u64, last: u64 },
    /// The stream's records are refused.
    Refused { reason: String },
}

struct Stream {
    state: State,
    seen: Instant,
    asked: Option<Instant>,
    /// Records written since the last acknowledgement.
    unacked: u32,
}

/// Writes the records exporters publish on a key expression into a local channel (see the
/// [crate docs](crate)). Also answers exporters that ask for the channel's schema
/// ([`Exporter::importer_schema`](crate::Exporter::importer_schema)).
pub struct Importer {
    session: zenoh::Session,
    path: PathBuf,
    sender: RecordSender,
    schema_reply: Arc<Mutex<Vec<u8>>>,
    subscriber: zenoh::pubsub::Subscriber<FifoChannelHandler<Sample>>,
    _queryable: zenoh::query::Queryable<()>,
    streams: HashMap<u64, Stream>,
    last_heartbeat: Instant,
    written: u64,
    waiting_for_receiver: bool,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("path", &self.path)
            .field("schema", &self.sender.schema().to_string())
            .field("streams", &self.streams.len())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// What a write into the channel came to.
enum Written {
    Yes,
    /// `stop` was set while the channel stayed full or had no receiver.
    Stopped,
    /// The channel was created again, for another schema, while the record waited for a
    /// receiver: the record's stream is forgotten (its exporter announces it again) and the
    /// record is not written.
    Forgotten,
    /// The record can never be written, for this reason.
    Never(String),
}

impl Importer {
    /// Subscribes to `key` (a zenoh key expression; wildcards take records from several
    /// exporters) and writes what comes into the existing channel at `path`, whose receiver
    /// need not be there yet.
    ///
    /// # Errors
    /// As [`RecordSender::open`] (nothing at `path`, not a channel); [`Error::Zenoh`] for a
    /// bad key expression.
    ///
    /// # Examples
    ///
    /// ```
    /// #[ipmpsc::channel]
    /// pub enum Tick { T(u32) }
    /// let rx = Tick::create_temp_receiver(4096)?;
    /// let session = ipmpsc_bridge::Network::isolated().open()?;
    /// let importer = ipmpsc_bridge::Importer::open(&session, "ticks/**", rx.path())?;
    /// assert_eq!(importer.schema().name, "Tick");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(session: &zenoh::Session, key: &str, path: impl AsRef<Path>) -> Result<Importer> {
        let sender = RecordSender::open(path.as_ref())?;
        Importer::with_sender(session, key, path.as_ref(), sender)
    }

    /// [`Importer::open`] once a receiver holds a channel at `path`, waiting at most
    /// `timeout` for one; `Ok(None)` if none came.
    ///
    /// # Errors
    /// As [`Importer::open`].
    pub fn open_timeout(
        session: &zenoh::Session,
        key: &str,
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<Option<Importer>> {
        match RecordSender::open_timeout(path.as_ref(), timeout)? {
            Some(sender) => Importer::with_sender(session, key, path.as_ref(), sender).map(Some),
            None => Ok(None),
        }
    }

    fn with_sender(
        session: &zenoh::Session,
        key: &str,
        path: &Path,
        sender: RecordSender,
    ) -> Result<Importer> {
        let key = zenoh::key_expr::KeyExpr::try_from(key.to_owned())?;
        let subscriber = session
            .declare_subscriber(key.clone())
            .with(FifoChannel::new(QUEUE))
            .wait()?;
        let schema_reply = Arc::new(Mutex::new(wire::encode_schema(sender.schema())));
        let queryable = {
            let reply = schema_reply.clone();
            session
                .declare_queryable(key)
                .callback(move |query| {
                    let payload = reply.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    let _ = query.reply(query.key_expr().clone(), payload).wait();
                })
                .wait()?
        };
        Ok(Importer {
            session: session.clone(),
            path: path.to_path_buf(),
            sender,
            schema_reply,
            subscriber,
            _queryable: queryable,
            streams: HashMap::new(),
            last_heartbeat: Instant::now(),
            written: 0,
            waiting_for_receiver: false,
        })
    }

    /// The importing channel's schema.
    pub fn schema(&self) -> &StoredSchema {
        self.sender.schema()
    }

    /// Records written into the channel so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Imports until `stop` is set (checked at least every 100 ms, also while the channel is
    /// full), reporting what happens to `on_event`.
    ///
    /// # Errors
    /// [`Error::Channel`] if the channel is corrupt or cannot be opened again after its
    /// receiver left; [`Error::Zenoh`] if the session closed.
    pub fn run(&mut self, stop: &AtomicBool, mut on_event: impl FnMut(Event)) -> Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let first = self
                .subscriber
                .recv_timeout(HEARTBEAT / 2)
                .map_err(Error::Zenoh)?;
            let mut next = first;
            let mut taken = 0;
            while let Some(sample) = next {
                if !self.on_sample(&sample, stop, &mut on_event)? {
                    return Ok(());
                }
                taken += 1;
                if taken >= ACK_EVERY as usize * 4 {
                    break;
                }
                next = self.subscriber.try_recv().map_err(Error::Zenoh)?;
            }
            self.acknowledge()?;
            if self.last_heartbeat.elapsed() >= HEARTBEAT {
                self.forget_silent();
                self.heartbeat()?;
            }
        }
        Ok(())
    }

    /// Handles one sample; `false` if `stop` was set while it waited.
    fn on_sample(
        &mut self,
        sample: &Sample,
        stop: &AtomicBool,
        on_event: &mut impl FnMut(Event),
    ) -> Result<bool> {
        let Some(header) = sample
            .attachment()
            .and_then(|a| Header::decode(&a.to_bytes()))
        else {
            return Ok(true); // not a bridge's sample
        };
        let now = Instant::now();
        match header {
            Header::Schema { stream, base } => {
                let Some(schema) = wire::decode_schema(&sample.payload().to_bytes()) else {
                    return Ok(true);
                };
                let checked = self.sender.check(&schema);
                let entry = self.stream(stream, now);
                match checked {
                    Err(e) => {
                        let reason = e.to_string();
                        let news =
                            !matches!(&entry.state, State::Refused { reason: r } if *r == reason);
                        entry.state = State::Refused {
                            reason: reason.clone(),
                        };
                        if news {
                            on_event(Event::Refused { stream, reason });
                        }
                        self.tell(stream)?;
                    }
                    Ok(()) => match &mut entry.state {
                        State::Open { hash, last, .. } if *hash == schema.hash => {
                            // Known: keep what was written (repeats are dropped); records the
                            // exporter had acknowledged by someone else start at `base`.
                            *last = (*last).max(base);
                        }
                        state => {
                            *state = State::Open {
                                hash: schema.hash,
                                last: base,
                            };
                            on_event(Event::Accepted {
                                stream,
                                schema: schema.to_string(),
                            });
                        }
                    },
                }
            }
            Header::Record {
                stream,
                start,
                end,
                base,
                hash,
                ..
            } => {
                if end <= start {
                    return Ok(true); // no exporter sends that
                }
                let entry = self.stream(stream, now);
                let write = match entry.state {
                    State::Unknown => false,
                    State::Refused { .. } => return Ok(true),
                    State::Open { hash: h, last } => {
                        if hash != h {
                            false // the exporter's schema changed: ask for it again
                        } else if end <= last && start < end {
                            // Written already (sent again by an exporter that restarted):
                            // acknowledge it soon, so that the exporter hands it back.
                            entry.unacked += 1;
                            return Ok(true);
                        } else if start == last || (start == base && base > last) {
                            true
                        } else {
                            false // a gap: something was lost on the way
                        }
                    }
                };
                if !write {
                    let ask = entry
                        .asked
                        .is_none_or(|t| now.duration_since(t) >= RESEND_INTERVAL);
                    if ask {
                        entry.asked = Some(now);
                        self.control(stream, &Control::Resend)?;
                    }
                    return Ok(true);
                }
                match self.write(stream, &sample.payload().to_bytes(), stop, on_event)? {
                    Written::Yes => {
                        let entry = self.streams.get_mut(&stream).expect("looked up above");
                        if let State::Open { last, .. } = &mut entry.state {
                            *last = end;
                        }
                        entry.asked = None;
                        entry.unacked += 1;
                        self.written += 1;
                        if entry.unacked >= ACK_EVERY {
                            self.tell(stream)?;
                        }
                    }
                    Written::Stopped => return Ok(false),
                    Written::Forgotten => {}
                    Written::Never(reason) => {
                        // What was committed before it is acknowledged first: a refused stream
                        // is told only its refusal from now on.
                        self.tell(stream)?;
                        let entry = self.streams.get_mut(&stream).expect("looked up above");
                        entry.state = State::Refused {
                            reason: reason.clone(),
                        };
                        on_event(Event::Refused { stream, reason });
                        self.tell(stream)?;
                    }
                }
            }
        }
        Ok(true)
    }

    fn stream(&mut self, stream: u64, now: Instant) -> &mut Stream {
        if self.streams.len() >= MAX_STREAMS && !self.streams.contains_key(&stream) {
            let oldest = self
                .streams
                .iter()
                .min_by_key(|(_, s)| s.seen)
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.streams.remove(&oldest);
            }
        }
        let entry = self.streams.entry(stream).or_insert(Stream {
            state: State::Unknown,
            seen: now,
            asked: None,
            unacked: 0,
        });
        entry.seen = now;
        entry
    }

    /// Writes one record of `stream`, waiting while the channel is full or has no receiver.
    fn write(
        &mut self,
        stream: u64,
        bytes: &[u8],
        stop: &AtomicBool,
        on_event: &mut impl FnMut(Event),
    ) -> Result<Written> {
        loop {
            match self.sender.send_timeout(bytes, HEARTBEAT / 2) {
                Ok(true) => {
                    self.waiting_for_receiver = false;
                    return Ok(Written::Yes);
                }
                Ok(false) => {}
                Err(ipmpsc::Error::Disconnected) => {
                    if !self.waiting_for_receiver {
                        self.waiting_for_receiver = true;
                        on_event(Event::WaitingForReceiver);
                    }
                    self.acknowledge()?;
                    if !self.reopen(stop)? {
                        return Ok(Written::Stopped);
                    }
                    if !self.streams.contains_key(&stream) {
                        return Ok(Written::Forgotten);
                    }
                    continue;
                }
                Err(e @ ipmpsc::Error::MessageTooLarge { .. }) => {
                    return Ok(Written::Never(e.to_string()));
                }
                Err(e) => return Err(e.into()),
            }
            if stop.load(Ordering::Relaxed) {
                return Ok(Written::Stopped);
            }
            if self.last_heartbeat.elapsed() >= HEARTBEAT {
                self.heartbeat()?;
            }
        }
    }

    /// Opens the channel again once a receiver holds it (it may have been created anew);
    /// `false` if `stop` was set first. Streams whose schema the channel no longer has are
    /// forgotten (their exporters announce again).
    fn reopen(&mut self, stop: &AtomicBool) -> Result<bool> {
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(false);
            }
            if let Some(sender) = RecordSender::open_timeout(&self.path, HEARTBEAT / 2)? {
                let hash = sender.schema().hash;
                self.streams
                    .retain(|_, s| matches!(s.state, State::Open { hash: h, .. } if h == hash));
                *self.schema_reply.lock().unwrap_or_else(|e| e.into_inner()) =
                    wire::encode_schema(sender.schema());
                self.sender = sender;
                return Ok(true);
            }
            if self.last_heartbeat.elapsed() >= HEARTBEAT {
                self.heartbeat()?;
            }
        }
    }

    /// Acknowledges what was written, to every stream's exporter that has records not
    /// acknowledged.
    fn acknowledge(&mut self) -> Result<()> {
        let due: Vec<u64> = self
            .streams
            .iter()
            .filter(|(_, s)| s.unacked > 0)
            .map(|(id, _)| *id)
            .collect();
        for stream in due {
            self.tell(stream)?;
        }
        Ok(())
    }

    /// Forgets streams long silent. Not while a record waits to be written: its stream (and
    /// every stream queued behind it) is silent only because the importer does not read.
    fn forget_silent(&mut self) {
        let now = Instant::now();
        self.streams
            .retain(|_, s| now.duration_since(s.seen) < FORGET_AFTER);
    }

    /// Tells every stream's exporter where it stands.
    fn heartbeat(&mut self) -> Result<()> {
        let now = Instant::now();
        let ids: Vec<u64> = self.streams.keys().copied().collect();
        for stream in ids {
            self.tell(stream)?;
        }
        self.last_heartbeat = now;
        Ok(())
    }

    /// Sends `stream`'s exporter an acknowledgement or the refusal.
    fn tell(&mut self, stream: u64) -> Result<()> {
        let Some(entry) = self.streams.get_mut(&stream) else {
            return Ok(());
        };
        let control = match &mut entry.state {
            State::Unknown => return Ok(()),
            State::Open { last, .. } => Control::Ack { through: *last },
            State::Refused { reason } => Control::Refused(reason.clone()),
        };
        entry.unacked = 0;
        self.control(stream, &control)
    }

    fn control(&self, stream: u64, control: &Control) -> Result<()> {
        self.session
            .put(wire::control_key(stream), control.encode())
            .congestion_control(CongestionControl::Block)
            .wait()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[ipmpsc::channel]
    pub enum Tick {
        T(u32),
    }

    #[test]
    fn a_flood_of_stream_ids_is_bounded() {
        let rx = Tick::create_temp_receiver(4096).unwrap();
        let session = crate::Network::isolated().open().unwrap();
        let mut importer = Importer::open(&session, "test/flood", rx.path()).unwrap();
        let now = Instant::now();
        for id in 0..(MAX_STREAMS as u64 + 500) {
            importer.stream(id, now + Duration::from_micros(id));
        }
        assert_eq!(importer.streams.len(), MAX_STREAMS);
        // The ones heard from least recently went.
        assert!(!importer.streams.contains_key(&0));
        assert!(importer.streams.contains_key(&(MAX_STREAMS as u64 + 499)));
    }
}
