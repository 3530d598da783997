#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn first_log(path: &str) -> ipmpsc::Result<&'static str> {
    let mut receiver = Msg::open_receiver(path)?;
    let guard = receiver.recv_view()?;
    let MsgView::Log(text) = *guard;
    Ok(text)
}

fn main() {
    let _ = first_log;
}
