//! [`opaque_schema!`](crate::opaque_schema): a schema declared by name and version, for types
//! whose structure ipmpsc cannot see.

/// Declares the schema of a type of your own by a name and a version instead of deriving it
/// from the type's structure: implements [`SchemaType`](crate::SchemaType) (the hash of the
/// name and the version, [`schema::hash::opaque_hash`](crate::schema::hash::opaque_hash);
/// described as `name vN`) and [`SchemaView`](crate::SchemaView) (the view is the value
/// itself, cloned, so the type must be `Clone`).
///
/// ```text
/// ipmpsc::opaque_schema!(Type, "name", version = N);
/// ```
///
/// Use it for a type that `#[derive(ipmpsc::Schema)]` cannot describe: a newtype around
/// another crate's type, or a type with hand-written `Serialize`/`Deserialize` impls. The
/// type must implement `Serialize`, `Deserialize` and `Clone`.
///
/// # Another crate's type: the newtype pattern
///
/// Rust's orphan rule forbids implementing ipmpsc's traits for a type of another crate (or
/// of the standard library) in your crate, so neither this macro nor a hand-written impl can
/// take `other_crate::Thing` directly. Wrap it in a type of your own that encodes as it does
/// (`#[serde(transparent)]`), and declare that:
///
/// ```
/// use std::ffi::CString;
///
/// use serde::{Deserialize, Serialize};
///
/// /// A C string in a message. `CString` is std's, and ipmpsc has no schema for it.
/// #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// #[serde(transparent)]
/// pub struct DeviceName(pub CString);
///
/// // The name is yours: make it unique (a crate path is a good start).
/// ipmpsc::opaque_schema!(DeviceName, "my_app::DeviceName", version = 1);
///
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Msg {
///     Open { device: DeviceName, mode: u32 },
///     Close,
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = format!("/dev/shm/ipmpsc-doc-opaque-{}", std::process::id());
/// let mut rx = Msg::create_receiver(&path, 64 * 1024)?;
/// let tx = Msg::open_sender(&path)?;
///
/// let open = Msg::Open { device: DeviceName(CString::new("camera0")?), mode: 0o600 };
/// tx.send(&open)?;
/// tx.send(&Msg::Close)?;
/// assert_eq!(rx.recv()?, open);
/// assert_eq!(rx.recv_view()?.into_owned(), Msg::Close);
///
/// // The description names the declared type and its version.
/// let mut text = String::new();
/// <DeviceName as ipmpsc::SchemaType>::describe(&mut text);
/// assert_eq!(text, "my_app::DeviceName v1");
/// # drop((tx, rx));
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
///
/// Before you wrap a type, check whether ipmpsc already knows it: the standard library's
/// types ([`schema`](crate::schema#which-types-have-a-schema)), and with the cargo features
/// `uuid` and `bytes`, `uuid::Uuid`, `bytes::Bytes` and `bytes::BytesMut`. A derived type
/// whose fields all have schemas is better described by `#[derive(ipmpsc::Schema)]`, which
/// follows its structure for you.
///
/// # When to bump the version
///
/// ipmpsc cannot see what the type encodes to, so the name and the version are the whole
/// schema: **bump the version whenever the bytes the type encodes to change** — a field added,
/// removed, reordered or retyped inside it, a new version of the wrapped crate that encodes
/// differently, a changed hand-written `Serialize` impl. A change that keeps the bytes
/// (a renamed Rust field, a new method) needs no bump. Changing the name has the same effect
/// as bumping the version.
///
/// # What happens if you don't
///
/// Two builds whose types encode differently but declare the same name and version share a
/// hash, so the channel cannot tell them apart: it accepts the sender, and its messages reach
/// the receiver. There, a message that does not decode as the receiver's type is
/// [`Error::Decode`](crate::Error::Decode) (the message is consumed, and the next receive
/// moves on); one that decodes but leaves bytes of its record unread is `Error::Decode` too;
/// and one whose bytes happen to decode exactly as the receiver's type arrives with **wrong
/// values**, and no error. Bumping the version turns all of this into a refusal when the
/// sender opens the channel ([`Error::SchemaMismatch`](crate::Error::SchemaMismatch), which
/// names the field and both versions).
///
/// # Hand-written impls
///
/// The macro is short for two impls you can write yourself (for a generic type, for
/// instance), with the folds of [`schema::hash`](crate::schema::hash):
///
/// ```
/// use ipmpsc::schema::hash::type_hash;
/// use ipmpsc::{SchemaType, SchemaView};
/// use serde::{Deserialize, Serialize};
///
/// /// Encodes as its `T`: hash its name and its argument.
/// #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
/// #[serde(transparent)]
/// pub struct Celsius<T>(pub T);
///
/// impl<T: SchemaType> SchemaType for Celsius<T> {
///     const HASH: u64 = type_hash("my_app::Celsius", &[T::HASH]);
///     fn describe(out: &mut String) {
///         out.push_str("my_app::Celsius<");
///         T::describe(out);
///         out.push('>');
///     }
/// }
///
/// impl<T: SchemaView + Copy> SchemaView for Celsius<T> {
///     type View<'a> = Self where Self: 'a;
///     fn view(&self) -> Self {
///         *self
///     }
///     fn from_view<'a>(view: Self) -> Self where Self: 'a {
///         view
///     }
///     // How a `Vec<Celsius<T>>` is viewed: as itself here.
///     type SliceView<'a> = Vec<Self> where Self: 'a;
///     fn view_slice(items: &[Self]) -> Vec<Self> {
///         items.to_vec()
///     }
///     fn vec_from_view<'a>(view: Vec<Self>) -> Vec<Self> where Self: 'a {
///         view
///     }
/// }
///
/// assert_ne!(<Celsius<f32>>::HASH, <Celsius<f64>>::HASH);
/// assert_ne!(<Celsius<f32>>::HASH, <f32>::HASH);
/// ```
#[macro_export]
macro_rules! opaque_schema {
    ($ty:ty, $name:expr, version = $version:expr $(,)?) => {
        impl $crate::SchemaType for $ty {
            const HASH: u64 = $crate::schema::hash::opaque_hash($name, $version);
            fn describe(__ipmpsc_out: &mut ::std::string::String) {
                let __ipmpsc_version: u32 = $version;
                __ipmpsc_out.push_str($name);
                __ipmpsc_out.push_str(" v");
                __ipmpsc_out.push_str(&::std::string::ToString::to_string(&__ipmpsc_version));
            }
        }

        impl $crate::SchemaView for $ty {
            type View<'a>
                = Self
            where
                Self: 'a;
            fn view(&self) -> Self {
                ::core::clone::Clone::clone(self)
            }
            fn from_view<'a>(__ipmpsc_view: Self) -> Self
            where
                Self: 'a,
            {
                __ipmpsc_view
            }
            $crate::__slice_of_views!();
        }
    };
}
