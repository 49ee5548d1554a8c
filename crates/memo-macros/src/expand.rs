//! Code generation. The wrapper keeps the user's body intact inside a closure
//! (so type errors still point into it, and `return`/`?` keep their meaning),
//! hashes the arguments, and hands everything else to the runtime.

use crate::attr::{Kind, Spinner, Ttl};
use crate::eager;
use crate::model::{Binding, Hashing, Model, Param, ReturnShape};
use crate::Func;
use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{FnArg, Ident, ReturnType, Type};

/// The runtime's hidden module, `::memo_runtime::__private` unless the
/// attribute says `crate = ".."`, every token at `at` so that an error
/// rustc finds in a call through it points at the user's token.
fn private(model: &Model, at: Span) -> TokenStream {
    let krate = &model.krate;
    respan(quote!(#krate::__private), at)
}

fn respan(tokens: TokenStream, at: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut inner = Group::new(g.delimiter(), respan(g.stream(), at));
                inner.set_span(at);
                t = inner.into();
            }
            t.set_span(at);
            t
        })
        .collect()
}

fn rt(model: &Model) -> TokenStream {
    private(model, Span::call_site())
}

/// A local variable of the generated code. Mixed-site, as in `macro_rules!`:
/// the user's code can neither see it nor shadow it (a parameter named
/// `__memo_key` stays the user's). Located at `at`, for errors.
fn local(name: &str, at: Span) -> Ident {
    Ident::new(name, Span::mixed_site().located_at(at))
}

pub(crate) fn expand(model: &Model, item: &Func, source_hash: u128) -> TokenStream {
    let rt = rt(model);
    let Func {
        attrs,
        vis,
        sig,
        body: block,
    } = item;
    let key_var = local("__memo_key", Span::call_site());
    let body_var = local("__memo_body", Span::call_site());
    let name = &sig.ident;
    let name_str = name.to_string();
    let hash_lit = proc_macro2::Literal::u128_suffixed(source_hash);
    let kind = match model.kind {
        Kind::Memo => quote!(#rt::Kind::Memo),
        Kind::Singleton => quote!(#rt::Kind::Singleton),
    };
    let options = options(model);
    let key = key_expr(model, false);

    // The wrapper's signature: pattern parameters get a name to hash.
    let mut wrapper_sig = sig.clone();
    rename_patterns(&mut wrapper_sig, &model.params);
    let destructure: Vec<_> = model
        .params
        .iter()
        .filter_map(|p| match &p.binding {
            Binding::Pattern { renamed, pat } => Some(quote!(let #pat = #renamed;)),
            _ => None,
        })
        .collect();

    let declared = match &sig.output {
        ReturnType::Type(_, ty) if !contains_impl_trait(ty) => Some(quote!(#ty)),
        ReturnType::Default => Some(quote!(())),
        _ => None,
    };
    // An async block can't name its output type. A `return` of that type
    // ahead of the body, in a branch never taken, fixes it before the body
    // is checked, so that `?` and `return` inside infer what they did in the
    // fn. (Not `let r: T = body; r`: a body that diverges, `todo!()` or a
    // final `return`, would make the `r` unreachable code.)
    let typed_output = match (&declared, model.is_async) {
        (Some(ty), true) => Some(quote! {
            if false {
                return #rt::async_output::<#ty>();
            }
        }),
        _ => None,
    };
    // The user's block, spliced (an extra pair of braces would trip
    // `unused_braces` on one-line bodies), after any destructuring, and
    // keeping its braces' span, where errors about its value point.
    let mut stream = quote!(#typed_output #(#destructure)*);
    stream.extend(block.stream());
    let mut body = Group::new(Delimiter::Brace, stream);
    body.set_span(block.span());
    let body_fn = if model.is_async {
        quote!(let #body_var = async move #body;)
    } else {
        let ret = declared.as_ref().map(|ty| quote!(-> #ty));
        quote!(let #body_var = move || #ret #body;)
    };
    let ret_span = match &sig.output {
        ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
        ReturnType::Default => name.span(),
    };
    // A `#[singleton]` hands out an `Arc`: the wrapper's return type says so.
    match &model.ret {
        ReturnShape::Plain { arc } => {
            wrapper_sig.output = singleton_output(&sig.output, false, *arc)
        }
        ReturnShape::Result { arc } => {
            wrapper_sig.output = singleton_output(&sig.output, true, *arc)
        }
        ReturnShape::Memo => {}
    }
    let suffix = if model.is_async { "_async" } else { "" };
    // When its signature allows, an async fn becomes a plain fn that looks
    // for its hit when called and returns the runtime's call as a future
    // (see `eager`); otherwise it stays an `async fn` that awaits the call.
    // An unmet bound on the value type is found again where the call becomes
    // a future: report that on the return type too.
    //
    // Not without companions, which is how a method of a trait impl or a
    // trait's default method is cached: the plain fn returns `impl Future +
    // Captures<..>`, which in a trait impl refines the trait's signature
    // (`refining_impl_trait`, an error under `deny(warnings)`), and in a
    // trait would change the trait's own.
    let eager = model.is_async
        && model.companions
        && eager::rewrite(&mut wrapper_sig, &model.type_params, &model.krate);
    let resolve = |call: TokenStream| {
        if !model.is_async || eager {
            return call;
        }
        let dot_await = quote_spanned!(ret_span=> .await);
        quote!(#call #dot_await)
    };
    // rustc puts a `#[singleton]` type that is not thread-safe on the call:
    // make the call cover the return type.
    let singleton_call = |f: &str| {
        let f = Ident::new(&format!("{f}{suffix}"), Span::call_site());
        let args = quote!(&__MEMO_CACHE, #key_var, #body_var);
        let call = match &sig.output {
            ReturnType::Type(_, ty) => call_spanning(model, &**ty, &f, args),
            ReturnType::Default => call_spanning(model, name, &f, args),
        };
        resolve(call)
    };
    let probe = Ident::new(&format!("probe{suffix}"), ret_span);
    // A sync body that makes a future would cache the future: refused on the
    // return type. (`Probe` resolves `ReturnsFuture` only for futures.)
    let not_a_future = (!model.is_async).then(|| {
        let over: &dyn ToTokens = match &sig.output {
            ReturnType::Type(_, ty) => ty,
            ReturnType::Default => name,
        };
        // The argument too spans the return type: rustc points at it.
        let (first, last) = first_last(over);
        // An unlikely name: dispatch is by method call, which a trait of the
        // user's with a method of the same name would make ambiguous.
        let head = {
            let rt = private(model, first);
            quote_spanned!(first=> (&#rt::probe(&#body_var)).__memo_returns)
        };
        let mut tail =
            proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, TokenStream::new());
        tail.set_span(last);
        let check = Ident::new("not_a_future", Span::call_site());
        let call = call_spanning(model, over, &check, quote!(#head #tail));
        quote! {{
            use #rt::{ReturnsFuture as _, ReturnsValue as _};
            #call;
        }}
    });

    let call = match &model.ret {
        ReturnShape::Memo => {
            // A value that can't be cached is reported on the receiver of
            // `.memo(..)`: give it the return type's span.
            let rt_ret = private(model, ret_span);
            let mode = quote_spanned!(ret_span=> (&#rt_ret::#probe(&#body_var)).__memo_mode());
            let persist = if model.persist { "_persist" } else { "" };
            let memo = Ident::new(&format!("memo{persist}{suffix}"), ret_span);
            let mut args = proc_macro2::Group::new(
                proc_macro2::Delimiter::Parenthesis,
                quote!(&__MEMO_CACHE, #key_var, #body_var),
            );
            args.set_span(ret_span);
            let call = resolve(quote!(#mode.#memo #args));
            quote! {{
                use #rt::{ViaPlain as _, ViaResult as _};
                #call
            }}
        }
        ReturnShape::Plain { arc } => {
            singleton_call(if *arc { "singleton_arc" } else { "singleton" })
        }
        ReturnShape::Result { arc } => singleton_call(if *arc {
            "singleton_arc_result"
        } else {
            "singleton_result"
        }),
    };

    let companions = model.companions.then(|| companions(model, item, &hash_lit));
    let here = here();
    // Widget values join the key at run time, inside a session.
    let widgets = model
        .allow_widgets
        .then(|| quote!(let #key_var = #rt::WithWidgets(#key_var);));

    // An eager async fn's own code is the hit path (hash, look up, hand
    // over; the body is a future of its own, the miss path a cold call), so
    // it is small. Inlined, a hit's value goes to the caller's `.await` in
    // registers; left to the compiler's choice it was not inlined, and the
    // value's trip through memory (a store-to-load stall) cost 1.5× a hit.
    let inline = (eager && !attrs.iter().any(|a| a.path().is_ident("inline")))
        .then(|| quote!(#[inline(always)]));
    quote! {
        #(#attrs)*
        #inline
        #vis #wrapper_sig {
            #here
            static __MEMO_CACHE: #rt::FnCache = #rt::FnCache::new(#rt::FnInfo::new(
                __memo_here,
                #name_str,
                #kind,
                #hash_lit,
                {
                    fn __memo_options() -> #rt::Options {
                        #options
                    }
                    __memo_options
                },
            ));
            let #key_var: #rt::CallKey = #key;
            #widgets
            #[allow(unused_mut)]
            #body_fn
            #not_a_future
            #call
        }
        #companions
    }
}

/// An item whose type name is the path of the fn it is declared in
/// (`app::Type::f::__memo_here`), for the runtime's `FnInfo::here`: it tells
/// apart same-named fns that `module_path!()` can't (methods of two types,
/// fns nested in two fns).
fn here() -> TokenStream {
    quote! {
        fn __memo_here() -> &'static str {
            ::core::any::type_name_of_val(&__memo_here)
        }
    }
}

fn options(model: &Model) -> TokenStream {
    let rt = rt(model);
    let mut o = quote!(#rt::Options::new());
    match &model.ttl {
        Some(Ttl::Text(d)) => {
            let (s, n) = (d.as_secs(), d.subsec_nanos());
            o = quote!(#o.ttl(::core::time::Duration::new(#s, #n)));
        }
        Some(Ttl::Expr(e)) => o = quote!(#o.ttl(#e)),
        None => {}
    }
    if let Some(e) = &model.max_entries {
        o = quote!(#o.max_entries(#e));
    }
    if let Some(e) = &model.max_disk_entries {
        o = quote!(#o.max_disk_entries(#e));
    }
    match &model.spinner {
        Some(Spinner::Shown(false)) => o = quote!(#o.show_spinner(#rt::Spinner::Hidden)),
        Some(Spinner::Text(t)) => o = quote!(#o.show_spinner(#rt::Spinner::Text(#t))),
        _ => {}
    }
    if model.show_time {
        o = quote!(#o.show_time(true));
    }
    if model.allow_widgets {
        o = quote!(#o.allow_widgets(true));
    }
    if model
        .params
        .iter()
        .any(|p| !matches!(p.binding, Binding::Receiver { .. }))
    {
        o = quote!(#o.takes_args(true));
    }
    o
}

/// The block that makes the arguments' `CallKey`, for the wrapper or for
/// `forget` (which hashes a by-value `self` through the `&self` it takes).
fn key_expr(model: &Model, for_forget: bool) -> TokenStream {
    let rt = rt(model);
    let h = local("__memo_h", Span::call_site());
    // A receiver's `Self` names the instantiation of a generic impl, and a
    // fn without one has the runtime find out whether its key needs it (see
    // the end). A fn without companions may be a trait's, where `Self` does
    // not name a generic trait's arguments (`impl<T> Convert<T> for Unit`, a
    // default method of `Convert<T>`): it has the runtime look, receiver or
    // not. The instantiation the runtime then mixes in names `Self` too, and
    // a plain impl's fn has a static of its own, so `Self` is not hashed.
    let keyed_by_self = model.has_receiver && model.companions;
    let mut stmts = Vec::new();
    if keyed_by_self {
        stmts.push(quote!(#rt::hash_type::<Self>(&mut #h);));
    }
    for t in &model.type_params {
        stmts.push(quote_spanned!(t.span()=> #rt::hash_type::<#t>(&mut #h);));
    }
    for c in &model.const_params {
        let n = c.to_string();
        let rt = private(model, c.span());
        stmts.push(quote_spanned!(c.span()=> #rt::KeyHasher::param(&mut #h, #n, &#c);));
    }
    for p in &model.params {
        stmts.extend(hash_param(model, p, for_forget));
    }
    let key = if stmts.is_empty() {
        // No hashed input: one key, computed once by the compiler.
        quote!(#rt::KeyHasher::new().call_key())
    } else {
        quote! {{
            let mut #h = #rt::KeyHasher::new();
            #(#stmts)*
            #h.call_key()
        }}
    };
    if keyed_by_self {
        key
    } else if for_forget {
        quote!(#rt::scoped_of(__memo_here, #key, || ()))
    } else {
        quote!(#rt::scoped(&__MEMO_CACHE, #key, || ()))
    }
}

fn hash_param(model: &Model, p: &Param, for_forget: bool) -> Option<TokenStream> {
    let rt = rt(model);
    let name = &p.name;
    let span = p.span;
    let h = local("__memo_h", span);
    let value = match &p.binding {
        Binding::Receiver { .. } => quote_spanned!(span=> self),
        Binding::Ident(i) => quote!(#i),
        Binding::Pattern { renamed, .. } => quote!(#renamed),
    };
    // `forget` takes a by-value receiver by reference (`self: Arc<Self>`
    // becomes `self: &Arc<Self>`): `self` there is what `&self` is in the
    // wrapper.
    let borrowed_self = for_forget && matches!(p.binding, Binding::Receiver { by_value: true });
    let owned = if borrowed_self {
        quote!(#value)
    } else {
        quote!(&#value)
    };
    // A reference (or `&self`) is handed to overrides as is; an owned value
    // by reference.
    let arg = if p.is_ref {
        quote!(#value)
    } else {
        owned.clone()
    };
    let type_of = p
        .impl_trait
        .then(|| quote_spanned!(span=> #rt::hash_type_of_val(&mut #h, &#value);));
    let stmt = match &p.hashing {
        // Left out of the key, its type is still a type argument.
        Hashing::Skip => return type_of,
        // A path, not `h.param(..)`: a user's trait with a `param` method
        // for every type would be picked first (by autoref).
        Hashing::Value => {
            let rt = private(model, span);
            quote_spanned!(span=> #rt::KeyHasher::param(&mut #h, #name, &#value);)
        }
        // `&x` names the object `x` points to when `x` is a reference or a
        // smart pointer; an owned value with no address (`u32`) is rejected
        // by the `Address` bound. (`&&x` would key by the wrapper's own stack
        // slot, which differs per call and repeats across objects.)
        Hashing::Ptr => {
            let rt = private(model, span);
            // Naming the declared type puts a "no address" error on it, not
            // on the argument (where rustc would suggest borrowing the
            // user's pattern).
            let ty = match &p.ty {
                Some(ty) if !contains_impl_trait(ty) => quote!(#ty),
                _ => quote_spanned!(span=> _),
            };
            quote_spanned!(span=> #rt::hash_address::<#ty>(&mut #h, #name, #owned);)
        }
        Hashing::With(f) => {
            // A closure returning a type that is not `StableHash` is the
            // override's fault: the call covers it.
            let by = Ident::new("hash_by", Span::call_site());
            let call = call_spanning(model, f, &by, quote!(&mut #h, #name, #arg, #f));
            quote!(#call;)
        }
    };
    Some(quote!(#type_of #stmt))
}

/// `<runtime>::__private::f(args)`, spanned from the first token of
/// `over` to its last, so that an error rustc reports on the call covers
/// exactly `over`.
fn call_spanning(model: &Model, over: &dyn ToTokens, f: &Ident, args: TokenStream) -> TokenStream {
    let (first, last) = first_last(over);
    let f = Ident::new(&f.to_string(), last);
    let mut args = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, args);
    args.set_span(last);
    let rt = private(model, first);
    quote_spanned!(first=> #rt::#f #args)
}

/// The spans of `over`'s first and last tokens.
fn first_last(over: &dyn ToTokens) -> (Span, Span) {
    let mut tokens = over.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

fn rename_patterns(sig: &mut syn::Signature, params: &[Param]) {
    for (input, p) in sig.inputs.iter_mut().zip(params) {
        if let (FnArg::Typed(pt), Binding::Pattern { renamed, .. }) = (input, &p.binding) {
            *pt.pat = syn::parse_quote!(#renamed);
        }
    }
}

fn singleton_output(out: &ReturnType, result: bool, arc: bool) -> ReturnType {
    let ReturnType::Type(arrow, ty) = out else {
        return out.clone();
    };
    if arc {
        return out.clone();
    }
    let wrapped: Type = if result {
        let mut ty = (**ty).clone();
        wrap_result_ok(&mut ty);
        ty
    } else {
        let span = syn::spanned::Spanned::span(&**ty);
        syn::parse_quote_spanned!(span=> ::std::sync::Arc<#ty>)
    };
    ReturnType::Type(*arrow, Box::new(wrapped))
}

fn wrap_result_ok(ty: &mut Type) {
    if let Type::Path(p) = ty {
        if let Some(seg) = p.path.segments.last_mut() {
            if let syn::PathArguments::AngleBracketed(a) = &mut seg.arguments {
                if let Some(syn::GenericArgument::Type(ok)) = a
                    .args
                    .iter_mut()
                    .find(|a| matches!(a, syn::GenericArgument::Type(_)))
                {
                    *ok = syn::parse_quote!(::std::sync::Arc<#ok>);
                }
            }
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    ty.to_token_stream()
        .into_iter()
        .any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "impl"))
}

/// `f_clear()`, `f_forget(args)` and `f_stats()` beside the function.
fn companions(model: &Model, item: &Func, hash_lit: &proc_macro2::Literal) -> TokenStream {
    let rt = rt(model);
    let krate = &model.krate;
    let sig = &item.sig;
    let vis = &item.vis;
    let name = &sig.ident;
    let name_str = name.to_string();
    let clear = format_ident!("{}_clear", name);
    let forget = format_ident!("{}_forget", name);
    let stats = format_ident!("{}_stats", name);
    let what = match model.kind {
        Kind::Memo => "cached result",
        Kind::Singleton => "instance",
    };
    let clear_doc = format!("Drops every {what} of `{name}` (Streamlit: `{name}.clear()`).");
    let forget_doc = format!(
        "Drops the {what} of `{name}` for these arguments, if there is one (Streamlit: `{name}.clear(args)`). A computation of them under way still returns its value to its caller and those waiting on it, but the value is not stored, as after `{clear}()`. Returns whether there was a {what} or a computation to drop. Parameters starting with `_` are ignored, as in a call."
    );
    let stats_doc = format!(
        "Hits, misses and entries of `{name}`'s cache. Reading them never waits for a computation."
    );

    // `forget` takes the function's own parameters, minus `mut`, with a
    // by-value receiver borrowed instead.
    let mut fsig = sig.clone();
    fsig.ident = forget.clone();
    fsig.asyncness = None;
    fsig.output = syn::parse_quote!(-> bool);
    rename_patterns(&mut fsig, &model.params);
    for input in fsig.inputs.iter_mut() {
        match input {
            FnArg::Receiver(r) => {
                r.mutability = None;
                if r.reference.is_some() || matches!(*r.ty, Type::Reference(_)) {
                    continue;
                }
                if r.colon_token.is_some() {
                    // `self: Arc<Self>` becomes `self: &Arc<Self>`.
                    let ty = &r.ty;
                    *r.ty = syn::parse_quote!(&#ty);
                } else {
                    r.reference = Some((syn::Token![&](Span::call_site()), None));
                    *r.ty = syn::parse_quote!(&Self);
                }
            }
            FnArg::Typed(pt) => {
                if let syn::Pat::Ident(pi) = &mut *pt.pat {
                    pi.mutability = None;
                }
            }
        }
    }
    let key = key_expr(model, true);
    let here = here();
    // A persisted function's companions reach its files too.
    let (clear_fn, forget_fn) = if model.persist {
        (quote!(persist_clear), quote!(persist_forget))
    } else {
        (quote!(clear), quote!(forget))
    };
    // A companion exists exactly when its function does.
    let cfg: Vec<_> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let lints = lint_attrs(&item.attrs);
    let key_var = local("__memo_key", Span::call_site());

    quote! {
        #[doc = #clear_doc]
        #(#cfg)*
        #(#lints)*
        #[allow(dead_code)]
        #vis fn #clear() {
            #here
            #rt::#clear_fn(__memo_here, #name_str, #hash_lit)
        }

        #[doc = #forget_doc]
        #(#cfg)*
        #(#lints)*
        #[allow(dead_code, unused_variables, clippy::ptr_arg)]
        #vis #fsig {
            #here
            let #key_var: #rt::CallKey = #key;
            #rt::#forget_fn(__memo_here, #name_str, #hash_lit, #key_var)
        }

        #[doc = #stats_doc]
        #(#cfg)*
        #(#lints)*
        #[allow(dead_code)]
        #vis fn #stats() -> #krate::Stats {
            #here
            #rt::stats(__memo_here, #name_str, #hash_lit)
        }
    }
}

/// The fn's lint attributes, for its companions: `forget` has its
/// signature (`#[allow(clippy::too_many_arguments)]`), all three its name
/// (`#[allow(non_snake_case)]`). Written before the companions' own
/// `allow`s, which win for the lints they name (`dead_code`: a companion
/// may go unused). `expect` becomes `allow`, as a companion need not
/// trigger what the fn does, and `forbid` becomes `deny`, which those
/// `allow`s may override.
fn lint_attrs(attrs: &[syn::Attribute]) -> Vec<syn::Attribute> {
    attrs
        .iter()
        .filter_map(|a| {
            let level = a.path().get_ident()?.to_string();
            let level = match level.as_str() {
                "allow" | "expect" => "allow",
                "warn" => "warn",
                "deny" | "forbid" => "deny",
                _ => return None,
            };
            let mut a = a.clone();
            if let syn::Meta::List(list) = &mut a.meta {
                list.path = Ident::new(level, list.path.segments[0].ident.span()).into();
            }
            Some(a)
        })
        .collect()
}
