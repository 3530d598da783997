//! Code generation for `#[ipmpsc::channel]` and `#[derive(ipmpsc::Schema)]`.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt as _;
use syn::spanned::Spanned as _;
use syn::ItemEnum;

use crate::ast::{Shape, Variant};
use crate::attr::{self, ChannelArgs};
use crate::schema;
use crate::valid;
use crate::view;

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

fn channel_enum(item: &ItemEnum, variants: &[Variant<'_>], args: &ChannelArgs) -> TokenStream {
    let krate = &args.krate;
    let ident = &item.ident;
    let vis = &item.vis;
    let name = ident.unraw().to_string();
    let version = args.version;
    let view = format_ident!("{}View", ident.unraw());
    let sender = format_ident!("{}Sender", ident.unraw());
    let receiver = format_ident!("{}Receiver", ident.unraw());
    let serde_crate = format!("{}::__private::serde", quote!(#krate));
    let serde_attrs = quote! {
        #[derive(#krate::__private::serde::Serialize, #krate::__private::serde::Deserialize)]
        #[serde(crate = #serde_crate)]
    };
    let borrows = variants
        .iter()
        .flat_map(|v| &v.fields)
        .any(|f| !view::is_primitive(f.ty));

    // The message enum, each field encoded through `wire` (byte buffers in one piece).
    let mut message = item.clone();
    for (variant, ir) in message.variants.iter_mut().zip(variants) {
        for (field, f) in variant.fields.iter_mut().zip(&ir.fields) {
            field.attrs.extend(view::owned_serde_attr(f.ty, krate));
        }
    }

    let view_item = if borrows {
        view_enum(item, variants, &view, &serde_attrs, krate)
    } else {
        let doc = format!(
            "The borrowed view of a [`{name}`]: every field of `{name}` is a number, `bool` or \
             `char`, which views hold by value, so the view is `{name}` itself."
        );
        quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            #vis type #view<'a> = #ident;
        }
    };

    // `as_view` and `into_owned`.
    let to_view_arms = variants.iter().map(|variant| {
        let pattern = pattern(quote!(#ident), variant);
        let values = variant.fields.iter().map(|f| {
            let (member, binding, ty) = (&f.member, &f.binding, f.ty);
            if view::is_primitive(ty) {
                quote!(#member: *#binding)
            } else {
                quote_spanned!(f.ty.span()=> #member: <#ty as #krate::SchemaView>::view(#binding))
            }
        });
        let variant_ident = variant.ident;
        quote!(#pattern => #view::#variant_ident { #(#values),* })
    });
    let into_owned = if borrows {
        let into_owned_doc =
            format!("Copies the message out of the channel's memory into an owned [`{name}`].");
        let arms = variants.iter().map(|variant| {
            let pattern = pattern(quote!(#view), variant);
            let values = variant.fields.iter().map(|f| {
                let (member, binding, ty) = (&f.member, &f.binding, f.ty);
                if view::is_primitive(ty) {
                    quote!(#member: #binding)
                } else {
                    quote_spanned!(f.ty.span()=>
                        #member: <#ty as #krate::SchemaView>::from_view(#binding))
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

    // (A channel enum that names itself is refused by `valid`, so no field needs a marker.)
    let variants_table = schema::variants(variants, krate);
    let Docs {
        sender_doc,
        receiver_doc,
        as_view_doc,
        create_doc,
        create_temp_doc,
        open_receiver_doc,
        open_or_create_doc,
        open_sender_doc,
        open_sender_timeout_doc,
    } = Docs::new(&name, &view);

    quote! {
        #serde_attrs
        #message

        #view_item

        #[doc = #sender_doc]
        #[allow(dead_code)]
        #vis type #sender = #krate::TypedSender<#ident>;

        #[doc = #receiver_doc]
        #[allow(dead_code)]
        #vis type #receiver = #krate::TypedReceiver<#ident>;

        impl #krate::Channel for #ident {
            const SCHEMA: #krate::Schema = {
                const VARIANTS: &[#krate::schema::VariantSchema] = #variants_table;
                #krate::Schema {
                    name: #name,
                    version: #version,
                    hash: #krate::__private::channel_hash(#name, #version, VARIANTS),
                    variants: VARIANTS,
                }
            };
            type View<'a> = #view<'a>;
            fn view_into_owned(__ipmpsc_view: #view<'_>) -> Self {
                __ipmpsc_view.into_owned()
            }
        }

        #[allow(dead_code)]
        impl #ident {
            /// Structural hash of this message type, as stored in the header of its channels.
            #vis const SCHEMA_HASH: u64 = <Self as #krate::Channel>::SCHEMA.hash;
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
            ) -> #krate::Result<#receiver> {
                #krate::TypedReceiver::<#ident>::create(path, capacity_bytes)
            }

            #[doc = #create_temp_doc]
            #vis fn create_temp_receiver(capacity_bytes: u64) -> #krate::Result<#receiver> {
                #krate::TypedReceiver::<#ident>::create_temp(capacity_bytes)
            }

            #[doc = #open_receiver_doc]
            #vis fn open_receiver(
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> #krate::Result<#receiver> {
                #krate::TypedReceiver::<#ident>::open(path)
            }

            #[doc = #open_or_create_doc]
            #vis fn open_or_create_receiver(
                path: impl ::core::convert::AsRef<::std::path::Path>,
                capacity_bytes: u64,
            ) -> #krate::Result<#receiver> {
                #krate::TypedReceiver::<#ident>::open_or_create(path, capacity_bytes)
            }

            #[doc = #open_sender_doc]
            #vis fn open_sender(
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> #krate::Result<#sender> {
                #krate::TypedSender::<#ident>::open(path)
            }

            #[doc = #open_sender_timeout_doc]
            #vis fn open_sender_timeout(
                path: impl ::core::convert::AsRef<::std::path::Path>,
                timeout: ::core::time::Duration,
            ) -> #krate::Result<::core::option::Option<#sender>> {
                #krate::TypedSender::<#ident>::open_timeout(path, timeout)
            }
        }

        #into_owned
    }
}

/// `pub enum MsgView<'a> { .. }`: the message's variants with borrowing field types.
fn view_enum(
    item: &ItemEnum,
    variants: &[Variant<'_>],
    view: &Ident,
    serde_attrs: &TokenStream,
    krate: &syn::Path,
) -> TokenStream {
    let (ident, vis) = (&item.ident, &item.vis);
    let derives: Vec<_> = attr::derived(&item.attrs)
        .unwrap_or_default()
        .into_iter()
        .filter(|path| attr::VIEW_DERIVES.contains(&attr::last_name(path).as_str()))
        .collect();
    let doc = format!(
        "The borrowed view of a [`{ident}`], decoded in place from a channel's shared memory: \
         strings are `&str` and byte buffers `&[u8]` pointing into the channel, at any depth \
         (nested types derived with `ipmpsc::Schema` are their own views); numbers are \
         copied. Get one from `{ident}Receiver::recv_view`, make one with \
         [`{ident}::as_view`], and copy it out with [`{view}::into_owned`]."
    );
    let view_variants = variants.iter().map(|variant| {
        let variant_ident = variant.ident;
        let docs = variant.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let view_fields = variant.fields.iter().map(|f| {
            let docs = f.attrs.iter().filter(|a| a.path().is_ident("doc"));
            let name = match &f.member {
                syn::Member::Named(name) => quote!(#name:),
                syn::Member::Unnamed(_) => quote!(),
            };
            let view_ty = view::view_type(f.ty, krate);
            let serde = view::view_serde_attrs(f.ty, krate);
            quote!(#(#docs)* #serde #name #view_ty)
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
    create_temp_doc: String,
    open_receiver_doc: String,
    open_or_create_doc: String,
    open_sender_doc: String,
    open_sender_timeout_doc: String,
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
            create_temp_doc: format!(
                "Creates a channel of [`{name}`] messages under a fresh, unique name in \
                 `/dev/shm` and returns its receiver; give its `path()` to the senders. The \
                 file is removed when the receiver is dropped (also while a panic unwinds), \
                 and only then.\n\n# Errors\n\nSee `ipmpsc::TypedReceiver::create_temp`."
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
            open_sender_timeout_doc: format!(
                "Opens a sender on the channel of [`{name}`] messages at `path` once a \
                 receiver holds it, waiting at most `timeout` for one to create it; `Ok(None)` \
                 if none did in time.\n\n# Errors\n\nSee \
                 `ipmpsc::TypedSender::open_timeout`: among others, `Error::SchemaMismatch` at \
                 once when the receiver there made the channel for another message type or \
                 version."
            ),
        }
    }
}
