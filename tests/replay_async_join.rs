//! Async cached fns computing at once inside one script (`join`): each
//! records what it drew, not what the other drew meanwhile, so a hit draws
//! the page the miss drew; one dropped half way leaves nothing recording.

use futures::future::join;
use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, st};
use memo_suite::Runs;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn text(body: &str) -> Value {
    json!({"element": {"type": "text", "body": body}})
}

fn markdown(body: &str) -> Value {
    json!({"element": {"type": "markdown", "body": body}})
}

fn expander(label: &str, children: Vec<Value>) -> Value {
    json!({"block": {"kind": {"type": "expander", "label": label, "expanded": false},
        "children": children}})
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

/// Scripts are sync; they drive async code on their own thread.
fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Returns `Pending` once (waking itself), like a real I/O wait would: the
/// other future of a `join` runs meanwhile.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

// ---- each fn draws its own section ---------------------------------------------------------

static PRICES: Runs = Runs::new();
static NEWS: Runs = Runs::new();

#[memo]
async fn prices(day: u32) -> u32 {
    PRICES.hit();
    let section = st::expander("Prices");
    section.text(format!("prices of day {day}: loading"));
    yield_once().await;
    section.text("prices: done");
    day * 10
}

#[memo]
async fn news(day: u32) -> u32 {
    NEWS.hit();
    let section = st::expander("News");
    section.text(format!("news of day {day}: loading"));
    yield_once().await;
    section.text("news: done");
    day
}

fn prices_section() -> Value {
    expander(
        "Prices",
        vec![text("prices of day 3: loading"), text("prices: done")],
    )
}

fn news_section() -> Value {
    expander(
        "News",
        vec![text("news of day 3: loading"), text("news: done")],
    )
}

#[test]
fn two_async_fns_joined_in_a_script_replay_the_page_their_miss_drew() {
    let script = || {
        let (p, n) = block_on(join(prices(3), news(3)));
        st::write(p + n);
    };
    let page = main_only(vec![prices_section(), news_section(), markdown("33")]);
    let mut s = Session::new();
    assert_eq!(
        tree(s.run(script)),
        page,
        "miss: both computed, interleaved"
    );
    assert_eq!((PRICES.get(), NEWS.get()), (1, 1));
    assert_eq!(tree(s.run(script)), page, "hit: the same page");
    assert_eq!((PRICES.get(), NEWS.get()), (1, 1), "both were hits");

    // Each recording holds its own fn's section only.
    let mut other = Session::new();
    assert_eq!(
        tree(other.run(|| {
            block_on(prices(3));
        })),
        main_only(vec![prices_section()])
    );
    assert_eq!(
        tree(other.run(|| {
            block_on(news(3));
        })),
        main_only(vec![news_section()])
    );
    assert_eq!((PRICES.get(), NEWS.get()), (1, 1));
}

// ---- both draw into the caller's container -------------------------------------------------

/// The arguments each body ran with (the tests call with different ones).
static RAN: std::sync::Mutex<Vec<(&str, u32)>> = std::sync::Mutex::new(Vec::new());

fn runs(f: &str, n: u32) -> usize {
    RAN.lock().unwrap().iter().filter(|&&r| r == (f, n)).count()
}

#[memo]
async fn up(n: u32) -> u32 {
    RAN.lock().unwrap().push(("up", n));
    st::text("up: start");
    yield_once().await;
    st::text("up: end");
    n + 1
}

#[memo]
async fn down(n: u32) -> u32 {
    RAN.lock().unwrap().push(("down", n));
    st::text("down: start");
    yield_once().await;
    st::text("down: end");
    n - 1
}

#[memo]
async fn both(n: u32) -> u32 {
    let (a, b) = join(up(n), down(n)).await;
    a + b
}

#[test]
fn interleaved_drawing_goes_to_each_fns_own_recording() {
    let mut s = Session::new();
    let miss = tree(s.run(|| {
        block_on(join(up(10), down(10)));
    }));
    assert_eq!(
        miss,
        main_only(vec![
            text("up: start"),
            text("down: start"),
            text("up: end"),
            text("down: end"),
        ]),
        "as they drew it"
    );
    let up_only = tree(s.run(|| {
        block_on(up(10));
    }));
    assert_eq!(
        up_only,
        main_only(vec![text("up: start"), text("up: end")]),
        "`up` replays what it drew, and nothing of `down`'s"
    );
    let down_only = tree(s.run(|| {
        block_on(down(10));
    }));
    assert_eq!(
        down_only,
        main_only(vec![text("down: start"), text("down: end")])
    );
    assert_eq!((runs("up", 10), runs("down", 10)), (1, 1));
}

#[test]
fn an_outer_fn_records_the_interleaving_of_the_inner_fns_it_joins() {
    let script = || {
        st::write(block_on(both(20)));
    };
    let page = main_only(vec![
        text("up: start"),
        text("down: start"),
        text("up: end"),
        text("down: end"),
        markdown("40"),
    ]);
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), page, "miss");
    assert_eq!(tree(s.run(script)), page, "hit: the outer recording");
    let inner = tree(s.run(|| {
        block_on(down(20));
    }));
    assert_eq!(
        inner,
        main_only(vec![text("down: start"), text("down: end")]),
        "the inner fns have recordings of their own"
    );
    assert_eq!((runs("up", 20), runs("down", 20)), (1, 1));
}

// ---- a computation that never completes ----------------------------------------------------

static STALLED: Runs = Runs::new();

#[memo]
async fn stalled(n: u32) -> u32 {
    STALLED.hit();
    st::text("stalled: started");
    std::future::pending::<()>().await;
    n
}

/// What the scripts below draw: the container made before the fn was
/// polled takes what is drawn into it after, which no recording holds.
fn drawn_around_a_stalled_fn() -> Value {
    main_only(vec![
        json!({"block": {"kind": {"type": "container", "border": false},
            "children": [text("drawn after")]}}),
        text("stalled: started"),
        text("and this"),
    ])
}

/// Polls `f` once, as a `select` or a timeout that gave up on it would.
fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_computation_dropped_half_way_leaves_nothing_recording() {
    let script = || {
        let c = st::container();
        {
            let f = pin!(stalled(1));
            assert!(poll_once(f).is_pending());
        } // dropped: the computation is cancelled
        c.text("drawn after");
        st::text("and this");
    };
    let out = tree(Session::new().run(script));
    assert_eq!(out, drawn_around_a_stalled_fn());
}

#[test]
fn a_computation_left_pending_leaves_nothing_recording() {
    let script = || {
        let c = st::container();
        let mut kept = Box::pin(stalled(2));
        assert!(poll_once(kept.as_mut()).is_pending());
        // Never polled again before the script goes on.
        c.text("drawn after");
        st::text("and this");
        drop(kept);
    };
    let out = tree(Session::new().run(script));
    assert_eq!(out, drawn_around_a_stalled_fn());
}
