//! A per-thread index of recent hits, so that a hit touches no shared memory
//! that another thread writes: no lock, no reference count, no contended
//! cache line. Two threads hammering one key then run at full speed each.
//!
//! A way is valid while its store's removal count is what it was when the way
//! was filled: any removal in that store (forget, eviction, expiry, clear)
//! sends the next hit through the shared path, which refills the way. A way
//! holds its entry alive; `clear` and `forget` also move a global counter, on
//! which every thread, at its next cached call, drops the ways of entries that
//! are gone, so that explicitly cleared values are freed promptly. (Evictions
//! don't: a busy bounded cache must not make every other cache's hits sweep.
//! An evicted value lingers in at most the 64 ways of a thread's front.)

use super::entry::Ready;
use crate::key::CallKey;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const WAYS: usize = 64;

static CLEARS: AtomicU64 = AtomicU64::new(0);

/// `clear` or `forget` dropped entries somewhere: fronts should sweep.
pub(crate) fn note_clear() {
    CLEARS.fetch_add(1, Relaxed);
}

struct Way {
    store: usize,
    key: CallKey,
    /// The store's removal count when this way was filled.
    version: u64,
    removals: &'static AtomicU64,
    // Points into `_keep`; typed by `store` (each store holds one value type).
    entry: *const (),
    _keep: Arc<dyn Send + Sync>,
}

impl Way {
    #[inline(always)]
    fn is_current(&self) -> bool {
        self.removals.load(Relaxed) == self.version
    }
}

struct Front {
    seen: Cell<u64>,
    ways: RefCell<[Option<Way>; WAYS]>,
}

thread_local! {
    static FRONT: Front = const {
        Front { seen: Cell::new(0), ways: RefCell::new([const { None }; WAYS]) }
    };
}

#[inline(always)]
fn way(store: usize, key: CallKey) -> usize {
    // The top bits of the product carry both the key and the store.
    ((key.mix() ^ (store as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 58) as usize % WAYS
}

/// Runs `hit` on this thread's entry for `(store, key)`, if it has a current
/// one.
///
/// `store` must be the address of the one `Store<V>` that inserts under it.
#[inline(always)]
pub(crate) fn lookup<V: 'static, R>(
    store: usize,
    key: CallKey,
    hit: impl FnOnce(&Ready<V>) -> Option<R>,
) -> Option<R> {
    FRONT
        .try_with(|f| {
            let clears = CLEARS.load(Relaxed);
            if clears != f.seen.get() {
                sweep(f, clears);
            }
            let ways = f.ways.try_borrow().ok()?;
            let w = ways[way(store, key)].as_ref()?;
            if w.store != store || w.key != key || !w.is_current() {
                return None;
            }
            // SAFETY: `w.entry` points into `w._keep`, alive while `ways` is
            // borrowed, and ways under `store` are only ever filled by the
            // `Store<V>` at that address, with a `Ready<V>`.
            hit(unsafe { &*w.entry.cast::<Ready<V>>() })
        })
        .ok()
        .flatten()
}

#[cold]
fn sweep(f: &Front, clears: u64) {
    if let Ok(mut ways) = f.ways.try_borrow_mut() {
        for w in ways.iter_mut() {
            if w.as_ref().is_some_and(|w| !w.is_current()) {
                *w = None;
            }
        }
        f.seen.set(clears);
    }
}

/// Remembers `entry` for this thread's next hit on `(store, key)`. Call with
/// the store's map lock held, `version` read under it.
pub(crate) fn insert<V: Send + Sync + 'static>(
    store: usize,
    removals: &'static AtomicU64,
    version: u64,
    key: CallKey,
    entry: &Arc<Ready<V>>,
) {
    let _ = FRONT.try_with(|f| {
        if let Ok(mut ways) = f.ways.try_borrow_mut() {
            ways[way(store, key)] = Some(Way {
                store,
                key,
                version,
                removals,
                entry: Arc::as_ptr(entry).cast(),
                _keep: Arc::clone(entry) as Arc<dyn Send + Sync>,
            });
        }
    });
}
