//! Procedural macros for [`ipmpsc`](https://docs.rs/ipmpsc): `#[ipmpsc::channel]` and
//! `#[derive(ipmpsc::Schema)]`. Use them through the `ipmpsc` crate, which re-exports both
//! and documents them.
//!
//! The crate is laid out like thiserror's: `ast` parses the input into a small IR, `attr`
//! reads the options, `valid` rejects misuse with an error on the offending token, `view`
//! maps field types to their borrowed form, `schema` emits the schema tables the hash is
//! folded from, and `expand` generates the rest. Generated code names everything by
//! absolute path, through `::ipmpsc::__private` where it needs serde or a helper.

mod ast;
mod attr;
mod expand;
mod nested;
mod schema;
mod serde_attr;
mod valid;
mod view;

use proc_macro::TokenStream;

/// Turns a message enum into a typed inter-process channel.
///
/// `#[ipmpsc::channel]` or `#[ipmpsc::channel(version = N)]` (`N` a `u32`, 1 by default; bump
/// it whenever the messages change meaning) goes on an enum, above its other attributes. With
/// the enum's visibility, for an enum `Msg` it generates:
///
/// - serde's `Serialize` and `Deserialize` for `Msg` (through `ipmpsc`, so a crate whose
///   messages hold only std types needs no `serde` dependency), and
///   `impl ipmpsc::Channel for Msg`, whose `SCHEMA` carries the name, version and structural
///   hash that every channel file records;
/// - the inherent constants `Msg::SCHEMA_HASH: u64` and `Msg::SCHEMA_VERSION: u32`;
/// - `MsgView<'a>`, the borrowed view a receiver decodes in place: the same variants and
///   fields, each field of type `T` viewed as `<T as ipmpsc::SchemaView>::View<'a>`: `String`
///   (and `Box<str>`, `Cow<str>`) as `&'a str`, `Vec<u8>` and `Box<[u8]>` as `&'a [u8]`,
///   containers element-wise (`Vec<(String, String)>` as `Vec<(&'a str, &'a str)>`, maps as a
///   `Vec` of pairs), a nested `#[derive(ipmpsc::Schema)]` type `Meta` as its generated
///   `MetaView<'a>`, numbers by value. `Msg::as_view(&self)` borrows a message as a view
///   without copying any payload, and `MsgView::into_owned` copies one out. When every field
///   is a number, `bool` or `char`, `MsgView<'a>` is an alias of `Msg` itself rather than an
///   enum with an artificial lifetime marker. The std derives among `Msg`'s (`Debug`,
///   `Clone`, `Copy`, `PartialEq`, `Eq`, `PartialOrd`, `Ord`, `Hash`) are given to the view
///   too (the generated views of nested types implement `Debug`, `Clone`, `Copy`,
///   `PartialEq` and `Eq` whenever their fields' views do);
/// - `MsgSender` and `MsgReceiver`, aliases of `ipmpsc::TypedSender<Msg>` and
///   `ipmpsc::TypedReceiver<Msg>`, and the constructors `Msg::create_receiver(path,
///   capacity_bytes)`, `Msg::open_receiver(path)` and `Msg::open_sender(path)`.
///
/// A message and its view encode to the same bytes; every field goes through
/// [`ipmpsc::wire`](https://docs.rs/ipmpsc/latest/ipmpsc/wire/), which writes byte buffers in
/// one piece at any depth.
///
/// `#[ipmpsc::channel(crate = "path")]` names the `ipmpsc` crate for users who reach it
/// through another name (a renamed dependency, or a facade crate that re-exports it). Put
/// `#[ipmpsc::channel]` above `#[derive(...)]`: a serde derive written before it is expanded
/// first, and the two `Serialize` impls conflict (E0119). A variant may not be named like a
/// generated item (`SCHEMA_HASH`, `as_view`, `open_sender`, …); names starting with
/// `__ipmpsc` are reserved for the generated code.
///
/// Field types must implement `ipmpsc::SchemaType`: the std types do, and
/// `#[derive(ipmpsc::Schema)]` makes your own types do. The enum must have at least one
/// variant, no generic parameters, no lifetimes and no reference fields (a message owns its
/// data; the view does the borrowing), no `#[serde(...)]` attributes, written directly or in
/// a `cfg_attr` (the message and its view must encode alike) and no `#[cfg]` on variants or
/// fields (every build must agree on the schema); do not derive `Serialize` or `Deserialize`
/// yourself.
///
/// # Examples
///
/// ```
/// #[ipmpsc::channel(version = 2)]
/// #[derive(Debug, Clone, PartialEq)]
/// pub enum Msg {
///     Frame { width: u32, height: u32, pixels: Vec<u8> },
///     Log(String),
///     Stop,
/// }
///
/// const HASH: u64 = Msg::SCHEMA_HASH;
/// assert_ne!(HASH, 0);
/// assert_eq!(Msg::SCHEMA_VERSION, 2);
///
/// let frame = Msg::Frame { width: 1, height: 2, pixels: vec![7, 8] };
/// let view: MsgView<'_> = frame.as_view();
/// let MsgView::Frame { pixels, .. } = &view else { unreachable!() };
/// let _: &[u8] = pixels;
/// assert_eq!(view.into_owned(), frame);
///
/// let path = format!("/dev/shm/ipmpsc-derive-doc-{}", std::process::id());
/// let mut receiver: MsgReceiver = Msg::create_receiver(&path, 64 * 1024)?;
/// let sender: MsgSender = Msg::open_sender(&path)?;
/// sender.send(&Msg::Log("hello".to_owned()))?;
/// assert_eq!(receiver.recv()?, Msg::Log("hello".to_owned()));
/// # drop((sender, receiver));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[proc_macro_attribute]
pub fn channel(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::channel(args.into(), input.into()).into()
}

/// Makes a struct or enum usable inside a channel message by implementing
/// `ipmpsc::SchemaType`: its name, its shape, its field names and its field types (which must
/// implement `SchemaType` in turn) are folded into the hash of every channel that carries it,
/// so a change anywhere inside it is caught when a channel is opened.
///
/// It also implements `ipmpsc::SchemaView` with a generated view type: for `Meta`,
/// `MetaView<'a>`, with the same fields (or variants) viewed as a message's are, so that a
/// received view borrows strings and byte buffers from the channel at any depth;
/// `MetaView::into_owned` copies one out. A type whose fields are all numbers, `bool` or
/// `char` is its own view, and so is a generic type (which must then be `Clone`; a generic
/// type cannot contain itself).
///
/// Works on structs with named, positional or no fields, on enums, and on generic types (each
/// type parameter must implement `SchemaType`). It does not derive serde: derive
/// `Serialize` and `Deserialize` next to it, as for any serde type. serde attributes are
/// modelled as bincode writes them: `#[serde(skip)]` leaves the field out of the hash and of
/// the view (`into_owned` fills it as serde would), attributes that write nothing (`rename`,
/// `alias`, `default`, `bound`, `borrow`, `transparent`, `with = "ipmpsc::wire"`, …) are
/// accepted, and the rest (`with` of your own, `serde_bytes` included, `flatten`,
/// `untagged`, `tag`, `skip_serializing_if`, `from`, `into`, `skip` on a newtype's one
/// field, …) are refused with the reason.
/// Put `#[serde(with = "ipmpsc::wire")]` on large byte-buffer fields to have them written in
/// one piece. A type that mentions itself (`Tree { kids: Vec<Tree> }`) hashes that mention by
/// name. `#[ipmpsc(crate = "path")]` names the `ipmpsc` crate, as for `#[ipmpsc::channel]`.
///
/// # Examples
///
/// ```
/// use ipmpsc::SchemaType;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, ipmpsc::Schema)]
/// pub struct Meta {
///     pub id: u32,
///     pub tags: Vec<String>,
/// }
///
/// #[ipmpsc::channel]
/// #[derive(Debug, PartialEq)]
/// pub enum Msg {
///     Tagged(Meta),
/// }
///
/// let mut text = String::new();
/// Meta::describe(&mut text);
/// assert_eq!(text, "Meta { id: u32, tags: Vec<String> }");
///
/// let msg = Msg::Tagged(Meta { id: 7, tags: vec!["a".into()] });
/// let MsgView::Tagged(MetaView { id, tags }) = msg.as_view();
/// let _: (u32, Vec<&str>) = (id, tags);
/// assert_eq!(msg.as_view().into_owned(), msg);
/// ```
#[proc_macro_derive(Schema, attributes(ipmpsc))]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    nested::derive_schema(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
