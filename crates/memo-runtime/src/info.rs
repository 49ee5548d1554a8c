//! What generated code tells the runtime about a cached function.

use std::time::Duration;

/// Which attribute made the function: they differ in what a hit returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `#[memo]`: every caller gets its own copy.
    Memo,
    /// `#[singleton]`: every caller shares one instance.
    Singleton,
}

/// A cached function's identity, fixed at compile time.
#[derive(Debug)]
pub struct FnInfo {
    /// The type name of an item declared inside the function (or inside
    /// one of its companions): it carries the function's full path, which
    /// `module_path!()` does not. Two methods named `val` in one module (in
    /// `impl A` and `impl B`), or two `helper` fns nested in different fns,
    /// share a module and a name; without the path they would share one
    /// directory on disk and clear each other's caches.
    pub(crate) here: fn() -> &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) source_hash: u128,
    pub(crate) options: fn() -> Options,
}

impl FnInfo {
    /// Generated code's constructor.
    pub const fn new(
        here: fn() -> &'static str,
        name: &'static str,
        kind: Kind,
        source_hash: u128,
        options: fn() -> Options,
    ) -> Self {
        FnInfo {
            here,
            name,
            kind,
            source_hash,
            options,
        }
    }

    /// The function's key: the path of what holds it, its name and the hash
    /// of its source tokens. Persisted and shared stores namespace entries by
    /// it, so an edited function never reads its old version's results.
    pub fn function_key(&self) -> u128 {
        let mut h = crate::KeyHasher::new();
        h.write_str(self.scope());
        h.write_str(self.name);
        h.write_bytes(&self.source_hash.to_le_bytes());
        h.finish()
    }

    /// What holds the function: its module for a free fn (the same text as
    /// `module_path!()`), `module::Type` for a method, `module::outer` for
    /// a fn nested in another.
    pub(crate) fn scope(&self) -> &'static str {
        scope_of((self.here)())
    }

    /// `scope::name`, for messages and listings.
    pub(crate) fn path(&self) -> String {
        format!("{}::{}", self.scope(), self.name)
    }
}

/// The scope of the function in which an item or a closure was declared,
/// from its type name (`a::B::f::__memo_here`, `a::B<u8>::f::{{closure}}`):
/// without the item itself, any closures or async blocks around it, and the
/// function's own name (which is a companion's, `f_clear`, when a companion
/// asks).
pub(crate) fn scope_of(inner: &'static str) -> &'static str {
    let mut s = parent(inner);
    while let Some(p) = s.strip_suffix("::{{closure}}") {
        s = p;
    }
    parent(s)
}

/// Whether `scope` (from `FnInfo::here`) is a generic impl's: an item nested
/// in a fn shows the impl's parameters (`app::Loader<_>`, `app::Buf<N>`),
/// while `F`, a closure declared in the same fn, shows the instantiation
/// (`app::Loader<app::Big>`, `app::Buf<2>`). The two read the same for a
/// plain impl, or one generic only over lifetimes (`app::G<&str>`), which
/// needs no telling apart.
pub(crate) fn is_generic<F>(scope: &str) -> bool {
    scope_of(std::any::type_name::<F>()) != scope
}

/// `path` without its last `::` segment. Splits at the last `::` outside
/// angle brackets, so `<a::B as a::T>::f` and `a::G<b::C>` stay whole.
fn parent(path: &str) -> &str {
    let mut depth = 0i32;
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    while i > 1 {
        i -= 1;
        match bytes[i] {
            // The `>` of a `->` in a fn pointer type closes nothing.
            b'>' if bytes[i - 1] != b'-' => depth += 1,
            b'<' => depth -= 1,
            b':' if depth == 0 && bytes[i - 1] == b':' => return &path[..i - 1],
            _ => {}
        }
    }
    ""
}

/// The options given in the attribute, evaluated once, when the function's
/// cache is created.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub(crate) ttl: Option<Duration>,
    pub(crate) max_entries: Option<usize>,
    pub(crate) max_disk_entries: Option<usize>,
    pub(crate) show_spinner: Spinner,
    pub(crate) show_time: bool,
    pub(crate) allow_widgets: bool,
    /// The fn has parameters: its spinner reads ``Running `f(...)`.``.
    pub(crate) takes_args: bool,
}

/// What a miss shows while the body runs (takes effect inside an app session).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Spinner {
    /// ``Running `f(...)`.``
    #[default]
    Default,
    /// No spinner.
    Hidden,
    /// This text.
    Text(&'static str),
}

impl Options {
    /// No options.
    pub const fn new() -> Self {
        Options {
            ttl: None,
            max_entries: None,
            max_disk_entries: None,
            show_spinner: Spinner::Default,
            show_time: false,
            allow_widgets: false,
            takes_args: false,
        }
    }

    /// Entries expire this long after they were written.
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Keep at most this many entries, dropping the least recently used.
    pub const fn max_entries(mut self, n: usize) -> Self {
        self.max_entries = Some(n);
        self
    }

    /// Keep at most this many entries on disk, dropping the oldest written.
    pub const fn max_disk_entries(mut self, n: usize) -> Self {
        self.max_disk_entries = Some(n);
        self
    }

    /// What a miss shows while it runs.
    pub const fn show_spinner(mut self, s: Spinner) -> Self {
        self.show_spinner = s;
        self
    }

    /// Whether the spinner shows the elapsed time.
    pub const fn show_time(mut self, on: bool) -> Self {
        self.show_time = on;
        self
    }

    /// Whether widgets inside the function become part of its key.
    pub const fn allow_widgets(mut self, on: bool) -> Self {
        self.allow_widgets = on;
        self
    }

    /// Whether the function has parameters (for the spinner's text).
    pub const fn takes_args(mut self, on: bool) -> Self {
        self.takes_args = on;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::scope_of;

    #[test]
    fn scope_is_what_holds_the_function() {
        for (here, scope) in [
            ("app::data::load::__memo_here", "app::data"),
            ("app::data::load_clear::__memo_here", "app::data"),
            ("app::A::val::__memo_here", "app::A"),
            ("app::G<_>::val::__memo_here", "app::G<_>"),
            (
                "app::G<alloc::string::String>::val::__memo_here",
                "app::G<alloc::string::String>",
            ),
            ("app::G<fn() -> u8>::val::__memo_here", "app::G<fn() -> u8>"),
            ("<app::A as app::T>::val::__memo_here", "<app::A as app::T>"),
            ("app::outer::helper::__memo_here", "app::outer"),
            (
                "app::main::{{closure}}::f::__memo_here",
                "app::main::{{closure}}",
            ),
            ("app::f::{{closure}}::{{closure}}::__memo_here", "app"),
            ("f::__memo_here", ""),
        ] {
            assert_eq!(scope_of(here), scope, "{here}");
        }
    }

    #[test]
    fn a_closures_scope_is_the_instantiated_one() {
        assert_eq!(
            scope_of("app::Loader<app::Big>::weights::{{closure}}"),
            "app::Loader<app::Big>"
        );
        assert_eq!(
            scope_of("app::Loader<u8>::weights_forget::{{closure}}::{{closure}}"),
            "app::Loader<u8>"
        );
    }
}
