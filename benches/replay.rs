//! Element replay costs (results: `docs/benchmarks.md`, "Element replay").
//!
//! ```text
//! cargo bench --bench replay
//! ```
//!
//! 1. `7_record_100_elements`: drawing 100 `st::text` elements in a session,
//!    with no cached fn computing, and inside a cached fn's miss (every
//!    element is also recorded). The difference, over 100, is the recording
//!    overhead per element. Only the drawing is timed.
//! 2. `8_hit_in_session`: one hit inside a session of a fn that drew 10
//!    elements (which are replayed), of one that drew none, and the same
//!    no-element hit outside any session.

use criterion::{criterion_group, criterion_main, Criterion};
use memo_runtime::ui::Session;
use memo_runtime::{memo, st};
use std::hint::black_box;
use std::time::{Duration, Instant};

const ELEMENTS: usize = 100;
/// Calls per session run in the hit benchmarks, so the tree stays small.
const CALLS_PER_RUN: u64 = 100;

fn draw(n: usize) {
    for i in 0..n {
        st::text(if i % 2 == 0 { "even" } else { "odd" });
    }
}

/// Draws inside a cached fn's miss; returns how long the drawing took.
#[memo(show_spinner = false)]
fn recorded(n: usize) -> Duration {
    let t0 = Instant::now();
    draw(n);
    t0.elapsed()
}

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("7_record_100_elements");
    g.bench_function("in_session_no_capture", |b| {
        b.iter_custom(|iters| {
            let mut s = Session::new();
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                s.run(|| {
                    let t0 = Instant::now();
                    draw(black_box(ELEMENTS));
                    total += t0.elapsed();
                });
            }
            total
        })
    });
    g.bench_function("in_session_recorded", |b| {
        b.iter_custom(|iters| {
            let mut s = Session::new();
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                recorded_clear();
                s.run(|| total += recorded(black_box(ELEMENTS)));
            }
            total
        })
    });
    g.finish();
}

#[memo]
fn draws_ten(x: u64) -> u64 {
    draw(10);
    x
}

#[memo]
fn draws_none(x: u64) -> u64 {
    x
}

/// Times `iters` calls of `f` inside session runs of `CALLS_PER_RUN` calls.
fn in_session(iters: u64, f: fn(u64) -> u64) -> Duration {
    let mut s = Session::new();
    s.run(|| {
        f(1);
    });
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(CALLS_PER_RUN);
        s.run(|| {
            let t0 = Instant::now();
            for _ in 0..n {
                black_box(f(black_box(1)));
            }
            total += t0.elapsed();
        });
        left -= n;
    }
    total
}

fn hits(c: &mut Criterion) {
    let mut s = Session::new();
    let out = s.run(|| {
        draws_ten(1);
        draws_ten(1);
    });
    assert_eq!(out.main.len(), 20, "the hit replays all 10");
    let mut g = c.benchmark_group("8_hit_in_session");
    g.bench_function("replays_10_elements", |b| {
        b.iter_custom(|iters| in_session(iters, draws_ten))
    });
    g.bench_function("replays_nothing", |b| {
        b.iter_custom(|iters| in_session(iters, draws_none))
    });
    g.bench_function("outside_a_session", |b| b.iter(|| draws_none(black_box(1))));
    g.finish();
}

criterion_group!(benches, record, hits);
criterion_main!(benches);
