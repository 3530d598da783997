//! `#[derive(ipmpsc::Schema)]`: `SchemaType` (the hash and description of a struct or enum
//! nested in messages) and `SchemaView` with a generated view type (`FooView<'a>`), so that a
//! view borrows at every depth.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt as _;
use syn::{parse_quote, Data, DeriveInput, Path, Type};

use crate::ast::{Field, Shape, Variant};
use crate::attr;
use crate::schema;
use crate::serde_attr::{self, Model, Place};
use crate::valid;
use crate::view::{self, ViewBody};

/// A variant (or the struct's body) with the serde model of each field.
struct Part<'a> {
    variant: Variant<'a>,
    models: Vec<Model>,
}

impl Part<'_> {
    /// The fields that are on the wire.
    fn wire_fields(&self) -> impl Iterator<Item = &Field<'_>> {
        self.variant
            .fields
            .iter()
            .zip(&self.models)
            .filter(|(_, m)| !m.skip)
            .map(|(f, _)| f)
    }
}

pub fn derive_schema(input: &DeriveInput) -> syn::Result<TokenStream> {
    let krate = attr::crate_path(&input.attrs)?;
    let ident = &input.ident;
    let name = ident.unraw().to_string();
    let container = serde_attr::read(&input.attrs, Place::Container, &krate);
    let (is_enum, variants) = match &input.data {
        Data::Struct(data) => (false, vec![Variant::new(ident, &[], &data.fields)]),
        Data::Enum(data) => (true, data.variants.iter().map(Variant::from_syn).collect()),
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "a union has no serde encoding, so it cannot be part of a channel message: \
                 use a struct or an enum",
            ))
        }
    };
    let mut errors = valid::Errors::default();
    errors.check(valid::schema_type(&variants));
    let container = errors.take(container).unwrap_or_default();
    let mut parts = Vec::new();
    for variant in variants {
        if is_enum {
            errors.check(serde_attr::read(variant.attrs, Place::Variant, &krate).map(drop));
        }
        let models = variant
            .fields
            .iter()
            .map(|f| {
                errors
                    .take(serde_attr::read(f.attrs, Place::Field, &krate))
                    .unwrap_or_default()
            })
            .collect();
        parts.push(Part { variant, models });
    }
    // serde ignores `skip` on the one field of a newtype struct: it is on the wire anyway.
    if !is_enum
        && parts[0].variant.shape == Shape::Tuple
        && parts[0].models.len() == 1
        && parts[0].models[0].skip
    {
        {
            errors.push(syn::Error::new_spanned(
                parts[0].variant.fields[0].ty,
                "`#[serde(skip)]` on the only field of a tuple struct is ignored by serde \
                 (the field is still sent and received), so it cannot be part of a schema; \
                 remove it, or make the field named",
            ));
        }
    }
    errors.finish()?;

    // A field that names the type itself (a recursive type) is hashed through a marker type:
    // first with a bare "self" marker, giving the type's shallow structure; then with a marker
    // that stands for that structure. So two types of one name, with different structures,
    // never share the marker (a name alone would let `Tree { kids: x::Tree<Tree> }` and
    // `Tree { kids: x::Tree }` hash alike).
    let recursive = parts
        .iter()
        .any(|p| p.wire_fields().any(|f| view::mentions(f.ty, ident)));
    if recursive && !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a generic type that contains itself cannot be part of a schema: its hash would \
             depend on its own type parameters; make it concrete",
        ));
    }
    let hash_with = |marker: &Type| {
        let table = |part: &Part<'_>| {
            let entries = part.wire_fields().map(|field| {
                let ty = view::replace_self(field.ty, ident, marker);
                schema::field_entry(&ty, &field.name, &krate)
            });
            quote!(&[#(#entries),*])
        };
        if is_enum {
            let entries = parts.iter().map(|part| {
                let variant_name = part.variant.ident.unraw().to_string();
                let shape = schema::shape(part.variant.shape, &krate);
                let fields = table(part);
                quote! {
                    #krate::schema::VariantSchema { name: #variant_name, shape: #shape, fields: #fields }
                }
            });
            let variants = quote!(&[#(#entries),*]);
            (
                quote!(#krate::__private::enum_hash(#name, const { #variants })),
                quote!(#krate::__private::describe_enum(__ipmpsc_out, #name, const { #variants })),
            )
        } else {
            let shape = schema::shape(parts[0].variant.shape, &krate);
            let fields = table(&parts[0]);
            (
                quote!(#krate::__private::struct_hash(#name, #shape, const { #fields })),
                quote!(#krate::__private::describe_struct(__ipmpsc_out, #name, #shape, const { #fields })),
            )
        }
    };
    let marker = |ty: &str, hash: TokenStream| {
        let ty = format_ident!("{}", ty);
        quote! {
            struct #ty;
            impl #krate::SchemaType for #ty {
                const HASH: u64 = #hash;
                fn describe(__ipmpsc_out: &mut ::std::string::String) {
                    __ipmpsc_out.push_str(#name);
                }
            }
        }
    };
    let (hash, describe) = if recursive {
        let (shallow, _) = hash_with(&parse_quote!(__IpmpscSelf));
        let (hash, describe) = hash_with(&parse_quote!(__IpmpscRecursive));
        let self_marker = marker(
            "__IpmpscSelf",
            quote!(#krate::__private::recursive_hash(#name)),
        );
        let full_marker = marker(
            "__IpmpscRecursive",
            quote!(#krate::__private::fold_u64(#krate::__private::recursive_hash(#name), __IPMPSC_SHALLOW)),
        );
        (
            quote!({
                #self_marker
                const __IPMPSC_SHALLOW: u64 = #shallow;
                #full_marker
                #hash
            }),
            {
                // Describing needs only the marker's name.
                let name_marker = marker(
                    "__IpmpscRecursive",
                    quote!(#krate::__private::recursive_hash(#name)),
                );
                quote!({
                    #name_marker
                    #describe
                })
            },
        )
    } else {
        hash_with(&parse_quote!(__IpmpscUnused))
    };

    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(#krate::SchemaType));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let schema_type = quote! {
        impl #impl_generics #krate::SchemaType for #ident #ty_generics #where_clause {
            const HASH: u64 = #hash;
            fn describe(__ipmpsc_out: &mut ::std::string::String) {
                #describe
            }
        }
    };

    let schema_view = if input.generics.params.is_empty() {
        view_type(input, &parts, is_enum, &container, &krate)
    } else {
        // A generic type is its own view: the view's field types would depend on the type
        // parameters, which serde's derive cannot bound.
        quote! {
            impl #impl_generics #krate::SchemaView for #ident #ty_generics
            where
                Self: ::core::clone::Clone
                    + #krate::__private::serde::Serialize
                    + #krate::__private::serde::de::DeserializeOwned,
            {
                type View<'a> = Self where Self: 'a;
                fn view(&self) -> Self {
                    ::core::clone::Clone::clone(self)
                }
                fn from_view<'a>(__ipmpsc_view: Self) -> Self where Self: 'a {
                    __ipmpsc_view
                }
                #krate::schema::slice_of_views!();
            }
        }
    };
    Ok(quote! {
        #schema_type
        #schema_view
    })
}

/// `FooView<'a>`, its std impls, and `impl SchemaView for Foo`.
fn view_type(
    input: &DeriveInput,
    parts: &[Part<'_>],
    is_enum: bool,
    container: &Model,
    krate: &Path,
) -> TokenStream {
    let ident = &input.ident;
    let vis = &input.vis;
    let self_ty: Type = parse_quote!(#ident);
    let field_ty = |field: &Field<'_>| view::replace_self(field.ty, ident, &self_ty);
    // A view type is needed only where something can borrow.
    let borrows = parts
        .iter()
        .any(|p| p.wire_fields().any(|f| !view::is_primitive(&field_ty(f))));
    let serde_crate = format!("{}::__private::serde", quote!(#krate));

    // The value serde gives a skipped field when decoding.
    let default_of = |field: &Field<'_>, model: &Model| {
        let member = &field.member;
        let ty = field_ty(field);
        // serde's order: the field's own `default = "path"`, its own `default`, then the
        // container's, then the field type's `Default`.
        match (
            &model.default_path,
            model.default,
            &container.default_path,
            container.default,
        ) {
            (Some(path), _, _, _) => quote!(#path()),
            (None, false, Some(path), _) => quote!(#path().#member),
            (None, false, None, true) => {
                quote!(<#ident as ::core::default::Default>::default().#member)
            }
            _ => quote!(<#ty as ::core::default::Default>::default()),
        }
    };

    if !borrows {
        // Nothing to borrow (numbers, `bool`, `char`): the type is its own view, rebuilt
        // field by field (so it needs no `Clone`).
        let arms = parts.iter().map(|part| {
            let path = variant_path(quote!(#ident), part, is_enum);
            let bindings = part.wire_fields().map(|f| {
                let (member, binding) = (&f.member, &f.binding);
                quote!(#member: #binding)
            });
            let fields = part.variant.fields.iter().zip(&part.models).map(|(f, m)| {
                let (member, binding) = (&f.member, &f.binding);
                if m.skip {
                    let value = default_of(f, m);
                    quote!(#member: #value)
                } else {
                    quote!(#member: *#binding)
                }
            });
            quote!(#path { #(#bindings,)* .. } => #path { #(#fields),* })
        });
        return quote! {
            impl #krate::SchemaView for #ident {
                type View<'a> = Self;
                fn view(&self) -> Self {
                    match self { #(#arms,)* }
                }
                fn from_view<'a>(__ipmpsc_view: Self) -> Self where Self: 'a {
                    __ipmpsc_view
                }
                #krate::schema::slice_of_views!();
            }
        };
    }

    let view = format_ident!("{}View", ident.unraw());
    let doc = format!(
        "The borrowed view of a [`{ident}`], as a channel's receiver decodes it in place: \
         strings and byte buffers at any depth borrow from the channel's memory. Made by \
         `ipmpsc::SchemaView::view`, copied out with [`{view}::into_owned`]."
    );
    let mut field_types = Vec::new();
    let declared = parts.iter().map(|part| {
        let fields = part.wire_fields().map(|field| {
            let ty = field_ty(field);
            let view_ty = view::view_type(&ty, krate);
            // A recursive field needs no bound: the impl being defined provides it.
            if !view::mentions(field.ty, ident) {
                field_types.push(view_ty.clone());
            }
            let serde = view::view_serde_attrs(&ty, krate);
            let docs = field.attrs.iter().filter(|a| a.path().is_ident("doc"));
            let field_vis = if is_enum { None } else { Some(field.vis) };
            match &field.member {
                syn::Member::Named(name) => quote!(#(#docs)* #serde #field_vis #name: #view_ty),
                syn::Member::Unnamed(_) => quote!(#(#docs)* #serde #field_vis #view_ty),
            }
        });
        let fields: Vec<_> = fields.collect();
        let docs = part
            .variant
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"));
        let variant_ident = part.variant.ident;
        match (part.variant.shape, is_enum) {
            (Shape::Unit, true) => quote!(#(#docs)* #variant_ident),
            (Shape::Tuple, true) => quote!(#(#docs)* #variant_ident(#(#fields),*)),
            (Shape::Named, true) => quote!(#(#docs)* #variant_ident { #(#fields),* }),
            (Shape::Named, false) => quote!({ #(#fields),* }),
            // A struct whose skipped fields leave positions: the view numbers what is left.
            (_, false) => quote!((#(#fields),*);),
        }
    });
    let declared: Vec<_> = declared.collect();
    let item = if is_enum {
        quote!(#vis enum #view<'a> { #(#declared,)* })
    } else {
        let body = &declared[0];
        quote!(#vis struct #view<'a> #body)
    };

    // Conversions. A view's members: names stay, positions are renumbered past skips.
    let view_member = |part: &Part<'_>, field: &Field<'_>| -> syn::Member {
        match &field.member {
            syn::Member::Named(name) => syn::Member::Named(name.clone()),
            syn::Member::Unnamed(_) => {
                let index = part
                    .wire_fields()
                    .position(|f| std::ptr::eq(f, field))
                    .expect("a wire field");
                syn::Member::Unnamed(index.into())
            }
        }
    };
    let to_view = parts.iter().map(|part| {
        let from = variant_path(quote!(#ident), part, is_enum);
        let to = variant_path(quote!(#view), part, is_enum);
        let bindings = part.wire_fields().map(|f| {
            let (member, binding) = (&f.member, &f.binding);
            quote!(#member: #binding)
        });
        let values = part.wire_fields().map(|f| {
            let (member, binding, ty) = (view_member(part, f), &f.binding, field_ty(f));
            if view::is_primitive(&ty) {
                quote!(#member: *#binding)
            } else {
                quote!(#member: <#ty as #krate::SchemaView>::view(#binding))
            }
        });
        quote!(#from { #(#bindings,)* .. } => #to { #(#values),* })
    });
    let to_owned = parts.iter().map(|part| {
        let from = variant_path(quote!(#view), part, is_enum);
        let to = variant_path(quote!(#ident), part, is_enum);
        let bindings = part.wire_fields().map(|f| {
            let (member, binding) = (view_member(part, f), &f.binding);
            quote!(#member: #binding)
        });
        let values = part.variant.fields.iter().zip(&part.models).map(|(f, m)| {
            let (member, binding, ty) = (&f.member, &f.binding, field_ty(f));
            if m.skip {
                let value = default_of(f, m);
                quote!(#member: #value)
            } else if view::is_primitive(&ty) {
                quote!(#member: #binding)
            } else {
                quote!(#member: <#ty as #krate::SchemaView>::from_view(#binding))
            }
        });
        quote!(#from { #(#bindings),* } => #to { #(#values),* })
    });

    let body = std_bodies(parts, is_enum, &view_member);
    let recursive = parts
        .iter()
        .any(|p| p.wire_fields().any(|f| view::mentions(f.ty, ident)));
    let std_impls = view::std_impls(&view, &field_types, &body, recursive);
    let into_owned_doc =
        format!("Copies the value out of the channel's memory into an owned [`{ident}`].");
    quote! {
        #[doc = #doc]
        #[derive(#krate::__private::serde::Serialize, #krate::__private::serde::Deserialize)]
        #[serde(crate = #serde_crate)]
        #item

        #std_impls

        #[allow(dead_code)]
        impl #view<'_> {
            #[doc = #into_owned_doc]
            #vis fn into_owned(self) -> #ident {
                <#ident as #krate::SchemaView>::from_view(self)
            }
        }

        impl #krate::SchemaView for #ident {
            type View<'a> = #view<'a>;
            fn view(&self) -> #view<'_> {
                match self { #(#to_view,)* }
            }
            fn from_view<'a>(__ipmpsc_view: #view<'a>) -> Self where Self: 'a {
                match __ipmpsc_view { #(#to_owned,)* }
            }
            #krate::schema::slice_of_views!();
        }
    }
}

/// `Foo::Variant` for an enum, `Foo` for a struct.
fn variant_path(ty: TokenStream, part: &Part<'_>, is_enum: bool) -> TokenStream {
    if is_enum {
        let variant = part.variant.ident;
        quote!(#ty::#variant)
    } else {
        ty
    }
}

/// The bodies of a view's `Debug`, `Clone` and `PartialEq`.
fn std_bodies(
    parts: &[Part<'_>],
    is_enum: bool,
    view_member: &dyn Fn(&Part<'_>, &Field<'_>) -> syn::Member,
) -> ViewBody {
    let mut debug = Vec::new();
    let mut clone = Vec::new();
    let mut eq = Vec::new();
    for part in parts {
        let path = variant_path(quote!(Self), part, is_enum);
        let label = part.variant.ident.unraw().to_string();
        let label = if is_enum {
            label
        } else {
            format!("{label}View")
        };
        let members: Vec<syn::Member> = part.wire_fields().map(|f| view_member(part, f)).collect();
        let mine: Vec<Ident> = (0..members.len())
            .map(|i| format_ident!("__ipmpsc_field{i}"))
            .collect();
        let theirs: Vec<Ident> = (0..members.len())
            .map(|i| format_ident!("__ipmpsc_other{i}"))
            .collect();
        let fmt = match part.variant.shape {
            Shape::Named => {
                let names = part.wire_fields().map(|f| f.name.clone());
                quote!(__ipmpsc_f.debug_struct(#label) #(.field(#names, #mine))* .finish())
            }
            Shape::Tuple => quote!(__ipmpsc_f.debug_tuple(#label) #(.field(#mine))* .finish()),
            Shape::Unit => quote!(__ipmpsc_f.write_str(#label)),
        };
        debug.push(quote!(#path { #(#members: #mine),* } => #fmt));
        clone.push(quote! {
            #path { #(#members: #mine),* } => #path { #(#members: ::core::clone::Clone::clone(#mine)),* }
        });
        eq.push(quote! {
            (#path { #(#members: #mine),* }, #path { #(#members: #theirs),* }) => true #(&& #mine == #theirs)*
        });
    }
    let catch_all = (is_enum && parts.len() > 1).then(|| quote!(_ => false,));
    ViewBody {
        debug: quote!(match self { #(#debug,)* }),
        clone: quote!(match self { #(#clone,)* }),
        eq: quote!(match (self, __ipmpsc_other) { #(#eq,)* #catch_all }),
    }
}
