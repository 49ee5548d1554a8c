//! Parsing the attribute's options. Every mistake becomes a `syn::Error` on
//! the token that is wrong, with a hint where one helps.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Lit, LitBool, LitStr, Token};

/// How each option is written, for hints.
fn example(name: &str) -> &'static str {
    match name {
        "ttl" => "`ttl = \"60s\"`",
        "max_entries" => "`max_entries = 100`",
        "max_disk_entries" => "`max_disk_entries = 10_000`",
        "show_spinner" => "`show_spinner = false` or `show_spinner = \"Loading...\"`",
        "show_time" => "`show_time = true`",
        "allow_widgets" | "experimental_allow_widgets" => "`allow_widgets = true`",
        "persist" => "`persist = \"disk\"`",
        "crate" => "`crate = \"memo\"` (the name `memo-runtime` has in this crate's Cargo.toml)",
        "companions" => "`companions = false` (no `f_clear`, `f_forget` and `f_stats` beside the fn, which a trait impl can't hold: for a trait impl's methods, a trait's default methods, or a fn whose companion's name is taken)",
        _ => "`hash(param = ptr)`",
    }
}

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
    pub(crate) max_disk_entries: Option<(Ident, Expr)>,
    pub(crate) show_spinner: Option<(Ident, Spinner)>,
    pub(crate) show_time: Option<(Ident, LitBool)>,
    pub(crate) allow_widgets: Option<(Ident, LitBool)>,
    pub(crate) persist: Option<(Ident, LitStr)>,
    pub(crate) hash: Vec<HashOverride>,
    hash_seen: Option<Ident>,
    /// `crate = "memo"`: the runtime under another name.
    pub(crate) krate: Option<(Ident, syn::Path)>,
    /// `companions = false`: no `f_clear`, `f_forget`, `f_stats`.
    pub(crate) companions: Option<(Ident, LitBool)>,
}

const KNOWN: &[&str] = &[
    "ttl",
    "max_entries",
    "hash",
    "show_spinner",
    "show_time",
    "allow_widgets",
    "persist",
    "max_disk_entries",
    "crate",
    "companions",
];

impl Parse for Options {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut opts = Options::default();
        while !input.is_empty() {
            let key = option_name(input)?;
            let name = key.to_string();
            if name == "hash" {
                if let Some(first) = &opts.hash_seen {
                    let mut e = syn::Error::new(
                        key.span(),
                        "`hash` is given twice: list every override in one `hash(...)`",
                    );
                    e.combine(syn::Error::new(first.span(), "`hash` is first given here"));
                    return Err(e);
                }
                opts.hash_seen = Some(key.clone());
                if !input.peek(syn::token::Paren) {
                    return Err(syn::Error::new(
                        input.span(),
                        "`hash` takes its overrides in parentheses: `hash(param = ptr)`, `hash(param = |v| ...)` or `hash(self = ignore)`",
                    ));
                }
                let content;
                syn::parenthesized!(content in input);
                opts.hash = parse_overrides(&content)?;
            } else {
                if !input.peek(Token![=]) {
                    return Err(missing_value(input, &key));
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
                    "max_disk_entries" => {
                        let v: Expr = input.parse()?;
                        set(&mut opts.max_disk_entries, key, v)?;
                    }
                    "persist" => {
                        let v = parse_persist(input)?;
                        set(&mut opts.persist, key, v)?;
                    }
                    "crate" => {
                        let v = parse_crate(input)?;
                        set(&mut opts.krate, key, v)?;
                    }
                    "companions" => {
                        let v = parse_companions(input)?;
                        set(&mut opts.companions, key, v)?;
                    }
                    _ => return Err(syn::Error::new(key.span(), unknown_message(&name))),
                }
            }
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(input.error("expected `,` between options"));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(opts)
    }
}

/// The next option's name, or an error saying what an option looks like.
fn option_name(input: ParseStream) -> syn::Result<Ident> {
    if input.peek(Ident::peek_any) {
        return Ident::parse_any(input);
    }
    if input.peek(LitStr) {
        let s: LitStr = input.fork().parse()?;
        if crate::ttl::parse(&s.value()).is_ok() {
            return Err(syn::Error::new(
                s.span(),
                format!("options are named: write `ttl = {:?}`", s.value()),
            ));
        }
    }
    Err(input.error("expected an option, such as `ttl = \"60s\"` or `max_entries = 100`"))
}

/// `name` is not followed by `=`.
fn missing_value(input: ParseStream, key: &Ident) -> syn::Error {
    let name = key.to_string();
    if !KNOWN.contains(&name.as_str()) && name != "experimental_allow_widgets" {
        return syn::Error::new(key.span(), unknown_message(&name));
    }
    if input.is_empty() || input.peek(Token![,]) {
        syn::Error::new(
            key.span(),
            format!("`{name}` needs a value: {}", example(&name)),
        )
    } else {
        syn::Error::new(
            input.span(),
            format!("expected `=` after `{name}`: {}", example(&name)),
        )
    }
}

fn set<T>(slot: &mut Option<(Ident, T)>, key: Ident, value: T) -> syn::Result<()> {
    if let Some((first, _)) = slot {
        let mut e = syn::Error::new(key.span(), format!("`{key}` is given twice: keep one"));
        e.combine(syn::Error::new(
            first.span(),
            format!("`{first}` is first given here"),
        ));
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

/// `companions = false`, or `true` (the default). Anything else (`"no"`,
/// `0`) is an error on that value saying what to write.
fn parse_companions(input: ParseStream) -> syn::Result<LitBool> {
    if input.peek(LitBool) {
        return input.parse();
    }
    let how = format!(
        "write {}, or leave the option out to keep them",
        example("companions")
    );
    if input.is_empty() || input.peek(Token![,]) {
        return Err(input.error(format!("`companions` needs a value: {how}")));
    }
    let value: Expr = input.parse()?;
    Err(syn::Error::new_spanned(
        &value,
        format!(
            "`companions` takes `true` or `false`, not `{}`: {how}",
            crate::tidy(&value)
        ),
    ))
}

fn parse_ttl(input: ParseStream) -> syn::Result<Ttl> {
    if input.peek(LitStr) {
        let s: LitStr = input.parse()?;
        return crate::ttl::parse(&s.value()).map(Ttl::Text).map_err(|why| {
            // Messages that already say what to write need no example.
            let example = if why.contains("write ") || why.contains("use ") {
                ""
            } else {
                ". Write a duration such as \"60s\", \"1h 30m\" or \"2 days\""
            };
            syn::Error::new(
                s.span(),
                format!("invalid ttl {:?}: {why}{example}", s.value()),
            )
        });
    }
    let expr: Expr = input.parse()?;
    let digits = match &expr {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i.base10_digits().to_string()),
        Expr::Lit(syn::ExprLit {
            lit: Lit::Float(f), ..
        }) => Some(f.base10_digits().to_string()),
        _ => None,
    };
    if let Some(n) = digits {
        return Err(syn::Error::new_spanned(
            &expr,
            format!("a bare number is ambiguous as a ttl: give it a unit, such as `ttl = \"{n}s\"` or `ttl = \"{n}m\"`, or write a `Duration` expression"),
        ));
    }
    Ok(Ttl::Expr(expr))
}

fn parse_persist(input: ParseStream) -> syn::Result<LitStr> {
    let lookahead = input.lookahead1();
    if lookahead.peek(LitStr) {
        let s: LitStr = input.parse()?;
        match s.value().as_str() {
            "disk" => Ok(s),
            "memory" => Err(syn::Error::new(
                s.span(),
                "caches live in memory by default: remove `persist`",
            )),
            other => Err(syn::Error::new(
                s.span(),
                format!("unknown storage {other:?}: `persist` takes \"disk\""),
            )),
        }
    } else if lookahead.peek(LitBool) {
        let b: LitBool = input.parse()?;
        Ok(LitStr::new(if b.value { "disk" } else { "" }, b.span))
    } else if input.peek(Ident) {
        // `persist = disk`: the quotes are missing.
        let word: Ident = input.parse()?;
        let msg = if word == "disk" {
            "`persist` takes a string: write `persist = \"disk\"`, in quotes".to_string()
        } else {
            format!("unknown storage `{word}`: `persist` takes a string, `persist = \"disk\"`")
        };
        Err(syn::Error::new(word.span(), msg))
    } else {
        Err(syn::Error::new(
            input.span(),
            "`persist` takes a string: `persist = \"disk\"`",
        ))
    }
}

/// `crate = "memo"` as serde and tokio spell it, or `crate = memo`.
fn parse_crate(input: ParseStream) -> syn::Result<syn::Path> {
    const HOW: &str = "`crate` takes the path `memo-runtime` is known by here, such as `crate = \"memo\"` when Cargo.toml renames it `memo = { package = \"memo-runtime\", .. }`";
    if input.peek(LitStr) {
        return crate_path(&input.parse()?, HOW);
    }
    if input.peek(Token![::]) || input.peek(Ident::peek_any) {
        return syn::Path::parse_mod_style(input).map(crate_root);
    }
    Err(syn::Error::new(input.span(), HOW))
}

/// The path in `crate = ".."`'s string, as [`crate_root`] reads it, or an
/// error on the string that ends with `how`.
pub(crate) fn crate_path(s: &LitStr, how: &str) -> syn::Result<syn::Path> {
    s.parse_with(syn::Path::parse_mod_style)
        .map(crate_root)
        .map_err(|_| syn::Error::new(s.span(), format!("{:?} is not a path: {how}", s.value())))
}

/// The runtime's path when no `crate = ".."` names it.
pub(crate) fn default_crate() -> proc_macro2::TokenStream {
    quote::quote!(::memo_runtime)
}

/// A lone name is a dependency's name: `::memo`, so that `use memo::memo;`
/// (which brings the runtime's `memo` module into scope under that name)
/// can't capture it. Longer paths are taken as written.
pub(crate) fn crate_root(mut path: syn::Path) -> syn::Path {
    let lone = path.leading_colon.is_none() && path.segments.len() == 1;
    let relative = ["crate", "self", "super"]
        .iter()
        .any(|k| path.segments[0].ident == k);
    if lone && !relative {
        path.leading_colon = Some(Token![::](path.segments[0].ident.span()));
    }
    path
}

fn parse_overrides(input: ParseStream) -> syn::Result<Vec<HashOverride>> {
    let mut out: Vec<HashOverride> = Vec::new();
    while !input.is_empty() {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(
                "expected a parameter's name: `hash(param = ptr)` or `hash(param = |v| ...)`",
            ));
        }
        let param = Ident::parse_any(input)?;
        if let Some(prev) = out.iter().find(|o| o.param == param) {
            let mut e = syn::Error::new(
                param.span(),
                format!("`{param}` has two hash overrides: keep one"),
            );
            e.combine(syn::Error::new(
                prev.param.span(),
                format!("`{param}`'s first override is here"),
            ));
            return Err(e);
        }
        if !input.peek(Token![=]) {
            let ways = if param == "self" {
                "`self = ptr` (by address), `self = |v| ...` (by what the closure returns) or `self = ignore`".to_string()
            } else {
                format!("`{param} = ptr` (by address) or `{param} = |v| ...` (by what the closure returns)")
            };
            return Err(if input.is_empty() || input.peek(Token![,]) {
                syn::Error::new(param.span(), format!("`{param}` needs an override: {ways}"))
            } else {
                input.error(format!("expected `=` after `{param}`: {ways}"))
            });
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
            Some(word) => {
                if let Some(hint) = misspelled_keyword(&word, &param) {
                    return Err(syn::Error::new(word.span(), hint));
                }
                HashBy::With(input.parse()?)
            }
            None => HashBy::With(input.parse()?),
        };
        out.push(HashOverride { param, by });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(out)
}

/// A lone word that is not `ptr` or `ignore` but surely meant one. Anything
/// else is taken as a function's name (`hash(conn = conn_id)`).
fn misspelled_keyword(word: &Ident, param: &Ident) -> Option<String> {
    let w = word.to_string();
    let rename = format!("to leave `{param}` out of the key, rename it `_{param}`");
    let means_ptr = matches!(
        w.as_str(),
        "pointer" | "address" | "addr" | "by_address" | "by_ptr" | "identity" | "prt" | "tpr"
    ) || distance(&w, "ptr") <= 1;
    let means_ignore =
        matches!(w.as_str(), "skip" | "skipped" | "ignored") || distance(&w, "ignore") <= 2;
    if means_ptr {
        Some(format!(
            "unknown override `{w}`: did you mean `ptr`? It keys `{param}` by the address it points to"
        ))
    } else if means_ignore && param == "self" {
        Some(format!("unknown override `{w}`: did you mean `ignore`?"))
    } else if means_ignore {
        Some(format!("unknown override `{w}`: {rename}"))
    } else {
        None
    }
}

/// `ptr` or `ignore` standing alone (not the start of an expression).
fn keyword(input: ParseStream) -> Option<Ident> {
    let fork = input.fork();
    let word: Ident = fork.parse().ok()?;
    (fork.is_empty() || fork.peek(Token![,])).then_some(word)
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
    if name.contains("companion") || name.contains("trait") {
        return format!(
            "unknown option `{name}`: did you mean `companions`? Write {}",
            example("companions")
        );
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
    distance(a, b) <= 2
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
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
    prev[b.len()]
}
