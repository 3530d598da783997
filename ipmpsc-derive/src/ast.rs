//! The small IR both macros work on: an enum (or struct) as a list of variants, each a shape
//! and a list of fields.

use proc_macro2::{Ident, Span};
use syn::ext::IdentExt as _;
use syn::{Attribute, Fields, Member, Type, Visibility};

/// How a variant or struct holds its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Unit,
    Tuple,
    Named,
}

/// A variant of an enum (or the body of a struct, with the struct's name).
pub struct Variant<'a> {
    pub ident: &'a Ident,
    pub attrs: &'a [Attribute],
    pub shape: Shape,
    pub fields: Vec<Field<'a>>,
}

/// One field.
pub struct Field<'a> {
    pub attrs: &'a [Attribute],
    pub vis: &'a Visibility,
    /// `x` or `0`, as used in patterns and struct expressions.
    pub member: Member,
    /// `x` or `0`, as recorded in the schema.
    pub name: String,
    /// Identifier the field is bound to in generated `match` arms.
    pub binding: Ident,
    pub ty: &'a Type,
}

impl<'a> Variant<'a> {
    pub fn new(ident: &'a Ident, attrs: &'a [Attribute], fields: &'a Fields) -> Self {
        let shape = match fields {
            Fields::Unit => Shape::Unit,
            Fields::Unnamed(_) => Shape::Tuple,
            Fields::Named(_) => Shape::Named,
        };
        let fields = fields
            .iter()
            .enumerate()
            .map(|(i, f)| Field::new(i, f))
            .collect();
        Variant {
            ident,
            attrs,
            shape,
            fields,
        }
    }

    pub fn from_syn(variant: &'a syn::Variant) -> Self {
        Variant::new(&variant.ident, &variant.attrs, &variant.fields)
    }
}

impl<'a> Field<'a> {
    fn new(index: usize, field: &'a syn::Field) -> Self {
        match &field.ident {
            Some(ident) => Field {
                attrs: &field.attrs,
                vis: &field.vis,
                member: Member::Named(ident.clone()),
                name: ident.unraw().to_string(),
                binding: binding(index),
                ty: &field.ty,
            },
            None => Field {
                attrs: &field.attrs,
                vis: &field.vis,
                member: Member::Unnamed(index.into()),
                name: index.to_string(),
                binding: binding(index),
                ty: &field.ty,
            },
        }
    }
}

/// The identifier a generated `match` binds field `index` to. Not the field's own name: a
/// constant of that name in scope would turn the binding into a constant pattern (or an
/// error). Names that start with `__ipmpsc` are the macro's own.
fn binding(index: usize) -> Ident {
    Ident::new(&format!("__ipmpsc_field{index}"), Span::call_site())
}
