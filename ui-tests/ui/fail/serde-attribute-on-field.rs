#[ipmpsc::channel]
pub enum Msg {
    Log {
        #[serde(skip)]
        text: String,
    },
}

fn main() {}
