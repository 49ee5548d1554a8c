//! Two users of an app on two threads: the second waits for the first's
//! computation and replays what it drew.

use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, st};
use memo_suite::Runs;
use std::sync::Barrier;
use std::time::Duration;

static RUNS: Runs = Runs::new();
static STARTED: Barrier = Barrier::new(2);

#[memo]
fn slow_report(n: u32) -> u32 {
    RUNS.hit();
    // Let the other session call while this one is still computing.
    STARTED.wait();
    std::thread::sleep(Duration::from_millis(200));
    st::header("Report");
    st::bar_chart(st::DataFrame::from_columns([("n", vec![n])]));
    n * 2
}

#[test]
fn a_session_waiting_on_another_sessions_computation_replays_it() {
    let script = || st::write(slow_report(21));
    let (first, second): (Output, Output) = std::thread::scope(|s| {
        let a = s.spawn(|| Session::new().run(script).clone());
        let b = s.spawn(|| {
            STARTED.wait();
            Session::new().run(script).clone()
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(RUNS.get(), 1, "one computation for both sessions");
    assert_eq!(first.main.len(), 3, "{first:?}");
    assert_eq!(first, second, "the waiting session drew the same page");
    let stats = slow_report_stats();
    assert_eq!((stats.misses, stats.hits), (1, 1));
}
