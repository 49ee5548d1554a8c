//! The validation pass: checks the function and its options together and
//! produces what expansion needs. All errors are collected, so the user sees
//! every mistake at once.

use crate::attr::{HashBy, Kind, Options, Spinner, Ttl};
use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Expr, FnArg, GenericParam, Ident, Lit, Pat, ReturnType, Type};

pub(crate) enum Hashing {
    Value,
    Ptr,
    With(Expr),
    Skip,
}

pub(crate) enum Binding {
    /// `self`, `&self`, `mut self`.
    Receiver { by_value: bool },
    /// `x: T` or `mut x: T`.
    Ident(Ident),
    /// `(a, b): (T, U)`: renamed in the wrapper, destructured in the body.
    Pattern { renamed: Ident, pat: Box<Pat> },
}

pub(crate) struct Param {
    pub(crate) binding: Binding,
    /// The name hashed into the key (the pattern's text, for a pattern).
    pub(crate) name: String,
    pub(crate) span: Span,
    pub(crate) hashing: Hashing,
    /// The parameter's type is a reference: overrides get it as is.
    pub(crate) is_ref: bool,
    pub(crate) impl_trait: bool,
    /// The declared type of a typed parameter (not `self`), so that errors
    /// about it can point at it.
    pub(crate) ty: Option<Box<Type>>,
}

pub(crate) enum ReturnShape {
    /// `#[memo]`: whatever it is (the runtime tells `Result` apart).
    Memo,
    /// `#[singleton] -> T` (wrapped in `Arc`), or `-> Arc<T>` (kept).
    Plain { arc: bool },
    /// `#[singleton] -> Result<T, E>` / `Result<Arc<T>, E>`.
    Result { arc: bool },
}

pub(crate) struct Model {
    pub(crate) kind: Kind,
    /// An `async fn`: the wrapper awaits the runtime, which caches the output.
    pub(crate) is_async: bool,
    pub(crate) params: Vec<Param>,
    pub(crate) type_params: Vec<Ident>,
    pub(crate) const_params: Vec<Ident>,
    pub(crate) has_receiver: bool,
    pub(crate) ret: ReturnShape,
    pub(crate) ttl: Option<Ttl>,
    pub(crate) max_entries: Option<Expr>,
    /// `persist = "disk"`.
    pub(crate) persist: bool,
    pub(crate) max_disk_entries: Option<Expr>,
    pub(crate) spinner: Option<Spinner>,
    pub(crate) show_time: bool,
    pub(crate) allow_widgets: bool,
    /// The runtime's path: `::memo_runtime`, or what `crate = ".."` says.
    pub(crate) krate: proc_macro2::TokenStream,
    /// `f_clear`, `f_forget` and `f_stats` beside the fn; `companions =
    /// false` turns them off (a trait impl has no room for them). It is also
    /// the one sign that the fn may be a trait's: see `expand`.
    pub(crate) companions: bool,
}

struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }
}

/// `attr` is the attribute as written (`#[cache_data]`), for messages.
pub(crate) fn validate(
    kind: Kind,
    attr: &str,
    opts: Options,
    item: &crate::Func,
) -> syn::Result<Model> {
    let mut errs = Errors(None);
    let sig = &item.sig;

    for a in &item.attrs {
        if let Some(other) = cache_attr(a, opts.krate.as_ref().map(|(_, p)| p)) {
            errs.push(syn::Error::new_spanned(
                a,
                format!("{attr} and #[{other}] on one fn: keep one. #[memo] caches data (every caller gets a clone), #[singleton] a shared resource (every caller gets the same `Arc`)"),
            ));
        }
    }
    if let Some(t) = &sig.constness {
        errs.at(
            t.span(),
            format!(
                "{attr} can't cache a `const fn`: the cache lives at run time, and a `const fn` must also run at compile time. Remove `const`, or remove {attr}"
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        errs.at(v.span(), format!("{attr} can't hash C variadic arguments"));
    }

    let mut params = Vec::new();
    let mut has_receiver = false;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                has_receiver = true;
                // `&mut self`, or typed: `self: &mut Self`, `self: &mut
                // Box<Self>`, `self: Pin<&mut Self>`. Even with `hash(self =
                // ignore)`: a receiver can't opt out by its name, as `_v: &mut T` does.
                let typed_mut = r.colon_token.is_some() && has_mut_ref(r.ty.to_token_stream());
                if (r.reference.is_some() && r.mutability.is_some()) || typed_mut {
                    let written = if typed_mut {
                        format!("self: {}", crate::tidy(&r.ty))
                    } else {
                        "&mut self".into()
                    };
                    errs.push(syn::Error::new_spanned(
                        r,
                        format!("{attr} can't cache a method that takes `{written}`: on a hit the body does not run, so the mutation would not happen. Take `&self`, or move the cached part into a fn of its own"),
                    ));
                }
                params.push(Param {
                    binding: Binding::Receiver {
                        by_value: r.reference.is_none(),
                    },
                    name: "self".into(),
                    span: r.self_token.span(),
                    hashing: Hashing::Value,
                    is_ref: r.reference.is_some(),
                    impl_trait: false,
                    ty: None,
                });
            }
            FnArg::Typed(pt) => {
                let is_ref = matches!(*pt.ty, Type::Reference(_));
                let impl_trait = matches!(*pt.ty, Type::ImplTrait(_));
                let (binding, name, skipped) = match &*pt.pat {
                    Pat::Ident(pi) if pi.subpat.is_none() => {
                        let name = pi.ident.to_string();
                        let skipped = name.starts_with('_');
                        (Binding::Ident(pi.ident.clone()), name, skipped)
                    }
                    pat => {
                        let mut names = Vec::new();
                        collect_bindings(pat, &mut names);
                        let skipped = names.iter().all(|n| n.to_string().starts_with('_'));
                        // Call-site, unlike the other generated locals: an
                        // error about the pattern's value is reported on
                        // this name, which then points at the pattern alone.
                        let renamed = Ident::new(&format!("__memo_arg{i}"), pat.span());
                        let text = pat.to_token_stream().to_string();
                        (
                            Binding::Pattern {
                                renamed,
                                pat: Box::new(pat.clone()),
                            },
                            text,
                            skipped,
                        )
                    }
                };
                if let Type::Reference(r) = &*pt.ty {
                    if r.mutability.is_some() && !skipped {
                        errs.push(syn::Error::new_spanned(
                            pt,
                            format!("{attr} can't hash a `&mut` parameter: on a hit the body does not run, so the caller's value would not be changed. Pass `&` instead, or prefix the name with `_` if the result does not depend on it"),
                        ));
                    }
                }
                params.push(Param {
                    binding,
                    name,
                    span: pt.pat.span(),
                    hashing: if skipped {
                        Hashing::Skip
                    } else {
                        Hashing::Value
                    },
                    is_ref,
                    impl_trait,
                    ty: Some(pt.ty.clone()),
                });
            }
        }
    }

    for o in opts.hash {
        let target = o.param.to_string();
        match params.iter_mut().find(|p| p.name == target) {
            None => errs.at(o.param.span(), not_a_param(&o.param, &sig.ident, &params)),
            Some(p) if matches!(p.hashing, Hashing::Skip) => errs.at(
                o.param.span(),
                format!("`{target}` is not hashed (its name starts with `_`), so it needs no override; remove the `_` to hash it"),
            ),
            Some(p) => {
                p.hashing = match o.by {
                    HashBy::Ptr => Hashing::Ptr,
                    HashBy::Ignore if p.name == "self" => Hashing::Skip,
                    HashBy::Ignore => {
                        errs.at(o.param.span(), format!("to leave `{target}` out of the key, rename it `_{target}`; `ignore` is for `self`, which can't be renamed"));
                        Hashing::Value
                    }
                    HashBy::With(e) => {
                        // A top-level `&mut` is refused above, with or
                        // without an override; one inside the type only
                        // here, as the `StableHash` bound catches it
                        // otherwise. (An alias of `&mut` can't be seen.)
                        let nested = p.ty.as_ref().is_some_and(|ty| {
                            !matches!(&**ty, Type::Reference(r) if r.mutability.is_some())
                                && has_mut_ref(ty.to_token_stream())
                        });
                        if nested {
                            errs.at(o.param.span(), format!("`{target}` holds a `&mut`, which an override can't make part of the key: on a hit the body does not run, so the caller's value would not be changed. Remove the override and prefix the name with `_` if the result does not depend on it"));
                        }
                        Hashing::With(e)
                    }
                }
            }
        }
    }

    let mut type_params = Vec::new();
    let mut const_params = Vec::new();
    for g in &sig.generics.params {
        match g {
            GenericParam::Type(t) => type_params.push(t.ident.clone()),
            GenericParam::Const(c) => const_params.push(c.ident.clone()),
            GenericParam::Lifetime(_) => {}
        }
    }

    let ret = match kind {
        Kind::Memo => {
            if let ReturnType::Type(_, ty) = &sig.output {
                check_owned(ty, attr, &mut errs);
            }
            ReturnShape::Memo
        }
        Kind::Singleton => match &sig.output {
            ReturnType::Default => {
                errs.at(
                    sig.ident.span(),
                    format!("a {attr} fn must return the resource it creates, e.g. `-> Pool`; to run code once for its effects, use `std::sync::Once`"),
                );
                ReturnShape::Plain { arc: false }
            }
            ReturnType::Type(_, ty) => {
                check_owned(ty, attr, &mut errs);
                match result_ok_type(ty) {
                    Some(ok) => ReturnShape::Result { arc: is_arc(ok) },
                    None => ReturnShape::Plain { arc: is_arc(ty) },
                }
            }
        },
    };

    if let Some((key, _)) = &opts.persist {
        if kind == Kind::Singleton {
            errs.at(
                key.span(),
                format!("`persist` does not apply to {attr}: it holds a live resource (a pool, a client, a model), which can't be written to disk. Remove `persist`"),
            );
        }
    }
    // `persist = false` asks for memory, which is what there is without it.
    let persist = opts
        .persist
        .as_ref()
        .is_some_and(|(_, s)| !s.value().is_empty());
    if let (true, Some((key, on))) = (persist, &opts.allow_widgets) {
        if on.value {
            errs.at(
                key.span(),
                format!("`{key}` and `persist` can't be used together yet: a widget-keyed entry depends on a session's widget values, which a later process doesn't have. Keep one of the two"),
            );
        }
    }
    if let Some((_, e)) = &opts.max_entries {
        check_max_entries("max_entries", e, &mut errs);
    }
    if let Some((key, e)) = &opts.max_disk_entries {
        if persist {
            check_max_entries("max_disk_entries", e, &mut errs);
        }
        if !persist {
            errs.at(
                key.span(),
                format!("`max_disk_entries` bounds the disk cache, which {attr} uses only with `persist = \"disk\"`: add that, or use `max_entries` to bound memory"),
            );
        }
    }

    if let Some(e) = errs.0 {
        return Err(e);
    }
    let ttl = opts.ttl.map(|(key, t)| match t {
        Ttl::Expr(e) => Ttl::Expr(typed(
            e,
            syn::parse_quote_spanned!(key.span()=> ::core::time::Duration),
        )),
        text => text,
    });
    Ok(Model {
        kind,
        is_async: sig.asyncness.is_some(),
        params,
        type_params,
        const_params,
        has_receiver,
        ret,
        ttl,
        max_entries: opts.max_entries.map(|(key, e)| count(&key, e, &sig.ident)),
        persist,
        max_disk_entries: opts
            .max_disk_entries
            .map(|(key, e)| count(&key, e, &sig.ident)),
        spinner: opts.show_spinner.map(|(_, s)| s),
        show_time: opts.show_time.is_some_and(|(_, b)| b.value),
        allow_widgets: opts.allow_widgets.is_some_and(|(_, b)| b.value),
        krate: match opts.krate {
            Some((_, path)) => path.into_token_stream(),
            None => crate::attr::default_crate(),
        },
        companions: opts.companions.is_none_or(|(_, b)| b.value),
    })
}

fn check_owned(ty: &Type, attr: &str, errs: &mut Errors) {
    if let Type::Reference(r) = ty {
        let is_static = r.lifetime.as_ref().is_some_and(|l| l.ident == "static");
        if !is_static {
            errs.push(syn::Error::new_spanned(
                ty,
                format!("{attr} must return an owned value: the cache outlives this call, so it can't hold a borrow. Return an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)"),
            ));
        }
    }
}

/// Catches what is surely not a positive count; the compiler checks the rest.
fn check_max_entries(name: &str, e: &Expr, errs: &mut Errors) {
    let fix = match e {
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) if i.base10_parse::<u64>().ok() == Some(0) => {
                format!("`{name} = 0` would cache nothing; use at least 1, or remove the option for no limit")
            }
            Lit::Int(_) => return,
            Lit::Str(s) => match s.value().trim().parse::<u64>() {
                Ok(n) if n > 0 => format!("`{name}` takes a number, not a string: `{name} = {n}`"),
                _ => format!("`{name}` takes a whole number, such as `{name} = 100`"),
            },
            _ => format!("`{name}` takes a whole number, such as `{name} = 100`"),
        },
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            ..
        }) => {
            format!("`{name}` can't be negative: use at least 1, or remove the option for no limit")
        }
        _ => return,
    };
    errs.push(syn::Error::new_spanned(e, fix));
}

/// `{ let v: ty = e; v }`, so that an expression of the wrong type gets an
/// error on itself, "expected due to" the option's name (which `ty` is
/// spanned to), rather than one inside the generated options.
fn typed(e: Expr, ty: Type) -> Expr {
    let span = e.span();
    let v = Ident::new("__memo_option", Span::mixed_site().located_at(span));
    syn::parse_quote_spanned!(span=> { let #v: #ty = #e; #v })
}

/// `max_entries = e` as a typed `usize`. A literal 0 is refused above; a
/// named constant (`max_entries = ZERO`) is checked by the compiler here,
/// in a `const _` item, which `cargo check` evaluates too: a path can only
/// name a constant or an immutable static, both of which a const can read.
/// Any other expression may not be constant, so the runtime checks its
/// value when it creates the cache.
fn count(key: &Ident, e: Expr, fn_name: &Ident) -> Expr {
    let ty: Type = syn::parse_quote_spanned!(key.span()=> usize);
    if !matches!(e, Expr::Path(_)) {
        return typed(e, ty);
    }
    let span = e.span();
    let msg = format!(
        "`{key} = {}` of `{fn_name}` is 0, which would cache nothing: use at least 1, or remove the option for no limit",
        crate::tidy(&e)
    );
    // `!= 0`, not a typed `usize`, so that a constant of another integer
    // type gets only the mismatch from `typed`, with its hint.
    let value = typed(e.clone(), ty);
    syn::parse_quote_spanned! {span=> {
        const _: () = ::core::assert!(#e != 0, #msg);
        #value
    }}
}

/// The message for an override naming no parameter. A name bound inside a
/// destructured parameter is not one: the pattern hashes as a whole.
fn not_a_param(target: &Ident, fn_name: &Ident, params: &[Param]) -> String {
    let named: Vec<String> = params
        .iter()
        .filter(|p| !matches!(p.binding, Binding::Pattern { .. }))
        .map(|p| format!("`{}`", p.name))
        .collect();
    let inside = params.iter().find(|p| match &p.binding {
        Binding::Pattern { pat, .. } => {
            let mut names = Vec::new();
            collect_bindings(pat, &mut names);
            names.iter().any(|n| n == target)
        }
        _ => false,
    });
    if let Some(p) = inside {
        let ty =
            p.ty.as_ref()
                .map_or(String::new(), |t| format!(": {}", crate::tidy(t)));
        let pat = match &p.binding {
            Binding::Pattern { pat, .. } => crate::tidy(pat),
            _ => p.name.clone(),
        };
        return format!(
            "`{target}` is bound inside the destructured parameter `{pat}`, which can't take an override (a pattern is hashed as a whole): bind the parameter to a name, such as `arg{ty}`, and override that (`hash(arg = |a| ...)`), or make `{target}` a parameter of its own"
        );
    }
    let list = if named.is_empty() {
        String::new()
    } else {
        format!("; its parameters are: {}", named.join(", "))
    };
    format!("`{target}` is not a parameter of `{fn_name}`{list}")
}

/// The name of a caching attribute of this crate, if `a` is one.
fn cache_attr(a: &syn::Attribute, krate: Option<&syn::Path>) -> Option<String> {
    let path = a.path();
    let renamed = krate.and_then(|k| k.segments.last()).map(|s| &s.ident);
    let ours = path.segments.len() == 1
        || path
            .segments
            .first()
            .is_some_and(|s| s.ident == "memo_runtime" || Some(&s.ident) == renamed);
    let last = path.segments.last()?.ident.to_string();
    let known = matches!(
        last.as_str(),
        "memo"
            | "singleton"
            | "cache_data"
            | "cache_resource"
            | "experimental_memo"
            | "experimental_singleton"
    );
    (ours && known).then_some(last)
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn first_type_arg(seg: &syn::PathSegment) -> Option<&Type> {
    match &seg.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// `T` of a type spelled `...Result<T, ..>`.
pub(crate) fn result_ok_type(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    (seg.ident == "Result")
        .then(|| first_type_arg(seg))
        .flatten()
}

pub(crate) fn is_arc(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == "Arc" && first_type_arg(s).is_some())
}

fn collect_bindings(pat: &Pat, out: &mut Vec<Ident>) {
    match pat {
        Pat::Ident(p) => {
            out.push(p.ident.clone());
            if let Some((_, sub)) = &p.subpat {
                collect_bindings(sub, out);
            }
        }
        Pat::Tuple(t) => t.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::TupleStruct(t) => t.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Struct(s) => s.fields.iter().for_each(|f| collect_bindings(&f.pat, out)),
        Pat::Slice(s) => s.elems.iter().for_each(|p| collect_bindings(p, out)),
        Pat::Reference(r) => collect_bindings(&r.pat, out),
        Pat::Paren(p) => collect_bindings(&p.pat, out),
        Pat::Type(t) => collect_bindings(&t.pat, out),
        Pat::Or(o) => o.cases.iter().for_each(|p| collect_bindings(p, out)),
        // `_`, literals, ranges, rest: bind nothing.
        _ => {}
    }
}

/// `&mut` (or `&'a mut`) anywhere in a type's tokens.
fn has_mut_ref(tokens: proc_macro2::TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let t: Vec<TokenTree> = tokens.into_iter().collect();
    let is = |i: usize, c: char| matches!(t.get(i), Some(TokenTree::Punct(p)) if p.as_char() == c);
    let is_mut = |i: usize| matches!(t.get(i), Some(TokenTree::Ident(m)) if m == "mut");
    (0..t.len()).any(|i| match &t[i] {
        TokenTree::Group(g) => has_mut_ref(g.stream()),
        _ => is(i, '&') && (is_mut(i + 1) || (is(i + 1, '\'') && is_mut(i + 3))),
    })
}
