//! The schema tables the generated code hands to the const hash folds of
//! `ipmpsc::__private` (`channel_hash`, `struct_hash`, `enum_hash`) and to the describers.
//! The folding itself lives in the runtime crate; the macro only lists names, shapes and
//! field types, in declaration order.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{Path, Type};

use crate::ast::{Shape, Variant};

/// `ipmpsc::schema::Shape::Named`, …
pub fn shape(shape: Shape, krate: &Path) -> TokenStream {
    match shape {
        Shape::Unit => quote!(#krate::schema::Shape::Unit),
        Shape::Tuple => quote!(#krate::schema::Shape::Tuple),
        Shape::Named => quote!(#krate::schema::Shape::Named),
    }
}

/// `field::<u32>("width")`, spanned at the field's type, so a type without `SchemaType` is
/// reported there.
pub fn field_entry(ty: &Type, name: &str, krate: &Path) -> TokenStream {
    quote_spanned!(ty.span()=> #krate::__private::field::<#ty>(#name))
}

/// `&[VariantSchema { .. }, …]`: a `&'static [VariantSchema]` inside a constant.
pub fn variants(variants: &[Variant<'_>], krate: &Path) -> TokenStream {
    let entries = variants.iter().map(|variant| {
        let name = variant.ident.unraw().to_string();
        let shape = shape(variant.shape, krate);
        let fields = variant
            .fields
            .iter()
            .map(|field| field_entry(field.ty, &field.name, krate));
        quote! {
            #krate::schema::VariantSchema { name: #name, shape: #shape, fields: &[#(#fields),*] }
        }
    });
    quote!(&[#(#entries),*])
}
