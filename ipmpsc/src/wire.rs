//! A serde `with`-module for fields of channel messages: the same bytes as serde's own
//! encoding, written faster. Byte buffers (`Vec<u8>`, `Box<[u8]>`, at any depth of `Option`,
//! `Vec` and `Box`) are written and read in one piece instead of one `u8` at a time; every
//! other type is encoded exactly as its `Serialize` impl does.
//!
//! `#[ipmpsc::channel]` puts it on every field of a message, and on every field of the
//! views it generates. Put it on byte-buffer fields of your own `#[derive(ipmpsc::Schema)]`
//! types to make them as fast to send and receive as the same field of a message: because
//! it does not change the bytes, the schema hash stays the same, and the derive accepts it.
//!
//! # Examples
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, ipmpsc::Schema)]
//! pub struct FrameData {
//!     pub width: u32,
//!     #[serde(with = "ipmpsc::wire")]
//!     pub pixels: Vec<u8>,
//! }
//!
//! #[ipmpsc::channel]
//! pub enum Msg {
//!     Frame(FrameData),
//! }
//! # let _ = Msg::SCHEMA_HASH;
//! ```

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

use crate::SchemaView;

/// Serializes `value` to the bytes its `Serialize` impl would write, byte buffers in one piece.
pub fn serialize<T: SchemaView, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    value.serialize_wire(serializer)
}

/// Deserializes what [`serialize`] (or `T`'s own `Serialize`) wrote.
pub fn deserialize<'de, T: SchemaView, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize_wire(deserializer)
}

/// Serializes a view of a `T` to the bytes `T` encodes to (for `serialize_with` on a view's
/// field).
pub fn serialize_view<T: SchemaView, S: Serializer>(
    view: &T::View<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    T::serialize_view(view, serializer)
}

/// A value serialized through [`SchemaView::serialize_wire`].
pub(crate) struct Wire<'a, T>(pub(crate) &'a T);

impl<T: SchemaView> Serialize for Wire<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_wire(serializer)
    }
}

/// A view of a `T` serialized through [`SchemaView::serialize_view`].
#[doc(hidden)]
pub struct WireView<'a, 'v, T: SchemaView + 'v>(&'a T::View<'v>);

impl<'a, 'v, T: SchemaView + 'v> WireView<'a, 'v, T> {
    /// Wraps a view.
    pub fn new(view: &'a T::View<'v>) -> Self {
        WireView(view)
    }
}

impl<'v, T: SchemaView + 'v> Serialize for WireView<'_, 'v, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        T::serialize_view(self.0, serializer)
    }
}

/// A value deserialized through [`SchemaView::deserialize_wire`].
pub(crate) struct DeWire<T>(pub(crate) T);

impl<'de, T: SchemaView> Deserialize<'de> for DeWire<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_wire(deserializer).map(DeWire)
    }
}

/// A sequence of `T`, each read through [`SchemaView::deserialize_wire`].
pub(crate) fn deserialize_seq<'de, T: SchemaView, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    let items = Vec::<DeWire<T>>::deserialize(deserializer)?;
    Ok(items.into_iter().map(|DeWire(item)| item).collect())
}
