//! Structs (named, tuple, unit), enums and generic types derived with `ipmpsc::Schema`,
//! nested in a message and in each other; inside a view each is its own view type
//! (`ShapeView<'a>`), a type with only numbers is its own view, and a generic type stays
//! owned.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Meta {
    pub id: u32,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Point(pub i32, pub i32);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Marker;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub enum Shape {
    Dot(Point),
    Line { from: Point, to: Point },
    Nothing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Tagged<T> {
    pub meta: Meta,
    pub value: T,
}

#[ipmpsc::channel]
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Draw {
        shape: Shape,
        meta: Option<Meta>,
        label: String,
    },
    Many(Vec<Shape>, Marker),
    Tagged(Tagged<Vec<Point>>),
}

fn views(msg: &Msg) -> Msg {
    match msg.as_view() {
        MsgView::Draw { shape, meta, label } => {
            let _: (&ShapeView<'_>, &Option<MetaView<'_>>, &str) = (&shape, &meta, label);
        }
        MsgView::Many(shapes, marker) => {
            let _: (&Vec<ShapeView<'_>>, &Marker) = (&shapes, &marker);
        }
        MsgView::Tagged(tagged) => {
            let _: &Tagged<Vec<Point>> = &tagged;
        }
    }
    msg.as_view().into_owned()
}

const HASHES: [u64; 3] = [
    <Meta as ipmpsc::SchemaType>::HASH,
    <Shape as ipmpsc::SchemaType>::HASH,
    <Tagged<Marker> as ipmpsc::SchemaType>::HASH,
];

fn main() {
    let _ = (views as fn(&Msg) -> Msg, HASHES, Msg::SCHEMA_HASH);
}
