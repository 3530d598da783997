#[ipmpsc::channel(capacity = 4096)]
pub enum Msg {
    Stop,
}

fn main() {}
