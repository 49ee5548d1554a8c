//! The store's index: open addressing over a byte of control per bucket
//! (empty, a tombstone, or a 7-bit hash tag) and a slot position beside it.
//!
//! Readers and claimers share it in the map latch's read sections. A claim
//! takes an empty control byte by CAS, and always the first empty one on its
//! key's probe path (never a tombstone), so two claimers of one key meet at
//! one bucket: one CAS wins, and the other finds the winner's tag there. The
//! winner then writes its position; a reader that finds a tag whose position
//! is not written yet hands the call to the write lock, which waits for the
//! claimer to leave. Removal, growth and clear happen under the write lock,
//! which excludes every prober.
//!
//! Why control bytes: a probe for an absent key, which is every miss, reads
//! only them, and at 100 000 keys they are 256 KB, where one-word buckets
//! were 2 MB and a miss waited on memory for its bucket. (Control bytes and
//! positions interleaved twelve to a line measured slower: the division by
//! twelve costs more than the second line.)

use super::arena::Pos;
use crate::key::CallKey;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};

pub(crate) const EMPTY: u8 = 0;
pub(crate) const TOMBSTONE: u8 = 1;

/// The control byte of a key with `hash` (never `EMPTY` or `TOMBSTONE`).
#[inline(always)]
pub(crate) fn tag(hash: u64) -> u8 {
    (hash >> 57) as u8 | 0x80
}

pub(crate) struct Index {
    ctrl: Box<[AtomicU8]>,
    /// A live bucket's position plus one; 0 while its claimer writes it.
    pos: Box<[AtomicU32]>,
    mask: usize,
    /// Buckets that are not empty (live or tombstones), as of the last
    /// settlement (see `Inner::settle`); claims made since are counted then.
    pub(crate) occupied: usize,
    pub(crate) tombstones: usize,
}

impl Index {
    /// An index of at least `capacity` buckets.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.next_power_of_two();
        Index {
            ctrl: (0..capacity).map(|_| AtomicU8::new(EMPTY)).collect(),
            pos: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            mask: capacity - 1,
            occupied: 0,
            tombstones: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// How many buckets may be occupied before the index must grow. A probe
    /// reads only control bytes until a tag matches, so even a long one
    /// stays within a line or two; a smaller index is what keeps misses in
    /// cache.
    #[inline]
    pub(crate) fn max_occupied(&self) -> usize {
        self.capacity() - self.capacity() / 8
    }

    #[inline(always)]
    pub(crate) fn start(&self, hash: u64) -> usize {
        hash as usize & self.mask
    }

    #[inline(always)]
    pub(crate) fn next(&self, i: usize) -> usize {
        (i + 1) & self.mask
    }

    /// Bucket `i`'s control byte.
    #[inline(always)]
    pub(crate) fn ctrl(&self, i: usize) -> u8 {
        // SAFETY: every `i` comes from `start` or `next`, which mask it below
        // the length of both arrays.
        unsafe { self.ctrl.get_unchecked(i) }.load(Ordering::Acquire)
    }

    /// Bucket `i`'s position, or `None` while its claimer is writing it.
    #[inline(always)]
    pub(crate) fn position(&self, i: usize) -> Option<Pos> {
        // SAFETY: as in `ctrl`.
        let p = unsafe { self.pos.get_unchecked(i) }.load(Ordering::Acquire);
        p.checked_sub(1)
    }

    /// Takes the empty bucket `i` for the slot at `pos`; `Err` if someone
    /// filled it first.
    #[inline(always)]
    pub(crate) fn claim(&self, i: usize, tag: u8, pos: Pos) -> Result<(), ()> {
        // SAFETY: as in `ctrl`.
        let (c, p) = unsafe { (self.ctrl.get_unchecked(i), self.pos.get_unchecked(i)) };
        c.compare_exchange(EMPTY, tag, Ordering::AcqRel, Ordering::Relaxed)
            .map_err(drop)?;
        p.store(pos + 1, Ordering::Release);
        Ok(())
    }

    /// The bucket on `hash`'s probe path whose position `is` accepts, or
    /// the first empty bucket on it. (In a read section, a bucket whose
    /// position is still being written is passed over.)
    pub(crate) fn find(&self, hash: u64, is: impl Fn(Pos) -> bool) -> Result<usize, usize> {
        let t = tag(hash);
        let mut i = self.start(hash);
        loop {
            match self.ctrl(i) {
                EMPTY => return Err(i),
                c if c == t && self.position(i).is_some_and(&is) => return Ok(i),
                _ => i = self.next(i),
            }
        }
    }

    /// Where the slot at `pos`, whose key hashes to `hash`, is indexed.
    pub(crate) fn find_pos(&self, hash: u64, pos: Pos) -> Option<usize> {
        self.find(hash, |p| p == pos).ok()
    }

    /// Unindexes bucket `i` (under the write lock). A bucket before an empty
    /// one becomes empty itself, since no probe path runs through it.
    pub(crate) fn remove(&mut self, i: usize) {
        let next = self.next(i);
        *self.pos[i].get_mut() = 0;
        if *self.ctrl[next].get_mut() == EMPTY {
            *self.ctrl[i].get_mut() = EMPTY;
            self.occupied -= 1;
        } else {
            *self.ctrl[i].get_mut() = TOMBSTONE;
            self.tombstones += 1;
        }
    }

    /// The position of every live bucket (under the write lock).
    pub(crate) fn live(&mut self) -> impl Iterator<Item = Pos> + '_ {
        self.ctrl
            .iter_mut()
            .zip(self.pos.iter_mut())
            .filter_map(|(c, p)| (*c.get_mut() > TOMBSTONE).then(|| *p.get_mut() - 1))
    }

    pub(crate) fn clear(&mut self) {
        self.ctrl.iter_mut().for_each(|c| *c.get_mut() = EMPTY);
        self.pos.iter_mut().for_each(|p| *p.get_mut() = 0);
        self.occupied = 0;
        self.tombstones = 0;
    }

    /// This index's live buckets in a fresh index of at least `capacity`
    /// buckets, without tombstones; `hash` gives the hash of the key at a
    /// position.
    pub(crate) fn rebuilt(&mut self, capacity: usize, hash: impl Fn(Pos) -> u64) -> Index {
        let mut new = Index::new(capacity);
        for p in self.live() {
            let h = hash(p);
            let mut i = new.start(h);
            while *new.ctrl[i].get_mut() != EMPTY {
                i = new.next(i);
            }
            *new.ctrl[i].get_mut() = tag(h);
            *new.pos[i].get_mut() = p + 1;
            new.occupied += 1;
        }
        new
    }

    /// Where the index lives, for [`Hint`] (read under the write lock).
    fn hint(&self) -> (usize, *mut u8, *mut u32) {
        (
            self.mask,
            self.ctrl.as_ptr().cast_mut().cast(),
            self.pos.as_ptr().cast_mut().cast(),
        )
    }
}

/// Where the current index lives, readable without the lock, so that a
/// miss can ask for its bucket's lines before it takes the lock: the lock's
/// locked instructions would otherwise wait for them. Written under the write
/// lock whenever the index is replaced; a reader that races with that gets a
/// stale address, which for a prefetch is merely a wasted hint.
pub(crate) struct Hint {
    mask: AtomicUsize,
    ctrl: AtomicPtr<u8>,
    pos: AtomicPtr<u32>,
}

impl Hint {
    pub(crate) fn new() -> Self {
        Hint {
            mask: AtomicUsize::new(0),
            ctrl: AtomicPtr::new(std::ptr::null_mut()),
            pos: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    pub(crate) fn set(&self, index: &Index) {
        let (mask, ctrl, pos) = index.hint();
        self.mask.store(mask, Ordering::Relaxed);
        self.ctrl.store(ctrl, Ordering::Relaxed);
        self.pos.store(pos, Ordering::Relaxed);
    }

    /// Prefetches the lines of `hash`'s first bucket.
    #[inline(always)]
    pub(crate) fn prefetch(&self, hash: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let i = hash as usize & self.mask.load(Ordering::Relaxed);
            let ctrl = self.ctrl.load(Ordering::Relaxed).wrapping_add(i);
            let pos = self.pos.load(Ordering::Relaxed).wrapping_add(i);
            // SAFETY: a prefetch never faults and reads nothing.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(ctrl.cast_const().cast());
                _mm_prefetch::<_MM_HINT_T0>(pos.cast_const().cast());
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = hash;
    }
}

/// A seed for an index, so that nobody can pick arguments that all land in
/// one probe path. `salt` (the store's address) makes each store's differ.
///
/// On Linux the secret is the 16 random bytes the kernel hands every process
/// at start (`AT_RANDOM`), hashed, never shown: std's random keys would cost
/// a fresh process a `getrandom` system call on its first cached call.
pub(crate) fn random_seed(salt: usize) -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `getauxval` only reads the process's auxiliary vector;
        // AT_RANDOM, when present, points to 16 bytes that live as long as
        // the process.
        let at = unsafe { libc::getauxval(libc::AT_RANDOM) } as *const [u8; 16];
        if !at.is_null() {
            // SAFETY: see above.
            let bytes = unsafe { *at };
            return xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, salt as u64);
        }
    }
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(salt);
    h.finish()
}

/// The index's hash of `key`: a folded multiply (as in foldhash), which
/// mixes every input bit into both halves of the product.
#[inline(always)]
pub(crate) fn hash_key(seed: u64, key: CallKey) -> u64 {
    let (lo, hi) = key.halves();
    let p = u128::from(lo ^ seed) * u128::from(hi ^ 0x243f_6a88_85a3_08d3);
    (p as u64) ^ ((p >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_never_empty_or_tombstones() {
        for h in [0, 1, u64::MAX, 1 << 57, 0x7f << 57] {
            assert!(tag(h) > TOMBSTONE);
        }
    }

    #[test]
    fn each_store_gets_its_own_seed() {
        // Two stores (two addresses) must not share a probe layout.
        let seeds: std::collections::HashSet<u64> = (1..=64usize)
            .map(|store| random_seed(store * 7040))
            .collect();
        assert_eq!(seeds.len(), 64);
    }

    #[test]
    fn removal_keeps_later_keys_reachable() {
        let mut ix = Index::new(8);
        // Three keys on one probe path: 0, 1, 2 from bucket 3.
        let h = 3;
        for pos in 0..3 {
            ix.claim(3 + pos as usize, tag(h), pos).unwrap();
            ix.occupied += 1;
        }
        assert!(
            ix.claim(3, tag(h), 9).is_err(),
            "a taken bucket can't be claimed"
        );
        assert_eq!(ix.position(3), Some(0));
        assert_eq!(ix.position(6), None, "an empty bucket has no position");
        let first = ix.find_pos(h, 0).unwrap();
        ix.remove(first);
        assert_eq!(ix.tombstones, 1, "a bucket mid-path becomes a tombstone");
        assert_eq!(ix.find_pos(h, 2), Some(5));
        ix.remove(5);
        assert_eq!(ix.tombstones, 1, "the last bucket of a path just empties");
        assert_eq!(ix.occupied, 2);
        let grown = ix.rebuilt(16, |_| h);
        assert_eq!((grown.occupied, grown.tombstones), (1, 0));
        assert_eq!(grown.find_pos(h, 1), Some(grown.start(h)));
    }
}
