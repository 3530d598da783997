//! Misuse the macros reject, each with an error on the offending token and a sentence that
//! tells the fix.

use quote::ToTokens as _;
use syn::{Attribute, GenericParam, Generics, Item, ItemEnum};

use crate::ast::Variant;
use crate::attr;

/// The item under `#[ipmpsc::channel]` must be an enum.
pub fn channel_item(item: &Item) -> syn::Result<&ItemEnum> {
    const HOW: &str = "put it on an enum whose variants are the messages, \
                       e.g. `enum Msg { Frame(Frame), Stop }`";
    let (token, what) = match item {
        Item::Enum(item) => return Ok(item),
        Item::Struct(item) => (item.struct_token.into_token_stream(), "a struct"),
        Item::Union(item) => (item.union_token.into_token_stream(), "a union"),
        Item::Fn(item) => (item.sig.fn_token.into_token_stream(), "a function"),
        other => (other.into_token_stream(), "this item"),
    };
    Err(syn::Error::new_spanned(
        token,
        format!("`#[ipmpsc::channel]` cannot be used on {what}: {HOW}"),
    ))
}

/// Everything `#[ipmpsc::channel]` refuses on an enum, as one combined error.
pub fn channel_enum(item: &ItemEnum, variants: &[Variant<'_>]) -> syn::Result<()> {
    let mut errors = Errors::default();
    errors.check(no_generics(&item.generics));
    if item.variants.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.ident,
            "a channel enum needs at least one variant, one per kind of message: \
             add a variant, e.g. `Stop`",
        ));
    }
    match attr::derived(&item.attrs) {
        Ok(paths) => {
            for path in paths {
                let name = attr::last_name(&path);
                if name == "Serialize" || name == "Deserialize" {
                    errors.push(syn::Error::new_spanned(
                        path,
                        format!(
                            "`#[ipmpsc::channel]` derives `{name}` itself (so that the message \
                             and its view encode alike): remove `{name}` from this derive"
                        ),
                    ));
                }
            }
        }
        Err(e) => errors.push(e),
    }
    errors.check(no_serde_attrs(&item.attrs, "on a channel enum"));
    for variant in variants {
        errors.check(no_serde_attrs(variant.attrs, "on a channel's variants"));
        errors.check(no_cfg(variant.attrs, "variant"));
        errors.check(not_generated_name(variant));
        for field in &variant.fields {
            if crate::view::mentions(field.ty, &item.ident) {
                errors.push(syn::Error::new_spanned(
                    field.ty,
                    format!(
                        "a channel enum cannot contain itself: put the recursive part in a \
                         type of its own that derives `ipmpsc::Schema` (e.g. `struct Tree {{ \
                         kids: Vec<Tree> }}`) and send that in a variant of `{}`",
                        item.ident
                    ),
                ));
            }
            errors.check(no_serde_attrs(field.attrs, "on a channel's fields"));
            errors.check(no_cfg(field.attrs, "field"));
            errors.check(owns_its_data(field.ty));
        }
    }
    errors.finish()
}

/// Everything `#[derive(ipmpsc::Schema)]` refuses, beyond unions (see `expand`).
pub fn schema_type(variants: &[Variant<'_>]) -> syn::Result<()> {
    let mut errors = Errors::default();
    for variant in variants {
        errors.check(no_cfg(variant.attrs, "variant"));
        for field in &variant.fields {
            errors.check(no_cfg(field.attrs, "field"));
            errors.check(owns_its_data(field.ty));
        }
    }
    errors.finish()
}

/// The associated items `#[ipmpsc::channel]` generates on the enum, which a variant of the
/// same name would make ambiguous.
const GENERATED: &[&str] = &[
    "SCHEMA_HASH",
    "SCHEMA_VERSION",
    "as_view",
    "into_owned",
    "create_receiver",
    "open_receiver",
    "open_or_create_receiver",
    "open_sender",
];

fn not_generated_name(variant: &Variant<'_>) -> syn::Result<()> {
    let name = variant.ident.to_string();
    if GENERATED.contains(&name.as_str()) {
        return Err(syn::Error::new_spanned(
            variant.ident,
            format!(
                "a variant cannot be called `{name}`: `#[ipmpsc::channel]` generates \
                 `Msg::{name}` for every channel enum, and the two would clash; rename the \
                 variant"
            ),
        ));
    }
    Ok(())
}

/// A field type that borrows (`&'static str`, `&[u8]`): a message must own its data.
fn owns_its_data(ty: &syn::Type) -> syn::Result<()> {
    match ty {
        syn::Type::Group(group) => owns_its_data(&group.elem),
        syn::Type::Paren(paren) => owns_its_data(&paren.elem),
        syn::Type::Reference(reference) => {
            let owned = match &*reference.elem {
                syn::Type::Path(p) if p.path.is_ident("str") => "String".to_owned(),
                syn::Type::Slice(s) => format!("Vec<{}>", s.elem.to_token_stream()),
                other => other.to_token_stream().to_string(),
            };
            Err(syn::Error::new_spanned(
                ty,
                format!(
                    "a channel message must own its data, it cannot hold a reference: use \
                     `{owned}` here; the generated view borrows it from the channel for you"
                ),
            ))
        }
        _ => Ok(()),
    }
}

fn no_generics(generics: &Generics) -> syn::Result<()> {
    let mut errors = Errors::default();
    for param in &generics.params {
        errors.push(match param {
            GenericParam::Lifetime(lt) => syn::Error::new_spanned(
                &lt.lifetime,
                format!(
                    "a channel message must own its data, it cannot borrow for `{}`: remove the \
                     lifetime and use owned types (`String`, `Vec<u8>`); the generated view \
                     (`<Name>View<'a>`) borrows them from the channel for you",
                    lt.lifetime
                ),
            ),
            GenericParam::Type(ty) => syn::Error::new_spanned(
                &ty.ident,
                format!(
                    "a channel enum cannot be generic: a channel file carries one concrete \
                     message type; replace `{}` with a concrete type, or declare one channel \
                     enum per type",
                    ty.ident
                ),
            ),
            GenericParam::Const(c) => syn::Error::new_spanned(
                &c.ident,
                format!(
                    "a channel enum cannot be generic: a channel file carries one concrete \
                     message type; replace `{}` with a constant",
                    c.ident
                ),
            ),
        });
    }
    errors.finish()
}

fn no_serde_attrs(attrs: &[Attribute], place: &str) -> syn::Result<()> {
    let mut errors = Errors::default();
    for attr in crate::serde_attr::hidden_serde(attrs) {
        errors.push(syn::Error::new_spanned(
            attr,
            format!(
                "a `cfg_attr` that holds a `serde(...)` or a `cfg` is not supported {place}: \
                 the macro cannot see which builds it applies to, and builds that encode \
                 differently must not share a schema; remove it (to customise encoding, put \
                 the field in a type of your own that derives serde and `ipmpsc::Schema`)"
            ),
        ));
    }
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        errors.push(syn::Error::new_spanned(
            attr,
            format!(
                "`#[serde(...)]` is not supported {place}: `#[ipmpsc::channel]` derives serde \
                 for the message and for its view, which must encode alike; remove the \
                 attribute (to customise encoding, put the field in a type of your own that \
                 derives serde and `ipmpsc::Schema`)"
            ),
        ));
    }
    errors.finish()
}

fn no_cfg(attrs: &[Attribute], what: &str) -> syn::Result<()> {
    let mut errors = Errors::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("cfg")) {
        errors.push(syn::Error::new_spanned(
            attr,
            format!(
                "a {what} cannot be conditional: every build must agree on the schema, or \
                 their channels would not match; remove the `#[cfg]` (or make the whole type \
                 conditional)"
            ),
        ));
    }
    errors.finish()
}

/// Collects errors so that one compile reports every misuse, not only the first.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// The value, or `None` after recording its error.
    pub fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn check(&mut self, result: syn::Result<()>) {
        if let Err(error) = result {
            self.push(error);
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
