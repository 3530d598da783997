//! The borrowed view of field types, and the std traits a generated view type implements.
//!
//! A field's view type is `<T as SchemaView>::View<'a>` (`&'a str` for a `String`, `&'a [u8]`
//! for a `Vec<u8>`, `FooView<'a>` for a derived `Foo`, …), written as that projection so that
//! the mapping never depends on how the type is spelled: a user type called `Vec` or
//! `String` is viewed as whatever its own `SchemaView` says. Only the primitive numbers,
//! `bool` and `char` are written out, because they are their own view.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::visit_mut::VisitMut;
use syn::{Ident, Path, Type};

/// The primitive types, which a view keeps as they are.
const PRIMITIVES: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char",
];

/// Whether `ty` is spelled as a primitive (its own view, copied).
pub fn is_primitive(ty: &Type) -> bool {
    match ty {
        Type::Group(group) => is_primitive(&group.elem),
        Type::Paren(paren) => is_primitive(&paren.elem),
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .get_ident()
                    .is_some_and(|i| PRIMITIVES.contains(&i.to_string().as_str()))
        }
        _ => false,
    }
}

/// The field's type in a view borrowing for `'a`.
pub fn view_type(ty: &Type, krate: &Path) -> TokenStream {
    if is_primitive(ty) {
        quote!(#ty)
    } else {
        quote_spanned!(ty.span()=> <#ty as #krate::SchemaView>::View<'a>)
    }
}

/// The serde attributes of a view's field: borrow from the input, and encode as the owned
/// field does.
pub fn view_serde_attrs(ty: &Type, krate: &Path) -> TokenStream {
    if is_primitive(ty) {
        return quote!();
    }
    let with = format!(
        "{}::wire::serialize_view::<{}, _>",
        quote!(#krate),
        quote!(#ty)
    );
    let with = syn::LitStr::new(&with, ty.span());
    quote!(#[serde(borrow = "'a", serialize_with = #with)])
}

/// The serde attribute of a message's own field: byte buffers written in one piece.
pub fn owned_serde_attr(ty: &Type, krate: &Path) -> Option<syn::Attribute> {
    if is_primitive(ty) {
        return None;
    }
    let with = syn::LitStr::new(&format!("{}::wire", quote!(#krate)), ty.span());
    Some(syn::parse_quote!(#[serde(with = #with)]))
}

/// `ty` with every `Self` and every mention of `name` replaced by `with`.
pub fn replace_self(ty: &Type, name: &Ident, with: &Type) -> Type {
    struct Replace<'a> {
        name: &'a Ident,
        with: &'a Type,
    }
    impl VisitMut for Replace<'_> {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::Path(path) = ty {
                if path.qself.is_none()
                    && (path.path.is_ident("Self") || path.path.is_ident(self.name))
                {
                    *ty = self.with.clone();
                    return;
                }
            }
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
    let mut ty = ty.clone();
    Replace { name, with }.visit_type_mut(&mut ty);
    ty
}

/// Whether `ty` mentions `Self` or `name` (a recursive type).
pub fn mentions(ty: &Type, name: &Ident) -> bool {
    let marker: Type = syn::parse_quote!(__IpmpscMarker);
    replace_self(ty, name, &marker) != *ty
}

/// `impl Debug`, `Clone`, `Copy`, `PartialEq` and `Eq` for a generated view type, each
/// holding whenever the field views do (where clauses on the field types, so a view whose
/// fields lack a trait simply lacks it too, instead of failing to compile).
pub fn std_impls(
    view: &Ident,
    field_types: &[TokenStream],
    body: &ViewBody,
    recursive: bool,
) -> TokenStream {
    // Higher-ranked, so that a bound on a field type without the view's lifetime (`f64: Eq`,
    // `Vec<u32>: Copy`) is not a "trivially false" bound, which rustc rejects: the impl just
    // does not apply then.
    let bound = |tr: TokenStream| {
        let bounds = field_types
            .iter()
            .map(|ty| quote!(for<'__ipmpsc_any> #ty: #tr));
        quote!(where #(#bounds,)*)
    };
    let debug_where = bound(quote!(::core::fmt::Debug));
    let clone_where = bound(quote!(::core::clone::Clone));
    let copy_where = bound(quote!(::core::marker::Copy));
    let eq_where = bound(quote!(::core::cmp::PartialEq));
    let full_eq_where = bound(quote!(::core::cmp::Eq));
    // A recursive view holds a `Vec` or `Box` of itself, which is never `Copy`.
    let copy =
        (!recursive).then(|| quote!(impl<'a> ::core::marker::Copy for #view<'a> #copy_where {}));
    let ViewBody { debug, clone, eq } = body;
    quote! {
        impl<'a> ::core::fmt::Debug for #view<'a> #debug_where {
            fn fmt(&self, __ipmpsc_f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #debug
            }
        }
        impl<'a> ::core::clone::Clone for #view<'a> #clone_where {
            fn clone(&self) -> Self {
                #clone
            }
        }
        #copy
        impl<'a> ::core::cmp::PartialEq for #view<'a> #eq_where {
            fn eq(&self, __ipmpsc_other: &Self) -> bool {
                #eq
            }
        }
        impl<'a> ::core::cmp::Eq for #view<'a> #full_eq_where {}
    }
}

/// The bodies of the std impls of a view, built by the caller from its variants.
pub struct ViewBody {
    pub debug: TokenStream,
    pub clone: TokenStream,
    pub eq: TokenStream,
}
