//! The directory layout, and every file operation on it.
//!
//! ```text
//! <root>/<name key>/<function key>/<value key>.memo
//!                                 /function        (module::name and source hash, for listings)
//!                                 /.<value key>.<pid>.<n>.tmp   (a write under way)
//! ```
//!
//! Every name is a hex digest: nothing a user passed ends up in a path. The
//! name key (module and name) groups the versions of one function, so a new
//! version finds its predecessors' directories beside its own and removes them.
//! Only files of this layout are ever deleted, so a cache directory pointed at
//! the wrong place can't take other files with it.

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

fn is_ours(name: &str) -> bool {
    name == META || entry_key(name).is_some() || (name.starts_with('.') && name.ends_with(".tmp"))
}

/// Writes `entry` to `dir/name` so that no reader ever sees part of it: the
/// bytes go to a temporary file beside it, which is then renamed over the
/// name (atomic on POSIX and on NTFS). No fsync: a process crash can't tear
/// the entry, and after a power loss a damaged file fails its checksum and
/// is recomputed, which costs less than syncing every write.
pub(crate) fn write_atomic(dir: &Path, name: &str, entry: &Encoded) -> io::Result<()> {
    static N: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{name}.{}.{}.{TMP_EXT}",
        std::process::id(),
        N.fetch_add(1, Relaxed)
    ));
    let result = (|| {
        let mut o = fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let file = o.open(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 16, file);
        entry.write_to(&mut w)?;
        // The kernel stamps files with a coarse clock (a tick, milliseconds),
        // which would tie entries written in a burst; `max_disk_entries`
        // evicts by this time, so it is set precisely.
        w.into_inner()
            .map_err(io::IntoInnerError::into_error)?
            .set_modified(SystemTime::now())?;
        fs::rename(&tmp, dir.join(name))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes `dir` (a function's directory) ready for writing: creates it,
/// records which function it holds, removes other versions' directories
/// beside it and temporary files left by dead writers. Returns how many
/// entries it holds. Only creating the directory and its record can fail:
/// the clean-ups are best effort, so that another process clearing at the
/// same moment can't make this one give up writing.
pub(crate) fn prepare(dir: &Path, description: &str) -> io::Result<usize> {
    create_private_dir(dir)?;
    if !dir.join(META).exists() {
        let mut o = fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(dir.join(META))?.write_all(description.as_bytes())?;
    }
    if let (Some(group), Some(own)) = (dir.parent(), dir.file_name()) {
        for e in fs::read_dir(group).into_iter().flatten().flatten() {
            let name = e.file_name();
            if name != own && name.to_str().is_some_and(is_hex_name) {
                remove_fn_dir(&e.path());
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
        } else if name.ends_with(TMP_EXT) && name.starts_with('.') {
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
    Ok(entries)
}

/// Deletes a function's directory: its entries and temporary files, then
/// its record, the directory itself and its group if now empty. Says what
/// went and what could not. The record goes last, and only if everything
/// else went, so that a directory left half-cleared is still listed and
/// cleared next time rather than hidden as nobody's.
pub(crate) fn remove_fn_dir(dir: &Path) -> Cleared {
    let mut done = Cleared::default();
    let list = match fs::read_dir(dir) {
        Ok(list) => list,
        // Cleared by someone else since it was listed.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return done,
        Err(e) => {
            done.failed.push((dir.to_path_buf(), e));
            return done;
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
            true if regular && is_unfinished(name) => done.unfinished += 1,
            _ => {}
        }
    }
    if record && done.failed.is_empty() {
        remove(&dir.join(META), &mut done.failed);
    }
    let _ = fs::remove_dir(dir);
    if let Some(group) = dir.parent() {
        // Fails, as it should, while another version's directory is there.
        let _ = fs::remove_dir(group);
    }
    done
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

/// A write's temporary file (`.<value key>.memo.<pid>.<n>.tmp`): a write
/// under way, or one whose writer died.
fn is_unfinished(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
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
        } else if e.file_name().to_str().is_some_and(is_unfinished)
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
}
