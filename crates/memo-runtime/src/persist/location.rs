//! Where the disk cache lives: fixed on first use, from `set_dir`, else
//! `MEMO_CACHE_DIR`, else the platform's per-user cache directory; and
//! whether this process may trust what is there.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::OnceLock;

/// The environment variable that moves the disk cache (read once, when the
/// directory is first needed; [`set_dir`](super::set_dir) wins over it).
///
/// ```
/// assert_eq!(memo_runtime::persist::ENV_VAR, "MEMO_CACHE_DIR");
/// ```
pub const ENV_VAR: &str = "MEMO_CACHE_DIR";

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Why [`set_dir`](super::set_dir) refused a directory. Nothing changed:
/// the cache stays where it was (or is still to be chosen).
///
/// ```
/// use memo_runtime::persist::{set_dir, SetDirError};
///
/// assert_eq!(set_dir(""), Err(SetDirError::Empty));
///
/// let dir = std::env::temp_dir().join(format!("memo-doc-set-dir-error-{}", std::process::id()));
/// set_dir(&dir).unwrap();
/// match set_dir("/elsewhere") {
///     Err(SetDirError::InUse { current }) => assert_eq!(current, dir),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetDirError {
    /// The cache directory was already fixed (by a persisted call, a clear,
    /// a listing, or an earlier `set_dir` with another path), and a cache
    /// that moved half-way through a process would split its entries.
    InUse {
        /// The directory in use, which stays in use (absolute).
        current: PathBuf,
    },
    /// The path was empty: it would put entries in whatever the working
    /// directory happens to be.
    Empty,
}

impl fmt::Display for SetDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetDirError::InUse { current } => write!(
                f,
                "the memo disk cache already uses {}: call `memo_runtime::persist::set_dir` before the first persisted call",
                current.display()
            ),
            SetDirError::Empty => f.write_str(
                "the memo disk cache directory can't be an empty path: give a directory (`.` for the working directory)",
            ),
        }
    }
}

impl std::error::Error for SetDirError {}

pub(crate) fn set(path: &Path) -> Result<(), SetDirError> {
    if path.as_os_str().is_empty() {
        return Err(SetDirError::Empty);
    }
    let mut fresh = Some(absolute(path));
    let current = ROOT.get_or_init(|| fresh.take().unwrap_or_default());
    match fresh {
        // Ours went in, or the same path was set before.
        None => Ok(()),
        Some(p) if p == *current => Ok(()),
        Some(_) => Err(SetDirError::InUse {
            current: current.clone(),
        }),
    }
}

pub(crate) fn root() -> &'static Path {
    ROOT.get_or_init(|| absolute(&default_dir()))
}

/// `path` against the working directory of now, so that a later `chdir`
/// can't move the cache. Syscall-free for an absolute path (the usual
/// case, and the one a first hit's benchmark takes). If the working
/// directory can't be read, relative paths could not work anyway.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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

// ---- whether the root can be trusted ----------------------------------------
//
// Whoever can write in the cache directory can delete entries or plant
// forged ones, which a read would serve as values. So before this process
// reads or writes anything there, the root must be ours and writable by
// nobody else. Checked once per process; `TRUST` remembers the verdict. The
// directories below it are created 0700 by us, so the root is the one
// that matters.

const UNCHECKED: u8 = 0;
const TRUSTED: u8 = 1;
const REFUSED: u8 = 2;

static TRUST: AtomicU8 = AtomicU8::new(UNCHECKED);

/// Why the cache directory is not used in this process.
#[derive(Debug)]
pub(crate) struct Untrusted {
    dir: PathBuf,
    why: String,
    /// The owner is another user: `chmod` is not the fix.
    foreign: bool,
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dir = self.dir.display();
        write!(
            f,
            "the disk cache directory {dir} {}, so other users could delete its entries or plant forged ones that would be served as values; ",
            self.why
        )?;
        if self.foreign {
            write!(
                f,
                "remove it (what another user made can't be trusted, so let it be made again) or choose another directory (`{ENV_VAR}` or `memo_runtime::persist::set_dir`)"
            )?;
        } else {
            write!(
                f,
                "run `chmod 700 {dir}`, or choose another directory (`{ENV_VAR}` or `memo_runtime::persist::set_dir`)"
            )?;
        }
        f.write_str("; until then nothing is read from or written to it in this process")
    }
}

/// What a caller of [`trust`] is about to do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Read an entry: a missing root is simply nothing to read.
    Read,
    /// Write: the root is created (private) if missing, then checked.
    Write,
}

/// Whether this process may use the root.
pub(crate) enum Trust {
    Yes,
    /// There is no root (yet): nothing to read. Not remembered, so that a
    /// root made later by another process is checked when it is first met.
    Absent,
    /// Not ours, or writable by others. The `Untrusted` comes once per
    /// process, to the call that found out, for it to report.
    No(Option<Untrusted>),
}

/// Whether this process may read (or write) under the root. After the
/// first verdict this is one atomic load: the `stat` it costs is paid once
/// per process.
pub(crate) fn trust(how: Use) -> Trust {
    match TRUST.load(Relaxed) {
        TRUSTED => return Trust::Yes,
        REFUSED => return Trust::No(None),
        _ => {}
    }
    let root = root();
    if how == Use::Write {
        // A failure shows again, with its reason, when the write creates the
        // function's directory.
        let _ = create_private_dir(root);
    }
    // Follows a symlinked root: what must be private is the directory the
    // entries are in.
    let Ok(meta) = std::fs::metadata(root) else {
        return Trust::Absent;
    };
    match verdict(root, &meta) {
        Ok(()) => {
            TRUST.store(TRUSTED, Relaxed);
            Trust::Yes
        }
        // Only the thread that switches it reports it.
        Err(e) => match TRUST.swap(REFUSED, Relaxed) {
            REFUSED => Trust::No(None),
            _ => Trust::No(Some(e)),
        },
    }
}

#[cfg(unix)]
fn verdict(dir: &Path, meta: &std::fs::Metadata) -> Result<(), Untrusted> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and can't fail.
    let me = unsafe { libc::geteuid() };
    let why = if meta.uid() != me {
        format!("belongs to user id {}, not to you ({me})", meta.uid())
    } else if meta.mode() & 0o022 != 0 {
        format!(
            "is writable by {} (mode {:04o})",
            if meta.mode() & 0o002 != 0 {
                "every user"
            } else {
                "its group"
            },
            meta.mode() & 0o7777
        )
    } else {
        return Ok(());
    };
    Err(Untrusted {
        dir: dir.to_path_buf(),
        foreign: meta.uid() != me,
        why,
    })
}

#[cfg(not(unix))]
fn verdict(_: &Path, _: &std::fs::Metadata) -> Result<(), Untrusted> {
    // Windows gives a new directory its parent's ACL, which for the per-user
    // cache directory is the user's own.
    Ok(())
}
