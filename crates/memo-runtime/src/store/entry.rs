//! What a store holds per key: a computed value (`Entry`), or the
//! computation that will produce it (`Flight`).

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A computed value, shared by the map and by per-thread fronts.
pub(crate) struct Entry<V> {
    pub(crate) value: V,
    /// Distinguishes this entry from a later one under the same key, for the
    /// LRU and expiry queues' lazy deletion.
    pub(crate) id: u64,
    /// When it expires ([`now`] units), or 0 for never.
    pub(crate) expires: u64,
    /// Last use, for LRU (only bounded caches maintain it).
    pub(crate) tick: AtomicU64,
    /// Set when the entry leaves the map; per-thread fronts then drop it.
    removed: AtomicBool,
}

impl<V> Entry<V> {
    pub(crate) fn new(value: V, id: u64, ttl: Option<Duration>) -> Self {
        Entry {
            value,
            id,
            expires: ttl.map_or(0, |t| now().saturating_add(t.as_nanos() as u64)),
            tick: AtomicU64::new(id),
            removed: AtomicBool::new(false),
        }
    }

    /// Not expired (an entry without ttl never is).
    #[inline(always)]
    pub(crate) fn is_fresh(&self) -> bool {
        self.expires == 0 || now() < self.expires
    }

    #[inline(always)]
    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }
}

/// Monotonic nanoseconds since the first call, never 0.
#[inline]
pub(crate) fn now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}

/// Where callers wait for a computation under way: they park on its address
/// until it lands.
pub(crate) struct Flight {
    done: AtomicBool,
    waiters: AtomicU32,
}

impl Flight {
    pub(crate) fn new() -> Self {
        Flight {
            done: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
        }
    }

    fn park_key(&self) -> usize {
        self as *const Flight as usize
    }

    /// Blocks until the flight ends (with or without a value). The caller
    /// must hold the flight alive (an `Arc`) and no lock.
    pub(crate) fn wait(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the key is this flight's address, which the caller keeps
        // alive; `validate` only reads an atomic and cannot panic.
        unsafe {
            parking_lot_core::park(
                self.park_key(),
                || !self.done.load(Ordering::SeqCst),
                || {},
                |_, _| {},
                parking_lot_core::DEFAULT_PARK_TOKEN,
                None,
            );
        }
    }

    /// Ends the flight and wakes its waiters. Call without holding a lock.
    pub(crate) fn land(&self) {
        self.done.store(true, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // SAFETY: as in `wait`.
            unsafe {
                parking_lot_core::unpark_all(
                    self.park_key(),
                    parking_lot_core::DEFAULT_UNPARK_TOKEN,
                );
            }
        }
    }
}
