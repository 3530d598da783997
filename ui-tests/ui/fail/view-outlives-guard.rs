#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn last_log(receiver: &mut MsgReceiver) -> ipmpsc::Result<&str> {
    let guard = receiver.recv_view()?;
    match *guard {
        MsgView::Log(text) => Ok(text),
    }
}

fn main() {
    let _ = last_log;
}
