#[derive(serde::Serialize)]
#[ipmpsc::channel]
pub enum Msg {
    Log(String),
}

fn main() {}
