//! Proc macros for `memo-runtime`; depend on that crate, which re-exports
//! them with their documentation.
//!
//! Each macro runs three passes: parse the options (`attr`), validate them
//! against the function (`model`), generate the wrapper (`expand`). On any
//! error the user's function is emitted unchanged beside the errors, so the
//! rest of the crate still type-checks and IDEs keep working.

mod attr;
mod derive;
mod eager;
mod expand;
mod model;
mod ttl;

use attr::{Kind, Options};
use proc_macro::TokenStream;
use quote::ToTokens;
use xxhash_rust::xxh3::xxh3_128;

/// Caches a function's results by its arguments' values; use it through
/// `memo_runtime::memo`, which documents every option.
///
/// ```
/// use memo_runtime::memo;
///
/// #[memo(ttl = "60s")]
/// fn double(x: u32) -> u32 {
///     x * 2
/// }
///
/// assert_eq!(double(4), 8);
/// assert_eq!(double_stats().misses, 1);
/// ```
#[proc_macro_attribute]
pub fn memo(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Memo, args, item)
}

/// Caches one shared instance per distinct argument list; use it through
/// `memo_runtime::singleton`.
///
/// ```
/// use memo_runtime::singleton;
/// use std::sync::Arc;
///
/// #[singleton]
/// fn settings() -> Vec<String> {
///     vec!["dark".into()]
/// }
///
/// assert!(Arc::ptr_eq(&settings(), &settings()));
/// ```
#[proc_macro_attribute]
pub fn singleton(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Singleton, args, item)
}

/// Derives `memo_runtime::StableHash`: the type's name, then each field's
/// name and value (an enum writes its variant's name first).
///
/// ```
/// use memo_runtime::{digest_of, StableHash};
///
/// #[derive(StableHash)]
/// struct Point {
///     x: i32,
///     y: i32,
/// }
///
/// assert_eq!(digest_of(&Point { x: 1, y: 2 }), digest_of(&Point { x: 1, y: 2 }));
/// assert_ne!(digest_of(&Point { x: 1, y: 2 }), digest_of(&Point { x: 2, y: 1 }));
/// ```
#[proc_macro_derive(StableHash)]
pub fn derive_stable_hash(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn cached(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_ts: proc_macro2::TokenStream = item.clone().into();
    let func: syn::ItemFn = match syn::parse(item) {
        Ok(f) => f,
        Err(_) => return with_error(item_ts.clone(), not_a_fn(kind, item_ts)),
    };
    let args_ts: proc_macro2::TokenStream = args.clone().into();
    let result = syn::parse::<Options>(args).and_then(|opts| model::validate(kind, opts, &func));
    match result {
        Ok(model) => {
            // The function key: the attribute, its options and the whole item as
            // written, so any edit starts the function with a fresh cache.
            let source = format!("{} {} {}", kind.attr(), args_ts, func.to_token_stream());
            expand::expand(&model, &func, xxh3_128(source.as_bytes())).into()
        }
        Err(e) => with_error(item_ts, e),
    }
}

/// The attribute sits on something other than a fn with a body: say so on
/// that item's keyword.
fn not_a_fn(kind: Kind, item: proc_macro2::TokenStream) -> syn::Error {
    if let Ok(decl) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        if decl.default.is_none() {
            return syn::Error::new_spanned(
                &decl.sig,
                format!(
                    "{} needs a fn with a body: a trait's method declaration has nothing to cache",
                    kind.attr()
                ),
            );
        }
    }
    // The item's keyword: the first identifier that is not visibility.
    let keyword = item.into_iter().find(|t| {
        matches!(t, proc_macro2::TokenTree::Ident(i)
            if !matches!(i.to_string().as_str(), "pub" | "crate" | "in" | "super" | "self"))
    });
    let span = keyword.map_or_else(proc_macro2::Span::call_site, |t| t.span());
    syn::Error::new(
        span,
        format!("{} applies to functions: put it on a `fn`", kind.attr()),
    )
}

fn with_error(item: proc_macro2::TokenStream, e: syn::Error) -> TokenStream {
    let e = e.into_compile_error();
    quote::quote!(#item #e).into()
}
