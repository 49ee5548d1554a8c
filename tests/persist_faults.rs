//! `persist = "disk"` under faults: every damaged file, and anything that is
//! not a file at an entry's name, is a miss that runs the body, rewrites the
//! entry and logs one warning; a damaged function record is repaired; an
//! unwritable directory leaves the function in memory, and so does a cache
//! directory other users can write to; a writer killed mid-write leaves
//! nothing a reader trusts; two processes hammering one directory never see
//! a torn entry, and a clear racing with writes does not stop them; another
//! version's directory is left alone while a process uses it. Each case runs
//! in child processes of this binary, with its own cache directory.

mod persist_support;

use memo_runtime::memo;
use memo_suite::Runs;
use persist_support::*;
use std::path::Path;
use std::time::{Duration, Instant};

static RAN: Runs = Runs::new();

#[memo(persist = "disk")]
fn square(x: u64) -> u64 {
    RAN.hit();
    x * x
}

/// 8 MB per entry: long enough a write to kill it half-way.
#[memo(persist = "disk")]
fn big(x: u64) -> Vec<u64> {
    RAN.hit();
    vec![x; 1 << 20]
}

/// Memory holds one value, so calls alternating between keys go to disk.
#[memo(persist = "disk", max_entries = 1)]
fn shared(x: u64) -> Vec<u64> {
    RAN.hit();
    (0..2000).map(|i| i * x).collect()
}

/// What the children do.
#[test]
fn child() {
    let Some(role) = role() else { return };
    log_warnings();
    match role.as_str() {
        "square" => {
            for x in keys() {
                report(&format!("v{x}"), square(x));
            }
        }
        "big" => {
            for x in keys() {
                let v = big(x);
                report(
                    &format!("ok{x}"),
                    v.len() == 1 << 20 && v.iter().all(|&e| e == x),
                );
            }
        }
        "big_on_a_full_disk" => {
            // Files may not grow past 64 KiB: each 8 MB write fails part-way
            // with EFBIG, as a write to a full disk fails with ENOSPC.
            #[cfg(unix)]
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: 64 * 1024,
                    rlim_max: libc::RLIM_INFINITY,
                };
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
            }
            for x in keys() {
                let v = big(x);
                report(
                    &format!("ok{x}"),
                    v.len() == 1 << 20 && v.iter().all(|&e| e == x),
                );
            }
        }
        "usage" => {
            let names: Vec<String> = memo_runtime::persist::usage()
                .into_iter()
                .map(|u| u.function)
                .collect();
            report("functions", names.join(","));
        }
        "usage_dirs" => {
            let dirs: Vec<String> = memo_runtime::persist::usage()
                .into_iter()
                .map(|u| u.dir.display().to_string())
                .collect();
            report("dirs", dirs.join(","));
        }
        "clear_square" => report("cleared", memo_runtime::persist::clear_function("square")),
        "square_clear" => square_clear(),
        "clear_until_stopped" => {
            // Clears until the parent makes the file named by `STOP`, so
            // that no clear is cut short by a kill.
            let stop = std::env::var("STOP").unwrap();
            while !Path::new(&stop).exists() {
                square_clear();
            }
        }
        "square_then_wait" => {
            // Writes, then stays alive (holding its version's directory)
            // until the parent removes the file named by `WAIT_FOR`, then
            // writes `KEYS_AFTER`.
            for x in keys() {
                report(&format!("v{x}"), square(x));
            }
            let wait = std::env::var("WAIT_FOR").unwrap();
            std::fs::write(&wait, b"").unwrap();
            while Path::new(&wait).exists() {
                std::thread::sleep(Duration::from_millis(5));
            }
            let after = std::env::var("KEYS_AFTER").unwrap_or_default();
            for x in after.split(',').filter_map(|k| k.parse().ok()) {
                report(&format!("v{x}"), square(x));
            }
        }
        "big_forever" => {
            for x in 0.. {
                big(x);
            }
        }
        "hammer" => {
            let mut seed: u64 = std::process::id().into();
            let mut bad = 0;
            for i in 0..1500u64 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let x = seed % 6 + 1;
                if i % 5 == 0 {
                    // Deletes the file: the next call writes it again while
                    // the other process reads it.
                    shared_forget(x);
                }
                let v = shared(x);
                if v.len() != 2000 || v.iter().enumerate().any(|(i, &e)| e != i as u64 * x) {
                    bad += 1;
                }
            }
            report("bad", bad);
            report("disk_hits", shared_stats().disk_hits);
        }
        other => panic!("unknown role {other}"),
    }
    report("ran", RAN.get());
}

fn square_child(dir: &Path, keys: &str) -> Report {
    run({
        let mut c = child_cmd("child", "square", dir);
        c.env("KEYS", keys);
        c
    })
}

/// [`run`], but a child still running after a minute (a read blocked on a
/// FIFO) is killed and the test fails instead of hanging.
fn run_briefly(mut c: std::process::Command) -> Report {
    use std::process::Stdio;
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let r = parse(&child.wait_with_output().unwrap());
            panic!("the child hung:\n{}", r.raw);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    let r = parse(&o);
    assert!(o.status.success(), "child failed:\n{}", r.raw);
    r
}

fn square_child_briefly(dir: &Path, keys: &str) -> Report {
    run_briefly({
        let mut c = child_cmd("child", "square", dir);
        c.env("KEYS", keys);
        c
    })
}

/// Rewrites the header checksum after a header field was changed, so that
/// the check under test is the one that fires.
fn fix_header_sum(b: &mut [u8]) {
    let sum = xxhash_rust::xxh3::xxh3_64(&b[..104]);
    b[104..112].copy_from_slice(&sum.to_le_bytes());
}

type Damage = fn(&mut Vec<u8>);

const DAMAGES: &[(&str, Damage)] = &[
    ("zero-byte", |b| b.clear()),
    ("truncated header", |b| b.truncate(50)),
    ("truncated payload", |b| b.truncate(b.len() - 3)),
    ("one byte too many", |b| b.push(0)),
    ("garbage", |b| {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for byte in b.iter_mut() {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *byte = (s >> 33) as u8;
        }
    }),
    ("a flipped payload bit", |b| {
        let last = b.len() - 1;
        b[last] ^= 0x10;
    }),
    ("wrong format version", |b| {
        b[8..12].copy_from_slice(&99u32.to_le_bytes());
        fix_header_sum(b);
    }),
    ("wrong value type", |b| {
        b[48] ^= 1;
        fix_header_sum(b);
    }),
    ("another key's entry", |b| {
        b[32] ^= 1;
        fix_header_sum(b);
    }),
];

#[test]
fn every_damaged_entry_is_a_miss_that_is_rewritten_with_a_warning() {
    for (what, damage) in DAMAGES {
        let dir = fresh_dir("damage");
        let first = square_child(&dir, "7");
        assert_eq!((first.get("v7"), first.get("ran")), ("49", "1"));
        let file = entry_file(&dir, "square", 7);
        let mut bytes = std::fs::read(&file).unwrap();
        damage(&mut bytes);
        std::fs::write(&file, &bytes).unwrap();

        let hurt = square_child(&dir, "7");
        assert_eq!(hurt.get("v7"), "49", "{what}");
        assert_eq!(hurt.get("ran"), "1", "{what}: the body must run");
        assert_eq!(hurt.warnings.len(), 1, "{what}: {:?}", hurt.warnings);
        assert!(
            hurt.warnings[0].contains(&*file.to_string_lossy()),
            "{what}: the warning names the file: {}",
            hurt.warnings[0]
        );

        let healed = square_child(&dir, "7");
        assert_eq!(
            (healed.get("v7"), healed.get("ran")),
            ("49", "0"),
            "{what}: the entry was rewritten"
        );
        assert!(healed.warnings.is_empty(), "{what}: {:?}", healed.warnings);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn an_unwritable_directory_degrades_to_memory_with_one_warning() {
    let base = fresh_dir("unwritable");
    std::fs::create_dir_all(&base).unwrap();
    // A path under a regular file can't be created, not even by root.
    let file = base.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let r = square_child(&file.join("cache"), "2,3,2,3,4");
    assert_eq!((r.get("v2"), r.get("v3"), r.get("v4")), ("4", "9", "16"));
    assert_eq!(r.get("ran"), "3", "memory still caches");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("memory only"), "{}", r.warnings[0]);
    let _ = std::fs::remove_dir_all(&base);
}

#[cfg(unix)]
#[test]
fn a_full_disk_degrades_to_memory_with_one_warning() {
    let dir = fresh_dir("full");
    let r = run({
        let mut c = child_cmd("child", "big_on_a_full_disk", &dir);
        c.env("KEYS", "1,2,1,3,2");
        c
    });
    for x in 1..=3 {
        assert_eq!(r.get(&format!("ok{x}")), "true");
    }
    assert_eq!(r.get("ran"), "3", "memory still caches");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("memory only"), "{}", r.warnings[0]);
    // Nothing half-written is left behind to be read, or to take space.
    let d = fn_dir(&dir, "big");
    let files: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "function")
        .collect();
    assert!(files.is_empty(), "{files:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tmp_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for g in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(g.path()).into_iter().flatten().flatten() {
            for e in std::fs::read_dir(f.path()).into_iter().flatten().flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                // An entry's, not the function record's.
                if n.ends_with(".tmp") && n.contains(".memo.") {
                    out.push(n);
                }
            }
        }
    }
    out
}

/// Starts a writer and kills it (SIGKILL) while a temporary file exists, in
/// the middle of a write; `None` if the write finished before the kill
/// landed (the caller tries again).
fn kill_mid_write(dir: &Path) -> Option<()> {
    let mut writer = child_cmd("child", "big_forever", dir).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while tmp_files(dir).is_empty() {
        assert!(Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(Duration::from_micros(200));
    }
    writer.kill().unwrap();
    writer.wait().unwrap();
    if tmp_files(dir).is_empty() {
        let _ = std::fs::remove_dir_all(dir);
        return None;
    }
    Some(())
}

#[test]
fn a_writer_killed_mid_write_leaves_no_entry_that_is_read() {
    let dir = (0..10)
        .map(|_| fresh_dir("kill9"))
        .find(|d| kill_mid_write(d).is_some())
        .expect("ten kills all landed between writes");
    // The key whose write was cut, and every key written before it.
    let cut: u64 = (0..)
        .find(|x| !entry_file(&dir, "big", *x).exists())
        .unwrap();
    let keys: Vec<String> = (0..=cut).map(|x| x.to_string()).collect();
    let r = run({
        let mut c = child_cmd("child", "big", &dir);
        c.env("KEYS", keys.join(","));
        c
    });
    for x in 0..=cut {
        assert_eq!(r.get(&format!("ok{x}")), "true");
    }
    assert_eq!(r.get("ran"), "1", "only the cut key runs again");
    assert!(r.warnings.is_empty(), "no entry was torn: {:?}", r.warnings);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_processes_hammering_one_directory_never_see_a_torn_entry() {
    let dir = fresh_dir("hammer");
    let a = child_cmd("child", "hammer", &dir).output().unwrap();
    // Warm the directory first so both start on a shared set of entries,
    // then run two at once.
    assert!(a.status.success());
    let kids: Vec<_> = (0..2)
        .map(|_| child_cmd("child", "hammer", &dir).spawn_output())
        .collect();
    for k in kids {
        let r = parse(&k.join().unwrap());
        assert_eq!(r.get("bad"), "0", "{}", r.raw);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert!(
            r.get("disk_hits").parse::<u64>().unwrap() > 100,
            "{}",
            r.raw
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

trait SpawnOutput {
    fn spawn_output(self) -> std::thread::JoinHandle<std::process::Output>;
}

impl SpawnOutput for std::process::Command {
    fn spawn_output(mut self) -> std::thread::JoinHandle<std::process::Output> {
        std::thread::spawn(move || self.output().unwrap())
    }
}

/// Something that is not a file, put at an entry's name: what a user (or
/// debris, or sabotage) can leave there. Each gets the path to fill and a
/// scratch directory outside the cache.
#[cfg(unix)]
type MakeObstacle = fn(at: &Path, scratch: &Path);

#[cfg(unix)]
const OBSTACLES: &[(&str, MakeObstacle)] = &[
    ("a directory", |at, _| {
        std::fs::create_dir(at).unwrap();
        std::fs::write(at.join("inside"), b"x").unwrap();
    }),
    ("a FIFO", |at, _| mkfifo(at)),
    ("a symlink to a FIFO", |at, scratch| {
        let fifo = scratch.join("fifo");
        mkfifo(&fifo);
        std::os::unix::fs::symlink(&fifo, at).unwrap();
    }),
    ("a socket", |at, scratch| {
        // Made where its path is short enough for a socket address, then
        // moved; the socket file stays when the listener is dropped.
        let short = scratch.join("s");
        std::os::unix::net::UnixListener::bind(&short).unwrap();
        std::fs::rename(&short, at).unwrap();
    }),
    ("a symlink to a device", |at, _| {
        std::os::unix::fs::symlink("/dev/null", at).unwrap();
    }),
];

#[cfg(unix)]
fn mkfifo(at: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(at.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[cfg(unix)]
#[test]
fn something_not_a_file_at_an_entry_is_a_miss_that_is_replaced_with_one_warning() {
    for (what, make) in OBSTACLES {
        let dir = fresh_dir("obstacle");
        let scratch = fresh_dir("obstacle-scratch");
        std::fs::create_dir_all(&scratch).unwrap();
        let first = square_child(&dir, "7,8");
        assert_eq!(first.get("ran"), "2");
        let file = entry_file(&dir, "square", 7);
        std::fs::remove_file(&file).unwrap();
        make(&file, &scratch);

        let hurt = square_child_briefly(&dir, "7,8,7");
        assert_eq!((hurt.get("v7"), hurt.get("v8")), ("49", "64"), "{what}");
        assert_eq!(
            hurt.get("ran"),
            "1",
            "{what}: only 7 runs, 8 is still read from disk"
        );
        assert_eq!(hurt.warnings.len(), 1, "{what}: {:?}", hurt.warnings);
        assert!(
            hurt.warnings[0].contains(&*file.to_string_lossy()),
            "{what}: the warning names the file: {}",
            hurt.warnings[0]
        );
        assert!(
            std::fs::symlink_metadata(&file).unwrap().is_file(),
            "{what}: the entry is a file again"
        );

        let healed = square_child_briefly(&dir, "7,8");
        assert_eq!(
            (healed.get("v7"), healed.get("ran")),
            ("49", "0"),
            "{what}: the entry was rewritten, and read by the next process"
        );
        assert!(healed.warnings.is_empty(), "{what}: {:?}", healed.warnings);
        if what.contains("symlink to a FIFO") {
            assert!(
                scratch.join("fifo").exists(),
                "only the link went, not what it pointed to"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::remove_dir_all(&scratch);
    }
}

#[test]
fn an_empty_function_record_is_repaired_by_the_next_write() {
    let dir = fresh_dir("record");
    square_child(&dir, "3");
    let d = fn_dir(&dir, "square");
    // What a write that failed with ENOSPC half-way through used to leave.
    std::fs::write(d.join("function"), b"").unwrap();
    let r = square_child(&dir, "3,4");
    assert_eq!(r.get("ran"), "1", "3 is still read from disk");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let record = std::fs::read_to_string(d.join("function")).unwrap();
    assert!(record.starts_with("persist_faults::square\n"), "{record:?}");
    let listed = run(child_cmd("child", "usage", &dir));
    assert_eq!(listed.get("functions"), "persist_faults::square");
    let cleared = run(child_cmd("child", "clear_square", &dir));
    assert_eq!(cleared.get("cleared"), "2", "clear finds it by name");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_cache_dir_other_users_can_write_to_is_not_used() {
    use std::os::unix::fs::PermissionsExt;
    let dir = fresh_dir("loose");
    let chmod = |mode| std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode));
    square_child(&dir, "3");
    let entry = entry_file(&dir, "square", 3);
    let written = std::fs::read(&entry).unwrap();
    chmod(0o777).unwrap();

    let r = square_child(&dir, "3,4,3");
    assert_eq!((r.get("v3"), r.get("v4")), ("9", "16"));
    assert_eq!(
        r.get("ran"),
        "2",
        "3 is not read from disk; memory still caches"
    );
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let w = &r.warnings[0];
    assert!(
        w.contains(&format!("chmod 700 {}", dir.display())),
        "the warning says how to fix it: {w}"
    );
    assert!(w.contains("writable by every user"), "{w}");
    assert!(
        !entry_file(&dir, "square", 4).exists(),
        "nothing was written"
    );
    assert_eq!(std::fs::read(&entry).unwrap(), written);
    // Group-writable is refused too.
    chmod(0o770).unwrap();
    let r = square_child(&dir, "3");
    assert_eq!(
        (r.get("ran"), r.warnings.len()),
        ("1", 1),
        "{:?}",
        r.warnings
    );

    chmod(0o700).unwrap();
    let r = square_child(&dir, "3");
    assert_eq!(r.get("ran"), "0", "once fixed, the entries are read again");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_cache_dir_of_another_user_is_not_used() {
    use std::os::unix::ffi::OsStrExt;
    let dir = fresh_dir("foreign");
    square_child(&dir, "3");
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    // Only root can give a directory away; elsewhere there is nothing to test.
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::chown(c.as_ptr(), 65534, 65534) } != 0 {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }
    let r = square_child(&dir, "3");
    assert_eq!(r.get("ran"), "1", "nothing is read from it");
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].contains("belongs to user id 65534"),
        "{}",
        r.warnings[0]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A shared or exclusive `flock` on a directory, as a process of another
/// version of a function takes on its own.
#[cfg(unix)]
fn lock_dir(dir: &Path, how: libc::c_int) -> Option<std::fs::File> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(dir).unwrap();
    // SAFETY: an open file descriptor.
    (unsafe { libc::flock(f.as_raw_fd(), how) } == 0).then_some(f)
}

/// Makes a directory for another version of `square` beside this one's,
/// with one entry, as that version's process would have written it.
#[cfg(unix)]
fn other_version(dir: &Path) -> std::path::PathBuf {
    let own = fn_dir(dir, "square");
    let other = own.with_file_name(format!("{:032x}", 1));
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join("function"),
        format!("persist_faults::square\n{:032x}\n", 1),
    )
    .unwrap();
    std::fs::write(other.join(format!("{:032x}.memo", 2)), b"its entry").unwrap();
    other
}

#[cfg(unix)]
#[test]
fn another_versions_directory_stays_while_a_process_uses_it() {
    let dir = fresh_dir("versions");
    square_child(&dir, "1");
    let other = other_version(&dir);

    // A process of the other version holds its directory: a first write of
    // this version leaves it alone.
    let held = lock_dir(&other, libc::LOCK_SH).unwrap();
    let r = square_child(&dir, "2");
    assert_eq!(r.get("ran"), "1");
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(
        other.join(format!("{:032x}.memo", 2)).exists(),
        "the live version's entries stay"
    );
    // Once it is gone, the next first write removes them.
    drop(held);
    square_child(&dir, "3");
    assert!(!other.exists(), "the stale version is swept");
    assert_eq!(
        std::fs::read_dir(fn_dir(&dir, "square")).unwrap().count(),
        4,
        "this version kept its three entries and its record"
    );

    // An explicit clear removes every version, in use or not.
    let other = other_version(&dir);
    let _held = lock_dir(&other, libc::LOCK_SH).unwrap();
    run(child_cmd("child", "square_clear", &dir));
    assert!(!other.exists());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn a_process_holds_its_versions_directory_while_it_lives() {
    let dir = fresh_dir("holds");
    let wait = dir.with_extension("waiting");
    let mut c = child_cmd("child", "square_then_wait", &dir);
    c.env("KEYS", "5").env("WAIT_FOR", &wait);
    let child = c.spawn_output();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !wait.exists() {
        assert!(Instant::now() < deadline, "the child never wrote");
        std::thread::sleep(Duration::from_millis(5));
    }
    let own = fn_dir(&dir, "square");
    assert!(
        lock_dir(&own, libc::LOCK_EX | libc::LOCK_NB).is_none(),
        "a live process holds its version's directory"
    );
    std::fs::remove_file(&wait).unwrap();
    let r = parse(&child.join().unwrap());
    assert_eq!(r.get("ran"), "1", "{}", r.raw);
    assert!(
        lock_dir(&own, libc::LOCK_EX | libc::LOCK_NB).is_some(),
        "and lets go when it ends"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writes_go_on_while_another_process_clears_in_a_loop() {
    let dir = fresh_dir("clear-race");
    square_child(&dir, "1");
    let stop = dir.with_extension("stop");
    let mut clearer = child_cmd("child", "clear_until_stopped", &dir)
        .env("STOP", &stop)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let wait = dir.with_extension("waiting");
    let keys: Vec<String> = (1..=2000).map(|x| x.to_string()).collect();
    let mut c = child_cmd("child", "square_then_wait", &dir);
    c.env("KEYS", keys.join(","))
        .env("WAIT_FOR", &wait)
        .env("KEYS_AFTER", "9999");
    let writer = c.spawn_output();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !wait.exists() {
        assert!(Instant::now() < deadline, "the writer never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(&stop, b"").unwrap();
    assert!(clearer.wait().unwrap().success());
    // Every directory that still holds an entry is listed, so the next
    // clear finds it: a write that raced a clear left none without its
    // record.
    let versions: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .flat_map(|g| std::fs::read_dir(g.path()).unwrap().flatten())
        .map(|v| v.path())
        .collect();
    for v in &versions {
        let entries = std::fs::read_dir(v)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".memo"))
            .count();
        let record = std::fs::read_to_string(v.join("function")).unwrap_or_default();
        assert!(
            entries == 0 || record.lines().next().unwrap_or("").ends_with("::square"),
            "{} holds {entries} entries and record {record:?}",
            v.display()
        );
    }
    std::fs::remove_file(&wait).unwrap();
    let r = parse(&writer.join().unwrap());
    assert_eq!(r.get("v2000"), "4000000");
    assert!(r.warnings.is_empty(), "no write gave up: {:?}", r.warnings);
    let mut h = memo_runtime::KeyHasher::new();
    h.param("x", &9999u64);
    let name = format!("{:032x}.memo", h.finish());
    let listed = run(child_cmd("child", "usage_dirs", &dir));
    assert!(
        listed
            .get("dirs")
            .split(',')
            .any(|d| Path::new(d).join(&name).exists()),
        "the fn still persists once the clears stop, and is listed"
    );
    let _ = std::fs::remove_file(&stop);
    let _ = std::fs::remove_dir_all(&dir);
}
