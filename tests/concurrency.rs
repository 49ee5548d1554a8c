//! One global cache per function, shared by every thread: concurrent misses
//! on one key compute once, different keys never wait on each other,
//! recursion works, and re-entering a key panics instead of deadlocking.

use memo_runtime::{memo, singleton};
use memo_suite::Runs;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

static SLOW_RUNS: Runs = Runs::new();

#[memo]
fn slow(x: u64) -> u64 {
    SLOW_RUNS.hit();
    thread::sleep(Duration::from_millis(200));
    x + 1
}

#[test]
fn concurrent_misses_on_one_key_compute_once() {
    let barrier = Barrier::new(8);
    let results: Vec<u64> = thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    slow(41)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results, vec![42; 8]);
    assert_eq!(SLOW_RUNS.get(), 1, "eight callers, one computation");
    let s = slow_stats();
    assert_eq!((s.misses, s.hits), (1, 7));
}

// `first(1)` can only finish once `second(2)` has returned on another thread.
// If the two keys waited on each other, `recv_timeout` would fail instead of
// the test hanging.
static GATE: std::sync::Mutex<Option<mpsc::Receiver<()>>> = std::sync::Mutex::new(None);

#[memo]
fn first(x: u32) -> bool {
    let rx = GATE.lock().unwrap().take().unwrap();
    rx.recv_timeout(Duration::from_secs(10)).is_ok() && x == 1
}

#[memo]
fn second(x: u32) -> u32 {
    x
}

#[memo]
fn same_fn(x: u32, _gate: Option<&mpsc::Receiver<()>>) -> u32 {
    if let Some(rx) = _gate {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("key 2 was not blocked by key 1");
    }
    x
}

#[test]
fn different_keys_never_wait_on_each_other() {
    let (tx, rx) = mpsc::channel();
    *GATE.lock().unwrap() = Some(rx);
    thread::scope(|s| {
        let a = s.spawn(|| first(1));
        thread::sleep(Duration::from_millis(50));
        assert_eq!(second(2), 2);
        tx.send(()).unwrap();
        assert!(a.join().unwrap());
    });

    // Same function, different keys.
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        let a = s.spawn(move || same_fn(1, Some(&rx)));
        thread::sleep(Duration::from_millis(50));
        assert_eq!(
            same_fn(2, None),
            2,
            "key 2 computed while key 1 was computing"
        );
        tx.send(()).unwrap();
        assert_eq!(a.join().unwrap(), 1);
    });
}

#[memo]
fn factorial(n: u64) -> u64 {
    if n < 1 {
        1
    } else {
        n * factorial(n - 1)
    }
}

#[test]
fn recursion_on_other_keys_works() {
    assert_eq!(factorial(10), 3_628_800);
    assert_eq!(factorial(9), 362_880, "served from the cache");
    let s = factorial_stats();
    assert_eq!((s.misses, s.hits), (11, 1));
}

#[memo]
fn forever(n: u64) -> u64 {
    forever(n) + 1
}

#[test]
fn reentering_the_same_key_panics_instead_of_deadlocking() {
    for _ in 0..2 {
        let err = catch_unwind(|| forever(3)).unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("forever` called itself with the same hashed arguments"),
            "{msg}"
        );
    }
    assert_eq!(forever_stats().entries, 0, "nothing cached, nothing wedged");
}

static TAKEOVER_RUNS: Runs = Runs::new();
static STARTED: Barrier = Barrier::new(2);

#[memo]
fn takeover(x: u32) -> u32 {
    TAKEOVER_RUNS.hit();
    if TAKEOVER_RUNS.get() == 1 {
        STARTED.wait(); // the second caller is about to wait for us
        thread::sleep(Duration::from_millis(100));
        panic!("the first computation dies");
    }
    x
}

#[test]
fn when_the_computing_caller_panics_a_waiter_takes_over() {
    thread::scope(|s| {
        let owner = s.spawn(|| takeover(7));
        STARTED.wait();
        let waiter = s.spawn(|| takeover(7));
        assert!(owner.join().is_err());
        assert_eq!(waiter.join().unwrap(), 7);
    });
    assert_eq!(TAKEOVER_RUNS.get(), 2);
    assert_eq!(takeover(7), 7);
    assert_eq!(TAKEOVER_RUNS.get(), 2);
}

static WAITED_RUNS: Runs = Runs::new();
static WAITED_STARTED: Barrier = Barrier::new(2);

/// The first computation calls itself, but only once a second thread waits
/// for it: the re-entry finds its key waited on, not just pending.
#[memo]
fn waited_self(x: u32) -> u32 {
    WAITED_RUNS.hit();
    if WAITED_RUNS.get() == 1 {
        WAITED_STARTED.wait();
        thread::sleep(Duration::from_millis(100)); // the waiter parks meanwhile
        return waited_self(x);
    }
    x
}

#[test]
fn reentering_a_key_another_thread_waits_for_panics_and_the_waiter_takes_over() {
    thread::scope(|s| {
        let owner = s.spawn(|| waited_self(5));
        WAITED_STARTED.wait();
        let waiter = s.spawn(|| waited_self(5));
        let err = owner.join().unwrap_err();
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            msg.contains("waited_self` called itself with the same hashed arguments"),
            "{msg}"
        );
        assert_eq!(waiter.join().unwrap(), 5, "the waiter computed it");
    });
    assert_eq!(WAITED_RUNS.get(), 2);
    assert_eq!(waited_self(5), 5, "and it is cached");
    assert_eq!(WAITED_RUNS.get(), 2);
}

struct Pool {
    id: u64,
}

static POOL_RUNS: Runs = Runs::new();

#[singleton]
fn pool(url: &str) -> Pool {
    POOL_RUNS.hit();
    thread::sleep(Duration::from_millis(50));
    Pool {
        id: url.len() as u64,
    }
}

#[test]
fn every_thread_gets_the_same_singleton() {
    let barrier = Barrier::new(8);
    let pools: Vec<Arc<Pool>> = thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    pool("postgres://db")
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(pools.iter().all(|p| Arc::ptr_eq(p, &pools[0])));
    assert_eq!(pools[0].id, 13);
    assert_eq!(POOL_RUNS.get(), 1);
    assert!(!Arc::ptr_eq(&pool("other"), &pools[0]));
}

#[memo]
fn hot(x: u64) -> u64 {
    x * 3
}

#[test]
fn many_threads_hitting_and_clearing_stay_consistent() {
    thread::scope(|s| {
        for t in 0..4u64 {
            s.spawn(move || {
                for i in 0..20_000u64 {
                    assert_eq!(hot(i % 50), (i % 50) * 3);
                    if t == 0 && i % 5_000 == 0 {
                        hot_clear();
                    }
                    if t == 1 && i % 3_000 == 0 {
                        hot_forget(i % 50);
                    }
                }
            });
        }
    });
    let s = hot_stats();
    assert_eq!(s.hits + s.misses, 80_000);
    assert!(s.entries <= 50);
}

static CLEARED_RUNS: Runs = Runs::new();
static CLEAR_STARTED: Barrier = Barrier::new(2);

#[memo]
fn cleared_midway(x: u32) -> u32 {
    CLEARED_RUNS.hit();
    if CLEARED_RUNS.get() == 1 {
        CLEAR_STARTED.wait();
        thread::sleep(Duration::from_millis(150));
    }
    x
}

#[test]
fn clearing_during_a_computation_strands_no_waiter() {
    let (done_tx, done_rx) = mpsc::channel();
    thread::scope(|s| {
        let owner = s.spawn(|| cleared_midway(5));
        CLEAR_STARTED.wait();
        let tx = done_tx.clone();
        s.spawn(move || tx.send(cleared_midway(5)).unwrap());
        thread::sleep(Duration::from_millis(50)); // the waiter is parked by now
        cleared_midway_clear();
        assert_eq!(
            done_rx.recv_timeout(Duration::from_secs(10)),
            Ok(5),
            "the waiter gets the value of the computation it waited on"
        );
        assert_eq!(owner.join().unwrap(), 5, "the owner gets its value too");
    });
    assert_eq!(CLEARED_RUNS.get(), 1, "nobody computed twice");
    // The computation finished after the clear: its value was not stored.
    assert_eq!(cleared_midway_stats().entries, 0);
    assert_eq!(cleared_midway(5), 5);
    assert_eq!(CLEARED_RUNS.get(), 2);
}

#[memo(max_entries = 8)]
fn chaotic(x: u64) -> Result<u64, String> {
    // Slow enough that callers overlap; fails in a few ways.
    thread::sleep(Duration::from_micros(50));
    match x % 7 {
        0 => Err(format!("{x} is unlucky")),
        3 if x % 2 == 1 => panic!("{x} panics"),
        _ => Ok(x * 10),
    }
}

#[test]
fn a_storm_of_calls_clears_errors_and_panics_ends_with_every_caller_answered() {
    // The storm's own panics are expected: keep them out of the test output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let expected = info
            .payload()
            .downcast_ref::<String>()
            .is_some_and(|m| m.ends_with(" panics"));
        if !expected {
            default_hook(info);
        }
    }));
    let (done_tx, done_rx) = mpsc::channel();
    let storm = thread::spawn(move || {
        thread::scope(|s| {
            for t in 0..4u64 {
                s.spawn(move || {
                    for i in 0..3_000u64 {
                        let x = (i * 7 + t * 13) % 24;
                        let got = std::panic::catch_unwind(|| chaotic(x));
                        match (x % 7, got) {
                            (0, Ok(r)) => assert_eq!(r, Err(format!("{x} is unlucky"))),
                            (3, Err(_)) if x % 2 == 1 => {}
                            (_, Ok(r)) => assert_eq!(r, Ok(x * 10), "key {x}"),
                            (_, Err(_)) => panic!("key {x} panicked unexpectedly"),
                        }
                        match (t, i % 500) {
                            (0, 0) => chaotic_clear(),
                            (1, 250) => {
                                chaotic_forget(x);
                            }
                            _ => {}
                        }
                    }
                });
            }
        });
        done_tx.send(()).unwrap();
    });
    // Bounded: a stuck caller fails the test instead of hanging it.
    done_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("every caller finished");
    storm.join().unwrap();
    let s = chaotic_stats();
    assert!(s.entries <= 8, "{s:?}");
    assert_eq!(s.hits + s.misses, 12_000, "{s:?}");
}

const RACED_KEYS: usize = 20_000;
static RACED_RUNS: [AtomicU32; RACED_KEYS] = [const { AtomicU32::new(0) }; RACED_KEYS];

#[memo]
fn raced(x: usize) -> usize {
    RACED_RUNS[x].fetch_add(1, Ordering::Relaxed);
    x + 1
}

/// Misses that are over in nanoseconds, by threads that walk the same fresh
/// keys in step: claims of one key collide, a claimer finds a rival's claim
/// half written, owners land while others start to wait, and the index grows
/// under all of it. Every key still runs its body once.
#[test]
fn threads_racing_to_claim_the_same_fresh_keys_compute_each_once() {
    let start = Barrier::new(4);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                start.wait();
                for x in 0..RACED_KEYS {
                    assert_eq!(raced(x), x + 1);
                }
            });
        }
    });
    let twice: Vec<usize> = (0..RACED_KEYS)
        .filter(|&x| RACED_RUNS[x].load(Ordering::Relaxed) != 1)
        .collect();
    assert!(twice.is_empty(), "bodies ran other than once for {twice:?}");
    let s = raced_stats();
    assert_eq!((s.misses, s.entries), (RACED_KEYS as u64, RACED_KEYS));
    assert_eq!(s.hits, 3 * RACED_KEYS as u64);
    raced_clear();
    assert_eq!(raced_stats().entries, 0);
    assert_eq!(raced(7), 8);
    assert_eq!(
        RACED_RUNS[7].load(Ordering::Relaxed),
        2,
        "a clear drops the value"
    );
}

/// A value whose `Clone` calls the function that caches it, with another
/// key (a handle that looks itself up again, say). Hits clone the value
/// while reading the map, so that inner call runs inside the outer read.
#[derive(Debug, PartialEq)]
struct Echo(u32);

static INNER_CALLS: Runs = Runs::new();

impl Clone for Echo {
    fn clone(&self) -> Self {
        if self.0 < 1_000 {
            INNER_CALLS.hit();
            // A fresh key each time: always a miss inside the read.
            let inner = echo(1_000 + INNER_CALLS.get() as u32);
            assert_eq!(inner.0, 1_000 + INNER_CALLS.get() as u32);
        }
        Echo(self.0)
    }
}

static ECHO_RUNS: Runs = Runs::new();

// Bounded, so that storing a value takes the write lock, which would wait
// for the outer read.
#[memo(max_entries = 64)]
fn echo(n: u32) -> Echo {
    ECHO_RUNS.hit();
    Echo(n)
}

/// Runs `f` on another thread and fails the test if it does not finish in
/// time, instead of hanging it.
fn within_seconds<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("deadlocked: still running after {secs} s"),
    }
}

#[test]
fn a_value_whose_clone_calls_its_own_function_does_not_deadlock() {
    within_seconds(20, || {
        assert_eq!(echo(1), Echo(1));
        let runs = ECHO_RUNS.get();
        for _ in 0..5 {
            // Hits. The first clones `Echo(1)` inside a read of the map (later
            // ones may be served by this thread's front, outside it), and
            // that clone calls `echo(1_002)`, a key nobody computed. Inside
            // the read, that call may not wait for a writer, so it runs its
            // body without caching.
            assert_eq!(echo(1), Echo(1));
        }
        let inner = INNER_CALLS.get();
        assert!(inner >= 5, "every hit cloned: {inner}");
        assert_eq!(
            ECHO_RUNS.get() - runs,
            inner - 1,
            "each inner call ran its body once (the first clone ran outside a read)"
        );
        let before = ECHO_RUNS.get();
        assert_eq!(echo(1_002), Echo(1_002));
        assert_eq!(
            ECHO_RUNS.get(),
            before + 1,
            "the call made inside the read was not cached"
        );
        // Outside any read, the same kind of call is cached as usual.
        let before = ECHO_RUNS.get();
        assert_eq!(echo(5_000), Echo(5_000));
        assert_eq!(echo(5_000), Echo(5_000));
        assert_eq!(ECHO_RUNS.get(), before + 1);
    });
}

#[derive(Debug)]
struct Clears(u32);

static ARMED: AtomicBool = AtomicBool::new(false);

impl Clone for Clears {
    fn clone(&self) -> Self {
        if ARMED.swap(false, Ordering::SeqCst) {
            clearing_clear();
        }
        Clears(self.0)
    }
}

#[memo]
fn clearing(n: u32) -> Clears {
    Clears(n)
}

#[test]
fn clearing_a_cache_from_its_own_value_s_clone_panics_and_wedges_nothing() {
    within_seconds(20, || {
        assert_eq!(clearing(2).0, 2);
        // A hit clones inside the read, and this clone clears.
        ARMED.store(true, Ordering::SeqCst);
        let err = catch_unwind(|| clearing(2)).expect_err("the clear inside the read panics");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("`Clone`") && msg.contains("clearing"), "{msg}");
        // Nothing is wedged: other threads and later calls carry on.
        let other = thread::spawn(|| clearing(7).0);
        assert_eq!(other.join().unwrap(), 7);
        assert_eq!(clearing(3).0, 3);
    });
}

#[memo]
fn counted(x: u32) -> u32 {
    x
}

/// Threads come and go, and their indexes (and hit-counter stripes) are
/// handed to the next ones; every hit is still counted once.
#[test]
fn hits_are_counted_exactly_across_threads_that_come_and_go() {
    assert_eq!(counted(1), 1);
    for _ in 0..40 {
        thread::spawn(|| {
            for _ in 0..3 {
                assert_eq!(counted(1), 1);
            }
        })
        .join()
        .unwrap();
    }
    let s = counted_stats();
    assert_eq!((s.misses, s.hits), (1, 120));
}

#[memo]
fn crowded(x: u32) -> u32 {
    x
}

#[singleton]
fn crowded_instance() -> String {
    "one".to_string()
}

/// More threads alive at once than there are counter stripes: the threads
/// without a stripe of their own share one, and no hit is lost either way.
#[test]
fn hits_are_counted_exactly_with_more_threads_alive_than_stripes() {
    const THREADS: usize = 48;
    const CALLS: u64 = 2_000;
    assert_eq!(crowded(3), 3);
    let _ = crowded_instance();
    let barrier = Barrier::new(THREADS);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..CALLS {
                    assert_eq!(crowded(3), 3);
                    assert_eq!(*crowded_instance(), "one");
                }
            });
        }
    });
    let calls = THREADS as u64 * CALLS;
    assert_eq!((crowded_stats().misses, crowded_stats().hits), (1, calls));
    assert_eq!(
        (
            crowded_instance_stats().misses,
            crowded_instance_stats().hits
        ),
        (1, calls)
    );
}

static ONE_SLOT_RUNS: [AtomicU32; 3] = [const { AtomicU32::new(0) }; 3];
static ONE_SLOT_GATE: std::sync::Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> =
    std::sync::Mutex::new(None);

#[memo(max_entries = 1)]
fn one_slot(x: u32) -> u32 {
    ONE_SLOT_RUNS[x as usize].fetch_add(1, Ordering::SeqCst);
    let gate = ONE_SLOT_GATE.lock().unwrap().take();
    if let Some((started, go)) = gate {
        started.send(()).unwrap();
        go.recv().unwrap();
    }
    x
}

#[test]
fn max_entries_counts_values_not_computations_under_way() {
    let runs = |x: usize| ONE_SLOT_RUNS[x].load(Ordering::SeqCst);
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    *ONE_SLOT_GATE.lock().unwrap() = Some((started_tx, go_rx));
    let slow = thread::spawn(|| one_slot(1));
    started.recv().unwrap();
    // 1 is being computed, which is not an entry: 2 has the one place.
    assert_eq!(one_slot(2), 2);
    assert_eq!(one_slot(2), 2);
    assert_eq!(runs(2), 1, "2 was kept beside the computation of 1");
    go.send(()).unwrap();
    assert_eq!(slow.join().unwrap(), 1);
    // 1 landed and took the place of 2, the least recently used.
    assert_eq!(one_slot(1), 1);
    assert_eq!(runs(1), 1, "1 is cached");
    assert_eq!(one_slot_stats().entries, 1);
    assert_eq!(one_slot_stats().evictions, 1);
    assert_eq!(one_slot(2), 2);
    assert_eq!(runs(2), 2, "2 was evicted for 1");
}

static FORGOTTEN_RUNS: Runs = Runs::new();
static FORGOTTEN_GATE: std::sync::Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>> =
    std::sync::Mutex::new(None);

#[memo]
fn forgotten_midway(x: u32) -> usize {
    FORGOTTEN_RUNS.hit();
    let gate = FORGOTTEN_GATE.lock().unwrap().take();
    if let Some((started, go)) = gate {
        started.send(()).unwrap();
        go.recv().unwrap();
    }
    x as usize * 100 + FORGOTTEN_RUNS.get()
}

#[test]
fn forgetting_a_key_during_its_computation_keeps_its_value_from_being_stored() {
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    *FORGOTTEN_GATE.lock().unwrap() = Some((started_tx, go_rx));
    let owner = thread::spawn(|| forgotten_midway(1));
    started.recv().unwrap();
    let waiter = thread::spawn(|| forgotten_midway(1));
    thread::sleep(Duration::from_millis(50)); // the waiter is parked by now
    assert!(
        forgotten_midway_forget(1),
        "a computation under way counts as something forgotten"
    );
    assert!(!forgotten_midway_forget(1), "and only once");
    go.send(()).unwrap();
    assert_eq!(owner.join().unwrap(), 101, "the owner gets its value");
    assert_eq!(waiter.join().unwrap(), 101, "so does its waiter");
    assert_eq!(FORGOTTEN_RUNS.get(), 1);
    assert_eq!(forgotten_midway_stats().entries, 0, "but it is not stored");
    assert_eq!(forgotten_midway(1), 102, "the next call computes afresh");
    assert_eq!(forgotten_midway(1), 102);
    assert_eq!(forgotten_midway_stats().entries, 1);
}
