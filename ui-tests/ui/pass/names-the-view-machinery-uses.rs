//! Generic parameters and variants named like what the view machinery uses internally.

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub struct Wrap<S> {
    pub inner: S,
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize, ipmpsc::Schema)]
pub enum Shape {
    View(String),
    SliceView(u32),
}

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Msg {
    Wrapped(Wrap<u32>),
    Shapes(Vec<Shape>),
}

fn main() {
    let msg = Msg::Shapes(vec![Shape::View("v".into()), Shape::SliceView(3)]);
    assert_eq!(msg.as_view().into_owned(), msg);
}
