//! What the persistence tests share: a fresh cache directory per test, child
//! processes of the test binary itself (a persisted cache is about what the
//! *next* process sees), and a `log` logger that reports warnings.

#![allow(dead_code)] // each test binary uses part of this

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable that tells a child which role to play.
pub const ROLE: &str = "MEMO_TEST_ROLE";

/// A fresh, empty directory under the system temp dir, unique to this test.
pub fn fresh_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "memo-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// The role this process was started for, if it is a child.
pub fn role() -> Option<String> {
    std::env::var(ROLE).ok()
}

/// A child: this test binary running only `test`, as `role`, with its disk
/// cache in `dir`.
pub fn child_cmd(test: &str, role: &str, dir: &Path) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([test, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE, role)
        .env("MEMO_CACHE_DIR", dir);
    c
}

/// What a child reported: `OUT key=value` lines and `WARN` lines.
#[derive(Debug)]
pub struct Report {
    pub out: HashMap<String, String>,
    pub warnings: Vec<String>,
    pub raw: String,
}

impl Report {
    pub fn get(&self, k: &str) -> &str {
        self.out
            .get(k)
            .unwrap_or_else(|| panic!("the child did not report `{k}`:\n{}", self.raw))
    }
}

pub fn parse(o: &Output) -> Report {
    let raw = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut out = HashMap::new();
    let mut warnings = Vec::new();
    for line in raw.lines() {
        if let Some(kv) = line.strip_prefix("OUT ") {
            if let Some((k, v)) = kv.split_once('=') {
                out.insert(k.to_string(), v.to_string());
            }
        } else if let Some(w) = line.strip_prefix("WARN ") {
            warnings.push(w.to_string());
        }
    }
    Report { out, warnings, raw }
}

/// Runs the child to completion; it must succeed.
pub fn run(mut c: Command) -> Report {
    let o = c.output().unwrap();
    let r = parse(&o);
    assert!(o.status.success(), "child failed:\n{}", r.raw);
    r
}

/// The keys a child was given in `KEYS` (comma-separated).
pub fn keys() -> Vec<u64> {
    std::env::var("KEYS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|k| k.parse().ok())
        .collect()
}

/// Reports a value to the parent.
pub fn report(k: &str, v: impl std::fmt::Display) {
    println!("OUT {k}={v}");
}

struct Printer;

impl log::Log for Printer {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            println!("WARN {}", r.args());
        }
    }
    fn flush(&self) {}
}

/// Prints every warning as a `WARN` line for the parent to count.
pub fn log_warnings() {
    let _ = log::set_logger(&Printer);
    log::set_max_level(log::LevelFilter::Warn);
}

/// The file of `f(x)` for a fn of one `u64` parameter named `x`, found in
/// the one function directory whose record names `function`.
pub fn entry_file(dir: &Path, function: &str, x: u64) -> PathBuf {
    let mut h = memo_runtime::KeyHasher::new();
    h.param("x", &x);
    let key = h.finish();
    fn_dir(dir, function).join(format!("{key:032x}.memo"))
}

/// The directory of the function whose record names `module::function`.
pub fn fn_dir(dir: &Path, function: &str) -> PathBuf {
    let mut found = Vec::new();
    for g in std::fs::read_dir(dir).unwrap().flatten() {
        for f in std::fs::read_dir(g.path()).unwrap().flatten() {
            let meta = std::fs::read_to_string(f.path().join("function")).unwrap_or_default();
            if meta
                .lines()
                .next()
                .is_some_and(|l| l.ends_with(&format!("::{function}")))
            {
                found.push(f.path());
            }
        }
    }
    assert_eq!(found.len(), 1, "directories of {function}: {found:?}");
    found.pop().unwrap()
}
