//! An app session run as Streamlit would: the script runs top to bottom,
//! then again after each interaction. Cached fns draw on a miss and are
//! replayed on a hit. Run with `cargo run --example app`.

use memo_runtime::ui::{Output, Session};
use memo_runtime::{memo, singleton, st};
use std::time::Instant;

/// Seed 003: a cached loader that draws a chart.
#[memo]
fn load_data(rows: usize) -> st::DataFrame {
    println!("  (load_data({rows}) ran)");
    let columns = ["a", "b", "c"].iter().enumerate().map(|(i, c)| {
        let values: Vec<f64> = (0..rows).map(|r| ((r + i) as f64).sin()).collect();
        (*c, values)
    });
    let chart_data = st::DataFrame::from_columns(columns);
    st::area_chart(chart_data.clone());
    chart_data
}

struct Model(&'static str);

/// Seed 004: a cached resource that announces itself.
#[singleton]
fn load_model() -> Model {
    println!("  (load_model() ran)");
    st::success("Loaded NLP model from Hugging Face!");
    Model("sentiment-analysis")
}

/// Seed 003: a widget inside a cached fn, its value part of the key.
#[memo(allow_widgets = true)]
fn plus_one(x: i64) -> i64 {
    println!("  (plus_one({x}) ran)");
    let mut y = x + 1;
    if st::checkbox("Nuke the value 💥") {
        st::write("Value was nuked, returning 0");
        y = 0;
    }
    y
}

fn script() {
    st::title("Replay demo");
    st::sidebar().markdown("Settings");
    let df = load_data(5);
    st::dataframe(df);
    let model = load_model();
    st::write(format!("Model: {}", model.0));
    st::write(plus_one(2));
}

fn show(label: &str, session: &mut Session) -> Output {
    let t0 = Instant::now();
    let out = session.run(script).clone();
    println!("{label} ({:?}):", t0.elapsed());
    for node in &out.main {
        println!("  main    {}", serde_json::to_string(node).unwrap());
    }
    for node in &out.sidebar {
        println!("  sidebar {}", serde_json::to_string(node).unwrap());
    }
    out
}

fn main() {
    let mut session = Session::new();
    let first = show("run 1: every cached fn misses", &mut session);
    let second = show("run 2: every cached fn hits, same page", &mut session);
    assert_eq!(first, second);

    session.set("Nuke the value 💥", true).unwrap();
    show(
        "run 3: the checkbox changed, plus_one runs again",
        &mut session,
    );
    show("run 4: that combination is cached too", &mut session);
}
