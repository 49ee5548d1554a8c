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

/// Two sessions calling an `allow_widgets` fn at once (linux: the test
/// waits until the second session's thread sleeps on the computation).
#[cfg(target_os = "linux")]
mod widgets_at_once {
    use super::*;
    use std::sync::OnceLock;

    static WIDGET_RUNS: Runs = Runs::new();
    static STARTED_W: Barrier = Barrier::new(2);
    static WAITER: OnceLock<i32> = OnceLock::new();

    /// Waits (a few seconds at most) until thread `tid` of this process
    /// sleeps: a session thread that called into a computation in progress
    /// is then parked on it.
    fn until_asleep(tid: i32) {
        let path = format!("/proc/self/task/{tid}/stat");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let stat = std::fs::read_to_string(&path).unwrap_or_default();
            // The state follows the command name, which is in parentheses.
            let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
            if state == Some('S') {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the second session never waited"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[memo(allow_widgets = true)]
    fn widget_report(x: u32) -> u32 {
        WIDGET_RUNS.hit();
        if WIDGET_RUNS.get() == 1 {
            // The other session calls now, and waits for this computation.
            STARTED_W.wait();
            until_asleep(*WAITER.get().expect("set before the barrier"));
        }
        if st::checkbox("Double it") {
            x * 2
        } else {
            x
        }
    }

    /// The first computation of an `allow_widgets` fn learns its widgets
    /// only as it runs, so it lands under another key than the one it was
    /// looked up by; a session that waited on it must find it there, not
    /// compute again.
    #[test]
    fn two_sessions_calling_a_widget_fn_at_once_run_its_body_once() {
        let script = || st::write(widget_report(4));
        let (first, second): (Output, Output) = std::thread::scope(|s| {
            let a = s.spawn(|| Session::new().run(script).clone());
            let b = s.spawn(|| {
                WAITER.set(unsafe { libc::gettid() }).unwrap();
                STARTED_W.wait();
                Session::new().run(script).clone()
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(WIDGET_RUNS.get(), 1, "one computation for both sessions");
        assert_eq!(first.main.len(), 2, "{first:?}");
        assert_eq!(first, second, "the waiting session drew the same page");
    }
}
