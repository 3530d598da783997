//! Code generation for `#[ipmpsc::channel]` and `#[derive(ipmpsc::Schema)]`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::{parse_quote, Data, DeriveInput, ItemEnum};

use crate::ast::{Field, Shape, Variant};
use crate::attr::{self, ChannelArgs};
use crate::schema;
use crate::valid;
use crate::view::Borrowed;

/// `#[ipmpsc::channel]`: the item back (with serde derived), or, on misuse, the item
/// unchanged plus the errors, so the rest of the crate still resolves its name.
pub fn channel(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse2::<syn::Item>(input) {
        Ok(item) => item,
        Err(error) => return error.into_compile_error(),
    };
    let args = ChannelArgs::parse(args);
    let expanded = valid::channel_item(&item).and_then(|item| {
        let variants: Vec<Variant<'_>> = item.variants.iter().map(Variant::from_syn).collect();
        let validity = valid::channel_enum(item, &variants);
        match (args, validity) {
            (Ok(args), Ok(())) => Ok(channel_enum(item, &variants, &args)),
            (Err(mut e), Err(more)) => {
                e.combine(more);
                Err(e)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    });
    expanded.unwrap_or_else(|error| {
        let error = error.into_compile_error();
        let item = without_serde_attrs(item);
        quote!(#error #item)
    })
}

/// The item as the user wrote it, minus the `#[serde(...)]` attributes that only our serde
/// derive would have made legal: after an error, only the error should be reported.
fn without_serde_attrs(mut item: syn::Item) -> syn::Item {
    if let syn::Item::Enum(item) = &mut item {
        let not_serde = |attr: &syn::Attribute| !attr.path().is_ident("serde");
        item.attrs.retain(not_serde);
        for variant in &mut item.variants {
            variant.attrs.retain(not_serde);
            for field in &mut variant.fields {
                field.attrs.retain(not_serde);
            }
        }
    }
    item
}

/// A field of the message and of its view, as generated.
struct ViewField<'a> {
    field: &'a Field<'a>,
    borrowed: Option<Borrowed>,
}

fn channel_enum(item: &ItemEnum, variants: &[Variant<'_>], args: &ChannelArgs) -> TokenStream {
    let ident = &item.ident;
    let vis = &item.vis;
    let name = ident.unraw().to_string();
    let version = args.version;
    let view = format_ident!("{}View", ident.unraw());
    let sender = format_ident!("{}Sender", ident.unraw());
    let receiver = format_ident!("{}Receiver", ident.unraw());
    let serde_attrs = quote! {
        #[derive(::ipmpsc::__private::serde::Serialize, ::ipmpsc::__private::serde::Deserialize)]
        #[serde(crate = "::ipmpsc::__private::serde")]
    };
    let fields: Vec<Vec<ViewField<'_>>> = variants
        .iter()
        .map(|v| {
            v.fields
                .iter()
                .map(|field| ViewField {
                    field,
                    borrowed: Borrowed::of(field.ty),
                })
                .collect()
        })
        .collect();
    let borrows = fields.iter().flatten().any(|f| f.borrowed.is_some());

    // The message enum, with byte buffers encoded as bytes.
    let mut message = item.clone();
    for (variant, fields) in message.variants.iter_mut().zip(&fields) {
        for (field, view_field) in variant.fields.iter_mut().zip(fields) {
            if view_field
                .borrowed
                .as_ref()
                .is_some_and(Borrowed::holds_bytes)
            {
                field
                    .attrs
                    .push(parse_quote!(#[serde(with = "::ipmpsc::__private::bytes")]));
            }
        }
    }

    let view_item = if borrows {
        view_enum(item, variants, &fields, &view, &serde_attrs)
    } else {
        let doc = format!(
            "The borrowed view of a [`{name}`]: no field of `{name}` borrows (only strings and \
             byte buffers do), so the view is `{name}` itself."
        );
        quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            #vis type #view<'a> = #ident;
        }
    };

    // `as_view` and `into_owned`.
    let to_view_arms = variants.iter().zip(&fields).map(|(variant, fields)| {
        let pattern = pattern(quote!(#ident), variant);
        let values = fields.iter().map(|f| {
            let (member, binding, ty) = (&f.field.member, &f.field.binding, f.field.ty);
            match f.borrowed {
                Some(_) => quote_spanned!(ty.span()=>
                    #member: <#ty as ::ipmpsc::__private::Viewable>::view(#binding)),
                // Spanned at the field's type, so a missing `Clone` is reported there.
                None => quote_spanned!(ty.span()=>
                    #member: ::ipmpsc::__private::clone_into_view::<#ty>(#binding)),
            }
        });
        let variant_ident = variant.ident;
        quote!(#pattern => #view::#variant_ident { #(#values),* })
    });
    let into_owned = if borrows {
        let into_owned_doc =
            format!("Copies the message out of the channel's memory into an owned [`{name}`].");
        let arms = variants.iter().zip(&fields).map(|(variant, fields)| {
            let pattern = pattern(quote!(#view), variant);
            let values = fields.iter().map(|f| {
                let (member, binding, ty) = (&f.field.member, &f.field.binding, f.field.ty);
                match f.borrowed {
                    Some(_) => quote_spanned!(ty.span()=>
                        #member: <#ty as ::ipmpsc::__private::Viewable>::from_view(#binding)),
                    None => quote!(#member: #binding),
                }
            });
            let variant_ident = variant.ident;
            quote!(#pattern => #ident::#variant_ident { #(#values),* })
        });
        quote! {
            #[allow(dead_code)]
            impl #view<'_> {
                #[doc = #into_owned_doc]
                #vis fn into_owned(self) -> #ident {
                    match self { #(#arms,)* }
                }
            }
        }
    } else {
        quote! {
            #[allow(dead_code)]
            impl #ident {
                /// The view of this message is the message itself: returns it unchanged.
                #vis fn into_owned(self) -> Self {
                    self
                }
            }
        }
    };

    let variants_table = schema::variants(variants);
    let Docs {
        sender_doc,
        receiver_doc,
        as_view_doc,
        create_doc,
        open_receiver_doc,
        open_or_create_doc,
        open_sender_doc,
    } = Docs::new(&name, &view);

    quote! {
        #serde_attrs
        #message

        #view_item

        #[doc = #sender_doc]
        #[allow(dead_code)]
        #vis type #sender = ::ipmpsc::TypedSender<#ident>;

        #[doc = #receiver_doc]
        #[allow(dead_code)]
        #vis type #receiver = ::ipmpsc::TypedReceiver<#ident>;

        impl ::ipmpsc::Channel for #ident {
            const SCHEMA: ::ipmpsc::Schema = {
                const VARIANTS: &[::ipmpsc::schema::VariantSchema] = #variants_table;
                ::ipmpsc::Schema {
                    name: #name,
                    version: #version,
                    hash: ::ipmpsc::__private::channel_hash(#name, #version, VARIANTS),
                    variants: VARIANTS,
                }
            };
            type View<'a> = #view<'a>;
            fn view_into_owned(view: #view<'_>) -> Self {
                view.into_owned()
            }
        }

        #[allow(dead_code)]
        impl #ident {
            /// Structural hash of this message type, as stored in the header of its channels.
            #vis const SCHEMA_HASH: u64 = <Self as ::ipmpsc::Channel>::SCHEMA.hash;
            /// The version given with `#[ipmpsc::channel(version = N)]` (1 by default).
            #vis const SCHEMA_VERSION: u32 = #version;

            #[doc = #as_view_doc]
            #vis fn as_view(&self) -> #view<'_> {
                match self { #(#to_view_arms,)* }
            }

            #[doc = #create_doc]
            #vis fn create_receiver(
                path: impl ::core::convert::AsRef<::std::path::Path>,
                capacity_bytes: u64,
            ) -> ::ipmpsc::Result<#receiver> {
                ::ipmpsc::TypedReceiver::<#ident>::create(path, capacity_bytes)
            }

            #[doc = #open_receiver_doc]
            #vis fn open_receiver(
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::ipmpsc::Result<#receiver> {
                ::ipmpsc::TypedReceiver::<#ident>::open(path)
            }

            #[doc = #open_or_create_doc]
            #vis fn open_or_create_receiver(
                path: impl ::core::convert::AsRef<::std::path::Path>,
                capacity_bytes: u64,
            ) -> ::ipmpsc::Result<#receiver> {
                ::ipmpsc::TypedReceiver::<#ident>::open_or_create(path, capacity_bytes)
            }

            #[doc = #open_sender_doc]
            #vis fn open_sender(
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::ipmpsc::Result<#sender> {
                ::ipmpsc::TypedSender::<#ident>::open(path)
            }
        }

        #into_owned
    }
}

/// `pub enum MsgView<'a> { .. }`: the message's variants with borrowing field types.
fn view_enum(
    item: &ItemEnum,
    variants: &[Variant<'_>],
    fields: &[Vec<ViewField<'_>>],
    view: &Ident,
    serde_attrs: &TokenStream,
) -> TokenStream {
    let (ident, vis) = (&item.ident, &item.vis);
    let derives: Vec<_> = attr::derived(&item.attrs)
        .unwrap_or_default()
        .into_iter()
        .filter(|path| attr::VIEW_DERIVES.contains(&attr::last_name(path).as_str()))
        .collect();
    let doc = format!(
        "The borrowed view of a [`{ident}`], decoded in place from a channel's shared memory: \
         strings are `&str` and byte buffers `&[u8]` pointing into the channel, every other \
         field is owned. Get one from `{ident}Receiver::recv_view`, make one with \
         [`{ident}::as_view`], and copy it out with [`{view}::into_owned`]."
    );
    let view_variants = variants.iter().zip(fields).map(|(variant, fields)| {
        let variant_ident = variant.ident;
        let docs = variant.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let view_fields = fields.iter().map(|f| {
            let docs = f.field.attrs.iter().filter(|a| a.path().is_ident("doc"));
            let name = match &f.field.member {
                syn::Member::Named(name) => quote!(#name:),
                syn::Member::Unnamed(_) => quote!(),
            };
            match &f.borrowed {
                Some(borrowed) => {
                    let ty = borrowed.view_type();
                    let with = borrowed
                        .holds_bytes()
                        .then(|| quote!(#[serde(with = "::ipmpsc::__private::bytes")]));
                    quote!(#(#docs)* #[serde(borrow)] #with #name #ty)
                }
                None => {
                    let ty = f.field.ty;
                    quote!(#(#docs)* #name #ty)
                }
            }
        });
        match variant.shape {
            Shape::Unit => quote!(#(#docs)* #variant_ident),
            Shape::Tuple => quote!(#(#docs)* #variant_ident(#(#view_fields),*)),
            Shape::Named => quote!(#(#docs)* #variant_ident { #(#view_fields),* }),
        }
    });
    quote! {
        #[doc = #doc]
        #[derive(#(#derives),*)]
        #serde_attrs
        #vis enum #view<'a> {
            #(#view_variants,)*
        }
    }
}

/// `Path::Variant { a, b }` / `Path::Variant(__field0)` / `Path::Variant`, binding every field.
fn pattern(path: TokenStream, variant: &Variant<'_>) -> TokenStream {
    let variant_ident = variant.ident;
    let bindings = variant.fields.iter().map(|f| {
        let (member, binding) = (&f.member, &f.binding);
        quote!(#member: #binding)
    });
    quote!(#path::#variant_ident { #(#bindings),* })
}

/// Rustdoc of the generated items.
struct Docs {
    sender_doc: String,
    receiver_doc: String,
    as_view_doc: String,
    create_doc: String,
    open_receiver_doc: String,
    open_or_create_doc: String,
    open_sender_doc: String,
}

impl Docs {
    fn new(name: &str, view: &Ident) -> Docs {
        Docs {
            sender_doc: format!(
                "A sender of [`{name}`] messages: `Send + Sync + Clone`; open one with \
                 [`{name}::open_sender`]."
            ),
            receiver_doc: format!(
                "The receiver of a channel of [`{name}`] messages (one per channel): open or \
                 create one with [`{name}::open_receiver`] or [`{name}::create_receiver`]."
            ),
            as_view_doc: format!(
                "Borrows this message as a [`{view}`], e.g. to send it with `send_view`. \
                 Strings and byte buffers are borrowed; other fields are cloned."
            ),
            create_doc: format!(
                "Creates a channel file of [`{name}`] messages at `path`, holding up to \
                 `capacity_bytes` of queued messages, and returns its receiver. A file at \
                 `path` is replaced only if nobody uses it.\n\n\
                 # Errors\n\nSee `ipmpsc::TypedReceiver::create`: among others, \
                 `Error::ReceiverAlreadyExists` when a live receiver holds `path`, and \
                 `Error::ChannelInUse` when live senders or undelivered messages are in it \
                 (use [`{name}::open_or_create_receiver`] to continue such a channel)."
            ),
            open_or_create_doc: format!(
                "Continues the channel of [`{name}`] messages at `path` as its receiver, or \
                 creates it with `capacity_bytes` if there is none: the call a service makes \
                 at start, whether fresh or after a crash.\n\n# Errors\n\n\
                 See `ipmpsc::TypedReceiver::open_or_create`: among others, \
                 `Error::SchemaMismatch` when the channel there was made for another message \
                 type or version."
            ),
            open_receiver_doc: format!(
                "Reattaches a receiver to the existing channel of [`{name}`] messages at \
                 `path`, continuing where the last receiver stopped.\n\n# Errors\n\n\
                 See `ipmpsc::TypedReceiver::open`: among others, `Error::SchemaMismatch` when \
                 the channel was made for another message type or version."
            ),
            open_sender_doc: format!(
                "Opens a sender on the existing channel of [`{name}`] messages at `path`.\n\n\
                 # Errors\n\nSee `ipmpsc::TypedSender::open`: among others, \
                 `Error::SchemaMismatch` when the channel was made for another message type \
                 or version."
            ),
        }
    }
}

/// `#[derive(ipmpsc::Schema)]`: `impl SchemaType` for a struct or enum used inside messages.
pub fn derive_schema(input: &DeriveInput) -> syn::Result<TokenStream> {
    let ident = &input.ident;
    let name = ident.unraw().to_string();
    let (hash, describe, variants) = match &input.data {
        Data::Struct(data) => {
            let body = Variant::new(ident, &[], &data.fields);
            let shape = schema::shape(body.shape);
            let fields = schema::fields(&body);
            (
                quote!(::ipmpsc::__private::struct_hash(#name, #shape, const { #fields })),
                quote!(::ipmpsc::__private::describe_struct(out, #name, #shape, const { #fields })),
                vec![Variant::new(ident, &[], &data.fields)],
            )
        }
        Data::Enum(data) => {
            let variants: Vec<_> = data.variants.iter().map(Variant::from_syn).collect();
            let table = schema::variants(&variants);
            (
                quote!(::ipmpsc::__private::enum_hash(#name, const { #table })),
                quote!(::ipmpsc::__private::describe_enum(out, #name, const { #table })),
                variants,
            )
        }
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "a union has no serde encoding, so it cannot be part of a channel message: \
                 use a struct or an enum",
            ))
        }
    };
    valid::schema_type(&variants)?;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(parse_quote!(::ipmpsc::SchemaType));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    Ok(quote! {
        impl #impl_generics ::ipmpsc::SchemaType for #ident #ty_generics #where_clause {
            const HASH: u64 = #hash;
            fn describe(out: &mut ::std::string::String) {
                #describe
            }
        }
    })
}
