//! The directory layout, and every file operation on it.
//!
//! ```text
//! <root>/<name key>/<function key>/<value key>.memo
//!                                 /function        (the fn's path and source hash, for listings)
//!                                 /.<value key>.memo.<pid>.<n>.tmp   (a write under way)
//!                                 /.function.<pid>.<n>.tmp           (the record being written)
//! ```
//!
//! Every name is a hex digest: nothing a user passed ends up in a path. The
//! name key (scope and name) groups the versions of one function, so a new
//! version finds its predecessors' directories beside its own and removes
//! them, unless a live process still uses one (it holds a shared `flock` on
//! its version's directory; see [`prepare`]). Only files of this layout are
//! ever deleted, so a cache directory pointed at the wrong place can't take
//! other files with it.

use super::format::Encoded;
use super::location::create_private_dir;
use super::{Cleared, Usage};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

pub(crate) const ENTRY_EXT: &str = "memo";
const TMP_EXT: &str = "tmp";
pub(crate) const META: &str = "function";

/// A temporary file this old belongs to a writer that died (kill -9, power
/// loss); younger ones may be a live write by another process.
const ABANDONED_TMP: Duration = Duration::from_secs(600);

/// `x` as 32 lowercase hex digits (by hand: this is on a first hit's path,
/// which should not pay for the formatting machinery's first use).
pub(crate) fn hex(x: u128) -> String {
    let mut s = String::with_capacity(32 + 1 + ENTRY_EXT.len());
    for i in (0..32).rev() {
        s.push(char::from(
            b"0123456789abcdef"[(x >> (4 * i)) as usize & 15],
        ));
    }
    s
}

fn is_hex_name(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn entry_name(value_key: u128) -> String {
    let mut s = hex(value_key);
    s.push('.');
    s.push_str(ENTRY_EXT);
    s
}

/// The value key an entry's file name stands for.
fn entry_key(name: &str) -> Option<&str> {
    name.strip_suffix(".memo").filter(|k| is_hex_name(k))
}

/// Whether `name` is a temporary file [`write_atomic`] makes:
/// `.<value key>.memo.<pid>.<n>.tmp` or `.function.<pid>.<n>.tmp`. Exactly
/// that, so that a user's own `.notes.tmp` is never taken for ours.
fn is_tmp_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(inner) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TMP_EXT))
        .and_then(|n| n.strip_suffix('.'))
    else {
        return false;
    };
    let mut parts = inner.rsplitn(3, '.');
    let (Some(n), Some(pid), Some(target)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    digits(n) && digits(pid) && (target == META || entry_key(target).is_some())
}

fn is_ours(name: &str) -> bool {
    name == META || entry_key(name).is_some() || is_tmp_name(name)
}

/// Why [`write_atomic`] failed.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The directory can't take a file: the temporary file could not be
    /// created or filled (unwritable, disk full), or it vanished with the
    /// directory (a clear; `NotFound`, worth preparing again).
    Dir(io::Error),
    /// The file was written but can't be renamed over what is at its name,
    /// even after removing that: this one entry is not stored.
    Entry(io::Error),
}

impl From<WriteError> for io::Error {
    fn from(e: WriteError) -> io::Error {
        match e {
            WriteError::Dir(e) | WriteError::Entry(e) => e,
        }
    }
}

/// Removes whatever is at `path` and is not an entry we can read or
/// replace (a directory, a FIFO, a socket, a device, a symlink to one).
/// Everything under the root is named by us, so a directory at an entry's
/// name is debris (or sabotage) and goes with its contents; a symlink goes,
/// not what it points to.
pub(crate) fn remove_obstacle(path: &Path) -> io::Result<()> {
    let m = fs::symlink_metadata(path)?;
    if m.is_dir() {
        return fs::remove_dir_all(path);
    }
    fs::remove_file(path).or_else(|e| {
        // Windows removes a symlink to a directory as a directory.
        if m.is_symlink() {
            fs::remove_dir(path)
        } else {
            Err(e)
        }
    })
}

/// Writes `entry` to `dir/name` so that no reader ever sees part of it: the
/// bytes go to a temporary file beside it, which is then renamed over the
/// name (atomic on POSIX and on NTFS). No fsync: a process crash can't tear
/// the entry, and after a power loss a damaged file fails its checksum and
/// is recomputed, which costs less than syncing every write.
pub(crate) fn write_atomic(dir: &Path, name: &str, entry: &Encoded) -> Result<(), WriteError> {
    write_file_atomic(dir, name, |w| entry.write_to(w))
}

/// [`write_atomic`] for any content.
fn write_file_atomic(
    dir: &Path,
    name: &str,
    content: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), WriteError> {
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.{TMP_EXT}",
        std::process::id(),
        N.fetch_add(1, Relaxed)
    ));
    let written = (|| {
        let mut o = fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 16, file);
        content(&mut w)?;
        // The kernel stamps files with a coarse clock (a tick, milliseconds),
        // which would tie entries written in a burst; `max_disk_entries`
        // evicts by this time, so it is set precisely.
        w.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .set_modified(SystemTime::now())
    })();
    let result = written.map_err(WriteError::Dir).and_then(|()| {
        let target = dir.join(name);
        fs::rename(&tmp, &target).or_else(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                // Our temporary file went with a clear, or the directory did.
                return Err(WriteError::Dir(e));
            }
            // Something the rename can't replace is in the way (a directory):
            // it is not an entry, so it goes, once.
            if remove_obstacle(&target).is_err() {
                return Err(WriteError::Entry(e));
            }
            fs::rename(&tmp, &target).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => WriteError::Dir(e),
                _ => WriteError::Entry(e),
            })
        })
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// A shared lock on a function version's directory, held for as long as
/// this process may write there: a new version's sweep in another process
/// leaves a locked directory alone. The kernel drops it with the process,
/// however the process ends.
pub(crate) struct VersionLock {
    #[cfg(unix)]
    _dir: Option<fs::File>,
}

impl VersionLock {
    #[cfg(unix)]
    fn shared(dir: &Path) -> VersionLock {
        // Best effort: without the lock, the worst is that a newer version
        // running at the same time removes this one's entries, as before
        // locks were taken.
        let dir = open_dir(dir)
            .ok()
            .filter(|d| flock(d, libc::LOCK_SH).is_ok());
        VersionLock { _dir: dir }
    }

    #[cfg(not(unix))]
    fn shared(_: &Path) -> VersionLock {
        VersionLock {}
    }
}

/// Opens a directory to lock it; anything else at `path` is refused
/// without being opened (a FIFO would block the open).
#[cfg(unix)]
fn open_dir(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
}

#[cfg(unix)]
fn flock(f: &fs::File, how: libc::c_int) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: `f` is an open file descriptor for the whole call.
        if unsafe { libc::flock(f.as_raw_fd(), how) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Removes another version's directory, unless a live process holds it
/// (its [`VersionLock`]). The exclusive lock is held while removing, so a
/// process of that version starting now waits for the removal to finish
/// and then finds its directory gone, and makes it again.
#[cfg(unix)]
fn sweep(other: &Path) {
    let Ok(d) = open_dir(other) else { return };
    // Any other failure means a file system without locks: nobody can hold
    // one there either, so the directory goes as it did before locks.
    if let Err(e) = flock(&d, libc::LOCK_EX | libc::LOCK_NB) {
        if e.kind() == io::ErrorKind::WouldBlock {
            return;
        }
    }
    remove_fn_dir(other);
}

#[cfg(not(unix))]
fn sweep(other: &Path) {
    remove_fn_dir(other);
}

/// A function directory ready for writing.
pub(crate) struct Prepared {
    /// Entries it holds (an estimate between rescans).
    pub(crate) entries: usize,
    _lock: VersionLock,
}

/// Makes `dir` (a function's directory) ready for writing: creates it,
/// takes this process's shared lock on it, makes sure its record says which
/// function it holds (written atomically, and rewritten if a failed write
/// left it empty or wrong), removes temporary files left by dead writers
/// and, if `sweep_others`, the directories of other versions beside it that
/// no live process holds. Only creating the directory and its record can
/// fail: the clean-ups are best effort, so that another process clearing
/// at the same moment can't make this one give up writing.
pub(crate) fn prepare(dir: &Path, description: &str, sweep_others: bool) -> io::Result<Prepared> {
    if let Err(e) = create_private_dir(dir) {
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
        // `mkdir` found something there that was no directory when looked
        // at: a file in the way (a real failure), or a directory a clear
        // removed in between, which is worth preparing again, as for any
        // directory removed under a write (`NotFound`).
        match dir.ancestors().find_map(|a| fs::metadata(a).ok()) {
            Some(m) if m.is_dir() => {
                if !dir.is_dir() {
                    return Err(io::Error::new(io::ErrorKind::NotFound, e));
                }
            }
            _ => return Err(e),
        }
    }
    // Before the sweep, so that two versions starting together can't each
    // find the other unlocked.
    let lock = VersionLock::shared(dir);
    let expected = description.as_bytes();
    if read_record(&dir.join(META), expected.len()).as_deref() != Some(expected) {
        write_file_atomic(dir, META, |w| w.write_all(description.as_bytes()))?;
    }
    if sweep_others {
        if let (Some(group), Some(own)) = (dir.parent(), dir.file_name()) {
            for e in fs::read_dir(group).into_iter().flatten().flatten() {
                let name = e.file_name();
                if name != own && name.to_str().is_some_and(is_hex_name) {
                    sweep(&e.path());
                }
            }
        }
    }
    let mut entries = 0;
    let now = SystemTime::now();
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if entry_key(name).is_some() {
            entries += 1;
        } else if is_tmp_name(name) {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > ABANDONED_TMP);
            if old {
                let _ = fs::remove_file(e.path());
            }
        }
    }
    Ok(Prepared {
        entries,
        _lock: lock,
    })
}

/// The function record's bytes (no more than one past `expected_len`: a
/// longer one is wrong anyway), if it is a regular file. Opened
/// non-blocking, as entries are: a FIFO in its place must not hang the
/// write that is about to replace it.
fn read_record(path: &Path, expected_len: usize) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut o = fs::OpenOptions::new();
    o.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut o, libc::O_NONBLOCK);
    let f = o.open(path).ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut out = Vec::new();
    f.take(expected_len as u64 + 1).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Deletes a function's directory: its entries and temporary files, then
/// its record, the directory itself and its group if now empty. Says what
/// went and what could not. The record goes last, and only if everything
/// else went, so that a directory left half-cleared is still listed and
/// cleared next time rather than hidden as nobody's.
pub(crate) fn remove_fn_dir(dir: &Path) -> Cleared {
    let mut done = Cleared::default();
    let Some(record) = remove_all_but_record(dir, &mut done) else {
        return done;
    };
    if record && done.failed.is_empty() {
        let meta = dir.join(META);
        let text = read_record(&meta, RECORD_MAX);
        if remove(&meta, &mut done.failed) {
            settle(dir, text, &mut done);
        }
    } else {
        let _ = fs::remove_dir(dir);
    }
    if let Some(group) = dir.parent() {
        // Fails, as it should, while another version's directory is there.
        let _ = fs::remove_dir(group);
    }
    done
}

/// Longest record [`settle`] puts back (a function path).
const RECORD_MAX: usize = 64 * 1024;

/// Rounds of [`settle`] before it gives the directory its record back.
const SETTLE_ROUNDS: usize = 8;

/// Removes every file of ours in `dir` but its record, counting what went;
/// whether the record is there, or `None` if the directory can't be read
/// (gone already: nothing to do).
fn remove_all_but_record(dir: &Path, done: &mut Cleared) -> Option<bool> {
    let list = match fs::read_dir(dir) {
        Ok(list) => list,
        // Cleared by someone else since it was listed.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            done.failed.push((dir.to_path_buf(), e));
            return None;
        }
    };
    let mut record = false;
    for e in list {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                done.failed.push((dir.to_path_buf(), err));
                continue;
            }
        };
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = e.file_type().ok();
        // We never make directories in here, whatever their name.
        if !is_ours(name) || kind.is_some_and(|k| k.is_dir()) {
            continue;
        }
        if name == META {
            record = true;
            continue;
        }
        let regular = kind.is_some_and(|k| k.is_file());
        match remove(&e.path(), &mut done.failed) {
            true if regular && entry_key(name).is_some() => done.entries += 1,
            true if regular && is_tmp_name(name) => done.unfinished += 1,
            _ => {}
        }
    }
    #[cfg(test)]
    tests::after_listing(dir);
    Some(record)
}

/// Ends a clear whose record is gone. Another process's write that landed
/// after the listing would be left in a directory without a record, which
/// no listing or clear looks into, and served on: so such files go too,
/// round after round, until the directory can be removed. If writes keep
/// landing, or a writer has prepared the directory again, it stays with a
/// record, listed and cleared next time.
fn settle(dir: &Path, record: Option<Vec<u8>>, done: &mut Cleared) {
    for _ in 0..SETTLE_ROUNDS {
        match fs::remove_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {}
            _ => return,
        }
        if fs::symlink_metadata(dir.join(META)).is_ok() {
            return;
        }
        let before = (done.entries, done.unfinished, done.failed.len());
        if remove_all_but_record(dir, done).is_none() {
            return;
        }
        if (done.entries, done.unfinished, done.failed.len()) == before {
            // Nothing of ours is in the way: what keeps the directory is
            // someone else's, and no entry is hidden.
            return;
        }
    }
    if let Some(text) = record {
        if let Err(e) = write_file_atomic(dir, META, |w| w.write_all(&text)) {
            done.failed.push((dir.join(META), e.into()));
        }
    }
}

/// Removes a file, noting why if it can't be; one already gone (another
/// clear, an eviction, a rename that finished) is neither removed nor a
/// failure.
fn remove(file: &Path, failed: &mut Vec<(PathBuf, io::Error)>) -> bool {
    match fs::remove_file(file) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            failed.push((file.to_path_buf(), e));
            false
        }
    }
}

/// The `.memo` files of a function's directory with their write times.
fn entries_by_age(dir: &Path) -> Vec<(SystemTime, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(list) = fs::read_dir(dir) {
        for e in list.flatten() {
            if is_entry(&e) {
                let t = e.metadata().and_then(|m| m.modified());
                out.push((t.unwrap_or(SystemTime::UNIX_EPOCH), e.path()));
            }
        }
    }
    out.sort();
    out
}

/// Removes the oldest-written entries until at most `keep` remain; returns
/// how many remain.
pub(crate) fn evict_oldest(dir: &Path, keep: usize) -> usize {
    let all = entries_by_age(dir);
    let extra = all.len().saturating_sub(keep);
    let removed = all[..extra]
        .iter()
        .filter(|(_, p)| fs::remove_file(p).is_ok())
        .count();
    all.len() - removed
}

/// Whether a directory entry is one of our entries: a regular file with an
/// entry's name. A symlink or directory under that name was not written by
/// us, and following it would count (or evict) someone else's file.
fn is_entry(e: &fs::DirEntry) -> bool {
    e.file_name().to_str().and_then(entry_key).is_some() && e.file_type().is_ok_and(|t| t.is_file())
}

/// Every function directory under `root` (real directories with digest
/// names, not symlinks: a clear must not follow one out of the cache), and
/// the directories that could not be read. A missing `root` is an empty
/// cache, not an error.
pub(crate) fn fn_dirs(root: &Path) -> (Vec<PathBuf>, Vec<(PathBuf, io::Error)>) {
    let mut out = Vec::new();
    let mut failed = Vec::new();
    let is_digest_dir = |e: &fs::DirEntry| {
        e.file_name().to_str().is_some_and(is_hex_name) && e.file_type().is_ok_and(|t| t.is_dir())
    };
    let groups = match fs::read_dir(root) {
        Ok(groups) => groups,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (out, failed),
        Err(e) => {
            failed.push((root.to_path_buf(), e));
            return (out, failed);
        }
    };
    for g in groups.flatten().filter(is_digest_dir) {
        match fs::read_dir(g.path()) {
            Ok(fns) => out.extend(fns.flatten().filter(is_digest_dir).map(|f| f.path())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => failed.push((g.path(), e)),
        }
    }
    out.sort();
    (out, failed)
}

/// The function a directory holds, from its record: `None` if it has none
/// (a directory that only looks like ours, or one being created).
pub(crate) fn record(dir: &Path) -> Option<String> {
    let file = dir.join(META);
    if !fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let text = fs::read_to_string(file).ok()?;
    let name = text.lines().next()?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// What a function directory holds, or `None` if it has no record.
pub(crate) fn describe(dir: &Path) -> Option<Usage> {
    let mut u = Usage {
        function: record(dir)?,
        entries: 0,
        bytes: 0,
        unfinished: 0,
        unfinished_bytes: 0,
        dir: dir.to_path_buf(),
    };
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let len = || e.metadata().map_or(0, |m| m.len());
        if is_entry(&e) {
            u.entries += 1;
            u.bytes += len();
        } else if e.file_name().to_str().is_some_and(is_tmp_name)
            && e.file_type().is_ok_and(|t| t.is_file())
        {
            u.unfinished += 1;
            u.unfinished_bytes += len();
        }
    }
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// How many more of this thread's clear listings another process's
        /// write lands right after.
        static LANDINGS: Cell<usize> = const { Cell::new(0) };
    }

    const LATE: u128 = 0xfeed;

    pub(super) fn after_listing(dir: &Path) {
        if LANDINGS.get() > 0 {
            LANDINGS.set(LANDINGS.get() - 1);
            fs::write(dir.join(entry_name(LATE)), b"late").unwrap();
        }
    }

    fn recorded_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join(format!("memo-files-{tag}-{}", std::process::id()))
            .join(hex(1))
            .join(hex(2));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(META), b"app::f").unwrap();
        fs::write(dir.join(entry_name(7)), b"seven").unwrap();
        dir
    }

    #[test]
    fn a_write_landing_during_a_clear_goes_with_it() {
        let dir = recorded_dir("late-write");
        LANDINGS.set(1);
        let done = remove_fn_dir(&dir);
        assert_eq!(LANDINGS.get(), 0, "the write landed");
        assert!(done.failed.is_empty(), "{:?}", done.failed);
        assert_eq!(done.entries, 2, "the listed entry and the late one");
        assert!(!dir.exists(), "no directory is left without its record");
        fs::remove_dir_all(dir.ancestors().nth(2).unwrap()).unwrap();
    }

    #[test]
    fn a_directory_written_to_throughout_a_clear_keeps_its_record() {
        let dir = recorded_dir("busy-write");
        LANDINGS.set(usize::MAX);
        remove_fn_dir(&dir);
        LANDINGS.set(0);
        assert_eq!(record(&dir).as_deref(), Some("app::f"), "still listed");
        assert!(dir.join(entry_name(LATE)).exists());
        assert!(!dir.join(entry_name(7)).exists());
        // So the next clear finds it.
        let done = remove_fn_dir(&dir);
        assert_eq!(done.entries, 1);
        assert!(!dir.exists());
        fs::remove_dir_all(dir.ancestors().nth(2).unwrap()).unwrap();
    }

    #[test]
    fn names_are_the_formatted_digests() {
        for x in [
            0,
            1,
            0xabc,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            assert_eq!(hex(x), format!("{x:032x}"));
            assert_eq!(entry_name(x), format!("{x:032x}.memo"));
            assert_eq!(entry_key(&entry_name(x)), Some(&*hex(x)));
        }
    }

    #[test]
    fn a_directory_in_the_way_of_a_write_is_replaced() {
        use crate::persist::format::{encode, type_hash, Want};
        let dir = std::env::temp_dir().join(format!("memo-files-obstacle-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let name = entry_name(7);
        fs::create_dir_all(dir.join(&name).join("deep")).unwrap();
        fs::write(dir.join(&name).join("deep/file"), b"x").unwrap();
        let want = Want {
            function_key: 1,
            value_key: 7,
            type_hash: type_hash::<u8>(),
        };
        let entry = encode(want, &5u8, Vec::new(), SystemTime::now(), None).unwrap();
        write_atomic(&dir, &name, &entry).unwrap();
        assert_eq!(fs::read(dir.join(&name)).unwrap(), entry.to_vec());
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            [std::ffi::OsString::from(&name)],
            "no temporary file is left"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_our_own_temporary_names_are_ours() {
        let key = hex(0xabc);
        for ours in [
            format!(".{key}.memo.123.0.tmp"),
            format!(".{key}.memo.4194304.17.tmp"),
            ".function.99.3.tmp".to_string(),
        ] {
            assert!(is_tmp_name(&ours) && is_ours(&ours), "{ours}");
        }
        for theirs in [
            ".notes.tmp",
            ".tmp",
            "..tmp",
            ".function.tmp",
            ".function.1.tmp",
            ".function.x.1.tmp",
            ".function.1..tmp",
            &format!(".{key}.123.0.tmp"),
            &format!(".{key}.memo.123.0.tmp.bak"),
            &format!("{key}.memo.123.0.tmp"),
            &format!(".{}.memo.1.2.tmp", &key[1..]),
        ] {
            assert!(!is_ours(theirs), "{theirs}");
        }
    }
}
