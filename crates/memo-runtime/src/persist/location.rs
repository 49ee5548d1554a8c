//! Where the disk cache lives: fixed on first use, from `set_dir`, else
//! `MEMO_CACHE_DIR`, else the platform's per-user cache directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The environment variable that moves the disk cache (read once, when the
/// directory is first needed; [`set_dir`](super::set_dir) wins over it).
///
/// ```
/// assert_eq!(memo_runtime::persist::ENV_VAR, "MEMO_CACHE_DIR");
/// ```
pub const ENV_VAR: &str = "MEMO_CACHE_DIR";

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// [`set_dir`](super::set_dir) was called after the cache directory was
/// already fixed (by a persisted call, a clear, or an earlier `set_dir` with
/// another path).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("memo-doc-in-use-{}", std::process::id()));
/// memo_runtime::persist::set_dir(&dir).unwrap();
/// let e = memo_runtime::persist::set_dir("/elsewhere").unwrap_err();
/// assert_eq!(e.current, dir);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirInUse {
    /// The directory in use, which stays in use.
    pub current: PathBuf,
}

impl fmt::Display for DirInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the memo disk cache already uses {}: call `memo_runtime::persist::set_dir` before the first persisted call",
            self.current.display()
        )
    }
}

impl std::error::Error for DirInUse {}

pub(crate) fn set(path: PathBuf) -> Result<(), DirInUse> {
    let mut fresh = Some(path);
    let current = ROOT.get_or_init(|| fresh.take().unwrap_or_default());
    match fresh {
        // Ours went in, or the same path was set before.
        None => Ok(()),
        Some(p) if p == *current => Ok(()),
        Some(_) => Err(DirInUse {
            current: current.clone(),
        }),
    }
}

pub(crate) fn root() -> &'static Path {
    ROOT.get_or_init(default_dir)
}

/// `MEMO_CACHE_DIR`, else `$XDG_CACHE_HOME/memo`, else the platform's cache
/// directory (`~/.cache/memo`, `~/Library/Caches/memo`,
/// `%LOCALAPPDATA%\memo\cache`), else `.memo-cache` in the working directory.
pub(crate) fn default_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env(ENV_VAR) {
        return d;
    }
    if cfg!(windows) {
        if let Some(d) = env("LOCALAPPDATA") {
            return d.join("memo").join("cache");
        }
    } else {
        if let Some(d) = env("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
            return d.join("memo");
        }
        if let Some(home) = env("HOME") {
            return if cfg!(target_os = "macos") {
                home.join("Library").join("Caches").join("memo")
            } else {
                home.join(".cache").join("memo")
            };
        }
    }
    PathBuf::from(".memo-cache")
}

/// Creates `dir` and any missing parents, owner-only on unix: entries can hold
/// whatever a function returned, which may be private.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}
