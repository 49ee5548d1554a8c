//! `#[memo]` and `#[singleton]` on `async fn`: single-flight across tasks and
//! runtimes, cancellation and panics that hand the computation to a waiter,
//! several executors, `Send` futures, methods and generics.

use memo_runtime::{memo, singleton};
use memo_suite::Runs;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::{sleep, timeout};

/// Every test ends well within this, or it failed (a stuck task).
const LIMIT: Duration = Duration::from_secs(30);

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .unwrap()
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

/// A sleep that needs no particular runtime (tokio's needs tokio's timer).
fn thread_sleep(d: Duration) -> impl Future<Output = ()> {
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    async move {
        let _ = rx.await;
    }
}

// ---- what a caller sees -------------------------------------------------------

static FETCH_RUNS: Runs = Runs::new();

#[derive(Debug, Clone, PartialEq)]
struct Page {
    url: String,
    len: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct FetchError(String);

/// The shape: a borrowed argument, a `Result`, `?` and `return`.
#[memo(ttl = "1h")]
async fn fetch(url: &str) -> Result<Page, FetchError> {
    FETCH_RUNS.hit();
    sleep(Duration::from_millis(5)).await;
    if url.is_empty() {
        return Err(FetchError("empty url".into()));
    }
    let len: usize = url
        .len()
        .to_string()
        .parse()
        .map_err(|_| FetchError("?".into()))?;
    Ok(Page {
        url: url.to_string(),
        len,
    })
}

#[test]
fn an_async_memo_caches_ok_values_and_not_errors() {
    current_thread().block_on(async {
        let a = fetch("https://a").await.unwrap();
        let b = fetch("https://a").await.unwrap();
        assert_eq!(a, b);
        assert_eq!(FETCH_RUNS.get(), 1, "the second call is a hit");
        assert!(fetch("").await.is_err());
        assert!(fetch("").await.is_err());
        assert_eq!(FETCH_RUNS.get(), 3, "errors are not cached");
        let s = fetch_stats();
        assert_eq!((s.hits, s.entries), (1, 1));
        assert!(fetch_forget("https://a"));
        fetch("https://a").await.unwrap();
        assert_eq!(FETCH_RUNS.get(), 4, "forgotten, so computed again");
    });
}

#[test]
fn every_caller_gets_its_own_copy() {
    #[memo]
    async fn list(n: usize) -> Vec<u32> {
        vec![7; n]
    }
    futures::executor::block_on(async {
        let mut mine = list(3).await;
        mine.push(99);
        assert_eq!(list(3).await, vec![7, 7, 7], "the cache is untouched");
    });
}

struct Pool {
    url: String,
}

static POOL_RUNS: Runs = Runs::new();

#[singleton]
async fn pool(url: &str) -> Pool {
    POOL_RUNS.hit();
    sleep(Duration::from_millis(5)).await;
    Pool {
        url: url.to_string(),
    }
}

#[test]
fn an_async_singleton_is_one_instance_on_every_thread() {
    let rt = multi_thread();
    let pools: Vec<Arc<Pool>> = rt.block_on(async {
        let tasks: Vec<_> = (0..16)
            .map(|_| tokio::spawn(pool("postgres://db")))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(POOL_RUNS.get(), 1);
    assert!(pools.iter().all(|p| Arc::ptr_eq(p, &pools[0])));
    assert_eq!(pools[0].url, "postgres://db");
    let other = rt.block_on(pool("postgres://other"));
    assert!(!Arc::ptr_eq(&other, &pools[0]));
}

#[test]
fn async_singletons_keep_arc_and_result_shapes() {
    #[singleton]
    async fn shared() -> Arc<str> {
        Arc::from("model")
    }
    #[singleton]
    async fn client(ok: bool) -> Result<String, String> {
        if ok {
            Ok("client".into())
        } else {
            Err("down".into())
        }
    }
    futures::executor::block_on(async {
        assert!(Arc::ptr_eq(&shared().await, &shared().await));
        let a: Arc<String> = client(true).await.unwrap();
        assert!(Arc::ptr_eq(&a, &client(true).await.unwrap()));
        assert_eq!(client(false).await.unwrap_err(), "down");
        assert_eq!(client_stats().entries, 1, "only `Ok` is kept");
    });
}

// ---- methods and generics --------------------------------------------------------

#[derive(memo_runtime::StableHash)]
struct Api {
    base: String,
}

static METHOD_RUNS: Runs = Runs::new();

impl Api {
    #[memo]
    async fn get(&self, path: &str) -> String {
        METHOD_RUNS.hit();
        sleep(Duration::from_millis(1)).await;
        format!("{}{}", self.base, path)
    }
}

#[memo]
async fn describe<T: memo_runtime::StableHash + std::fmt::Debug + Sync>(x: T) -> String {
    format!("{}:{x:?}", std::any::type_name::<T>())
}

#[test]
fn async_methods_and_generics_work_like_their_sync_forms() {
    current_thread().block_on(async {
        let a = Api { base: "a/".into() };
        let b = Api { base: "b/".into() };
        assert_eq!(a.get("x").await, "a/x");
        assert_eq!(a.get("x").await, "a/x");
        assert_eq!(b.get("x").await, "b/x", "self is part of the key");
        assert_eq!(METHOD_RUNS.get(), 2);
        assert_eq!(describe(1u8).await, "u8:1");
        assert_eq!(
            describe(1u64).await,
            "u64:1",
            "each instantiation has its own entries"
        );
        assert_eq!(describe_stats().entries, 2);
    });
}

#[test]
fn async_ttl_and_max_entries_apply() {
    static RUNS: Runs = Runs::new();
    #[memo(ttl = Duration::from_millis(50), max_entries = 2)]
    async fn short(x: u32) -> u32 {
        RUNS.hit();
        x
    }
    futures::executor::block_on(async {
        short(1).await;
        short(1).await;
        assert_eq!(RUNS.get(), 1);
        std::thread::sleep(Duration::from_millis(80));
        short(1).await;
        assert_eq!(RUNS.get(), 2, "expired after its ttl");
        short(2).await;
        short(3).await;
        assert_eq!(short_stats().entries, 2, "bounded to two");
    });
}

// ---- single flight ------------------------------------------------------------------

static HUNDRED_RUNS: Runs = Runs::new();

#[memo]
async fn hundred(x: u64) -> u64 {
    HUNDRED_RUNS.hit();
    sleep(Duration::from_millis(100)).await;
    x * 2
}

#[test]
fn a_hundred_tasks_on_one_key_run_the_body_once() {
    let rt = multi_thread();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..100).map(|_| tokio::spawn(hundred(21))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(timeout(LIMIT, t).await.unwrap().unwrap());
        }
        out
    });
    assert_eq!(results, vec![42; 100]);
    assert_eq!(HUNDRED_RUNS.get(), 1);
    let s = hundred_stats();
    assert_eq!((s.misses, s.hits), (1, 99));
}

#[test]
fn waiting_tasks_do_not_block_a_current_thread_runtime() {
    static RUNS: Runs = Runs::new();
    #[memo]
    async fn slow(x: u64) -> u64 {
        RUNS.hit();
        sleep(Duration::from_millis(50)).await;
        x
    }
    // One thread: if a waiter blocked it, the computing task could never
    // resume and this would time out.
    current_thread().block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let tasks: Vec<_> = (0..20).map(|_| tokio::task::spawn_local(slow(5))).collect();
                for t in tasks {
                    assert_eq!(timeout(LIMIT, t).await.unwrap().unwrap(), 5);
                }
            })
            .await;
    });
    assert_eq!(RUNS.get(), 1);
}

#[test]
fn tasks_on_different_runtimes_share_one_computation() {
    static RUNS: Runs = Runs::new();
    #[memo]
    async fn across(x: u64) -> u64 {
        RUNS.hit();
        thread_sleep(Duration::from_millis(100)).await;
        x + 1
    }
    let results: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4)
            .map(|i| {
                s.spawn(move || {
                    if i % 2 == 0 {
                        current_thread().block_on(across(1))
                    } else {
                        futures::executor::block_on(across(1))
                    }
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(results, vec![2; 4]);
    assert_eq!(
        RUNS.get(),
        1,
        "tokio and futures callers waited for one body"
    );
}

#[test]
fn a_hit_does_not_wait_for_another_keys_computation() {
    static GATE: Notify = Notify::const_new();
    #[memo]
    async fn gated(x: u64, _gate: bool) -> u64 {
        if _gate {
            GATE.notified().await;
        }
        x
    }
    let rt = multi_thread();
    rt.block_on(async {
        assert_eq!(gated(1, false).await, 1);
        // Key 2 is being computed, suspended at an `.await`, for as long as
        // the gate stays shut.
        let pending = tokio::spawn(gated(2, true));
        sleep(Duration::from_millis(20)).await;
        let hit = timeout(Duration::from_secs(5), gated(1, true)).await;
        assert_eq!(hit.unwrap(), 1, "a hit on key 1 needs nothing of key 2");
        GATE.notify_one();
        assert_eq!(timeout(LIMIT, pending).await.unwrap().unwrap(), 2);
    });
}

// ---- cancellation and panics -----------------------------------------------------------

#[test]
fn a_dropped_computation_caches_nothing_and_a_waiter_takes_over() {
    static RUNS: Runs = Runs::new();
    static FIRST_STARTED: Notify = Notify::const_new();
    #[memo]
    async fn cancellable(x: u64) -> u64 {
        let run = {
            RUNS.hit();
            RUNS.get()
        };
        if run == 1 {
            FIRST_STARTED.notify_one();
            sleep(Duration::from_secs(3600)).await; // cancelled long before
        }
        x * 10
    }
    let rt = multi_thread();
    rt.block_on(async {
        let first = tokio::spawn(cancellable(4));
        FIRST_STARTED.notified().await;
        let waiter = tokio::spawn(cancellable(4));
        sleep(Duration::from_millis(20)).await;
        assert_eq!(RUNS.get(), 1, "the second caller waits");
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        let v = timeout(LIMIT, waiter)
            .await
            .expect("the waiter was left hanging");
        assert_eq!(v.unwrap(), 40);
        assert_eq!(RUNS.get(), 2, "the waiter computed it itself");
        assert_eq!(cancellable(4).await, 40);
        assert_eq!(RUNS.get(), 2, "and that value is cached");
    });
}

#[test]
fn forgetting_a_key_during_its_async_computation_keeps_its_value_from_being_stored() {
    static RUNS: Runs = Runs::new();
    static STARTED: Notify = Notify::const_new();
    static GO: Notify = Notify::const_new();
    #[memo]
    async fn forgotten(x: u64) -> u64 {
        RUNS.hit();
        if RUNS.get() == 1 {
            STARTED.notify_one();
            GO.notified().await;
        }
        x * 10 + RUNS.get() as u64
    }
    multi_thread().block_on(async {
        let owner = tokio::spawn(forgotten(1));
        STARTED.notified().await;
        let waiter = tokio::spawn(forgotten(1));
        sleep(Duration::from_millis(20)).await;
        assert!(forgotten_forget(1), "a computation under way is forgotten");
        GO.notify_one();
        assert_eq!(timeout(LIMIT, owner).await.unwrap().unwrap(), 11);
        assert_eq!(timeout(LIMIT, waiter).await.unwrap().unwrap(), 11);
        assert_eq!(forgotten_stats().entries, 0, "its value is not stored");
        assert_eq!(forgotten(1).await, 12, "the next call computes afresh");
        assert_eq!(forgotten(1).await, 12);
    });
}

#[test]
fn a_timed_out_call_caches_nothing() {
    static RUNS: Runs = Runs::new();
    #[memo]
    async fn slow_once(x: u64) -> u64 {
        RUNS.hit();
        if RUNS.get() == 1 {
            sleep(Duration::from_secs(3600)).await;
        }
        x
    }
    current_thread().block_on(async {
        assert!(timeout(Duration::from_millis(20), slow_once(9))
            .await
            .is_err());
        assert_eq!(slow_once_stats().entries, 0, "nothing is left pending");
        assert_eq!(timeout(LIMIT, slow_once(9)).await.unwrap(), 9);
        assert_eq!(RUNS.get(), 2);
    });
}

#[test]
fn a_panicking_body_hands_over_to_a_waiter() {
    static RUNS: Runs = Runs::new();
    static STARTED: Notify = Notify::const_new();
    #[memo]
    async fn flaky(x: u64) -> u64 {
        RUNS.hit();
        if RUNS.get() == 1 {
            STARTED.notify_one();
            sleep(Duration::from_millis(50)).await;
            panic!("boom");
        }
        x
    }
    let rt = multi_thread();
    rt.block_on(async {
        let first = tokio::spawn(flaky(3));
        STARTED.notified().await;
        let waiter = tokio::spawn(flaky(3));
        assert!(first.await.unwrap_err().is_panic());
        assert_eq!(timeout(LIMIT, waiter).await.unwrap().unwrap(), 3);
        assert_eq!(RUNS.get(), 2);
        assert_eq!(flaky(3).await, 3);
        assert_eq!(RUNS.get(), 2);
    });
}

#[test]
fn an_async_fn_awaiting_its_own_key_panics_instead_of_hanging() {
    #[memo]
    async fn forever(x: u64) -> u64 {
        // (A recursive future's `Send`-ness can't be inferred: box it
        // without `Send`.)
        let again: std::pin::Pin<Box<dyn Future<Output = u64>>> = Box::pin(forever(x));
        again.await
    }
    // Were the re-entry not caught, this would hang, not panic.
    let err = std::panic::catch_unwind(|| futures::executor::block_on(forever(1))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("called itself with the same hashed arguments"),
        "{msg}"
    );
    assert_eq!(forever_stats().entries, 0);
}

#[test]
fn async_recursion_on_other_keys_works() {
    #[memo]
    async fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let a: std::pin::Pin<Box<dyn Future<Output = u64>>> = Box::pin(fib(n - 1));
        let b: std::pin::Pin<Box<dyn Future<Output = u64>>> = Box::pin(fib(n - 2));
        a.await + b.await
    }
    assert_eq!(futures::executor::block_on(fib(60)), 1_548_008_755_920);
    assert_eq!(fib_stats().misses, 61);
}

// ---- Send ----------------------------------------------------------------------------------

#[test]
fn futures_are_send_when_the_body_is() {
    let rt = multi_thread();
    // `tokio::spawn` needs `Send`; `assert_send` says so at compile time.
    let page = rt.block_on(async { tokio::spawn(assert_send(fetch("https://send"))).await });
    assert_eq!(page.unwrap().unwrap().len, "https://send".len());
    drop(assert_send(pool("x")));
    drop(assert_send(
        Api {
            base: String::new(),
        }
        .get("y"),
    ));
}

#[test]
fn a_body_that_is_not_send_still_works_on_one_thread() {
    #[memo]
    async fn local(x: u64) -> u64 {
        let rc = std::rc::Rc::new(x);
        tokio::task::yield_now().await;
        *rc + 1
    }
    current_thread().block_on(async {
        let set = tokio::task::LocalSet::new();
        assert_eq!(set.run_until(local(1)).await, 2);
    });
    assert_eq!(futures::executor::block_on(local(1)), 2);
}

// ---- stress ----------------------------------------------------------------------------------

#[test]
fn keys_clears_and_cancellations_mixed_leave_no_stuck_task() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    #[memo(max_entries = 8)]
    async fn busy(x: u64) -> u64 {
        RUNS.fetch_add(1, Ordering::Relaxed);
        for _ in 0..(x % 3) {
            tokio::task::yield_now().await;
        }
        sleep(Duration::from_micros(200 * (x % 4))).await;
        x * 3
    }
    let rt = multi_thread();
    rt.block_on(async {
        let clearer = tokio::spawn(async {
            while !STOP.load(Ordering::Relaxed) {
                busy_clear();
                sleep(Duration::from_millis(3)).await;
            }
        });
        let mut tasks = Vec::new();
        for i in 0..400u64 {
            let key = i % 13;
            let t = tokio::spawn(async move {
                if i % 5 == 0 {
                    // Cancel some callers mid-flight.
                    let _ = timeout(Duration::from_micros(300), busy(key)).await;
                    None
                } else {
                    Some((key, busy(key).await))
                }
            });
            tasks.push(t);
        }
        for t in tasks {
            let out = timeout(LIMIT, t).await.expect("a task got stuck").unwrap();
            if let Some((key, v)) = out {
                assert_eq!(v, key * 3);
            }
        }
        STOP.store(true, Ordering::Relaxed);
        clearer.await.unwrap();
        // Every key still answers, promptly, with its own value.
        for key in 0..13 {
            assert_eq!(timeout(LIMIT, busy(key)).await.unwrap(), key * 3);
        }
    });
    assert!(RUNS.load(Ordering::Relaxed) >= 13);
}

// ---- parameter shapes ------------------------------------------------------------------

#[test]
fn async_fns_take_patterns_mut_and_impl_trait_params() {
    static RUNS: Runs = Runs::new();
    #[memo]
    async fn shaped(
        (a, b): (u32, u32),
        mut n: u32,
        label: impl std::fmt::Display + memo_runtime::StableHash + Send,
        _ignored: &str,
    ) -> String {
        RUNS.hit();
        n += 1;
        tokio::task::yield_now().await;
        format!("{label}:{}", a + b + n)
    }
    current_thread().block_on(async {
        assert_eq!(shaped((1, 2), 3, "x", "a").await, "x:7");
        assert_eq!(shaped((1, 2), 3, "x", "b").await, "x:7");
        assert_eq!(RUNS.get(), 1, "`_ignored` is not part of the key");
        assert_eq!(shaped((2, 1), 3, "x", "a").await, "x:7");
        assert_eq!(RUNS.get(), 2, "the pattern's values are");
        assert!(shaped_forget((2, 1), 3, "x", "zzz"));
    });
}

// ---- persist = "disk" ---------------------------------------------------------------------

#[test]
fn an_async_memo_persists_to_disk_with_its_ttl() {
    let dir = std::env::temp_dir().join(format!("memo-async-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    memo_runtime::persist::set_dir(&dir).unwrap();
    static RUNS: Runs = Runs::new();
    // Memory keeps one entry, so a key asked for again after another one
    // comes back from disk.
    #[memo(persist = "disk", ttl = "1h", max_entries = 1)]
    async fn table(n: u32) -> Result<Vec<f64>, String> {
        RUNS.hit();
        tokio::task::yield_now().await;
        if n == 0 {
            return Err("empty".into());
        }
        Ok((0..n).map(f64::from).collect())
    }
    current_thread().block_on(async {
        assert_eq!(table(3).await.unwrap(), vec![0.0, 1.0, 2.0]);
        assert!(table(0).await.is_err());
        assert_eq!(table(2).await.unwrap(), vec![0.0, 1.0]);
        assert_eq!(RUNS.get(), 3);
        assert_eq!(table(3).await.unwrap(), vec![0.0, 1.0, 2.0]);
        assert_eq!(RUNS.get(), 3, "read back from disk, not run");
        assert_eq!(table_stats().disk_hits, 1);
        assert_eq!(
            memo_runtime::persist::usage()[0].entries,
            2,
            "`Err` was not written"
        );
    });
    table_clear();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- signatures with lifetimes -------------------------------------------------------------

/// An `async fn` whose lifetimes can all be named becomes a plain fn that
/// looks for its hit when called; one that may hide a lifetime (a user type,
/// `Self`, `impl Trait`) stays an `async fn`. Both must compile and cache.
#[test]
fn every_lifetime_shape_compiles_and_caches() {
    static RUNS: Runs = Runs::new();
    #[memo]
    async fn named<'a, 'b>(x: &'a str, y: &'b [u8], z: Option<&'_ str>) -> usize {
        RUNS.hit();
        x.len() + y.len() + z.map_or(0, str::len)
    }
    #[memo]
    async fn nested(v: &Vec<&str>, m: &std::collections::HashMap<String, Vec<u8>>) -> usize {
        RUNS.hit();
        v.len() + m.len()
    }
    #[derive(memo_runtime::StableHash)]
    struct Wrapper<'a> {
        s: &'a str,
    }
    #[memo]
    async fn user_type(w: Wrapper<'_>, c: std::borrow::Cow<'_, str>) -> usize {
        RUNS.hit();
        w.s.len() + c.len()
    }
    futures::executor::block_on(async {
        let s = String::from("abc");
        assert_eq!(named(&s, b"xy", Some("q")).await, 6);
        assert_eq!(named(&s, b"xy", Some("q")).await, 6);
        let v = vec!["a", "b"];
        let m = std::collections::HashMap::new();
        assert_eq!(nested(&v, &m).await, 2);
        assert_eq!(nested(&v, &m).await, 2);
        assert_eq!(user_type(Wrapper { s: &s }, "de".into()).await, 5);
        assert_eq!(user_type(Wrapper { s: &s }, "de".into()).await, 5);
    });
    assert_eq!(RUNS.get(), 3, "each computed once");
}

// ---- when a hit is decided ---------------------------------------------------

static DECIDED_RUNS: Runs = Runs::new();

/// Eager: every lifetime in its signature can be named.
#[memo]
async fn decided(x: u32) -> usize {
    let _ = x;
    DECIDED_RUNS.hit();
    DECIDED_RUNS.get()
}

#[test]
fn an_eager_async_fn_decides_its_hit_when_called_whatever_the_thread_saw_before() {
    futures::executor::block_on(async {
        // Key 1: the value was computed on this thread (its front has no
        // way for it yet). Key 2: hit once more, so the front holds it. The
        // two used to differ: a future made before a clear and awaited
        // after it returned the old value for key 2 and recomputed key 1.
        let one = decided(1).await;
        let two = decided(2).await;
        assert_eq!(decided(2).await, two);
        let (f1, f2) = (decided(1), decided(2));
        decided_clear();
        assert_eq!(f1.await, one, "found when called, before the clear");
        assert_eq!(f2.await, two, "found when called, before the clear");
        assert_eq!(DECIDED_RUNS.get(), 2);
        // A call made after the clear computes.
        assert_eq!(decided(1).await, 3);
    });
}

static LAZY_RUNS: Runs = Runs::new();

struct Lazy;

impl Lazy {
    /// Not eager (a receiver): nothing happens until the first poll.
    #[memo(hash(self = ignore))]
    async fn decided(&self, x: u32) -> usize {
        let _ = x;
        LAZY_RUNS.hit();
        LAZY_RUNS.get()
    }
}

#[test]
fn a_lazy_async_fn_decides_its_hit_when_first_polled() {
    futures::executor::block_on(async {
        assert_eq!(Lazy.decided(1).await, 1);
        assert_eq!(Lazy.decided(1).await, 1);
        let f = Lazy.decided(1);
        Lazy::decided_clear();
        assert_eq!(f.await, 2, "looked up at the first poll, after the clear");
    });
}
