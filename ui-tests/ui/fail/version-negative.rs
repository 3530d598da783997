#[ipmpsc::channel(version = -1)]
pub enum Msg {
    Stop,
}

fn main() {}
