//! Widgets inside cached fns (seed 003, "widget replay"): with
//! `allow_widgets` their values are extra inputs of the key; without it a
//! widget shows Streamlit's `CachedStFunctionWarning` and is not replayed;
//! uploads are refused.

use memo_runtime::ui::{Output, Session, WidgetValue};
use memo_runtime::{memo, singleton, st};
use memo_suite::Runs;
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

fn checkbox(label: &str, on: bool) -> Value {
    json!({"element": {"type": "widget", "id": format!("checkbox:{label}"), "label": label,
        "spec": {"kind": "checkbox"}, "value": {"bool": on}}})
}

fn markdown(body: &str) -> Value {
    json!({"element": {"type": "markdown", "body": body}})
}

fn main_only(nodes: Vec<Value>) -> Value {
    json!({"main": nodes, "sidebar": []})
}

/// Streamlit's `CachedStFunctionWarning` (spec Appendix A) for a checkbox
/// inside `#[memo] fn {f}`, with our names.
fn cached_st_function_warning(f: &str) -> Value {
    let message = format!(
        "Your script uses `st::checkbox()` to write to your app from within\n\
         some cached code at `{f}()`. This code will only be called when we detect\n\
         a cache \"miss\", which can lead to unexpected results.\n\n\
         How to fix this:\n\
         * Move the `st::checkbox()` call outside `{f}()`.\n\
         * Or, if you know what you're doing, use `#[memo(allow_widgets = true)]`\n\
         to enable widget replay and suppress this warning."
    );
    json!({"element": {"type": "exception", "name": "CachedStFunctionWarning", "message": message}})
}

const NUKE: &str = "Nuke the value 💥";
static PLUS_ONE: Runs = Runs::new();

/// Seed 003's `plus_one`, with widget replay enabled.
#[memo(experimental_allow_widgets = true)]
fn plus_one(x: i64) -> i64 {
    PLUS_ONE.hit();
    let mut y = x + 1;
    if st::checkbox(NUKE) {
        st::write("Value was nuked, returning 0");
        y = 0;
    }
    y
}

#[test]
fn plus_one_keys_on_the_checkbox() {
    let script = || st::write(plus_one(2));
    let plain = main_only(vec![checkbox(NUKE, false), markdown("3")]);
    let nuked = main_only(vec![
        checkbox(NUKE, true),
        markdown("Value was nuked, returning 0"),
        markdown("0"),
    ]);
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), plain, "miss");
    assert_eq!(
        tree(s.run(script)),
        plain,
        "hit: the checkbox is replayed, live"
    );
    assert_eq!(PLUS_ONE.get(), 1);

    // Ticking the box is a new input: the body runs again.
    s.set(NUKE, true).unwrap();
    assert_eq!(tree(s.run(script)), nuked, "miss for the ticked box");
    assert_eq!(PLUS_ONE.get(), 2);
    assert_eq!(tree(s.run(script)), nuked, "hit, and the box stays ticked");
    assert_eq!(PLUS_ONE.get(), 2);

    // Each combination has its own entry: unticking is a hit.
    s.set(NUKE, false).unwrap();
    assert_eq!(tree(s.run(script)), plain, "hit for the unticked box");
    assert_eq!(PLUS_ONE.get(), 2);
    assert_eq!(plus_one_stats().entries, 2);

    // Forgetting the arguments forgets every widget combination.
    assert!(plus_one_forget(2));
    assert_eq!(plus_one_stats().entries, 0);
    assert!(!plus_one_forget(2));
    assert_eq!(tree(s.run(script)), plain, "computed again");
    assert_eq!(PLUS_ONE.get(), 3);
}

static KEEPS: Runs = Runs::new();

#[memo(allow_widgets = true)]
fn plus_two(x: i64) -> i64 {
    KEEPS.hit();
    if st::checkbox("Zero") {
        0
    } else {
        x + 2
    }
}

#[test]
fn a_widget_keeps_its_state_when_the_arguments_change() {
    let mut s = Session::new();
    let mut x = 1;
    let run = |s: &mut Session, x: i64| tree(s.run(|| st::write(plus_two(x))));
    run(&mut s, x);
    s.set("Zero", true).unwrap();
    assert_eq!(
        run(&mut s, x),
        main_only(vec![checkbox("Zero", true), markdown("0")])
    );
    x = 5;
    assert_eq!(
        run(&mut s, x),
        main_only(vec![checkbox("Zero", true), markdown("0")]),
        "new arguments, the box is still ticked"
    );
    assert_eq!(KEEPS.get(), 3);
}

#[test]
fn outside_a_session_a_widget_fn_caches_normally_with_defaults() {
    #[memo(allow_widgets = true)]
    fn plain(x: i64) -> i64 {
        x + i64::from(st::checkbox("c"))
    }
    assert_eq!(plain(1), 1);
    assert_eq!(plain(1), 1);
    let s = plain_stats();
    assert_eq!((s.misses, s.hits), (1, 1));
}

#[memo(allow_widgets = true)]
fn plus_three(x: i64) -> i64 {
    if st::checkbox(NUKE) {
        0
    } else {
        x + 3
    }
}

#[test]
fn the_same_widget_fn_twice_in_one_run_is_a_duplicate_widget_id() {
    let script = || {
        st::write(plus_three(2));
        st::write(plus_three(2));
    };
    let message = format!(
        "There are multiple identical `st::checkbox` widgets with the same generated id `checkbox:{NUKE}`.\n\n\
         To fix this, give each one a unique label, or a unique key with `st::keyed(\"..\")`. \
         A cached fn with `allow_widgets = true` draws its widgets again on every call, \
         so calling it twice with the same arguments in one run draws them twice."
    );
    let expected = main_only(vec![
        checkbox(NUKE, false),
        markdown("5"),
        json!({"element": {"type": "exception", "name": "DuplicateWidgetID", "message": message}}),
    ]);
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "first run");
    assert_eq!(tree(s.run(script)), expected, "second run");
}

static WARNED: Runs = Runs::new();

/// Seed 003: widget replay disabled by default.
#[memo]
fn func() {
    WARNED.hit();
    st::text("static");
    // Streamlit will throw a CachedStFunctionWarning
    st::checkbox("Doesn't work");
}

#[test]
fn a_widget_without_allow_widgets_warns_and_is_not_replayed() {
    let warning = cached_st_function_warning("func");
    let mut s = Session::new();
    assert_eq!(
        tree(s.run(func)),
        main_only(vec![
            json!({"element": {"type": "text", "body": "static"}}),
            warning.clone(),
            checkbox("Doesn't work", false),
        ]),
        "miss: the widget is drawn, with the warning before it"
    );
    assert_eq!(
        tree(s.run(func)),
        main_only(vec![
            json!({"element": {"type": "text", "body": "static"}}),
            warning
        ]),
        "hit: static elements and the warning replay, the widget does not"
    );
    assert_eq!(WARNED.get(), 1);
}

#[singleton]
fn upload() -> usize {
    st::file_uploader("Data").len()
}

#[memo(allow_widgets = true)]
fn camera() -> bool {
    st::camera_input("Smile").is_some()
}

#[test]
fn uploads_inside_a_cached_fn_are_refused() {
    let mut s = Session::new();
    let out = tree(s.run(|| {
        upload();
    }));
    assert_eq!(
        out,
        main_only(vec![
            json!({"element": {"type": "exception", "name": "CachedWidgetError", "message":
            "`st::file_uploader()` can't be used inside the cached fn `upload()`: the files it \
             returns are not inputs the cache can key on or replay.\n\n\
             How to fix this:\n\
             * Call `st::file_uploader()` outside `upload()` and pass the file's bytes to `upload()` as an argument."}})
        ])
    );
    assert_eq!(upload_stats().entries, 0, "nothing was cached");
    let out = tree(s.run(|| {
        camera();
    }));
    assert_eq!(
        out["main"][0]["element"]["name"], "CachedWidgetError",
        "refused even with allow_widgets: {out}"
    );
    // Outside a cached fn they are ordinary widgets.
    let out = tree(s.run(|| {
        st::file_uploader("Data");
    }));
    assert_eq!(out["main"][0]["element"]["spec"]["kind"], "file_uploader");
}

static SINGLE: Runs = Runs::new();

#[singleton(allow_widgets = true)]
fn load_net() -> String {
    SINGLE.hit();
    // Seed 004: `pretrained = st.checkbox("Use pre-trained model:")`.
    let pretrained = st::checkbox("Use pre-trained model:");
    format!("resnet50(pretrained={pretrained})")
}

#[test]
fn singleton_widgets_key_the_instance() {
    let script = || st::text(load_net().as_str());
    let mut s = Session::new();
    let off = tree(s.run(script));
    assert_eq!(
        off,
        main_only(vec![
            checkbox("Use pre-trained model:", false),
            json!({"element": {"type": "text", "body": "resnet50(pretrained=false)"}}),
        ])
    );
    assert_eq!(tree(s.run(script)), off);
    s.set("Use pre-trained model:", true).unwrap();
    let on = tree(s.run(script));
    assert_eq!(
        on["main"][1]["element"]["body"],
        "resnet50(pretrained=true)"
    );
    s.set("Use pre-trained model:", false).unwrap();
    assert_eq!(tree(s.run(script)), off);
    assert_eq!(SINGLE.get(), 2);
}

static CLICKS: Runs = Runs::new();

#[memo(allow_widgets = true)]
fn refreshable(x: u8) -> String {
    CLICKS.hit();
    if st::button("Refresh") {
        format!("refreshed {x}")
    } else {
        format!("cached {x}")
    }
}

#[test]
fn a_button_is_an_input_for_the_run_after_its_click() {
    let script = || st::text(refreshable(1));
    let mut s = Session::new();
    let body = |out: &Output| out.main[1].as_element().cloned();
    let first = body(s.run(script));
    assert_eq!(body(s.run(script)), first, "hit");
    assert_eq!(CLICKS.get(), 1);
    s.click("Refresh").unwrap();
    let clicked = tree(s.run(script));
    assert_eq!(clicked["main"][1]["element"]["body"], "refreshed 1");
    assert_eq!(
        clicked["main"][0]["element"]["value"],
        json!({"bool": true})
    );
    assert_eq!(CLICKS.get(), 2);
    assert_eq!(
        body(s.run(script)),
        first,
        "unclicked again: the first entry"
    );
    s.click("Refresh").unwrap();
    assert_eq!(tree(s.run(script)), clicked, "clicked again: that entry");
    assert_eq!(CLICKS.get(), 2);
}

static INNER_W: Runs = Runs::new();

#[memo(allow_widgets = true)]
fn inner_with_widget(x: u8) -> u8 {
    INNER_W.hit();
    if st::checkbox("Double") {
        x * 2
    } else {
        x
    }
}

#[memo]
fn outer_without_widgets(x: u8) -> u8 {
    inner_with_widget(x) + 1
}

#[test]
fn each_fn_records_a_widget_by_its_own_option() {
    let warning = cached_st_function_warning("outer_without_widgets");
    let mut s = Session::new();
    let nested = || st::write(outer_without_widgets(4));
    assert_eq!(
        tree(s.run(nested)),
        main_only(vec![
            warning.clone(),
            checkbox("Double", false),
            markdown("5")
        ]),
        "miss: the outer warns about the inner's widget"
    );
    assert_eq!(
        tree(s.run(nested)),
        main_only(vec![warning, markdown("5")]),
        "the outer's hit: its recording holds the warning, not the widget"
    );

    // The inner's own recording holds the widget and no warning.
    let alone = || st::write(inner_with_widget(4));
    let mut other = Session::new();
    let page = main_only(vec![checkbox("Double", false), markdown("4")]);
    assert_eq!(tree(other.run(alone)), page);
    assert_eq!(tree(other.run(alone)), page);
    assert_eq!(
        INNER_W.get(),
        1,
        "computed once, nested; the other session, at the box's default, hits it"
    );
}

static TOGGLES: Runs = Runs::new();

/// `B` is drawn only while `A` is ticked.
#[memo(allow_widgets = true)]
fn nested_boxes(x: u32) -> u32 {
    TOGGLES.hit();
    let mut y = x;
    if st::checkbox("A") {
        y += 10;
        if st::checkbox("B") {
            y += 100;
        }
    }
    y
}

#[test]
fn changing_a_widget_back_is_a_hit_even_when_it_hides_another() {
    let mut s = Session::new();
    let run = |s: &mut Session| {
        let mut got = 0;
        s.run(|| got = nested_boxes(1));
        got
    };
    assert_eq!(run(&mut s), 1, "computed with A off");
    s.set("A", true).unwrap();
    assert_eq!(run(&mut s), 11, "computed with A on, B off");
    assert_eq!(TOGGLES.get(), 2);
    s.set("B", true).unwrap();
    assert_eq!(run(&mut s), 111, "computed with A and B on");
    assert_eq!(TOGGLES.get(), 3);
    // B is hidden with A off, and its value (still `true` in the run that
    // unticks A) must not split A-off's entry.
    for _ in 0..3 {
        s.set("A", false).unwrap();
        assert_eq!(run(&mut s), 1);
        assert_eq!(run(&mut s), 1);
        s.set("A", true).unwrap();
        assert_eq!(
            run(&mut s),
            11,
            "B lost its value while hidden, as in Streamlit"
        );
        s.set("B", true).unwrap();
        assert_eq!(run(&mut s), 111);
    }
    assert_eq!(TOGGLES.get(), 3, "each combination was computed once");
    assert_eq!(nested_boxes_stats().entries, 3);

    // Another session at other values neither loses nor knocks out these.
    assert_eq!(run(&mut Session::new()), 1);
    s.set("A", false).unwrap();
    assert_eq!(run(&mut s), 1);
    assert_eq!(TOGGLES.get(), 3);
}

static DEFAULTS: Runs = Runs::new();

#[memo(allow_widgets = true)]
fn doubled(x: u32) -> u32 {
    DEFAULTS.hit();
    let factor = st::slider("factor", 1.0, 10.0, 2.0);
    if st::checkbox("double") {
        x * 2 * factor as u32
    } else {
        x * factor as u32
    }
}

#[test]
fn a_new_session_at_the_widgets_defaults_hits_the_entry_another_computed() {
    let mut a = Session::new();
    let mut got = 0;
    a.run(|| got = doubled(5));
    assert_eq!((got, DEFAULTS.get()), (10, 1));
    a.set("double", true).unwrap();
    a.run(|| got = doubled(5));
    assert_eq!((got, DEFAULTS.get()), (20, 2));

    let mut b = Session::new(); // never touched either widget
    let page = b.run(|| got = doubled(5)).clone();
    assert_eq!(got, 10, "B's box is at its default, off");
    assert_eq!(DEFAULTS.get(), 2, "A's entry for the defaults served B");
    assert_eq!(b.value("double"), Some(WidgetValue::Bool(false)));
    assert_eq!(b.value("factor"), Some(WidgetValue::Number(2.0)));
    assert_eq!(page.main.len(), 2, "both widgets replayed: {page:?}");
    assert_eq!(doubled_stats().entries, 2);
}

static BOUNDS: Runs = Runs::new();

#[memo(allow_widgets = true)]
fn limited(x: u32) -> String {
    BOUNDS.hit();
    let v = st::number_input("limit", 0.0);
    format!("{x}:{v}")
}

#[test]
fn widget_values_that_share_a_json_form_get_entries_of_their_own() {
    let mut s = Session::new();
    let mut got = String::new();
    let mut seen = Vec::new();
    for v in [0.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -0.0] {
        s.set("limit", v).ok();
        s.run(|| got = limited(1));
        seen.push(got.clone());
    }
    assert_eq!(seen, ["1:0", "1:inf", "1:-inf", "1:NaN", "1:-0"]);
    assert_eq!(BOUNDS.get(), 5, "each value computed its own");
}
