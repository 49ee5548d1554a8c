//! An `async fn` whose hit needs no future of its own.
//!
//! `async fn f(x: &str) -> T` becomes `fn f<'l>(x: &'l str) -> impl Future<Output
//! = T> + Captures<..>`: the call hashes its arguments and looks for a hit at
//! once, and the caller's `.await` polls a ready value; only a miss runs the
//! body's future. An `async fn`'s own poll is a function the compiler does
//! not inline into its caller, which made an async hit cost 1.6× a sync one.
//!
//! The returned `impl Future` must name every lifetime the future holds. In
//! edition 2021 a lifetime hidden in a type (`Parser` for `Parser<'a>`, or an
//! impl's lifetime behind `Self`) can't be named from the signature alone, so
//! only signatures whose every lifetime is visible are rewritten: no `self`,
//! no `Self`, no `impl Trait`, and argument types built from references,
//! std types and the fn's own type parameters. Anything else stays an
//! `async fn`, which is just as correct.

use proc_macro2::Span;
use syn::{FnArg, GenericArgument, Lifetime, PathArguments, ReturnType, Signature, Type};

/// Types known to carry no lifetime of their own beyond their arguments.
const PLAIN: &[&str] = &[
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64", "bool", "char", "str", "String", "Vec", "VecDeque", "Option", "Result", "Box", "Rc",
    "Arc", "HashMap", "HashSet", "BTreeMap", "BTreeSet", "PathBuf", "Path", "Duration",
];

struct Lifetimes<'a> {
    type_params: &'a [syn::Ident],
    /// Every lifetime the arguments mention, after naming.
    all: Vec<Lifetime>,
    /// The ones named here (elided in the source).
    named: Vec<Lifetime>,
}

impl Lifetimes<'_> {
    fn fresh(&mut self) -> Lifetime {
        let l = Lifetime::new(&format!("'__memo_l{}", self.named.len()), Span::call_site());
        self.named.push(l.clone());
        self.all.push(l.clone());
        l
    }

    fn seen(&mut self, l: &mut Lifetime) {
        if l.ident == "_" {
            *l = self.fresh();
        } else if l.ident != "static" && !self.all.contains(l) {
            self.all.push(l.clone());
        }
    }

    /// Names the elided lifetimes of `ty`; `false` if it may hide one.
    fn walk(&mut self, ty: &mut Type) -> bool {
        match ty {
            Type::Reference(r) => {
                match &mut r.lifetime {
                    Some(l) => self.seen(l),
                    None => r.lifetime = Some(self.fresh()),
                }
                self.walk(&mut r.elem)
            }
            Type::Slice(s) => self.walk(&mut s.elem),
            Type::Array(a) => self.walk(&mut a.elem),
            Type::Paren(p) => self.walk(&mut p.elem),
            Type::Group(g) => self.walk(&mut g.elem),
            Type::Tuple(t) => t.elems.iter_mut().all(|e| self.walk(e)),
            Type::Path(p) if p.qself.is_none() => {
                let segs = &mut p.path.segments;
                let Some(last) = segs.last() else {
                    return false;
                };
                let own_param = segs.len() == 1
                    && last.arguments.is_none()
                    && self.type_params.contains(&last.ident);
                if own_param {
                    return true;
                }
                let n = segs.len();
                if !PLAIN.iter().any(|p| last.ident == p)
                    || segs.iter().take(n - 1).any(|s| !s.arguments.is_none())
                {
                    return false;
                }
                match &mut segs[n - 1].arguments {
                    PathArguments::None => true,
                    PathArguments::AngleBracketed(a) => a.args.iter_mut().all(|arg| match arg {
                        GenericArgument::Type(t) => self.walk(t),
                        GenericArgument::Lifetime(l) => {
                            self.seen(l);
                            true
                        }
                        GenericArgument::Const(_) => true,
                        _ => false,
                    }),
                    PathArguments::Parenthesized(_) => false,
                }
            }
            _ => false,
        }
    }
}

fn mentions_self_or_impl(tokens: proc_macro2::TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "Self" || i == "impl",
        proc_macro2::TokenTree::Group(g) => mentions_self_or_impl(g.stream()),
        _ => false,
    })
}

/// Rewrites `sig` (an `async fn` wrapper's, outputs already final) into a
/// plain fn returning `impl Future`, if every lifetime it holds can be
/// named; otherwise leaves it alone and says so.
pub(crate) fn rewrite(
    sig: &mut Signature,
    type_params: &[syn::Ident],
    krate: &proc_macro2::TokenStream,
) -> bool {
    use quote::ToTokens;
    let mut new = sig.clone();
    let mut lts = Lifetimes {
        type_params,
        all: Vec::new(),
        named: Vec::new(),
    };
    for input in new.inputs.iter_mut() {
        let FnArg::Typed(pt) = input else {
            return false;
        };
        if mentions_self_or_impl(pt.ty.to_token_stream()) || !lts.walk(&mut pt.ty) {
            return false;
        }
    }
    let output: Type = match &new.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) if !mentions_self_or_impl(ty.to_token_stream()) => (**ty).clone(),
        _ => return false,
    };
    for l in lts.named.iter().rev() {
        new.generics.params.insert(0, syn::parse_quote!(#l));
    }
    let held = lts.all.iter();
    new.asyncness = None;
    // Spanned to the declared type: an unmet bound on the value is found
    // again on the opaque type, and should point there, not at the attribute.
    let span = match &sig.output {
        ReturnType::Type(_, ty) => syn::spanned::Spanned::span(ty),
        ReturnType::Default => sig.ident.span(),
    };
    new.output = syn::parse_quote_spanned! {span=>
        -> impl ::core::future::Future<Output = #output>
            + #krate::__private::Captures<(#(&#held (),)*)>
    };
    *sig = new;
    true
}
