//! Items of the user's that share names with what the macros generate or name: constants
//! called like the generated code's bindings and parameters, and types called like std's.
//! (A constant named like a field, or like serde's own `__field0`, breaks serde's derive,
//! whoever calls it.)
#![allow(non_upper_case_globals, dead_code)]

const view: u32 = 1;
const out: u32 = 2;
const __field_view: u32 = 3;

pub struct Option;
pub struct Vec;
pub struct String;
pub struct Box;

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub struct Inner {
    pub text: std::string::String,
    pub number: u32,
}

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Msg {
    Log { text: std::string::String, number: u32 },
    Bytes(std::vec::Vec<u8>, std::option::Option<std::boxed::Box<[u8]>>),
    Nested(Inner),
}

fn main() {
    let msg = Msg::Log { text: "v".into(), number: 7 };
    let MsgView::Log { text, number } = msg.as_view() else { unreachable!() };
    let _: (&str, u32) = (text, number);
    assert_eq!(msg.as_view().into_owned(), msg);
    let _ = (view, out, __field_view, Option, Vec, String, Box);
}
