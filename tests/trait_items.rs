//! `#[memo]` and `#[singleton]` on trait items, with `companions = false`:
//! methods of trait impls (generic impls, impls of a generic trait, `async
//! fn`s) and a trait's default methods. Each implementor gets its own values,
//! even when the `self`s of two implementors hash equal, also through `dyn`;
//! persisted ones keep their own files; the whole-cache functions reach them.
//! `deny(warnings)`: none of it may warn, `async fn`s in trait impls included.
#![deny(warnings)]

mod persist_support;

use memo_runtime::{digest_of, memo, singleton, StableHash};
use memo_suite::Runs;
use persist_support::*;
use std::future::Future;
use std::sync::Arc;

/// Two sources whose `self`s hash equal: `derive(StableHash)` writes the
/// type's name without its module, then the fields.
mod csv {
    #[derive(memo_runtime::StableHash)]
    pub struct Source {
        pub root: String,
    }
}

mod json {
    #[derive(memo_runtime::StableHash)]
    pub struct Source {
        pub root: String,
    }
}

fn sources() -> (csv::Source, json::Source) {
    let csv = csv::Source {
        root: "/data".into(),
    };
    let json = json::Source {
        root: "/data".into(),
    };
    // What the tests below are about: equal hashes of `self`.
    assert_eq!(digest_of(&csv), digest_of(&json));
    (csv, json)
}

// ---- a trait impl's methods ---------------------------------------------------

trait DataSource {
    fn fetch(&self, url: &str) -> Vec<String>;
    fn format() -> String
    where
        Self: Sized;
}

static FETCHED: Runs = Runs::new();

impl DataSource for csv::Source {
    #[memo(companions = false)]
    fn fetch(&self, url: &str) -> Vec<String> {
        FETCHED.hit();
        vec![format!("csv:{}/{url}", self.root)]
    }

    #[memo(companions = false)]
    fn format() -> String {
        "csv".into()
    }
}

impl DataSource for json::Source {
    #[memo(companions = false)]
    fn fetch(&self, url: &str) -> Vec<String> {
        FETCHED.hit();
        vec![format!("json:{}/{url}", self.root)]
    }

    #[memo(companions = false)]
    fn format() -> String {
        "json".into()
    }
}

#[test]
fn trait_impl_methods_of_equal_selves_keep_their_own_values() {
    let (csv, json) = sources();
    assert_eq!(csv.fetch("a"), ["csv:/data/a"]);
    assert_eq!(json.fetch("a"), ["json:/data/a"]);
    assert_eq!(csv.fetch("a"), ["csv:/data/a"]);
    assert_eq!(json.fetch("a"), ["json:/data/a"]);
    assert_eq!(FETCHED.get(), 2, "each ran once, then hit");
    assert_eq!(csv::Source::format(), "csv");
    assert_eq!(json::Source::format(), "json");
    assert_eq!(csv::Source::format(), "csv");

    // Through trait objects: the same entries.
    let all: [&dyn DataSource; 2] = [&csv, &json];
    let got: Vec<Vec<String>> = all.iter().map(|s| s.fetch("a")).collect();
    assert_eq!(got, [["csv:/data/a"], ["json:/data/a"]]);
    assert_eq!(FETCHED.get(), 2);
}

// ---- a trait's default methods ------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Config {
    name: String,
}

trait Loader: StableHash {
    fn prefix(&self) -> String;

    fn name() -> &'static str
    where
        Self: Sized;

    #[memo(companions = false)]
    fn load(&self, n: u32) -> String {
        LOADED.hit();
        format!("{}{n}", self.prefix())
    }

    #[memo(companions = false)]
    fn config() -> Config
    where
        Self: Sized,
    {
        CONFIGURED.hit();
        Config {
            name: Self::name().to_string(),
        }
    }

    #[memo(companions = false, hash(self = ignore))]
    fn label(&self) -> String {
        self.prefix().to_uppercase()
    }
}

static LOADED: Runs = Runs::new();
static CONFIGURED: Runs = Runs::new();

impl Loader for csv::Source {
    fn prefix(&self) -> String {
        "csv".into()
    }
    fn name() -> &'static str {
        "csv config"
    }
}

impl Loader for json::Source {
    fn prefix(&self) -> String {
        "json".into()
    }
    fn name() -> &'static str {
        "json config"
    }
}

#[test]
fn a_default_method_keys_each_implementor_apart() {
    let (csv, json) = sources();
    assert_eq!(csv.load(1), "csv1");
    assert_eq!(json.load(1), "json1");
    assert_eq!(csv.load(1), "csv1");
    assert_eq!(json.load(1), "json1");
    assert_eq!(LOADED.get(), 2);

    // Without a receiver: the implementor is all that differs.
    assert_eq!(csv::Source::config().name, "csv config");
    assert_eq!(json::Source::config().name, "json config");
    assert_eq!(csv::Source::config().name, "csv config");
    assert_eq!(json::Source::config().name, "json config");
    assert_eq!(CONFIGURED.get(), 2);

    // `self` left out of the key: still one entry per implementor.
    assert_eq!(csv.label(), "CSV");
    assert_eq!(json.label(), "JSON");

    // A default method called through a trait object runs the implementor's
    // instance of it, and finds the same entries.
    let all: Vec<Box<dyn Loader>> = vec![
        Box::new(json::Source {
            root: "/data".into(),
        }),
        Box::new(csv::Source {
            root: "/data".into(),
        }),
    ];
    let got: Vec<String> = all.iter().map(|l| l.load(1)).collect();
    assert_eq!(got, ["json1", "csv1"]);
    let labels: Vec<String> = all.iter().map(|l| l.label()).collect();
    assert_eq!(labels, ["JSON", "CSV"]);
    assert_eq!(LOADED.get(), 2);
}

// ---- singletons ---------------------------------------------------------------

#[derive(Debug)]
struct Pool {
    url: String,
}

trait Pools: StableHash {
    fn url(&self) -> String;

    fn kind() -> &'static str
    where
        Self: Sized;

    /// A trait impl's signature can't change: the trait says `Arc`.
    fn pool(&self) -> Arc<Pool>;

    /// A default method may say `Pool`: the attribute makes the trait's
    /// method return `Arc<Pool>`.
    #[singleton(companions = false)]
    fn shared(&self) -> Pool {
        Pool { url: self.url() }
    }

    #[singleton(companions = false)]
    fn registry() -> Pool
    where
        Self: Sized,
    {
        Pool {
            url: Self::kind().into(),
        }
    }
}

impl Pools for csv::Source {
    fn url(&self) -> String {
        "csv://".into()
    }
    fn kind() -> &'static str {
        "csv"
    }
    #[singleton(companions = false)]
    fn pool(&self) -> Arc<Pool> {
        Arc::new(Pool {
            url: format!("csv://{}", self.root),
        })
    }
}

impl Pools for json::Source {
    fn url(&self) -> String {
        "json://".into()
    }
    fn kind() -> &'static str {
        "json"
    }
    #[singleton(companions = false)]
    fn pool(&self) -> Arc<Pool> {
        Arc::new(Pool {
            url: format!("json://{}", self.root),
        })
    }
}

#[test]
fn singletons_in_trait_items_are_one_per_implementor() {
    let (csv, json) = sources();
    assert!(Arc::ptr_eq(&csv.pool(), &csv.pool()));
    assert_eq!(csv.pool().url, "csv:///data");
    assert_eq!(json.pool().url, "json:///data");
    assert!(Arc::ptr_eq(&json.shared(), &json.shared()));
    assert_eq!(csv.shared().url, "csv://");
    assert_eq!(json.shared().url, "json://");
    assert_eq!(csv::Source::registry().url, "csv");
    assert_eq!(json::Source::registry().url, "json");
    assert!(Arc::ptr_eq(
        &json::Source::registry(),
        &json::Source::registry()
    ));
    let dynamic: &dyn Pools = &json;
    assert!(Arc::ptr_eq(&dynamic.shared(), &json.shared()));
    assert!(Arc::ptr_eq(&dynamic.pool(), &json.pool()));
}

// ---- generic impls and generic traits -----------------------------------------

trait Named {
    const NAME: &'static str;
}

#[derive(StableHash)]
struct Apple;
#[derive(StableHash)]
struct Pear;

impl Named for Apple {
    const NAME: &'static str = "apple";
}
impl Named for Pear {
    const NAME: &'static str = "pear";
}

#[derive(StableHash)]
struct Wrapper<T>(T);

trait Describe {
    fn describe(&self) -> String;
    fn kind() -> String;
}

impl<T: Named + StableHash> Describe for Wrapper<T> {
    #[memo(companions = false)]
    fn describe(&self) -> String {
        format!("a wrapped {}", T::NAME)
    }

    #[memo(companions = false)]
    fn kind() -> String {
        T::NAME.to_uppercase()
    }
}

/// One type, two instantiations of a generic trait: `Self` is the same.
#[derive(StableHash)]
struct Unit;

trait Convert<T> {
    fn convert(&self, n: u32) -> String;
}

impl<T: Named> Convert<T> for Unit {
    #[memo(companions = false)]
    fn convert(&self, n: u32) -> String {
        format!("{n} {}", T::NAME)
    }
}

trait Tagged<T: Named>: StableHash {
    #[memo(companions = false)]
    fn tag(&self) -> String {
        format!("#{}", T::NAME)
    }

    #[singleton(companions = false)]
    fn basket(&self) -> Vec<&'static str> {
        vec![T::NAME]
    }
}

impl Tagged<Apple> for Unit {}
impl Tagged<Pear> for Unit {}

#[test]
fn generic_impls_and_generic_traits_key_each_instantiation_apart() {
    assert_eq!(Wrapper(Apple).describe(), "a wrapped apple");
    assert_eq!(Wrapper(Pear).describe(), "a wrapped pear");
    assert_eq!(Wrapper::<Apple>::kind(), "APPLE");
    assert_eq!(Wrapper::<Pear>::kind(), "PEAR");
    assert_eq!(Wrapper::<Apple>::kind(), "APPLE");

    assert_eq!(<Unit as Convert<Apple>>::convert(&Unit, 2), "2 apple");
    assert_eq!(<Unit as Convert<Pear>>::convert(&Unit, 2), "2 pear");
    assert_eq!(<Unit as Convert<Apple>>::convert(&Unit, 2), "2 apple");
    let dynamic: &dyn Convert<Pear> = &Unit;
    assert_eq!(dynamic.convert(2), "2 pear");

    assert_eq!(<Unit as Tagged<Apple>>::tag(&Unit), "#apple");
    assert_eq!(<Unit as Tagged<Pear>>::tag(&Unit), "#pear");
    assert_eq!(<Unit as Tagged<Apple>>::tag(&Unit), "#apple");
    assert_eq!(*<Unit as Tagged<Pear>>::basket(&Unit), ["pear"]);
    assert_eq!(*<Unit as Tagged<Apple>>::basket(&Unit), ["apple"]);
}

// ---- async fn -----------------------------------------------------------------

trait Fetch: StableHash {
    async fn get(&self, url: &str) -> String;

    async fn head(url: &str) -> String;

    /// A trait may ask for a `Send` future; an `async fn` in the impl gives
    /// one when its body's is.
    fn sent(&self, n: u32) -> impl Future<Output = u32> + Send;

    #[memo(companions = false)]
    async fn twice(&self, n: u32) -> String {
        ASYNC_RAN.hit();
        format!("{}{}", self.get("x").await, n * 2)
    }
}

static ASYNC_RAN: Runs = Runs::new();

impl Fetch for csv::Source {
    #[memo(companions = false)]
    async fn get(&self, url: &str) -> String {
        ASYNC_RAN.hit();
        format!("csv {url}")
    }

    #[memo(companions = false)]
    async fn head(url: &str) -> String {
        ASYNC_RAN.hit();
        format!("csv head {url}")
    }

    #[memo(companions = false)]
    async fn sent(&self, n: u32) -> u32 {
        ASYNC_RAN.hit();
        n + 1
    }
}

impl Fetch for json::Source {
    #[memo(companions = false)]
    async fn get(&self, url: &str) -> String {
        ASYNC_RAN.hit();
        format!("json {url}")
    }

    #[memo(companions = false)]
    async fn head(url: &str) -> String {
        ASYNC_RAN.hit();
        format!("json head {url}")
    }

    #[memo(companions = false)]
    async fn sent(&self, n: u32) -> u32 {
        ASYNC_RAN.hit();
        n + 2
    }
}

fn is_send<F: Future + Send>(f: F) -> F {
    f
}

#[test]
fn async_fns_in_trait_impls_are_cached() {
    let (csv, json) = sources();
    futures::executor::block_on(async {
        for _ in 0..2 {
            assert_eq!(csv.get("a").await, "csv a");
            assert_eq!(json.get("a").await, "json a");
            assert_eq!(csv::Source::head("a").await, "csv head a");
            assert_eq!(json::Source::head("a").await, "json head a");
            assert_eq!(is_send(csv.sent(1)).await, 2);
            assert_eq!(is_send(json.sent(1)).await, 3);
            assert_eq!(csv.twice(2).await, "csv x4");
            assert_eq!(json.twice(2).await, "json x4");
        }
    });
    // get("a") ×2, head ×2, sent ×2, twice ×2 and the get("x") each runs.
    assert_eq!(ASYNC_RAN.get(), 10);
}

// ---- a name a companion would take --------------------------------------------

/// Would clash with `summary`'s `summary_clear` (rustc's E0428).
fn summary_clear() -> &'static str {
    "mine"
}

#[memo(companions = false)]
fn summary(x: u32) -> u32 {
    x + 1
}

impl Unit {
    fn size_stats(&self) -> &'static str {
        "mine"
    }

    #[memo(companions = false)]
    fn size(&self) -> usize {
        3
    }
}

#[memo(companions = true)]
fn with_companions(x: u32) -> u32 {
    x * 3
}

#[test]
fn companions_false_leaves_a_taken_name_alone() {
    assert_eq!(summary(1), 2);
    assert_eq!(summary_clear(), "mine");
    assert_eq!(Unit.size(), 3);
    assert_eq!(Unit.size_stats(), "mine");
    // `true` is the default, written out.
    assert_eq!(with_companions(2), 6);
    assert_eq!(with_companions_stats().misses, 1);
    with_companions_clear();
}

// ---- clearing one trait impl's fn ---------------------------------------------

trait Prices {
    fn price(&self, day: u32) -> f64;
}

static PRICED: Runs = Runs::new();

/// The cached body in an inherent method, which has companions; the trait
/// impl calls it.
impl csv::Source {
    #[memo]
    fn price_cached(&self, day: u32) -> f64 {
        PRICED.hit();
        f64::from(day) * 1.5
    }
}

impl Prices for csv::Source {
    fn price(&self, day: u32) -> f64 {
        self.price_cached(day)
    }
}

#[test]
fn one_trait_impl_fn_is_cleared_through_an_inherent_method() {
    let (csv, _) = sources();
    assert_eq!(csv.price(2), 3.0);
    assert_eq!(csv.price(2), 3.0);
    assert_eq!(PRICED.get(), 1);
    csv::Source::price_cached_clear();
    assert_eq!(csv.price(2), 3.0);
    assert_eq!(PRICED.get(), 2);
}

// ---- in child processes: disk, and the whole-cache functions ------------------

trait Rows: StableHash {
    fn rows(&self, n: u64) -> u64;

    fn offset(&self) -> u64;

    #[memo(companions = false, persist = "disk")]
    fn total(&self, n: u64) -> u64 {
        DISK_RAN.hit();
        n + self.offset() * 10
    }
}

static DISK_RAN: Runs = Runs::new();

impl Rows for csv::Source {
    #[memo(companions = false, persist = "disk")]
    fn rows(&self, n: u64) -> u64 {
        DISK_RAN.hit();
        n + 1
    }
    fn offset(&self) -> u64 {
        1
    }
}

impl Rows for json::Source {
    #[memo(companions = false, persist = "disk")]
    fn rows(&self, n: u64) -> u64 {
        DISK_RAN.hit();
        n + 1000
    }
    fn offset(&self) -> u64 {
        1000
    }
}

#[test]
fn child() {
    let Some(role) = role() else { return };
    log_warnings();
    let (csv, json) = sources();
    for step in role.split(';') {
        match step {
            "csv" => {
                report("csv", csv.rows(1));
                report("csv_total", csv.total(1));
            }
            "json" => {
                report("json", json.rows(1));
                report("json_total", json.total(1));
            }
            "whole" => whole_cache_functions(&csv, &json),
            other => panic!("unknown step {other}"),
        }
    }
    report("ran", DISK_RAN.get());
}

#[test]
fn persisted_trait_items_keep_their_own_files() {
    let dir = fresh_dir("trait-items");
    let go = |steps: &str| {
        let r = run(child_cmd("child", steps, &dir));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        r
    };
    // One implementor per process: the second's first write must not take
    // the first's directory for an old version of its own and sweep it.
    let r = go("csv");
    assert_eq!(
        (r.get("csv"), r.get("csv_total"), r.get("ran")),
        ("2", "11", "2")
    );
    let r = go("json");
    assert_eq!(
        (r.get("json"), r.get("json_total"), r.get("ran")),
        ("1001", "10001", "2")
    );
    // Both from disk, each its own value.
    let r = go("csv;json");
    assert_eq!(
        (r.get("csv"), r.get("json"), r.get("ran")),
        ("2", "1001", "0")
    );
    assert_eq!((r.get("csv_total"), r.get("json_total")), ("11", "10001"));

    let mut listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .flat_map(|g| std::fs::read_dir(g.path()).unwrap().flatten())
        .map(|f| std::fs::read_to_string(f.path().join("function")).unwrap())
        .map(|m| m.lines().next().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "<trait_items::csv::Source as trait_items::Rows>::rows",
            "<trait_items::json::Source as trait_items::Rows>::rows",
            "trait_items::Rows::total",
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// In a child process of its own, since `clear_all` clears every cache of
/// the process.
fn whole_cache_functions(csv: &csv::Source, json: &json::Source) {
    csv.fetch("w");
    json.fetch("w");
    csv.load(7);
    let before = FETCHED.get();
    let paths: Vec<String> = memo_runtime::memo::stats()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    for p in [
        "<trait_items::csv::Source as trait_items::DataSource>::fetch",
        "<trait_items::json::Source as trait_items::DataSource>::fetch",
        "trait_items::Loader::load",
    ] {
        assert!(paths.iter().any(|l| l == p), "{p} not in {paths:?}");
    }
    let (_, s) = memo_runtime::memo::stats()
        .into_iter()
        .find(|(p, _)| p == "<trait_items::csv::Source as trait_items::DataSource>::fetch")
        .unwrap();
    assert_eq!((s.misses, s.entries), (1, 1));
    csv.fetch("w");
    json.fetch("w");
    assert_eq!(FETCHED.get(), before);
    memo_runtime::memo::clear_all();
    csv.fetch("w");
    json.fetch("w");
    assert_eq!(FETCHED.get(), before + 2);

    let pool = csv.pool();
    let shared = json.shared();
    let singletons: Vec<String> = memo_runtime::singleton::stats()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(
        singletons
            .iter()
            .any(|p| p == "<trait_items::csv::Source as trait_items::Pools>::pool"),
        "{singletons:?}"
    );
    assert!(
        singletons.iter().any(|p| p == "trait_items::Pools::shared"),
        "{singletons:?}"
    );
    assert!(Arc::ptr_eq(&pool, &csv.pool()));
    memo_runtime::singleton::clear_all();
    assert!(!Arc::ptr_eq(&pool, &csv.pool()));
    assert!(!Arc::ptr_eq(&shared, &json.shared()));
    report("whole", "ok");
}

#[test]
fn whole_cache_functions_reach_trait_items() {
    let dir = fresh_dir("trait-items-whole");
    let r = run(child_cmd("child", "whole", &dir));
    assert_eq!(r.get("whole"), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}
