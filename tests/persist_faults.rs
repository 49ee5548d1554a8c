//! `persist = "disk"` under faults: every damaged file is a miss that runs the
//! body, rewrites the entry and logs one warning; an unwritable directory
//! leaves the function in memory; a writer killed mid-write leaves nothing a
//! reader trusts; two processes hammering one directory never see a torn
//! entry. Each case runs in child processes of this binary, with its own
//! cache directory.

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

/// Rewrites the header checksum after a header field was changed, so that
/// the check under test is the one that fires.
fn fix_header_sum(b: &mut [u8]) {
    let sum = xxhash_rust::xxh3::xxh3_64(&b[..96]);
    b[96..104].copy_from_slice(&sum.to_le_bytes());
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
                if n.ends_with(".tmp") {
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
