//! Messages holding the standard library's types (and, with ipmpsc's `uuid` and `bytes`
//! features, those crates' types, and a type declared with `opaque_schema!`) go through a real
//! channel file and come back equal, received owned and as a view; and the schema hash
//! tells apart what it must.

mod common;

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ffi::CString;
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::num::{NonZeroI64, NonZeroU32, NonZeroUsize, Wrapping};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::ShmPath;
use ipmpsc::Error;
use serde::{Deserialize, Serialize};

/// Another crate's type (std's `CString`, which ipmpsc has no schema for) in a newtype.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceName(pub CString);

ipmpsc::opaque_schema!(DeviceName, "std_types::DeviceName", version = 1);

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Timing {
        timeout: Duration,
        at: SystemTime,
    },
    Net {
        ip: IpAddr,
        v4: Ipv4Addr,
        v6: Ipv6Addr,
        peer: SocketAddr,
        peer6: SocketAddrV6,
    },
    Numbers(
        NonZeroU32,
        NonZeroUsize,
        NonZeroI64,
        Wrapping<u8>,
        Reverse<i32>,
    ),
    Ranges {
        span: Range<u64>,
        levels: RangeInclusive<u8>,
        names: Range<String>,
    },
    Pointers {
        label: Cow<'static, str>,
        blob: Cow<'static, [u8]>,
        shared: Arc<str>,
        boxed: Box<Duration>,
        counted: Arc<Vec<u8>>,
        marker: PhantomData<String>,
    },
    Collections {
        queue: VecDeque<PathBuf>,
        set: BTreeSet<char>,
        map: HashMap<String, Vec<SocketAddr>>,
    },
    Foreign {
        id: uuid::Uuid,
        payload: bytes::Bytes,
        scratch: bytes::BytesMut,
        device: DeviceName,
    },
}

fn messages() -> Vec<Msg> {
    let v6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    let peer6 = SocketAddrV6::new(v6, 443, 0, 0);
    vec![
        Msg::Timing {
            timeout: Duration::new(3, 500),
            at: UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
        },
        Msg::Timing {
            timeout: Duration::MAX,
            at: SystemTime::now(),
        },
        Msg::Net {
            ip: IpAddr::V6(v6),
            v4: Ipv4Addr::new(192, 0, 2, 7),
            v6,
            peer: SocketAddr::from(([127, 0, 0, 1], 8080)),
            peer6,
        },
        Msg::Numbers(
            NonZeroU32::new(7).unwrap(),
            NonZeroUsize::MAX,
            NonZeroI64::new(-1).unwrap(),
            Wrapping(255),
            Reverse(-5),
        ),
        Msg::Ranges {
            span: 10..20,
            levels: 0..=255,
            names: "alpha".to_owned().."omega".to_owned(),
        },
        Msg::Pointers {
            label: Cow::Borrowed("static label"),
            blob: Cow::Owned(vec![0xde, 0xad, 0xbe, 0xef]),
            shared: Arc::from("shared"),
            boxed: Box::new(Duration::from_millis(250)),
            counted: Arc::new((0..=255).collect()),
            marker: PhantomData,
        },
        Msg::Collections {
            queue: VecDeque::from([PathBuf::from("/dev/shm"), PathBuf::from("relative/é")]),
            set: BTreeSet::from(['a', 'ß', '🦀']),
            map: HashMap::from([
                (
                    "local".to_owned(),
                    vec![SocketAddr::from(([127, 0, 0, 1], 1))],
                ),
                ("v6".to_owned(), vec![SocketAddr::V6(peer6)]),
            ]),
        },
        Msg::Foreign {
            id: uuid::Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8),
            payload: bytes::Bytes::from_static(b"frame bytes"),
            scratch: bytes::BytesMut::from(&b"scratch"[..]),
            device: DeviceName(CString::new("camera0").unwrap()),
        },
    ]
}

#[test]
fn std_and_foreign_types_cross_a_channel_owned_and_as_views() {
    let path = ShmPath::new("std-types");
    let mut rx = Msg::create_receiver(&path, 256 * 1024).unwrap();
    let tx = Msg::open_sender(&path).unwrap();

    for msg in messages() {
        tx.send(&msg).unwrap();
        assert_eq!(rx.recv().unwrap(), msg, "received owned");

        tx.send(&msg).unwrap();
        let view = rx.recv_view().unwrap();
        assert_eq!(view.into_owned(), msg, "received as a view");
    }
    assert!(rx.try_recv().unwrap().is_none());
}

/// Builds the same channel name and version with one field's type changed, and reports
/// whether a sender of one can open a channel created by the other.
macro_rules! accepted {
    ($a:ty, $b:ty) => {{
        mod a {
            #[ipmpsc::channel]
            pub enum Probe {
                Field($a),
            }
        }
        mod b {
            #[ipmpsc::channel]
            pub enum Probe {
                Field($b),
            }
        }
        let path = ShmPath::new("std-types-probe");
        let _rx = a::Probe::create_receiver(&path, 4096).unwrap();
        match b::Probe::open_sender(&path) {
            Ok(_) => true,
            Err(Error::SchemaMismatch(_)) => false,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }};
}

#[test]
fn types_of_their_own_are_refused_even_where_the_bytes_agree() {
    // Each pair encodes to the same bytes, but is not one type: the channel refuses.
    assert!(!accepted!(std::time::Duration, (u64, u32)));
    assert!(!accepted!(std::num::NonZeroU32, u32));
    assert!(!accepted!(std::path::PathBuf, String));
    assert!(!accepted!(std::ops::Range<u32>, (u32, u32)));
    assert!(!accepted!(std::net::Ipv4Addr, [u8; 4]));
    assert!(!accepted!(uuid::Uuid, Vec<u8>));
}

#[test]
fn spellings_of_one_wire_type_are_accepted() {
    assert!(accepted!(String, std::borrow::Cow<'static, str>));
    assert!(accepted!(Vec<u8>, bytes::Bytes));
    assert!(accepted!(Vec<u8>, std::sync::Arc<[u8]>));
    assert!(accepted!(
        std::time::Duration,
        std::sync::Arc<std::time::Duration>
    ));
    assert!(accepted!(std::num::NonZeroU64, std::num::NonZeroUsize));
}

mod build_a {
    /// A declared type, as one build defines it.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Reading(pub u32);
    ipmpsc::opaque_schema!(Reading, "std_types::Reading", version = 1);

    #[ipmpsc::channel]
    #[derive(Debug, PartialEq)]
    pub enum Sensor {
        Sample(Reading),
    }
}

mod build_b {
    /// The same declared name and version, encoded differently: the mistake the
    /// `opaque_schema!` docs describe.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Reading(pub u64);
    ipmpsc::opaque_schema!(Reading, "std_types::Reading", version = 1);

    #[ipmpsc::channel]
    #[derive(Debug, PartialEq)]
    pub enum Sensor {
        Sample(Reading),
    }
}

mod build_c {
    /// The same change, with the version bumped.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Reading(pub u64);
    ipmpsc::opaque_schema!(Reading, "std_types::Reading", version = 2);

    #[ipmpsc::channel]
    #[derive(Debug, PartialEq)]
    pub enum Sensor {
        Sample(Reading),
    }
}

#[test]
fn a_declared_encoding_changed_without_a_version_bump_is_accepted_and_fails_to_decode() {
    let path = ShmPath::new("std-types-declared");
    let mut rx = build_a::Sensor::create_receiver(&path, 4096).unwrap();
    let wrong = build_b::Sensor::open_sender(&path).expect("same name and version: accepted");
    wrong
        .send(&build_b::Sensor::Sample(build_b::Reading(7)))
        .unwrap();
    assert!(matches!(rx.recv(), Err(Error::Decode(_))));
    wrong
        .send(&build_b::Sensor::Sample(build_b::Reading(7)))
        .unwrap();
    assert!(matches!(
        rx.recv_view().map(|v| v.into_owned()),
        Err(Error::Decode(_))
    ));

    // The receiver moved on: a sender of its own build still gets through.
    let right = build_a::Sensor::open_sender(&path).unwrap();
    right
        .send(&build_a::Sensor::Sample(build_a::Reading(7)))
        .unwrap();
    assert_eq!(
        rx.recv().unwrap(),
        build_a::Sensor::Sample(build_a::Reading(7))
    );

    // With the version bumped, the sender is refused when it opens the channel.
    let Err(Error::SchemaMismatch(mismatch)) = build_c::Sensor::open_sender(&path) else {
        panic!("a bumped version must be refused");
    };
    let text = mismatch.to_string();
    assert!(
        text.contains("std_types::Reading v1") && text.contains("std_types::Reading v2"),
        "{text}"
    );
}

/// A nested type with a float beside a string: its view holds both, and a view's `Eq` (or
/// `Copy`) bound on the float alone must not stop the derive from compiling.
#[derive(Serialize, Deserialize, ipmpsc::Schema, Debug, Clone, PartialEq)]
pub struct Reading {
    pub label: String,
    pub celsius: f64,
    pub history: Vec<u32>,
}

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Readings {
    One(Reading),
    Pair { a: f32, b: Reading },
}

#[test]
fn a_nested_type_with_a_float_beside_a_string_derives_and_travels() {
    let path = ShmPath::new("float-string");
    let mut rx = Readings::create_receiver(&path.path, 4096).unwrap();
    let tx = Readings::open_sender(&path.path).unwrap();
    let r = Reading {
        label: "hall".into(),
        celsius: 21.5,
        history: vec![1, 2],
    };
    tx.send(&Readings::Pair {
        a: 0.5,
        b: r.clone(),
    })
    .unwrap();
    let view = rx.recv_view().unwrap();
    let ReadingsView::Pair { a, b } = &*view else {
        panic!("wrong variant")
    };
    assert_eq!(*a, 0.5);
    assert_eq!((b.label, b.celsius), ("hall", 21.5));
    assert_eq!(b.clone(), *b); // the view's `Clone` and `PartialEq`
    assert_eq!(view.into_owned(), Readings::Pair { a: 0.5, b: r });
}
