//! A producer built from another definition of the message enum is refused when it opens the
//! channel, in its own process, with a message that says what differs; one built from the same
//! structure, spelled differently, is accepted.

mod common;

use std::time::Duration;

use common::{ChildProc, Msg, ShmPath};

const CHILD: &str = env!("CARGO_BIN_EXE_ipmpsc-test-child");
const T: Duration = Duration::from_secs(30);

/// Runs a child that opens `path` with the definition `which`; returns its report line.
fn open_from_another_build(path: &ShmPath, which: &str) -> String {
    let mut child = ChildProc::spawn(CHILD, &["open-changed-sender", path.as_str(), which], &[]);
    let line = child.next_out(T).expect("the child reports");
    child.wait_success(T);
    line
}

fn refusal(path: &ShmPath, which: &str) -> String {
    let line = open_from_another_build(path, which);
    line.strip_prefix("REFUSED ")
        .unwrap_or_else(|| panic!("{which}: expected a schema mismatch, got {line:?}"))
        .to_owned()
}

#[test]
fn retyped_field_is_refused_and_named() {
    let path = ShmPath::new("mismatch-retyped");
    let _rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "retyped");
    assert!(why.contains("Msg v1"), "{why}");
    assert!(
        why.contains(
            "variant `Item`, field `data`: channel has `Vec<u8>`, this process has `Vec<u16>`"
        ),
        "{why}"
    );
}

#[test]
fn renamed_field_is_refused_and_named() {
    let path = ShmPath::new("mismatch-renamed");
    let _rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "renamed");
    assert!(why.contains("`seq`") && why.contains("`sequence`"), "{why}");
}

#[test]
fn added_variant_is_refused_and_named() {
    let path = ShmPath::new("mismatch-added");
    let _rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "added");
    assert!(why.contains("`Pause`") && why.contains("added"), "{why}");
}

#[test]
fn version_bump_is_refused_and_named() {
    let path = ShmPath::new("mismatch-bumped");
    let _rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "bumped");
    assert!(why.contains("channel has v1, this process has v2"), "{why}");
}

#[test]
fn raw_sender_on_a_typed_channel_is_refused() {
    let path = ShmPath::new("mismatch-raw");
    let _rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "raw");
    assert!(why.contains("raw (untyped)"), "{why}");
}

#[test]
fn same_structure_spelled_differently_is_accepted_and_delivers() {
    let path = ShmPath::new("mismatch-respelled");
    let mut rx = Msg::create_receiver(path.as_str(), 4096).unwrap();
    assert_eq!(open_from_another_build(&path, "respelled"), "OPENED");
    assert_eq!(
        rx.recv_timeout(T).unwrap(),
        Some(Msg::Text("respelled".into()))
    );
}

/// The tests' two builds of a channel with a nested type; the child has a third, whose
/// `Inner` has `x` marked `#[serde(skip)]` (so `x` is not on its wire).
mod nested {
    pub mod with_x {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub x: u32,
            pub y: u32,
        }
        #[ipmpsc::channel]
        #[derive(Debug, PartialEq)]
        pub enum Nested {
            Data(Inner, u64),
        }
    }
    pub mod without_x {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
        pub struct Inner {
            pub y: u32,
        }
        #[ipmpsc::channel]
        #[derive(Debug, PartialEq)]
        pub enum Nested {
            Data(Inner, u64),
        }
    }
}

#[test]
fn serde_skip_inside_a_nested_type_is_refused_where_the_wire_differs() {
    // Before, the skip was not part of the hash: the child's `Data(Inner { x: 1, y: 2 }, 3)`
    // arrived here as `Data(Inner { x: 2, y: 3 }, ..)` with no error.
    let path = ShmPath::new("mismatch-nested-skip");
    let _rx = nested::with_x::Nested::create_receiver(path.as_str(), 4096).unwrap();
    let why = refusal(&path, "nested-skip");
    assert!(why.contains("Inner"), "{why}");
}

#[test]
fn serde_skip_inside_a_nested_type_matches_a_build_without_the_field() {
    let path = ShmPath::new("match-nested-skip");
    let mut rx = nested::without_x::Nested::create_receiver(path.as_str(), 4096).unwrap();
    assert_eq!(open_from_another_build(&path, "nested-skip"), "OPENED");
    let expected = nested::without_x::Nested::Data(nested::without_x::Inner { y: 2 }, 3);
    assert_eq!(rx.recv_timeout(T).unwrap(), Some(expected));
}

/// The README's message enum, and the same enum as a producer built from a changed version of
/// it would have it.
mod readme {
    pub mod channel {
        #[ipmpsc::channel(version = 2)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Msg {
            Frame {
                width: u32,
                height: u32,
                pixels: Vec<u8>,
            },
            Log(String),
            Stop,
        }
    }
    pub mod changed {
        #[ipmpsc::channel(version = 2)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Msg {
            Frame {
                width: u32,
                height: u32,
                pixels: Vec<u16>,
            },
            Log(String),
            Stop,
        }
    }
}

#[test]
fn the_readme_shows_the_refusal_a_changed_producer_gets() {
    const README: &str = include_str!("../README.md");
    let intro = "A producer compiled from a changed enum gets:\n\n```text\n";
    let start = README.find(intro).expect("the README shows a refusal") + intro.len();
    let shown = README[start..].split("\n```").next().unwrap();

    let path = ShmPath::new("mismatch-readme");
    let _rx = readme::channel::Msg::create_receiver(path.as_str(), 4096).unwrap();
    let err = readme::changed::Msg::open_sender(path.as_str()).unwrap_err();
    assert!(matches!(err, ipmpsc::Error::SchemaMismatch(_)), "{err}");
    // The README leaves the hashes out.
    let real = err
        .to_string()
        .replace(&format!("{:016x}", readme::channel::Msg::SCHEMA_HASH), "…")
        .replace(&format!("{:016x}", readme::changed::Msg::SCHEMA_HASH), "…");
    assert_eq!(shown, real);
}
