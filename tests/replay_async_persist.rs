//! Element replay where the other features meet it: `async fn`s draw and
//! replay inside a session (spinner and widgets too), and a persisted entry
//! carries what its fn drew, so a hit served from disk draws it again.

use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, singleton, st};
use memo_suite::Runs;
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn markdown(body: &str) -> Value {
    json!({"element": {"type": "markdown", "body": body}})
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

/// Scripts are sync; they drive async code on their own thread.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}

/// Returns `Pending` once (waking itself), like a real I/O wait would.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

static FETCH: Runs = Runs::new();

#[memo]
async fn fetch(n: u32) -> Result<u32, String> {
    FETCH.hit();
    st::markdown(format!("fetched {n}"));
    // A real suspension: the drawing must survive it.
    yield_once().await;
    st::sidebar().markdown("from the sidebar");
    Ok(n * 2)
}

#[test]
fn an_async_memo_draws_on_a_miss_and_replays_on_a_hit() {
    let script = || {
        let v = block_on(fetch(21)).unwrap();
        st::write(v);
    };
    let expected = json!({
        "main": [markdown("fetched 21"), markdown("42")],
        "sidebar": [markdown("from the sidebar")],
    });
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    assert_eq!(FETCH.get(), 1);
}

static SPIN: Runs = Runs::new();
static SEEN: std::sync::Mutex<Vec<Value>> = std::sync::Mutex::new(Vec::new());

#[memo(show_spinner = "Loading...")]
async fn spun() -> u32 {
    SPIN.hit();
    yield_once().await;
    let now = memo_runtime::ui::snapshot().map(|o| tree(&o));
    SEEN.lock().unwrap().extend(now);
    7
}

#[test]
fn an_async_miss_shows_its_spinner_until_the_value_is_ready() {
    let script = || {
        st::write(block_on(spun()));
    };
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), main_only(vec![markdown("7")]));
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the body looked once");
    assert_eq!(
        seen[0]["main"][0]["element"],
        json!({"type": "spinner", "text": "Loading...", "show_time": false}),
        "while the body ran, after an await"
    );
    assert_eq!(tree(s.run(script)), main_only(vec![markdown("7")]), "hit");
    assert_eq!(SPIN.get(), 1);
}

const NUKE: &str = "Nuke the value";
static PLUS_ONE: Runs = Runs::new();

#[memo(allow_widgets = true)]
async fn plus_one(x: i64) -> i64 {
    PLUS_ONE.hit();
    yield_once().await;
    if st::checkbox(NUKE) {
        0
    } else {
        x + 1
    }
}

#[test]
fn an_async_allow_widgets_fn_keys_on_widget_values() {
    let script = || st::write(block_on(plus_one(2)));
    let mut s = Session::new();
    let out = tree(s.run(script));
    assert_eq!(out["main"][1], markdown("3"));
    tree(s.run(script));
    assert_eq!(PLUS_ONE.get(), 1, "a hit");
    s.set(NUKE, true).unwrap();
    assert_eq!(tree(s.run(script))["main"][1], markdown("0"), "a new input");
    assert_eq!(PLUS_ONE.get(), 2);
    s.set(NUKE, false).unwrap();
    assert_eq!(
        tree(s.run(script))["main"][1],
        markdown("3"),
        "back to the first entry"
    );
    assert_eq!(PLUS_ONE.get(), 2);
    // Outside a session the widget is at its default and caching is as usual.
    assert_eq!(block_on(plus_one(2)), 3);
}

static MODEL: Runs = Runs::new();

#[singleton]
async fn model() -> String {
    MODEL.hit();
    st::success("Loaded the model");
    "model".to_string()
}

#[test]
fn an_async_singleton_replays_too() {
    let script = || {
        let m = block_on(model());
        st::write(m.as_str());
    };
    let mut s = Session::new();
    let first = tree(s.run(script));
    assert_eq!(first["main"].as_array().unwrap().len(), 2);
    assert_eq!(first["main"][0]["element"]["kind"], "success");
    assert_eq!(first["main"][1], markdown("model"));
    assert_eq!(tree(s.run(script)), first, "hit draws the same");
    assert_eq!(MODEL.get(), 1);
}

// ---- persisted entries carry their drawing ------------------------------------------------

static TABLE: Runs = Runs::new();

// Memory keeps one entry, so asking for a key again after another one is a
// disk hit: the body does not run, the drawing comes from the file.
#[memo(persist = "disk", max_entries = 1)]
fn table(n: u32) -> Vec<u32> {
    TABLE.hit();
    st::markdown(format!("table {n}"));
    (0..n).collect()
}

#[test]
fn a_disk_hit_draws_what_the_body_drew() {
    let dir = std::env::temp_dir().join(format!("memo-replay-persist-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    memo_runtime::persist::set_dir(&dir).unwrap();
    let script = |n: u32| {
        move || {
            let t = table(n);
            st::write(t.len());
        }
    };
    let three = main_only(vec![markdown("table 3"), markdown("3")]);
    let mut s = Session::new();
    assert_eq!(tree(s.run(script(3))), three, "miss");
    s.run(script(2)); // pushes 3 out of memory
    assert_eq!(TABLE.get(), 2);
    assert_eq!(tree(s.run(script(3))), three, "disk hit, drawn again");
    assert_eq!(TABLE.get(), 2, "the body did not run");
    assert_eq!(table_stats().disk_hits, 1);
    table_clear();
    let _ = std::fs::remove_dir_all(&dir);
}
