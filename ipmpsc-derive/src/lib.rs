//! Procedural macros for [`ipmpsc`](https://docs.rs/ipmpsc): `#[ipmpsc::channel]` and
//! `#[derive(ipmpsc::Schema)]`. Use them through the `ipmpsc` crate, which re-exports both
//! and documents them.
//!
//! The crate is laid out like thiserror's: [`ast`] parses the input into a small IR, [`attr`]
//! reads the options, [`valid`] rejects misuse with an error on the offending token, [`view`]
//! maps field types to their borrowed form, [`schema`] emits the schema tables the hash is
//! folded from, and [`expand`] generates the rest. Generated code names everything by
//! absolute path, through `::ipmpsc::__private` where it needs serde or a helper.

mod ast;
mod attr;
mod expand;
mod schema;
mod valid;
mod view;

use proc_macro::TokenStream;

/// Turns a message enum into a typed inter-process channel. See `ipmpsc::channel`.
#[proc_macro_attribute]
pub fn channel(args: TokenStream, input: TokenStream) -> TokenStream {
    expand::channel(args.into(), input.into()).into()
}

/// Makes a struct or enum usable inside a channel message. See `ipmpsc::Schema`.
#[proc_macro_derive(Schema)]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive_schema(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
