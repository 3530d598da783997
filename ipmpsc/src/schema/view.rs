//! [`SchemaView`]: the borrowed form of every type that can be part of a message, so that a
//! view received from a channel borrows its strings and byte buffers from shared memory at
//! any depth, and `as_view` never copies payload bytes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::{DeWire, Wire, WireView};

use super::SchemaType;

/// The borrowed form of a type that can be part of a channel message.
///
/// A type and its view encode to the same bytes, so a receiver can decode either from any
/// record, and a sender can send either. Strings are viewed as `&str`, byte buffers
/// (`Vec<u8>`, `Box<[u8]>`) as `&[u8]`, containers view their elements
/// (`Vec<String>` as `Vec<&str>`, `(String, String)` as `(&str, &str)`, maps and sets as a
/// `Vec` of their entries, which bincode encodes alike), numbers and other small values are
/// their own view, and `#[derive(ipmpsc::Schema)]` generates a view type for a struct or
/// enum of your own (`MetaView<'a>` for `Meta`).
///
/// Sequences dispatch on their element through [`SliceView`](SchemaView::SliceView), which
/// is how `Vec<u8>` becomes `&[u8]` while `Vec<String>` becomes `Vec<&str>`.
///
/// # Examples
///
/// ```
/// use ipmpsc::SchemaView;
///
/// let owned: Vec<(String, Vec<u8>)> = vec![("a".to_owned(), vec![1, 2])];
/// let view: Vec<(&str, &[u8])> = owned.view();
/// assert_eq!(view, [("a", &[1u8, 2][..])]);
/// assert_eq!(<Vec<(String, Vec<u8>)>>::from_view(view), owned);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a channel message: it has no view",
    label = "`{Self}` does not implement `ipmpsc::SchemaView`",
    note = "`#[derive(ipmpsc::Schema)]` implements it (with `SchemaType`) for a struct or enum \
            of your own, `ipmpsc::opaque_schema!` for any other type of your own; a type whose \
            schema you implement by hand needs both"
)]
pub trait SchemaView: SchemaType + Serialize + DeserializeOwned + Sized {
    /// The borrowed form, borrowing for `'a`; it encodes to the same bytes as `Self`.
    type View<'a>: Serialize + Deserialize<'a>
    where
        Self: 'a;

    /// The borrowed form of a sequence of `Self` (`Vec<Self>`, `Box<[Self]>`): `Vec<Self::View<'a>>` for most types, `&'a [u8]` for `u8`.
    type SliceView<'a>: Serialize + Deserialize<'a>
    where
        Self: 'a;

    /// Borrows `self` as its view (what a message's `as_view` calls for each field).
    fn view(&self) -> Self::View<'_>;

    /// Copies a view out into an owned value (what a view's `into_owned` calls). Strings are
    /// copied before they are checked, since a view received from a channel points into memory
    /// that other processes can write.
    fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a;

    /// Borrows a sequence of `Self` as its view.
    fn view_slice(items: &[Self]) -> Self::SliceView<'_>;

    /// Copies a viewed sequence out.
    fn vec_from_view<'a>(view: Self::SliceView<'a>) -> Vec<Self>
    where
        Self: 'a;

    /// Serializes `self` as [`wire`](crate::wire) does: the same bytes as `Serialize`, with
    /// byte buffers written in one piece at any depth. Override only to be faster.
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize(serializer)
    }

    /// Deserializes what [`serialize_wire`](SchemaView::serialize_wire) wrote.
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::deserialize(deserializer)
    }

    /// Serializes a view of `Self` to the bytes `Self` encodes to.
    fn serialize_view<'v, S: Serializer>(
        view: &Self::View<'v>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        Self: 'v,
    {
        view.serialize(serializer)
    }

    /// Serializes a sequence of `Self` (as `Vec<Self>` encodes).
    fn serialize_slice<S: Serializer>(items: &[Self], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(items.iter().map(Wire))
    }

    /// Deserializes what [`serialize_slice`](SchemaView::serialize_slice) wrote.
    fn deserialize_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Self>, D::Error> {
        crate::wire::deserialize_seq(deserializer)
    }

    /// Serializes a viewed sequence of `Self` (as `Vec<Self>` encodes).
    fn serialize_slice_view<'v, S: Serializer>(
        view: &Self::SliceView<'v>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        Self: 'v,
    {
        view.serialize(serializer)
    }
}

/// The usual sequence view: a `Vec` of element views. For the `SliceView` part of an impl.
/// (Its bindings start with `__ipmpsc`, so that constants of the caller cannot capture them.)
#[macro_export]
#[doc(hidden)]
macro_rules! __slice_of_views {
    () => {
        type SliceView<'__ipmpsc_a>
            = ::std::vec::Vec<<Self as $crate::SchemaView>::View<'__ipmpsc_a>>
        where
            Self: '__ipmpsc_a;
        fn view_slice(__ipmpsc_items: &[Self]) -> <Self as $crate::SchemaView>::SliceView<'_> {
            __ipmpsc_items
                .iter()
                .map(|__ipmpsc_item| <Self as $crate::SchemaView>::view(__ipmpsc_item))
                .collect()
        }
        fn serialize_slice_view<'__ipmpsc_v, __IpmpscS: $crate::__private::serde::Serializer>(
            __ipmpsc_view: &<Self as $crate::SchemaView>::SliceView<'__ipmpsc_v>,
            __ipmpsc_serializer: __IpmpscS,
        ) -> ::core::result::Result<__IpmpscS::Ok, __IpmpscS::Error>
        where
            Self: '__ipmpsc_v,
        {
            __ipmpsc_serializer.collect_seq(
                __ipmpsc_view
                    .iter()
                    .map($crate::__private::WireView::<Self>::new),
            )
        }
        fn vec_from_view<'__ipmpsc_a>(
            __ipmpsc_view: <Self as $crate::SchemaView>::SliceView<'__ipmpsc_a>,
        ) -> ::std::vec::Vec<Self>
        where
            Self: '__ipmpsc_a,
        {
            __ipmpsc_view
                .into_iter()
                .map(|__ipmpsc_item| <Self as $crate::SchemaView>::from_view(__ipmpsc_item))
                .collect()
        }
    };
}
pub use crate::__slice_of_views as slice_of_views;

/// Copies a string out of a view, then checks the copy: a view's `&str` points into shared
/// memory, which a hostile writer could change after the view was decoded, so validity is
/// established on private bytes (invalid sequences become U+FFFD).
pub(crate) fn owned_string(view: &str) -> String {
    let copy = view.as_bytes().to_vec();
    String::from_utf8(copy).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Types that are their own view (copied).
macro_rules! by_value {
    ($($ty:ty),* $(,)?) => {$(
        impl SchemaView for $ty {
            type View<'a> = $ty;
            fn view(&self) -> $ty {
                *self
            }
            fn from_view<'a>(view: $ty) -> $ty
            where
                Self: 'a,
            {
                view
            }
            slice_of_views!();
        }
    )*};
}

pub(super) use by_value;

by_value!(
    bool,
    char,
    (),
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    u16,
    u32,
    u64,
    u128,
    usize,
    f32,
    f64
);

impl SchemaView for u8 {
    type View<'a> = u8;
    fn view(&self) -> u8 {
        *self
    }
    fn from_view<'a>(view: u8) -> u8
    where
        Self: 'a,
    {
        view
    }
    type SliceView<'a> = &'a [u8];
    fn view_slice(items: &[u8]) -> &[u8] {
        items
    }
    fn vec_from_view<'a>(view: &'a [u8]) -> Vec<u8>
    where
        Self: 'a,
    {
        view.to_vec()
    }
    fn serialize_slice<S: Serializer>(items: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(items)
    }
    fn deserialize_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        serde_bytes::ByteBuf::deserialize(deserializer).map(serde_bytes::ByteBuf::into_vec)
    }
    fn serialize_slice_view<'v, S: Serializer>(
        view: &&'v [u8],
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        Self: 'v,
    {
        serializer.serialize_bytes(view)
    }
}

/// Types viewed as `&str`, owned again from a copy checked for UTF-8 (see [`owned_string`]).
macro_rules! str_view {
    ($($ty:ty),* $(,)?) => {$(
        impl SchemaView for $ty {
            type View<'a> = &'a str;
            fn view(&self) -> &str {
                self
            }
            fn from_view<'a>(view: &'a str) -> Self
            where
                Self: 'a,
            {
                <$ty>::from(owned_string(view))
            }
            slice_of_views!();
        }
    )*};
}
pub(super) use str_view;

str_view!(String, Box<str>);

/// Sequences of `T`, viewed as `T::SliceView` (`&[u8]` for bytes, a `Vec` of views
/// otherwise) and written through `T`'s slice methods; `$from_vec` makes one from a `Vec<T>`.
/// `[$bounds]`: what `T` needs beyond `SchemaView`.
macro_rules! sequence_view {
    ($([$($bound:tt)*] $ty:ty => $from_vec:expr;)*) => {$(
        impl<T: SchemaView $($bound)*> SchemaView for $ty {
            type View<'a>
                = T::SliceView<'a>
            where
                T: 'a;
            fn view(&self) -> Self::View<'_> {
                T::view_slice(self)
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
            where
                Self: 'a,
            {
                ($from_vec)(T::vec_from_view(view))
            }
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                T::serialize_slice(self, serializer)
            }
            fn deserialize_wire<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                T::deserialize_vec(deserializer).map($from_vec)
            }
            fn serialize_view<'v, S: Serializer>(
                view: &Self::View<'v>,
                serializer: S,
            ) -> Result<S::Ok, S::Error>
            where
                Self: 'v,
            {
                T::serialize_slice_view(view, serializer)
            }
            slice_of_views!();
        }
    )*};
}
pub(super) use sequence_view;

sequence_view! {
    [] Vec<T> => std::convert::identity;
    [] Box<[T]> => Vec::into_boxed_slice;
}

impl<T: SchemaView> SchemaView for Option<T> {
    type View<'a>
        = Option<T::View<'a>>
    where
        T: 'a;
    fn view(&self) -> Self::View<'_> {
        self.as_ref().map(|item| T::view(item))
    }
    fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
        view.map(|item| T::from_view(item))
    }
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(value) => serializer.serialize_some(&Wire(value)),
            None => serializer.serialize_none(),
        }
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<DeWire<T>>::deserialize(deserializer).map(|o| o.map(|DeWire(v)| v))
    }
    fn serialize_view<'v, S: Serializer>(
        view: &Self::View<'v>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>
    where
        Self: 'v,
    {
        match view {
            Some(value) => serializer.serialize_some(&WireView::<T>::new(value)),
            None => serializer.serialize_none(),
        }
    }
    slice_of_views!();
}

impl<T: SchemaView> SchemaView for Box<T> {
    // Boxed in the view too: a recursive type (`Add(Box<Expr>, Box<Expr>)`) needs it.
    type View<'a>
        = Box<T::View<'a>>
    where
        T: 'a;
    fn view(&self) -> Self::View<'_> {
        Box::new(T::view(self))
    }
    fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
        Box::new(T::from_view(*view))
    }
    fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        T::serialize_wire(self, serializer)
    }
    fn deserialize_wire<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_wire(deserializer).map(Box::new)
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

/// Sets and deques are viewed as a `Vec` of their items (bincode encodes both as a length
/// and the items; a deque's items may wrap around its buffer, so it cannot lend one slice).
macro_rules! set {
    ($($set:ident: $($bound:path),*;)*) => {$(
        impl<T: SchemaView $(+ $bound)*> SchemaView for $set<T> {
            type View<'a>
                = Vec<T::View<'a>>
            where
                T: 'a;
            fn view(&self) -> Self::View<'_> {
                self.iter().map(|item| T::view(item)).collect()
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
                view.into_iter().map(|item| T::from_view(item)).collect()
            }
            slice_of_views!();
        }
    )*};
}

set! {
    VecDeque: ;
    HashSet: Eq, Hash;
    BTreeSet: Ord;
}

/// Maps are viewed as a `Vec` of `(key, value)` pairs (bincode encodes both as a length and
/// the pairs).
macro_rules! map {
    ($($map:ident: $($bound:path),*;)*) => {$(
        impl<K: SchemaView $(+ $bound)*, V: SchemaView> SchemaView for $map<K, V> {
            type View<'a>
                = Vec<(K::View<'a>, V::View<'a>)>
            where
                K: 'a,
                V: 'a;
            fn view(&self) -> Self::View<'_> {
                self.iter().map(|(k, v)| (k.view(), v.view())).collect()
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
                view.into_iter()
                    .map(|(k, v)| (K::from_view(k), V::from_view(v)))
                    .collect()
            }
            slice_of_views!();
        }
    )*};
}

map! {
    HashMap: Eq, Hash;
    BTreeMap: Ord;
}

/// Arrays are their own view (cloned): serde encodes them only up to 32 items, which the
/// bounds express.
impl<T, const N: usize> SchemaView for [T; N]
where
    T: SchemaView + Clone,
    [T; N]: Serialize + for<'de> Deserialize<'de>,
{
    type View<'a>
        = [T; N]
    where
        T: 'a;
    fn view(&self) -> Self {
        self.clone()
    }
    fn from_view<'a>(view: Self) -> Self
    where
        Self: 'a,
    {
        view
    }
    slice_of_views!();
}

macro_rules! tuple {
    ($(($($t:ident $i:tt),+);)*) => {$(
        impl<$($t: SchemaView),+> SchemaView for ($($t,)+) {
            type View<'a>
                = ($($t::View<'a>,)+)
            where
                $($t: 'a),+;
            fn view(&self) -> Self::View<'_> {
                ($(self.$i.view(),)+)
            }
            fn from_view<'a>(view: Self::View<'a>) -> Self
    where
        Self: 'a,
    {
                ($($t::from_view(view.$i),)+)
            }
            fn serialize_wire<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeTuple as _;
                let mut tuple = serializer.serialize_tuple(0 $(+ { let _ = $i; 1 })+)?;
                $(tuple.serialize_element(&Wire(&self.$i))?;)+
                tuple.end()
            }
            fn serialize_view<'v, S: Serializer>(view: &Self::View<'v>, serializer: S) -> Result<S::Ok, S::Error>
    where
        Self: 'v,
    {
                use serde::ser::SerializeTuple as _;
                let mut tuple = serializer.serialize_tuple(0 $(+ { let _ = $i; 1 })+)?;
                $(tuple.serialize_element(&WireView::<$t>::new(&view.$i))?;)+
                tuple.end()
            }
            slice_of_views!();
        }
    )*};
}

tuple! {
    (A 0);
    (A 0, B 1);
    (A 0, B 1, C 2);
    (A 0, B 1, C 2, D 3);
    (A 0, B 1, C 2, D 3, E 4);
    (A 0, B 1, C 2, D 3, E 4, F 5);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
}
