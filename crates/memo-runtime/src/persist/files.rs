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

/// Deletes a function's directory: its entries, its record and any
/// temporary files, then the directory itself and its group if now empty.
/// Returns how many entries it removed.
pub(crate) fn remove_fn_dir(dir: &Path) -> usize {
    let mut removed = 0;
    if let Ok(list) = fs::read_dir(dir) {
        for e in list.flatten() {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            if is_ours(name) && fs::remove_file(e.path()).is_ok() && entry_key(name).is_some() {
                removed += 1;
            }
        }
    }
    let _ = fs::remove_dir(dir);
    if let Some(group) = dir.parent() {
        // Fails, as it should, while another version's directory is there.
        let _ = fs::remove_dir(group);
    }
    removed
}

/// The `.memo` files of a function's directory with their write times.
fn entries_by_age(dir: &Path) -> Vec<(SystemTime, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(list) = fs::read_dir(dir) {
        for e in list.flatten() {
            if e.file_name().to_str().and_then(entry_key).is_some() {
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

/// Every function directory under `root`.
pub(crate) fn fn_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(groups) = fs::read_dir(root) else {
        return out;
    };
    for g in groups.flatten() {
        if !g.file_name().to_str().is_some_and(is_hex_name) {
            continue;
        }
        if let Ok(fns) = fs::read_dir(g.path()) {
            for f in fns.flatten() {
                if f.file_name().to_str().is_some_and(is_hex_name) {
                    out.push(f.path());
                }
            }
        }
    }
    out.sort();
    out
}

/// What a function directory holds: its record, entry count and bytes.
pub(crate) fn describe(dir: &Path) -> (String, usize, u64) {
    let meta = fs::read_to_string(dir.join(META)).unwrap_or_default();
    let name = meta.lines().next().unwrap_or("?").to_string();
    let list = entries_by_age(dir);
    let bytes = list
        .iter()
        .filter_map(|(_, p)| fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    (name, list.len(), bytes)
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
