//! Carries an [ipmpsc] channel's records from one machine to another over [zenoh], with the
//! schema check at both ends.
//!
//! An [`Exporter`] is the receiver of a local channel: producers send into it as they always
//! do, and it publishes each record's bytes, unchanged (nothing is decoded), on a zenoh key
//! expression, with the channel's schema hash and version on every record and the whole schema
//! (name, version, hash, description) announced ahead of them. An [`Importer`] subscribes to
//! the key expression and writes the records into a channel on its own machine, whose consumer
//! receives them as if the producers were local. A record whose schema differs from the
//! importing channel's is refused, with the same message a local `open_sender` gives (it names
//! the variant and field that differ), reported on both sides.
//!
//! ```text
//!  producers ──► channel A ──► Exporter ══ zenoh (TCP) ══► Importer ──► channel B ──► consumer
//!                  host 1                                               host 2
//! ```
//!
//! # Delivery
//!
//! - **Ordered per producer**, as on one machine: records leave channel A in its order and are
//!   written into channel B in that order.
//! - **At least once, nothing lost**: the exporter keeps each record in channel A until the
//!   importer has acknowledged that it is committed in channel B (see [`ipmpsc::records`]).
//!   If the exporter dies, the next one to open channel A starts again at the first record not
//!   acknowledged; if the importer dies, or zenoh loses a sample, the exporter sends every
//!   record not acknowledged again. Records carry their position in channel A, so the importer
//!   drops any it has already written: a record is written into channel B twice only when the
//!   importer dies after writing it and before its acknowledgement reached the exporter (the
//!   last few milliseconds of records), and then as a repeat of a run of records, in order.
//! - **Backpressure, never loss**: a full channel B makes the importer wait, zenoh's
//!   reliable, blocking congestion control makes the exporter wait, records not acknowledged
//!   keep their space in channel A, and a full channel A makes its producers wait.
//! - A record that can never be written (its schema differs, or it is larger than channel B
//!   takes) is refused, with the reason reported on both sides, and stays in channel A.
//!
//! # Trust
//!
//! The bridge trusts the zenoh network it is given, as a channel trusts the processes that
//! may write its file: samples and acknowledgements carry no authentication. Someone who can
//! publish on the data key or on `ipmpsc/bridge/…` can write records of the right schema into
//! channel B, or make an exporter hand back records before they reached it. Nothing they send
//! makes a bridge panic or read out of bounds (every header is length-checked, and the
//! importer keeps at most 4,096 streams), and channel B's consumer decodes what it receives
//! as from any sender. This build carries TCP only; across networks you do not control, run
//! it over a VPN or SSH tunnel.
//!
//! One importer per key expression and exporter: the exporter acknowledges records on the
//! first word of whichever importer answers. Many exporters may feed one importer (a fleet of
//! producers' machines, one collector).
//!
//! # Example
//!
//! Both ends in one program, over TCP on localhost (two machines run one side each):
//!
//! ```
//! use ipmpsc_bridge::{Exporter, Importer, Network};
//! use std::sync::atomic::{AtomicBool, Ordering};
//! use std::time::Duration;
//!
//! #[ipmpsc::channel]
//! #[derive(Debug, PartialEq)]
//! pub enum Reading { Temp { sensor: u32, celsius: f32 } }
//!
//! let a = format!("/dev/shm/ipmpsc-doc-bridge-a-{}", std::process::id());
//! let b = format!("/dev/shm/ipmpsc-doc-bridge-b-{}", std::process::id());
//! let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
//!
//! // Host 2: the consumer's channel, and an importer listening for exporters.
//! let mut consumer = Reading::create_receiver(&b, 1 << 16)?;
//! let host2 = Network::isolated().listen(format!("tcp/127.0.0.1:{port}")).open()?;
//! let mut importer = Importer::open(&host2, "demo/readings", &b)?;
//!
//! // Host 1: an exporter that creates channel A for the producers.
//! let host1 = Network::isolated().connect(format!("tcp/127.0.0.1:{port}")).open()?;
//! let mut exporter = Exporter::create::<Reading>(&host1, &a, 1 << 16, "demo/readings")?;
//! Reading::open_sender(&a)?.send(&Reading::Temp { sensor: 7, celsius: 21.5 })?;
//!
//! let stop = AtomicBool::new(false);
//! std::thread::scope(|s| {
//!     s.spawn(|| exporter.run(&stop, |event| eprintln!("export: {event}")));
//!     s.spawn(|| importer.run(&stop, |event| eprintln!("import: {event}")));
//!     let got = consumer.recv_timeout(Duration::from_secs(30));
//!     stop.store(true, Ordering::Relaxed);
//!     assert_eq!(got.unwrap(), Some(Reading::Temp { sensor: 7, celsius: 21.5 }));
//! });
//! # drop(exporter); drop(consumer); drop(importer);
//! # std::fs::remove_file(&a)?; std::fs::remove_file(&b)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [ipmpsc]: ipmpsc
//! [zenoh]: https://zenoh.io

#![warn(missing_docs)]

mod export;
mod import;
mod network;
mod wire;

pub use export::{ExportStats, Exporter};
pub use import::Importer;
pub use network::Network;

/// The zenoh crate this bridge is built with, for programs that configure their own session.
pub use zenoh;

use std::fmt;

/// Why a bridge could not go on.
#[derive(Debug)]
pub enum Error {
    /// The local channel refused (see [`ipmpsc::Error`]): a schema mismatch, no such file, a
    /// corrupt file, and the others.
    Channel(ipmpsc::Error),
    /// zenoh refused: a bad endpoint or key expression, a port in use, a closed session.
    Zenoh(zenoh::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Channel(e) => e.fmt(f),
            Error::Zenoh(e) => write!(f, "zenoh: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Channel(e) => Some(e),
            Error::Zenoh(e) => Some(&**e),
        }
    }
}

impl From<ipmpsc::Error> for Error {
    fn from(e: ipmpsc::Error) -> Self {
        Error::Channel(e)
    }
}

impl From<zenoh::Error> for Error {
    fn from(e: zenoh::Error) -> Self {
        Error::Zenoh(e)
    }
}

/// `Result` of the bridge's calls.
pub type Result<T> = std::result::Result<T, Error>;

/// Something a running bridge reports: given to the callback of [`Exporter::run`] and
/// [`Importer::run`] (the command line prints each on standard error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The importer took up an exporter's stream: its schema matches the local channel's.
    Accepted {
        /// The exporting channel's id (its `channel_id`).
        stream: u64,
        /// The exporting channel's schema, as `Name vN #hash`.
        schema: String,
    },
    /// Records were refused: by this importer (`stream` is the exporter's), or, reported by
    /// the exporter, by a remote importer. The reason is the error's message, e.g. the schema
    /// mismatch naming the field that differs.
    Refused {
        /// The exporting channel's id.
        stream: u64,
        /// Why.
        reason: String,
    },
    /// The exporter sends every record not acknowledged again (an importer asked, or none
    /// answered for a while).
    Resending {
        /// Records sent again.
        records: usize,
    },
    /// The importing channel's receiver is gone; records wait (in the exporter's channel)
    /// until one claims it again.
    WaitingForReceiver,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Accepted { stream, schema } => {
                write!(f, "stream {stream:016x} accepted: {schema}")
            }
            Event::Refused { stream, reason } => {
                write!(f, "stream {stream:016x} refused: {reason}")
            }
            Event::Resending { records } => {
                write!(f, "sending {records} records not acknowledged again")
            }
            Event::WaitingForReceiver => {
                f.write_str("the importing channel has no receiver: waiting for one")
            }
        }
    }
}
