//! Per-function counters, readable at any time: the counters themselves take
//! no lock (a cache with a ttl takes its map's read lock briefly to leave
//! expired values out of `entries`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

const STRIPES: usize = 32;

#[repr(align(64))]
#[derive(Default)]
struct Stripe(AtomicU64);

/// A counter that many threads bump at once without sharing a cache line:
/// each live thread owns one stripe, threads beyond 32 share one more with
/// an atomic add, and a read sums them all.
pub(crate) struct Striped {
    // Inline: the store that holds it is allocated once, and a hit should not
    // chase one more pointer.
    stripes: [Stripe; STRIPES],
    /// For threads without a stripe of their own. (Not an owned stripe:
    /// its owner's plain store could lose another thread's add.)
    shared: Stripe,
}

impl Striped {
    /// Writes zeroed counters at `at`, in place (see `Store::leak_new`).
    ///
    /// # Safety
    ///
    /// `at` is valid for writes and aligned.
    pub(crate) unsafe fn init(at: *mut Self) {
        // SAFETY: the caller's promise; every stripe is written once.
        unsafe {
            let stripes = (&raw mut (*at).stripes).cast::<Stripe>();
            for i in 0..STRIPES {
                stripes.add(i).write(Stripe::default());
            }
            (&raw mut (*at).shared).write(Stripe::default());
        }
    }

    #[inline]
    pub(crate) fn bump(&self) {
        let i = crate::thread::index() as usize;
        match self.stripes.get(i) {
            Some(mine) => bump_mine(&mine.0),
            None => self.bump_shared(),
        }
    }

    /// Bumps the stripe of threads that have none of their own.
    #[inline]
    pub(crate) fn bump_shared(&self) {
        self.shared.0.fetch_add(1, Relaxed);
    }

    /// This thread's own stripe, if it has one (see [`bump_mine`]): a
    /// per-thread cache of look-ups can keep it and skip the thread-local
    /// read on every bump.
    #[inline]
    pub(crate) fn mine(&'static self) -> Option<&'static AtomicU64> {
        let i = crate::thread::index() as usize;
        self.stripes.get(i).map(|s| &s.0)
    }

    pub(crate) fn get(&self) -> u64 {
        self.stripes
            .iter()
            .chain([&self.shared])
            .map(|s| s.0.load(Relaxed))
            .sum()
    }

    pub(crate) fn reset(&self) {
        for s in self.stripes.iter().chain([&self.shared]) {
            s.0.store(0, Relaxed);
        }
    }
}

/// Bumps this thread's own stripe (one [`Striped::mine`] gave it).
#[inline(always)]
pub(crate) fn bump_mine(stripe: &AtomicU64) {
    // Only this thread writes this stripe, so a plain store cannot lose counts
    // and costs no atomic read-modify-write on the hit path.
    stripe.store(stripe.load(Relaxed) + 1, Relaxed);
}

/// What a cached function's cache has done so far.
///
/// Read with the `<fn>_stats()` companion that `#[memo]` and `#[singleton]`
/// generate, or for every function at once with [`memo::stats`](crate::memo::stats).
/// Counters are summed over all threads and read without a lock. `entries`
/// of a cache with a ttl leaves out expired values: finding them walks the
/// expiry queue under the store's read lock (about 1 ms at a million
/// entries), which a miss waits for in the meantime; hits do not.
///
/// ```
/// use memo_runtime::memo;
///
/// #[memo]
/// fn double(x: u64) -> u64 {
///     x * 2
/// }
///
/// double(1);
/// double(1);
/// let s = double_stats();
/// assert_eq!((s.hits, s.misses, s.entries), (1, 1, 1));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls not answered from memory: they ran the body (including ones
    /// whose `Err` was not cached) or, with `persist = "disk"`, read the
    /// value from disk (counted again in `disk_hits`).
    pub misses: u64,
    /// Keys held right now: values not yet expired, and computations under
    /// way. An expired value no call has taken out yet is not counted (it is
    /// no longer served); a computation is (it is not a value yet, so
    /// `max_entries` does not count it, and `entries` may exceed
    /// `max_entries` by the computations under way).
    pub entries: usize,
    /// Values dropped to respect `max_entries` or because their `ttl` passed.
    pub evictions: u64,
    /// Of the `misses`, those answered from the disk cache without running
    /// the body (`persist = "disk"` only).
    pub disk_hits: u64,
}

impl Stats {
    pub(crate) fn add(self, other: Stats) -> Stats {
        Stats {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
            entries: self.entries + other.entries,
            evictions: self.evictions + other.evictions,
            disk_hits: self.disk_hits + other.disk_hits,
        }
    }
}
