//! `show_spinner` / `show_time`: on a miss inside a session, and only for the
//! outermost cached fn, a spinner is shown while the body runs and removed
//! when the value is ready. Each body returns what the session showed while
//! it ran.

use memo_runtime::ui::{self, Output, Session};
use memo_runtime::{memo, singleton, st};
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn spinner(text: &str, show_time: bool) -> Value {
    json!({"element": {"type": "spinner", "text": text, "show_time": show_time}})
}

fn shown_while_running(f: impl FnOnce() -> Option<Output>) -> (Value, Value) {
    let mut s = Session::new();
    let mut during = None;
    let after = tree(s.run(|| during = f()));
    (tree(&during.expect("ran in a session")), after)
}

#[memo]
fn with_args(x: u32) -> Option<Output> {
    let _ = x;
    ui::snapshot()
}

#[memo]
fn no_args() -> Option<Output> {
    ui::snapshot()
}

#[memo]
fn unhashed_args(_conn: &str) -> Option<Output> {
    ui::snapshot()
}

#[memo(show_spinner = "Loading the data...")]
fn custom() -> Option<Output> {
    ui::snapshot()
}

#[singleton(show_spinner = false)]
fn hidden() -> Option<Output> {
    ui::snapshot()
}

#[memo(show_time = true)]
fn timed(x: u8) -> Option<Output> {
    let _ = x;
    ui::snapshot()
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

#[test]
fn the_default_text_names_the_fn_and_whether_it_took_arguments() {
    let (during, after) = shown_while_running(|| with_args(1));
    assert_eq!(
        during,
        main_only(vec![spinner("Running `with_args(...)`.", false)])
    );
    assert_eq!(after, main_only(vec![]), "gone once the value is ready");

    let (during, _) = shown_while_running(no_args);
    assert_eq!(
        during,
        main_only(vec![spinner("Running `no_args()`.", false)])
    );

    // Streamlit counts the arguments of the call, hashed or not.
    let (during, _) = shown_while_running(|| unhashed_args("db"));
    assert_eq!(
        during,
        main_only(vec![spinner("Running `unhashed_args(...)`.", false)])
    );
}

#[test]
fn custom_text_none_and_elapsed_time() {
    let (during, _) = shown_while_running(custom);
    assert_eq!(
        during,
        main_only(vec![spinner("Loading the data...", false)])
    );

    let (during, _) = shown_while_running(|| (*hidden()).clone());
    assert_eq!(during, main_only(vec![]));

    let (during, _) = shown_while_running(|| timed(1));
    assert_eq!(
        during,
        main_only(vec![spinner("Running `timed(...)`.", true)])
    );
}

#[test]
fn no_spinner_on_a_hit_or_outside_a_session() {
    assert_eq!(timed(2), None, "outside a session: no spinner, no snapshot");
    let mut s = Session::new();
    s.run(|| {
        timed(3);
    });
    let out = s.run(|| {
        timed(3);
        assert_eq!(ui::snapshot().unwrap(), Output::default());
    });
    assert_eq!(tree(out), main_only(vec![]));
}

#[memo]
fn inner_snapshot(x: u8) -> Option<Output> {
    let _ = x;
    ui::snapshot()
}

#[memo]
fn outer_spinning(x: u8) -> Option<Output> {
    st::text("outer working");
    inner_snapshot(x)
}

#[test]
fn only_the_outermost_miss_spins() {
    let (during, after) = shown_while_running(|| outer_spinning(1));
    assert_eq!(
        during,
        main_only(vec![
            spinner("Running `outer_spinning(...)`.", false),
            json!({"element": {"type": "text", "body": "outer working"}}),
        ]),
        "the inner miss shows no spinner of its own"
    );
    assert_eq!(
        after,
        main_only(vec![
            json!({"element": {"type": "text", "body": "outer working"}})
        ])
    );
}

#[memo]
fn in_container(x: u8) -> Option<Output> {
    let _ = x;
    ui::snapshot()
}

#[test]
fn the_spinner_shows_in_the_callers_container() {
    let (during, after) = shown_while_running(|| st::container().with(|| in_container(1)));
    assert_eq!(
        during,
        main_only(vec![
            json!({"block": {"kind": {"type": "container", "border": false},
            "children": [spinner("Running `in_container(...)`.", false)]}})
        ])
    );
    assert_eq!(
        after,
        main_only(vec![
            json!({"block": {"kind": {"type": "container", "border": false}, "children": []}})
        ])
    );
}

#[memo]
fn fills_the_slot(x: u8) -> u8 {
    st::text("filled");
    x
}

#[test]
fn a_spinner_in_an_empty_slot_does_not_take_the_fns_element_with_it() {
    let script = || {
        let slot = st::empty();
        slot.with(|| fills_the_slot(1));
    };
    let expected = main_only(vec![json!({"block": {"kind": {"type": "empty"},
        "children": [{"element": {"type": "text", "body": "filled"}}]}})]);
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
}

#[memo]
fn draws_in_the_sidebar(x: u8) -> u8 {
    st::sidebar().text("menu");
    x
}

#[test]
fn a_miss_in_an_empty_slot_leaves_what_the_slot_held() {
    let script = || {
        let slot = st::empty();
        slot.text("placeholder");
        slot.with(|| draws_in_the_sidebar(1));
    };
    let expected = json!({
        "main": [{"block": {"kind": {"type": "empty"},
            "children": [{"element": {"type": "text", "body": "placeholder"}}]}}],
        "sidebar": [{"element": {"type": "text", "body": "menu"}}],
    });
    let mut s = Session::new();
    assert_eq!(
        tree(s.run(script)),
        expected,
        "miss: the spinner gave the slot back"
    );
    assert_eq!(tree(s.run(script)), expected, "hit");

    // `st::spinner` in a slot is transient the same way.
    let out = s.run(|| {
        let slot = st::empty();
        slot.text("placeholder");
        slot.with(|| st::spinner("Working...", || ()));
    });
    assert_eq!(tree(out)["main"], expected["main"]);
}
