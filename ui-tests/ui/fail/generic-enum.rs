#[ipmpsc::channel]
pub enum Msg<T> {
    Value(T),
}

fn main() {}
