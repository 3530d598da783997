#[ipmpsc::channel(version = "2")]
pub enum Msg {
    Stop,
}

fn main() {}
