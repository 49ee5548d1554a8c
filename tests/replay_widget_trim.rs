//! An `allow_widgets` fn keeps, beside its store, a tree of the widget
//! values it computed for; an entry that leaves the store by eviction
//! (`max_entries`) or expiry (`ttl`) takes its branch of the tree with it,
//! so a long-running app's trees stay as small as its stores.

use memo_runtime::replay::widget_tree_size_for_tests as tree_size;
use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, st};
use memo_suite::Runs;
use serde_json::{json, Value};
use std::time::Duration;

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn slider(label: &str, min: f64, max: f64, value: f64) -> Value {
    json!({"element": {"type": "widget", "id": format!("slider:{label}"), "label": label,
        "spec": {"kind": "slider", "min": min, "max": max}, "value": {"number": value}}})
}

fn markdown(body: &str) -> Value {
    json!({"element": {"type": "markdown", "body": body}})
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

static SCALED: Runs = Runs::new();

#[memo(allow_widgets = true, max_entries = 3)]
fn scaled(x: u32) -> String {
    SCALED.hit();
    let k = st::slider("Scale", 0.0, 1000.0, 1.0);
    format!("{x} scaled by {k} is {}", f64::from(x) * k)
}

fn scaled_page(k: f64) -> Value {
    main_only(vec![
        slider("Scale", 0.0, 1000.0, k),
        markdown(&format!("2 scaled by {k} is {}", 2.0 * k)),
    ])
}

#[test]
fn a_bounded_widget_fn_keeps_its_tree_as_small_as_its_store() {
    let script = || st::write(scaled(2));
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), scaled_page(1.0));
    for k in 0..300 {
        let k = f64::from(k) + 0.5;
        s.set("Scale", k).unwrap();
        assert_eq!(tree(s.run(script)), scaled_page(k));
    }
    assert_eq!(scaled_stats().entries, 3);
    let (nodes, keys) = tree_size("scaled");
    // One node asking for the slider, one leaf per value still stored.
    assert_eq!(
        (nodes, keys),
        (4, 3),
        "the tree follows the store, not every value ever drawn"
    );

    // A value whose entry was evicted computes again, right, and is kept.
    let before = SCALED.get();
    s.set("Scale", 7.5).unwrap();
    assert_eq!(tree(s.run(script)), scaled_page(7.5), "computed again");
    assert_eq!(SCALED.get(), before + 1);
    assert_eq!(tree(s.run(script)), scaled_page(7.5), "then a hit");
    assert_eq!(SCALED.get(), before + 1);
    // And one still stored is a hit.
    s.set("Scale", 299.5).unwrap();
    assert_eq!(tree(s.run(script)), scaled_page(299.5));
    assert_eq!(SCALED.get(), before + 1);
    assert_eq!(tree_size("scaled"), (4, 3));
}

static FRESH: Runs = Runs::new();

#[memo(allow_widgets = true, ttl = "300ms")]
fn fresh(x: u32) -> String {
    FRESH.hit();
    let k = st::slider("Level", 0.0, 100.0, 0.0);
    format!("{x} at level {k}")
}

fn fresh_page(k: f64) -> Value {
    main_only(vec![
        slider("Level", 0.0, 100.0, k),
        markdown(&format!("1 at level {k}")),
    ])
}

#[test]
fn a_widget_fn_with_a_ttl_drops_expired_values_from_its_tree() {
    let script = || st::write(fresh(1));
    let mut s = Session::new();
    s.run(script);
    for k in 1..=20 {
        s.set("Level", f64::from(k)).unwrap();
        assert_eq!(tree(s.run(script)), fresh_page(f64::from(k)));
    }
    assert_eq!(tree_size("fresh"), (22, 21), "all 21 values are fresh");
    std::thread::sleep(Duration::from_millis(400));

    // A value expired: computed again, right.
    let before = FRESH.get();
    s.set("Level", 3.0).unwrap();
    assert_eq!(tree(s.run(script)), fresh_page(3.0));
    assert_eq!(FRESH.get(), before + 1, "expired, so computed again");
    // Storing it reaped the other expired values, and their leaves.
    assert_eq!(fresh_stats().entries, 1);
    assert_eq!(tree_size("fresh"), (2, 1));
    assert_eq!(tree(s.run(script)), fresh_page(3.0));
    assert_eq!(FRESH.get(), before + 1, "a hit");
}

static GATED: Runs = Runs::new();

/// A widget drawn only under a condition: its branch of the tree goes
/// when the last value under it is evicted.
#[memo(allow_widgets = true, max_entries = 1)]
fn gated(x: u32) -> String {
    GATED.hit();
    if st::checkbox("Detailed") {
        let depth = st::slider("Depth", 1.0, 5.0, 1.0);
        format!("{x} in detail, depth {depth}")
    } else {
        format!("{x} in short")
    }
}

fn checkbox(label: &str, on: bool) -> Value {
    json!({"element": {"type": "widget", "id": format!("checkbox:{label}"), "label": label,
        "spec": {"kind": "checkbox"}, "value": {"bool": on}}})
}

#[test]
fn evicting_the_last_value_under_a_widget_drops_its_branch_and_it_computes_again() {
    let script = || st::write(gated(4));
    let short = main_only(vec![checkbox("Detailed", false), markdown("4 in short")]);
    let detail = |d: f64| {
        main_only(vec![
            checkbox("Detailed", true),
            slider("Depth", 1.0, 5.0, d),
            markdown(&format!("4 in detail, depth {d}")),
        ])
    };
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), short);
    s.set("Detailed", true).unwrap();
    assert_eq!(tree(s.run(script)), detail(1.0));
    s.set("Depth", 3.0).unwrap();
    assert_eq!(tree(s.run(script)), detail(3.0));
    // The checkbox, the slider under it, one leaf.
    assert_eq!(tree_size("gated"), (3, 1));
    s.set("Detailed", false).unwrap();
    assert_eq!(tree(s.run(script)), short, "evicted: computed again");
    assert_eq!(tree_size("gated"), (2, 1), "the slider's branch went");
    assert_eq!(GATED.get(), 4);
    s.set("Detailed", true).unwrap();
    assert_eq!(
        tree(s.run(script)),
        detail(1.0),
        "the slider, not drawn in the last run, is back at its default"
    );
    assert_eq!(GATED.get(), 5);
    assert_eq!(tree(s.run(script)), detail(1.0), "a hit");
    assert_eq!(GATED.get(), 5);
    assert_eq!(tree_size("gated"), (3, 1));
}
