//! `memo-cache`: inspect and clear the disk cache of `#[memo(persist = "disk")]`
//! functions (Streamlit: `streamlit cache clear`).
//!
//! ```text
//! memo-cache [--dir PATH] list            entries and size per function
//! memo-cache [--dir PATH] clear           delete every entry
//! memo-cache [--dir PATH] clear NAME...   delete the entries of these functions
//! memo-cache [--dir PATH] dir             print the cache directory
//! memo-cache --help | --version
//! ```
//!
//! Without `--dir`, the directory is `$MEMO_CACHE_DIR` or the default
//! (`~/.cache/memo` on Linux), as in the programs that wrote it. Exit status:
//! 0 done, 1 something could not be read or removed (or `clear NAME` matched
//! no function), 2 a usage error.

use memo_runtime::persist::{self, Usage};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: memo-cache [--dir PATH] (list | clear [NAME...] | dir | help)";

const HELP: &str = "\
memo-cache: inspect and clear the disk cache of #[memo(persist = \"disk\")] functions

usage: memo-cache [--dir PATH] COMMAND

commands:
  list           entries and size per function, by function path, and the total
  clear          delete every entry (and unfinished write) in the cache
  clear NAME...  delete the entries of the functions named NAME: a full path
                 (my_app::data::load) or how it ends (load, data::load)
  dir            print the cache directory
  help           print this help

options:
  --dir PATH, --dir=PATH   the cache directory to use
  -h, --help               print this help
  -V, --version            print the version

The directory is --dir if given, else $MEMO_CACHE_DIR, else $XDG_CACHE_HOME/memo,
else ~/.cache/memo (macOS: ~/Library/Caches/memo; Windows: %LOCALAPPDATA%\\memo\\cache),
as in the programs that wrote it.

An unfinished write is the temporary file of a write under way, or left by a
writer that was killed; `list` shows their size, `clear` removes them.

exit status: 0 done; 1 something could not be read or removed, or a NAME matched
no function; 2 a usage error.
";

/// Exit status of a usage error, as most commands have it.
const BAD_USAGE: u8 = 2;

enum Command {
    List,
    Clear(Vec<String>),
    Dir,
    Help,
    Version,
}

/// A usage error: what to say before the usage line.
struct BadUsage(String);

/// The command and the `--dir` it names; `None` for no arguments at all.
fn parse(
    args: impl IntoIterator<Item = OsString>,
) -> Result<Option<(Command, Option<PathBuf>)>, BadUsage> {
    let bad = |m: String| Err(BadUsage(m));
    let mut dir: Option<PathBuf> = None;
    let mut words = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // A path needn't be UTF-8, so `--dir`'s value is taken as it is;
        // everything else must be.
        let Some(s) = arg.to_str() else {
            return bad(format!(
                "`{}` is not UTF-8 (a path that isn't can be given as `--dir PATH`)",
                arg.to_string_lossy()
            ));
        };
        let value = if s == "--dir" {
            let Some(v) = args.next() else {
                return bad("--dir needs a path".into());
            };
            Some(v)
        } else {
            s.strip_prefix("--dir=").map(OsString::from)
        };
        if let Some(v) = value {
            if v.is_empty() {
                // Not a directory at all: paths joined onto it would land
                // wherever the command happens to run.
                return bad("--dir needs a path, not an empty one".into());
            }
            if dir.is_some() {
                return bad("--dir given twice".into());
            }
            dir = Some(PathBuf::from(v));
            continue;
        }
        match s {
            "-h" | "--help" => return Ok(Some((Command::Help, dir))),
            "-V" | "--version" => return Ok(Some((Command::Version, dir))),
            _ if s.starts_with('-') => return bad(format!("unknown option `{s}`")),
            _ => words.push(s.to_string()),
        }
    }
    let Some((first, rest)) = words.split_first() else {
        if dir.is_some() {
            return bad("no command".into());
        }
        return Ok(None);
    };
    let command = match first.as_str() {
        "clear" => return Ok(Some((Command::Clear(rest.to_vec()), dir))),
        "list" => Command::List,
        "dir" => Command::Dir,
        "help" => Command::Help,
        other => return bad(format!("unknown command `{other}`")),
    };
    if let Some(extra) = rest.first() {
        return bad(format!("`{first}` takes no arguments (got `{extra}`)"));
    }
    Ok(Some((command, dir)))
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn unfinished(n: usize, bytes: u64) -> String {
    format!(
        "{}, {}",
        count(n, "unfinished write", "unfinished writes"),
        human(bytes)
    )
}

/// Whether the cache directory exists (`Ok(false)`: nothing was persisted
/// yet), or why it can't be used.
fn check_root(root: &Path) -> Result<bool, String> {
    let cant = |e: io::Error| format!("can't read the disk cache at {}: {e}", root.display());
    match std::fs::metadata(root) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(cant(e)),
        Ok(m) if !m.is_dir() => Err(format!(
            "the disk cache at {} is not a directory",
            root.display()
        )),
        Ok(_) => std::fs::read_dir(root).map(|_| true).map_err(cant),
    }
}

/// The `list` table: one row per function, aligned, then the total; a note
/// on unfinished writes if there are any.
fn table(root: &Path, all: &[Usage]) -> String {
    let mut out = format!("{}\n", root.display());
    if all.is_empty() {
        out.push_str("  no entries\n");
        return out;
    }
    let sum = |f: fn(&Usage) -> u64| all.iter().map(f).sum::<u64>();
    let (entries, bytes) = (sum(|u| u.entries as u64), sum(|u| u.bytes));
    let (tmp, tmp_bytes) = (sum(|u| u.unfinished as u64), sum(|u| u.unfinished_bytes));
    let mut rows: Vec<[String; 4]> = vec![[
        "FUNCTION".into(),
        "ENTRIES".into(),
        "SIZE".into(),
        String::new(),
    ]];
    for u in all {
        rows.push([
            u.function.clone(),
            u.entries.to_string(),
            human(u.bytes),
            if u.unfinished > 0 {
                format!("+ {}", unfinished(u.unfinished, u.unfinished_bytes))
            } else {
                String::new()
            },
        ]);
    }
    rows.push([
        format!("total ({})", count(all.len(), "function", "functions")),
        entries.to_string(),
        human(bytes),
        if tmp > 0 {
            format!("+ {}", unfinished(tmp as usize, tmp_bytes))
        } else {
            String::new()
        },
    ]);
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for [name, n, size, note] in &rows {
        let line = format!("  {name:<w0$}  {n:>w1$}  {size:>w2$}  {note}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if tmp > 0 {
        out.push_str(
            "\nAn unfinished write is the temporary file of a write under way or of a killed\n\
             writer; the function's next write removes those over ten minutes old, and\n\
             `memo-cache clear` removes them all.\n",
        );
    }
    out
}

/// What a clear removed, for stdout.
fn removed(c: &persist::Cleared) -> String {
    let mut s = format!("removed {}", count(c.entries, "entry", "entries"));
    if c.unfinished > 0 {
        s += &format!(
            " and {}",
            count(c.unfinished, "unfinished write", "unfinished writes")
        );
    }
    s
}

/// Reports what a clear could not remove on stderr; whether all went.
fn report_failures(c: &persist::Cleared) -> bool {
    for (path, e) in &c.failed {
        eprintln!("memo-cache: can't remove {}: {e}", path.display());
    }
    c.failed.is_empty()
}

/// Runs a command: what to print on stdout, and whether it all worked
/// (errors already on stderr).
fn run(command: Command) -> (String, bool) {
    let root = persist::dir();
    let fail = |m: String| {
        eprintln!("memo-cache: {m}");
        (String::new(), false)
    };
    match command {
        Command::Help => (
            format!("{HELP}\nThe directory now: {}\n", root.display()),
            true,
        ),
        Command::Version => (format!("memo-cache {}\n", env!("CARGO_PKG_VERSION")), true),
        Command::Dir => (format!("{}\n", root.display()), true),
        Command::List => match check_root(&root) {
            Err(m) => fail(m),
            Ok(false) => (
                format!(
                    "no disk cache at {} (nothing has been persisted yet)\n",
                    root.display()
                ),
                true,
            ),
            Ok(true) => (table(&root, &persist::usage()), true),
        },
        Command::Clear(names) if names.is_empty() => match check_root(&root) {
            Err(m) => fail(m),
            Ok(false) => (
                format!("no disk cache at {} (nothing to clear)\n", root.display()),
                true,
            ),
            Ok(true) => {
                let c = persist::clear_all_report();
                let out = format!(
                    "{} of {} from {}\n",
                    removed(&c),
                    count(c.functions.len(), "function", "functions"),
                    root.display()
                );
                let ok = report_failures(&c);
                if !ok {
                    eprintln!(
                        "memo-cache: {} could not be removed",
                        count(c.failed.len(), "file", "files")
                    );
                }
                (out, ok)
            }
        },
        Command::Clear(names) => {
            if let Err(m) = check_root(&root) {
                return fail(m);
            }
            let mut out = String::new();
            let mut ok = true;
            for name in &names {
                let c = persist::clear_function_report(name);
                ok &= report_failures(&c);
                if c.functions.is_empty() {
                    if c.failed.is_empty() {
                        eprintln!(
                            "memo-cache: no function named {name} in {}; `memo-cache list` shows them",
                            root.display()
                        );
                    }
                    ok = false;
                    continue;
                }
                let _ = writeln!(out, "{name}: {} ({})", removed(&c), c.functions.join(", "));
            }
            (out, ok)
        }
    }
}

fn main() -> ExitCode {
    let (command, dir) = match parse(std::env::args_os().skip(1)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => {
            eprintln!("{USAGE}");
            return ExitCode::from(BAD_USAGE);
        }
        Err(BadUsage(m)) => {
            eprintln!("memo-cache: {m}\n{USAGE}\n(`memo-cache --help` says more)");
            return ExitCode::from(BAD_USAGE);
        }
    };
    if let Some(dir) = dir {
        if let Err(e) = persist::set_dir(dir) {
            eprintln!("memo-cache: {e}");
            return ExitCode::FAILURE;
        }
    }
    let (out, ok) = run(command);
    // A reader that stopped early (`memo-cache list | head`) is not an error.
    match io::stdout().lock().write_all(out.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("memo-cache: can't write the output: {e}");
            return ExitCode::FAILURE;
        }
        _ => {}
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
