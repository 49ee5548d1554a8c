//! A per-thread index of recent hits, so that a hit touches no shared memory
//! that another thread writes: no lock, no reference count, no contended
//! cache line. Two threads hammering one key then run at full speed each.
//!
//! A way is valid while its store's removal count is what it was when the way
//! was filled: any removal in that store (forget, eviction, expiry, clear)
//! sends the next hit through the shared path, which refills the way. A way
//! holds its entry alive; `clear` and `forget` also move a global counter, on
//! which every thread, at its next cached call, drops the ways of entries that
//! are gone. So a cleared value lives on in a thread's front until that
//! thread's next cached call (of any function) or its exit: a thread that
//! sits idle keeps it. (Evictions don't move the counter: a busy bounded
//! cache must not make every other cache's hits sweep. An evicted value
//! lingers in at most the 64 ways of a thread's front, until its way is
//! swept or refilled.)
//!
//! A way changes hands only when that pays: filling one costs two reference
//! count updates and, the first time a key is shared, an allocation. A thread
//! cycling through more keys than it has ways would otherwise refill a way on
//! every call and gain nothing. So a key takes a way that is free or stale at
//! once, but one held by another key only after that key has gone unused
//! while `PASSES` other keys asked for the way; a hit resets the count. A hot
//! key keeps its way; the keys of a wide scan are served by the shared path
//! (one read section, no allocation, no reference count).
//!
//! A hit clones its value straight out of the way, and a value's `Clone` may
//! be the user's code, which may make cached calls of its own: calls that
//! fill, sweep or hit ways of this same front. So while a hit clones, its way
//! is marked [`BUSY`], and nothing replaces or drops a busy way. The rules
//! that make this sound (each way is an `UnsafeCell`): a reference into a
//! way lives across the user's code only while that way is busy; a way is
//! written only when it is not busy, with no reference into it alive, and
//! what the write takes out is dropped after it (its `Drop` may be the
//! user's code too). A value whose clone runs none of the user's code (an
//! `Arc`: a singleton's instance) skips the mark, which spares its hit a
//! store (see [`look`]).

use super::entry::Ready;
use crate::key::CallKey;
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

const WAYS: usize = 64;

/// How many calls for other keys a way's key outlasts without a hit.
const PASSES: u8 = 64;

/// A way's `state` while a hit clones out of it (above any pass count).
const BUSY: u8 = 0x80;

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
    /// Calls for other keys since this way's key was last hit (up to
    /// `PASSES`), or `BUSY`.
    state: Cell<u8>,
    /// This thread's stripe of the store's hit counter, if it has its own.
    hits: Cell<Option<&'static AtomicU64>>,
}

impl Way {
    #[inline(always)]
    fn is_current(&self) -> bool {
        self.removals.load(Relaxed) == self.version
    }

    fn is_busy(&self) -> bool {
        self.state.get() == BUSY
    }
}

struct Front {
    seen: Cell<u64>,
    ways: [UnsafeCell<Option<Way>>; WAYS],
}

impl Front {
    /// The way at `i`. SAFETY: the caller keeps the module's rules: the
    /// reference is not held across the user's code unless the way is busy,
    /// nor across a write to the way.
    #[inline(always)]
    unsafe fn at(&self, i: usize) -> &Option<Way> {
        &*self.ways[i].get()
    }

    /// Puts `new` in way `i` unless that way is busy, and drops what was
    /// there after the write.
    fn replace(&self, i: usize, new: Option<Way>) {
        // SAFETY: the reference ends before the write; only a way that is
        // not busy is written, so no hit holds a reference into it.
        if unsafe { self.at(i) }.as_ref().is_some_and(Way::is_busy) {
            return;
        }
        drop(unsafe { std::ptr::replace(self.ways[i].get(), new) });
    }
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
        Front { seen: Cell::new(0), ways: [const { UnsafeCell::new(None) }; WAYS] }
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

/// What a look in the front found.
pub(crate) enum Look<R> {
    /// This thread's entry, served.
    Hit(R),
    /// Nothing this thread can serve on its own.
    Miss,
    /// Not known without a call (the front is not made yet or must be swept
    /// first, or the entry's ttl needs the clock): look again with `CALLS`.
    Later,
}

impl<R> Look<R> {
    /// The hit, if this look found one.
    #[inline(always)]
    pub(crate) fn hit(self) -> Option<R> {
        match self {
            Look::Hit(v) => Some(v),
            Look::Miss | Look::Later => None,
        }
    }
}

/// Runs `hit` on this thread's entry for `(store, key)`, if it has a current
/// and fresh one, with the thread's stripe of the store's hit counter if the
/// way keeps one.
///
/// Without `CALLS` the look makes no call (so that a caller's hit path needs
/// no stack frame) and answers [`Look::Later`] where it would need one.
/// With `MARK`, the way is marked busy while `hit` runs, which may then run
/// the user's code (a value's `Clone`).
///
/// SAFETY: without `MARK`, `hit` runs none of the user's code (it may clone
/// an `Arc` and count). `store` is the address of the one `Store<V>` that
/// inserts under it.
#[inline(always)]
pub(crate) unsafe fn look<V: 'static, R, const MARK: bool, const CALLS: bool>(
    store: usize,
    key: CallKey,
    hit: impl FnOnce(&Ready<V>, Option<&'static AtomicU64>) -> R,
) -> Look<R> {
    let mut f = HERE.with(Cell::get);
    if f.is_null() {
        if !CALLS {
            return Look::Later;
        }
        match first_use() {
            Some(made) => f = made,
            None => return Look::Miss,
        }
    }
    // SAFETY: `HERE` is this thread's `FRONT` until its destructor starts,
    // and that can't happen while this call is on the thread's stack.
    let f = unsafe { &*f };
    let clears = CLEARS.load(Relaxed);
    if clears != f.seen.get() {
        if !CALLS {
            return Look::Later;
        }
        sweep(f, clears);
    }
    // SAFETY: held across `hit` (the user's code) only once the way is busy.
    let at = unsafe { f.at(way(store, key)) };
    let Some(w) = at
        .as_ref()
        .filter(|w| w.store == store && w.key == key && w.is_current())
    else {
        passed(at);
        return Look::Miss;
    };
    // SAFETY: `w.entry` points into `w._keep`, which lives while the way is
    // not replaced; ways under `store` are only ever filled by the
    // `Store<V>` at that address, with a `Ready<V>`.
    let entry = unsafe { &*w.entry.cast::<Ready<V>>() };
    if entry.expires != 0 {
        if !CALLS {
            return Look::Later;
        }
        if !entry.is_fresh() {
            return Look::Miss;
        }
    }
    if !MARK {
        // Unconditionally: the line is this thread's alone, and a branch
        // costs more than the store.
        w.state.set(0);
        return Look::Hit(hit(entry, w.hits.get()));
    }
    // A hit inside this one's clone, on this same way, leaves it busy.
    let unmark = Unmark(&w.state, w.state.replace(BUSY) & BUSY);
    let out = hit(entry, w.hits.get());
    drop(unmark);
    Look::Hit(out)
}

/// Ends a hit's mark on its way (also when the clone panics), resetting the
/// pass count: the key was just hit.
struct Unmark<'a>(&'a Cell<u8>, u8);

impl Drop for Unmark<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.set(self.1);
    }
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
    let mut all = true;
    for i in 0..WAYS {
        // SAFETY: the reference ends before `replace` writes.
        match unsafe { f.at(i) } {
            Some(w) if w.is_busy() => all = all && w.is_current(),
            Some(w) if !w.is_current() => f.replace(i, None),
            _ => {}
        }
    }
    // A stale way that a hit is cloning from waits for the next call.
    if all {
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
            let passes = w.state.get();
            if passes < PASSES {
                w.state.set(passes + 1);
            }
            // A busy way is not given up (and stays busy).
            (PASSES - 1..BUSY).contains(&passes)
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
    // SAFETY: as in `look`.
    let Some(f) = (unsafe { HERE.with(Cell::get).as_ref() }) else {
        return;
    };
    for i in 0..WAYS {
        // SAFETY: no write, and the reference ends with the iteration.
        if let Some(w) = unsafe { f.at(i) } {
            w.hits.set(None);
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
        let way = Way {
            store,
            key,
            version,
            removals,
            entry: Arc::as_ptr(entry).cast(),
            _keep: Arc::clone(entry) as Arc<dyn Send + Sync>,
            state: Cell::new(0),
            hits: Cell::new(hits),
        };
        f.replace(self::way(store, key), Some(way));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        // SAFETY: marked; `store` is only ever filled with `Ready<u32>`.
        unsafe { look::<_, _, true, true>(store, k, |r: &Ready<u32>, _| r.value) }.hit()
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

    /// A hit's clone may be the user's code, making calls that reach this
    /// same front: none of them may replace or drop the way it clones from.
    #[test]
    fn a_clone_that_calls_back_into_the_front_keeps_its_way() {
        let removals: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let store = removals as *const AtomicU64 as usize;
        let (a, entry) = (key(11), Arc::new(Ready::new(70u32, None, 0)));
        let b = rival(store, a);
        let other = Arc::new(Ready::new(80u32, None, 0));
        assert_eq!(hit(store, a), None);
        insert(store, removals, 0, a, &entry, None);
        assert_eq!(Arc::strong_count(&entry), 2, "the way holds the entry");

        // SAFETY: marked; `store` is only ever filled with `Ready<u32>`.
        let got = unsafe {
            look::<_, _, true, true>(store, a, |r: &Ready<u32>, _| {
                assert_eq!(hit(store, a), Some(70), "a nested hit of the key is served");
                for _ in 0..PASSES {
                    assert_eq!(hit(store, b), None);
                    assert!(!admits(), "a busy way is not given up");
                }
                insert(store, removals, 0, b, &other, None);
                removals.store(1, Relaxed);
                note_clear();
                assert_eq!(hit(store, b), None, "this look sweeps");
                assert_eq!(Arc::strong_count(&entry), 2, "the busy way was kept");
                r.value
            })
        };
        assert!(matches!(got, Look::Hit(70)));
        assert_eq!(Arc::strong_count(&other), 1, "the rival never took the way");

        // Now the stale way goes at the next look's sweep.
        assert_eq!(hit(store, a), None);
        assert_eq!(Arc::strong_count(&entry), 1);
        insert(store, removals, 1, b, &other, None);
        assert_eq!(hit(store, b), Some(80));
    }

    #[test]
    fn a_look_that_may_make_no_call_answers_later_where_it_would() {
        let removals: &'static AtomicU64 = Box::leak(Box::new(AtomicU64::new(0)));
        let store = removals as *const AtomicU64 as usize;
        // SAFETY: marked; `store` is only ever filled with `Ready<u32>`.
        let fast = |k| unsafe { look::<_, _, true, false>(store, k, |r: &Ready<u32>, _| r.value) };
        let (a, dated) = (
            key(21),
            Arc::new(Ready::new(5u32, Some(Duration::from_secs(60)), 0)),
        );
        assert_eq!(hit(store, a), None);
        insert(store, removals, 0, a, &dated, None);
        assert!(matches!(fast(a), Look::Later), "a ttl needs the clock");
        assert_eq!(hit(store, a), Some(5), "which the full look reads");
        note_clear();
        assert!(
            matches!(fast(key(22)), Look::Later),
            "a clear needs a sweep first"
        );
        assert_eq!(hit(store, key(22)), None);
        assert!(matches!(fast(key(22)), Look::Miss), "swept");
    }
}
