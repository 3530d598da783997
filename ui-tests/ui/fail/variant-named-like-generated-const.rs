#[ipmpsc::channel]
pub enum Msg {
    SCHEMA_HASH,
    Log(String),
}

fn main() {}
