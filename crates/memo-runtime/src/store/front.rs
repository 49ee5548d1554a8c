//! A per-thread index of recent hits, so that a hit touches no shared memory
//! that another thread writes: no lock, no reference count, no contended
//! cache line. Two threads hammering one key then run at full speed each.
//!
//! An entry holds its slot alive. When any slot leaves any cache (clear,
//! forget, eviction, expiry), a global counter moves; each thread notices on
//! its next cached call and drops the entries whose slots are gone, so a
//! cleared value is freed as soon as every thread has made one more call (or
//! exited).

use super::entry::Entry;
use crate::key::CallKey;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const WAYS: usize = 64;

static REMOVALS: AtomicU64 = AtomicU64::new(0);

/// Some slot somewhere was removed: fronts should sweep.
pub(crate) fn note_removal() {
    REMOVALS.fetch_add(1, Relaxed);
}

trait Held: Send + Sync {
    fn is_removed(&self) -> bool;
}

impl<V: Send + Sync> Held for Entry<V> {
    fn is_removed(&self) -> bool {
        Entry::is_removed(self)
    }
}

struct Way {
    store: usize,
    key: CallKey,
    // Points into `_keep`; typed by `store` (each store holds one value type).
    slot: *const (),
    _keep: Arc<dyn Held>,
}

struct Front {
    seen: Cell<u64>,
    entries: RefCell<[Option<Way>; WAYS]>,
}

thread_local! {
    static FRONT: Front = const {
        Front { seen: Cell::new(0), entries: RefCell::new([const { None }; WAYS]) }
    };
}

#[inline]
fn way(store: usize, key: CallKey) -> usize {
    ((key.mix() ^ (store as u64 >> 6)) >> 58) as usize % WAYS
}

/// Runs `hit` on this thread's cached slot for `(store, key)`, if it has one.
///
/// `store` must be the address of the one `Store<V>` that inserts under it.
#[inline]
pub(crate) fn lookup<V: 'static, R>(
    store: usize,
    key: CallKey,
    hit: impl FnOnce(&Entry<V>) -> Option<R>,
) -> Option<R> {
    FRONT
        .try_with(|f| {
            let removals = REMOVALS.load(Relaxed);
            if removals != f.seen.get() {
                sweep(f, removals);
            }
            let entries = f.entries.try_borrow().ok()?;
            let e = entries[way(store, key)].as_ref()?;
            if e.store != store || e.key != key {
                return None;
            }
            // SAFETY: `e.slot` points into `e._keep`, alive while `entries` is
            // borrowed, and entries under `store` are only ever inserted by
            // `Store<V>` at that address with an `Entry<V>`.
            let slot = unsafe { &*e.slot.cast::<Entry<V>>() };
            if slot.is_removed() {
                return None;
            }
            hit(slot)
        })
        .ok()
        .flatten()
}

#[cold]
fn sweep(f: &Front, removals: u64) {
    if let Ok(mut entries) = f.entries.try_borrow_mut() {
        for e in entries.iter_mut() {
            if e.as_ref().is_some_and(|e| e._keep.is_removed()) {
                *e = None;
            }
        }
        f.seen.set(removals);
    }
}

/// Remembers `slot` for this thread's next hit on `(store, key)`.
pub(crate) fn insert<V: Send + Sync + 'static>(store: usize, key: CallKey, slot: &Arc<Entry<V>>) {
    let _ = FRONT.try_with(|f| {
        if let Ok(mut entries) = f.entries.try_borrow_mut() {
            entries[way(store, key)] = Some(Way {
                store,
                key,
                slot: Arc::as_ptr(slot).cast(),
                _keep: Arc::clone(slot) as Arc<dyn Held>,
            });
        }
    });
}
