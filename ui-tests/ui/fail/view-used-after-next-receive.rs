#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn two_logs(receiver: &mut MsgReceiver) -> ipmpsc::Result<()> {
    let MsgView::Log(first) = *receiver.recv_view()?;
    let _second = receiver.recv()?;
    println!("{first}");
    Ok(())
}

fn main() {
    let _ = two_logs;
}
