//! The seeds' Streamlit examples, in Rust. Run with
//! `cargo run --example quickstart`.

use memo_runtime::{memo, singleton};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Streamlit: `@st.cache_data def expensive_computation(a, b): time.sleep(2); return a * b`
#[memo]
fn expensive_computation(a: u64, b: u64) -> u64 {
    println!("  cache miss: expensive_computation({a}, {b}) ran");
    sleep(Duration::from_secs(2)); // this makes the function take 2s to run
    a * b
}

/// Streamlit: `@st.experimental_memo def factorial(n)`: recursive calls are
/// cached too.
#[memo]
fn factorial(n: u64) -> u64 {
    if n < 1 {
        1
    } else {
        n * factorial(n - 1)
    }
}

/// Streamlit 1.64+: an `async def` cached function. Concurrent awaits of one
/// key share one run of the body.
#[memo(ttl = "10m")]
async fn fetch_page(url: &str) -> Result<String, String> {
    println!("  cache miss: fetch_page({url}) ran");
    Ok(format!("<html>{url}</html>")) // an HTTP request would be awaited here
}

/// A stand-in for a SQLAlchemy session factory: not hashable, not cloneable.
struct SessionMaker {
    url: String,
}

impl SessionMaker {
    fn rows(&self, offset: u32, limit: u32) -> Vec<String> {
        (offset..offset + limit)
            .map(|i| format!("{}#row{i}", self.url))
            .collect()
    }
}

/// Streamlit: `@st.cache_resource def get_db_sessionmaker()`: one shared
/// instance for every caller and thread.
#[singleton]
fn get_db_sessionmaker() -> SessionMaker {
    println!("  creating the session maker (once)");
    SessionMaker {
        url: "db://rna".into(),
    }
}

/// Streamlit: `@st.cache_data def get_page(_sessionmaker, page_size, page)`:
/// the leading underscore keeps `_sessionmaker` out of the key.
#[memo]
fn get_page(_sessionmaker: &SessionMaker, page_size: u32, page: u32) -> Vec<String> {
    println!("  cache miss: get_page(page_size={page_size}, page={page})");
    _sessionmaker.rows(page_size * page, page_size)
}

/// Streamlit: `@st.cache_data def square(x)`, cleared with `square.clear()`.
#[memo]
fn square(x: i64) -> i64 {
    x * x
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!("{label}: {:.3}s", start.elapsed().as_secs_f64());
    out
}

fn main() {
    // `memo::clear_all()` below also empties the disk cache: use a scratch one.
    memo_runtime::persist::set_dir(std::env::temp_dir().join("memo-quickstart")).unwrap();
    println!("== expensive_computation ==");
    let a = timed("first call (runs the body)", || {
        expensive_computation(2, 21)
    });
    let b = timed("second call (from the cache)", || {
        expensive_computation(2, 21)
    });
    assert_eq!((a, b), (42, 42));
    let c = timed("changed argument (runs again)", || {
        expensive_computation(3, 21)
    });
    assert_eq!(c, 63);

    println!("\n== factorial ==");
    println!("factorial(10) = {}", factorial(10));
    let s = factorial_stats();
    println!("factorial(9)  = {}  (returns instantly)", factorial(9));
    println!(
        "misses before factorial(9): {}, hits after: {}",
        s.misses,
        factorial_stats().hits
    );

    println!("\n== get_page with an unhashed _sessionmaker ==");
    let maker = get_db_sessionmaker();
    println!("page 1: {:?}", get_page(&maker, 2, 1));
    println!("page 1 again: {:?}", get_page(&get_db_sessionmaker(), 2, 1));
    assert!(
        Arc::ptr_eq(&maker, &get_db_sessionmaker()),
        "one shared session maker"
    );

    println!("\n== an async fn ==");
    futures::executor::block_on(async {
        let (a, b) =
            futures::future::join(fetch_page("example.org"), fetch_page("example.org")).await;
        assert_eq!(a, b);
        println!("two concurrent awaits, one run: {:?}", fetch_page_stats());
    });

    println!("\n== clearing ==");
    square(4);
    square(4);
    println!("square stats: {:?}", square_stats());
    square_clear(); // Streamlit: square.clear()
    println!("after square_clear(): {:?}", square_stats());
    memo_runtime::memo::clear_all(); // Streamlit: st.cache_data.clear()
    let again = timed("expensive_computation after memo::clear_all()", || {
        expensive_computation(2, 21)
    });
    assert_eq!(again, 42);
    println!("\nevery #[memo] function:");
    for (path, stats) in memo_runtime::memo::stats() {
        println!(
            "  {path}: {} hits, {} misses, {} entries",
            stats.hits, stats.misses, stats.entries
        );
    }
}
