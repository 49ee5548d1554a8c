//! The whole story across processes and rebuilds: a small app is built and
//! run twice (the second run is served from disk), then one function's
//! source is edited and the app rebuilt: that function recomputes and its old
//! entries are removed, while the unchanged function is still served from
//! disk, drawing what its body drew (element replay after a restart).

use std::path::{Path, PathBuf};
use std::process::Command;

const MAIN: &str = r#"
use memo_runtime::memo;
use std::sync::atomic::{AtomicUsize, Ordering};

static SQUARE_RAN: AtomicUsize = AtomicUsize::new(0);
static GREET_RAN: AtomicUsize = AtomicUsize::new(0);

#[memo(persist = "disk", ttl = "1h")]
fn square(x: u64) -> u64 {
    SQUARE_RAN.fetch_add(1, Ordering::SeqCst);
    BODY
}

#[memo(persist = "disk")]
fn greet(name: String) -> String {
    GREET_RAN.fetch_add(1, Ordering::SeqCst);
    memo_runtime::st::sidebar().markdown(format!("greeting {name}"));
    format!("hello {name}")
}

fn main() {
    let squares: Vec<u64> = (1..=3).map(square).collect();
    println!("squares={squares:?}");
    // `greet` runs inside an app session: what it draws is stored with its
    // entry, and drawn again when a later process reads the entry.
    let mut session = memo_runtime::ui::Session::new();
    let mut greeting = String::new();
    session.run(|| {
        greeting = greet("ann".into());
        memo_runtime::st::text(greeting.as_str());
    });
    println!("greet={greeting}");
    println!("tree={}", session.to_json());
    println!("square_ran={}", SQUARE_RAN.load(Ordering::SeqCst));
    println!("greet_ran={}", GREET_RAN.load(Ordering::SeqCst));
    println!("disk_hits={}", square_stats().disk_hits);
}
"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write_app(app: &Path, body: &str) {
    std::fs::create_dir_all(app.join("src")).unwrap();
    let runtime = root().join("crates/memo-runtime");
    std::fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"memo-restart-app\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nmemo-runtime = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    // The workspace's lock file: the same dependency versions, nothing to fetch.
    std::fs::copy(root().join("Cargo.lock"), app.join("Cargo.lock")).unwrap();
    std::fs::write(app.join("src/main.rs"), MAIN.replace("BODY", body)).unwrap();
}

fn build(app: &Path, target: &Path) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(app.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building the app failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug/memo-restart-app")
}

fn run(bin: &Path, cache: &Path) -> std::collections::HashMap<String, String> {
    let out = Command::new(bin)
        .env("MEMO_CACHE_DIR", cache)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The version directories under the cache, by function group.
fn versions(cache: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for g in std::fs::read_dir(cache).unwrap().flatten() {
        for v in std::fs::read_dir(g.path()).unwrap().flatten() {
            out.push((
                g.file_name().to_string_lossy().into_owned(),
                v.file_name().to_string_lossy().into_owned(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn a_second_run_is_served_from_disk_and_an_edit_recomputes() {
    // Under target/, so that the app's own build is cached between test runs.
    let work = root().join("target/persist-restart");
    let app = work.join("app");
    let cache = work.join(format!("cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);

    write_app(&app, "x * x");
    let bin = build(&app, &work.join("target"));
    let first = run(&bin, &cache);
    assert_eq!(first["squares"], "[1, 4, 9]");
    assert_eq!(
        (first["square_ran"].as_str(), first["greet_ran"].as_str()),
        ("3", "1")
    );

    let second = run(&bin, &cache);
    assert_eq!(second["squares"], "[1, 4, 9]");
    assert_eq!(second["greet"], "hello ann");
    assert_eq!(
        (second["square_ran"].as_str(), second["greet_ran"].as_str()),
        ("0", "0"),
        "the second run must be served from disk"
    );
    assert_eq!(second["disk_hits"], "3");
    let tree = r#"{"main":[{"element":{"type":"text","body":"hello ann"}}],"sidebar":[{"element":{"type":"markdown","body":"greeting ann"}}]}"#;
    assert_eq!(first["tree"], tree, "the first run drew it");
    assert_eq!(
        second["tree"], tree,
        "and the second, served from disk, drew it again"
    );
    let before = versions(&cache);
    assert_eq!(before.len(), 2, "{before:?}");

    // A different body: a different source hash.
    write_app(&app, "x.pow(2)");
    let bin = build(&app, &work.join("target"));
    let edited = run(&bin, &cache);
    assert_eq!(edited["squares"], "[1, 4, 9]");
    assert_eq!(
        edited["square_ran"], "3",
        "an edited fn never reads its old entries"
    );
    assert_eq!(
        edited["greet_ran"], "0",
        "an unchanged fn keeps its entries"
    );
    assert_eq!(edited["tree"], tree, "and what they drew");
    let after = versions(&cache);
    assert_eq!(
        after.len(),
        2,
        "the old version's directory is gone: {after:?}"
    );
    let changed: Vec<_> = after.iter().filter(|v| !before.contains(v)).collect();
    assert_eq!(changed.len(), 1, "only square's version changed: {after:?}");

    let again = run(&bin, &cache);
    assert_eq!(
        (again["square_ran"].as_str(), again["greet_ran"].as_str()),
        ("0", "0")
    );
    let _ = std::fs::remove_dir_all(&cache);
}
