#[ipmpsc::channel(version = 2, version = 3)]
pub enum Msg {
    Stop,
}

fn main() {}
