//! Parsing the attribute's options. Every mistake becomes a `syn::Error` on
//! the token that is wrong, with a hint where one helps.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Lit, LitBool, LitStr, Token};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Memo,
    Singleton,
}

impl Kind {
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Memo => "#[memo]",
            Kind::Singleton => "#[singleton]",
        }
    }
}

pub(crate) enum Ttl {
    /// Parsed at compile time, in nanoseconds.
    Text(std::time::Duration),
    /// A `Duration` expression, evaluated when the cache is created.
    Expr(Expr),
}

pub(crate) enum Spinner {
    Shown(bool),
    Text(LitStr),
}

pub(crate) enum HashBy {
    Ptr,
    Ignore,
    With(Expr),
}

pub(crate) struct HashOverride {
    /// `self` or a parameter's name.
    pub(crate) param: Ident,
    pub(crate) by: HashBy,
}

#[derive(Default)]
pub(crate) struct Options {
    pub(crate) ttl: Option<(Ident, Ttl)>,
    pub(crate) max_entries: Option<(Ident, Expr)>,
    pub(crate) show_spinner: Option<(Ident, Spinner)>,
    pub(crate) show_time: Option<(Ident, LitBool)>,
    pub(crate) allow_widgets: Option<(Ident, LitBool)>,
    pub(crate) persist: Option<(Ident, LitStr)>,
    pub(crate) hash: Vec<HashOverride>,
    hash_seen: Option<Ident>,
}

const KNOWN: &[&str] = &[
    "ttl",
    "max_entries",
    "hash",
    "show_spinner",
    "show_time",
    "allow_widgets",
    "persist",
];

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut opts = Options::default();
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            if name == "hash" {
                if let Some(first) = &opts.hash_seen {
                    let mut e = syn::Error::new(
                        key.span(),
                        "`hash` is given twice: list every override in one `hash(...)`",
                    );
                    e.combine(syn::Error::new(first.span(), "first given here"));
                    return Err(e);
                }
                opts.hash_seen = Some(key.clone());
                let content;
                syn::parenthesized!(content in input);
                opts.hash = parse_overrides(&content)?;
            } else {
                if !input.peek(Token![=]) {
                    return Err(unknown_or(&key, || format!("expected `{name} = ...`")));
                }
                input.parse::<Token![=]>()?;
                match name.as_str() {
                    "ttl" => {
                        let v = parse_ttl(input)?;
                        set(&mut opts.ttl, key, v)?;
                    }
                    "max_entries" => {
                        let v: Expr = input.parse()?;
                        set(&mut opts.max_entries, key, v)?;
                    }
                    "show_spinner" => {
                        let v = match input.parse::<Lit>()? {
                            Lit::Bool(b) => Spinner::Shown(b.value),
                            Lit::Str(s) => Spinner::Text(s),
                            other => {
                                return Err(syn::Error::new(
                                    other.span(),
                                    "`show_spinner` takes `true`, `false` or a message such as \"Loading data...\"",
                                ))
                            }
                        };
                        set(&mut opts.show_spinner, key, v)?;
                    }
                    "show_time" => {
                        let v = parse_bool(input, "show_time")?;
                        set(&mut opts.show_time, key, v)?;
                    }
                    "allow_widgets" | "experimental_allow_widgets" => {
                        let v = parse_bool(input, &name)?;
                        set(&mut opts.allow_widgets, key, v)?;
                    }
                    "persist" => {
                        let v = parse_persist(input)?;
                        set(&mut opts.persist, key, v)?;
                    }
                    _ => return Err(unknown_or(&key, || unknown_message(&name))),
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(opts)
    }
}

fn set<T>(slot: &mut Option<(Ident, T)>, key: Ident, value: T) -> syn::Result<()> {
    if let Some((first, _)) = slot {
        let mut e = syn::Error::new(key.span(), format!("`{key}` is given twice"));
        e.combine(syn::Error::new(first.span(), "first given here"));
        return Err(e);
    }
    *slot = Some((key, value));
    Ok(())
}

fn parse_bool(input: ParseStream, name: &str) -> syn::Result<LitBool> {
    match input.parse::<Lit>()? {
        Lit::Bool(b) => Ok(b),
        other => Err(syn::Error::new(
            other.span(),
            format!("`{name}` takes `true` or `false`"),
        )),
    }
}

fn parse_ttl(input: ParseStream) -> syn::Result<Ttl> {
    if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        return crate::ttl::parse(&s.value())
            .map(Ttl::Text)
            .map_err(|why| {
                syn::Error::new(
                    s.span(),
                    format!("invalid ttl {:?}: {why}. Write a duration such as \"60s\", \"1h 30m\" or \"2 days\"", s.value()),
                )
            });
    }
    let expr: Expr = input.parse()?;
    if let Expr::Lit(syn::ExprLit {
        lit: Lit::Int(_) | Lit::Float(_),
        ..
    }) = &expr
    {
        return Err(syn::Error::new_spanned(
            &expr,
            "a bare number is ambiguous as a ttl: write a string with a unit, such as \"60s\", or a `Duration` expression",
        ));
    }
    Ok(Ttl::Expr(expr))
}

fn parse_persist(input: ParseStream) -> syn::Result<LitStr> {
    let lookahead = input.lookahead1();
    if lookahead.peek(LitStr) {
        let s: LitStr = input.parse()?;
        if s.value() != "disk" {
            return Err(syn::Error::new(
                s.span(),
                "`persist` supports one storage: \"disk\"",
            ));
        }
        Ok(s)
    } else if lookahead.peek(LitBool) {
        let b: LitBool = input.parse()?;
        Ok(LitStr::new(if b.value { "disk" } else { "" }, b.span))
    } else {
        Err(lookahead.error())
    }
}

fn parse_overrides(input: ParseStream) -> syn::Result<Vec<HashOverride>> {
    let mut out: Vec<HashOverride> = Vec::new();
    while !input.is_empty() {
        let param = Ident::parse_any(input)?;
        if let Some(prev) = out.iter().find(|o| o.param == param) {
            let mut e = syn::Error::new(param.span(), format!("`{param}` has two hash overrides"));
            e.combine(syn::Error::new(prev.param.span(), "first given here"));
            return Err(e);
        }
        input.parse::<Token![=]>()?;
        let by = match keyword(input) {
            Some(word) if word == "ptr" => {
                input.parse::<Ident>()?;
                HashBy::Ptr
            }
            Some(word) if word == "ignore" => {
                input.parse::<Ident>()?;
                HashBy::Ignore
            }
            _ => HashBy::With(input.parse()?),
        };
        out.push(HashOverride { param, by });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(out)
}

/// `ptr` or `ignore` standing alone (not the start of an expression).
fn keyword(input: ParseStream) -> Option<Ident> {
    let fork = input.fork();
    let word: Ident = fork.parse().ok()?;
    (fork.is_empty() || fork.peek(Token![,])).then_some(word)
}

fn unknown_or(key: &Ident, fallback: impl FnOnce() -> String) -> syn::Error {
    let name = key.to_string();
    if KNOWN.contains(&name.as_str()) {
        return syn::Error::new(key.span(), fallback());
    }
    syn::Error::new(key.span(), unknown_message(&name))
}

fn unknown_message(name: &str) -> String {
    let hint = match name {
        "hash_funcs" => Some(
            "Streamlit's `hash_funcs` maps types to hash functions; here you override per parameter: `hash(param = ptr)` or `hash(param = |v| ...)`",
        ),
        "ttl_secs" | "ttl_millis" | "time" | "expire" | "expires" | "timeout" => {
            Some("use `ttl = \"60s\"` (or a `Duration` expression)")
        }
        "size" | "max_size" | "capacity" | "size_limit" | "maxsize" | "max_len" => {
            Some("use `max_entries = N` to bound the number of entries")
        }
        "skip" | "ignore" => Some("prefix the parameter's name with `_` to leave it out of the key"),
        "allow_output_mutation" => Some(
            "use #[singleton] to share one instance, or #[memo], which hands every caller its own copy",
        ),
        "suppress_st_warning" => Some("there is nothing to suppress: remove it"),
        "scope" | "validate" | "on_release" | "refresh_mode" => {
            Some("this Streamlit option is not supported yet: every cache is global, shared by all threads")
        }
        _ => None,
    };
    if let Some(hint) = hint {
        return format!("unknown option `{name}`: {hint}");
    }
    match KNOWN.iter().find(|k| close(name, k)) {
        Some(k) => format!("unknown option `{name}`: did you mean `{k}`?"),
        None => format!(
            "unknown option `{name}`; expected one of: {}",
            KNOWN
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Within two edits (insertions, deletions, substitutions).
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let sub = prev[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}
