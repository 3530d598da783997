//! The borrowed form of a field type in the generated view: `String` becomes `&'a str`,
//! `Vec<u8>` and `Box<[u8]>` become `&'a [u8]`, `Option<T>` and `Vec<T>` map their element,
//! anything else stays owned. The mapping is by spelling (a type alias of `String` stays
//! owned); `::ipmpsc::__private::Viewable` does the conversions and so checks the spelling
//! named what it seemed to.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

/// A field type that the view borrows.
pub enum Borrowed {
    /// Viewed as `&'a str`.
    Str,
    /// Viewed as `&'a [u8]`, encoded as serde bytes.
    Bytes,
    /// `Option` of a borrowed type.
    Option(Box<Borrowed>),
    /// `Vec` of a borrowed type.
    Vec(Box<Borrowed>),
}

impl Borrowed {
    /// How `ty` is viewed, or `None` if the view keeps it owned.
    pub fn of(ty: &Type) -> Option<Borrowed> {
        let ty = match ty {
            Type::Group(group) => return Borrowed::of(&group.elem),
            Type::Paren(paren) => return Borrowed::of(&paren.elem),
            Type::Path(path) if path.qself.is_none() => path,
            _ => return None,
        };
        let last = ty.path.segments.last()?;
        let arg = single_type_argument(&last.arguments);
        match (last.ident.to_string().as_str(), arg) {
            ("String", None) if last.arguments.is_none() => Some(Borrowed::Str),
            ("Vec", Some(elem)) if is_ident(elem, "u8") => Some(Borrowed::Bytes),
            ("Vec", Some(elem)) => Some(Borrowed::Vec(Box::new(Borrowed::of(elem)?))),
            ("Option", Some(elem)) => Some(Borrowed::Option(Box::new(Borrowed::of(elem)?))),
            ("Box", Some(Type::Slice(slice))) if is_ident(&slice.elem, "u8") => {
                Some(Borrowed::Bytes)
            }
            ("Box", Some(elem)) if is_ident(elem, "str") => Some(Borrowed::Str),
            _ => None,
        }
    }

    /// The view's field type, borrowing for `'a`.
    pub fn view_type(&self) -> TokenStream {
        match self {
            Borrowed::Str => quote!(&'a ::core::primitive::str),
            Borrowed::Bytes => quote!(&'a [::core::primitive::u8]),
            Borrowed::Option(elem) => {
                let elem = elem.view_type();
                quote!(::core::option::Option<#elem>)
            }
            Borrowed::Vec(elem) => {
                let elem = elem.view_type();
                quote!(::std::vec::Vec<#elem>)
            }
        }
    }

    /// Whether a byte buffer sits somewhere inside, so the field needs the `bytes`
    /// `with`-module to be encoded as bytes rather than as a sequence of `u8`.
    pub fn holds_bytes(&self) -> bool {
        match self {
            Borrowed::Str => false,
            Borrowed::Bytes => true,
            Borrowed::Option(elem) | Borrowed::Vec(elem) => elem.holds_bytes(),
        }
    }
}

/// `T` in `Name<T>`.
fn single_type_argument(arguments: &PathArguments) -> Option<&Type> {
    match arguments {
        PathArguments::AngleBracketed(args) if args.args.len() == 1 => match &args.args[0] {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        },
        _ => None,
    }
}

fn is_ident(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => path.qself.is_none() && path.path.is_ident(name),
        Type::Group(group) => is_ident(&group.elem, name),
        _ => false,
    }
}
