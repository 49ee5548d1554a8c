//! The `memo-cache` command against a directory this test fills.

use memo_runtime::memo;
use std::process::Command;

#[memo(persist = "disk")]
fn squares(n: u64) -> Vec<u64> {
    (0..n).map(|i| i * i).collect()
}

#[memo(persist = "disk")]
fn label(n: u64) -> String {
    format!("#{n}")
}

fn cli(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_memo-cache"))
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn list_and_clear() {
    let dir = std::env::temp_dir().join(format!("memo-cli-{}", std::process::id()));
    memo_runtime::persist::set_dir(&dir).unwrap();
    squares(10);
    squares(20);
    label(1);

    let list = cli(&dir, &["list"]);
    let line = |f: &str| {
        list.lines()
            .find(|l| l.contains(&format!("::{f} ")))
            .unwrap_or_else(|| panic!("{f} missing from:\n{list}"))
            .to_string()
    };
    assert!(line("squares").contains(" 2 entries"), "{list}");
    assert!(line("label").contains(" 1 entries"), "{list}");
    assert!(list.contains("total: 3 entries"), "{list}");

    assert_eq!(
        cli(&dir, &["clear", "squares"]).trim(),
        "squares: removed 2 entries"
    );
    assert!(cli(&dir, &["list"]).contains("total: 1 entries"));
    assert!(cli(&dir, &["clear"]).starts_with("removed 1 entries"));
    assert!(cli(&dir, &["list"]).contains("(empty)"));
    assert_eq!(cli(&dir, &["dir"]).trim(), dir.display().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_empty_dir_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_memo-cache"))
        .args(["--dir", "", "clear"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("can't be an empty path"), "{err}");
    assert!(out.stdout.is_empty(), "nothing was cleared");
}
