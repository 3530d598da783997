#[ipmpsc::channel]
fn messages() {}

fn main() {}
