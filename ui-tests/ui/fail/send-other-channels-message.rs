#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

#[ipmpsc::channel]
pub enum Command {
    Stop,
}

fn send(sender: &MsgSender) -> ipmpsc::Result<()> {
    sender.send(&Command::Stop)
}

fn main() {
    let _ = send;
}
