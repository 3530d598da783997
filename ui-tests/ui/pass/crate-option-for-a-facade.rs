//! `crate = "path"` for users who reach ipmpsc through another name (a facade crate that
//! re-exports it, or a renamed dependency).

mod facade {
    pub use ipmpsc as channels;
}

#[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
#[ipmpsc(crate = "facade::channels")]
pub struct Inner {
    pub text: String,
}

#[ipmpsc::channel(crate = "facade::channels", version = 3)]
pub enum Msg {
    Log(String),
    Inner(Inner),
}

fn main() {
    assert_eq!(Msg::SCHEMA_VERSION, 3);
    let msg = Msg::Inner(Inner { text: "x".into() });
    let MsgView::Inner(InnerView { text }) = msg.as_view() else { unreachable!() };
    assert_eq!(text, "x");
}
