use serde::Serialize;

#[ipmpsc::channel]
#[derive(Debug, Serialize)]
pub enum Msg {
    Stop,
}

fn main() {}
