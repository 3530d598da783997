#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn receive_two(receiver: &mut MsgReceiver) -> ipmpsc::Result<()> {
    let first = receiver.recv_view()?;
    let second = receiver.recv_view()?;
    let (MsgView::Log(a), MsgView::Log(b)) = (&*first, &*second);
    println!("{a} {b}");
    Ok(())
}

fn main() {
    let _ = receive_two;
}
