//! Schemas and views of other crates' types that messages often carry, each behind the
//! cargo feature of the same name (off by default). The orphan rule lets only ipmpsc or the
//! other crate implement ipmpsc's traits for them; for any other foreign type, see
//! [`opaque_schema!`](crate::opaque_schema).

#[cfg(feature = "uuid")]
mod uuid {
    use crate::schema::hash::type_hash;
    use crate::schema::view::slice_of_views;
    use crate::{SchemaType, SchemaView};

    /// `uuid::Uuid`, with `uuid`'s `serde` feature: its 16 bytes as a byte string (in a binary
    /// format such as bincode; human-readable formats write text). A type of its own, viewed
    /// as itself.
    impl SchemaType for ::uuid::Uuid {
        const HASH: u64 = type_hash("Uuid", &[]);
        fn describe(out: &mut String) {
            out.push_str("Uuid");
        }
    }

    impl SchemaView for ::uuid::Uuid {
        type View<'a> = ::uuid::Uuid;
        fn view(&self) -> Self {
            *self
        }
        fn from_view<'a>(view: Self) -> Self
        where
            Self: 'a,
        {
            view
        }
        slice_of_views!();
    }
}

#[cfg(feature = "bytes")]
mod bytes {
    use ::bytes::{Bytes, BytesMut};

    use crate::schema::view::slice_of_views;
    use crate::{SchemaType, SchemaView};

    /// `bytes::Bytes` and `bytes::BytesMut`, with `bytes`'s `serde` feature: a byte string,
    /// as `Vec<u8>` encodes, and viewed as a `&[u8]` as `Vec<u8>` is, so they hash and
    /// describe as `Vec<u8>`.
    macro_rules! byte_buffer {
        ($($ty:ty => $from_view:expr),* $(,)?) => {$(
            impl SchemaType for $ty {
                const HASH: u64 = <Vec<u8> as SchemaType>::HASH;
                fn describe(out: &mut String) {
                    <Vec<u8> as SchemaType>::describe(out)
                }
            }

            impl SchemaView for $ty {
                type View<'a> = &'a [u8];
                fn view(&self) -> &[u8] {
                    self
                }
                fn from_view<'a>(view: &'a [u8]) -> Self
                where
                    Self: 'a,
                {
                    $from_view(view)
                }
                slice_of_views!();
            }
        )*};
    }

    byte_buffer! {
        Bytes => Bytes::copy_from_slice,
        BytesMut => BytesMut::from,
    }
}
