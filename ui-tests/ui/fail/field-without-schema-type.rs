#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    pub id: u32,
}

#[ipmpsc::channel]
pub enum Msg {
    Tagged { meta: Meta },
}

fn main() {}
