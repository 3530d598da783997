//! The generic decoder against the real encodings of many message shapes (made by the real
//! macros and the real codec) and the description parser against hostile text (`decode`);
//! inspecting and peeking at real channels (`peek`). Here: the message types they share.

mod decode;
mod peek;

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

pub(super) fn samples() -> Vec<(Shapes, &'static str)> {
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

pub(super) fn decoder_of(schema: &Schema) -> Decoder {
    Decoder::new(&StoredSchema::from(schema))
}

/// A channel under /dev/shm, removed when dropped.
pub(super) struct ShmFile(pub(super) String);

impl ShmFile {
    pub(super) fn new(what: &str) -> ShmFile {
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
