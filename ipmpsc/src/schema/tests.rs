//! Every std type with a schema beyond the core ones (and the optional foreign ones): the
//! bytes its owned form and its view encode to are the same, each decodes back from them,
//! and its hash says what the encoding is.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::fmt::Debug;
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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::codec::{decode, decode_private, encode_to_vec};
use crate::wire::{DeWire, Wire, WireView};
use crate::{Error, SchemaType, SchemaView};

/// Checks the `SchemaView` contract on `value`, alone and in a `Vec` (the sequence view),
/// and returns the bytes it encodes to.
fn round_trip<T>(value: &T) -> Vec<u8>
where
    T: SchemaView + Clone + PartialEq + Debug + 'static,
{
    let bytes = round_trip_one(value);
    let many = vec![value.clone(), value.clone()];
    let seq = round_trip_one(&many);
    assert_eq!(
        seq[..8],
        2u64.to_le_bytes(),
        "a Vec of {value:?} starts with its length"
    );
    assert_eq!(seq[8..], [bytes.clone(), bytes.clone()].concat());
    bytes
}

fn round_trip_one<T>(value: &T) -> Vec<u8>
where
    T: SchemaView + PartialEq + Debug + 'static,
{
    let bytes = encode_to_vec(value).unwrap();
    let what = format!("{value:?}");
    // Every way to send it writes the same bytes.
    assert_eq!(
        encode_to_vec(&value.view()).unwrap(),
        bytes,
        "view of {what}"
    );
    assert_eq!(
        encode_to_vec(&Wire(value)).unwrap(),
        bytes,
        "wire of {what}"
    );
    let view = value.view();
    let wire_view = WireView::<T>::new(&view);
    assert_eq!(
        encode_to_vec(&wire_view).unwrap(),
        bytes,
        "wire view of {what}"
    );
    // Every way to receive it gives it back.
    let received: T::View<'_> = decode(&bytes).unwrap();
    assert_eq!(
        encode_to_vec(&received).unwrap(),
        bytes,
        "received view of {what}"
    );
    assert_eq!(&T::from_view(received), value, "view of {what} into owned");
    assert_eq!(&decode::<T>(&bytes).unwrap(), value, "{what} decoded");
    assert_eq!(
        &decode_private::<T>(&bytes).unwrap(),
        value,
        "{what} decoded privately"
    );
    let DeWire(wired) = decode::<DeWire<T>>(&bytes).unwrap();
    assert_eq!(&wired, value, "{what} decoded from the wire");
    bytes
}

fn describe<T: SchemaType + ?Sized>() -> String {
    let mut out = String::new();
    T::describe(&mut out);
    out
}

fn le<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    parts.concat().try_into().unwrap()
}

#[test]
fn time_round_trips_as_seconds_and_nanoseconds() {
    let bytes = round_trip(&Duration::new(5, 7));
    assert_eq!(bytes, le::<12>(&[&5u64.to_le_bytes(), &7u32.to_le_bytes()]));
    round_trip(&Duration::MAX);
    round_trip(&Duration::ZERO);

    let now = SystemTime::now();
    let since = now.duration_since(UNIX_EPOCH).unwrap();
    let bytes = round_trip(&now);
    assert_eq!(bytes, encode_to_vec(&since).unwrap());
    round_trip(&UNIX_EPOCH);
}

#[test]
fn a_time_before_the_epoch_is_an_encode_error() {
    let before = UNIX_EPOCH - Duration::from_secs(1);
    assert!(matches!(encode_to_vec(&before), Err(Error::Encode(_))));
}

#[test]
fn addresses_round_trip_as_octets() {
    let v4 = Ipv4Addr::new(192, 0, 2, 1);
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    assert_eq!(round_trip(&v4), [192, 0, 2, 1]);
    assert_eq!(round_trip(&v6), v6.octets());
    assert_eq!(round_trip(&IpAddr::V4(v4)), [0, 0, 0, 0, 192, 0, 2, 1]);
    assert_eq!(
        round_trip(&IpAddr::V6(v6)),
        le::<20>(&[&1u32.to_le_bytes(), &v6.octets()])
    );

    let s4 = SocketAddrV4::new(v4, 8080);
    assert_eq!(
        round_trip(&s4),
        le::<6>(&[&v4.octets(), &8080u16.to_le_bytes()])
    );
    let s6 = SocketAddrV6::new(v6, 443, 0, 0);
    assert_eq!(
        round_trip(&s6),
        le::<18>(&[&v6.octets(), &443u16.to_le_bytes()])
    );
    assert_eq!(
        round_trip(&SocketAddr::V4(s4)),
        le::<10>(&[&0u32.to_le_bytes(), &v4.octets(), &8080u16.to_le_bytes()])
    );
    round_trip(&SocketAddr::V6(s6));
}

#[test]
fn a_v6_socket_address_loses_flow_info_and_scope_id_as_serde_encodes_it() {
    let v6 = Ipv6Addr::LOCALHOST;
    let sent = SocketAddrV6::new(v6, 1, 7, 9);
    let bytes = encode_to_vec(&sent).unwrap();
    assert_eq!(
        decode::<SocketAddrV6>(&bytes).unwrap(),
        SocketAddrV6::new(v6, 1, 0, 0)
    );
}

#[test]
fn non_zero_integers_round_trip_as_their_integer_and_refuse_zero() {
    macro_rules! each {
        ($($nz:ident($int:ty)),*) => {$(
            let value = $nz::new(<$int>::MAX).unwrap();
            assert_eq!(round_trip(&value), encode_to_vec(&<$int>::MAX).unwrap());
            let zero = encode_to_vec(&(0 as $int)).unwrap();
            assert!(matches!(decode::<$nz>(&zero), Err(Error::Decode(_))), stringify!($nz));
            assert!(matches!(decode_private::<$nz>(&zero), Err(Error::Decode(_))));
        )*};
    }
    each!(
        NonZeroU8(u8),
        NonZeroU16(u16),
        NonZeroU32(u32),
        NonZeroU64(u64),
        NonZeroU128(u128),
        NonZeroUsize(usize),
        NonZeroI8(i8),
        NonZeroI16(i16),
        NonZeroI32(i32),
        NonZeroI64(i64),
        NonZeroI128(i128),
        NonZeroIsize(isize)
    );
    assert_eq!(round_trip(&NonZeroUsize::MIN).len(), 8);
}

#[test]
fn ranges_round_trip_as_start_and_end_and_view_their_bounds() {
    let bytes = round_trip(&(3u32..9));
    assert_eq!(bytes, le::<8>(&[&3u32.to_le_bytes(), &9u32.to_le_bytes()]));
    assert_eq!(round_trip(&(3u32..=9)), bytes);

    let words = String::from("a")..String::from("z");
    let view: Range<&str> = words.view();
    assert_eq!(view, "a".."z");
    round_trip(&words);
    round_trip(&(String::from("a")..=String::from("z")));
    round_trip(&(vec![1u8, 2]..vec![3]));
}

#[test]
fn wrappers_round_trip_as_what_they_wrap() {
    assert_eq!(round_trip(&Wrapping(7u16)), 7u16.to_le_bytes());
    assert_eq!(round_trip(&Reverse(7u16)), 7u16.to_le_bytes());
    let text = Reverse(String::from("last"));
    let view: Reverse<&str> = text.view();
    assert_eq!(view.0, "last");
    assert_eq!(round_trip(&text), encode_to_vec("last").unwrap());
    round_trip(&Wrapping(vec![0u8, 1, 2]));
}

#[test]
fn phantom_data_encodes_as_nothing() {
    assert!(round_trip(&PhantomData::<String>).is_empty());
    assert!(round_trip(&PhantomData::<str>).is_empty());
    assert!(round_trip(&PhantomData::<fn() -> u8>).is_empty());
}

#[test]
fn paths_round_trip_as_text_and_view_as_path() {
    let path = PathBuf::from("/dev/shm/ipmpsc-x");
    let view: &Path = path.view();
    assert_eq!(view, Path::new("/dev/shm/ipmpsc-x"));
    let bytes = round_trip(&path);
    assert_eq!(bytes, encode_to_vec("/dev/shm/ipmpsc-x").unwrap());
    assert_eq!(round_trip(&Box::<Path>::from(path.as_path())), bytes);
    assert_eq!(
        round_trip(&Cow::<'static, Path>::Owned(path.clone())),
        bytes
    );
    assert_eq!(
        round_trip(&Cow::<'static, Path>::Borrowed(Path::new(
            "/dev/shm/ipmpsc-x"
        ))),
        bytes
    );
}

#[test]
fn a_path_that_is_not_utf8_is_an_encode_error() {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(b"\xff"));
    assert!(matches!(encode_to_vec(path), Err(Error::Encode(_))));
}

#[test]
fn cows_round_trip_as_what_they_borrow() {
    let text = encode_to_vec("moo").unwrap();
    assert_eq!(round_trip(&Cow::<'static, str>::Borrowed("moo")), text);
    assert_eq!(round_trip(&Cow::<'static, str>::Owned("moo".into())), text);

    let bytes = encode_to_vec(&vec![1u8, 2, 3]).unwrap();
    let borrowed: Cow<'static, [u8]> = Cow::Borrowed(&[1, 2, 3]);
    let view: &[u8] = borrowed.view();
    assert_eq!(view, [1, 2, 3]);
    assert_eq!(round_trip(&borrowed), bytes);
    assert_eq!(
        round_trip(&Cow::<'static, [u8]>::Owned(vec![1, 2, 3])),
        bytes
    );
    // serde writes a `Cow<[u8]>` item by item, the wire in one piece: the same bytes.
    assert_eq!(encode_to_vec(&borrowed).unwrap(), bytes);

    let words: Cow<'static, [String]> = Cow::Owned(vec!["a".into(), "b".into()]);
    let view: Vec<&str> = words.view();
    assert_eq!(view, ["a", "b"]);
    assert_eq!(round_trip(&words), encode_to_vec(&["a", "b"][..]).unwrap());
}

#[test]
fn shared_pointers_round_trip_as_what_they_point_to() {
    let text = encode_to_vec("shared").unwrap();
    assert_eq!(round_trip(&Rc::new(String::from("shared"))), text);
    assert_eq!(round_trip(&Arc::new(String::from("shared"))), text);
    assert_eq!(round_trip(&Rc::<str>::from("shared")), text);
    assert_eq!(round_trip(&Arc::<str>::from("shared")), text);
    let shared = Arc::new(String::from("shared"));
    let view: &str = shared.view();
    assert_eq!(view, "shared");

    let bytes = encode_to_vec(&vec![9u8, 8]).unwrap();
    assert_eq!(round_trip(&Rc::<[u8]>::from(&[9, 8][..])), bytes);
    assert_eq!(round_trip(&Arc::<[u8]>::from(&[9, 8][..])), bytes);
    assert_eq!(round_trip(&Arc::new(vec![9u8, 8])), bytes);
    round_trip(&Arc::new(Duration::from_millis(5)));
    round_trip(&Rc::new((
        String::from("a"),
        Arc::<[u16]>::from(&[1, 2][..]),
    )));
}

/// Hashes that must stay apart: each is a type of its own, however it encodes.
#[test]
fn every_type_of_its_own_hashes_apart() {
    let hashes = [
        ("Duration", Duration::HASH),
        ("SystemTime", SystemTime::HASH),
        ("(u64, u32)", <(u64, u32)>::HASH),
        ("IpAddr", IpAddr::HASH),
        ("Ipv4Addr", Ipv4Addr::HASH),
        ("[u8; 4]", <[u8; 4]>::HASH),
        ("Ipv6Addr", Ipv6Addr::HASH),
        ("SocketAddr", SocketAddr::HASH),
        ("SocketAddrV4", SocketAddrV4::HASH),
        ("SocketAddrV6", SocketAddrV6::HASH),
        ("NonZeroU8", NonZeroU8::HASH),
        ("NonZeroU16", NonZeroU16::HASH),
        ("NonZeroU32", NonZeroU32::HASH),
        ("u32", u32::HASH),
        ("NonZeroU64", NonZeroU64::HASH),
        ("NonZeroU128", NonZeroU128::HASH),
        ("NonZeroI8", NonZeroI8::HASH),
        ("NonZeroI16", NonZeroI16::HASH),
        ("NonZeroI32", NonZeroI32::HASH),
        ("NonZeroI64", NonZeroI64::HASH),
        ("NonZeroI128", NonZeroI128::HASH),
        ("Range<u32>", Range::<u32>::HASH),
        ("Range<u64>", Range::<u64>::HASH),
        ("RangeInclusive<u32>", RangeInclusive::<u32>::HASH),
        ("(u32, u32)", <(u32, u32)>::HASH),
        ("Wrapping<u32>", Wrapping::<u32>::HASH),
        ("Reverse<u32>", Reverse::<u32>::HASH),
        ("PathBuf", PathBuf::HASH),
        ("String", String::HASH),
        ("PhantomData", PhantomData::<u8>::HASH),
        ("()", <()>::HASH),
    ];
    for (i, (a, ha)) in hashes.iter().enumerate() {
        for (b, hb) in &hashes[i + 1..] {
            assert_ne!(ha, hb, "{a} and {b} hash alike");
        }
    }
}

/// Hashes that must be equal: spellings of one wire type.
#[test]
fn spellings_of_one_wire_type_hash_alike() {
    assert_eq!(NonZeroUsize::HASH, NonZeroU64::HASH);
    assert_eq!(NonZeroIsize::HASH, NonZeroI64::HASH);
    assert_eq!(Path::HASH, PathBuf::HASH);
    assert_eq!(Box::<Path>::HASH, PathBuf::HASH);
    assert_eq!(Cow::<'static, Path>::HASH, PathBuf::HASH);
    assert_eq!(Cow::<'static, str>::HASH, String::HASH);
    assert_eq!(Cow::<'static, [u8]>::HASH, Vec::<u8>::HASH);
    assert_eq!(Cow::<'static, [String]>::HASH, Vec::<String>::HASH);
    assert_eq!(Rc::<String>::HASH, String::HASH);
    assert_eq!(Arc::<str>::HASH, String::HASH);
    assert_eq!(Rc::<[u8]>::HASH, Vec::<u8>::HASH);
    assert_eq!(Arc::<Duration>::HASH, Duration::HASH);
    assert_eq!(PhantomData::<u8>::HASH, PhantomData::<str>::HASH);
    assert_ne!(Range::<Arc<str>>::HASH, Range::<Vec<u8>>::HASH);
    assert_eq!(Range::<Arc<str>>::HASH, Range::<String>::HASH);
}

#[test]
fn descriptions_read_like_the_types() {
    assert_eq!(describe::<Duration>(), "Duration");
    assert_eq!(describe::<SystemTime>(), "SystemTime");
    assert_eq!(describe::<IpAddr>(), "IpAddr");
    assert_eq!(describe::<SocketAddrV6>(), "SocketAddrV6");
    assert_eq!(describe::<NonZeroU32>(), "NonZeroU32");
    assert_eq!(describe::<NonZeroUsize>(), "NonZeroU64");
    assert_eq!(describe::<Range<u32>>(), "Range<u32>");
    assert_eq!(describe::<RangeInclusive<i8>>(), "RangeInclusive<i8>");
    assert_eq!(describe::<Wrapping<Vec<u8>>>(), "Wrapping<Vec<u8>>");
    assert_eq!(describe::<Reverse<u64>>(), "Reverse<u64>");
    assert_eq!(describe::<PathBuf>(), "PathBuf");
    assert_eq!(describe::<Box<Path>>(), "PathBuf");
    assert_eq!(describe::<PhantomData<String>>(), "PhantomData");
    assert_eq!(describe::<Cow<'static, str>>(), "String");
    assert_eq!(describe::<Cow<'static, [u8]>>(), "Vec<u8>");
    assert_eq!(describe::<Arc<Option<String>>>(), "Option<String>");
}

mod declared {
    use serde::{Deserialize, Serialize};

    /// One declared name and version, two encodings: what `opaque_schema!`'s docs warn of.
    pub mod build_a {
        #[derive(Debug, Clone, PartialEq, super::Serialize, super::Deserialize)]
        pub struct Id(pub u32);
        crate::opaque_schema!(Id, "tests::Id", version = 1);
    }

    pub mod build_b {
        #[derive(Debug, Clone, PartialEq, super::Serialize, super::Deserialize)]
        pub struct Id(pub u64);
        crate::opaque_schema!(Id, "tests::Id", version = 1);
    }

    pub mod build_c {
        #[derive(Debug, Clone, PartialEq, super::Serialize, super::Deserialize)]
        pub struct Id(pub u64);
        crate::opaque_schema!(Id, "tests::Id", version = 2,);
    }

    /// A hand-written encoding: three bytes.
    #[derive(Debug, Clone, Copy, PartialEq)]
    pub struct Rgb(pub u8, pub u8, pub u8);

    impl Serialize for Rgb {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            [self.0, self.1, self.2].serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for Rgb {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let [r, g, b] = <[u8; 3]>::deserialize(d)?;
            Ok(Rgb(r, g, b))
        }
    }

    const NAME: &str = "tests::Rgb";
    const VERSION: u32 = 3;
    crate::opaque_schema!(Rgb, NAME, version = VERSION);
}

#[test]
fn a_declared_schema_hashes_its_name_and_version() {
    use declared::*;
    assert_eq!(build_a::Id::HASH, build_b::Id::HASH);
    assert_ne!(build_b::Id::HASH, build_c::Id::HASH);
    assert_ne!(build_a::Id::HASH, Rgb::HASH);
    assert_ne!(build_a::Id::HASH, u32::HASH);
    assert_eq!(
        build_c::Id::HASH,
        crate::schema::hash::opaque_hash("tests::Id", 2)
    );
    assert_eq!(describe::<build_c::Id>(), "tests::Id v2");
    assert_eq!(describe::<Rgb>(), "tests::Rgb v3");
    assert_eq!(describe::<Vec<Rgb>>(), "Vec<tests::Rgb v3>");
}

#[test]
fn a_declared_type_is_its_own_view() {
    use declared::*;
    let bytes = round_trip(&Rgb(1, 2, 3));
    assert_eq!(bytes, [1, 2, 3]);
    assert_eq!(Rgb(1, 2, 3).view(), Rgb(1, 2, 3));
    round_trip(&build_a::Id(7));
    round_trip(&Some(vec![build_b::Id(u64::MAX)]));
}

#[test]
fn an_encoding_changed_without_a_version_bump_is_a_decode_error_at_the_receiver() {
    use declared::*;
    // Narrower than the receiver's type: the record ends too early.
    let narrow = encode_to_vec(&build_a::Id(7)).unwrap();
    assert!(matches!(
        decode::<build_b::Id>(&narrow),
        Err(Error::Decode(_))
    ));
    // Wider: bytes are left unread.
    let wide = encode_to_vec(&build_b::Id(7)).unwrap();
    assert!(matches!(
        decode::<build_a::Id>(&wide),
        Err(Error::Decode(_))
    ));
    // Alike in size: the bytes decode, to a value the sender never sent.
    let pair = encode_to_vec(&(build_a::Id(1), build_a::Id(2))).unwrap();
    assert_eq!(
        decode::<build_b::Id>(&pair).unwrap(),
        build_b::Id(1 | 2 << 32)
    );
}

#[cfg(feature = "uuid")]
#[test]
fn uuid_round_trips_as_sixteen_bytes() {
    let id = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    let bytes = round_trip(&id);
    assert_eq!(bytes, le::<24>(&[&16u64.to_le_bytes(), id.as_bytes()]));
    assert_eq!(describe::<uuid::Uuid>(), "Uuid");
    assert_ne!(uuid::Uuid::HASH, <[u8; 16]>::HASH);
    assert_ne!(uuid::Uuid::HASH, Vec::<u8>::HASH);
    assert_eq!(id.view(), id);
    let short = encode_to_vec(&vec![1u8; 15]).unwrap();
    assert!(matches!(
        decode::<uuid::Uuid>(&short),
        Err(Error::Decode(_))
    ));
}

#[cfg(feature = "bytes")]
#[test]
fn byte_buffers_round_trip_and_hash_as_vec_u8() {
    let vec = vec![1u8, 2, 3];
    let expected = encode_to_vec(&vec).unwrap();
    let frozen = bytes::Bytes::from(vec.clone());
    let view: &[u8] = frozen.view();
    assert_eq!(view, [1, 2, 3]);
    assert_eq!(round_trip(&frozen), expected);
    assert_eq!(round_trip(&bytes::BytesMut::from(&vec[..])), expected);
    assert_eq!(bytes::Bytes::HASH, Vec::<u8>::HASH);
    assert_eq!(bytes::BytesMut::HASH, Vec::<u8>::HASH);
    assert_eq!(describe::<bytes::Bytes>(), "Vec<u8>");
}

/// A `#[derive(ipmpsc::Schema)]` type can hold them all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
struct Everything {
    timeout: Duration,
    at: SystemTime,
    peer: SocketAddr,
    ip: IpAddr,
    count: NonZeroU32,
    span: Range<u64>,
    levels: RangeInclusive<u8>,
    path: PathBuf,
    wrapped: Wrapping<u32>,
    reversed: Reverse<i16>,
    marker: PhantomData<String>,
    label: Cow<'static, str>,
    blob: Cow<'static, [u8]>,
    shared: Arc<str>,
    counted: Rc<Vec<u8>>,
    rgb: declared::Rgb,
}

#[test]
fn a_derived_type_of_all_of_them_round_trips() {
    let value = Everything {
        timeout: Duration::from_millis(1500),
        at: UNIX_EPOCH + Duration::new(1_700_000_000, 5),
        peer: SocketAddr::from(([127, 0, 0, 1], 9000)),
        ip: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
        count: NonZeroU32::new(3).unwrap(),
        span: 1..2,
        levels: 0..=9,
        path: PathBuf::from("/tmp/x"),
        wrapped: Wrapping(u32::MAX),
        reversed: Reverse(-1),
        marker: PhantomData,
        label: Cow::Borrowed("label"),
        blob: Cow::Owned(vec![0xde, 0xad]),
        shared: Arc::from("shared"),
        counted: Rc::new(vec![1, 2]),
        rgb: declared::Rgb(4, 5, 6),
    };
    round_trip(&value);
    let mut text = String::new();
    Everything::describe(&mut text);
    assert!(
        text.contains("span: Range<u64>, levels: RangeInclusive<u8>, path: PathBuf"),
        "{text}"
    );
}
