//! The seeds' replay examples (003: `experimental_memo`, 004:
//! `cache_resource`), each run twice in one session: a miss, then a hit. Both
//! runs must draw the whole tree the same, and the body must run once.

use memo_runtime::ui::{DataFrame, Output, Session};
use memo_runtime::{memo, singleton, st};
use memo_suite::Runs;
use serde_json::{json, Value};

fn tree(out: &Output) -> Value {
    serde_json::to_value(out).unwrap()
}

/// Seed 003's `np.random.randn(rows, 10)`, made deterministic.
fn chart_data(rows: usize) -> DataFrame {
    let cols = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    DataFrame::from_columns(cols.iter().enumerate().map(|(c, name)| {
        let values: Vec<f64> = (0..rows).map(|r| ((r * 10 + c) as f64).sin()).collect();
        (*name, values)
    }))
}

static LOAD_DATA: Runs = Runs::new();

/// Seed 003: `@st.experimental_memo def load_data(rows)` with `st.area_chart`.
#[memo]
fn load_data(rows: usize) -> DataFrame {
    LOAD_DATA.hit();
    let chart_data = chart_data(rows);
    // Contains a static element: recorded, and drawn again on every hit.
    st::area_chart(chart_data.clone());
    chart_data
}

#[test]
fn load_data_area_chart_replays_on_a_hit() {
    let script = || {
        let df = load_data(20);
        st::dataframe(df);
    };
    let data = serde_json::to_value(chart_data(20)).unwrap();
    let expected = json!({
        "main": [
            {"element": {"type": "chart", "kind": "area", "data": data}},
            {"element": {"type": "dataframe", "data": data}},
        ],
        "sidebar": [],
    });
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    assert_eq!(LOAD_DATA.get(), 1);
    let stats = load_data_stats();
    assert_eq!((stats.misses, stats.hits), (1, 1));
    assert_eq!(data["rows"].as_array().unwrap().len(), 20);
}

pub struct Model {
    pub name: &'static str,
}

static LOAD_MODEL: Runs = Runs::new();

/// Seed 004: `@st.cache_resource def load_model()` with `st.success`.
#[singleton]
fn load_model() -> Model {
    LOAD_MODEL.hit();
    let model = Model {
        name: "sentiment-analysis",
    };
    st::success("Loaded NLP model from Hugging Face!");
    model
}

#[test]
fn load_model_success_replays_on_a_hit() {
    let script = || {
        let m = load_model();
        st::write(m.name);
    };
    let expected = json!({
        "main": [
            {"element": {"type": "alert", "kind": "success", "body": "Loaded NLP model from Hugging Face!"}},
            {"element": {"type": "markdown", "body": "sentiment-analysis"}},
        ],
        "sidebar": [],
    });
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    assert_eq!(LOAD_MODEL.get(), 1);
}

static SECTION: Runs = Runs::new();

/// Seed 004: caching a whole section of the UI.
#[singleton]
fn load_model_section() -> Model {
    SECTION.hit();
    st::header("Data analysis");
    let model = Model { name: "resnet50" };
    st::success("Loaded model!");
    st::write("Turning on evaluation mode...");
    st::write("Here's the model:");
    model
}

#[test]
fn whole_ui_section_replays_on_a_hit() {
    let script = || {
        let m = load_model_section();
        st::text(m.name);
    };
    let expected = json!({
        "main": [
            {"element": {"type": "header", "body": "Data analysis"}},
            {"element": {"type": "alert", "kind": "success", "body": "Loaded model!"}},
            {"element": {"type": "markdown", "body": "Turning on evaluation mode..."}},
            {"element": {"type": "markdown", "body": "Here's the model:"}},
            {"element": {"type": "text", "body": "resnet50"}},
        ],
        "sidebar": [],
    });
    let mut s = Session::new();
    assert_eq!(tree(s.run(script)), expected, "miss");
    assert_eq!(tree(s.run(script)), expected, "hit");
    // A second session (another user) is served the same instance, and sees
    // the section too.
    let mut other = Session::new();
    assert_eq!(tree(other.run(script)), expected, "another session's hit");
    assert_eq!(SECTION.get(), 1);
}
