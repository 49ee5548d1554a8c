//! Proc macros for `memo-runtime`; depend on that crate, which re-exports
//! them with their documentation.
//!
//! Each macro runs three passes: parse the options (`attr`), validate them
//! against the function (`model`), generate the wrapper (`expand`). On any
//! error the user's function is emitted unchanged beside the errors, so the
//! rest of the crate still type-checks and IDEs keep working.
//!
//! ```
//! use memo_runtime::memo; // not `memo_macros::memo`: the runtime is what it calls
//!
//! #[memo]
//! fn twice(x: u64) -> u64 { x * 2 }
//!
//! assert_eq!(twice(2), 4);
//! assert_eq!(twice_stats().misses, 1);
//! ```

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
    cached(Kind::Memo, "#[memo]", args, item)
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
    cached(Kind::Singleton, "#[singleton]", args, item)
}

// Streamlit's names. Macros of their own, not re-exports, so that errors name
// the attribute the user wrote.

/// `#[memo]` under Streamlit's name; use it through `memo_runtime::cache_data`.
///
/// ```
/// #[memo_runtime::cache_data(ttl = "1h")]
/// fn f(x: u8) -> u8 { x }
/// assert_eq!(f(1), 1);
/// ```
#[proc_macro_attribute]
pub fn cache_data(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Memo, "#[cache_data]", args, item)
}

/// `#[memo]` under Streamlit's older name.
///
/// ```
/// #[memo_runtime::experimental_memo]
/// fn f(x: u8) -> u8 { x }
/// assert_eq!(f(1), 1);
/// ```
#[proc_macro_attribute]
pub fn experimental_memo(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Memo, "#[experimental_memo]", args, item)
}

/// `#[singleton]` under Streamlit's name.
///
/// ```
/// #[memo_runtime::cache_resource]
/// fn f() -> String { "one".into() }
/// assert!(std::sync::Arc::ptr_eq(&f(), &f()));
/// ```
#[proc_macro_attribute]
pub fn cache_resource(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Singleton, "#[cache_resource]", args, item)
}

/// `#[singleton]` under Streamlit's older name.
///
/// ```
/// #[memo_runtime::experimental_singleton]
/// fn f() -> String { "one".into() }
/// assert!(std::sync::Arc::ptr_eq(&f(), &f()));
/// ```
#[proc_macro_attribute]
pub fn experimental_singleton(args: TokenStream, item: TokenStream) -> TokenStream {
    cached(Kind::Singleton, "#[experimental_singleton]", args, item)
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
#[proc_macro_derive(StableHash, attributes(stable_hash))]
pub fn derive_stable_hash(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `attr` is the attribute as the user wrote it, for messages.
fn cached(kind: Kind, attr: &'static str, args: TokenStream, item: TokenStream) -> TokenStream {
    let item_ts: proc_macro2::TokenStream = item.clone().into();
    let func: Func = match syn::parse(item) {
        Ok(f) => f,
        Err(e) => return with_error(item_ts.clone(), not_a_fn(attr, item_ts, e)),
    };
    let args_ts: proc_macro2::TokenStream = args.clone().into();
    let result =
        syn::parse::<Options>(args).and_then(|opts| model::validate(kind, attr, opts, &func));
    match result {
        Ok(model) => {
            // The function key: the attribute, its options and the whole item as
            // written, so any edit starts the function with a fresh cache. (The
            // canonical name: `#[cache_data]` and `#[memo]` are one cache.)
            let source = format!("{} {} {}", kind.attr(), args_ts, item_ts);
            expand::expand(&model, &func, xxh3_128(source.as_bytes())).into()
        }
        Err(e) => with_error(item_ts, e),
    }
}

/// A fn as the macros need it: the body is kept as tokens, never parsed.
/// rustc has parsed it already and reports its syntax errors itself (a
/// second error of ours, "not a fn", would be wrong), and syntax newer than
/// `syn` knows still gets cached.
pub(crate) struct Func {
    /// Outer attributes, then the body's inner ones (`#![allow(..)]`) made
    /// outer: they apply to the whole fn, which the wrapper now is.
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: syn::Visibility,
    pub(crate) sig: syn::Signature,
    /// `{ .. }` without the inner attributes.
    pub(crate) body: proc_macro2::Group,
}

impl syn::parse::Parse for Func {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let mut body: proc_macro2::Group = input.parse()?;
        // A body passed through a `macro_rules!` `$b:block` arrives wrapped
        // in an invisible group.
        while body.delimiter() == proc_macro2::Delimiter::None {
            body = syn::parse2(body.stream())?;
        }
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the fn's body"));
        }
        if !input.is_empty() {
            return Err(input.error("expected the end of the fn"));
        }
        let (inner, rest) = split_inner_attrs(body.stream());
        for mut a in inner {
            a.style = syn::AttrStyle::Outer;
            attrs.push(a);
        }
        let mut stripped = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, rest);
        stripped.set_span(body.span());
        Ok(Func {
            attrs,
            vis,
            sig,
            body: stripped,
        })
    }
}

/// The inner attributes at the start of a body, and the rest of it.
fn split_inner_attrs(
    body: proc_macro2::TokenStream,
) -> (Vec<syn::Attribute>, proc_macro2::TokenStream) {
    use syn::parse::Parser;
    let parse = |input: syn::parse::ParseStream| {
        let inner = input.call(syn::Attribute::parse_inner)?;
        Ok((inner, input.parse::<proc_macro2::TokenStream>()?))
    };
    // On a malformed attribute, leave the body alone: rustc reports it.
    parse
        .parse2(body.clone())
        .unwrap_or_else(|_: syn::Error| (Vec::new(), body))
}

/// The attribute sits on something other than a fn with a body: say so on
/// that item.
fn not_a_fn(attr: &str, item: proc_macro2::TokenStream, parse_error: syn::Error) -> syn::Error {
    use proc_macro2::{Delimiter, TokenTree};
    if let Ok(decl) = syn::parse2::<syn::ForeignItemFn>(item.clone()) {
        return no_body(attr, &decl);
    }
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let before_body = tokens
        .iter()
        .position(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
        .unwrap_or(tokens.len());
    // `fn name`, not a `fn(..)` type.
    let fn_keyword = tokens[..before_body]
        .windows(2)
        .find(|w| {
            matches!(&w[0], TokenTree::Ident(i) if i == "fn") && matches!(w[1], TokenTree::Ident(_))
        })
        .map(|w| &w[0]);
    if let Some(fn_keyword) = fn_keyword {
        let ends_in_semi = matches!(tokens.last(), Some(TokenTree::Punct(p)) if p.as_char() == ';');
        if ends_in_semi && before_body == tokens.len() {
            return syn::Error::new(
                fn_keyword.span(),
                format!("{attr} needs a fn with a body: a declaration (in a trait or an `extern` block) has nothing to cache"),
            );
        }
        // rustc has most likely reported a syntax error here already; if
        // not, the syntax is newer than the macro, and saying nothing would
        // leave the fn uncached without a word.
        return syn::Error::new(
            parse_error.span(),
            format!("{attr} can't read this fn's signature: {parse_error}"),
        );
    }
    // The item's keyword: the first identifier that is not visibility.
    let keyword = item.into_iter().find(|t| {
        matches!(t, TokenTree::Ident(i)
            if !matches!(i.to_string().as_str(), "pub" | "crate" | "in" | "super" | "self"))
    });
    let span = keyword.map_or_else(proc_macro2::Span::call_site, |t| t.span());
    syn::Error::new(
        span,
        format!("{attr} applies to functions: put it on a `fn`"),
    )
}

/// `fn f(..);`: a trait's method declaration, or a fn in an `extern` block,
/// which look the same to an attribute.
fn no_body(attr: &str, decl: &syn::ForeignItemFn) -> syn::Error {
    let sig = &decl.sig;
    fn mentions_self(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self" || i == "self",
            proc_macro2::TokenTree::Group(g) => mentions_self(g.stream()),
            _ => false,
        })
    }
    let mentions_self = mentions_self(sig.to_token_stream());
    // Only a foreign fn has a visibility or C varargs.
    let foreign = !matches!(decl.vis, syn::Visibility::Inherited) || sig.variadic.is_some();
    if mentions_self && !foreign {
        return syn::Error::new_spanned(
            sig,
            format!(
                "{attr} needs a fn with a body: a trait's method declaration has nothing to cache. Cache the method in each impl with `{}`, or give it a default body here with that attribute",
                with_option(attr, "companions = false")
            ),
        );
    }
    let name = &sig.ident;
    let mut params = Vec::new();
    let mut args = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        if let syn::FnArg::Typed(t) = input {
            let arg = match &*t.pat {
                syn::Pat::Ident(p) => p.ident.to_string(),
                _ => format!("arg{i}"),
            };
            params.push(format!("{arg}: {}", tidy(&t.ty)));
            args.push(arg);
        }
    }
    let ret = match &sig.output {
        syn::ReturnType::Default => String::new(),
        syn::ReturnType::Type(_, t) => format!(" -> {}", tidy(t)),
    };
    let wrapper = format!(
        "`{attr} fn {name}_cached({}){ret} {{ unsafe {{ {name}({}) }} }}`",
        params.join(", "),
        args.join(", ")
    );
    let msg = if foreign {
        format!("{attr} needs a fn with a body: a foreign fn has no body to cache. Cache a fn that calls it: {wrapper}")
    } else {
        format!("{attr} needs a fn with a body: a foreign fn (or a trait's method declaration) has no body to cache. For a foreign fn, cache a fn that calls it: {wrapper}; for a trait's, cache it in each impl with `{}`", with_option(attr, "companions = false"))
    };
    syn::Error::new_spanned(sig, msg)
}

/// `#[memo]` with an option: `#[memo(opt)]`.
fn with_option(attr: &str, opt: &str) -> String {
    format!("{}({opt})]", attr.trim_end_matches(']'))
}

/// Tokens as one would write them (`&'a [u8]`, not `& 'a [u8]`), for hints.
pub(crate) fn tidy(tokens: &dyn ToTokens) -> String {
    let mut s = tokens.to_token_stream().to_string();
    for (from, to) in [
        ("& ", "&"),
        ("* ", "*"),
        ("< ", "<"),
        (" >", ">"),
        (" <", "<"),
        (" ,", ","),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
        (" ;", ";"),
        (" .", "."),
        (" :: ", "::"),
    ] {
        s = s.replace(from, to);
    }
    s
}

fn with_error(item: proc_macro2::TokenStream, e: syn::Error) -> TokenStream {
    let e = e.into_compile_error();
    quote::quote!(#item #e).into()
}
