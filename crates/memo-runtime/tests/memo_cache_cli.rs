//! The `memo-cache` command, run as a process: its exit codes and messages,
//! and what it lists and clears in cache directories this test fills with
//! real entries (plus the debris a listing must not miscount).

use memo_runtime::memo;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

#[memo(persist = "disk")]
fn squares(n: u64) -> Vec<u64> {
    (0..n).map(|i| i * i).collect()
}

#[memo(persist = "disk")]
fn label(n: u64) -> String {
    format!("#{n}")
}

mod data {
    pub struct Loader;

    impl Loader {
        #[memo_runtime::memo(persist = "disk")]
        pub fn weights(n: u64) -> Vec<f32> {
            vec![0.5; n as usize]
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memo-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

/// Entries written by this process. Its cache directory is fixed on first
/// use, so tests copy them into directories of their own ([`cache`]).
fn written() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("written");
        memo_runtime::persist::set_dir(&dir).unwrap();
        squares(10);
        squares(20);
        label(1);
        data::Loader::weights(1000);
        dir
    })
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A cache directory for one test, holding copies of [`written`]'s entries.
fn cache(name: &str) -> PathBuf {
    let dir = scratch(name);
    copy_tree(written(), &dir);
    dir
}

/// Where `function`'s directory is in a copy made by [`cache`].
fn fn_dir(cache: &Path, function: &str) -> PathBuf {
    written();
    let u = memo_runtime::persist::usage();
    let u = u.iter().find(|u| u.function.ends_with(function)).unwrap();
    cache.join(u.dir.strip_prefix(written()).unwrap())
}

struct Ran {
    code: i32,
    out: String,
    err: String,
}

fn ran(cmd: &mut Command) -> Ran {
    let o = cmd.output().unwrap();
    Ran {
        code: o.status.code().unwrap(),
        out: String::from_utf8(o.stdout).unwrap(),
        err: String::from_utf8(o.stderr).unwrap(),
    }
}

fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_memo-cache"));
    c.env_remove(memo_runtime::persist::ENV_VAR);
    c
}

fn memo_cache(args: &[&str]) -> Ran {
    ran(command().args(args))
}

/// `memo-cache --dir DIR ARGS...`, which must succeed.
fn ok_in(dir: &Path, args: &[&str]) -> String {
    let r = ran(command().arg("--dir").arg(dir).args(args));
    assert_eq!(r.code, 0, "{args:?}:\n{}{}", r.out, r.err);
    assert!(r.err.is_empty(), "{args:?}: {}", r.err);
    r.out
}

fn in_dir(dir: &Path, args: &[&str]) -> Ran {
    ran(command().arg("--dir").arg(dir).args(args))
}

#[test]
fn help_goes_to_stdout_and_succeeds() {
    for args in [&["--help"][..], &["-h"], &["help"], &["list", "--help"]] {
        let r = memo_cache(args);
        assert_eq!((r.code, r.err.as_str()), (0, ""), "{args:?}");
        for part in [
            "commands:",
            "clear NAME",
            "--dir=PATH",
            "MEMO_CACHE_DIR",
            "exit status",
        ] {
            assert!(r.out.contains(part), "{args:?} lacks {part}:\n{}", r.out);
        }
    }
    let r = memo_cache(&["--version"]);
    assert_eq!(
        (r.code, r.out.trim()),
        (0, &*format!("memo-cache {}", env!("CARGO_PKG_VERSION")))
    );
}

#[test]
fn no_arguments_print_the_usage_on_stderr() {
    let r = memo_cache(&[]);
    assert_eq!((r.code, r.out.as_str()), (2, ""));
    assert!(r.err.starts_with("usage: memo-cache"), "{}", r.err);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for (args, says) in [
        (
            &["list", "bogus"][..],
            "`list` takes no arguments (got `bogus`)",
        ),
        (&["dir", "bogus"], "`dir` takes no arguments (got `bogus`)"),
        (&["--bogus", "list"], "unknown option `--bogus`"),
        (&["list", "-x"], "unknown option `-x`"),
        (&["frobnicate"], "unknown command `frobnicate`"),
        (&["list", "--dir"], "--dir needs a path"),
        (
            &["--dir", "", "list"],
            "--dir needs a path, not an empty one",
        ),
        (&["--dir=", "list"], "--dir needs a path, not an empty one"),
        (&["--dir", "/a", "--dir=/b", "list"], "--dir given twice"),
        (&["--dir", "/a"], "no command"),
    ] {
        let r = memo_cache(args);
        assert_eq!((r.code, r.out.as_str()), (2, ""), "{args:?}: {}", r.err);
        assert!(
            r.err.starts_with(&format!("memo-cache: {says}\n")),
            "{args:?}: {}",
            r.err
        );
        assert!(r.err.contains("usage: memo-cache"), "{args:?}: {}", r.err);
    }
}

#[test]
fn the_directory_is_the_flag_else_the_environment() {
    let env = scratch("env-dir");
    let dir = |args: &[&str]| {
        let r = ran(command()
            .env(memo_runtime::persist::ENV_VAR, &env)
            .args(args));
        assert_eq!((r.code, r.err.as_str()), (0, ""), "{args:?}");
        r.out.trim_end().to_string()
    };
    assert_eq!(dir(&["dir"]), env.display().to_string());
    assert_eq!(dir(&["--dir=/from/flag", "dir"]), "/from/flag");
    assert_eq!(dir(&["dir", "--dir", "/from/flag"]), "/from/flag");
}

#[test]
fn a_missing_directory_has_nothing_to_list_or_clear() {
    let dir = scratch("missing");
    assert_eq!(
        ok_in(&dir, &["list"]),
        format!(
            "no disk cache at {} (nothing has been persisted yet)\n",
            dir.display()
        )
    );
    assert!(ok_in(&dir, &["clear"]).contains("nothing to clear"));
    // A name that matches nothing is an error, here as anywhere.
    assert_eq!(in_dir(&dir, &["clear", "squares"]).code, 1);
    assert!(!dir.exists(), "listing or clearing made {}", dir.display());
}

#[test]
fn a_directory_that_is_a_file_is_an_error() {
    let file = scratch("file");
    fs::write(&file, "not a cache").unwrap();
    for args in [&["list"][..], &["clear"]] {
        let r = in_dir(&file, args);
        assert_eq!((r.code, r.out.as_str()), (1, ""), "{args:?}");
        assert_eq!(
            r.err,
            format!(
                "memo-cache: the disk cache at {} is not a directory\n",
                file.display()
            )
        );
    }
    // A path through a file can't be read at all.
    let r = in_dir(&file.join("sub"), &["list"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("can't read the disk cache at"), "{}", r.err);
    fs::remove_file(&file).unwrap();
}

/// Puts what a listing must show (an unfinished write) or must not count
/// (a symlink and a directory under entries' names, a directory with the
/// layout's names but no function record) into a copy of the entries.
/// Returns the symlink's target and the foreign file, which must survive a
/// clear.
fn add_debris(dir: &Path) -> (PathBuf, PathBuf) {
    let squares = fn_dir(dir, "::squares");
    fs::write(
        squares.join(format!(".{:032x}.memo.4242.0.tmp", 0xdead)),
        vec![0u8; 3000],
    )
    .unwrap();
    let label = fn_dir(dir, "::label");
    let target = dir.with_extension("outside");
    fs::write(&target, vec![0u8; 50_000]).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, label.join(format!("{:032x}.memo", 0xabc))).unwrap();
    fs::create_dir(label.join(format!("{:032x}.memo", 0xdef))).unwrap();
    let foreign = dir.join("f".repeat(32)).join("e".repeat(32));
    fs::create_dir_all(&foreign).unwrap();
    let foreign_file = foreign.join(format!("{:032x}.memo", 1));
    fs::write(&foreign_file, vec![0u8; 70_000]).unwrap();
    (target, foreign_file)
}

#[test]
fn list_shows_entries_unfinished_writes_and_the_total() {
    let dir = cache("list");
    let (target, _) = add_debris(&dir);
    let list = ok_in(&dir, &["list"]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], dir.display().to_string(), "{list}");
    assert!(lines[1].trim_start().starts_with("FUNCTION"), "{list}");
    let row = |f: &str| -> Vec<&str> {
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with(f) || l.contains(&format!("::{f} ")))
            .unwrap_or_else(|| panic!("{f} missing from:\n{list}"));
        line.split_whitespace().collect()
    };
    // Functions by full path, sorted; the foreign directory is not one.
    assert_eq!(
        lines[2].split_whitespace().next(),
        Some("memo_cache_cli::data::Loader::weights")
    );
    assert_eq!(
        lines[3].split_whitespace().next(),
        Some("memo_cache_cli::label")
    );
    assert_eq!(
        lines[4].split_whitespace().next(),
        Some("memo_cache_cli::squares")
    );
    assert!(
        lines[5].trim_start().starts_with("total (3 functions)"),
        "{list}"
    );
    assert!(!list.contains('?') && !list.contains("eeee"), "{list}");
    // Only the real entries count: not the symlink (whose target is 50 kB)
    // nor the directory beside label's entry.
    assert_eq!(row("label")[1], "1", "{list}");
    assert_eq!(row("label").last(), Some(&"B"), "{list}"); // bytes, not kilobytes
    assert_eq!(row("squares")[1], "2", "{list}");
    let total = row("total");
    assert_eq!(total[3], "4", "{list}");
    assert!(
        total[5] == "KiB" && total[4].parse::<f64>().unwrap() < 10.0,
        "{list}"
    );
    assert!(
        lines[4].ends_with("  + 1 unfinished write, 2.9 KiB"),
        "{list}"
    );
    assert!(
        lines[5].ends_with("  + 1 unfinished write, 2.9 KiB"),
        "{list}"
    );
    assert!(
        lines[6..].join(" ").contains("An unfinished write is"),
        "{list}"
    );
    // Aligned: every row's numbers end under their headings.
    let entries_end = lines[1].find("ENTRIES").unwrap() + "ENTRIES".len();
    let size_end = lines[1].find("SIZE").unwrap() + "SIZE".len();
    for l in &lines[2..6] {
        assert!(l.as_bytes()[entries_end - 1].is_ascii_digit(), "{list}");
        assert_eq!(l.as_bytes()[entries_end], b' ', "{list}");
        assert_eq!(l.as_bytes()[size_end - 1], b'B', "{list}");
        assert!(
            l.len() == size_end || l[size_end..].starts_with("  + "),
            "{list}"
        );
    }
    let _ = (fs::remove_dir_all(&dir), fs::remove_file(target));
}

#[test]
fn list_of_an_empty_directory_says_so() {
    let dir = scratch("empty");
    fs::create_dir(&dir).unwrap();
    assert_eq!(
        ok_in(&dir, &["list"]),
        format!("{}\n  no entries\n", dir.display())
    );
    let _ = fs::remove_dir(&dir);
}

#[test]
fn clear_counts_what_it_removed() {
    let dir = cache("clear-all");
    let (target, foreign) = add_debris(&dir);
    assert_eq!(
        ok_in(&dir, &["clear"]),
        format!(
            "removed 4 entries and 1 unfinished write of 3 functions from {}\n",
            dir.display()
        )
    );
    assert_eq!(
        ok_in(&dir, &["list"]),
        format!("{}\n  no entries\n", dir.display())
    );
    assert!(target.exists() && foreign.exists());
    assert_eq!(
        ok_in(&dir, &["clear"]),
        format!("removed 0 entries of 0 functions from {}\n", dir.display())
    );
    let _ = (fs::remove_dir_all(&dir), fs::remove_file(target));
}

#[test]
fn clear_name_says_what_matched_and_what_did_not() {
    let dir = cache("clear-name");
    assert_eq!(
        ok_in(&dir, &["clear", "squares"]),
        "squares: removed 2 entries (memo_cache_cli::squares)\n"
    );
    assert_eq!(
        ok_in(&dir, &["clear", "Loader::weights"]),
        "Loader::weights: removed 1 entry (memo_cache_cli::data::Loader::weights)\n"
    );
    // One name that matches and one that doesn't: the first is cleared, and
    // the second is an error.
    let r = in_dir(&dir, &["clear", "label", "nothing"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.out, "label: removed 1 entry (memo_cache_cli::label)\n");
    assert_eq!(
        r.err,
        format!(
            "memo-cache: no function named nothing in {}; `memo-cache list` shows them\n",
            dir.display()
        )
    );
    // Only whole path segments match.
    assert_eq!(in_dir(&dir, &["clear", "quares"]).code, 1);
    let _ = fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[test]
fn an_unreadable_directory_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = cache("unreadable");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o000)).unwrap();
    let Some(nobody) = needs_nobody(&dir, &dir) else {
        eprintln!(
            "skipped: permissions don't bind this user (root?), and it can't run a command as `nobody`"
        );
        return;
    };
    for args in [&["list"][..], &["clear"], &["clear", "squares"]] {
        let r = ran(as_user(nobody).arg("--dir").arg(&dir).args(args));
        assert_eq!((r.code, r.out.as_str()), (1, ""), "{args:?}");
        assert_eq!(
            r.err,
            format!(
                "memo-cache: can't read the disk cache at {}: Permission denied (os error 13)\n",
                dir.display()
            ),
            "{args:?}"
        );
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    let _ = fs::remove_dir_all(&dir);
}

/// Whether `memo-cache` must run as `nobody` for `locked`'s permissions to
/// bind it (root ignores them), with `tree` handed over to `nobody`; `None`
/// if they don't bind this user and it can't run a command as another.
#[cfg(unix)]
fn needs_nobody(tree: &Path, locked: &Path) -> Option<bool> {
    let probe = locked.join(".probe");
    if fs::File::create(&probe).is_err() {
        return Some(false);
    }
    let _ = fs::remove_file(&probe);
    fn chown_all(p: &Path) -> std::io::Result<()> {
        std::os::unix::fs::chown(p, Some(NOBODY), Some(NOBODY))?;
        if fs::symlink_metadata(p)?.is_dir() {
            for e in fs::read_dir(p)? {
                chown_all(&e?.path())?;
            }
        }
        Ok(())
    }
    chown_all(tree).ok()?;
    // Whether `nobody` may run the binary where it was built.
    let ran = as_user(true).arg("--version").output().ok()?;
    ran.status.success().then_some(true)
}

#[cfg(unix)]
const NOBODY: u32 = 65534;

#[cfg(unix)]
fn as_user(nobody: bool) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = command();
    if nobody {
        c.uid(NOBODY).gid(NOBODY);
    }
    c
}

#[cfg(unix)]
#[test]
fn clear_reports_what_it_could_not_remove() {
    use std::os::unix::fs::PermissionsExt;
    let dir = cache("locked");
    let squares = fn_dir(&dir, "::squares");
    fs::set_permissions(&squares, fs::Permissions::from_mode(0o500)).unwrap();
    let Some(nobody) = needs_nobody(&dir, &squares) else {
        eprintln!(
            "skipped: permissions don't bind this user (root?), and it can't run a command as `nobody`"
        );
        return;
    };
    let clear = |args: &[&str]| ran(as_user(nobody).arg("--dir").arg(&dir).args(args));
    let r = clear(&["clear"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    // The others went; squares' two entries are reported, each with its
    // reason, and counted nowhere.
    assert_eq!(
        r.out,
        format!("removed 2 entries of 3 functions from {}\n", dir.display())
    );
    let failures: Vec<&str> = r.err.lines().collect();
    assert_eq!(failures.len(), 3, "{}", r.err);
    for f in &failures[..2] {
        let prefix = format!("memo-cache: can't remove {}/", squares.display());
        assert!(f.starts_with(&prefix), "{f}");
        assert!(f.ends_with(".memo: Permission denied (os error 13)"), "{f}");
    }
    assert_eq!(failures[2], "memo-cache: 2 files could not be removed");
    // Still listed, record and all, to be cleared once it can be.
    let list = ok_in(&dir, &["list"]);
    assert!(list.contains("memo_cache_cli::squares"), "{list}");
    assert!(list.contains("total (1 function)"), "{list}");

    let r = clear(&["clear", "squares"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert_eq!(
        r.out,
        "squares: removed 0 entries (memo_cache_cli::squares)\n"
    );
    assert_eq!(r.err.lines().count(), 2, "{}", r.err);
    fs::set_permissions(&squares, fs::Permissions::from_mode(0o700)).unwrap();
    let _ = fs::remove_dir_all(&dir);
}
