//! Every form of the macros, with the runtime known as `memo`.

// `::memo`, not `memo`: this use brings the runtime's own `memo` module in
// under the same name, and a plain `memo::` path would then mean that.
use ::memo::{memo, singleton, StableHash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(StableHash, Clone, Copy)]
#[stable_hash(crate = "memo")]
struct Point {
    x: i64,
    y: i64,
}

#[derive(StableHash)]
#[stable_hash(crate = "memo")]
enum Shape<T> {
    Dot(T),
    Line { from: T, to: T },
}

static AREA_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memo(crate = "memo", ttl = "60s", max_entries = 10, show_spinner = false)]
fn area(p: Point, _note: &str) -> i64 {
    AREA_RUNS.fetch_add(1, Ordering::SeqCst);
    p.x * p.y
}

#[test]
fn memo_with_a_derived_key_type() {
    assert_eq!(area(Point { x: 3, y: 4 }, "a"), 12);
    assert_eq!(area(Point { x: 3, y: 4 }, "b"), 12);
    assert_eq!(AREA_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(area(Point { x: 4, y: 3 }, "a"), 12);
    assert_eq!(AREA_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(area_stats().entries, 2);
    area_forget(Point { x: 3, y: 4 }, "ignored");
    area_clear();
    assert_eq!(area_stats().entries, 0);
}

#[test]
fn generic_derive_keys_by_value() {
    let a = ::memo::digest_of(&Shape::Dot(1u8));
    assert_eq!(a, ::memo::digest_of(&Shape::Dot(1u8)));
    assert_ne!(a, ::memo::digest_of(&Shape::Line { from: 1u8, to: 1 }));
}

static LEN_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memo(crate = "memo", hash(data = ptr, label = |l: &str| l.len()))]
fn len(data: &[u8], label: &str) -> usize {
    LEN_RUNS.fetch_add(1, Ordering::SeqCst);
    data.len() + label.len()
}

#[test]
fn hash_overrides() {
    let bytes = vec![1u8, 2, 3];
    assert_eq!(len(&bytes, "ab"), 5);
    assert_eq!(len(&bytes, "cd"), 5);
    assert_eq!(LEN_RUNS.load(Ordering::SeqCst), 1);
    assert_eq!(len(&bytes[..2], "cd"), 4);
    assert_eq!(LEN_RUNS.load(Ordering::SeqCst), 2);
}

struct Pool(String);

#[singleton(crate = "memo")]
fn pool(url: &str) -> Pool {
    Pool(url.to_owned())
}

#[singleton(crate = "memo")]
fn checked(url: &str) -> Result<Pool, String> {
    if url.is_empty() {
        return Err("empty".into());
    }
    Ok(Pool(url.to_owned()))
}

#[test]
fn singletons() {
    assert!(Arc::ptr_eq(&pool("db"), &pool("db")));
    assert_eq!(pool("db").0, "db");
    assert!(checked("").is_err());
    assert!(Arc::ptr_eq(&checked("x").unwrap(), &checked("x").unwrap()));
}

struct Table {
    rows: Vec<i64>,
}

impl Table {
    #[memo(crate = "memo", hash(self = ignore))]
    fn total(&self, scale: i64) -> i64 {
        self.rows.iter().sum::<i64>() * scale
    }

    #[memo(crate = "memo")]
    fn make<T: StableHash + Clone + Send + Sync + 'static>(v: T) -> Vec<T> {
        vec![v.clone(), v]
    }
}

#[test]
fn methods_and_generic_instantiations() {
    let t = Table {
        rows: vec![1, 2, 3],
    };
    assert_eq!(t.total(2), 12);
    assert_eq!(Table { rows: vec![] }.total(2), 12, "self is ignored");
    assert_eq!(Table::make(1u8), vec![1u8, 1]);
    assert_eq!(Table::make("a"), vec!["a", "a"]);
}

#[memo(crate = "memo")]
async fn double(x: u32) -> u32 {
    x * 2
}

#[singleton(crate = "memo")]
async fn client(name: &str) -> String {
    name.to_uppercase()
}

#[test]
fn async_fns() {
    futures::executor::block_on(async {
        assert_eq!(double(21).await, 42);
        assert_eq!(double(21).await, 42);
        assert_eq!(*client("x").await, "X");
        assert!(Arc::ptr_eq(&client("x").await, &client("x").await));
    });
}

static SAVED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[memo(crate = "memo", persist = "disk", max_disk_entries = 5)]
fn saved(n: u32) -> Vec<u32> {
    SAVED_RUNS.fetch_add(1, Ordering::SeqCst);
    (0..n).collect()
}

#[test]
fn persisted() {
    let dir = std::env::temp_dir().join(format!("memo-renamed-{}", std::process::id()));
    ::memo::persist::set_dir(&dir).unwrap();
    assert_eq!(saved(3), vec![0, 1, 2]);
    saved_clear(); // memory and disk
    assert_eq!(saved(3), vec![0, 1, 2]);
    assert_eq!(SAVED_RUNS.load(Ordering::SeqCst), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
