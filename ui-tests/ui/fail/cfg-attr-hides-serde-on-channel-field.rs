#[ipmpsc::channel]
pub enum Msg {
    Log {
        #[cfg_attr(not(debug_assertions), serde(skip))]
        seq: u64,
        text: String,
    },
}

fn main() {}
