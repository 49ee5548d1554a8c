//! One key's entry: its value once computed, and the single-flight state of
//! the computation that produces it.

use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

pub(crate) struct Ready<V> {
    pub(crate) value: V,
    pub(crate) expires: Option<Instant>,
}

pub(crate) struct Slot<V> {
    /// Distinguishes this slot from a later one under the same key, for the
    /// LRU and expiry queues' lazy deletion.
    pub(crate) id: u64,
    /// Set once, then read without locks.
    pub(crate) ready: OnceLock<Ready<V>>,
    /// Set when the slot leaves the map; per-thread fronts then drop it.
    pub(crate) removed: AtomicBool,
    /// Last use, for LRU (only bounded caches maintain it).
    pub(crate) tick: AtomicU64,
    /// The thread computing the value (a `thread::id`), or 0 when none is.
    owner: Mutex<u64>,
    done: Condvar,
}

pub(crate) enum Waited<'a, V> {
    Ready(&'a Ready<V>),
    /// The computation ended without a value (an `Err`, a panic, or a clear):
    /// the caller should try again, becoming the computing thread itself.
    Abandoned,
}

impl<V> Slot<V> {
    pub(crate) fn new_owned(id: u64, tick: u64, owner: u64) -> Self {
        Slot {
            id,
            ready: OnceLock::new(),
            removed: AtomicBool::new(false),
            tick: AtomicU64::new(tick),
            owner: Mutex::new(owner),
            done: Condvar::new(),
        }
    }

    #[inline]
    pub(crate) fn fresh(&self, now: impl Fn() -> Instant) -> Option<&Ready<V>> {
        let r = self.ready.get()?;
        match r.expires {
            Some(t) if now() >= t => None,
            _ => Some(r),
        }
    }

    pub(crate) fn is_removed(&self) -> bool {
        self.removed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_removed(&self) {
        self.removed.store(true, Ordering::Release);
    }

    /// Blocks until the computing thread publishes a value or gives up.
    /// `me` is the caller's thread id: waiting on yourself is reported, not
    /// deadlocked on.
    pub(crate) fn wait(&self, me: u64, reentered: impl FnOnce()) -> Waited<'_, V> {
        let mut owner = self.owner.lock();
        loop {
            if let Some(r) = self.ready.get() {
                return Waited::Ready(r);
            }
            if *owner == 0 {
                return Waited::Abandoned;
            }
            if *owner == me {
                drop(owner);
                reentered();
                unreachable!("reporting re-entry panics");
            }
            self.done.wait(&mut owner);
        }
    }

    /// Publishes the value (if any) and wakes every waiter.
    pub(crate) fn finish(&self, value: Option<Ready<V>>) {
        if let Some(v) = value {
            // Only the owner sets it, once.
            let _ = self.ready.set(v);
        }
        *self.owner.lock() = 0;
        self.done.notify_all();
    }
}
