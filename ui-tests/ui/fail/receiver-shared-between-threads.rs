#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn share(receiver: MsgReceiver) {
    let receiver = &receiver;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let _held: &MsgReceiver = receiver;
        });
        scope.spawn(move || {
            let _held: &MsgReceiver = receiver;
        });
    });
}

fn main() {
    let _ = share;
}
