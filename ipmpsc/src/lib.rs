//! Inter-process multi-producer, single-consumer channels over a shared memory-mapped ring.
//!
//! (Crate documentation with the typed two-process example comes with the typed API.)

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod codec;
mod error;
mod fault;
mod raw;
mod ring;
pub mod schema;
mod sys;
mod typed;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::{Error, Result};
pub use ipmpsc_derive::{channel, Schema};
pub use raw::{Receiver, Sender, SharedRingBuffer, ZeroCopyContext};
pub use schema::{Schema, SchemaMismatch, SchemaType};
pub use typed::{Channel, TypedReceiver, TypedSender, ViewGuard};
