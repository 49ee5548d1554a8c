//! `#[memo(persist = "disk")]`: values written to disk and served from there
//! in later runs.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("memo-doc-persist-{}", std::process::id()));
//! // Before the first persisted call (else `MEMO_CACHE_DIR`, else ~/.cache/memo):
//! memo_runtime::persist::set_dir(&dir).unwrap();
//!
//! #[memo_runtime::memo(persist = "disk", ttl = "1h")]
//! fn load(n: u32) -> Vec<f64> {
//!     (0..n).map(f64::from).collect()
//! }
//!
//! assert_eq!(load(3), vec![0.0, 1.0, 2.0]); // runs the body, writes an entry
//! assert_eq!(memo_runtime::persist::usage()[0].entries, 1);
//! load_clear(); // memory and disk
//! assert!(memo_runtime::persist::usage().is_empty());
//! # std::fs::remove_dir_all(&dir).ok();
//! ```
//!
//! A value read back from disk is counted in `f_stats().disk_hits`:
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("memo-doc-disk-hits-{}", std::process::id()));
//! # memo_runtime::persist::set_dir(&dir).unwrap();
//! // Memory keeps one value, so asking for 1 again after 2 goes to disk.
//! #[memo_runtime::memo(persist = "disk", max_entries = 1)]
//! fn double(x: u64) -> u64 { x * 2 }
//!
//! double(1);
//! double(2);
//! assert_eq!(double(1), 2);
//! let s = double_stats();
//! assert_eq!((s.misses, s.disk_hits), (3, 1)); // two ran the body, one read the disk
//! # std::fs::remove_dir_all(&dir).ok();
//! ```
//!
//! A memory miss asks the disk inside the call's single flight (one read per
//! key however many threads wait), and a disk hit fills memory with the rest
//! of the entry's `ttl`. Nothing here ever fails a call: a file that can't be
//! read or trusted is a miss, a directory that can't be written leaves
//! the function cached in memory only, with one warning through `log`, and
//! so does (for every function) a cache directory other users could write
//! to.
//! `docs/persistence.md` has the format and the reasons. From a shell, the
//! `memo-cache` command (`list`, `clear`, `clear NAME`, `dir`) does what
//! [`usage`], [`clear_function_report`] and [`clear_all_report`] do.

mod bulk;
mod codec;
mod files;
mod format;
mod location;

pub use location::{SetDirError, ENV_VAR};

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::registry::FnCache;
use crate::replay::{self, Recorded, Recording};
use files::{Prepared, WriteError};
use format::{Reject, Want};
use location::{Trust, Use};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Where persisted entries go, if called before the first persisted call,
/// clear, listing or [`dir`]: it wins over `MEMO_CACHE_DIR` and the default. A relative path is
/// taken against the working directory of this call, so a later `chdir`
/// does not move the cache. Once the directory is in use it can't move, and
/// a call asking for another one gets [`SetDirError::InUse`] instead of
/// silently writing elsewhere; an empty path is [`SetDirError::Empty`].
///
/// ```
/// use memo_runtime::persist::{self, SetDirError};
///
/// let dir = std::env::temp_dir().join(format!("memo-doc-set-dir-{}", std::process::id()));
/// persist::set_dir(&dir).unwrap();
/// assert_eq!(persist::dir(), dir);
/// persist::set_dir(&dir).unwrap(); // the same again is fine
/// assert!(matches!(
///     persist::set_dir(dir.join("elsewhere")),
///     Err(SetDirError::InUse { .. })
/// ));
/// assert_eq!(persist::set_dir(""), Err(SetDirError::Empty));
/// ```
pub fn set_dir(path: impl AsRef<Path>) -> Result<(), SetDirError> {
    location::set(path.as_ref())
}

/// The disk cache's directory: what [`set_dir`] set, else `$MEMO_CACHE_DIR`,
/// else `$XDG_CACHE_HOME/memo`, else `~/.cache/memo` (macOS:
/// `~/Library/Caches/memo`; Windows: `%LOCALAPPDATA%\memo\cache`), else
/// `.memo-cache`. Asking fixes it for the rest of the process, as an
/// absolute path (a relative one is taken against the working directory
/// of then). It is created, owner-only (0700), on the first write; on unix
/// an existing one must belong to this user and be writable by nobody
/// else, or the process logs a warning and caches in memory only.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("memo-doc-dir-{}", std::process::id()));
/// std::env::set_var(memo_runtime::persist::ENV_VAR, &dir);
/// assert_eq!(memo_runtime::persist::dir(), dir);
/// ```
///
/// A relative directory is fixed where it was when first used:
///
/// ```
/// # let tmp = std::env::temp_dir().join(format!("memo-doc-dir-rel-{}", std::process::id()));
/// # std::fs::create_dir_all(&tmp).unwrap();
/// # std::env::set_current_dir(&tmp).unwrap();
/// let work = std::env::current_dir().unwrap();
/// std::env::set_var(memo_runtime::persist::ENV_VAR, "cache");
/// assert_eq!(memo_runtime::persist::dir(), work.join("cache"));
/// std::env::set_current_dir(std::env::temp_dir()).unwrap();
/// assert_eq!(memo_runtime::persist::dir(), work.join("cache")); // still there
/// # std::fs::remove_dir_all(&tmp).ok();
/// ```
pub fn dir() -> PathBuf {
    location::root().to_path_buf()
}

/// What the disk cache holds for one function (one version of it), as
/// [`usage`] lists it.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-usage-struct-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// #[memo_runtime::memo(persist = "disk")]
/// fn bytes(n: usize) -> Vec<u8> { vec![7; n] }
///
/// bytes(1000);
/// let u = &memo_runtime::persist::usage()[0];
/// assert_eq!(u.entries, 1);
/// assert!(u.bytes > 1000); // the value and its header
/// assert!(u.dir.starts_with(&dir));
///
/// // What a writer killed mid-write leaves (the name of a write's temporary file):
/// let tmp = format!(".{:032x}.memo.4242.0.tmp", 7);
/// std::fs::write(u.dir.join(tmp), [0; 100]).unwrap();
/// let u = &memo_runtime::persist::usage()[0];
/// assert_eq!((u.entries, u.unfinished, u.unfinished_bytes), (1, 1, 100));
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// The function's full path (`module::function`, `module::Type::method`),
    /// as its directory's record gives it.
    pub function: String,
    /// Entries on disk (expired ones included until they are next read).
    pub entries: usize,
    /// Their total size in bytes.
    pub bytes: u64,
    /// Temporary files of writes that have not finished: under way in some
    /// process, or left by a writer that died. They are not entries (no
    /// reader sees them) but take space until the function's next write
    /// removes the old ones, or a clear removes them all.
    pub unfinished: usize,
    /// Their total size in bytes (not in [`bytes`](Self::bytes)).
    pub unfinished_bytes: u64,
    /// The function's directory.
    pub dir: PathBuf,
}

/// Every function with a directory in the disk cache, sorted by function
/// path. Reads the directory, so it sees entries of every process. Only
/// directories with a function record are listed: others that happen to
/// have the layout's digest names are not this crate's (or not yet). A
/// missing or unreadable cache directory lists nothing.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-usage-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// #[memo_runtime::memo(persist = "disk")]
/// fn word(n: u8) -> String { "word".repeat(n.into()) }
///
/// word(1);
/// word(2);
/// let u = &memo_runtime::persist::usage()[0];
/// assert!(u.function.ends_with("::word"));
/// assert_eq!(u.entries, 2);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn usage() -> Vec<Usage> {
    let mut out: Vec<Usage> = files::fn_dirs(location::root())
        .0
        .iter()
        .filter_map(|dir| files::describe(dir))
        .collect();
    out.sort_by(|a, b| a.function.cmp(&b.function));
    out
}

/// What a clear removed from disk, and what it could not
/// ([`clear_function_report`], [`clear_all_report`]).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-cleared-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// #[memo_runtime::memo(persist = "disk")]
/// fn cube(x: u64) -> u64 { x * x * x }
///
/// cube(2);
/// cube(3);
/// let r = memo_runtime::persist::clear_all_report();
/// assert_eq!(r.entries, 2);
/// assert!(r.functions[0].ends_with("::cube"));
/// assert!(r.failed.is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Cleared {
    /// The functions whose directories were cleared, by full path, sorted.
    pub functions: Vec<String>,
    /// Entries removed.
    pub entries: usize,
    /// Temporary files of unfinished writes removed.
    pub unfinished: usize,
    /// What could not be removed or read, with the reason. A file that
    /// vanished on its own (another process clearing too) is not here.
    pub failed: Vec<(PathBuf, std::io::Error)>,
}

impl Cleared {
    fn add(&mut self, function: String, done: Cleared) {
        self.functions.push(function);
        self.entries += done.entries;
        self.unfinished += done.unfinished;
        self.failed.extend(done.failed);
    }
}

/// Deletes every persisted entry of the functions whose path is `function`
/// or ends with `::function`, whether or not they ran in this process, and
/// returns how many entries went. (Values already in memory stay: use the
/// `f_clear()` companion for both.) [`clear_function_report`] says also
/// which functions matched and what could not be removed.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-clear-fn-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// #[memo_runtime::memo(persist = "disk")]
/// fn square(x: u64) -> u64 { x * x }
///
/// square(3);
/// assert_eq!(memo_runtime::persist::clear_function("square"), 1);
/// assert!(memo_runtime::persist::usage().is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn clear_function(function: &str) -> usize {
    clear_function_report(function).entries
}

/// [`clear_function`], saying which functions matched (none: no function
/// of that name has a directory) and what could not be removed.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-clear-fn-report-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// mod shapes {
///     #[memo_runtime::memo(persist = "disk")]
///     pub fn area(w: u64, h: u64) -> u64 { w * h }
/// }
///
/// shapes::area(2, 3);
/// let r = memo_runtime::persist::clear_function_report("shapes::area");
/// assert_eq!((r.functions.len(), r.entries), (1, 1));
/// assert!(r.functions[0].ends_with("shapes::area"));
/// assert!(r.failed.is_empty());
/// assert!(memo_runtime::persist::clear_function_report("nothing").functions.is_empty());
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn clear_function_report(function: &str) -> Cleared {
    let suffix = format!("::{function}");
    clear_where(|f| f == function || f.ends_with(&suffix))
}

/// Deletes every persisted entry under [`dir`] (memory is untouched:
/// [`memo::clear_all`](crate::memo::clear_all) does both) and says what went
/// and what could not. Only files of the cache's own layout, in directories
/// with a function record, are removed.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("memo-doc-clear-all-report-{}", std::process::id()));
/// # memo_runtime::persist::set_dir(&dir).unwrap();
/// #[memo_runtime::memo(persist = "disk")]
/// fn twice(x: u64) -> u64 { x * 2 }
///
/// twice(1);
/// let r = memo_runtime::persist::clear_all_report();
/// assert_eq!((r.functions.len(), r.entries, r.failed.len()), (1, 1, 0));
/// assert!(memo_runtime::persist::usage().is_empty());
/// assert_eq!(twice(1), 2); // from memory: still there
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
pub fn clear_all_report() -> Cleared {
    clear_where(|_| true)
}

/// Clears the directories whose record names a function `wanted` accepts.
fn clear_where(wanted: impl Fn(&str) -> bool) -> Cleared {
    removal_begins();
    let (dirs, failed) = files::fn_dirs(location::root());
    let mut done = Cleared {
        failed,
        ..Cleared::default()
    };
    for dir in dirs {
        if let Some(f) = files::record(&dir).filter(|f| wanted(f)) {
            done.add(f, files::remove_fn_dir(&dir));
        }
    }
    done.functions.sort();
    done
}

/// The disk side of [`memo::clear_all`](crate::memo::clear_all).
pub(crate) fn clear_all() {
    clear_all_report();
}

// ---- what generated code reaches --------------------------------------------

/// What a `#[memo(persist = "disk")]` fn may return: it is written with serde
/// and read back in later runs. Every `Serialize + DeserializeOwned` type is
/// one; a fn returning `Result<T, E>` needs it of `T` only.
///
/// ```
/// fn persistable<T: memo_runtime::persist::PersistValue>() {}
/// persistable::<Vec<f64>>();
/// persistable::<std::sync::Arc<String>>(); // serde's `rc` feature is on
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be persisted: a #[memo(persist = \"disk\")] fn must return a type that is `Serialize + DeserializeOwned`",
    label = "this value is written to disk with serde and read back in later runs",
    note = "derive both on the type: `#[derive(serde::Serialize, serde::Deserialize)]` (add `serde = {{ version = \"1\", features = [\"derive\"] }}` to Cargo.toml), or remove `persist = \"disk\"` to cache in memory only"
)]
pub trait PersistValue: Serialize + DeserializeOwned {}
impl<T: Serialize + DeserializeOwned> PersistValue for T {}

/// A persisted `#[memo]` call: memory, then disk, then the body (whose `Ok`
/// is written to disk).
pub(crate) fn call<V, X>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl FnOnce() -> Result<V, X>,
) -> Result<V, X>
where
    V: Clone + Send + Sync + 'static + PersistValue,
{
    let got = cache.store::<Recorded<V>>().get_or_try_expiring(key, || {
        let since = removals();
        if let Some(found) = load(cache, key) {
            return Ok(found);
        }
        let drawn = replay::compute(cache.info(), body)?;
        save(cache, key, &drawn, since);
        Ok((drawn, None))
    })?;
    Ok(replay::take(got))
}

/// [`call`] for an `async fn`. The disk is read and written in the poll, as
/// a plain file read (no executor is assumed to offload it to).
pub(crate) async fn call_async<V, X>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl std::future::Future<Output = Result<V, X>>,
) -> Result<V, X>
where
    V: Clone + Send + Sync + 'static + PersistValue,
{
    let compute = async move {
        let since = removals();
        if let Some(found) = load(cache, key) {
            return Ok(found);
        }
        let drawn = replay::compute_async(cache.info(), body).await?;
        save(cache, key, &drawn, since);
        Ok((drawn, None))
    };
    let got = cache
        .store::<Recorded<V>>()
        .get_or_try_async(key, compute)
        .await?;
    Ok(replay::take(got))
}

/// A memory miss's look at the disk: the value with what it drew, and what
/// is left of its ttl. A drawing that doesn't read back (written by a
/// version of this crate with other elements) makes the entry a miss.
fn load<V: PersistValue + 'static>(
    cache: &'static FnCache,
    key: CallKey,
) -> Option<(Recorded<V>, Option<Duration>)> {
    let disk = FnDisk::of(cache.info());
    let (value, drawn, left) = disk.load::<V>(key.digest())?;
    if drawn.is_empty() {
        return Some(((value, None), left));
    }
    match Recording::from_bytes(&drawn) {
        Ok(rec) => Some(((value, Some(Arc::new(rec))), left)),
        Err(e) => {
            log::warn!(
                "memo: the elements recorded with an entry of `{}` don't read back ({e}); computing instead",
                disk.path()
            );
            None
        }
    }
}

/// Writes a computed value with what its body drew, so that a hit in a
/// later process draws it too; not if a clear or forget began after
/// `since`, when the computation started (see [`REMOVALS`]).
fn save<V: PersistValue + 'static>(
    cache: &'static FnCache,
    key: CallKey,
    (value, rec): &Recorded<V>,
    since: u64,
) {
    if removals() != since {
        return;
    }
    let drawn = rec.as_ref().map_or_else(Vec::new, |r| r.to_bytes());
    FnDisk::of(cache.info()).save(key.digest(), value, drawn, since);
}

/// What groups the versions of one function: where it is (module, type or
/// outer fn) and its name.
fn name_key(scope: &str, name: &str) -> u128 {
    let mut h = crate::KeyHasher::new();
    h.write_str(scope);
    h.write_str(name);
    h.finish()
}

/// The directory of one version of a function.
fn fn_dir(info: &FnInfo) -> PathBuf {
    location::root()
        .join(files::hex(name_key(info.scope(), info.name)))
        .join(files::hex(info.function_key()))
}

/// Moves when a clear or forget starts to delete entries. A computation
/// under way then was started from before the removal: its value must not
/// come back as a file, as in memory it is not stored either (an orphaned
/// slot). One counter for every function: a removal elsewhere only costs
/// such a computation its write, and the next process recomputes it.
static REMOVALS: AtomicU64 = AtomicU64::new(0);

/// Called before a removal deletes anything, so that a write that checks
/// after its rename either sees the move or is seen by the deletion.
fn removal_begins() {
    REMOVALS.fetch_add(1, SeqCst);
}

fn removals() -> u64 {
    REMOVALS.load(SeqCst)
}

/// `f_clear()` of a persisted fn: every version's entries go, not only this
/// one's.
pub(crate) fn clear_fn(scope: &str, name: &str) {
    removal_begins();
    let group = location::root().join(files::hex(name_key(scope, name)));
    if let Ok(list) = std::fs::read_dir(&group) {
        for e in list.flatten() {
            files::remove_fn_dir(&e.path());
        }
    }
}

/// `f_forget(args)` of a persisted fn: whether a file was removed.
pub(crate) fn forget(info: &FnInfo, key: u128) -> bool {
    removal_begins();
    let file = fn_dir(info).join(files::entry_name(key));
    std::fs::remove_file(file).is_ok()
}

/// One persisted function's disk side in this process.
struct FnDisk {
    info: &'static FnInfo,
    function_key: u128,
    dir: PathBuf,
    ttl: Option<Duration>,
    max_disk_entries: Option<usize>,
    /// The directory as prepared for writing in this process (with the
    /// version's lock and how many entries it holds); `None` before the
    /// first write and after the directory vanished under a write.
    written: Mutex<Option<files::Prepared>>,
    /// Other versions' directories are swept once per process, by the first
    /// write; not again when a clear makes this one prepare its directory
    /// anew, which would make two live versions take turns removing each
    /// other's entries.
    swept: AtomicBool,
    /// Set after a write failed, or when the cache directory is not
    /// trusted: from then on the function is memory-only.
    memory_only: AtomicBool,
    read_warned: AtomicBool,
    /// An entry could not replace what was at its name.
    entry_warned: AtomicBool,
    unencodable_warned: AtomicBool,
    /// A value was refused because it would not read back.
    unreadable_warned: AtomicBool,
    hits: AtomicU64,
}

/// How many times a write prepares the function's directory and writes
/// before giving up, when the directory keeps vanishing under it.
const WRITE_ATTEMPTS: usize = 4;

/// By function key. A list, not a map: there are few persisted functions,
/// each looked up once per memory miss, and a `HashMap` would cost its random
/// seed on a first call that should be as quick as a raw read.
static FNS: Mutex<Vec<&'static FnDisk>> = Mutex::new(Vec::new());

impl FnDisk {
    fn of(info: &'static FnInfo) -> &'static FnDisk {
        let key = info.function_key();
        let mut all = FNS.lock();
        if let Some(d) = all.iter().find(|d| d.function_key == key) {
            return d;
        }
        let opts = (info.options)();
        let d: &'static FnDisk = Box::leak(Box::new(FnDisk {
            info,
            function_key: key,
            dir: fn_dir(info),
            ttl: opts.ttl,
            max_disk_entries: opts.max_disk_entries,
            written: Mutex::new(None),
            swept: AtomicBool::new(false),
            memory_only: AtomicBool::new(false),
            read_warned: AtomicBool::new(false),
            entry_warned: AtomicBool::new(false),
            unencodable_warned: AtomicBool::new(false),
            unreadable_warned: AtomicBool::new(false),
            hits: AtomicU64::new(0),
        }));
        all.push(d);
        d
    }

    /// `scope::name`, for messages (made when needed: a first hit should
    /// not format it).
    fn path(&self) -> String {
        self.info.path()
    }

    fn want<V>(&self, key: u128) -> Want {
        Want {
            function_key: self.function_key,
            value_key: key,
            type_hash: format::type_hash::<V>(),
        }
    }

    /// The entry for `key`, with its replay section and remaining life.
    fn load<V: DeserializeOwned + 'static>(
        &self,
        key: u128,
    ) -> Option<(V, Vec<u8>, Option<Duration>)> {
        if !root_usable(Use::Read) {
            return None;
        }
        let file = self.dir.join(files::entry_name(key));
        match read_entry::<V>(&file, &self.want::<V>(key)) {
            Ok(d) => {
                self.hits.fetch_add(1, Relaxed);
                Some((d.value, d.replay, d.left))
            }
            Err(Reject::Absent) => None,
            Err(Reject::Expired) => {
                let _ = std::fs::remove_file(&file);
                None
            }
            Err(why @ Reject::NotAFile(_)) => {
                match files::remove_obstacle(&file) {
                    Ok(()) => log::warn!(
                        "memo: ignoring {} for `{}`: {why}; removed it, computing the value and writing the entry",
                        file.display(),
                        self.path()
                    ),
                    Err(e) => log::warn!(
                        "memo: ignoring {} for `{}`: {why}, which can't be removed ({e}); computing the value",
                        file.display(),
                        self.path()
                    ),
                }
                None
            }
            Err(Reject::Io(e)) => {
                if !self.read_warned.swap(true, Relaxed) {
                    log::warn!(
                        "memo: can't read {} for `{}` ({e}); computing instead (further read errors of this fn are not reported)",
                        file.display(),
                        self.path()
                    );
                }
                None
            }
            Err(why) => {
                let then = if self.memory_only.load(Relaxed) {
                    "computing the value (the function is cached in memory only in this process, so the entry is not rewritten)"
                } else {
                    "computing the value and rewriting the entry"
                };
                log::warn!(
                    "memo: ignoring {} for `{}`: {why}; removed it, {then}",
                    file.display(),
                    self.path()
                );
                let _ = std::fs::remove_file(&file);
                None
            }
        }
    }

    /// Writes the entry for `key`. Never fails the call: a failure is
    /// reported once and the function stays in memory only.
    fn save<V: Serialize + DeserializeOwned + 'static>(
        &self,
        key: u128,
        value: &V,
        replay: Vec<u8>,
        since: u64,
    ) {
        if self.memory_only.load(Relaxed) {
            return;
        }
        let encoded = match format::encode(
            self.want::<V>(key),
            value,
            replay,
            SystemTime::now(),
            self.ttl,
        ) {
            Ok(e) => e,
            Err(e) => {
                if !self.unencodable_warned.swap(true, Relaxed) {
                    log::warn!(
                            "memo: a value of `{}` can't be written to disk ({e}); it is cached in memory only",
                            self.path()
                        );
                }
                return;
            }
        };
        // Every value is decoded back before it is written, but for a
        // vector of numbers, which always reads back: whether a value reads
        // back can depend on the value (`Option<serde_json::Value>`: `None`
        // does, `Some` does not), and one that does not would be a damaged
        // entry to every later process.
        if !bulk::handles::<V>() {
            if let Err(e) = encoded.decodes_as::<V>() {
                if !self.unreadable_warned.swap(true, Relaxed) {
                    log::warn!(
                        "memo: a value of `{}` would not read back from disk ({e}); it is cached in memory only, not written (the function's values that do read back are still written; further such values are not reported)",
                        self.path()
                    );
                }
                return;
            }
        }
        // Not before: a value that can't be written should not make the
        // directory.
        if !root_usable(Use::Write) {
            self.memory_only.store(true, Relaxed);
            return;
        }
        let name = files::entry_name(key);
        // A directory removed under us (a clear, another process's cleanup)
        // is prepared again. Several times: a clear of a large directory
        // takes a while, and one in another process can remove the directory
        // (or this write's temporary file) between the preparing and the
        // writing more than once in a row.
        let mut result = Ok(());
        for _ in 0..WRITE_ATTEMPTS {
            result = self
                .ensure_dir()
                .map_err(WriteError::Dir)
                .and_then(|()| files::write_atomic(&self.dir, &name, &encoded));
            match &result {
                Err(WriteError::Dir(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    *self.written.lock() = None
                }
                _ => break,
            }
        }
        match result {
            // A removal that began while this file was written may have
            // listed the directory before the rename: take the file back.
            Ok(()) if removals() != since => {
                let _ = std::fs::remove_file(self.dir.join(&name));
            }
            Ok(()) => self.count_write(),
            // Still cleared away: as if the clear had come just after the
            // write. The directory works (it was made each time), so the
            // function goes on persisting.
            Err(WriteError::Dir(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Something at this entry's name that could not be removed: the
            // directory itself is fine, so the function's other entries
            // still go to disk.
            Err(WriteError::Entry(e)) => {
                if !self.entry_warned.swap(true, Relaxed) {
                    log::warn!(
                        "memo: can't write {} for `{}` ({e}); that value is cached in memory only (further such errors of this fn are not reported)",
                        self.dir.join(&name).display(),
                        self.path()
                    );
                }
            }
            Err(WriteError::Dir(e)) => {
                if !self.memory_only.swap(true, Relaxed) {
                    log::warn!(
                        "memo: can't write to the disk cache at {} ({e}); `{}` is cached in memory only for the rest of this process",
                        self.dir.display(),
                        self.path()
                    );
                }
            }
        }
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        let mut w = self.written.lock();
        if w.is_none() {
            *w = Some(files::prepare(
                &self.dir,
                &format!("{}\n{:032x}\n", self.path(), self.function_key),
                !self.swept.load(Relaxed),
            )?);
            self.swept.store(true, Relaxed);
        }
        Ok(())
    }

    fn count_write(&self) {
        let mut w = self.written.lock();
        // Another thread's write found the directory gone: the count is
        // taken again when it is prepared anew.
        let Some(Prepared { entries: n, .. }) = w.as_mut() else {
            return;
        };
        *n += 1;
        if let Some(max) = self.max_disk_entries {
            if *n > max {
                // Down to 90 %, so that a full directory is listed once per
                // tenth of its bound, not on every write.
                *n = files::evict_oldest(&self.dir, max - max / 10);
            }
        }
    }
}

fn read_entry<V: DeserializeOwned + 'static>(
    file: &Path,
    want: &Want,
) -> Result<format::Decoded<V>, Reject> {
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    // A FIFO at the entry's name would block the open until a writer came,
    // forever; non-blocking, it opens, and is then turned away as not a
    // file. Reads of a regular file ignore the flag.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut open, libc::O_NONBLOCK);
    let mut f = match open.open(file) {
        Ok(f) => f,
        // No directory is no entry, whatever is in the way.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(Reject::Absent)
        }
        // A socket can't be opened at all (and on Windows, a directory):
        // only then is it worth a second look at what is there.
        Err(e) => {
            return Err(match std::fs::metadata(file) {
                Ok(m) if !m.is_file() => Reject::NotAFile(file_kind(&m.file_type())),
                _ => Reject::Io(e),
            })
        }
    };
    // The `statx` the read needs anyway for the length tells the type too.
    let meta = f.metadata().map_err(Reject::Io)?;
    if !meta.is_file() {
        return Err(Reject::NotAFile(file_kind(&meta.file_type())));
    }
    let len = meta.len();
    let now = SystemTime::now();
    if let Some(got) = bulk::read_entry(&mut f, len, want, now) {
        return got;
    }
    format::decode(f, len, want, now)
}

/// What a non-regular file is, for a warning.
fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_dir() {
        "a directory"
    } else {
        "something that is not a regular file"
    }
}

/// Whether this process may read (`Use::Read`) or write under the cache
/// directory; reports, once per process, a directory it does not trust.
fn root_usable(how: Use) -> bool {
    match location::trust(how) {
        Trust::Yes => true,
        // No directory to read; a write goes on to make it, and reports why
        // it can't.
        Trust::Absent => how == Use::Write,
        Trust::No(why) => {
            if let Some(why) = why {
                log::warn!("memo: {why}");
            }
            false
        }
    }
}

/// Disk hits of a function in this process, set back to zero if `reset`.
pub(crate) fn disk_hits(function_key: u128, reset: bool) -> u64 {
    FNS.lock()
        .iter()
        .find(|d| d.function_key == function_key)
        .map_or(0, |d| {
            if reset {
                d.hits.swap(0, Relaxed)
            } else {
                d.hits.load(Relaxed)
            }
        })
}

/// The fuzz test makes valid entries through this.
#[doc(hidden)]
pub fn encode_entry_for_tests<V: Serialize>(
    function_key: u128,
    value_key: u128,
    value: &V,
    replay: Vec<u8>,
    ttl: Option<Duration>,
) -> Vec<u8> {
    let want = Want {
        function_key,
        value_key,
        type_hash: format::type_hash::<V>(),
    };
    entry_bytes(want, value, replay, ttl)
}

/// A test entry's bytes; none if the value does not encode.
fn entry_bytes<V: Serialize>(
    want: Want,
    value: &V,
    replay: Vec<u8>,
    ttl: Option<Duration>,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(e) = format::encode(want, value, replay, SystemTime::now(), ttl) {
        let _ = e.write_to(&mut out);
    }
    out
}

/// As [`encode_entry_for_tests`], with the header's value type taken from
/// `type_name` instead of `V`'s: what an older build wrote for a type of the
/// same name, in tests that can't declare two types of one name.
#[doc(hidden)]
pub fn encode_entry_as_for_tests<V: Serialize>(
    type_name: &str,
    function_key: u128,
    value_key: u128,
    value: &V,
) -> Vec<u8> {
    let want = Want {
        function_key,
        value_key,
        type_hash: format::type_hash_of(type_name),
    };
    entry_bytes(want, value, Vec::new(), None)
}

/// The fuzz test decodes raw bytes as an entry through this.
#[doc(hidden)]
pub fn decode_entry_for_tests<V: DeserializeOwned + 'static>(
    bytes: &[u8],
    function_key: u128,
    value_key: u128,
) -> Result<V, String> {
    let want = Want {
        function_key,
        value_key,
        type_hash: format::type_hash::<V>(),
    };
    format::decode::<V, _>(bytes, bytes.len() as u64, &want, SystemTime::now())
        .map(|d| d.value)
        .map_err(|e| e.to_string())
}
