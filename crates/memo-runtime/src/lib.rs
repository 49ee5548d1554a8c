//! Streamlit's caching model for Rust.
//!
//! * [`#[memo]`](macro@memo) caches **data**: the first call with some
//!   arguments runs the body, later calls with equal arguments return a clone
//!   of the stored value. Every caller gets its own copy. (Streamlit:
//!   `st.cache_data`, formerly `st.experimental_memo`.)
//! * [`#[singleton]`](macro@singleton) caches **resources** (pools, clients,
//!   models): every caller, on every thread, gets the same instance as an
//!   `Arc`. The compiler checks that it is thread-safe. (Streamlit:
//!   `st.cache_resource`, formerly `st.experimental_singleton`.)
//!
//! ```
//! use memo_runtime::{memo, singleton};
//! use std::sync::Arc;
//!
//! #[memo]
//! fn expensive_computation(a: u64, b: u64) -> u64 {
//!     a * b // imagine this took seconds
//! }
//!
//! struct Pool { url: String }
//!
//! #[singleton]
//! fn pool(url: &str) -> Pool {
//!     Pool { url: url.to_string() }
//! }
//!
//! assert_eq!(expensive_computation(2, 21), 42); // runs the body
//! assert_eq!(expensive_computation(2, 21), 42); // served from the cache
//! assert!(Arc::ptr_eq(&pool("db://a"), &pool("db://a")));
//! assert_eq!(pool("db://a").url, "db://a");
//! ```
//!
//! The key of a call is a 128-bit xxh3 digest of every parameter whose name
//! does not start with `_` (name and value, in order), computed with
//! [`StableHash`]. Each function's cache also depends on a hash of its own
//! source tokens, so editing a function starts it with a fresh cache.
//!
//! Both work on `async fn` too, with the same options. Concurrent awaits of
//! one key, on one runtime or several, run the body once, and the waiters
//! don't block a thread. If the computing future is dropped (a timeout, a
//! client gone) or panics, nothing is cached and a waiter takes over. No
//! executor is assumed (this crate depends on none), and the returned future
//! is `Send` whenever the body's is.
//!
//! ```
//! use memo_runtime::{memo, singleton};
//! use std::sync::Arc;
//!
//! #[memo(ttl = "5m")]
//! async fn fetch(url: &str) -> Result<String, std::io::Error> {
//!     Ok(format!("<html>{url}</html>")) // imagine an HTTP request here
//! }
//!
//! struct Pool;
//!
//! #[singleton]
//! async fn pool(url: &str) -> Pool {
//!     let _ = url; // imagine `Pool::connect(url).await`
//!     Pool
//! }
//!
//! # futures::executor::block_on(async {
//! assert_eq!(fetch("a").await.unwrap(), "<html>a</html>");
//! assert!(Arc::ptr_eq(&pool("db").await, &pool("db").await));
//! # });
//! ```
//!
//! Every `#[memo] fn f` / `#[singleton] fn f` also gets three companions:
//! `f_clear()` (Streamlit's `f.clear()`), `f_forget(args)` (Streamlit's
//! `f.clear(args)`) and `f_stats()`, unless it says `companions = false`, as
//! a trait's methods do ([trait methods](macro@memo#trait-methods)).
//! [`memo::clear_all`] and
//! [`singleton::clear_all`] are Streamlit's `st.cache_data.clear()` and
//! `st.cache_resource.clear()`.
//!
//! A cached fn may draw UI with [`st`] (`st::success("loaded")`): inside an
//! app [`ui::Session`] what it drew is recorded on a miss and replayed on
//! every hit, in the right place ([`replay`]). Outside a session `st` calls
//! do nothing and caching is unchanged.

#![warn(missing_docs)]

mod append;
mod async_calls;
mod big_vec;
mod info;
mod key;
pub mod persist;
mod registry;
pub mod replay;
pub mod st;
mod stats;
mod store;
mod thread;
pub mod ui;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
use crate::__private as private;

#[doc(hidden)]
pub use key::CallKey;
pub use key::{digest_of, Address, KeyHasher, StableHash};
pub use stats::Stats;

/// Caches a function's results by the values of its arguments.
///
/// ```
/// use memo_runtime::memo;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
///
/// #[memo(ttl = "10m", max_entries = 100)]
/// fn square(x: i64) -> i64 {
///     RUNS.fetch_add(1, Ordering::SeqCst);
///     x * x
/// }
///
/// assert_eq!(square(12), 144);
/// assert_eq!(square(12), 144);
/// assert_eq!(RUNS.load(Ordering::SeqCst), 1);
/// square_clear();
/// square(12);
/// assert_eq!(RUNS.load(Ordering::SeqCst), 2);
/// ```
///
/// Options, all optional, in any order:
///
/// | option | meaning |
/// |---|---|
/// | `ttl = "60s"` | entries expire this long after they were written (`"1h 30m"`, `"2 days"`, `"500ms"`), or a `Duration` expression |
/// | `max_entries = N` | keep at most `N` entries, dropping the least recently used |
/// | `persist = "disk"` | also keep values on disk, for later processes (the value must be `Serialize + DeserializeOwned`; see [`persist`]) |
/// | `max_disk_entries = N` | with `persist`: keep at most `N` entries on disk, dropping the oldest written |
/// | `hash(p = ptr)` | key parameter `p` by which object it is (its address and size: a subslice is another object), not by its contents |
/// | `hash(p = \|v\| expr)` | key parameter `p` by `expr` (any function of it: a file's mtime, a connection's id) |
/// | `hash(self = ignore)` | leave the receiver out of the key (other parameters: prefix them with `_`) |
/// | `show_spinner = false` / `"text"` | what a miss shows inside an app session |
/// | `show_time = true` | the spinner shows elapsed time |
/// | `allow_widgets = true` | widgets inside the function become part of its key (`experimental_allow_widgets` works too) |
/// | `crate = "memo"` | the name this crate has in your `Cargo.toml`, if you renamed it (below) |
/// | `companions = false` | no `f_clear`, `f_forget`, `f_stats` beside the fn: for a method of a trait impl or a trait's default method ([below](#trait-methods)), or a fn whose companion's name is taken |
///
/// The generated code reaches the runtime as `::memo_runtime`. If your
/// `Cargo.toml` renames the dependency (`memo = { package = "memo-runtime",
/// .. }`), that path does not exist ("could not find `memo_runtime` in the
/// list of imported crates") and each attribute needs `crate = "memo"`, as
/// serde's and tokio's macros do; `#[derive(StableHash)]` takes
/// `#[stable_hash(crate = "memo")]`. A lone name is taken as a crate's
/// (`::memo`); give a re-export its full path (`crate = "crate::deps::memo"`).
/// If the new name is `memo`, import with a leading `::` (`use
/// ::memo::{memo, singleton};`): `use memo::memo` also brings in this
/// crate's [`memo`](mod@memo) module, and a later `memo::` path would mean
/// that module.
///
/// ```
/// extern crate memo_runtime as cache;
///
/// #[cache::memo(crate = "cache")]
/// fn twice(x: u32) -> u32 {
///     x * 2
/// }
///
/// #[derive(cache::StableHash)]
/// #[stable_hash(crate = "cache")]
/// struct Query {
///     table: String,
/// }
///
/// # fn main() {
/// assert_eq!(twice(21), 42);
/// assert_eq!(twice_stats().entries, 1);
/// let _ = cache::digest_of(&Query { table: "t".into() });
/// # }
/// ```
///
/// A function returning `Result` caches only `Ok` values. A panic caches
/// nothing. Concurrent calls with equal arguments run the body once.
/// Also available as `cache_data` and `experimental_memo`.
///
/// On an `async fn` it caches the output, with single-flight across tasks: a
/// waiting task never blocks its thread, and a computing future that is
/// dropped or panics hands the computation to a waiter. A sync `#[memo]` fn
/// that returns a future is a compile error (make it `async fn`).
///
/// When every lifetime in an `async fn`'s signature can be named (no `self`,
/// `Self` or `impl Trait`; arguments of references, std types and its own
/// type parameters), the macro makes it a plain fn returning
/// `impl Future<Output = T>`, as rustdoc then shows: the arguments are
/// hashed and the hit looked up when it is called, and the future is ready
/// at once. That makes an async hit cost about what a sync one does. So
/// such a future, made before a `clear` and awaited after it, returns the
/// value its call found; any other async fn (a method, say, or any fn with
/// `companions = false`) looks when its future is first polled. A miss
/// computes when polled in both forms.
///
/// # Trait methods
///
/// A trait impl can hold only the items its trait declares, so `#[memo]`
/// there fails on the attribute with rustc's E0407: "method `fetch_clear` is
/// not a member of trait `DataSource`" (and `fetch_forget`, `fetch_stats`).
/// `companions = false` leaves the companions out; then it works on a trait
/// impl's methods, with or without a receiver, sync or `async fn`, in
/// generic impls and impls of generic traits, and on a trait's default
/// methods:
///
/// ```
/// use memo_runtime::{memo, StableHash};
///
/// trait DataSource {
///     fn fetch(&self, url: &str) -> Vec<String>;
/// }
///
/// #[derive(StableHash)]
/// struct Csv;
/// #[derive(StableHash)]
/// struct Json;
///
/// impl DataSource for Csv {
///     #[memo(companions = false)]
///     fn fetch(&self, url: &str) -> Vec<String> {
///         vec![format!("csv row of {url}")]
///     }
/// }
///
/// impl DataSource for Json {
///     #[memo(companions = false)]
///     fn fetch(&self, url: &str) -> Vec<String> {
///         vec![format!("json row of {url}")]
///     }
/// }
///
/// // A default method: one cache, keyed by implementor. Its receiver is
/// // hashed, hence `StableHash` (or `hash(self = ignore)`).
/// trait Loader: StableHash {
///     fn name(&self) -> String;
///
///     #[memo(companions = false)]
///     fn load(&self, day: u32) -> String {
///         format!("{} prices of day {day}", self.name())
///     }
/// }
///
/// impl Loader for Csv {
///     fn name(&self) -> String { "csv".into() }
/// }
/// impl Loader for Json {
///     fn name(&self) -> String { "json".into() }
/// }
///
/// assert_eq!(Csv.fetch("a"), ["csv row of a"]);
/// assert_eq!(Json.fetch("a"), ["json row of a"]);
/// let sources: [&dyn Loader; 2] = [&Csv, &Json];
/// assert_eq!(sources[1].load(3), "json prices of day 3");
/// assert_eq!(Csv.load(3), "csv prices of day 3");
/// ```
///
/// Each implementor, and each instantiation of a generic impl or trait, has
/// its own entries, even when two implementors' `self`s hash equal, and
/// through `dyn Trait` too; persisted ones have their own disk directories.
/// `#[singleton]` works the same way, but a trait impl's signature can't
/// change: the trait declares `-> Arc<T>` (a default method's `-> T`
/// becomes the trait's `-> Arc<T>`). Without the option a default method
/// compiles, but its companions become methods of the trait, which is then
/// not dyn compatible ("associated function `load_clear` has no `self`
/// parameter"), and in a generic trait its key misses the trait's
/// arguments: give the option on every trait item.
///
/// [`memo::clear_all`], [`singleton::clear_all`] and [`memo::stats`] reach
/// these fns (`<app::Csv as app::DataSource>::fetch`
/// in the stats; a default method once, as `app::Loader::load`, summed over
/// its implementors). To clear one alone, there is no `fetch_clear`: put
/// the cached body in an inherent method, which has its companions, and
/// call it from the impl.
///
/// ```
/// use memo_runtime::{memo, StableHash};
///
/// trait DataSource {
///     fn fetch(&self, url: &str) -> Vec<String>;
/// }
///
/// #[derive(StableHash)]
/// struct Csv;
///
/// impl Csv {
///     #[memo]
///     fn fetch_cached(&self, url: &str) -> Vec<String> {
///         vec![format!("row of {url}")]
///     }
/// }
///
/// impl DataSource for Csv {
///     fn fetch(&self, url: &str) -> Vec<String> {
///         self.fetch_cached(url)
///     }
/// }
///
/// Csv.fetch("a");
/// assert_eq!(Csv::fetch_cached_stats().entries, 1);
/// Csv::fetch_cached_clear();
/// assert_eq!(Csv::fetch_cached_stats().entries, 0);
/// ```
///
/// A default method, a generic impl's fn or an impl of a generic trait mixes
/// which instantiation ran into its key on every call, as a fn of a generic
/// inherent impl does (tens of ns a hit). An `async fn` with
/// `companions = false` stays an `async fn`.
///
/// `companions = false` also suits a free fn or an inherent method whose
/// companion's name is taken (rustc's E0428, "the name `load_clear` is
/// defined multiple times").
pub use memo_macros::memo;

/// Caches one shared instance per distinct argument list.
///
/// `#[singleton] fn f(..) -> T` returns `Arc<T>` (a function that already
/// returns `Arc<T>` or `Result<Arc<T>, E>` keeps its type), and every caller
/// gets the same `Arc`. `T` must be `Send + Sync` but need not be `Clone`.
///
/// ```
/// use memo_runtime::singleton;
/// use std::sync::{Arc, Mutex};
///
/// struct Counter(Mutex<u32>);
///
/// #[singleton]
/// fn counter(name: &str) -> Counter {
///     Counter(Mutex::new(0))
/// }
///
/// *counter("a").0.lock().unwrap() += 1;
/// *counter("a").0.lock().unwrap() += 1;
/// assert_eq!(*counter("a").0.lock().unwrap(), 2);
/// assert!(!Arc::ptr_eq(&counter("a"), &counter("b")));
/// ```
///
/// Takes the same options as [`#[memo]`](macro@memo) except `persist` and
/// `max_disk_entries`, and works on `async fn` the same way (`async fn pool()
/// -> Pool` resolves to an `Arc<Pool>`). Also available as `cache_resource`
/// and `experimental_singleton`.
///
/// With `companions = false` it caches a trait's methods, one instance per
/// implementor ([trait methods](macro@memo#trait-methods)). A trait impl's
/// signature can't change, so there the trait declares `-> Arc<T>`, which
/// the fn keeps; on a default method, `-> T` becomes the trait's
/// `-> Arc<T>`.
///
/// ```
/// use memo_runtime::{singleton, StableHash};
/// use std::sync::Arc;
///
/// struct Pool {
///     url: String,
/// }
///
/// trait Database: StableHash {
///     fn url(&self) -> String;
///
///     fn pool(&self) -> Arc<Pool>;
///
///     #[singleton(companions = false)]
///     fn replica(&self) -> Pool {
///         Pool { url: format!("{}?replica", self.url()) }
///     }
/// }
///
/// #[derive(StableHash)]
/// struct Postgres;
///
/// impl Database for Postgres {
///     fn url(&self) -> String { "pg://db".into() }
///
///     #[singleton(companions = false)]
///     fn pool(&self) -> Arc<Pool> {
///         Arc::new(Pool { url: self.url() })
///     }
/// }
///
/// assert!(Arc::ptr_eq(&Postgres.pool(), &Postgres.pool()));
/// assert_eq!(Postgres.replica().url, "pg://db?replica");
/// ```
pub use memo_macros::singleton;

/// Derives [`StableHash`] for a struct or enum whose fields implement it.
///
/// ```
/// #[derive(memo_runtime::StableHash)]
/// enum Shape {
///     Circle { r: f64 },
///     Square(f64),
/// }
/// assert_ne!(
///     memo_runtime::digest_of(&Shape::Circle { r: 1.0 }),
///     memo_runtime::digest_of(&Shape::Square(1.0)),
/// );
/// ```
pub use memo_macros::StableHash;

/// Managing every `#[memo]` cache at once (Streamlit's `st.cache_data`).
///
/// ```
/// use memo_runtime::memo;
///
/// #[memo]
/// fn square(x: u64) -> u64 { x * x }
///
/// square(3);
/// assert!(memo::stats().iter().any(|(path, s)| path.ends_with("::square") && s.entries == 1));
/// memo::clear_all();
/// assert_eq!(square_stats().entries, 0);
/// ```
pub mod memo {
    use crate::info::Kind;
    use crate::registry;
    use crate::Stats;

    /// Drops the entries of every `#[memo]` function (Streamlit's
    /// `st.cache_data.clear()`), and deletes every entry in the disk cache
    /// ([`persist::dir`](crate::persist::dir)), also of functions not called
    /// in this process. Singletons are untouched.
    ///
    /// ```
    /// # memo_runtime::persist::set_dir(std::env::temp_dir().join("memo-doc-clear-all")).unwrap();
    /// use memo_runtime::memo;
    ///
    /// #[memo]
    /// fn one() -> u8 { 1 }
    ///
    /// one();
    /// memo::clear_all();
    /// assert_eq!(one_stats().entries, 0);
    /// ```
    pub fn clear_all() {
        registry::clear_kind(Kind::Memo);
        crate::persist::clear_all();
    }

    /// Counters of every `#[memo]` function that has been called, by path
    /// (`module::function`), sorted.
    ///
    /// ```
    /// use memo_runtime::memo;
    ///
    /// #[memo]
    /// fn listed() -> u8 { 1 }
    ///
    /// listed();
    /// let all = memo::stats();
    /// assert!(all.iter().any(|(path, s)| path.ends_with("::listed") && s.misses == 1));
    /// ```
    pub fn stats() -> Vec<(String, Stats)> {
        registry::stats_kind(Kind::Memo)
    }

    /// Sets hits, misses, evictions and disk hits of every `#[memo]`
    /// function back to zero (entries stay).
    ///
    /// ```
    /// use memo_runtime::memo;
    ///
    /// #[memo]
    /// fn counted(x: u8) -> u8 { x }
    ///
    /// counted(1);
    /// memo::reset_stats();
    /// let s = counted_stats();
    /// assert_eq!((s.misses, s.entries), (0, 1));
    /// ```
    pub fn reset_stats() {
        registry::reset_counters_kind(Kind::Memo);
    }
}

/// Managing every `#[singleton]` cache at once (Streamlit's `st.cache_resource`).
///
/// ```
/// use memo_runtime::singleton;
///
/// #[singleton]
/// fn client() -> String { "client".into() }
///
/// let first = client();
/// singleton::clear_all();
/// assert!(!std::sync::Arc::ptr_eq(&first, &client()), "a new instance");
/// ```
pub mod singleton {
    use crate::info::Kind;
    use crate::registry;
    use crate::Stats;

    /// Drops every `#[singleton]` instance (Streamlit's
    /// `st.cache_resource.clear()`). Callers that still hold an `Arc` keep
    /// their instance; the next call creates a new one. An instance is
    /// dropped once those `Arc`s are gone and every thread that hit it has
    /// made another cached call (of any function) or exited: each thread
    /// keeps a handle to what it hit recently until then, so an idle thread
    /// keeps the instance alive.
    ///
    /// ```
    /// use memo_runtime::singleton;
    /// use std::sync::Arc;
    ///
    /// #[singleton]
    /// fn client() -> String { "client".to_string() }
    ///
    /// let before = client();
    /// singleton::clear_all();
    /// assert!(!Arc::ptr_eq(&before, &client()));
    /// ```
    pub fn clear_all() {
        registry::clear_kind(Kind::Singleton);
    }

    /// Counters of every `#[singleton]` function that has been called.
    ///
    /// ```
    /// use memo_runtime::singleton;
    ///
    /// #[singleton]
    /// fn model() -> Vec<f32> { vec![0.5; 4] }
    ///
    /// model();
    /// assert!(singleton::stats().iter().any(|(p, _)| p.ends_with("::model")));
    /// ```
    pub fn stats() -> Vec<(String, Stats)> {
        registry::stats_kind(Kind::Singleton)
    }

    /// Sets the counters of every `#[singleton]` function back to zero.
    ///
    /// ```
    /// use memo_runtime::singleton;
    ///
    /// #[singleton]
    /// fn shared() -> u8 { 1 }
    ///
    /// shared();
    /// shared();
    /// singleton::reset_stats();
    /// assert_eq!(shared_stats().hits, 0);
    /// ```
    pub fn reset_stats() {
        registry::reset_counters_kind(Kind::Singleton);
    }
}

/// Streamlit's name for [`memo`](macro@memo): `#[cache_data]`, and
/// `cache_data::clear_all()`.
///
/// ```
/// # memo_runtime::persist::set_dir(std::env::temp_dir().join("memo-doc-cache-data")).unwrap();
/// use memo_runtime::cache_data;
///
/// #[cache_data(ttl = "1h")]
/// fn load(n: u32) -> Vec<u32> { (0..n).collect() }
///
/// assert_eq!(load(3), vec![0, 1, 2]);
/// cache_data::clear_all();
/// ```
pub use memo_macros::cache_data;

/// [`memo`](mod@memo) under Streamlit's name: `cache_data::clear_all()`.
///
/// ```
/// use memo_runtime::cache_data;
///
/// #[cache_data]
/// fn rows(n: usize) -> Vec<usize> { (0..n).collect() }
///
/// rows(2);
/// cache_data::clear_all();
/// assert_eq!(rows_stats().entries, 0);
/// ```
pub mod cache_data {
    pub use crate::memo::{clear_all, reset_stats, stats};
}

/// Streamlit's older name for [`memo`](macro@memo).
///
/// ```
/// #[memo_runtime::experimental_memo]
/// fn f(x: u8) -> u8 { x }
/// assert_eq!(f(1), 1);
/// ```
pub use memo_macros::experimental_memo;

/// Streamlit's name for [`singleton`](macro@singleton): `#[cache_resource]`,
/// and `cache_resource::clear_all()`.
///
/// ```
/// use memo_runtime::cache_resource;
///
/// #[cache_resource]
/// fn connection() -> String { "conn".into() }
///
/// assert_eq!(*connection(), "conn");
/// cache_resource::clear_all();
/// ```
pub use memo_macros::cache_resource;

/// [`singleton`](mod@singleton) under Streamlit's name:
/// `cache_resource::clear_all()`.
///
/// ```
/// use memo_runtime::cache_resource;
///
/// #[cache_resource]
/// fn model() -> Vec<f32> { vec![0.5; 4] }
///
/// model();
/// cache_resource::clear_all();
/// assert_eq!(model_stats().entries, 0);
/// ```
pub mod cache_resource {
    pub use crate::singleton::{clear_all, reset_stats, stats};
}

/// Streamlit's older name for [`singleton`](macro@singleton).
///
/// ```
/// #[memo_runtime::experimental_singleton]
/// fn f() -> u8 { 1 }
/// assert_eq!(*f(), 1);
/// ```
pub use memo_macros::experimental_singleton;
