//! One key's entry: created when its computation starts (so that concurrent
//! callers find something to wait on), filled once with the value, read
//! without locks from then on.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub(crate) struct Ready<V> {
    pub(crate) value: V,
    /// When it expires ([`now`] units), or 0 for never.
    pub(crate) expires: u64,
}

impl<V> Ready<V> {
    /// Not expired (a value without ttl never is).
    #[inline(always)]
    pub(crate) fn is_fresh(&self) -> bool {
        self.expires == 0 || now() < self.expires
    }
}

pub(crate) struct Entry<V> {
    /// Set once, by the computing thread, then read without locks.
    pub(crate) ready: OnceLock<Ready<V>>,
    /// The whole key digest (the map holds it folded).
    pub(crate) key: u128,
    /// Distinguishes this entry from a later one under the same key, for the
    /// LRU and expiry queues' lazy deletion.
    pub(crate) id: u64,
    /// Last use, for LRU (only bounded caches maintain it).
    pub(crate) tick: AtomicU64,
    /// The thread computing it (a `thread::id`).
    pub(crate) owner: u64,
    /// The computation has ended, with or without a value.
    done: AtomicBool,
    waiters: AtomicU32,
}

impl<V> Entry<V> {
    pub(crate) fn pending(key: u128, id: u64, owner: u64) -> Self {
        Entry {
            ready: OnceLock::new(),
            key,
            id,
            tick: AtomicU64::new(id),
            owner,
            done: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
        }
    }

    /// The value, if computed and not expired.
    #[inline(always)]
    pub(crate) fn fresh(&self) -> Option<&V> {
        self.ready.get().filter(|r| r.is_fresh()).map(|r| &r.value)
    }

    fn park_key(&self) -> usize {
        self as *const Self as usize
    }

    /// Blocks until the computation ends. The caller must keep the entry
    /// alive (an `Arc`) and hold no lock.
    pub(crate) fn wait(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the key is this entry's address, which the caller keeps
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

    /// Ends the computation, with `value` or without, and wakes the waiters.
    pub(crate) fn land(&self, value: Option<(V, Option<Duration>)>) {
        if let Some((value, ttl)) = value {
            let expires = ttl.map_or(0, |t| now().saturating_add(t.as_nanos() as u64));
            let _ = self.ready.set(Ready { value, expires });
        }
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

/// Monotonic nanoseconds since the first call, never 0.
#[inline]
pub(crate) fn now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}
