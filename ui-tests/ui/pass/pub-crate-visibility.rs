//! The generated items take the enum's visibility, so a `pub(crate)` message in a private
//! module is usable from the rest of the crate.

mod messages {
    #[ipmpsc::channel(version = 2)]
    pub(crate) enum Msg {
        Log(String),
    }
}

fn open(path: &str) -> ipmpsc::Result<messages::MsgSender> {
    messages::Msg::open_sender(path)
}

fn view(msg: &messages::Msg) -> messages::MsgView<'_> {
    msg.as_view()
}

fn main() {
    const VERSION: u32 = messages::Msg::SCHEMA_VERSION;
    let _ = (open, view, VERSION);
    let _: fn(&str) -> ipmpsc::Result<messages::MsgReceiver> = |p| messages::Msg::open_receiver(p);
}
