//! What a user of `persist = "disk"` sees across processes: ttl survives a
//! restart, `Result` persists only `Ok`, clear / forget / clear-all reach the
//! files (also of fns not called in the clearing process) and only ours,
//! `max_disk_entries` bounds the directory, files are private and named by
//! digests, the directory is fixed, absolute, on first use, and a value too
//! deep to read back is not written while the fn's other values are.

mod persist_support;

use memo_runtime::memo;
use memo_suite::Runs;
use persist_support::*;
use std::path::Path;
use std::time::Duration;

static RAN: Runs = Runs::new();

#[memo(persist = "disk")]
fn square(x: u64) -> u64 {
    RAN.hit();
    x * x
}

#[memo(persist = "disk")]
fn cube(x: u64) -> u64 {
    RAN.hit();
    x * x * x
}

#[memo(persist = "disk", ttl = "2s")]
fn brief(x: u64) -> u64 {
    RAN.hit();
    x + 1
}

#[memo(persist = "disk")]
fn parse(x: u64) -> Result<u64, String> {
    RAN.hit();
    if x % 2 == 0 {
        Ok(x / 2)
    } else {
        Err(format!("{x} is odd"))
    }
}

#[memo(persist = "disk", max_disk_entries = 3)]
fn bounded(x: u64) -> u64 {
    RAN.hit();
    x
}

/// One function, two value types: each instantiation has its own entries.
#[memo(persist = "disk")]
fn parsed<T>(x: u64) -> Option<T>
where
    T: std::str::FromStr
        + Clone
        + Send
        + Sync
        + serde::Serialize
        + serde::de::DeserializeOwned
        + 'static,
{
    RAN.hit();
    x.to_string().parse().ok()
}

/// Untagged: its `Deserialize` needs a self-describing format.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Loose {
    Num(u64),
    Text(String),
}

#[memo(persist = "disk")]
fn loose(x: u64) -> Loose {
    RAN.hit();
    if x % 2 == 0 {
        Loose::Num(x)
    } else {
        Loose::Text(x.to_string())
    }
}

/// A value nested one level per element on disk.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum List {
    Cons(u32, Box<List>),
    Nil,
}

impl List {
    fn len(&self) -> usize {
        let (mut n, mut at) = (0, self);
        while let List::Cons(_, next) = at {
            n += 1;
            at = next;
        }
        n
    }
}

#[memo(persist = "disk")]
fn chain(x: u64) -> List {
    RAN.hit();
    (0..x).fold(List::Nil, |l, i| List::Cons(i as u32, Box::new(l)))
}

/// Meets the test twice: once when its body has started, once when the
/// test has cleared or forgotten it.
static STARTED: std::sync::Barrier = std::sync::Barrier::new(2);
static RESUME: std::sync::Barrier = std::sync::Barrier::new(2);

#[memo(persist = "disk")]
fn gated(x: u64) -> u64 {
    RAN.hit();
    // Only the first run waits: the same process computes it again.
    static GATE: std::sync::Once = std::sync::Once::new();
    let mut first = false;
    GATE.call_once(|| first = std::env::var("GATED").is_ok());
    if first {
        STARTED.wait();
        RESUME.wait();
    }
    x + 100
}

/// `gated(1)` on another thread, with `remove` run while its body is under
/// way; reports what the call returned.
fn during_gated(remove: impl FnOnce()) {
    let t = std::thread::spawn(|| gated(1));
    STARTED.wait();
    remove();
    RESUME.wait();
    report("gated1", t.join().unwrap());
}

#[test]
fn child() {
    let Some(role) = role() else { return };
    log_warnings();
    for step in role.split(';') {
        match step {
            "square" => keys()
                .into_iter()
                .for_each(|x| report(&format!("square{x}"), square(x))),
            "cube" => keys()
                .into_iter()
                .for_each(|x| report(&format!("cube{x}"), cube(x))),
            "brief" => keys()
                .into_iter()
                .for_each(|x| report(&format!("brief{x}"), brief(x))),
            "parse" => keys()
                .into_iter()
                .for_each(|x| report(&format!("parse{x}"), format!("{:?}", parse(x)))),
            "bounded" => keys().into_iter().for_each(|x| {
                bounded(x);
            }),
            "sleep" => std::thread::sleep(Duration::from_millis(2100)),
            "generic" => keys().into_iter().for_each(|x| {
                report(&format!("u8_{x}"), format!("{:?}", parsed::<u8>(x)));
                report(&format!("string_{x}"), format!("{:?}", parsed::<String>(x)));
            }),
            "loose" => keys().into_iter().for_each(|x| {
                let v = match loose(x) {
                    Loose::Num(n) => n.to_string(),
                    Loose::Text(t) => t,
                };
                report(&format!("loose{x}"), v);
            }),
            "chain" => keys()
                .into_iter()
                .for_each(|x| report(&format!("chain{x}"), chain(x).len())),
            "square_clear" => square_clear(),
            "clear_disk" => {
                memo_runtime::persist::clear_function("square");
            }
            "square_more" => report("square9", square(9)),
            "forget" => keys()
                .into_iter()
                .for_each(|x| report(&format!("forgot{x}"), square_forget(x))),
            "clear_all" => memo_runtime::memo::clear_all(),
            "gated" => report("gated1", gated(1)),
            "forget_gated_in_flight" => during_gated(|| {
                gated_forget(1);
            }),
            "clear_gated_in_flight" => during_gated(gated_clear),
            "clear_disk_gated_in_flight" => during_gated(|| {
                memo_runtime::persist::clear_function("gated");
            }),
            "chdir" => std::env::set_current_dir(std::env::var("CHDIR").unwrap()).unwrap(),
            "dir" => report("dir", memo_runtime::persist::dir().display()),
            "set_dir_empty" => report("empty", memo_runtime::persist::set_dir("").unwrap_err()),
            "set_dir" => memo_runtime::persist::set_dir(std::env::var("SET_DIR").unwrap()).unwrap(),
            other => panic!("unknown step {other}"),
        }
    }
    report("ran", RAN.get());
}

fn go(dir: &Path, steps: &str, keys: &str) -> Report {
    let r = run({
        let mut c = child_cmd("child", steps, dir);
        c.env("KEYS", keys);
        c
    });
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    r
}

fn entries(dir: &Path, function: &str) -> usize {
    let Ok(list) = std::fs::read_dir(fn_dir(dir, function)) else {
        return 0;
    };
    list.flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".memo"))
        .count()
}

#[test]
fn ttl_is_stored_with_the_entry_and_honoured_after_a_restart() {
    let dir = fresh_dir("ttl");
    assert_eq!(go(&dir, "brief", "1").get("ran"), "1");
    // Within the ttl a new process reads it; the value read back keeps only
    // the rest of its life, so after the expiry it runs again in-process too.
    let r = go(&dir, "brief;sleep;brief", "1");
    assert_eq!((r.get("brief1"), r.get("ran")), ("2", "1"));
    // Expired on disk as well: a restart does not bring it back.
    let r = go(&dir, "sleep;brief", "1");
    assert_eq!(r.get("ran"), "1");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_result_persists_only_ok() {
    let dir = fresh_dir("result");
    let r = go(&dir, "parse", "4,5");
    assert_eq!(
        (r.get("parse4"), r.get("parse5")),
        ("Ok(2)", "Err(\"5 is odd\")")
    );
    assert_eq!(entries(&dir, "parse"), 1);
    let r = go(&dir, "parse", "4,5");
    assert_eq!(r.get("ran"), "1", "only the Err runs again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clear_deletes_the_fns_files_even_in_a_process_that_never_called_it() {
    let dir = fresh_dir("clear");
    go(&dir, "square;cube", "1,2");
    assert_eq!((entries(&dir, "square"), entries(&dir, "cube")), (2, 2));
    go(&dir, "square_clear", "");
    assert!(
        std::fs::read_dir(&dir).unwrap().count() == 1,
        "square's directory is gone, cube's stays"
    );
    assert_eq!(entries(&dir, "cube"), 2);
    let r = go(&dir, "square;cube", "1,2");
    assert_eq!(
        r.get("ran"),
        "2",
        "square recomputes, cube is served from disk"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_directory_cleared_under_a_running_process_is_written_again() {
    let dir = fresh_dir("cleared-under");
    // `go` asserts that no warning was logged: the process keeps persisting.
    go(&dir, "square;clear_disk;square_more", "1");
    assert!(!entry_file(&dir, "square", 1).exists());
    assert!(entry_file(&dir, "square", 9).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_generic_fn_persists_each_instantiation() {
    let dir = fresh_dir("generic");
    let r = go(&dir, "generic", "7,300");
    assert_eq!((r.get("u8_7"), r.get("u8_300")), ("Some(7)", "None"));
    assert_eq!(r.get("string_300"), "Some(\"300\")");
    assert_eq!(r.get("ran"), "4");
    assert_eq!(entries(&dir, "parsed"), 4);
    let r = go(&dir, "generic", "7,300");
    assert_eq!(
        (r.get("u8_7"), r.get("string_300")),
        ("Some(7)", "Some(\"300\")")
    );
    assert_eq!(r.get("ran"), "0");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_type_that_would_not_read_back_is_kept_in_memory_with_one_warning() {
    let dir = fresh_dir("loose");
    // Every process finds out once, and writes nothing.
    for _ in 0..2 {
        let r = run({
            let mut c = child_cmd("child", "loose", &dir);
            c.env("KEYS", "2,3,2,3");
            c
        });
        assert_eq!((r.get("loose2"), r.get("loose3")), ("2", "3"));
        assert_eq!(r.get("ran"), "2", "memory still caches");
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(
            r.warnings[0].contains("would not read back"),
            "{}",
            r.warnings[0]
        );
        assert!(
            r.warnings[0].contains("deserialize_any"),
            "{}",
            r.warnings[0]
        );
        assert!(!dir.exists(), "nothing was written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_value_too_deep_to_read_back_is_not_written_and_the_fn_still_persists_others() {
    let dir = fresh_dir("too-deep");
    // The too-deep value comes first: were it to make the fn memory-only (as
    // a value that does not read back does), 10 and 1000 would not be written.
    let chains = || {
        run({
            let mut c = child_cmd("child", "chain", &dir);
            c.env("KEYS", "1100,10,1000,1100");
            c
        })
    };
    let r = chains();
    assert_eq!(
        (r.get("chain1100"), r.get("chain10"), r.get("chain1000")),
        ("1100", "10", "1000")
    );
    assert_eq!(r.get("ran"), "3", "memory still caches the deep one");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("can't be written to disk")
            && r.warnings[0].contains("nested more than 1024 levels deep"),
        "{}",
        r.warnings[0]
    );
    assert_eq!(entries(&dir, "chain"), 2);
    assert!(!entry_file(&dir, "chain", 1100).exists());
    // A later process reads 10 and 1000 back (1 001 levels, near the limit)
    // and finds nothing it calls corrupt; only 1100 runs again.
    let r = chains();
    assert_eq!(
        (r.get("chain1100"), r.get("chain10"), r.get("chain1000")),
        ("1100", "10", "1000")
    );
    assert_eq!(r.get("ran"), "1");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("nested"), "{}", r.warnings[0]);
    assert_eq!(entries(&dir, "chain"), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn forget_deletes_the_one_file() {
    let dir = fresh_dir("forget");
    go(&dir, "square", "1,2");
    let r = go(&dir, "forget", "1,7");
    assert_eq!((r.get("forgot1"), r.get("forgot7")), ("true", "false"));
    assert!(!entry_file(&dir, "square", 1).exists());
    assert!(entry_file(&dir, "square", 2).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn clear_all_deletes_every_persisted_entry_and_nothing_else() {
    let dir = fresh_dir("clear-all");
    go(&dir, "square;cube", "1,2");
    std::fs::write(dir.join("notes.txt"), "not ours").unwrap();
    go(&dir, "clear_all", "");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert_eq!(go(&dir, "square;cube", "1").get("ran"), "2");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn max_disk_entries_bounds_the_directory() {
    let dir = fresh_dir("bounded");
    go(&dir, "bounded", "1,2,3,4,5,6");
    assert_eq!(entries(&dir, "bounded"), 3);
    for x in 4..=6 {
        assert!(entry_file(&dir, "bounded", x).exists(), "the newest stay");
    }
    // A new process counts what is there before adding.
    go(&dir, "bounded", "7,8");
    assert_eq!(entries(&dir, "bounded"), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn files_are_private_and_named_by_digests() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("perms");
    go(&dir, "square", "3");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let f = entry_file(&dir, "square", 3);
    assert_eq!(mode(f.parent().unwrap()), 0o700);
    assert_eq!(mode(&f), 0o600);
    for g in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = g.file_name().to_string_lossy().into_owned();
        assert!(
            name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_dir_after_first_use_is_an_error() {
    if role().is_some() {
        return;
    }
    let dir = fresh_dir("set-dir");
    memo_runtime::persist::set_dir(&dir).unwrap();
    square(1);
    let e = memo_runtime::persist::set_dir(dir.join("other")).unwrap_err();
    assert_eq!(
        e,
        memo_runtime::persist::SetDirError::InUse {
            current: dir.clone()
        }
    );
    assert!(e.to_string().contains("before the first persisted call"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn set_dir_with_an_empty_path_is_an_error_and_changes_nothing() {
    let unused = fresh_dir("set-dir-empty-unused");
    let dir = fresh_dir("set-dir-empty");
    let r = run({
        let mut c = child_cmd("child", "set_dir_empty;set_dir;square;dir", &unused);
        c.env("SET_DIR", &dir).env("KEYS", "3");
        c
    });
    assert!(r.get("empty").contains("empty path"), "{}", r.get("empty"));
    assert_eq!(
        r.get("dir"),
        dir.display().to_string(),
        "the failed call did not fix the directory"
    );
    assert!(entry_file(&dir, "square", 3).exists());
    assert!(!unused.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_relative_cache_dir_is_fixed_where_it_was_first_used() {
    let work = fresh_dir("relative");
    std::fs::create_dir_all(work.join("elsewhere")).unwrap();
    let r = run({
        let mut c = child_cmd("child", "square;chdir;cube;dir", Path::new("relcache"));
        c.current_dir(&work)
            .env("CHDIR", work.join("elsewhere"))
            .env("KEYS", "2");
        c
    });
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // As the child's working directory reads (macOS's temp dir is behind
    // a symlink).
    let cache = work.canonicalize().unwrap().join("relcache");
    assert_eq!(r.get("dir"), cache.display().to_string(), "absolute");
    assert!(entry_file(&cache, "square", 2).exists());
    assert!(
        entry_file(&cache, "cube", 2).exists(),
        "written after the chdir, to the same directory"
    );
    assert!(!work.join("elsewhere/relcache").exists());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn clear_leaves_a_users_own_files_in_a_fn_directory() {
    let dir = fresh_dir("users-files");
    go(&dir, "square", "1");
    let fd = fn_dir(&dir, "square");
    let notes = fd.join(".notes.tmp");
    std::fs::write(&notes, "mine").unwrap();
    go(&dir, "square_clear", "");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    assert!(!entry_file_at(&fd, 1).exists());
    go(&dir, "clear_all", "");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The file of `square(x)` in the fn directory `fd` (which `entry_file`
/// can't find once its record is cleared).
fn entry_file_at(fd: &Path, x: u64) -> std::path::PathBuf {
    let mut h = memo_runtime::KeyHasher::new();
    h.param("x", &x);
    fd.join(format!("{:032x}.memo", h.finish()))
}

/// Entry files anywhere under `dir`, which may not exist.
fn memo_files(dir: &Path) -> usize {
    let Ok(list) = std::fs::read_dir(dir) else {
        return 0;
    };
    list.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => memo_files(&e.path()),
            _ => e.file_name().to_string_lossy().ends_with(".memo") as usize,
        })
        .sum()
}

#[test]
fn a_computation_under_way_when_its_key_is_removed_writes_no_file() {
    // Memory keeps such a value out (the slot is orphaned); so must the
    // disk, or the next process, or this one's next miss, would read back
    // a value computed from before the removal.
    let gated_run = |dir: &Path, steps: &str| {
        let r = run({
            let mut c = child_cmd("child", steps, dir);
            c.env("GATED", "1");
            c
        });
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        r
    };
    for removal in [
        "forget_gated_in_flight",
        "clear_gated_in_flight",
        "clear_disk_gated_in_flight",
    ] {
        let dir = fresh_dir(removal);
        let r = gated_run(&dir, removal);
        assert_eq!(
            r.get("gated1"),
            "101",
            "{removal}: the caller gets its value"
        );
        assert_eq!(memo_files(&dir), 0, "{removal}: no file");
        assert_eq!(
            go(&dir, "gated", "").get("ran"),
            "1",
            "{removal}: recomputed"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    // In the same process, the next call computes again: neither memory
    // nor disk has the value.
    for removal in ["forget_gated_in_flight", "clear_gated_in_flight"] {
        let dir = fresh_dir(removal);
        let r = gated_run(&dir, &format!("{removal};gated"));
        assert_eq!(r.get("ran"), "2", "{removal}: the next call computes");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
