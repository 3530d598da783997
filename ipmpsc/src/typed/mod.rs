//! The typed face that `#[ipmpsc::channel]` generates glue for: [`Channel`], [`TypedSender`],
//! [`TypedReceiver`] and [`ViewGuard`]. Opening a channel compares the schema stored in the file
//! with the one this process was built with, and refuses a mismatch.
#[cfg(feature = "async")]
mod asynch;
mod iter;
mod receiver;
mod sender;
#[cfg(test)]
mod tests;
mod view;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::schema::Schema;

#[cfg(feature = "async")]
pub use asynch::RecvStream;
pub use iter::{Iter, TryIter};
pub use receiver::TypedReceiver;
pub use sender::TypedSender;
pub use view::ViewGuard;

/// A message type with a schema: implemented by `#[ipmpsc::channel]` on an enum.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Ping {
///     Hello(String),
///     Bye,
/// }
///
/// use ipmpsc::Channel;
/// assert_eq!(Ping::SCHEMA.name, "Ping");
/// assert_eq!(Ping::SCHEMA.hash, Ping::SCHEMA_HASH);
/// assert_eq!(Ping::view_into_owned(PingView::Hello("hi")), Ping::Hello("hi".into()));
/// ```
pub trait Channel: Serialize + DeserializeOwned + Send + 'static {
    /// Name, version and structural hash of the message type.
    const SCHEMA: Schema;
    /// The borrowed form of a message: `&str` for `String`, `&[u8]` for `Vec<u8>`, and so on.
    type View<'a>: Serialize + Deserialize<'a>;
    /// Copies a view into an owned message.
    fn view_into_owned(view: Self::View<'_>) -> Self;
}
