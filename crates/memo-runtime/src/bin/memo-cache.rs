//! `memo-cache`: inspect and clear the disk cache of `#[memo(persist = "disk")]`
//! functions (Streamlit: `streamlit cache clear`).
//!
//! ```text
//! memo-cache [--dir PATH] list            entries and size per function
//! memo-cache [--dir PATH] clear           delete every entry
//! memo-cache [--dir PATH] clear NAME...   delete the entries of these functions
//! memo-cache [--dir PATH] dir             print the cache directory
//! ```
//!
//! Without `--dir`, the directory is `$MEMO_CACHE_DIR` or the default
//! (`~/.cache/memo` on Linux), as in the programs that wrote it.

use memo_runtime::persist;
use std::process::ExitCode;

const USAGE: &str = "usage: memo-cache [--dir PATH] (list | clear [NAME...] | dir)";

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

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--dir") {
        let Some(path) = args.get(i + 1).cloned() else {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        };
        args.drain(i..=i + 1);
        if let Err(e) = persist::set_dir(path) {
            eprintln!("memo-cache: {e}");
            return ExitCode::FAILURE;
        }
    }
    match args.first().map(String::as_str) {
        Some("list") => {
            let all = persist::usage();
            println!("{}", persist::dir().display());
            if all.is_empty() {
                println!("  (empty)");
            }
            let width = all.iter().map(|u| u.function.len()).max().unwrap_or(0);
            for u in &all {
                println!(
                    "  {:<width$}  {:>8} entries  {:>10}",
                    u.function,
                    u.entries,
                    human(u.bytes)
                );
            }
            let total: u64 = all.iter().map(|u| u.bytes).sum();
            let entries: usize = all.iter().map(|u| u.entries).sum();
            println!("  total: {entries} entries, {}", human(total));
        }
        Some("clear") if args.len() == 1 => {
            let before: usize = persist::usage().iter().map(|u| u.entries).sum();
            memo_runtime::memo::clear_all();
            println!("removed {before} entries from {}", persist::dir().display());
        }
        Some("clear") => {
            for name in &args[1..] {
                let n = persist::clear_function(name);
                println!("{name}: removed {n} entries");
            }
        }
        Some("dir") => println!("{}", persist::dir().display()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
