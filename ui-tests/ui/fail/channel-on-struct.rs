#[ipmpsc::channel]
pub struct Frame {
    pub width: u32,
}

fn main() {}
