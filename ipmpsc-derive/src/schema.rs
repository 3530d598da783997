//! The schema tables the generated code hands to the const hash folds of
//! `::ipmpsc::__private` (`channel_hash`, `struct_hash`, `enum_hash`) and to the describers.
//! The folding itself lives in the runtime crate; the macro only lists names, shapes and
//! field types, in declaration order.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;

use crate::ast::{Shape, Variant};

/// `::ipmpsc::schema::Shape::Named`, …
pub fn shape(shape: Shape) -> TokenStream {
    match shape {
        Shape::Unit => quote!(::ipmpsc::schema::Shape::Unit),
        Shape::Tuple => quote!(::ipmpsc::schema::Shape::Tuple),
        Shape::Named => quote!(::ipmpsc::schema::Shape::Named),
    }
}

/// `&[field::<u32>("width"), …]`: a `&'static [FieldSchema]` inside a constant. Each entry is
/// spanned at the field's type, so a type without `SchemaType` is reported there.
pub fn fields(variant: &Variant<'_>) -> TokenStream {
    let entries = variant.fields.iter().map(|field| {
        let (ty, name) = (field.ty, &field.name);
        quote_spanned!(ty.span()=> ::ipmpsc::__private::field::<#ty>(#name))
    });
    quote!(&[#(#entries),*])
}

/// `&[VariantSchema { .. }, …]`: a `&'static [VariantSchema]` inside a constant.
pub fn variants(variants: &[Variant<'_>]) -> TokenStream {
    let entries = variants.iter().map(|variant| {
        let name = variant.ident.unraw().to_string();
        let shape = shape(variant.shape);
        let fields = fields(variant);
        quote! {
            ::ipmpsc::schema::VariantSchema { name: #name, shape: #shape, fields: #fields }
        }
    });
    quote!(&[#(#entries),*])
}
