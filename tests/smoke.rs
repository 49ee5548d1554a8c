use memo_runtime::{memo, singleton};
use memo_suite::Runs;
use std::sync::Arc;

static RUNS: Runs = Runs::new();

#[memo]
fn add(a: u64, b: u64) -> u64 {
    RUNS.hit();
    a + b
}

#[memo]
fn factorial(n: u64) -> u64 {
    if n < 1 {
        1
    } else {
        n * factorial(n - 1)
    }
}

struct Pool(String);

#[singleton]
fn pool(url: &str) -> Pool {
    Pool(url.to_string())
}

#[test]
fn smoke() {
    assert_eq!(add(1, 2), 3);
    assert_eq!(add(1, 2), 3);
    assert_eq!(RUNS.get(), 1);
    assert_eq!(factorial(10), 3628800);
    assert_eq!(factorial(9), 362880);
    assert_eq!(factorial_stats().misses, 11);
    assert!(Arc::ptr_eq(&pool("a"), &pool("a")));
    assert_eq!(pool("a").0, "a");
}
