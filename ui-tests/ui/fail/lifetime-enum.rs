#[ipmpsc::channel]
pub enum Msg<'a> {
    Log(&'a str),
}

fn main() {}
