//! The serde attributes of a `#[derive(ipmpsc::Schema)]` type, read as bincode sees them.
//!
//! bincode writes no names and no tags of its own: a struct is its fields in order, an enum
//! is a variant index and the variant's fields. So most serde attributes change nothing on
//! the wire (`rename`, `alias`, `default`, `bound`, …) and the hash can ignore them; `skip`
//! removes a field from the wire, and the hash leaves it out too. Everything else either
//! changes the wire in a way the hash cannot see (`with`, `from`, `into`, …) or fails at run
//! time under bincode (`flatten`, `untagged`, `tag`, `skip_serializing_if`, …), and is
//! refused here, with the reason and what to write instead.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens as _;
use syn::parse::{ParseStream, Parser as _};
use syn::punctuated::Punctuated;
use syn::{Attribute, Expr, Lit, Meta, Token};

/// Where an attribute sits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Container,
    Variant,
    Field,
}

impl Place {
    fn on(self) -> &'static str {
        match self {
            Place::Container => "on a type",
            Place::Variant => "on a variant",
            Place::Field => "on a field",
        }
    }
}

/// What the serde attributes of one field, variant or container amount to on the wire.
#[derive(Default)]
pub struct Model {
    /// `#[serde(skip)]`: the field is not on the wire.
    pub skip: bool,
    /// `#[serde(default = "path")]` (field or container): how serde fills a skipped field.
    pub default_path: Option<syn::ExprPath>,
    /// `#[serde(default)]`: on a container, skipped fields come from the container's
    /// `Default`; on a field, from the field type's (which wins over the container's).
    pub default: bool,
}

/// Reads every `#[serde(...)]` among `attrs` (written directly or inside `cfg_attr`) at
/// `place`, refusing what the hash cannot model.
pub fn read(attrs: &[Attribute], place: Place, krate: &syn::Path) -> syn::Result<Model> {
    let same_bytes = [
        "ipmpsc::wire".to_owned(),
        "::ipmpsc::wire".to_owned(),
        format!("{}::wire", krate.to_token_stream()).replace(' ', ""),
    ];
    let mut model = Model::default();
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for attr in attrs {
        if attr.path().is_ident("serde") {
            if let Err(e) = read_serde(
                attr.meta.require_list().map(|l| l.tokens.clone()),
                place,
                &mut model,
                None,
                &same_bytes,
            ) {
                push(e);
            }
        } else if attr.path().is_ident("cfg_attr") {
            if let Err(e) = read_cfg_attr(attr, place, &same_bytes) {
                push(e);
            }
        }
    }
    errors.map_or(Ok(model), Err)
}

/// `cfg_attr(predicate, attr, …)`: the macro cannot tell whether the predicate holds in the
/// build that compiles it, so only attributes without wire effect may hide in one.
fn read_cfg_attr(attr: &Attribute, place: Place, same_bytes: &[String]) -> syn::Result<()> {
    let (predicate, inner) = attr.parse_args_with(|input: ParseStream<'_>| {
        let predicate: Meta = input.parse()?;
        input.parse::<Token![,]>()?;
        let inner = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        Ok((predicate, inner))
    })?;
    let predicate = predicate.to_token_stream().to_string();
    for meta in inner {
        if meta.path().is_ident("serde") {
            let tokens = meta.require_list().map(|l| l.tokens.clone());
            let mut conditional = Model::default();
            read_serde(
                tokens,
                place,
                &mut conditional,
                Some(&predicate),
                same_bytes,
            )?;
            if conditional.skip {
                return Err(syn::Error::new_spanned(
                    &meta,
                    format!(
                        "`serde(skip)` inside `cfg_attr({predicate}, ..)` is refused: builds \
                         with and without `{predicate}` would put different bytes on the wire, \
                         and a receiver of one could not tell a sender of the other; skip the \
                         field in every build (or in none), or make the whole type conditional"
                    ),
                ));
            }
        } else if meta.path().is_ident("cfg") {
            return Err(syn::Error::new_spanned(
                &meta,
                format!(
                    "a `cfg` inside `cfg_attr({predicate}, ..)` makes this {} conditional: \
                     every build must agree on the schema; remove it",
                    match place {
                        Place::Field => "field",
                        Place::Variant => "variant",
                        Place::Container => "type",
                    }
                ),
            ));
        } else if meta.path().is_ident("cfg_attr") {
            let nested: Attribute = syn::parse_quote!(#[#meta]);
            read_cfg_attr(&nested, place, same_bytes)?;
        }
    }
    Ok(())
}

/// One `serde(...)` list.
fn read_serde(
    tokens: syn::Result<TokenStream>,
    place: Place,
    model: &mut Model,
    predicate: Option<&str>,
    same_bytes: &[String],
) -> syn::Result<()> {
    let tokens = tokens?;
    let parser = syn::meta::parser(|meta| {
        let name = meta.path.get_ident().map_or_else(
            || meta.path.to_token_stream().to_string(),
            ToString::to_string,
        );
        // The value, if any: `= "..."` or `(...)`.
        let value = if meta.input.peek(Token![=]) {
            let expr: Expr = meta.value()?.parse()?;
            match expr {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                other => Some(other.to_token_stream().to_string()),
            }
        } else if meta.input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in meta.input);
            content.parse::<TokenStream>()?;
            None
        } else {
            None
        };
        let span = meta
            .path
            .get_ident()
            .map_or_else(Span::call_site, |i| i.span());
        match classify(&name, value.as_deref(), place, same_bytes) {
            Verdict::NoWireEffect => {
                if name == "default" {
                    match (&value, place) {
                        (Some(path), _) => {
                            model.default_path = Some(syn::parse_str(path).map_err(|_| {
                                syn::Error::new(span, "`default` must name a function")
                            })?);
                        }
                        (None, Place::Container | Place::Field) => model.default = true,
                        _ => {}
                    }
                }
                Ok(())
            }
            Verdict::Skip => {
                model.skip = true;
                Ok(())
            }
            Verdict::Refused(why) => Err(syn::Error::new(
                span,
                match predicate {
                    Some(p) => format!(
                        "`#[serde({name})]` (inside `cfg_attr({p}, ..)`) is not supported {}: {why}",
                        place.on()
                    ),
                    None => format!("`#[serde({name})]` is not supported {}: {why}", place.on()),
                },
            )),
        }
    });
    parser.parse2(tokens)
}

enum Verdict {
    NoWireEffect,
    Skip,
    Refused(String),
}

/// `same_bytes`: the spellings of `ipmpsc::wire`, the one `with` module known to write the
/// same bytes as serde's own encoding for every type. (`serde_bytes` does not: it gives a
/// byte array a length prefix that the array's own encoding lacks.)
fn classify(name: &str, value: Option<&str>, place: Place, same_bytes: &[String]) -> Verdict {
    use Place::*;
    use Verdict::*;
    let custom = "it replaces serde's encoding with code the schema hash cannot see, so two \
                  builds could encode differently under one hash; for byte buffers write \
                  `with = \"ipmpsc::wire\"` (same bytes, written in one piece), otherwise give \
                  the value a type of its own whose schema you declare with \
                  `ipmpsc::opaque_schema!` (bump its version when the encoding changes)";
    match (name, place) {
        // No effect on bincode's bytes.
        ("rename" | "alias" | "bound", _)
        | ("rename_all", Container | Variant)
        | ("rename_all_fields" | "deny_unknown_fields" | "crate" | "expecting", Container)
        | ("transparent", Container)
        | ("default", Container | Field)
        | ("borrow", Variant | Field) => NoWireEffect,
        ("skip", Field) => Skip,
        ("with", Field) if value.is_some_and(|v| same_bytes.iter().any(|s| s == v.trim())) => {
            NoWireEffect
        }
        ("skip", Variant) => Refused(
            "a variant that cannot be sent makes serde renumber the ones after it when \
             decoding; remove the variant from the type instead"
                .into(),
        ),
        ("skip_serializing" | "skip_deserializing", _) => Refused(
            "the sender would write the field and the receiver not read it, or the other way \
             round; use `#[serde(skip)]` to leave it out of both"
                .into(),
        ),
        ("skip_serializing_if", _) => Refused(
            "bincode writes no field names, so a receiver cannot tell that a field was left \
             out (decoding fails or reads the next field's bytes); use an `Option` field"
                .into(),
        ),
        ("flatten", _) => Refused(
            "bincode cannot encode a flattened field (every send fails: serde gives it a map \
             of unknown length); make it an ordinary nested field"
                .into(),
        ),
        ("untagged" | "tag" | "content", _) => Refused(
            "bincode tags every variant by its index and cannot decode untagged, internally \
             or adjacently tagged enums (every receive fails); remove the attribute"
                .into(),
        ),
        ("with" | "serialize_with" | "deserialize_with" | "getter", _)
        | ("from" | "into" | "try_from" | "remote", _) => Refused(custom.into()),
        ("other" | "variant_identifier" | "field_identifier", _) => {
            Refused("it is for self-describing formats; bincode decodes variants by index".into())
        }
        _ => Refused(
            "ipmpsc cannot tell what it does to the bytes bincode writes, so it cannot be part \
             of a schema; remove it"
                .into(),
        ),
    }
}

/// Every `cfg_attr` among `attrs` that holds a `serde(...)` or a `cfg` (or cannot be read),
/// for the channel enum, which refuses serde attributes and conditional variants and fields
/// however they are written.
pub fn hidden_serde(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg_attr"))
        .filter(|attr| {
            attr.parse_args_with(|input: ParseStream<'_>| {
                let _: Meta = input.parse()?;
                input.parse::<Token![,]>()?;
                Punctuated::<Meta, Token![,]>::parse_terminated(input)
            })
            .map_or(true, |inner| inner.iter().any(mentions_serde))
        })
        .collect()
}

fn mentions_serde(meta: &Meta) -> bool {
    meta.path().is_ident("serde")
        || meta.path().is_ident("cfg")
        || (meta.path().is_ident("cfg_attr")
            && meta.require_list().is_ok_and(|list| {
                let text = list.tokens.to_string();
                text.contains("serde") || text.contains("cfg")
            }))
}
