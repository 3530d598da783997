//! The generic decoder against the real encodings of many message shapes (made by the real
//! macros and the real codec), the description parser against hostile text, and peeking at
//! a real channel.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::num::{NonZeroI64, NonZeroU32, Wrapping};
use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::*;
use crate::codec::encode_to_vec;
use crate::{Channel, Error, Schema};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub struct Point {
    x: i32,
    y: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub struct Meters(f64);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub struct Pair(u8, i16);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub enum Kind {
    A,
    B(u32),
    C { x: u8, y: Option<String> },
    D(u8, u8),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub struct Tree {
    label: String,
    kids: Vec<Tree>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, crate::Schema)]
pub enum Expr {
    Leaf(i64),
    Neg(Box<Expr>),
    Add(Box<Self>, Box<Expr>),
}

mod shadow {
    /// A struct called `Duration` that holds a `std::time::Duration`: its description is
    /// `Duration { d: Duration }`, which also reads as a type that contains itself.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, crate::Schema)]
    pub struct Duration {
        pub d: std::time::Duration,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Opaque(u32);

crate::opaque_schema!(Opaque, "my_app::Opaque", version = 2);

#[crate::channel(version = 4)]
#[derive(Debug, Clone, PartialEq)]
pub enum Shapes {
    Unit,
    Newtype(u32),
    Tuple(u8, i8, bool),
    Named {
        a: u16,
        b: i64,
    },
    Empty {},
    EmptyTuple(),
    Big(u128, i128),
    Floats(f32, f64),
    Chars(char, char, char),
    Text(String),
    Strings(Vec<String>),
    Bytes(Vec<u8>),
    Maybe(Option<u32>, Option<String>),
    Map(BTreeMap<String, u32>),
    IntMap(BTreeMap<u16, Vec<u8>>),
    TupleKeys(BTreeMap<(u8, u8), String>),
    Tuples((u8, String), (u32,)),
    Arrays([u16; 3], [u8; 4]),
    Nested(Point, Meters, Pair, Marker),
    Kinds(Vec<Kind>),
    Tree(Tree),
    Expr(Expr),
    Time(Duration, std::time::SystemTime),
    Net(
        IpAddr,
        Ipv4Addr,
        Ipv6Addr,
        SocketAddr,
        SocketAddrV4,
        SocketAddrV6,
    ),
    NonZero(NonZeroU32, NonZeroI64),
    Ranges(Range<u32>, RangeInclusive<i8>),
    Wraps(Wrapping<u8>, Reverse<u16>),
    Path(PathBuf),
    Nothing(PhantomData<String>, ()),
    Sets(BTreeSet<u8>, VecDeque<i16>),
    Shadowed(shadow::Duration),
    Opaque(Opaque),
}

fn samples() -> Vec<(Shapes, &'static str)> {
    let tree = Tree {
        label: "root".into(),
        kids: vec![
            Tree {
                label: "a".into(),
                kids: vec![],
            },
            Tree {
                label: "b".into(),
                kids: vec![Tree {
                    label: "c".into(),
                    kids: vec![],
                }],
            },
        ],
    };
    vec![
        (Shapes::Unit, r#""Unit""#),
        (Shapes::Newtype(7), r#"{"Newtype":7}"#),
        (
            Shapes::Tuple(255, -128, true),
            r#"{"Tuple":[255,-128,true]}"#,
        ),
        (
            Shapes::Named {
                a: 65535,
                b: i64::MIN,
            },
            r#"{"Named":{"a":65535,"b":-9223372036854775808}}"#,
        ),
        (Shapes::Empty {}, r#"{"Empty":{}}"#),
        (Shapes::EmptyTuple(), r#"{"EmptyTuple":[]}"#),
        (
            Shapes::Big(u128::MAX, i128::MIN),
            r#"{"Big":[340282366920938463463374607431768211455,-170141183460469231731687303715884105728]}"#,
        ),
        (
            Shapes::Floats(0.1, -2.5e-300),
            r#"{"Floats":[0.1,-2.5e-300]}"#,
        ),
        (
            Shapes::Floats(f32::INFINITY, f64::NAN),
            r#"{"Floats":["Infinity","NaN"]}"#,
        ),
        (Shapes::Chars('a', 'é', '🦀'), r#"{"Chars":["a","é","🦀"]}"#),
        (
            Shapes::Text("quote \" backslash \\ newline \n tab \t bell \u{7} é".into()),
            r#"{"Text":"quote \" backslash \\ newline \n tab \t bell \u0007 é"}"#,
        ),
        (
            Shapes::Strings(vec!["".into(), "x".into(), "yz".into()]),
            r#"{"Strings":["","x","yz"]}"#,
        ),
        (Shapes::Strings(vec![]), r#"{"Strings":[]}"#),
        (Shapes::Bytes(vec![]), r#"{"Bytes":[]}"#),
        (Shapes::Bytes(vec![0, 1, 255]), r#"{"Bytes":[0,1,255]}"#),
        (Shapes::Maybe(None, None), r#"{"Maybe":[null,null]}"#),
        (
            Shapes::Maybe(Some(3), Some("s".into())),
            r#"{"Maybe":[3,"s"]}"#,
        ),
        (
            Shapes::Map([("b".to_owned(), 2), ("a".to_owned(), 1)].into()),
            r#"{"Map":{"a":1,"b":2}}"#,
        ),
        (
            Shapes::IntMap([(10, vec![1]), (2, vec![])].into()),
            r#"{"IntMap":{"2":[],"10":[1]}}"#,
        ),
        (
            Shapes::TupleKeys([((1, 2), "x".to_owned())].into()),
            r#"{"TupleKeys":[[[1,2],"x"]]}"#,
        ),
        (
            Shapes::Tuples((1, "one".into()), (2,)),
            r#"{"Tuples":[[1,"one"],[2]]}"#,
        ),
        (
            Shapes::Arrays([1, 2, 3], [9, 8, 7, 6]),
            r#"{"Arrays":[[1,2,3],[9,8,7,6]]}"#,
        ),
        (
            Shapes::Nested(Point { x: -1, y: 2 }, Meters(1.5), Pair(3, -4), Marker),
            r#"{"Nested":[{"x":-1,"y":2},1.5,[3,-4],null]}"#,
        ),
        (
            Shapes::Kinds(vec![
                Kind::A,
                Kind::B(5),
                Kind::C {
                    x: 1,
                    y: Some("why".into()),
                },
                Kind::D(1, 2),
            ]),
            r#"{"Kinds":["A",{"B":5},{"C":{"x":1,"y":"why"}},{"D":[1,2]}]}"#,
        ),
        (
            Shapes::Tree(tree),
            r#"{"Tree":{"label":"root","kids":[{"label":"a","kids":[]},{"label":"b","kids":[{"label":"c","kids":[]}]}]}}"#,
        ),
        (
            Shapes::Expr(Expr::Add(
                Box::new(Expr::Leaf(1)),
                Box::new(Expr::Neg(Box::new(Expr::Leaf(-2)))),
            )),
            r#"{"Expr":{"Add":[{"Leaf":1},{"Neg":{"Leaf":-2}}]}}"#,
        ),
        (
            Shapes::Time(
                Duration::new(3, 500),
                UNIX_EPOCH + Duration::new(1_700_000_000, 7),
            ),
            r#"{"Time":[{"secs":3,"nanos":500},{"secs_since_epoch":1700000000,"nanos_since_epoch":7}]}"#,
        ),
        (
            Shapes::Net(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 80)),
                SocketAddrV4::new(Ipv4Addr::new(1, 2, 3, 4), 65535),
                SocketAddrV6::new(Ipv6Addr::LOCALHOST, 443, 0, 0),
            ),
            r#"{"Net":["::1","10.0.0.1","fe80::1","127.0.0.1:80","1.2.3.4:65535","[::1]:443"]}"#,
        ),
        (
            Shapes::NonZero(NonZeroU32::new(9).unwrap(), NonZeroI64::new(-9).unwrap()),
            r#"{"NonZero":[9,-9]}"#,
        ),
        (
            Shapes::Ranges(1..5, -3..=3),
            r#"{"Ranges":[{"start":1,"end":5},{"start":-3,"end":3}]}"#,
        ),
        (
            Shapes::Wraps(Wrapping(200), Reverse(7)),
            r#"{"Wraps":[200,7]}"#,
        ),
        (
            Shapes::Path(PathBuf::from("/tmp/x y")),
            r#"{"Path":"/tmp/x y"}"#,
        ),
        (
            Shapes::Nothing(PhantomData, ()),
            r#"{"Nothing":[null,null]}"#,
        ),
        (
            Shapes::Sets([3, 1].into(), [-1, 1].into()),
            r#"{"Sets":[[1,3],[-1,1]]}"#,
        ),
        (
            Shapes::Shadowed(shadow::Duration {
                d: Duration::from_millis(1500),
            }),
            r#"{"Shadowed":{"d":{"secs":1,"nanos":500000000}}}"#,
        ),
    ]
}

fn decoder_of(schema: &Schema) -> Decoder {
    Decoder::new(&StoredSchema::from(schema))
}

#[test]
fn every_shape_decodes_to_its_json_and_the_description_is_verified() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    assert_eq!(decoder.check(), &DescriptionCheck::Verified, "{decoder:?}");
    for (msg, json) in samples() {
        let bytes = encode_to_vec(&msg).unwrap();
        let value = decoder
            .decode(&bytes)
            .unwrap_or_else(|e| panic!("{msg:?}: {e}"));
        assert_eq!(value.to_string(), json, "{msg:?}");
    }
}

#[test]
fn an_opaque_type_is_reported_with_the_bytes_in_hex() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    let bytes = encode_to_vec(&Shapes::Opaque(Opaque(0x0102_0304))).unwrap();
    assert!(
        matches!(decoder.decode(&bytes), Err(Error::Decode(why)) if why.contains("`my_app::Opaque v2` is an opaque type"))
    );
    let shown = decoder.decode_or_hex(&bytes).to_string();
    assert!(
        shown.starts_with(r#"{"error":"at byte 4 of 8: `my_app::Opaque v2` is an opaque type"#),
        "{shown}"
    );
    let tag = Shapes::SCHEMA.variants.len() - 1;
    assert!(
        shown.ends_with(&format!(r#","hex":"{tag:02x}00000004030201"}}"#)),
        "{shown}"
    );
}

#[test]
fn truncated_and_overlong_records_are_errors_not_panics() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    for (msg, _) in samples() {
        let bytes = encode_to_vec(&msg).unwrap();
        for cut in 0..bytes.len() {
            // A prefix may happen to be another whole message (`Strings([])` from
            // `Strings(["", ..])`); it must never be this one, nor a panic.
            if let Ok(v) = decoder.decode(&bytes[..cut]) {
                assert_ne!(Some(v), decoder.decode(&bytes).ok(), "{msg:?} cut at {cut}");
            }
        }
        let mut longer = bytes.clone();
        longer.push(0);
        let err = decoder.decode(&longer).unwrap_err().to_string();
        assert!(err.contains("decoded from"), "{err}");
    }
}

#[test]
fn garbage_and_huge_lengths_are_errors_not_panics_or_allocations() {
    let decoder = decoder_of(&Shapes::SCHEMA);
    let variants = Shapes::SCHEMA.variants.len() as u32;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let len = (next() % 64) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if bytes.len() >= 4 {
            let tag = (next() as u32) % (variants + 1);
            bytes[..4].copy_from_slice(&tag.to_le_bytes());
        }
        let _ = decoder.decode(&bytes);
        let _ = decoder.decode_or_hex(&bytes).to_string();
    }
    // `Strings` (variant 10) claiming u64::MAX strings, `Bytes` claiming u64::MAX bytes.
    for tag in [10u32, 11] {
        let mut bytes = tag.to_le_bytes().to_vec();
        bytes.extend(u64::MAX.to_le_bytes());
        let err = decoder.decode(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("claims 18446744073709551615 elements"),
            "{err}"
        );
    }
}

#[crate::channel]
pub enum Units {
    Many(Vec<()>),
    Deep(Expr),
}

#[test]
fn zero_sized_elements_and_deep_nesting_are_bounded() {
    let decoder = decoder_of(&Units::SCHEMA);
    assert_eq!(decoder.check(), &DescriptionCheck::Verified);
    let mut bytes = 0u32.to_le_bytes().to_vec();
    bytes.extend(u64::MAX.to_le_bytes());
    assert!(decoder.decode(&bytes).is_err());
    let ok = encode_to_vec(&Units::Many(vec![(); 1000])).unwrap();
    assert_eq!(
        decoder.decode(&ok).unwrap().to_string().len(),
        2 + 8 + 1000 * 5
    );
    // `Neg` a million times deep: an error, not a stack overflow.
    let mut deep = 1u32.to_le_bytes().to_vec();
    deep.extend(std::iter::repeat_n(1u32.to_le_bytes(), 1 << 20).flatten());
    deep.extend(0u32.to_le_bytes());
    deep.extend(7i64.to_le_bytes());
    let err = decoder.decode(&deep).unwrap_err().to_string();
    assert!(err.contains("nested deeper than"), "{err}");
}

#[test]
fn hostile_descriptions_never_panic() {
    let real = Shapes::SCHEMA.description();
    let stored = |description: String| StoredSchema {
        name: "Shapes".into(),
        version: 4,
        hash: 1,
        description,
    };
    let bytes = encode_to_vec(&samples()[23].0).unwrap();
    // Every cut, and every byte replaced by a delimiter of the grammar.
    for (i, _) in real.char_indices().step_by(3) {
        for text in [
            real[..i].to_owned(),
            format!("{}<{}", &real[..i], &real[i..]),
            format!("{}, {}", &real[..i], &real[i..]),
            format!("{} }}{}", &real[..i], &real[i..]),
        ] {
            let d = Decoder::new(&stored(text));
            let _ = d.decode_or_hex(&bytes);
        }
    }
    // Nested without end: refused, not a stack overflow.
    let deep = format!(
        "Msg v1\n  Move {{ pos: {}u8{} }}",
        "Pos { x: ".repeat(100_000),
        " }".repeat(100_000)
    );
    assert!(matches!(
        Decoder::new(&stored(deep)).check(),
        DescriptionCheck::Undecodable(why) if why.contains("nested deeper")
    ));
    // Recursive types nested in each other: the hash check gives up instead of taking forever.
    let mut nested = String::from("u8");
    for i in 0..60 {
        nested = format!("T{i} {{ a: Option<T{i}>, b: {nested} }}");
    }
    let d = Decoder::new(&stored(format!("Msg v1\n  A({nested})")));
    assert!(matches!(d.check(), DescriptionCheck::Unverified(_)));
}

#[test]
fn a_description_cut_short_decodes_the_variants_it_lists() {
    let schema = StoredSchema {
        name: "Msg".into(),
        version: 1,
        hash: 42,
        description: "Msg v1\n  A(u8)\n  B(String)\n  C { x: Vec<u1\n…".into(),
    };
    let d = Decoder::new(&schema);
    assert!(matches!(d.check(), DescriptionCheck::Unverified(why) if why.contains("cut short")));
    assert_eq!(
        d.decode(&[0, 0, 0, 0, 9]).unwrap().to_string(),
        r#"{"A":9}"#
    );
    let err = d.decode(&[2, 0, 0, 0, 9]).unwrap_err().to_string();
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn a_hand_written_schema_that_describes_no_encoding_is_unverified_but_the_rest_decodes() {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct Celsius(f32);
    impl crate::SchemaType for Celsius {
        const HASH: u64 = crate::schema::hash::type_hash("my_app::Celsius", &[]);
        fn describe(out: &mut String) {
            out.push_str("my_app::Celsius<f32>");
        }
    }
    impl crate::SchemaView for Celsius {
        type View<'a> = Celsius;
        fn view(&self) -> Celsius {
            self.clone()
        }
        fn from_view<'a>(view: Celsius) -> Self
        where
            Self: 'a,
        {
            view
        }
        crate::__slice_of_views!();
    }

    #[crate::channel]
    pub enum Weather {
        Temp(Celsius),
        Note(String),
    }
    let d = decoder_of(&Weather::SCHEMA);
    assert!(
        matches!(d.check(), DescriptionCheck::Unverified(_)),
        "{d:?}"
    );
    let note = encode_to_vec(&Weather::Note("warm".into())).unwrap();
    assert_eq!(d.decode(&note).unwrap().to_string(), r#"{"Note":"warm"}"#);
    let temp = encode_to_vec(&Weather::Temp(Celsius(21.5))).unwrap();
    let err = d.decode(&temp).unwrap_err().to_string();
    assert!(err.contains("`my_app::Celsius<f32>`"), "{err}");
}

/// A channel under /dev/shm, removed when dropped.
struct ShmFile(String);

impl ShmFile {
    fn new(what: &str) -> ShmFile {
        let path = format!(
            "/dev/shm/ipmpsc-inspect-{what}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        )
        .replace(['(', ')'], "");
        let _ = std::fs::remove_file(&path);
        ShmFile(path)
    }
}

impl Drop for ShmFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn peek_copies_the_queued_messages_and_consumes_nothing() {
    let file = ShmFile::new("peek");
    let mut rx = Shapes::create_receiver(&file.0, 64 * 1024).unwrap();
    let tx = Shapes::open_sender(&file.0).unwrap();
    let sent: Vec<(Shapes, &str)> = samples();
    for (msg, _) in &sent {
        tx.send(msg).unwrap();
    }
    let channel = Inspection::open(&file.0).unwrap();
    let decoder = channel.decoder();
    let peek = channel.peek(usize::MAX).unwrap();
    assert_eq!(peek.end, PeekEnd::Tail);
    assert_eq!(peek.overtaken, 0);
    let shown: Vec<String> = peek
        .messages
        .iter()
        .map(|m| decoder.decode_or_hex(&m.bytes).to_string())
        .collect();
    let expected: Vec<&str> = sent.iter().map(|(_, json)| *json).collect();
    assert_eq!(shown, expected);
    assert_eq!(channel.peek(3).unwrap().messages, peek.messages[..3]);
    assert_eq!(channel.peek(3).unwrap().end, PeekEnd::Limit);

    let snap = channel.snapshot().unwrap();
    assert!(snap.receiver.alive);
    assert_eq!(snap.receiver.pid, Some(std::process::id()));
    assert_eq!(snap.live_senders(), 1);
    assert_eq!(snap.senders[0].pid, std::process::id());
    assert_eq!(snap.queued_bytes(), peek.tail - peek.head);
    assert_eq!(snap.corruption, None);
    assert_eq!(snap.state, ChannelState::default());

    for (msg, _) in &sent {
        // Compared as bytes: NaN is not equal to itself.
        let got = rx.recv().unwrap();
        assert_eq!(encode_to_vec(&got).unwrap(), encode_to_vec(msg).unwrap());
    }
    assert!(rx.try_recv().unwrap().is_none());
    let after = channel.peek(usize::MAX).unwrap();
    assert!(after.messages.is_empty());
    drop(rx);
    let snap = channel.snapshot().unwrap();
    assert!(!snap.receiver.alive);
    assert!(snap.state.closed);
    assert_eq!(snap.receiver.pid, None);
}

#[test]
fn peek_while_the_receiver_consumes_returns_only_whole_messages() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    let file = ShmFile::new("race");
    let mut rx = Shapes::create_receiver(&file.0, 4096).unwrap();
    let tx = Shapes::open_sender(&file.0).unwrap();
    let stop = AtomicBool::new(false);
    let received = AtomicU64::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut i = 0u64;
            while !stop.load(Relaxed) {
                let text = format!("{i:0>width$}", width = (i % 50) as usize);
                let _ = tx.send_timeout(&Shapes::Strings(vec![text]), Duration::from_millis(10));
                i += 1;
            }
        });
        s.spawn(|| {
            // Slower than the sender, so that the ring is full while it is peeked at.
            while !stop.load(Relaxed) {
                if let Ok(Some(_)) = rx.recv_timeout(Duration::from_millis(10)) {
                    received.fetch_add(1, Relaxed);
                }
                for _ in 0..2000 {
                    std::hint::spin_loop();
                }
            }
        });
        // Stops the threads however this one ends (a failed assertion included).
        struct Stop<'a>(&'a AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Relaxed);
            }
        }
        let _stop = Stop(&stop);
        let channel = Inspection::open(&file.0).unwrap();
        let decoder = channel.decoder();
        let (mut seen, mut overtaken, mut peeks) = (0u64, 0u64, 0u64);
        // Until the receiver has taken many messages while they were peeked at.
        while received.load(Relaxed) < 20_000 || seen < 20_000 {
            let peek = channel.peek(usize::MAX).unwrap();
            assert!(!matches!(peek.end, PeekEnd::Corrupt(_)), "{:?}", peek.end);
            let mut last = None;
            for m in &peek.messages {
                let v = decoder.decode(&m.bytes).unwrap().to_string();
                assert!(v.starts_with(r#"{"Strings":[""#), "{v}");
                assert!(last < Some(m.position), "in order");
                last = Some(m.position);
                seen += 1;
            }
            overtaken += u64::from(peek.overtaken);
            peeks += 1;
            assert!(peeks < 10_000_000, "the threads made no progress");
        }
        eprintln!("{peeks} peeks saw {seen} messages, overtaken {overtaken} times");
    });
}

#[test]
fn a_raw_channel_is_inspected_and_its_messages_shown_in_hex() {
    let file = ShmFile::new("raw");
    let buffer = crate::SharedRingBuffer::create(&file.0, 1000).unwrap();
    let tx = crate::Sender::new(buffer.clone());
    tx.send(&(1u8, 2u8)).unwrap();
    let channel = Inspection::open(&file.0).unwrap();
    assert_eq!(channel.schema().hash, 0);
    assert_eq!(channel.layout().max_message, 1000);
    let peek = channel.peek(10).unwrap();
    assert_eq!(
        channel
            .decoder()
            .decode_or_hex(&peek.messages[0].bytes)
            .to_string(),
        r#"{"error":"a raw (untyped) channel: its messages carry no schema","hex":"0102"}"#
    );
    drop((tx, buffer));
}

#[test]
fn files_that_are_not_channels_are_named_for_what_they_are() {
    let file = ShmFile::new("other");
    let cases: [(&[u8], &str); 4] = [
        (b"", "is not an ipmpsc channel: the file is empty"),
        (
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            r#"is not an ipmpsc channel: it starts with the bytes 89 50 4e 47 0d 0a 1a 0a ("\x89PNG\r\n\x1a\n"), where a channel file has the magic bytes 49 50 4d 50 53 43 72 62 ("IPMPSCrb")"#,
        ),
        (b"IPM", "it starts with the bytes 49 50 4d"),
        (
            b"IPMPSCrb and then too little",
            "is a truncated ipmpsc channel: it is 28 bytes long",
        ),
    ];
    for (bytes, says) in cases {
        std::fs::write(&file.0, bytes).unwrap();
        let err = Inspection::open(&file.0).unwrap_err();
        assert!(matches!(err, Error::IncompatibleRingBuffer(_)), "{err:?}");
        assert!(err.to_string().contains(says), "{err}");
        assert_eq!(is_channel(&file.0).unwrap(), bytes.starts_with(b"IPMPSCrb"));
    }
}
