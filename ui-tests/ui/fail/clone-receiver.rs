#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn two_consumers(receiver: MsgReceiver) -> (MsgReceiver, MsgReceiver) {
    (receiver.clone(), receiver)
}

fn main() {
    let _ = two_consumers;
}
