//! `#[derive(StableHash)]`: the type's name, then each field's name and value
//! (for an enum, the variant's name first). Names, not positions, so that
//! reordering fields or variants changes the key instead of colliding.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let krate = runtime_path(input)?;
    // Mixed-site, so that a field named `__h` binds a variable of its own
    // instead of shadowing the hasher.
    let h = &Ident::new("__h", Span::mixed_site());
    let name = &input.ident;
    let type_name = name.to_string();
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(#krate::StableHash));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();

    let body = match &input.data {
        Data::Struct(s) => {
            let (pat, stmts) = fields(&s.fields, h);
            quote! {
                let Self #pat = self;
                #(#stmts)*
            }
        }
        Data::Enum(e) => {
            let arms = e.variants.iter().map(|v| {
                let vname = &v.ident;
                let vstr = vname.to_string();
                let (pat, stmts) = fields(&v.fields, h);
                quote! {
                    Self::#vname #pat => {
                        #h.write_str(#vstr);
                        #(#stmts)*
                    }
                }
            });
            quote! {
                match self {
                    #(#arms)*
                }
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "StableHash can't be derived for a union: which field is live is unknown. Implement it by hand",
            ))
        }
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_g #krate::StableHash for #name #ty_g #where_g {
            #[allow(unused_variables)]
            fn stable_hash(&self, #h: &mut #krate::KeyHasher) {
                #h.write_str(#type_name);
                #body
            }
        }
    })
}

/// `#[stable_hash(crate = "memo")]` on the type: the runtime under the name
/// Cargo.toml gives it. Anywhere else the attribute has nothing to say.
fn runtime_path(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut krate = None;
    for a in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("stable_hash"))
    {
        a.parse_nested_meta(|meta| {
            if !meta.path.is_ident("crate") {
                return Err(meta.error(
                    "unknown `stable_hash` option: the one option is `crate = \"memo\"`, the name `memo-runtime` has in Cargo.toml",
                ));
            }
            let path = crate::attr::crate_path(&meta.value()?.parse()?, "write `crate = \"memo\"`")?;
            krate = Some(quote!(#path));
            Ok(())
        })?;
    }
    let misplaced = match &input.data {
        Data::Struct(s) => s.fields.iter().flat_map(|f| &f.attrs).collect::<Vec<_>>(),
        Data::Enum(e) => e
            .variants
            .iter()
            .flat_map(|v| v.attrs.iter().chain(v.fields.iter().flat_map(|f| &f.attrs)))
            .collect(),
        Data::Union(_) => Vec::new(),
    };
    if let Some(a) = misplaced
        .into_iter()
        .find(|a| a.path().is_ident("stable_hash"))
    {
        return Err(syn::Error::new_spanned(
            a,
            "`#[stable_hash(..)]` goes on the type, not on a field or variant: every field is hashed. To leave a field out, implement `StableHash` by hand",
        ));
    }
    Ok(krate.unwrap_or_else(crate::attr::default_crate))
}

fn fields(fields: &Fields, h: &Ident) -> (TokenStream, Vec<TokenStream>) {
    match fields {
        Fields::Named(n) => {
            let names: Vec<_> = n
                .named
                .iter()
                .map(|f| f.ident.clone().expect("named"))
                .collect();
            let stmts = names
                .iter()
                .map(|f| {
                    let s = f.to_string();
                    quote!(#h.param(#s, #f);)
                })
                .collect();
            (quote!({ #(#names),* }), stmts)
        }
        Fields::Unnamed(u) => {
            let names: Vec<_> = (0..u.unnamed.len())
                .map(|i| Ident::new(&format!("__f{i}"), Span::mixed_site()))
                .collect();
            let stmts = names
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let s = i.to_string();
                    quote!(#h.param(#s, #f);)
                })
                .collect();
            (quote!(( #(#names),* )), stmts)
        }
        Fields::Unit => (quote!(), Vec::new()),
    }
}
