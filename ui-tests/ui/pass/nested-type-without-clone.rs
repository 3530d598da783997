//! A nested type needs no `Clone`: `as_view` borrows it field by field.

#[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub struct Meta {
    pub id: u32,
    pub name: String,
}

#[ipmpsc::channel]
pub enum Msg {
    Tagged(String, Meta),
}

fn main() {
    let msg = Msg::Tagged("a".into(), Meta { id: 1, name: "b".into() });
    let MsgView::Tagged(text, MetaView { id, name }) = msg.as_view();
    let _: (&str, u32, &str) = (text, id, name);
}
