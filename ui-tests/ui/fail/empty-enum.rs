#[ipmpsc::channel]
pub enum Msg {}

fn main() {}
