//! Typed inter-process channels: many producer processes, one consumer process, and a
//! lock-free ring buffer in a memory-mapped file between them.
//!
//! `#[ipmpsc::channel]` on a message enum generates everything a channel needs: a structural
//! schema hash computed at compile time, typed senders and receivers, and a borrowed *view* of
//! each message (`MsgView<'a>`) whose `&str` and `&[u8]` fields point straight into shared
//! memory. The schema is written into the channel file when the receiver creates it and checked
//! by everyone who opens it, so a producer built from another version of the enum is refused.
//!
//! ```
//! use std::process::Command;
//!
//! #[ipmpsc::channel]
//! #[derive(Debug, PartialEq)]
//! pub enum Msg {
//!     Frame { width: u32, height: u32, pixels: Vec<u8> },
//!     Log(String),
//!     Stop,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! if let Ok(path) = std::env::var("IPMPSC_DOC_CHANNEL") {
//!     // The producer: this same program, started again by the consumer below.
//!     let tx = Msg::open_sender(&path)?;
//!     tx.send(&Msg::Log(format!("hello from process {}", std::process::id())))?;
//!     // A view sends borrowed data without building an owned message.
//!     tx.send_view(&MsgView::Frame { width: 2, height: 2, pixels: &[0, 64, 128, 255] })?;
//!     tx.send(&Msg::Stop)?;
//!     return Ok(());
//! }
//!
//! // The consumer creates the channel, then starts a producer process.
//! let path = format!("/dev/shm/ipmpsc-doc-crate-{}", std::process::id());
//! let mut rx = Msg::create_receiver(&path, 64 * 1024)?;
//! let mut producer = Command::new(std::env::current_exe()?)
//!     .env("IPMPSC_DOC_CHANNEL", &path)
//!     .spawn()?;
//!
//! let mut frames = 0;
//! loop {
//!     let msg = rx.recv_view()?; // borrows the ring: no copy
//!     match &*msg {
//!         MsgView::Log(line) => println!("{line}"),
//!         MsgView::Frame { width, height, pixels } => {
//!             assert_eq!(pixels.len() as u32, width * height);
//!             frames += 1;
//!         }
//!         MsgView::Stop => break,
//!     }
//! }
//! assert_eq!(frames, 1);
//! assert!(producer.wait()?.success());
//! std::fs::remove_file(&path)?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is where
//!
//! - The typed API: [`channel`] (the attribute), [`Channel`], [`TypedSender`], [`TypedReceiver`],
//!   [`ViewGuard`]; [`Schema`](derive@Schema) for types nested in messages.
//! - The untyped API of ipmpsc 0.5: [`SharedRingBuffer`], [`Sender`], [`Receiver`],
//!   [`ZeroCopyContext`]: any serde type, no schema check.
//! - A channel's encoded records, for programs that move messages without knowing their type
//!   (the `ipmpsc-bridge` crate carries them between machines over zenoh): [`records`], with
//!   acknowledged, at-least-once delivery.
//! - Waiting on several receivers at once: [`select`](mod@select) and [`select!`]. Async receives and
//!   sends (`recv_async`, `recv_view_async`, `into_stream`, `send_async`): the `tokio` feature.
//! - Everything that can go wrong: [`Error`].
//! - Which types a message can hold, and how to declare one ipmpsc does not know:
//!   [`schema`](schema#which-types-have-a-schema), [`opaque_schema!`].
//!
//! # Cargo features
//!
//! Off by default.
//!
//! - `tokio` (or its other name, `async`): `TypedReceiver::recv_async`,
//!   `recv_view_async`, `TypedReceiver::into_stream` (a `futures_core::Stream`),
//!   `TypedSender::send_async` and `send_view_async`. The futures work on any executor
//!   (they are tested on tokio); they are woken by one waiter thread per process, which sleeps
//!   on the channels' futex words, so nothing polls. The one dependency it adds is
//!   `futures-core`.
//!
//! The others each implement [`SchemaType`] and [`SchemaView`] for another crate's types and
//! turn on that crate's `serde` feature:
//!
//! - `uuid`: `uuid::Uuid` (its 16 bytes; its own view).
//! - `bytes`: `bytes::Bytes` and `bytes::BytesMut` (a byte string, hashed and viewed as
//!   `Vec<u8>` is: as a `&[u8]`).
//!
//! # Guarantees
//!
//! Producers reserve space lock-free and encode straight into shared memory; the receiver reads
//! in place. Order is FIFO per producer, and nothing is lost or duplicated. Who is alive is
//! decided by the kernel (a byte-range lock on the file per receiver and per sender), so
//! however a process ends, the other side knows: senders get [`Error::Disconnected`] once the
//! receiver is gone, and a typed receiver gets it once every sender is gone and everything was
//! received. A producer killed mid-send delays the receiver by at most about 100 ms; a receiver
//! killed mid-read loses nothing committed (the next receiver delivers the message it was
//! reading again). Of processes racing to create one channel, exactly one becomes its
//! receiver, and a channel still in use is never replaced. Bytes in the file are untrusted: a
//! corrupt or hostile file gives [`Error::Corrupt`] or [`Error::IncompatibleRingBuffer`],
//! never a panic or an out-of-bounds read; owned receives check strings on private copies,
//! while views trust the file's writers. Linux only for now; the README's guarantees and
//! safety notes have the details and the measured numbers.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

// Lets the crate's own tests use `#[ipmpsc::channel]`, whose output names `::ipmpsc`.
#[cfg(test)]
extern crate self as ipmpsc;

mod codec;
mod error;
mod fault;
pub mod inspect;
mod raw;
pub mod records;
mod ring;
pub mod schema;
pub mod select;
mod sys;
mod typed;
#[cfg(feature = "async")]
mod waiter;
pub mod wire;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{Error, Result};
pub use ipmpsc_derive::{channel, Schema};
pub use raw::{Loan, LoanUninit, Receiver, Sender, SharedRingBuffer, ZeroCopyContext};
pub use schema::{Schema, SchemaMismatch, SchemaType, SchemaView};
#[cfg(feature = "async")]
pub use typed::RecvStream;
pub use typed::{Channel, Iter, TryIter, TypedReceiver, TypedSender, ViewGuard};
