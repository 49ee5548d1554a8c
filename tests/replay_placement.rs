//! Where replayed elements land: the caller's current container, blocks the
//! fn created itself, the sidebar; nested cached fns; blocks from outside.

use memo_runtime::st::Container;
use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, singleton, st};
use memo_suite::Runs;
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn text(body: &str) -> Value {
    json!({"element": {"type": "text", "body": body}})
}

fn container(children: Vec<Value>) -> Value {
    json!({"block": {"kind": {"type": "container", "border": false}, "children": children}})
}

static GREET: Runs = Runs::new();

#[memo]
fn greet(name: &str) -> usize {
    GREET.hit();
    st::text(format!("hello {name}"));
    name.len()
}

#[test]
fn a_cached_fn_writes_into_the_container_the_caller_opened() {
    let script = || {
        st::text("top");
        let c = st::container();
        let n = c.with(|| greet("ann"));
        st::write(n);
    };
    let expected = json!({"main": [
        text("top"),
        container(vec![text("hello ann")]),
        {"element": {"type": "markdown", "body": "3"}},
    ], "sidebar": []});
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    // Called elsewhere, the replay lands where it is called from.
    let elsewhere = s.run(|| {
        st::sidebar().with(|| greet("ann"));
    });
    assert_eq!(
        tree(elsewhere),
        json!({"main": [], "sidebar": [text("hello ann")]})
    );
    assert_eq!(GREET.get(), 1);
}

static BOXED: Runs = Runs::new();

#[memo]
fn boxed() -> u8 {
    BOXED.hit();
    let c = st::bordered_container();
    c.text("written on the handle");
    c.with(|| st::caption("written inside `with`"));
    let cols = st::columns(2);
    cols[1].text("right");
    cols[0].with(|| st::text("left"));
    st::sidebar().markdown("to the sidebar");
    let e = st::expander("More");
    e.with(|| {
        let inner = st::container();
        inner.text("nested");
    });
    1
}

#[test]
fn blocks_created_inside_the_fn_and_the_sidebar_replay() {
    let expected = json!({
        "main": [
            {"block": {"kind": {"type": "container", "border": true}, "children": [
                text("written on the handle"),
                {"element": {"type": "caption", "body": "written inside `with`"}},
            ]}},
            {"block": {"kind": {"type": "columns"}, "children": [
                {"block": {"kind": {"type": "column"}, "children": [text("left")]}},
                {"block": {"kind": {"type": "column"}, "children": [text("right")]}},
            ]}},
            {"block": {"kind": {"type": "expander", "label": "More", "expanded": false}, "children": [
                container(vec![text("nested")]),
            ]}},
        ],
        "sidebar": [{"element": {"type": "markdown", "body": "to the sidebar"}}],
    });
    let mut s = Session::new();
    assert_eq!(
        tree(s.run(|| {
            boxed();
        })),
        expected,
        "miss"
    );
    assert_eq!(
        tree(s.run(|| {
            boxed();
        })),
        expected,
        "hit"
    );
    assert_eq!(BOXED.get(), 1);
}

static SIDE: Runs = Runs::new();

#[singleton]
fn side_panel() -> u8 {
    SIDE.hit();
    st::sidebar().with(|| st::text("implicit, in the sidebar"));
    st::text("implicit, in the caller's container");
    1
}

#[test]
fn with_sidebar_inside_the_fn_replays_into_the_sidebar() {
    // Called from inside a container, so "the caller's container" and "the
    // sidebar" are told apart.
    let script = || {
        st::container().with(side_panel);
    };
    let expected = json!({
        "main": [container(vec![text("implicit, in the caller's container")])],
        "sidebar": [text("implicit, in the sidebar")],
    });
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    assert_eq!(SIDE.get(), 1);
}

static FOREIGN: Runs = Runs::new();

#[memo]
fn writes_into(_c: Container, x: u8) -> u8 {
    FOREIGN.hit();
    _c.text("into a block from outside");
    x
}

#[test]
fn a_block_from_outside_the_fn_is_refused_when_recording() {
    let script = || {
        let c = st::container();
        writes_into(c, 1);
    };
    let message =
        "While running `writes_into()`, a streamlit element is called on some layout block\n\
        created outside the function. This is incompatible with replaying the cached\n\
        effect of that element, because the referenced block might not exist when\n\
        the replay happens.\n\n\
        How to fix this:\n\
        * Move the creation of that layout block inside `writes_into()`.\n\
        * Move the call to the streamlit element outside of `writes_into()`.\n\
        * Remove the `#[memo]` attribute from `writes_into()`.";
    let expected = json!({"main": [
        container(vec![]),
        {"element": {"type": "exception", "name": "CacheReplayClosureError", "message": message}},
    ], "sidebar": []});
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "reported on the first run");
    assert_eq!(
        tree(s.run(script)),
        expected,
        "and every run: nothing was cached"
    );
    assert_eq!(FOREIGN.get(), 2);
    assert_eq!(writes_into_stats().entries, 0);
    // Outside a session there is nothing to replay, so the fn just caches.
    assert_eq!(writes_into(st::sidebar(), 7), 7);
    assert_eq!(writes_into(st::sidebar(), 7), 7);
    assert_eq!(FOREIGN.get(), 3);
}

static INNER: Runs = Runs::new();
static OUTER: Runs = Runs::new();

#[singleton]
fn inner(x: u32) -> u32 {
    INNER.hit();
    st::text(format!("inner {x}"));
    x
}

#[memo]
fn outer(x: u32) -> u32 {
    OUTER.hit();
    let c = st::container();
    let y = c.with(|| inner(x));
    st::text(format!("outer {x}"));
    *y + 1
}

#[test]
fn an_outer_recording_holds_what_inner_fns_drew_or_replayed() {
    let script = || {
        outer(1);
    };
    let expected = json!({"main": [
        container(vec![text("inner 1")]),
        text("outer 1"),
    ], "sidebar": []});
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "both miss");
    assert_eq!((OUTER.get(), INNER.get()), (1, 1));

    // The outer recomputes; the inner is a hit and replays into the outer's
    // container, which the outer records.
    outer_clear();
    assert_eq!(tree(s.run(script)), expected, "outer miss, inner hit");
    assert_eq!((OUTER.get(), INNER.get()), (2, 1));
    assert_eq!(inner_stats().hits, 1);

    // The outer's hit reproduces the inner's element without calling it.
    assert_eq!(tree(s.run(script)), expected, "outer hit");
    assert_eq!(inner_stats().hits, 1, "inner was not called");
    assert_eq!(OUTER.get(), 2);
}

#[test]
fn a_panic_in_the_script_is_shown_as_an_exception() {
    let mut s = Session::new();
    let out = s.run(|| {
        let c = st::container();
        c.with(|| {
            st::text("before");
            panic!("boom");
        });
    });
    assert_eq!(
        tree(out),
        json!({"main": [
            container(vec![text("before")]),
            {"element": {"type": "exception", "name": "panic", "message": "boom"}},
        ], "sidebar": []})
    );
    // The session is usable again.
    assert_eq!(
        tree(s.run(|| st::text("after"))),
        json!({"main": [text("after")], "sidebar": []})
    );
}

#[test]
fn a_container_handle_from_an_earlier_run_is_an_error() {
    let mut s = Session::new();
    let mut kept = None;
    s.run(|| kept = Some(st::container()));
    let out = tree(s.run(|| kept.unwrap().text("late")));
    assert_eq!(out["main"][0]["element"]["name"], "StaleContainer");
}

#[test]
fn an_empty_slot_holds_the_last_element_written() {
    let mut s = Session::new();
    let out = s.run(|| {
        let e = st::empty();
        e.text("one");
        e.text("two");
    });
    assert_eq!(
        tree(out),
        json!({"main": [{"block": {"kind": {"type": "empty"}, "children": [text("two")]}}], "sidebar": []})
    );
}

static PLAIN: Runs = Runs::new();

#[memo]
fn plain(x: u64) -> u64 {
    PLAIN.hit();
    st::text("ignored outside a session");
    x * 2
}

#[test]
fn outside_a_session_nothing_is_recorded_and_caching_is_unchanged() {
    assert_eq!(plain(2), 4);
    assert_eq!(plain(2), 4);
    assert_eq!(PLAIN.get(), 1);
    assert!(memo_runtime::ui::snapshot().is_none());
    // The entry was computed outside a session, so it has nothing to replay.
    let mut s = Session::new();
    assert_eq!(
        tree(s.run(|| {
            plain(2);
        })),
        json!({"main": [], "sidebar": []})
    );
    assert_eq!(PLAIN.get(), 1);
    // A widget outside a session returns its default.
    assert!(!st::checkbox("x"));
    assert_eq!(st::slider("n", 0.0, 9.0, 4.0), 4.0);
}

#[memo]
fn inner_writes_into(_c: Container) -> u8 {
    _c.text("into the outer's block");
    1
}

#[memo]
fn outer_passes_its_block() -> u8 {
    let c = st::container();
    inner_writes_into(c)
}

#[test]
fn the_closure_error_names_the_fn_that_cannot_replay() {
    let mut s = Session::new();
    let out = tree(s.run(|| {
        outer_passes_its_block();
    }));
    // The outer created the block, so it could replay the call; the inner
    // could not.
    let message = out["main"][1]["element"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("While running `inner_writes_into()`"),
        "{message}"
    );
    assert_eq!(outer_passes_its_block_stats().entries, 0);
}

static FAILS: Runs = Runs::new();

#[memo]
fn fallible(x: u8) -> Result<u8, String> {
    FAILS.hit();
    st::warning("trying");
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x)
    }
}

#[test]
fn an_err_records_nothing_and_caches_nothing() {
    let script = || {
        if let Err(e) = fallible(0) {
            st::error(e);
        }
    };
    let expected = json!({"main": [
        {"element": {"type": "alert", "kind": "warning", "body": "trying"}},
        {"element": {"type": "alert", "kind": "error", "body": "zero"}},
    ], "sidebar": []});
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected);
    assert_eq!(tree(s.run(script)), expected, "computed again, drawn live");
    assert_eq!(FAILS.get(), 2);
    assert_eq!(fallible_stats().entries, 0);
}

static PANELS: Runs = Runs::new();

#[singleton]
fn panel() -> Container {
    PANELS.hit();
    let c = st::container();
    c.text("panel");
    c
}

#[memo]
fn panel_content(x: u8) -> u8 {
    st::text("panel");
    x
}

#[test]
fn a_container_a_cached_fn_returned_is_refused_alike_on_the_miss_and_the_hit() {
    let script = || panel().text("written by the caller");
    let mut s = Session::new();
    let miss = tree(s.run(script));
    let hit = tree(s.run(script));
    assert_eq!(PANELS.get(), 1);
    assert_eq!(miss, hit, "the same page on both runs");
    assert_eq!(miss["main"][0], container(vec![text("panel")]));
    let error = &miss["main"][1]["element"];
    assert_eq!(error["name"], "CachedContainerError", "{miss}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "A container created inside the cached fn `panel()` was used after `panel()` returned."
        ),
        "{message}"
    );
    assert!(message.contains("`c.with(|| panel(..))`"), "{message}");

    // The cure it names: the container outside, the fn called inside it.
    let out = tree(s.run(|| {
        let c = st::container();
        c.with(|| panel_content(1));
        c.text("written by the caller");
    }));
    assert_eq!(out["main"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(
        out["main"][0]["block"]["children"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{out}"
    );
}
