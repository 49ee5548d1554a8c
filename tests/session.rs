//! The app-side model on its own: runs, widget state between runs, the JSON
//! form of every element.

use memo_runtime::st::{self, DataFrame, Media};
use memo_runtime::ui::{Date, Output, Session, SessionError, Time, WidgetValue};
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

#[test]
fn every_element_has_its_documented_json_form() {
    let mut s = Session::new();
    let out = s.run(|| {
        st::markdown("*m*");
        st::write(1.5);
        st::title("t");
        st::header("h");
        st::subheader("s");
        st::text("x");
        st::caption("c");
        st::code("let a = 1;", "rust");
        st::code("plain", "");
        st::latex("a^2");
        st::json(&json!({"k": [1, 2]}));
        st::success("ok");
        st::info("i");
        st::warning("w");
        st::error("e");
        st::exception(&std::fmt::Error);
        st::metric("Temp", 70, Some("+1"));
        st::table(DataFrame::new(["n"], [vec![json!(1)]]));
        st::dataframe(DataFrame::from_columns([("a", vec![1])]));
        st::line_chart(DataFrame::from_columns([("y", vec![2.0])]));
        st::bar_chart(DataFrame::default());
        st::vega_lite_chart(json!({"mark": "bar"}));
        st::plotly_chart(json!({}));
        st::altair_chart(json!({}));
        st::bokeh_chart(json!({}));
        st::pydeck_chart(json!({}));
        st::graphviz_chart("digraph { a -> b }");
        st::image(Media::url("image/png", "a.png"), Some("cap"));
        st::audio(Media::bytes("audio/wav", vec![1, 2]));
        st::video(Media::url("video/mp4", "v.mp4"));
        st::progress(150, None);
        st::balloons();
        st::snow();
        st::html("<b>b</b>");
        st::iframe("https://e.com", Some(200));
        st::help("f", "does f");
        st::echo("st::text(\"e\")", || st::text("e"));
    });
    let el = |v: Value| json!({"element": v});
    let df = |cols: Value, rows: Value| json!({"columns": cols, "rows": rows});
    let expected = json!({"main": [
        el(json!({"type": "markdown", "body": "*m*"})),
        el(json!({"type": "markdown", "body": "1.5"})),
        el(json!({"type": "title", "body": "t"})),
        el(json!({"type": "header", "body": "h"})),
        el(json!({"type": "subheader", "body": "s"})),
        el(json!({"type": "text", "body": "x"})),
        el(json!({"type": "caption", "body": "c"})),
        el(json!({"type": "code", "body": "let a = 1;", "language": "rust"})),
        el(json!({"type": "code", "body": "plain", "language": null})),
        el(json!({"type": "latex", "body": "a^2"})),
        el(json!({"type": "json", "value": {"k": [1, 2]}})),
        el(json!({"type": "alert", "kind": "success", "body": "ok"})),
        el(json!({"type": "alert", "kind": "info", "body": "i"})),
        el(json!({"type": "alert", "kind": "warning", "body": "w"})),
        el(json!({"type": "alert", "kind": "error", "body": "e"})),
        el(json!({"type": "exception", "name": "Error", "message": "an error occurred when formatting an argument"})),
        el(json!({"type": "metric", "label": "Temp", "value": "70", "delta": "+1"})),
        el(json!({"type": "table", "data": df(json!(["n"]), json!([[1]]))})),
        el(json!({"type": "dataframe", "data": df(json!(["a"]), json!([[1]]))})),
        el(json!({"type": "chart", "kind": "line", "data": df(json!(["y"]), json!([[2.0]]))})),
        el(json!({"type": "chart", "kind": "bar", "data": df(json!([]), json!([]))})),
        el(json!({"type": "chart_spec", "library": "vega_lite", "spec": {"mark": "bar"}})),
        el(json!({"type": "chart_spec", "library": "plotly", "spec": {}})),
        el(json!({"type": "chart_spec", "library": "altair", "spec": {}})),
        el(json!({"type": "chart_spec", "library": "bokeh", "spec": {}})),
        el(json!({"type": "chart_spec", "library": "pydeck", "spec": {}})),
        el(json!({"type": "chart_spec", "library": "graphviz", "spec": "digraph { a -> b }"})),
        el(json!({"type": "image", "media": {"mimetype": "image/png", "source": {"url": "a.png"}}, "caption": "cap"})),
        el(json!({"type": "audio", "media": {"mimetype": "audio/wav", "source": {"bytes": [1, 2]}}})),
        el(json!({"type": "video", "media": {"mimetype": "video/mp4", "source": {"url": "v.mp4"}}})),
        el(json!({"type": "progress", "value": 100, "text": null})),
        el(json!({"type": "balloons"})),
        el(json!({"type": "snow"})),
        el(json!({"type": "html", "body": "<b>b</b>"})),
        el(json!({"type": "iframe", "src": "https://e.com", "height": 200})),
        el(json!({"type": "help", "name": "f", "doc": "does f"})),
        el(json!({"type": "echo", "code": "st::text(\"e\")"})),
        el(json!({"type": "text", "body": "e"})),
    ], "sidebar": []});
    assert_eq!(tree(out), expected);
    // The JSON reads back into the same tree.
    let back: Output = serde_json::from_str(&s.to_json()).unwrap();
    assert_eq!(&back, s.output());
}

#[test]
fn every_widget_returns_its_value_and_keeps_it_between_runs() {
    let mut s = Session::new();
    let mut seen = Vec::new();
    let mut script = |s: &mut Session| {
        let mut v: Vec<Value> = Vec::new();
        s.run(|| {
            v.push(json!(st::checkbox("cb")));
            v.push(json!(st::slider("sl", 0.0, 10.0, 2.0)));
            v.push(json!(st::select_slider("ss", &["S", "M", "L"], "M")));
            v.push(json!(st::selectbox("sb", &["a", "b"])));
            v.push(json!(st::multiselect("ms", &["x", "y"])));
            v.push(json!(st::radio("r", &["p", "q"])));
            v.push(json!(st::text_input("ti", "hi")));
            v.push(json!(st::text_area("ta", "")));
            v.push(json!(st::number_input("ni", 1.0)));
            v.push(json!(st::date_input(
                "di",
                Date {
                    year: 2024,
                    month: 1,
                    day: 2
                }
            )));
            v.push(json!(st::time_input("tm", Time { hour: 1, minute: 2 })));
            v.push(json!(st::color_picker("cp", "#000000")));
            v.push(json!(st::button("bt")));
            v.push(json!(st::download_button("dl", vec![1], "f.bin")));
            v.push(json!(st::file_uploader("fu").len()));
            v.push(json!(st::camera_input("ca").is_some()));
        });
        seen.push(Value::Array(v));
    };
    script(&mut s);
    s.set("cb", true).unwrap();
    s.set("sl", 7.0).unwrap();
    s.set("ss", "L").unwrap();
    s.set("sb", "b").unwrap();
    s.set("ms", vec!["y".to_string()]).unwrap();
    s.set("r", "q").unwrap();
    s.set("ti", "typed").unwrap();
    s.set("ta", "long").unwrap();
    s.set("number_input:ni", 4.0).unwrap();
    s.set(
        "di",
        Date {
            year: 2025,
            month: 5,
            day: 6,
        },
    )
    .unwrap();
    s.set(
        "tm",
        Time {
            hour: 23,
            minute: 59,
        },
    )
    .unwrap();
    s.set("cp", "#ffffff").unwrap();
    s.click("bt").unwrap();
    s.click("dl").unwrap();
    s.set(
        "fu",
        vec![memo_runtime::ui::UploadedFile {
            name: "a".into(),
            mimetype: "t".into(),
            bytes: vec![],
        }],
    )
    .unwrap();
    script(&mut s);
    script(&mut s);
    let defaults = json!([false, 2.0, "M", "a", [], "p", "hi", "", 1.0,
        {"year": 2024, "month": 1, "day": 2}, {"hour": 1, "minute": 2}, "#000000", false, false, 0, false]);
    let changed = json!([true, 7.0, "L", "b", ["y"], "q", "typed", "long", 4.0,
        {"year": 2025, "month": 5, "day": 6}, {"hour": 23, "minute": 59}, "#ffffff", true, true, 1, false]);
    let kept = json!([true, 7.0, "L", "b", ["y"], "q", "typed", "long", 4.0,
        {"year": 2025, "month": 5, "day": 6}, {"hour": 23, "minute": 59}, "#ffffff", false, false, 1, false]);
    assert_eq!(
        seen,
        [defaults, changed, kept],
        "a click lasts one run, values stay"
    );
}

#[test]
fn setting_a_widget_checks_its_name_and_type() {
    let mut s = Session::new();
    s.run(|| {
        st::checkbox("cb");
        st::button("go");
    });
    assert_eq!(
        s.set("nope", true),
        Err(SessionError::NoSuchWidget("nope".into()))
    );
    assert_eq!(
        s.set("cb", "text"),
        Err(SessionError::WrongType("checkbox:cb".into()))
    );
    assert_eq!(
        s.set("go", true),
        Err(SessionError::WrongType("button:go".into()))
    );
    assert_eq!(
        s.click("cb"),
        Err(SessionError::WrongType("checkbox:cb".into()))
    );
    assert_eq!(s.value("cb"), Some(WidgetValue::Bool(false)));
    assert_eq!(s.value("go"), Some(WidgetValue::Bool(false)));
}

#[test]
fn a_widget_not_drawn_in_a_run_forgets_its_value() {
    let mut s = Session::new();
    s.run(|| {
        st::checkbox("cb");
    });
    s.set("cb", true).unwrap();
    s.run(|| {});
    let mut v = true;
    s.run(|| v = st::checkbox("cb"));
    assert!(!v, "back to its default, as in Streamlit");
}

#[test]
fn keyed_widgets_are_told_apart_by_key() {
    let mut s = Session::new();
    let out = tree(s.run(|| {
        st::keyed("first").checkbox("Same");
        st::sidebar().keyed("second").checkbox("Same");
    }));
    assert_eq!(out["main"][0]["element"]["id"], "key:first");
    assert_eq!(out["sidebar"][0]["element"]["id"], "key:second");
    s.set("key:second", true).unwrap();
    let mut got = (true, false);
    s.run(|| {
        got = (
            st::keyed("first").checkbox("Same"),
            st::sidebar().keyed("second").checkbox("Same"),
        )
    });
    assert_eq!(got, (false, true));
}

#[test]
fn two_unkeyed_widgets_with_one_label_are_a_duplicate() {
    let mut s = Session::new();
    let out = tree(s.run(|| {
        st::text_input("Name", "");
        st::text_input("Name", "");
    }));
    assert_eq!(out["main"].as_array().unwrap().len(), 2);
    assert_eq!(out["main"][1]["element"]["name"], "DuplicateWidgetID");
}

#[test]
fn a_form_commits_its_widgets_on_submit() {
    let mut s = Session::new();
    let mut seen = Vec::new();
    let mut script = |s: &mut Session| {
        s.run(|| {
            let f = st::form("login");
            let user = f.text_input("User", "");
            let submitted = f.form_submit_button("Log in");
            let outside = st::checkbox("Remember me");
            seen.push((user, submitted, outside));
        });
    };
    script(&mut s);
    let out = tree(s.output());
    assert_eq!(
        out["main"][0]["block"]["kind"],
        json!({"type": "form", "key": "login"})
    );
    let inside = &out["main"][0]["block"]["children"];
    assert_eq!(inside[0]["element"]["form"], "login");
    assert_eq!(inside[1]["element"]["form"], "login");
    assert!(
        out["main"][1]["element"].get("form").is_none(),
        "no `form` field outside a form"
    );

    // Typing into the form changes nothing until it is submitted; a widget
    // outside the form changes at once.
    s.set("User", "ann").unwrap();
    s.set("Remember me", true).unwrap();
    script(&mut s);
    s.click("Log in").unwrap();
    script(&mut s);
    script(&mut s);
    assert_eq!(
        seen,
        [
            (String::new(), false, false),
            (String::new(), false, true),
            ("ann".to_string(), true, true),
            ("ann".to_string(), false, true),
        ]
    );
}

/// A `st::` error unwinds with its name and message as text, which is what
/// the default panic hook prints (a typed payload logged `Box<dyn Any>`),
/// and the session still shows it under its own name, also when the
/// script's own `catch_unwind` caught it and passed it on.
#[test]
fn a_st_error_unwinds_with_its_message_and_is_shown_by_name() {
    let mut s = Session::new();
    let mut payload_text = None;
    let out = s.run(|| {
        st::button("Go");
        let caught = std::panic::catch_unwind(|| st::button("Go"));
        let payload = caught.expect_err("the same id twice");
        payload_text = payload.downcast_ref::<String>().cloned();
        std::panic::resume_unwind(payload);
    });
    let text = payload_text.expect("a `String` payload, which the panic hook prints");
    assert!(
        text.starts_with("DuplicateWidgetID: There are multiple identical `st::button` widgets"),
        "{text}"
    );
    let shown = tree(out);
    assert_eq!(shown["main"][1]["element"]["name"], "DuplicateWidgetID");
    assert_eq!(
        format!(
            "DuplicateWidgetID: {}",
            shown["main"][1]["element"]["message"].as_str().unwrap()
        ),
        text
    );

    // Swallowed by the script, the error is not mistaken for a later panic.
    let out = s.run(|| {
        st::button("Go");
        let _ = std::panic::catch_unwind(|| st::button("Go"));
        panic!("the script's own");
    });
    assert_eq!(
        tree(out)["main"][1]["element"],
        json!({"type": "exception", "name": "panic", "message": "the script's own"})
    );
}
