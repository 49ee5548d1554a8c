//! What a `#[memo]` caller sees: copies, `Result`, panics, ttl, LRU bounds,
//! and the per-function companions.

use memo_runtime::memo;
use memo_suite::Runs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::sleep;
use std::time::Duration;

static LOAD_RUNS: Runs = Runs::new();

#[memo]
fn load(n: usize) -> Vec<u32> {
    LOAD_RUNS.hit();
    (0..n as u32).collect()
}

#[test]
fn each_caller_gets_its_own_copy() {
    let mut first = load(3);
    first.push(99);
    first[0] = 42;
    assert_eq!(
        load(3),
        vec![0, 1, 2],
        "mutating a returned value never touches the cache"
    );
    assert_eq!(LOAD_RUNS.get(), 1);
}

struct Conn(&'static str);

static PAGE_RUNS: Runs = Runs::new();

#[memo]
fn get_page(_session: &Conn, page_size: u32, page: u32) -> Vec<u32> {
    PAGE_RUNS.hit();
    let _ = _session.0;
    (page * page_size..(page + 1) * page_size).collect()
}

#[test]
fn underscore_params_are_not_hashed_and_need_no_trait() {
    assert_eq!(get_page(&Conn("a"), 2, 1), vec![2, 3]);
    assert_eq!(get_page(&Conn("b"), 2, 1), vec![2, 3]);
    assert_eq!(PAGE_RUNS.get(), 1);
    assert_eq!(get_page(&Conn("a"), 2, 2), vec![4, 5]);
    assert_eq!(PAGE_RUNS.get(), 2);
    // Forgetting takes the call's arguments, `_` ones included and ignored.
    assert!(get_page_forget(&Conn("zzz"), 2, 1));
    get_page(&Conn("a"), 2, 1);
    assert_eq!(PAGE_RUNS.get(), 3);
}

static PARSE_RUNS: Runs = Runs::new();

#[memo]
fn parse(s: &str) -> Result<u32, String> {
    PARSE_RUNS.hit();
    s.parse().map_err(|_| format!("not a number: {s}"))
}

type MyResult<T> = Result<T, std::num::ParseIntError>;

static ALIAS_RUNS: Runs = Runs::new();

#[memo]
fn parse_alias(s: &str) -> MyResult<u32> {
    ALIAS_RUNS.hit();
    s.parse()
}

#[test]
fn only_ok_is_cached() {
    assert_eq!(parse("x"), Err("not a number: x".to_string()));
    assert_eq!(parse("x"), Err("not a number: x".to_string()));
    assert_eq!(PARSE_RUNS.get(), 2, "an Err is returned, not cached");
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(PARSE_RUNS.get(), 3);
    let s = parse_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 3, 1));

    // A type alias of Result is recognised by its type, not its name.
    assert!(parse_alias("x").is_err());
    assert!(parse_alias("x").is_err());
    assert_eq!(ALIAS_RUNS.get(), 2);
}

static FLAKY_RUNS: Runs = Runs::new();

#[memo]
fn flaky(x: u32) -> u32 {
    FLAKY_RUNS.hit();
    if FLAKY_RUNS.get() == 1 {
        panic!("first attempt fails");
    }
    x * 10
}

#[test]
fn a_panic_caches_nothing_and_wedges_nothing() {
    let caught = catch_unwind(|| flaky(4));
    assert!(caught.is_err());
    assert_eq!(flaky_stats().entries, 0);
    assert_eq!(flaky(4), 40, "the next call recomputes");
    assert_eq!(flaky(4), 40);
    assert_eq!(FLAKY_RUNS.get(), 2);
}

static TTL_RUNS: Runs = Runs::new();

#[memo(ttl = "150ms")]
fn fresh(x: u32) -> u32 {
    TTL_RUNS.hit();
    x
}

static TTL_EXPR_RUNS: Runs = Runs::new();

#[memo(ttl = Duration::from_millis(150))]
fn fresh_expr(x: u32) -> u32 {
    TTL_EXPR_RUNS.hit();
    x
}

#[test]
fn entries_expire_ttl_after_they_were_written() {
    fresh(1);
    fresh(1);
    fresh_expr(1);
    fresh_expr(1);
    assert_eq!((TTL_RUNS.get(), TTL_EXPR_RUNS.get()), (1, 1));
    sleep(Duration::from_millis(300));
    fresh(1);
    fresh_expr(1);
    assert_eq!(
        (TTL_RUNS.get(), TTL_EXPR_RUNS.get()),
        (2, 2),
        "expired entries recompute"
    );
    assert!(fresh_stats().evictions >= 1);
}

static SHORT_RUNS: Runs = Runs::new();

#[memo(ttl = "40ms")]
fn short_lived(x: u32) -> u32 {
    SHORT_RUNS.hit();
    x
}

#[test]
fn expired_values_are_not_counted_as_entries() {
    short_lived(1);
    short_lived(2);
    assert_eq!(short_lived_stats().entries, 2);
    sleep(Duration::from_millis(60));
    let s = short_lived_stats();
    assert_eq!(s.entries, 0, "expired, so no longer served: {s:?}");
    assert_eq!(s.evictions, 0, "though nothing has taken them out yet");
    // 1 is computed again, and storing it reaps 2.
    short_lived(1);
    let s = short_lived_stats();
    assert_eq!((s.entries, s.evictions), (1, 2), "{s:?}");
    assert_eq!(SHORT_RUNS.get(), 3);
}

static HUGE_TTL_RUNS: Runs = Runs::new();

// 2^64 + 1 ns: cut to 64 bits, 1 ns, which would expire at once.
#[memo(ttl = "18446744073709551617ns")]
fn ttl_past_u64_nanos(x: u32) -> u32 {
    HUGE_TTL_RUNS.hit();
    x
}

// ~584 years: cut to 64 bits, 0.29 s.
#[memo(ttl = "18446744074s")]
fn ttl_584_years(x: u32) -> u32 {
    HUGE_TTL_RUNS.hit();
    x
}

#[memo(ttl = Duration::from_secs(u64::MAX))]
fn ttl_max_secs(x: u32) -> u32 {
    HUGE_TTL_RUNS.hit();
    x
}

#[memo(ttl = Duration::MAX)]
fn ttl_max(x: u32) -> u32 {
    HUGE_TTL_RUNS.hit();
    x
}

#[test]
fn a_ttl_too_long_for_nanoseconds_never_expires() {
    for f in [ttl_past_u64_nanos, ttl_584_years, ttl_max_secs, ttl_max] {
        f(1);
    }
    assert_eq!(HUGE_TTL_RUNS.get(), 4);
    sleep(Duration::from_millis(400));
    for f in [ttl_past_u64_nanos, ttl_584_years, ttl_max_secs, ttl_max] {
        assert_eq!(f(1), 1);
    }
    assert_eq!(HUGE_TTL_RUNS.get(), 4, "every second call is a hit");
    assert_eq!(ttl_584_years_stats().hits, 1);
}

fn no_room() -> usize {
    0
}

#[memo(max_entries = no_room())]
fn bounded_to_nothing(x: u32) -> u32 {
    x
}

static MAX_FROM_STATIC: usize = 2;

#[memo(max_entries = MAX_FROM_STATIC)]
fn bounded_by_static(x: u32) -> u32 {
    x
}

#[test]
fn max_entries_computed_as_zero_panics_at_the_first_call() {
    // A literal 0 and a named constant that is 0 fail to compile; a value
    // known only at run time is checked when the cache is made.
    for _ in 0..2 {
        let e = catch_unwind(|| bounded_to_nothing(1)).unwrap_err();
        let msg = e.downcast_ref::<String>().expect("a formatted message");
        assert!(
            msg.contains("`max_entries` of `") && msg.contains("bounded_to_nothing` is 0"),
            "{msg}"
        );
    }
    for x in 0..3 {
        bounded_by_static(x);
    }
    assert_eq!(bounded_by_static_stats().entries, 2);
}

static LRU_RUNS: Runs = Runs::new();

#[memo(max_entries = 2)]
fn bounded(x: u32) -> u32 {
    LRU_RUNS.hit();
    x
}

#[test]
fn max_entries_evicts_the_least_recently_used() {
    bounded(1);
    bounded(2);
    bounded(1); // reading 1 makes 2 the least recently used
    bounded(3); // evicts 2
    assert_eq!(LRU_RUNS.get(), 3);
    bounded(1);
    assert_eq!(LRU_RUNS.get(), 3, "1 was kept");
    bounded(2);
    assert_eq!(LRU_RUNS.get(), 4, "2 was evicted");
    let s = bounded_stats();
    assert_eq!(s.entries, 2);
    assert_eq!(s.evictions, 2);
}

static SQUARE_RUNS: Runs = Runs::new();

#[memo]
fn square(x: i64) -> i64 {
    SQUARE_RUNS.hit();
    x * x
}

#[test]
fn clear_forget_and_stats() {
    square(2);
    square(3);
    square(2);
    let s = square_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 2, 2));

    assert!(square_forget(2));
    assert!(!square_forget(2), "already gone");
    assert_eq!(square_stats().entries, 1);
    square(3);
    assert_eq!(SQUARE_RUNS.get(), 2, "3 is still cached");
    square(2);
    assert_eq!(SQUARE_RUNS.get(), 3, "2 was forgotten");

    square_clear();
    assert_eq!(square_stats().entries, 0);
    square(3);
    assert_eq!(SQUARE_RUNS.get(), 4);
}

static UNIT_RUNS: Runs = Runs::new();

/// No hashed parameters: a single entry.
#[memo]
fn config() -> String {
    UNIT_RUNS.hit();
    "config".into()
}

#[test]
fn no_hashed_params_means_one_entry() {
    assert_eq!(config(), "config");
    assert_eq!(config(), "config");
    assert_eq!(UNIT_RUNS.get(), 1);
    assert_eq!(config_stats().entries, 1);
}

#[test]
fn returns_keep_their_meaning_inside_the_body() {
    #[memo]
    fn early(x: u32) -> Option<u32> {
        if x == 0 {
            return None;
        }
        let half = x.checked_div(2)?;
        Some(half)
    }
    assert_eq!(early(0), None);
    assert_eq!(early(8), Some(4));
    assert_eq!(early(8), Some(4));
    assert_eq!(early_stats().hits, 1);
}

#[test]
fn a_panicking_body_propagates_its_payload() {
    #[memo]
    fn boom(x: u32) -> u32 {
        panic!("boom {x}")
    }
    let err = catch_unwind(AssertUnwindSafe(|| boom(5))).unwrap_err();
    assert_eq!(
        err.downcast_ref::<String>().map(String::as_str),
        Some("boom 5")
    );
}

static MODEL_RUNS: Runs = Runs::new();

#[memo(max_entries = 3)]
fn lru3(x: u32) -> u32 {
    MODEL_RUNS.hit();
    x
}

#[test]
fn max_entries_matches_a_reference_lru_on_a_long_sequence() {
    let mut model: std::collections::VecDeque<u32> = Default::default();
    let mut seed = 0x2545_f491_u32;
    for step in 0..5_000 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let x = seed % 6;
        let expect_hit = model.contains(&x);
        model.retain(|&k| k != x);
        model.push_back(x);
        if model.len() > 3 {
            model.pop_front();
        }
        let before = MODEL_RUNS.get();
        assert_eq!(lru3(x), x);
        let was_hit = MODEL_RUNS.get() == before;
        assert_eq!(was_hit, expect_hit, "step {step}: key {x}, model {model:?}");
    }
    assert_eq!(lru3_stats().entries, 3);
}
