#[ipmpsc::channel(version = 4294967296)]
pub enum Msg {
    Stop,
}

fn main() {}
