#[ipmpsc::channel]
pub enum Msg {
    Leaf(String),
    Many(Vec<Msg>),
}

fn main() {}
