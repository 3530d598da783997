//! Schemas and views of the standard library's types that messages carry besides numbers,
//! strings and containers ([`impls`](super::impls) and [`view`](super::view) have those):
//! time, network addresses, non-zero integers, ranges, paths, the wrappers of `std::num`
//! and `std::cmp`, `PhantomData`, and the shared and borrowed pointers.
//!
//! Each hash follows what serde's impl writes in a non-human-readable format such as
//! bincode: a type with an encoding of its own hashes by its own name; a pointer that encodes
//! as what it points to (`Rc<T>`, `Arc<T>`, `Cow<'static, str>`) hashes as that.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::num::{
    NonZeroI128, NonZeroI16, NonZeroI32, NonZeroI64, NonZeroI8, NonZeroIsize, NonZeroU128,
    NonZeroU16, NonZeroU32, NonZeroU64, NonZeroU8, NonZeroUsize, Wrapping,
};
use std::ops::{Range, RangeInclusive};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserializer, Serializer};

use super::hash::type_hash;
use super::view::{by_value, owned_string, sequence_view, slice_of_views, str_view};
use super::{SchemaType, SchemaView};

/// Types that hash and describe by a name and are their own view (copied). The name is the
/// type's own, except for `usize`-sized integers, which bincode encodes as 64 bits.
macro_rules! named_value {
    ($($ty:ty => $name:literal),* $(,)?) => {$(
        impl SchemaType for $ty {
            const HASH: u64 = type_hash($name, &[]);
            fn describe(out: &mut String) {
                out.push_str($name);
            }
        }

        by_value!($ty);
    )*};
}

named_value! {
    // struct Duration { secs: u64, nanos: u32 }
    Duration => "Duration",
    // struct SystemTime { secs_since_epoch: u64, nanos_since_epoch: u32 }; a time before
    // the epoch cannot be encoded (`Error::Encode`).
    SystemTime => "SystemTime",
    // enum IpAddr { V4(Ipv4Addr), V6(Ipv6Addr) }, the addresses as their octets ([u8; 4],
    // [u8; 16]); the socket addresses as (address, port), and an enum of both. serde leaves
    // out a `SocketAddrV6`'s flow info and scope id: they arrive as 0.
    IpAddr => "IpAddr",
    Ipv4Addr => "Ipv4Addr",
    Ipv6Addr => "Ipv6Addr",
    SocketAddr => "SocketAddr",
    SocketAddrV4 => "SocketAddrV4",
    SocketAddrV6 => "SocketAddrV6",
    // The integer; decoding refuses 0.
    NonZeroU8 => "NonZeroU8",
    NonZeroU16 => "NonZeroU16",
    NonZeroU32 => "NonZeroU32",
    NonZeroU64 => "NonZeroU64",
    NonZeroU128 => "NonZeroU128",
    NonZeroUsize => "NonZeroU64",
    NonZeroI8 => "NonZeroI8",
    NonZeroI16 => "NonZeroI16",
    NonZeroI32 => "NonZeroI32",
    NonZeroI64 => "NonZeroI64",
    NonZeroI128 => "NonZeroI128",
    NonZeroIsize => "NonZeroI64",
}

/// Encodes as nothing, whatever `T` is.
impl<T: ?Sized> SchemaType for PhantomData<T> {
    const HASH: u64 = type_hash("PhantomData", &[]);
    fn describe(out: &mut String) {
        out.push_str("PhantomData");
    }
}

impl<T: ?Sized> SchemaView for PhantomData<T> {
    type View<'a>
        = PhantomData<T>
    where
        Self: 'a;
    fn view(&self) -> Self {
        PhantomData
    }
    fn from_view<'a>(view: Self) -> Self
    where
        Self: 'a,
    {
        view
    }
    slice_of_views!();
}

/// Types that hash and describe as `Name<T>`.
macro_rules! generic_schema {
    ($($ty:ident => $name:literal),* $(,)?) => {$(
        impl<T: SchemaType> SchemaType for $ty<T> {
            const HASH: u64 = type_hash($name, &[T::HASH]);
            fn describe(out: &mut String) {
                out.push_str(concat!($name, "<"));
                T::describe(out);
                out.push('>');
            }
        }
    )*};
}

generic_schema! {
    // struct Range { start: T, end: T }
    Range => "Range",
    // struct RangeInclusive { start: T, end: T }; an exhausted range arrives un-exhausted,
    // as serde decodes it.
    RangeInclusive => "RangeInclusive",
    // The `T` inside, as is; a type of its own all the same.
    Wrapping => "Wrapping",
    Reverse => "Reverse",
}

impl<T: SchemaView> SchemaView for Range<T> {
    type View<'a>
        = Range<T::View<'a>>
    where
        T: 'a;
    fn view(&self) -> Self::View<'_> {
        self.start.view()..self.end.view()
    }
    fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
        T::from_view(view.start)..T::from_view(view.end)
    }
    slice_of_views!();
}

impl<T: SchemaView> SchemaView for RangeInclusive<T> {
    type View<'a>
        = RangeInclusive<T::View<'a>>
    where
        T: 'a;
    fn view(&self) -> Self::View<'_> {
        self.start().view()..=self.end().view()
    }
    fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
        let (start, end) = view.into_inner();
        T::from_view(start)..=T::from_view(end)
    }
    slice_of_views!();
}

/// Newtypes that encode as the `T` inside: the view wraps `T`'s view, and the fast paths
/// are `T`'s.
macro_rules! newtype_view {
    ($($ty:ident),* $(,)?) => {$(
        impl<T: SchemaView> SchemaView for $ty<T> {
            type View<'a>
                = $ty<T::View<'a>>
            where
                T: 'a;
            fn view(&self) -> Self::View<'_> {
                $ty(self.0.view())
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
            where
                Self: 'a,
            {
                $ty(T::from_view(view.0))
            }
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize_wire(serializer)
            }
            fn deserialize_wire<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                T::deserialize_wire(deserializer).map($ty)
            }
            fn serialize_view<'v, S: Serializer>(
                view: &Self::View<'v>,
                serializer: S,
            ) -> Result<S::Ok, S::Error>
            where
                Self: 'v,
            {
                T::serialize_view(&view.0, serializer)
            }
            slice_of_views!();
        }
    )*};
}

newtype_view!(Wrapping, Reverse);

/// A path is encoded as its text (`Error::Encode` if it is not UTF-8), and hashes as a type
/// of its own: it is viewed as a `&Path`, not as a `&str`.
impl SchemaType for PathBuf {
    const HASH: u64 = type_hash("PathBuf", &[]);
    fn describe(out: &mut String) {
        out.push_str("PathBuf");
    }
}

/// `Path` is to `PathBuf` what `str` is to `String`: `Box<Path>` is a `PathBuf`.
impl SchemaType for Path {
    const HASH: u64 = PathBuf::HASH;
    fn describe(out: &mut String) {
        PathBuf::describe(out)
    }
}

impl SchemaView for PathBuf {
    type View<'a> = &'a Path;
    fn view(&self) -> &Path {
        self
    }
    fn from_view<'a>(view: &'a Path) -> Self
    where
        Self: 'a,
    {
        // A path has no UTF-8 invariant to keep, so a plain copy is already private.
        view.to_path_buf()
    }
    slice_of_views!();
}

impl SchemaView for Box<Path> {
    type View<'a> = &'a Path;
    fn view(&self) -> &Path {
        self
    }
    fn from_view<'a>(view: &'a Path) -> Self
    where
        Self: 'a,
    {
        view.into()
    }
    slice_of_views!();
}

/// A `Cow` encodes as what it borrows or owns, so it hashes as the borrowed type:
/// `Cow<str>` as `String`, `Cow<[T]>` as `Vec<T>`.
impl<B: SchemaType + ToOwned + ?Sized> SchemaType for Cow<'_, B> {
    const HASH: u64 = B::HASH;
    fn describe(out: &mut String) {
        B::describe(out)
    }
}

str_view!(Cow<'static, str>);

sequence_view! {
    [+ Clone] Cow<'static, [T]> => Cow::Owned;
}

impl SchemaView for Cow<'static, Path> {
    type View<'a> = &'a Path;
    fn view(&self) -> &Path {
        self
    }
    fn from_view<'a>(view: &'a Path) -> Self
    where
        Self: 'a,
    {
        Cow::Owned(view.to_path_buf())
    }
    slice_of_views!();
}

/// Shared pointers are transparent, like `Box`: serde encodes the value they point to (once
/// per pointer: two `Rc`s to one value arrive as two values), so they hash, describe and view
/// as it.
macro_rules! shared_pointer {
    ($($rc:ident),* $(,)?) => {$(
        impl<T: SchemaType + ?Sized> SchemaType for $rc<T> {
            const HASH: u64 = T::HASH;
            fn describe(out: &mut String) {
                T::describe(out)
            }
        }

        impl<T: SchemaView> SchemaView for $rc<T> {
            type View<'a>
                = T::View<'a>
            where
                T: 'a;
            fn view(&self) -> Self::View<'_> {
                T::view(self)
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
            where
                Self: 'a,
            {
                $rc::new(T::from_view(view))
            }
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                T::serialize_wire(self, serializer)
            }
            fn deserialize_wire<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                T::deserialize_wire(deserializer).map($rc::new)
            }
            fn serialize_view<'v, S: Serializer>(
                view: &Self::View<'v>,
                serializer: S,
            ) -> Result<S::Ok, S::Error>
            where
                Self: 'v,
            {
                T::serialize_view(view, serializer)
            }
            slice_of_views!();
        }

        str_view!($rc<str>);

        sequence_view! {
            [] $rc<[T]> => $rc::from;
        }
    )*};
}

shared_pointer!(Rc, Arc);
