//! The fast path for a value that is a `Vec` of a primitive number type
//! (`Vec<f64>`, `Vec<u8>`, ..., or such a `Vec` in an `Arc`): its encoding is a `u64` length and the
//! elements' little-endian bytes, which on a little-endian machine are the
//! vector's own memory. So the file is read straight into the vector, with
//! no per-element decoding, and what a first hit costs is what reading the
//! bytes raw costs (plus the checksum). The bytes are the same as the
//! general codec's, so either side may write what the other reads.
//!
//! [`read_entry`] goes further for an entry without a replay section (every
//! entry not written under a session): the header goes to a small buffer
//! and the payload straight from the kernel into the vector's memory, with
//! no copy after it. An entry of up to 256 KiB takes one `readv`; a larger
//! one has its header read and checked before anything is allocated, then
//! comes in 256 KiB pieces, each hashed while still in cache.

use super::codec::{Error, Reader};
use super::format::{self, Decoded, Header, Reject, Want, HEADER};
use crate::big_vec::{self, cast, with_numbers, Number};
use std::any::TypeId;
use std::fs::File;
use std::io::{self, Read, Seek};
use std::sync::Arc;
use std::time::SystemTime;
use xxhash_rust::xxh3::Xxh3;

/// Bytes read (and hashed) per piece after the first.
const PIECE: usize = 1 << 18;

/// `Some` if `T` is a vector this path handles.
pub(crate) fn decode<T: 'static, R: Read>(r: &mut Reader<R>) -> Option<Result<T, Error>> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if TypeId::of::<T>() == TypeId::of::<Vec<$t>>() {
                return Some(read_vec::<$t, R, { size_of::<$t>() }>(r, <$t>::from_le_bytes).map(cast));
            }
            if TypeId::of::<T>() == TypeId::of::<Arc<Vec<$t>>>() {
                let v = read_vec::<$t, R, { size_of::<$t>() }>(r, <$t>::from_le_bytes);
                return Some(v.map(|v| cast(Arc::new(v))));
            }
        )*};
    }
    with_numbers!(each);
    None
}

/// Whether `T` is a vector this path handles: its values always read back.
pub(crate) fn handles<T: 'static>() -> bool {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if TypeId::of::<T>() == TypeId::of::<Vec<$t>>()
                || TypeId::of::<T>() == TypeId::of::<Arc<Vec<$t>>>()
            {
                return true;
            }
        )*};
    }
    with_numbers!(each);
    false
}

fn read_vec<T: Number, R: Read, const N: usize>(
    r: &mut Reader<R>,
    from_le: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, Error> {
    debug_assert_eq!(N, size_of::<T>());
    let mut len = [0u8; 8];
    r.fill_exact(&mut len)?;
    let n = u64::from_le_bytes(len);
    // Refused before allocating: the file can't hold more than it has left.
    if n.checked_mul(N as u64).is_none_or(|bytes| bytes > r.left()) {
        return Err(Error(format!(
            "a length of {n} with only {} bytes left",
            r.left()
        )));
    }
    let n = n as usize;
    let mut v = big_vec::with_capacity::<T>(n);
    v.resize(n, T::default());
    // SAFETY: `v` holds `n` initialised `T`s, `n * N` bytes; `T` has no
    // padding and every byte pattern is a valid `T`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), n * N) };
    r.fill_exact(bytes)?;
    to_native(&mut v, from_le);
    Ok(v)
}

/// Turns little-endian elements into native ones (nothing to do on a
/// little-endian machine).
fn to_native<T: Number, const N: usize>(v: &mut [T], from_le: impl Fn([u8; N]) -> T) {
    if cfg!(target_endian = "big") {
        for x in v.iter_mut() {
            // SAFETY: `T` is `N` bytes without padding; reading its bytes.
            let b: [u8; N] = unsafe { std::mem::transmute_copy(x) };
            *x = from_le(b);
        }
    }
}

/// The entry in `file` (of `file_len` bytes, not read yet), if `T` is a
/// vector of numbers and the entry has no replay section. `None` leaves
/// the entry to the general decoder: the file is then back at its start.
/// What this path rejects (a bad header, an expired entry, a checksum
/// mismatch), it rejects as the general decoder would.
pub(crate) fn read_entry<T: 'static>(
    file: &mut File,
    file_len: u64,
    want: &Want,
    now: SystemTime,
) -> Option<Result<Decoded<T>, Reject>> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if TypeId::of::<T>() == TypeId::of::<Vec<$t>>() {
                let got = read_plain::<$t, { size_of::<$t>() }>(file, file_len, want, now, <$t>::from_le_bytes);
                return rewind(file, got).map(|d| d.map(|d| d.map(cast)));
            }
            if TypeId::of::<T>() == TypeId::of::<Arc<Vec<$t>>>() {
                let got = read_plain::<$t, { size_of::<$t>() }>(file, file_len, want, now, <$t>::from_le_bytes);
                return rewind(file, got).map(|d| d.map(|d| d.map(|v| cast(Arc::new(v)))));
            }
        )*};
    }
    with_numbers!(each);
    None
}

/// `got`, after putting `file` back at its start if the general decoder is
/// to read it.
fn rewind<T>(file: &mut File, got: Option<Result<T, Reject>>) -> Option<Result<T, Reject>> {
    if got.is_none() {
        if let Err(e) = file.rewind() {
            return Some(Err(Reject::Io(e)));
        }
    }
    got
}

fn read_plain<T: Number, const N: usize>(
    file: &mut File,
    file_len: u64,
    want: &Want,
    now: SystemTime,
    from_le: impl Fn([u8; N]) -> T,
) -> Option<Result<Decoded<Vec<T>>, Reject>> {
    // The layout without a replay section: header, length, elements.
    let bytes = usize::try_from(file_len.checked_sub(HEADER as u64 + 8)?).ok()?;
    if bytes % N != 0 {
        return None;
    }
    let n = bytes / N;
    let mut head = [0u8; HEADER + 8];
    let verdict = |head: &[u8; HEADER + 8]| check_head(head, file_len, want, now, n);
    // A small entry comes in one readv, header and elements together. A
    // large one's header is read and checked first, so that nothing is
    // allocated for a file that is not the entry asked for.
    let together = bytes <= PIECE;
    if !together {
        // SAFETY: no bytes go to `dst`.
        unsafe { fill(file, &mut head, std::ptr::NonNull::dangling().as_ptr(), 0) }.ok()?;
        if let Err(e) = verdict(&head)? {
            return Some(Err(e));
        }
    }
    let mut v = big_vec::with_capacity::<T>(n);
    #[cfg(not(unix))]
    v.resize(n, T::default());
    let base = v.as_mut_ptr().cast::<u8>();
    let mut done = 0;
    if together {
        // SAFETY: `v` has room for `bytes` bytes (initialised where `fill`
        // needs it).
        unsafe { fill(file, &mut head, base, bytes) }.ok()?;
        done = bytes;
    }
    let (body_sum, left) = match verdict(&head)? {
        Ok(h) => h,
        Err(e) => return Some(Err(e)),
    };
    let mut sum = Xxh3::new();
    sum.update(&head[HEADER..]);
    // SAFETY: `fill` wrote bytes `0..done` of `v`.
    sum.update(unsafe { std::slice::from_raw_parts(base, done) });
    while done < bytes {
        let piece = (bytes - done).min(PIECE);
        // SAFETY: `v` has room for `bytes` bytes and `done + piece <= bytes`;
        // then `fill` wrote them.
        unsafe {
            fill(file, &mut [], base.add(done), piece).ok()?;
            sum.update(std::slice::from_raw_parts(base.add(done), piece));
        }
        done += piece;
    }
    if sum.digest() != body_sum {
        return Some(Err(Reject::Corrupt("checksum mismatch".into())));
    }
    // SAFETY: `fill` wrote all `bytes` bytes, `n` elements, and any bytes
    // are a valid `T`.
    unsafe { v.set_len(n) };
    to_native(&mut v, from_le);
    Some(Ok(Decoded {
        value: v,
        replay: Vec::new(),
        left,
    }))
}

/// The header's verdict, with the body checksum and the time left; `None`
/// if the entry is not laid out as `n` elements without a replay section.
fn check_head(
    head: &[u8; HEADER + 8],
    file_len: u64,
    want: &Want,
    now: SystemTime,
    n: usize,
) -> Option<Result<(u64, Option<std::time::Duration>), Reject>> {
    let (fields, len) = head.split_first_chunk::<HEADER>()?;
    let h = match Header::parse(fields, file_len, want) {
        Ok(h) => h,
        Err(e) => return Some(Err(e)),
    };
    // An entry whose type named something is no vector of numbers written
    // by this type: the general decoder says why.
    if h.replay_len != 0
        || h.shape != super::codec::NO_SHAPE
        || u64::from_le_bytes(len.try_into().ok()?) != n as u64
    {
        return None;
    }
    Some(format::time_left(&h, now).map(|left| (h.body_sum, left)))
}

/// Reads exactly `head.len()` bytes into `head`, then `len` bytes to `dst`:
/// for a file in the page cache, one `readv`.
///
/// # Safety
/// `dst` must be valid for writes of `len` bytes. They need not be
/// initialised (on unix; elsewhere they must be).
#[cfg(unix)]
unsafe fn fill(
    file: &File,
    mut head: &mut [u8],
    mut dst: *mut u8,
    mut len: usize,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    while !head.is_empty() || len > 0 {
        let iov = [
            libc::iovec {
                iov_base: head.as_mut_ptr().cast(),
                iov_len: head.len(),
            },
            libc::iovec {
                iov_base: dst.cast(),
                iov_len: len,
            },
        ];
        let skip = usize::from(head.is_empty());
        // SAFETY: each iovec describes memory valid for writes of its length
        // (`head` is a live slice; the caller vouches for `dst`).
        let got = unsafe {
            libc::readv(
                file.as_raw_fd(),
                iov[skip..].as_ptr(),
                2 - skip as libc::c_int,
            )
        };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let mut got = got as usize;
        let into_head = got.min(head.len());
        head = &mut std::mem::take(&mut head)[into_head..];
        got -= into_head;
        // SAFETY: the kernel wrote `got <= len` bytes at `dst`.
        dst = unsafe { dst.add(got) };
        len -= got;
    }
    Ok(())
}

#[cfg(not(unix))]
unsafe fn fill(mut file: &File, head: &mut [u8], dst: *mut u8, len: usize) -> io::Result<()> {
    file.read_exact(head)?;
    // SAFETY: the caller vouches that `dst` holds `len` initialised bytes
    // that nothing else borrows.
    file.read_exact(unsafe { std::slice::from_raw_parts_mut(dst, len) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::format::{encode, type_hash};
    use std::time::Duration;

    fn want<T>() -> Want {
        Want {
            function_key: 1,
            value_key: 2,
            type_hash: type_hash::<T>(),
        }
    }

    fn entry<T: serde::Serialize>(v: &T, replay: &[u8], ttl: Option<Duration>) -> Vec<u8> {
        let e = encode(want::<T>(), v, replay.to_vec(), SystemTime::now(), ttl).unwrap();
        e.to_vec()
    }

    type Read<T> = Result<Decoded<T>, Reject>;

    /// `bytes` as a file, read by the fast path (`None`: left to the
    /// general decoder) and by the whole read (fast path, then general).
    fn read<T: serde::de::DeserializeOwned + 'static>(bytes: &[u8]) -> (Option<Read<T>>, Read<T>) {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "memo-bulk-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, bytes).unwrap();
        let mut f = File::open(&path).unwrap();
        let now = SystemTime::now();
        let fast = read_entry::<T>(&mut f, bytes.len() as u64, &want::<T>(), now);
        let whole = crate::persist::read_entry::<T>(&path, &want::<T>());
        std::fs::remove_file(&path).unwrap();
        (fast, whole)
    }

    #[test]
    fn reads_what_the_codec_wrote_straight_into_the_vector() {
        // Empty, small, several pieces, and above the huge page threshold.
        for n in [0usize, 1, 1000, PIECE / 8 + 3, 300_000] {
            let v: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
            let (fast, whole) = read::<Vec<f64>>(&entry(&v, b"", None));
            let fast = fast.expect("the fast path reads it").unwrap();
            assert_eq!((&fast.value, fast.left, fast.replay.len()), (&v, None, 0));
            assert_eq!(whole.unwrap().value, v);
        }
        let v: Arc<Vec<u16>> = Arc::new((0..5000).map(|i| i as u16).collect());
        let (fast, _) = read::<Arc<Vec<u16>>>(&entry(&v, b"", None));
        assert_eq!(fast.unwrap().unwrap().value, v);
        let v: Vec<i128> = vec![-1, 2, i128::MIN];
        let (fast, _) = read::<Vec<i128>>(&entry(&v, b"", Some(Duration::from_secs(60))));
        let fast = fast.unwrap().unwrap();
        assert_eq!(fast.value, v);
        assert!(fast.left.unwrap() > Duration::from_secs(50));
    }

    #[test]
    fn a_huge_file_that_is_not_an_entry_allocates_nothing() {
        let path = std::env::temp_dir().join(format!("memo-bulk-huge-{}", std::process::id()));
        let f = File::create(&path).unwrap();
        // 64 GiB, sparse: allocating room for it first would abort.
        f.set_len((1 << 36) + HEADER as u64 + 8).unwrap();
        drop(f);
        let got = crate::persist::read_entry::<Vec<u8>>(&path, &want::<Vec<u8>>());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(got, Err(Reject::Corrupt(m)) if m.contains("magic")));
    }

    #[test]
    fn an_entry_with_a_replay_section_goes_to_the_general_decoder() {
        let v: Vec<u32> = (0..3000).collect();
        let (fast, whole) = read::<Vec<u32>>(&entry(&v, b"drawn", None));
        assert!(fast.is_none());
        let whole = whole.unwrap();
        assert_eq!((whole.value, whole.replay), (v, b"drawn".to_vec()));
    }

    #[test]
    fn damaged_entries_are_rejected_as_the_general_decoder_rejects_them() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        let good = entry(&v, b"", None);
        let damaged = |f: fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            read::<Vec<f64>>(&b)
        };
        // Checked by the fast path itself.
        let (fast, whole) = damaged(|b| *b.last_mut().unwrap() ^= 1);
        assert!(matches!(fast, Some(Err(Reject::Corrupt(m))) if m.contains("checksum")));
        assert!(matches!(whole, Err(Reject::Corrupt(m)) if m.contains("checksum")));
        let (fast, _) = damaged(|b| b[20] ^= 1);
        assert!(matches!(fast, Some(Err(Reject::Corrupt(m))) if m.contains("header")));
        let big: Vec<f64> = vec![1.5; PIECE];
        let mut b = entry(&big, b"", None);
        b[20] ^= 1;
        let (fast, _) = read::<Vec<f64>>(&b);
        assert!(matches!(fast, Some(Err(Reject::Corrupt(m))) if m.contains("header")));
        let (fast, whole) = read::<Vec<f64>>(&entry(&v, b"", Some(Duration::from_nanos(1))));
        assert!(matches!(fast, Some(Err(Reject::Expired))));
        assert!(matches!(whole, Err(Reject::Expired)));
        let (fast, whole) = read::<Vec<u64>>(&good);
        assert!(matches!(fast, Some(Err(Reject::Mismatch("value type")))));
        assert!(matches!(whole, Err(Reject::Mismatch("value type"))));
        // Not laid out as expected: the general decoder gives the verdict.
        for f in [
            |b: &mut Vec<u8>| b.truncate(b.len() - 3),
            |b: &mut Vec<u8>| b.truncate(b.len() - 8),
            |b: &mut Vec<u8>| b.push(0),
            |b: &mut Vec<u8>| b.truncate(50),
            |b: &mut Vec<u8>| b.clear(),
        ] {
            let (fast, whole) = damaged(f);
            assert!(!matches!(fast, Some(Ok(_))));
            assert!(matches!(whole, Err(Reject::Corrupt(_))), "{whole:?}");
        }
    }
}
