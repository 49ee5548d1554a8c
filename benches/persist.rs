//! `persist = "disk"`: the first call in a fresh process, served from disk,
//! against reading the same bytes raw from a file in the same kind of process.
//!
//! ```text
//! cargo bench --bench persist
//! ```
//!
//! Each measured iteration starts a child process (this bench binary, told
//! its role by `MEMO_BENCH_ROLE`) that times only its own first call and
//! reports it; process start-up is not counted. Both children find the file
//! in the page cache, as a restarted app does. Results: `docs/benchmarks.md`.
//!
//! * `persist_first_hit/memo/{1k,1m}`: `load(n)`, a `#[memo(persist = "disk")]`
//!   fn returning a `Vec<f64>` of `n` elements, already on disk: the disk
//!   read, checks, decoding and filling the memory cache.
//! * `persist_first_hit/memo_arc/{1k,1m}`: the same returning
//!   `Arc<Vec<f64>>`, whose memory copy is a reference count.
//! * `memo_not_persisted_first_call`: the first call of a plain
//!   `#[memo] fn(u64) -> u64`, for the part of a first hit that is not disk.
//! * `raw_read/{1k,1m}`: the ideal: `File::open` and `read_exact` of the
//!   same number of bytes straight into a `Vec<f64>`'s memory (the file's
//!   path is made before the timer starts).
//! * `raw_read_huge_pages/1m`: the same into memory advised for huge pages
//!   (`madvise(MADV_HUGEPAGE)`, Linux), as memo-runtime advises a vector of
//!   2 MiB or more: how much of the `memo/1m` time is huge pages rather
//!   than the cache's own work.

use criterion::{criterion_group, Criterion};
use memo_runtime::memo;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE: &str = "MEMO_BENCH_ROLE";
static RAN: AtomicBool = AtomicBool::new(false);

#[memo(persist = "disk")]
fn load(n: usize) -> Vec<f64> {
    RAN.store(true, Ordering::SeqCst);
    (0..n).map(|i| i as f64 * 0.5).collect()
}

/// The same, shared: a memory hit is a reference count, not a copy.
#[memo(persist = "disk")]
fn load_arc(n: usize) -> Arc<Vec<f64>> {
    RAN.store(true, Ordering::SeqCst);
    Arc::new((0..n).map(|i| i as f64 * 0.5).collect())
}

/// Not persisted: what any first `#[memo]` call costs in a fresh process
/// (creating the function's store, registering the thread).
#[memo]
fn plain(x: u64) -> u64 {
    x + 1
}

fn work_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/persist-bench");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn raw_file(n: usize) -> PathBuf {
    work_dir().join(format!("raw-{n}.f64"))
}

/// The child's side: one first call, timed, printed in nanoseconds.
fn child(role: &str) {
    let n: usize = std::env::var("N").unwrap().parse().unwrap();
    let (elapsed, len) = match role {
        "hit" => {
            let t = Instant::now();
            let v = load(n);
            let e = t.elapsed();
            assert!(!RAN.load(Ordering::SeqCst), "not served from disk");
            (e, std::hint::black_box(v).len())
        }
        "hit_arc" => {
            let t = Instant::now();
            let v = load_arc(n);
            let e = t.elapsed();
            assert!(!RAN.load(Ordering::SeqCst), "not served from disk");
            (e, std::hint::black_box(v).len())
        }
        "plain" => {
            let t = Instant::now();
            let v = plain(n as u64);
            let e = t.elapsed();
            std::hint::black_box(v);
            (e, n)
        }
        "raw" => {
            let path = raw_file(n);
            let t = Instant::now();
            let mut f = std::fs::File::open(&path).unwrap();
            let mut v = vec![0f64; n];
            // SAFETY: any 8 bytes are a valid f64; the slice covers `v` exactly.
            let bytes =
                unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), n * 8) };
            f.read_exact(bytes).unwrap();
            let e = t.elapsed();
            (e, std::hint::black_box(v).len())
        }
        #[cfg(target_os = "linux")]
        "raw_huge" => {
            use std::os::fd::AsRawFd;
            let path = raw_file(n);
            let t = Instant::now();
            let f = std::fs::File::open(&path).unwrap();
            let mut v = Vec::<f64>::with_capacity(n);
            let (at, len) = (v.as_mut_ptr() as usize, n * 8);
            const HUGE: usize = 2 << 20;
            let (start, end) = (at.next_multiple_of(HUGE), (at + len) & !(HUGE - 1));
            let mut done = 0;
            // SAFETY: a hint on memory inside `v`'s allocation; then reads
            // into `v`'s (uninitialised) room for `n` elements, and `set_len`
            // once every byte was written (any 8 bytes are a valid f64).
            unsafe {
                if end > start {
                    libc::madvise(start as *mut _, end - start, libc::MADV_HUGEPAGE);
                }
                while done < len {
                    let got = libc::read(f.as_raw_fd(), (at + done) as *mut _, len - done);
                    assert!(got > 0, "short read");
                    done += got as usize;
                }
                v.set_len(n);
            }
            let e = t.elapsed();
            (e, std::hint::black_box(v).len())
        }
        "write" => {
            load(n);
            load_arc(n);
            let raw: Vec<u8> = load(n).iter().flat_map(|x| x.to_le_bytes()).collect();
            std::fs::write(raw_file(n), raw).unwrap();
            (Duration::ZERO, n)
        }
        other => panic!("unknown role {other}"),
    };
    assert_eq!(len, n);
    println!("{}", elapsed.as_nanos());
}

fn spawn(role: &str, n: usize, cache: &Path) -> Duration {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--bench")
        .env(ROLE, role)
        .env("N", n.to_string())
        .env("MEMO_CACHE_DIR", cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let nanos: u64 = text.lines().last().unwrap().trim().parse().unwrap();
    Duration::from_nanos(nanos)
}

fn bench(c: &mut Criterion) {
    let cache = work_dir().join("cache");
    let _ = std::fs::remove_dir_all(&cache);
    let mut g = c.benchmark_group("persist_first_hit");
    g.sample_size(30).warm_up_time(Duration::from_millis(500));
    g.bench_function("memo_not_persisted_first_call", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| spawn("plain", 1, &cache)).sum())
    });
    for (label, n) in [("1k", 1_000usize), ("1m", 1_000_000)] {
        spawn("write", n, &cache);
        g.bench_function(format!("memo/{label}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| spawn("hit", n, &cache)).sum())
        });
        g.bench_function(format!("memo_arc/{label}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| spawn("hit_arc", n, &cache)).sum())
        });
        g.bench_function(format!("raw_read/{label}"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| spawn("raw", n, &cache)).sum())
        });
        if cfg!(target_os = "linux") && n * 8 >= 2 << 20 {
            g.bench_function(format!("raw_read_huge_pages/{label}"), |b| {
                b.iter_custom(|iters| (0..iters).map(|_| spawn("raw_huge", n, &cache)).sum())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(role) = std::env::var(ROLE) {
        child(&role);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
