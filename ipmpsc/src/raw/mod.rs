//! The untyped channel, with the names and behaviour of ipmpsc 0.5: a [`SharedRingBuffer`] is
//! shared by any number of [`Sender`]s in any number of processes and one [`Receiver`]; any
//! `Serialize` value can be sent and any `Deserialize` value received.
//!
//! A raw channel records schema hash 0 ("untyped") in its header. Opening a typed channel
//! (created by `#[ipmpsc::channel]` code) with [`SharedRingBuffer::open`] is refused, and so is
//! the reverse.

mod buffer;
mod loan;
mod open_wait;
mod receiver;
mod sender;
mod zero_copy;

pub(crate) use buffer::check_schema;
pub use buffer::SharedRingBuffer;
pub use loan::{Loan, LoanUninit};
pub(crate) use open_wait::open_sender_within;
pub(crate) use receiver::take_owned;
pub use receiver::Receiver;
pub use sender::Sender;
pub use zero_copy::ZeroCopyContext;
