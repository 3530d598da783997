//! A user's own `Vec`, `String`, `Option` and `Box` types in a message are viewed as what
//! they are (their own `SchemaView`), not as std's. (A generic type is its own view, so it
//! needs `Clone`.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Vec<T>(pub T, pub T);

#[derive(Debug, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct String {
    pub len: u32,
}

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Msg {
    Pair(Vec<u8>),
    Text(String),
}

fn main() {
    let msg = Msg::Pair(Vec(1, 2));
    let MsgView::Pair(pair) = msg.as_view() else { unreachable!() };
    let _: Vec<u8> = pair;
    let text = Msg::Text(String { len: 3 });
    assert_eq!(text.as_view().into_owned(), text);
}
