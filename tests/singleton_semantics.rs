//! What a `#[singleton]` caller sees: one shared `Arc` per key, `Result`
//! handling, and functions that already return `Arc`.

use memo_runtime::singleton;
use memo_suite::Runs;
use std::sync::{Arc, Mutex};

struct Model {
    weights: Vec<f32>,
    calls: Mutex<u32>,
}

static MODEL_RUNS: Runs = Runs::new();

/// Not `Clone`, not `Serialize`: a singleton only needs `Send + Sync`.
#[singleton]
fn load_model(size: usize) -> Model {
    MODEL_RUNS.hit();
    Model {
        weights: vec![0.5; size],
        calls: Mutex::new(0),
    }
}

#[test]
fn callers_share_one_instance_and_see_each_others_changes() {
    let a = load_model(4);
    *a.calls.lock().unwrap() += 1;
    let b = load_model(4);
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(*b.calls.lock().unwrap(), 1);
    assert_eq!(b.weights.len(), 4);
    assert_eq!(MODEL_RUNS.get(), 1);
}

static CONNECT_RUNS: Runs = Runs::new();

#[singleton]
fn connect(url: &str) -> Result<String, String> {
    CONNECT_RUNS.hit();
    if url.starts_with("db://") {
        Ok(format!("connected to {url}"))
    } else {
        Err(format!("bad url {url}"))
    }
}

#[test]
fn only_ok_instances_are_kept() {
    assert!(connect("nope").is_err());
    assert!(connect("nope").is_err());
    assert_eq!(CONNECT_RUNS.get(), 2);
    let a: Arc<String> = connect("db://x").unwrap();
    let b = connect("db://x").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(CONNECT_RUNS.get(), 3);
}

trait Greeter: Send + Sync {
    fn hi(&self) -> String;
}
struct En;
impl Greeter for En {
    fn hi(&self) -> String {
        "hi".into()
    }
}

#[singleton]
fn greeter() -> Arc<dyn Greeter> {
    Arc::new(En)
}

#[singleton]
fn shared_numbers() -> Result<Arc<Vec<u8>>, std::io::Error> {
    Ok(Arc::new(vec![1, 2, 3]))
}

#[test]
fn a_function_returning_arc_keeps_its_type() {
    let g: Arc<dyn Greeter> = greeter();
    assert!(Arc::ptr_eq(&g, &greeter()));
    assert_eq!(g.hi(), "hi");
    let n: Arc<Vec<u8>> = shared_numbers().unwrap();
    assert!(Arc::ptr_eq(&n, &shared_numbers().unwrap()));
}

static CLEAR_RUNS: Runs = Runs::new();

#[singleton(max_entries = 1)]
fn client(name: &str) -> String {
    CLEAR_RUNS.hit();
    name.to_string()
}

#[test]
fn clearing_makes_new_instances_and_holders_keep_old_ones() {
    let old = client("a");
    client_clear();
    let new = client("a");
    assert!(!Arc::ptr_eq(&old, &new));
    assert_eq!(*old, "a", "a caller holding the old instance still has it");
    client("b"); // max_entries = 1 drops "a"
    client("a");
    assert_eq!(CLEAR_RUNS.get(), 4);
    assert!(client_forget("a"));
    assert_eq!(client_stats().entries, 0);
}
