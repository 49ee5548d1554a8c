//! An async hit against the sync hit of the same function shape, in one run.
//!
//! ```text
//! cargo bench --bench async_hit
//! ```
//!
//! The async call is driven by the cheapest executor there is: one poll with
//! a no-op waker (a hit is ready on its first poll), so what is measured is
//! the cache, not a runtime's scheduling. Results: `docs/benchmarks.md`.

use criterion::{criterion_group, criterion_main, Criterion};
use memo_runtime::{memo, singleton};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

#[memo]
fn sync_sq(x: u64) -> u64 {
    x.wrapping_mul(x)
}

#[memo]
async fn async_sq(x: u64) -> u64 {
    x.wrapping_mul(x)
}

#[singleton]
fn sync_pool() -> Vec<u8> {
    vec![1, 2, 3]
}

#[singleton]
async fn async_pool() -> Vec<u8> {
    vec![1, 2, 3]
}

/// Polls once; a hit must be ready then.
#[inline(always)]
fn ready<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a hit must be ready on its first poll"),
    }
}

fn hits(c: &mut Criterion) {
    let mut g = c.benchmark_group("7_async_hit_u64");
    sync_sq(42);
    // Warm the async one through a real executor once.
    futures::executor::block_on(async_sq(42));
    g.bench_function("memo sync hit", |b| b.iter(|| sync_sq(black_box(42))));
    // The same sync call made from inside an async block, as async code
    // makes it: the baseline for an `.await`ed hit.
    g.bench_function("memo sync hit, in an async block", |b| {
        b.iter(|| ready(async { sync_sq(black_box(42)) }))
    });
    // Awaited where a handler would await it: the future is built in its
    // caller's state, not built and then moved.
    g.bench_function("memo async hit", |b| {
        b.iter(|| ready(async { async_sq(black_box(42)).await }))
    });
    // Built, then moved into place and polled: a store-to-load stall on the
    // freshly written future adds a few ns that belong to the executor
    // pattern, not to the cache.
    g.bench_function("memo async hit (future moved)", |b| {
        b.iter(|| ready(async_sq(black_box(42))))
    });
    g.finish();

    let mut g = c.benchmark_group("8_async_singleton_hit");
    sync_pool();
    futures::executor::block_on(async_pool());
    g.bench_function("singleton sync hit", |b| {
        b.iter(|| -> Arc<Vec<u8>> { sync_pool() })
    });
    g.bench_function("singleton async hit", |b| {
        b.iter(|| -> Arc<Vec<u8>> { ready(async { async_pool().await }) })
    });
    g.finish();
}

criterion_group!(benches, hits);
criterion_main!(benches);
