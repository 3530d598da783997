//! The user's own derives and attributes stay on the message; the std ones that hold for
//! borrowed data are given to the view too.

#[ipmpsc::channel]
/// Documentation stays.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[allow(clippy::enum_variant_names)]
pub enum Msg {
    #[default]
    Stop,
    Log(String),
}

fn main() {
    let msg = Msg::default();
    let view = msg.as_view();
    assert_eq!(view.clone(), MsgView::Stop);
    assert!(MsgView::Stop < MsgView::Log("a"));
    let mut set = std::collections::HashSet::new();
    set.insert(view);
    assert_eq!(format!("{msg:?}"), "Stop");
}
