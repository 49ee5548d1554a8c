//! A cached value's `Clone` and `Drop` are the user's code, run by the store
//! while it stores and removes values: a `Clone` that panics while a miss
//! stores its value, and a `Drop` that calls the same function (or panics)
//! while a clear, forget, eviction or expiry removes it, leave the cache
//! working, never a key or the whole function stuck.

use memo_runtime::memo;
use memo_suite::Runs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `f` on another thread and fails the test if it does not finish in
/// time, instead of hanging the suite.
fn within_seconds<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("deadlocked: still running after {secs} s"),
    }
}

fn message(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

// ---- a `Clone` that panics while a miss stores its value --------------------

/// A value whose next `Clone` panics once its flag is set (a `Clone` that
/// asserts an invariant, or allocates past a limit).
macro_rules! touchy {
    ($ty:ident, $armed:ident) => {
        static $armed: AtomicBool = AtomicBool::new(false);

        #[derive(Debug, PartialEq)]
        struct $ty(u32);

        impl Clone for $ty {
            fn clone(&self) -> Self {
                if $armed.swap(false, SeqCst) {
                    panic!("clone failed");
                }
                $ty(self.0)
            }
        }
    };
}

touchy!(Plain, PLAIN_ARMED);
static PLAIN_RUNS: Runs = Runs::new();

#[memo]
fn plain(x: u32) -> Plain {
    PLAIN_RUNS.hit();
    Plain(x)
}

touchy!(Bounded, BOUNDED_ARMED);
static BOUNDED_RUNS: Runs = Runs::new();

#[memo(max_entries = 10)]
fn bounded(x: u32) -> Bounded {
    BOUNDED_RUNS.hit();
    Bounded(x)
}

touchy!(Dated, DATED_ARMED);
static DATED_RUNS: Runs = Runs::new();

#[memo(ttl = "1h")]
fn dated(x: u32) -> Dated {
    DATED_RUNS.hit();
    Dated(x)
}

/// The miss's copy for the cache panics: the panic reaches the caller,
/// nothing is stored, and the next call computes again and is cached.
macro_rules! clone_panic_case {
    ($f:ident, $stats:ident, $armed:ident, $runs:ident, $ty:ident) => {{
        within_seconds(10, || {
            $armed.store(true, SeqCst);
            let err = catch_unwind(|| $f(1)).expect_err("the copy for the cache panicked");
            assert_eq!(message(&*err), "clone failed");
            assert_eq!($runs.get(), 1);
            assert_eq!($stats().entries, 0, "nothing is stored");
            assert_eq!($f(1), $ty(1), "the next call computes again");
            assert_eq!($runs.get(), 2);
            assert_eq!($f(1), $ty(1));
            assert_eq!($runs.get(), 2, "and its value is cached");
            assert_eq!($stats().entries, 1);
        })
    }};
}

#[test]
fn a_clone_that_panics_while_a_miss_is_stored_leaves_the_key_computable() {
    clone_panic_case!(plain, plain_stats, PLAIN_ARMED, PLAIN_RUNS, Plain);
}

#[test]
fn a_clone_that_panics_while_a_bounded_miss_is_stored_leaves_the_key_computable() {
    clone_panic_case!(bounded, bounded_stats, BOUNDED_ARMED, BOUNDED_RUNS, Bounded);
}

#[test]
fn a_clone_that_panics_while_a_ttl_miss_is_stored_leaves_the_key_computable() {
    clone_panic_case!(dated, dated_stats, DATED_ARMED, DATED_RUNS, Dated);
}

touchy!(Awaited, AWAITED_ARMED);
static AWAITED_RUNS: Runs = Runs::new();
static AWAITED_GATE: std::sync::Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> =
    std::sync::Mutex::new(None);

#[memo]
fn awaited(x: u32) -> Awaited {
    AWAITED_RUNS.hit();
    let gate = AWAITED_GATE.lock().unwrap().take();
    if let Some((started, go)) = gate {
        started.send(()).unwrap();
        go.recv().unwrap();
    }
    Awaited(x)
}

#[test]
fn a_clone_that_panics_while_a_miss_is_stored_wakes_its_waiter_to_compute() {
    within_seconds(10, || {
        let (started_tx, started) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        *AWAITED_GATE.lock().unwrap() = Some((started_tx, go_rx));
        let owner = thread::spawn(|| catch_unwind(|| awaited(1)).map_err(|e| message(&*e)));
        started.recv().unwrap();
        let waiter = thread::spawn(|| awaited(1));
        // Give the waiter time to park on the computation (if it is later,
        // it finds the key free and computes all the same).
        thread::sleep(Duration::from_millis(50));
        AWAITED_ARMED.store(true, SeqCst);
        go.send(()).unwrap();
        assert_eq!(owner.join().unwrap(), Err("clone failed".to_string()));
        assert_eq!(waiter.join().unwrap(), Awaited(1), "the waiter computes");
        assert_eq!(AWAITED_RUNS.get(), 2);
        assert_eq!(awaited(1), Awaited(1));
        assert_eq!(AWAITED_RUNS.get(), 2, "the waiter's value is cached");
    });
}

touchy!(Later, LATER_ARMED);
static LATER_RUNS: Runs = Runs::new();

#[memo]
async fn later(x: u32) -> Later {
    LATER_RUNS.hit();
    Later(x)
}

#[test]
fn a_clone_that_panics_while_an_async_miss_is_stored_leaves_the_key_computable() {
    within_seconds(10, || {
        use futures::executor::block_on;
        LATER_ARMED.store(true, SeqCst);
        let err = catch_unwind(|| block_on(later(1))).expect_err("the copy panicked");
        assert_eq!(message(&*err), "clone failed");
        assert_eq!(later_stats().entries, 0);
        assert_eq!(
            block_on(later(1)),
            Later(1),
            "the next await computes again"
        );
        assert_eq!(block_on(later(1)), Later(1));
        assert_eq!(LATER_RUNS.get(), 2);
    });
}

// ---- a `Drop` that calls the same function -----------------------------------

/// A value that, when dropped with its flag set, looks something up through
/// the function that cached it (a handle that reports back on drop).
macro_rules! calls_back {
    ($ty:ident, $armed:ident, $f:ident, $key:expr) => {
        static $armed: AtomicBool = AtomicBool::new(false);

        #[derive(Debug, Clone, PartialEq)]
        struct $ty(u32);

        impl Drop for $ty {
            fn drop(&mut self) {
                if self.0 == 1 && $armed.swap(false, SeqCst) {
                    assert_eq!($f($key).0, $key);
                }
            }
        }
    };
}

calls_back!(Cleared, CLEARED_ARMED, cleared, 99);

#[memo]
fn cleared(x: u32) -> Cleared {
    Cleared(x)
}

#[test]
fn clear_drops_values_after_its_lock_so_their_drop_may_call_the_function() {
    within_seconds(10, || {
        // A miss: the cache holds the only other copy, which the caller's
        // drop leaves to the clear.
        drop(cleared(1));
        CLEARED_ARMED.store(true, SeqCst);
        cleared_clear();
        assert!(!CLEARED_ARMED.load(SeqCst), "the value was dropped");
        assert_eq!(
            cleared_stats().entries,
            1,
            "the call from `Drop` was cached"
        );
    });
}

calls_back!(Forgotten, FORGOTTEN_ARMED, forgotten, 98);

#[memo]
fn forgotten(x: u32) -> Forgotten {
    Forgotten(x)
}

#[test]
fn forget_drops_its_value_after_its_lock_so_its_drop_may_call_the_function() {
    within_seconds(10, || {
        drop(forgotten(1));
        FORGOTTEN_ARMED.store(true, SeqCst);
        assert!(forgotten_forget(1));
        assert!(!FORGOTTEN_ARMED.load(SeqCst), "the value was dropped");
        assert_eq!(forgotten_stats().entries, 1);
    });
}

calls_back!(Evicted, EVICTED_ARMED, evicted, 97);
static EVICTED_RUNS: Runs = Runs::new();

#[memo(max_entries = 1)]
fn evicted(x: u32) -> Evicted {
    EVICTED_RUNS.hit();
    Evicted(x)
}

#[test]
fn an_eviction_drops_its_value_after_the_lock_so_its_drop_may_call_the_function() {
    within_seconds(10, || {
        drop(evicted(1));
        EVICTED_ARMED.store(true, SeqCst);
        // Storing 2 evicts 1, whose `Drop` calls `evicted(97)`, which is
        // stored in turn and evicts 2.
        assert_eq!(evicted(2), Evicted(2));
        assert!(!EVICTED_ARMED.load(SeqCst), "the value was dropped");
        assert_eq!(EVICTED_RUNS.get(), 3);
        assert_eq!(evicted(97), Evicted(97));
        assert_eq!(EVICTED_RUNS.get(), 3, "the call from `Drop` was cached");
        assert_eq!(evicted_stats().entries, 1);
    });
}

calls_back!(Reaped, REAPED_ARMED, reaped, 96);

#[memo(ttl = "40ms")]
fn reaped(x: u32) -> Reaped {
    Reaped(x)
}

#[test]
fn expiry_drops_values_after_the_lock_so_their_drop_may_call_the_function() {
    within_seconds(10, || {
        drop(reaped(1));
        thread::sleep(Duration::from_millis(60));
        REAPED_ARMED.store(true, SeqCst);
        // Storing another key reaps the expired 1.
        assert_eq!(reaped(2), Reaped(2));
        assert!(!REAPED_ARMED.load(SeqCst), "the expired value was dropped");
        assert_eq!(reaped_stats().evictions, 1);
    });
}

calls_back!(Replaced, REPLACED_ARMED, replaced, 95);
static REPLACED_RUNS: Runs = Runs::new();

#[memo(ttl = "40ms")]
fn replaced(x: u32) -> Replaced {
    REPLACED_RUNS.hit();
    Replaced(x)
}

#[test]
fn an_expired_value_met_by_its_own_key_is_dropped_after_the_lock() {
    within_seconds(10, || {
        drop(replaced(1));
        thread::sleep(Duration::from_millis(60));
        REPLACED_ARMED.store(true, SeqCst);
        // Asking for 1 again finds it expired: the old value goes (its `Drop`
        // calls `replaced(95)`) and 1 is computed anew.
        assert_eq!(replaced(1), Replaced(1));
        assert!(
            !REPLACED_ARMED.load(SeqCst),
            "the expired value was dropped"
        );
        assert_eq!(REPLACED_RUNS.get(), 3);
        assert_eq!(replaced(1), Replaced(1));
        assert_eq!(REPLACED_RUNS.get(), 3, "and the new one is cached");
    });
}

// ---- a `Drop` that panics -------------------------------------------------------

static FRAGILE_ARMED: AtomicBool = AtomicBool::new(false);
static FRAGILE_RUNS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, Clone, PartialEq)]
struct Fragile(u32);

impl Drop for Fragile {
    fn drop(&mut self) {
        if FRAGILE_ARMED.swap(false, SeqCst) {
            panic!("drop failed");
        }
    }
}

#[memo]
fn fragile(x: u32) -> Fragile {
    FRAGILE_RUNS.fetch_add(1, SeqCst);
    Fragile(x)
}

#[test]
fn a_drop_that_panics_inside_clear_leaves_the_cache_cleared_and_usable() {
    within_seconds(10, || {
        for i in 0..4 {
            drop(fragile(i));
        }
        FRAGILE_ARMED.store(true, SeqCst);
        let err = catch_unwind(fragile_clear).expect_err("the drop's panic reaches the caller");
        assert_eq!(message(&*err), "drop failed");
        assert_eq!(fragile_stats().entries, 0, "every value was cleared");
        let got: Vec<u32> = (0..4).map(|i| fragile(i).0).collect();
        assert_eq!(got, [0, 1, 2, 3]);
        assert_eq!(FRAGILE_RUNS.load(SeqCst), 8, "and computed again");
        assert_eq!(fragile(0).0, 0);
        assert_eq!(FRAGILE_RUNS.load(SeqCst), 8);
    });
}
