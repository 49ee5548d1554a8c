//! One function's in-memory cache: a map from key digest to entry, with
//! single-flight computation, LRU bounds, ttl and counters.
//!
//! Locking rules, which are what make recursion and concurrency safe:
//! * the body never runs under a lock; the map lock is held only to look up,
//!   insert or remove;
//! * a hit on a key this thread has seen before takes no lock at all (see
//!   `front`); other hits take the map's read lock, never its write lock;
//! * waiting for another thread's computation parks on that key's entry only,
//!   so different keys never wait on each other.

mod async_path;
mod entry;
mod front;
mod lru;
mod slots;

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::stats::{Stats, Striped};
use entry::{now, Flight, Ready, Slot, State};
use lru::LruIndex;
use parking_lot::{RwLock, RwLockWriteGuard};
use slots::SlotMap;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// The map is keyed by the digest folded to 64 bits; each slot keeps the
/// whole 128-bit key, and a call whose key differs from the slot found under
/// its fold (a 2^-64 event) is computed without being cached rather than
/// served someone else's value.
type Map<V> = SlotMap<Slot<V>>;

#[inline(always)]
fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64)
}

struct Inner<V> {
    /// Computed values and computations under way.
    map: Map<V>,
    lru: LruIndex,
    /// `(expiry, map key, slot id)` in write order, for reaping entries
    /// nobody asks for again.
    expiry: VecDeque<(u64, u64, u64)>,
    /// Flights of computations whose slots a clear dropped, by slot id: their
    /// waiters still get the value when it comes.
    orphans: Vec<(u64, Arc<Flight<V>>)>,
}

/// The cache of one function (one instantiation, for a generic function).
pub struct Store<V> {
    info: &'static FnInfo,
    ttl: Option<Duration>,
    max_entries: Option<usize>,
    inner: RwLock<Inner<V>>,
    hits: Striped,
    // Written only under the write lock (plain load + store), read anywhere.
    misses: AtomicU64,
    evictions: AtomicU64,
    entries: AtomicUsize,
    /// Moves whenever an entry leaves the map: per-thread fronts filled
    /// before then are stale.
    removals: AtomicU64,
    /// LRU ticks (bumped by readers too).
    clock: AtomicU64,
    /// Slot ids (written under the write lock only).
    next_id: AtomicU64,
}

/// What a caller does next, once hits are counted.
enum Next<V> {
    Value(V),
    Wait(Arc<Flight<V>>),
    Compute(u64),
    /// Another key folds to the same map key: compute, cache nothing.
    Bypass,
}

enum Step<V> {
    Hit(V),
    /// A hit on a value held inline: give this thread's front a handle.
    HitInline(V, u64),
    Wait(Arc<Flight<V>>),
    Compute(u64),
    /// Another key folds to the same map key: compute, cache nothing.
    Bypass,
}

/// `+= n` for a counter only written under the write lock.
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

impl<V: Clone + Send + Sync + 'static> Store<V> {
    pub(crate) fn new(info: &'static FnInfo) -> Self {
        let opts = (info.options)();
        Store {
            info,
            ttl: opts.ttl,
            max_entries: opts.max_entries,
            inner: RwLock::new(Inner {
                map: Map::default(),
                lru: LruIndex::default(),
                expiry: VecDeque::new(),
                orphans: Vec::new(),
            }),
            hits: Striped::new(),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            entries: AtomicUsize::new(0),
            removals: AtomicU64::new(0),
            clock: AtomicU64::new(1),
            next_id: AtomicU64::new(1),
        }
    }

    #[inline(always)]
    fn addr(&'static self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    fn hit(&self, r: &Ready<V>) -> Option<V> {
        if !r.is_fresh() {
            return None;
        }
        if self.max_entries.is_some() {
            r.tick.store(self.clock.fetch_add(1, Relaxed), Relaxed);
        }
        Some(r.value.clone())
    }

    /// The value for `key` if this thread can have it at once, without a
    /// lock (see `front`). Every call looks here first; an async call does
    /// so before it makes any future, so a hit moves no future state around.
    #[inline(always)]
    pub fn hit_now(&'static self, key: CallKey) -> Option<V> {
        let v = front::lookup(self.addr(), key, |r: &Ready<V>| self.hit(r))?;
        self.hits.bump();
        Some(v)
    }

    /// The cached value for `key`, or the result of `compute`: `Ok` is cached
    /// and returned, `Err` is returned and not cached. Concurrent callers with
    /// the same key run `compute` once; the others wait for its value.
    #[inline(always)]
    pub fn get_or_try<X>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        self.get_or_try_expiring(key, || compute().map(|v| (v, None)))
    }

    /// [`get_or_try`](Self::get_or_try) for a `compute` that may shorten its
    /// value's life: `(value, Some(d))` expires after `d` if that is sooner
    /// than the store's ttl (a value read back from disk keeps only what was
    /// left of its ttl).
    #[inline(always)]
    pub fn get_or_try_expiring<X>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        match self.hit_now(key) {
            Some(v) => Ok(v),
            None => self.get_or_try_slow(key, compute),
        }
    }

    #[inline(never)]
    fn get_or_try_slow<X>(
        &'static self,
        call: CallKey,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        let me = crate::thread::id();
        let digest = call.digest();
        loop {
            match self.next(call, digest, me) {
                Next::Value(v) => return Ok(v),
                Next::Wait(flight) => {
                    flight.wait();
                    if let Some(v) = self.waited(&flight) {
                        return Ok(v);
                    }
                }
                Next::Compute(id) => return self.compute(fold(digest), id, compute),
                Next::Bypass => return compute().map(|(v, _)| v),
            }
        }
    }

    /// One look at `digest`'s entry: its value, a computation to wait for,
    /// or the go-ahead for `owner` to compute it.
    fn next(&'static self, call: CallKey, digest: u128, owner: u64) -> Next<V> {
        let step = match self.read_step(call, digest) {
            Some(step) => step,
            None => self.write_step(digest, owner),
        };
        match step {
            Step::Hit(v) => {
                self.hits.bump();
                Next::Value(v)
            }
            Step::HitInline(v, id) => {
                self.hits.bump();
                self.share(call, fold(digest), id);
                Next::Value(v)
            }
            Step::Wait(flight) => Next::Wait(flight),
            Step::Compute(id) => Next::Compute(id),
            Step::Bypass => {
                self.misses.fetch_add(1, Relaxed);
                Next::Bypass
            }
        }
    }

    /// The value a landed flight brought, even if a clear dropped its slot
    /// meanwhile. Without one (the computation failed, panicked or was
    /// cancelled) the caller looks again, and perhaps computes it itself.
    fn waited(&self, flight: &Flight<V>) -> Option<V> {
        let v = flight.value.get()?.clone();
        self.hits.bump();
        Some(v)
    }

    fn read_step(&'static self, call: CallKey, digest: u128) -> Option<Step<V>> {
        let inner = self.inner.read();
        let slot = inner.map.get(&fold(digest))?;
        if slot.key != digest {
            return Some(Step::Bypass);
        }
        match &slot.state {
            State::Shared(r) => {
                let v = self.hit(r)?;
                self.remember(call, r);
                Some(Step::Hit(v))
            }
            State::Inline(r) => Some(Step::HitInline(self.hit(r)?, slot.id)),
            State::Pending { owner, flight } => {
                self.check_reentry(*owner);
                // Without a flight to wait on yet, the write lock makes one.
                flight.as_ref().map(|f| Step::Wait(Arc::clone(f)))
            }
        }
    }

    fn check_reentry(&self, owner: u64) {
        if crate::thread::is_self(owner) {
            self.reentered();
        }
    }

    /// Moves an inline value into a handle this thread's front can keep, so
    /// its next hits take no lock. Once per key, and only for keys hit again.
    /// A hit never waits for the write lock: if another thread holds the map
    /// lock, the move is left to a later hit.
    #[cold]
    fn share(&'static self, call: CallKey, key: u64, id: u64) {
        let Some(mut inner) = self.inner.try_write() else {
            return;
        };
        let Some(slot) = inner.map.get_mut(&key) else {
            return;
        };
        if slot.id != id {
            return;
        }
        if let State::Inline(_) = slot.state {
            let placeholder = State::Pending {
                owner: 0,
                flight: None,
            };
            if let State::Inline(r) = std::mem::replace(&mut slot.state, placeholder) {
                slot.state = State::Shared(Arc::new(r));
            }
        }
        if let State::Shared(r) = &slot.state {
            self.remember(call, r);
        }
    }

    /// Gives this thread's front a handle to `r`. Call with the map lock held
    /// (read or write): no removal can happen then, so the version is exact.
    fn remember(&'static self, call: CallKey, r: &Arc<Ready<V>>) {
        front::insert(
            self.addr(),
            &self.removals,
            self.removals.load(Relaxed),
            call,
            r,
        );
    }

    /// `owner` is who computes the key if it is missing.
    fn write_step(&'static self, digest: u128, owner: u64) -> Step<V> {
        let key = fold(digest);
        let mut inner = self.inner.write();
        if let Some(slot) = inner.map.get_mut(&key) {
            if slot.key != digest {
                return Step::Bypass;
            }
            if let State::Pending { owner, flight } = &mut slot.state {
                self.check_reentry(*owner);
                let f = flight.get_or_insert_with(|| Arc::new(Flight::new()));
                return Step::Wait(Arc::clone(f));
            }
            // Landed since the read look-up.
            if let Some(v) = slot.ready().and_then(|r| self.hit(r)) {
                return Step::Hit(v);
            }
            // Expired: replace it.
            self.remove_locked(&mut inner, key);
            add(&self.evictions, 1);
        }
        let id = self.next_id.load(Relaxed);
        add(&self.next_id, 1);
        let state = State::Pending {
            owner,
            flight: None,
        };
        inner.map.insert(
            key,
            Slot {
                key: digest,
                id,
                state,
            },
        );
        self.entries.store(inner.map.len(), Relaxed);
        add(&self.misses, 1);
        Step::Compute(id)
    }

    fn compute<X>(
        &'static self,
        key: u64,
        id: u64,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            key,
            id,
        };
        let out = compute();
        std::mem::forget(guard);
        self.settle(key, id, out)
    }

    /// Stores what a computation produced (or drops its slot) and hands it
    /// to its caller.
    fn settle<X>(&self, key: u64, id: u64, out: Result<(V, Option<Duration>), X>) -> Result<V, X> {
        match out {
            Ok((v, life)) => {
                self.finish(key, id, Some((crate::big_vec::clone_value(&v), life)));
                Ok(v)
            }
            Err(e) => {
                self.finish(key, id, None);
                Err(e)
            }
        }
    }

    /// Ends computation `id`: stores its value if it has one and its slot is
    /// still there (a clear while it ran means the value is not kept), takes
    /// the slot out if not, and wakes the waiters.
    fn finish(&self, key: u64, id: u64, value: Option<(V, Option<Duration>)>) {
        let flight = {
            let mut inner = self.inner.write();
            let Some(slot) = inner.map.get_mut(&key).filter(|s| s.id == id) else {
                // Cleared while it ran: nothing is stored, but whoever waits
                // gets the value.
                let orphan = inner.orphans.iter().position(|(o, _)| *o == id);
                let flight = orphan.map(|i| inner.orphans.swap_remove(i).1);
                drop(inner);
                if let Some(f) = flight {
                    if let Some((v, _)) = value {
                        let _ = f.value.set(v);
                    }
                    f.land();
                }
                return;
            };
            let flight = match &mut slot.state {
                State::Pending { flight, .. } => flight.take(),
                _ => None,
            };
            match value {
                Some((value, life)) => {
                    if let Some(f) = &flight {
                        let _ = f.value.set(value.clone());
                    }
                    // A fresh LRU tick (same clock as hits), in bounded caches only.
                    let tick = match self.max_entries {
                        Some(_) => self.clock.fetch_add(1, Relaxed),
                        None => 0,
                    };
                    let ttl = match (self.ttl, life) {
                        (Some(t), Some(l)) => Some(t.min(l)),
                        (t, l) => t.or(l),
                    };
                    let ready = Ready::new(value, ttl, tick);
                    let expires = ready.expires;
                    slot.state = State::Inline(ready);
                    self.after_insert(&mut inner, key, id, tick, expires);
                }
                None => {
                    inner.map.remove(&key);
                    self.entries.store(inner.map.len(), Relaxed);
                }
            }
            flight
        };
        if let Some(f) = flight {
            f.land();
        }
    }

    /// Bookkeeping once a value lands: LRU bound and expiry queue.
    fn after_insert(
        &self,
        inner: &mut RwLockWriteGuard<'_, Inner<V>>,
        key: u64,
        id: u64,
        tick: u64,
        expires: u64,
    ) {
        if let Some(max) = self.max_entries {
            inner.lru.push(tick, key, id);
            while inner.map.len() > max {
                let Inner { map, lru, .. } = &mut **inner;
                let victim = lru.pop_victim(|k| {
                    let s = map.get(&k)?;
                    s.ready().map(|r| (s.id, r.tick.load(Relaxed)))
                });
                match victim {
                    Some(k) => {
                        self.remove_locked(inner, k);
                        add(&self.evictions, 1);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut **inner;
            lru.compact(map.len(), |k, id| map.get(&k).is_some_and(|s| s.id == id));
        }
        if expires != 0 {
            self.reap_expired(inner);
            inner.expiry.push_back((expires, key, id));
        }
    }

    fn reap_expired(&self, inner: &mut Inner<V>) {
        let now = now();
        while let Some(&(at, key, id)) = inner.expiry.front() {
            if at > now {
                break;
            }
            inner.expiry.pop_front();
            if inner
                .map
                .get(&key)
                .is_some_and(|s| s.id == id && s.ready().is_some())
            {
                self.remove_locked(inner, key);
                add(&self.evictions, 1);
            }
        }
    }

    /// Takes a computed value out. Every way one leaves the map, but `clear`,
    /// goes through here.
    fn remove_locked(&self, inner: &mut Inner<V>, key: u64) -> bool {
        if inner.map.get(&key).is_none_or(|s| s.ready().is_none()) {
            return false; // absent, or being computed: that is not ours to drop
        }
        inner.map.remove(&key);
        add(&self.removals, 1);
        self.entries.store(inner.map.len(), Relaxed);
        true
    }

    #[cold]
    fn reentered(&self) -> ! {
        panic!(
            "`{}` called itself with the same hashed arguments while computing them. \
             That call could only wait for its own result, forever, so it panics instead. \
             Break the cycle, or make the recursive call with different arguments.",
            self.info.path()
        )
    }

    /// Drops every entry. Computations under way finish for their callers
    /// (and whoever waits on them) but are not stored.
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.write();
        let Inner { map, orphans, .. } = &mut *inner;
        for slot in map.drain() {
            if let State::Pending {
                flight: Some(f), ..
            } = slot.state
            {
                orphans.push((slot.id, f));
            }
        }
        inner.lru.clear();
        inner.expiry.clear();
        add(&self.removals, 1);
        self.entries.store(0, Relaxed);
        front::note_clear();
    }

    /// Drops the value for `digest`, if there is one.
    pub(crate) fn forget(&self, digest: u128) -> bool {
        let mut inner = self.inner.write();
        let key = fold(digest);
        let gone = inner.map.get(&key).is_some_and(|s| s.key == digest)
            && self.remove_locked(&mut inner, key);
        if gone {
            front::note_clear();
        }
        gone
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            hits: self.hits.get(),
            misses: self.misses.load(Relaxed),
            entries: self.entries.load(Relaxed),
            evictions: self.evictions.load(Relaxed),
            disk_hits: 0,
        }
    }

    pub(crate) fn reset_counters(&self) {
        let _inner = self.inner.write();
        self.hits.reset();
        self.misses.store(0, Relaxed);
        self.evictions.store(0, Relaxed);
    }
}

struct Abandon<'a, V: Clone + Send + Sync + 'static> {
    store: &'a Store<V>,
    key: u64,
    id: u64,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.finish(self.key, self.id, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::{Kind, Options};
    use std::convert::Infallible;

    fn store() -> &'static Store<u32> {
        static INFO: FnInfo = FnInfo::new("tests", "f", Kind::Memo, 0, Options::new);
        Box::leak(Box::new(Store::new(&INFO)))
    }

    fn call(s: &'static Store<u32>, digest: u128, v: u32) -> u32 {
        match s.get_or_try::<Infallible>(CallKey::from(digest), || Ok(v)) {
            Ok(v) => v,
            Err(e) => match e {},
        }
    }

    #[test]
    fn keys_that_fold_alike_never_share_a_value() {
        let s = store();
        let (a, b) = (1u128, 1u128 << 64); // both fold to 1
        assert_eq!(fold(a), fold(b));
        assert_eq!(call(s, a, 10), 10);
        assert_eq!(call(s, b, 20), 20, "b is computed, not served a's value");
        assert_eq!(call(s, b, 30), 30, "and not cached in a's place");
        assert_eq!(call(s, a, 99), 10, "a is still cached");
        assert!(!s.forget(b));
        assert!(s.forget(a));
    }
}
