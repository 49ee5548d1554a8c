//! A session calling a cached fn that another session is computing waits
//! for that computation, and shows the fn's spinner while it waits
//! (Streamlit's spinner wraps the wait for the compute lock as well as the
//! computation), then draws what the computation drew.
//!
//! Each test runs two sessions on two threads: one computes, held inside
//! the body until the test lets it go, and the other waits. The waiting
//! session's page is taken on its own thread when it starts to wait (the
//! only thread that can read it), through a hook for tests.

use memo_runtime::ui::{self, Output, Session};
use memo_runtime::{memo, singleton, st};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn spinner(text: &str) -> Value {
    json!({"element": {"type": "spinner", "text": text, "show_time": false}})
}

fn markdown(body: &str) -> Value {
    json!({"element": {"type": "markdown", "body": body}})
}

fn header(body: &str) -> Value {
    json!({"element": {"type": "header", "body": body}})
}

fn text(body: &str) -> Value {
    json!({"element": {"type": "text", "body": body}})
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

// ---- harness -------------------------------------------------------------------------------

/// What the tests wait on: gates that bodies arrive at and are let through,
/// and the pages of sessions that started waiting, by thread.
#[derive(Default)]
struct Board {
    arrived: Vec<&'static str>,
    released: Vec<&'static str>,
    waiting: HashMap<ThreadId, Vec<Output>>,
}

static BOARD: Mutex<Option<Board>> = Mutex::new(None);
static CHANGED: Condvar = Condvar::new();

fn with_board<R>(f: impl FnOnce(&mut Board) -> R) -> R {
    let mut b = BOARD.lock().unwrap();
    let r = f(b.get_or_insert_with(Board::default));
    CHANGED.notify_all();
    r
}

fn until<R>(what: &str, mut ready: impl FnMut(&mut Board) -> Option<R>) -> R {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut b = BOARD.lock().unwrap();
    loop {
        if let Some(r) = ready(b.get_or_insert_with(Board::default)) {
            return r;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting until {what}");
        b = CHANGED.wait_timeout(b, left).unwrap().0;
    }
}

/// Called by a body: tells the test it computes, and waits to be let go.
fn hold(gate: &'static str) {
    with_board(|b| b.arrived.push(gate));
    until(gate, |b| b.released.contains(&gate).then_some(()));
}

/// The hook: a session thread that starts waiting leaves its page.
fn on_wait() {
    let page = ui::snapshot().expect("called inside a session's run");
    let me = std::thread::current().id();
    with_board(|b| b.waiting.entry(me).or_default().push(page));
}

struct Seen {
    /// The computing session's page.
    computed: Value,
    /// The waiting session's page while it waited.
    during: Value,
    /// The waiting session's page once its run ended.
    after: Value,
}

/// Runs `computing` in one session until its body holds at `gate`, then
/// `waiting` in another, and lets the body go once that one waits.
fn two_sessions(
    gate: &'static str,
    computing: impl Fn() + Sync,
    waiting: impl Fn() + Sync,
) -> Seen {
    ui::on_wait_for_tests(Some(on_wait));
    std::thread::scope(|s| {
        let a = s.spawn(|| tree(Session::new().run(&computing)));
        until("the first session computes", |b| {
            b.arrived.contains(&gate).then_some(())
        });
        let b = s.spawn(|| tree(Session::new().run(&waiting)));
        let me = b.thread().id();
        let pages = until("the second session waits", |b| b.waiting.remove(&me));
        assert_eq!(pages.len(), 1, "it waited once");
        with_board(|b| b.released.push(gate));
        Seen {
            computed: a.join().unwrap(),
            during: tree(&pages[0]),
            after: b.join().unwrap(),
        }
    })
}

// ---- a sync fn -----------------------------------------------------------------------------

static REPORT_RUNS: Mutex<u32> = Mutex::new(0);

#[memo]
fn report(n: u32) -> u32 {
    *REPORT_RUNS.lock().unwrap() += 1;
    hold("report");
    st::header("Report");
    n * 2
}

#[test]
fn a_session_waiting_on_another_shows_the_spinner_then_the_replay() {
    let script = || st::write(report(21));
    let seen = two_sessions("report", script, script);
    assert_eq!(
        seen.during,
        main_only(vec![spinner("Running `report(...)`.")]),
        "while it waits"
    );
    let page = main_only(vec![header("Report"), markdown("42")]);
    assert_eq!(seen.computed, page);
    assert_eq!(seen.after, page, "the spinner is gone, the replay is there");
    assert_eq!(*REPORT_RUNS.lock().unwrap(), 1, "one computation");
    assert_eq!(report_stats().misses, 1);
}

// ---- show_spinner ---------------------------------------------------------------------------

#[memo(show_spinner = "Fetching the prices...")]
fn prices(day: u32) -> u32 {
    hold("prices");
    day
}

#[singleton(show_spinner = false)]
fn quiet_model() -> String {
    hold("quiet_model");
    st::text("model loaded");
    "model".into()
}

#[test]
fn a_waiting_session_shows_the_fns_own_spinner_text_or_none() {
    let script = || st::write(prices(3));
    let seen = two_sessions("prices", script, script);
    assert_eq!(
        seen.during,
        main_only(vec![spinner("Fetching the prices...")])
    );
    assert_eq!(seen.after, main_only(vec![markdown("3")]));

    let script = || st::write(quiet_model().as_str());
    let seen = two_sessions("quiet_model", script, script);
    assert_eq!(seen.during, main_only(vec![]), "`show_spinner = false`");
    assert_eq!(
        seen.after,
        main_only(vec![text("model loaded"), markdown("model")])
    );
}

// ---- an async fn ---------------------------------------------------------------------------

#[memo]
async fn fetch(url: &'static str) -> String {
    hold("fetch");
    st::text(format!("fetched {url}"));
    url.to_uppercase()
}

#[test]
fn an_async_waiter_shows_the_spinner_then_the_replay() {
    let script = || st::write(futures::executor::block_on(fetch("a")));
    let seen = two_sessions("fetch", script, script);
    assert_eq!(
        seen.during,
        main_only(vec![spinner("Running `fetch(...)`.")])
    );
    let page = main_only(vec![text("fetched a"), markdown("A")]);
    assert_eq!(seen.computed, page);
    assert_eq!(seen.after, page);
}

// ---- in an empty slot ----------------------------------------------------------------------

#[memo]
fn menu(n: u32) -> u32 {
    hold("menu");
    st::sidebar().text("menu");
    n
}

#[test]
fn a_waiting_spinner_in_an_empty_slot_gives_back_what_the_slot_held() {
    let script = || {
        let slot = st::empty();
        slot.text("placeholder");
        slot.with(|| menu(1));
    };
    let seen = two_sessions("menu", script, script);
    let slot = |child: Value| json!({"block": {"kind": {"type": "empty"}, "children": [child]}});
    assert_eq!(
        seen.during,
        main_only(vec![slot(spinner("Running `menu(...)`."))]),
        "the spinner stands in for the placeholder"
    );
    let page = json!({"main": [slot(text("placeholder"))], "sidebar": [text("menu")]});
    assert_eq!(seen.computed, page);
    assert_eq!(seen.after, page, "the placeholder is back");
}

// ---- outermost only, never recorded --------------------------------------------------------

#[memo]
fn inner_rates(n: u32) -> u32 {
    hold("inner_rates");
    st::text("rates");
    n
}

#[memo]
fn outer_summary(n: u32) -> u32 {
    st::text("summary");
    inner_rates(n) + 1
}

#[test]
fn a_wait_inside_a_computing_fn_shows_only_the_outer_spinner_and_is_not_recorded() {
    let seen = two_sessions(
        "inner_rates",
        || st::write(inner_rates(5)),
        || st::write(outer_summary(5)),
    );
    assert_eq!(
        seen.during,
        main_only(vec![
            spinner("Running `outer_summary(...)`."),
            text("summary"),
        ]),
        "the outer miss spins; its wait on the inner fn adds none"
    );
    let page = main_only(vec![text("summary"), text("rates"), markdown("6")]);
    assert_eq!(seen.after, page);
    // The outer fn's recording holds what the page shows, and no spinner.
    let hit = tree(Session::new().run(|| st::write(outer_summary(5))));
    assert_eq!(hit, page);
}
