//! `memo::clear_all()` / `singleton::clear_all()` and the Streamlit-named
//! aliases. In its own test binary: clearing everything would disturb tests
//! running beside it.

use memo_runtime::{cache_data, cache_resource, memo, singleton};
use memo_suite::Runs;
use std::sync::Arc;

static DATA_RUNS: Runs = Runs::new();
static RESOURCE_RUNS: Runs = Runs::new();
static OLD_NAMES: Runs = Runs::new();

#[cache_data(ttl = "1h")]
fn data(x: u32) -> u32 {
    DATA_RUNS.hit();
    x
}

#[memo]
fn more_data(x: u32) -> u32 {
    x
}

#[cache_resource]
fn resource() -> String {
    RESOURCE_RUNS.hit();
    "r".into()
}

#[memo_runtime::experimental_memo]
fn old_memo(x: u32) -> u32 {
    OLD_NAMES.hit();
    x
}

#[memo_runtime::experimental_singleton]
fn old_singleton() -> u32 {
    OLD_NAMES.hit();
    1
}

#[test]
fn clear_all_clears_one_kind_and_every_function_of_it() {
    // `memo::clear_all` also empties the disk cache: not the developer's.
    let dir = std::env::temp_dir().join(format!("memo-clear-all-{}", std::process::id()));
    memo_runtime::persist::set_dir(dir).unwrap();
    data(1);
    more_data(1);
    old_memo(1);
    let r = resource();
    let s = old_singleton();
    assert_eq!(OLD_NAMES.get(), 2);

    memo::clear_all();
    assert_eq!(data_stats().entries, 0);
    assert_eq!(more_data_stats().entries, 0);
    assert!(
        Arc::ptr_eq(&r, &resource()),
        "singletons survive memo::clear_all"
    );
    data(1);
    old_memo(1);
    assert_eq!(DATA_RUNS.get(), 2);
    assert_eq!(OLD_NAMES.get(), 3);

    let listed = memo::stats();
    assert!(listed
        .iter()
        .any(|(p, s)| p == "clear_all::data" && s.misses == 2));
    assert!(singleton::stats()
        .iter()
        .any(|(p, _)| p == "clear_all::resource"));

    cache_resource::clear_all();
    assert!(!Arc::ptr_eq(&r, &resource()));
    assert!(!Arc::ptr_eq(&s, &old_singleton()));
    assert_eq!(RESOURCE_RUNS.get(), 2);
    assert_eq!(
        data_stats().entries,
        1,
        "memo entries survive singleton::clear_all"
    );

    cache_data::clear_all();
    assert_eq!(data_stats().entries, 0);

    memo::reset_stats();
    assert_eq!(data_stats().misses, 0);
}
