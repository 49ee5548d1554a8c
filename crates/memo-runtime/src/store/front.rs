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
//!
//! A way changes hands only when that pays: filling one costs two reference
//! count updates and, the first time a key is shared, an allocation. A thread
//! cycling through more keys than it has ways would otherwise refill a way on
//! every call and gain nothing. So a key takes a way that is free or stale at
//! once, but one held by another key only after that key has gone unused
//! while `PASSES` other keys asked for the way; a hit resets the count. A hot
//! key keeps its way; the keys of a wide scan are served by the shared path
//! (one read section, no allocation, no reference count).

use super::entry::Ready;
use crate::key::CallKey;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const WAYS: usize = 64;

/// How many calls for other keys a way's key outlasts without a hit.
const PASSES: u8 = 64;

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
    /// Calls for other keys since this way's key was last hit.
    passes: Cell<u8>,
    /// This thread's stripe of the store's hit counter, if it has its own.
    hits: Option<&'static AtomicU64>,
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

impl Drop for Front {
    fn drop(&mut self) {
        // Before the ways (and the values they hold) go: a value's `Drop`
        // that makes a cached call must find no front.
        HERE.with(|h| h.set(std::ptr::null()));
    }
}

thread_local! {
    static FRONT: Front = const {
        Front { seen: Cell::new(0), ways: RefCell::new([const { None }; WAYS]) }
    };
    /// `FRONT`'s address while it lives, null before its first use and once
    /// its destructor ran. A hit reads this instead of `FRONT`, whose every
    /// access checks whether its destructor is registered yet.
    static HERE: Cell<*const Front> = const { Cell::new(std::ptr::null()) };
    /// Whether this thread's last front miss would let its key take the way
    /// (decided where the way was already at hand; read by [`admits`]).
    static ADMIT: Cell<bool> = const { Cell::new(true) };
}

#[inline(always)]
fn way(store: usize, key: CallKey) -> usize {
    // The top bits of the product carry both the key and the store.
    ((key.mix() ^ (store as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> 58) as usize % WAYS
}

/// Runs `hit` on this thread's entry for `(store, key)`, if it has a current
/// one; with what it returns comes the thread's stripe of the store's hit
/// counter, if the way keeps one.
///
/// `store` must be the address of the one `Store<V>` that inserts under it.
#[inline(always)]
pub(crate) fn lookup<V: 'static, R>(
    store: usize,
    key: CallKey,
    hit: impl FnOnce(&Ready<V>) -> Option<R>,
) -> Option<(R, Option<&'static AtomicU64>)> {
    let mut f = HERE.with(Cell::get);
    if f.is_null() {
        f = first_use()?;
    }
    // SAFETY: `HERE` is this thread's `FRONT` until its destructor starts,
    // and that can't happen while this call is on the thread's stack.
    let f = unsafe { &*f };
    let clears = CLEARS.load(Relaxed);
    if clears != f.seen.get() {
        sweep(f, clears);
    }
    let ways = f.ways.try_borrow().ok()?;
    let at = &ways[way(store, key)];
    let Some(w) = at
        .as_ref()
        .filter(|w| w.store == store && w.key == key && w.is_current())
    else {
        passed(at);
        return None;
    };
    // Unconditionally: the line is this thread's alone, and a branch costs
    // more than the store.
    w.passes.set(0);
    // SAFETY: `w.entry` points into `w._keep`, alive while `ways` is
    // borrowed, and ways under `store` are only ever filled by the
    // `Store<V>` at that address, with a `Ready<V>`.
    let out = hit(unsafe { &*w.entry.cast::<Ready<V>>() })?;
    Some((out, w.hits))
}

/// `FRONT`, made and registered for destruction, unless it is gone (the
/// thread is exiting).
#[cold]
#[inline(never)]
fn first_use() -> Option<*const Front> {
    // Only the address comes out of `try_with`: with the whole look-up in
    // its closure, `try_with` became one large function shared by every
    // cached fn of a value type, which the compiler stopped inlining once a
    // program had three of them (a hit went from 6 to 8 ns).
    let f = FRONT.try_with(|f| f as *const Front).ok()?;
    HERE.with(|h| h.set(f));
    Some(f)
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

/// A front miss: whether the key may take the way (free, stale, or held by
/// a key that has now gone `PASSES` calls without a hit), counting the pass.
/// Inline: out of line, its call cost a miss and a shared hit about 10
/// instructions more than its body, and the front hit does not run it.
#[inline(always)]
fn passed(at: &Option<Way>) {
    let admit = match at {
        Some(w) if w.is_current() => {
            let passes = w.passes.get().saturating_add(1);
            w.passes.set(passes);
            passes >= PASSES
        }
        _ => true,
    };
    let _ = ADMIT.try_with(|a| a.set(admit));
}

/// Stops this thread's ways from bumping its own stripes: its index, and so
/// its stripes, are about to go to another thread. (Called while the thread
/// exits; a cached call made after that, from some other thread-local's
/// destructor, may still hit its front.)
pub(crate) fn forget_stripes() {
    // Through `HERE`, not `FRONT`: a thread that never used its front must
    // not make one while it exits.
    // SAFETY: as in `lookup`.
    let Some(f) = (unsafe { HERE.with(Cell::get).as_ref() }) else {
        return;
    };
    if let Ok(mut ways) = f.ways.try_borrow_mut() {
        for w in ways.iter_mut().flatten() {
            w.hits = None;
        }
    }
}

/// Whether the key of this thread's last front miss, just hit through the
/// shared path, should take its way in the front (see the module notes).
#[inline]
pub(crate) fn admits() -> bool {
    ADMIT.try_with(Cell::get).unwrap_or(false)
}

/// Remembers `entry` for this thread's next hit on `(store, key)`, and
/// `hits`, this thread's own stripe of the store's hit counter. Call with the
/// store's map lock held, `version` read under it.
pub(crate) fn insert<V: Send + Sync + 'static>(
    store: usize,
    removals: &'static AtomicU64,
    version: u64,
    key: CallKey,
    entry: &Arc<Ready<V>>,
    hits: Option<&'static AtomicU64>,
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
                passes: Cell::new(0),
                hits,
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> CallKey {
        CallKey::from(n)
    }

    /// A key other than `of` that lands in the same way of `store`.
    fn rival(store: usize, of: CallKey) -> CallKey {
        (1..)
            .map(|n: u128| key(n << 32))
            .find(|k| *k != of && way(store, *k) == way(store, of))
            .expect("some key shares the way")
    }

    fn hit(store: usize, k: CallKey) -> Option<u32> {
        lookup(store, k, |r: &Ready<u32>| Some(r.value)).map(|(v, _)| v)
    }

    #[test]
    fn a_held_way_changes_hands_only_after_passes_without_a_hit() {
        let removals: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let store = removals as *const AtomicU64 as usize;
        let (a, entry) = (key(7), Arc::new(Ready::new(70u32, None, 0)));

        assert_eq!(hit(store, a), None);
        assert!(admits(), "a free way is taken at once");
        insert(store, removals, 0, a, &entry, None);
        assert_eq!(hit(store, a), Some(70));

        let b = rival(store, a);
        for _ in 1..PASSES {
            assert_eq!(hit(store, b), None);
            assert!(!admits(), "a way in use is not given up at once");
        }
        assert_eq!(hit(store, a), Some(70), "a hit resets the count");
        for _ in 1..PASSES {
            assert_eq!(hit(store, b), None);
            assert!(!admits());
        }
        assert_eq!(hit(store, b), None);
        assert!(admits(), "a key unused for PASSES calls gives way");

        removals.store(1, Relaxed); // a removal makes the way stale
        assert_eq!(hit(store, a), None);
        assert_eq!(hit(store, b), None);
        assert!(admits(), "a stale way is taken at once");
    }
}
