#[ipmpsc::channel]
pub enum Msg {
    Log(String),
    #[cfg(debug_assertions)]
    Dump(Vec<u8>),
}

fn main() {}
