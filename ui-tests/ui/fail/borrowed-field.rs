#[ipmpsc::channel]
pub enum Msg {
    Log(&'static str),
}

fn main() {}
