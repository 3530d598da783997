//! Options: the arguments of `#[ipmpsc::channel(...)]`, and what the user's own
//! `#[derive(...)]` lists on the enum ask for.

use proc_macro2::TokenStream;
use syn::parse::Parser as _;
use syn::{Attribute, Expr, ExprLit, ExprUnary, Lit, Path, UnOp};

/// The arguments of `#[ipmpsc::channel(...)]`.
pub struct ChannelArgs {
    /// `version = N`; 1 when not given.
    pub version: u32,
    /// `crate = "path"`: where the `ipmpsc` crate is, `::ipmpsc` when not given.
    pub krate: Path,
}

impl ChannelArgs {
    pub fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut version = None;
        let mut krate = None;
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(parse_crate(&meta)?);
                Ok(())
            } else if meta.path.is_ident("version") {
                if version.is_some() {
                    return Err(meta.error(
                        "duplicate `version`: give the channel's version once, \
                         e.g. `#[ipmpsc::channel(version = 2)]`",
                    ));
                }
                let value: Expr = meta.value()?.parse()?;
                version = Some(parse_version(&value)?);
                Ok(())
            } else {
                let name = meta.path.get_ident().map_or_else(
                    || quote::ToTokens::to_token_stream(&meta.path).to_string(),
                    ToString::to_string,
                );
                Err(meta.error(format!(
                    "unknown option `{name}`: the options of `#[ipmpsc::channel]` are \
                     `version = N` and `crate = \"path\"`, e.g. \
                     `#[ipmpsc::channel(version = 2)]`"
                )))
            }
        });
        parser.parse2(args)?;
        Ok(ChannelArgs {
            version: version.unwrap_or(1),
            krate: krate.unwrap_or_else(default_crate),
        })
    }
}

/// `::ipmpsc`.
fn default_crate() -> Path {
    syn::parse_quote!(::ipmpsc)
}

/// The value of `crate = "path"`.
fn parse_crate(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<Path> {
    let lit: syn::LitStr = meta.value()?.parse()?;
    lit.parse::<Path>().map_err(|_| {
        syn::Error::new_spanned(
            &lit,
            "`crate` takes the path the `ipmpsc` crate is reached by, e.g. \
             `crate = \"my_facade::ipmpsc\"`",
        )
    })
}

/// The `crate = "path"` of a derive's `#[ipmpsc(...)]` attributes (`::ipmpsc` if none).
pub fn crate_path(attrs: &[Attribute]) -> syn::Result<Path> {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipmpsc")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                krate = Some(parse_crate(&meta)?);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown option: the only option of `#[ipmpsc(...)]` on a derived type is \
                     `crate = \"path\"`",
                ))
            }
        })?;
    }
    Ok(krate.unwrap_or_else(default_crate))
}

fn parse_version(value: &Expr) -> syn::Result<u32> {
    const HOW: &str = "write a whole number from 0 to 4294967295, e.g. `version = 2`";
    match value {
        // A `$version:literal` of a `macro_rules!` arrives wrapped in an invisible group.
        Expr::Group(group) => parse_version(&group.expr),
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => int.base10_parse::<u32>().map_err(|_| {
            syn::Error::new_spanned(int, format!("version `{int}` does not fit in a u32: {HOW}"))
        }),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Err(syn::Error::new_spanned(
            s,
            format!(
                "the version is a number, not a string: write `version = {}`",
                s.value()
            ),
        )),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => Err(syn::Error::new_spanned(
            value,
            format!("the version cannot be negative: {HOW}"),
        )),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("the version must be an integer literal: {HOW}"),
        )),
    }
}

/// The paths in every `#[derive(...)]` among `attrs`.
pub fn derived(attrs: &[Attribute]) -> syn::Result<Vec<Path>> {
    let mut paths = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        attr.parse_nested_meta(|meta| {
            paths.push(meta.path);
            Ok(())
        })?;
    }
    Ok(paths)
}

/// The last segment of `path`, as text: `Debug` for `std::fmt::Debug`.
pub fn last_name(path: &Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// The std derives that hold for a view whenever they hold for the message (`&str` and
/// `&[u8]` implement them all), so the view gets them too.
pub const VIEW_DERIVES: &[&str] = &[
    "Debug",
    "Clone",
    "Copy",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Hash",
];
