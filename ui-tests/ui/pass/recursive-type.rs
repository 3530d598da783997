//! A type that contains itself hashes (the inner mention by name) and views recursively.

use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub struct Tree {
    pub label: String,
    pub kids: Vec<Tree>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
pub enum Expr {
    Leaf(u32),
    Add(Box<Expr>, Box<Self>),
}

#[ipmpsc::channel]
#[derive(Debug, PartialEq)]
pub enum Msg {
    Tree(Tree),
    Expr(Expr),
}

fn main() {
    const _: u64 = Msg::SCHEMA_HASH;
    let tree = Msg::Tree(Tree { label: "root".into(), kids: vec![Tree { label: "kid".into(), kids: vec![] }] });
    let MsgView::Tree(TreeView { label, kids }) = tree.as_view() else { unreachable!() };
    let _: (&str, &str) = (label, kids[0].label);
    assert_eq!(tree.as_view().into_owned(), tree);
    let mut text = std::string::String::new();
    <Tree as ipmpsc::SchemaType>::describe(&mut text);
    assert_eq!(text, "Tree { label: String, kids: Vec<Tree> }");
}
