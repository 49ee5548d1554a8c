//! What a store holds per key.
//!
//! A value lives inline in the map slot, so a key computed once costs no
//! allocation of its own. The first time a thread hits it through the shared
//! path, it is moved into a `Shared` entry that per-thread fronts can hold, so
//! that later hits need no lock. A computation under way is `Pending`; a
//! `Flight` to park on is made only when a second caller comes to wait.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A computed value with its expiry and LRU tick.
pub(crate) struct Ready<V> {
    pub(crate) value: V,
    /// When it expires ([`now`] units), or 0 for never.
    pub(crate) expires: u64,
    /// Last use, for LRU (only bounded caches maintain it).
    pub(crate) tick: AtomicU64,
}

impl<V> Ready<V> {
    pub(crate) fn new(value: V, ttl: Option<Duration>, tick: u64) -> Self {
        Ready {
            value,
            expires: ttl.map_or(0, |t| now().saturating_add(t.as_nanos() as u64)),
            tick: AtomicU64::new(tick),
        }
    }

    /// Not expired (a value without ttl never is).
    #[inline(always)]
    pub(crate) fn is_fresh(&self) -> bool {
        self.expires == 0 || now() < self.expires
    }
}

pub(crate) enum State<V> {
    /// Being computed by thread `owner`.
    Pending {
        owner: u64,
        flight: Option<std::sync::Arc<Flight<V>>>,
    },
    /// Computed, held in the map only.
    Inline(Ready<V>),
    /// Computed, and held by some thread's front too.
    Shared(std::sync::Arc<Ready<V>>),
}

pub(crate) struct Slot<V> {
    /// The whole key digest (the map holds it folded to 64 bits).
    pub(crate) key: u128,
    /// Tells this slot from a later one under the same key, for the LRU and
    /// expiry queues' lazy deletion and for a computation to find its slot.
    pub(crate) id: u64,
    pub(crate) state: State<V>,
}

impl<V> Slot<V> {
    #[inline(always)]
    pub(crate) fn ready(&self) -> Option<&Ready<V>> {
        match &self.state {
            State::Inline(r) => Some(r),
            State::Shared(r) => Some(r),
            State::Pending { .. } => None,
        }
    }
}

/// Where callers wait for a computation under way: they park on its address
/// until it lands, then take its value.
pub(crate) struct Flight<V> {
    done: AtomicBool,
    waiters: AtomicU32,
    /// The value, for the waiters (even if a clear dropped the slot meanwhile).
    pub(crate) value: OnceLock<V>,
}

impl<V> Flight<V> {
    pub(crate) fn new() -> Self {
        Flight {
            done: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
            value: OnceLock::new(),
        }
    }

    fn park_key(&self) -> usize {
        self as *const Self as usize
    }

    /// Blocks until the flight lands. The caller must keep it alive (an
    /// `Arc`) and hold no lock.
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

    /// Ends the flight (its value, if any, already set) and wakes the
    /// waiters. Call without holding a lock.
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

/// Monotonic nanoseconds since the first call, never 0.
#[inline]
pub(crate) fn now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}
