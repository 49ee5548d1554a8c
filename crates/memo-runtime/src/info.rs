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
    pub(crate) module: &'static str,
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) source_hash: u128,
    pub(crate) options: fn() -> Options,
}

impl FnInfo {
    /// Generated code's constructor.
    pub const fn new(
        module: &'static str,
        name: &'static str,
        kind: Kind,
        source_hash: u128,
        options: fn() -> Options,
    ) -> Self {
        FnInfo {
            module,
            name,
            kind,
            source_hash,
            options,
        }
    }

    /// The function's key: module path, name and the hash of its source
    /// tokens. Persisted and shared stores namespace entries by it, so an
    /// edited function never reads its old version's results.
    pub fn function_key(&self) -> u128 {
        let mut h = crate::KeyHasher::new();
        h.write_str(self.module);
        h.write_str(self.name);
        h.write_bytes(&self.source_hash.to_le_bytes());
        h.finish()
    }

    pub(crate) fn path(&self) -> String {
        format!("{}::{}", self.module, self.name)
    }
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
