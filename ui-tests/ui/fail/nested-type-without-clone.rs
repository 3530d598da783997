#[derive(serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub struct Meta {
    pub id: u32,
}

#[ipmpsc::channel]
pub enum Msg {
    Tagged(String, Meta),
}

fn main() {}
