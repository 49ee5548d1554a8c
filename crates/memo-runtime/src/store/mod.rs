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

mod entry;
mod front;
mod lru;

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::stats::{Stats, Striped};
use entry::{now, Entry};
use lru::LruIndex;
use parking_lot::RwLock;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Map keys are already uniformly distributed (folded digests): hashing them
/// again would only cost time.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// The map is keyed by the digest folded to 64 bits, which halves its
/// buckets; each entry keeps the whole 128-bit key, and a call whose key
/// differs from the entry found under its fold (a 2^-64 event) is computed
/// without being cached rather than served someone else's value.
type Map<V> = HashMap<u64, Arc<Entry<V>>, BuildHasherDefault<DigestHasher>>;

#[inline(always)]
fn fold(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64)
}

struct Inner<V> {
    /// Computed entries and entries being computed.
    map: Map<V>,
    lru: LruIndex,
    /// `(expiry, map key, entry id)` in write order, for reaping entries
    /// nobody asks for again.
    expiry: VecDeque<(u64, u64, u64)>,
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
    /// Entry ids and LRU ticks.
    clock: AtomicU64,
}

enum Step<V> {
    Hit(V),
    Wait(Arc<Entry<V>>),
    Compute(Arc<Entry<V>>),
    /// Another key folds to the same map key: compute, cache nothing.
    Bypass,
}

/// `+= n` for a counter only written under the write lock.
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

/// `+= 1` for the same counters from outside the lock (the rare bypass).
#[cold]
fn add_atomic(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
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
            }),
            hits: Striped::new(),
            misses: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
            entries: AtomicUsize::new(0),
            removals: AtomicU64::new(0),
            clock: AtomicU64::new(1),
        }
    }

    #[inline(always)]
    fn addr(&'static self) -> usize {
        self as *const Self as usize
    }

    #[inline(always)]
    fn touch(&self, e: &Entry<V>) {
        if self.max_entries.is_some() {
            e.tick.store(self.clock.fetch_add(1, Relaxed), Relaxed);
        }
    }

    #[inline(always)]
    fn hit(&self, e: &Entry<V>) -> Option<V> {
        let v = e.fresh()?;
        self.touch(e);
        Some(v.clone())
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
        if let Some(v) = front::lookup(self.addr(), key, |e: &Entry<V>| self.hit(e)) {
            self.hits.bump();
            return Ok(v);
        }
        self.get_or_try_slow(key, compute)
    }

    #[inline(never)]
    fn get_or_try_slow<X>(
        &'static self,
        call: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        let me = crate::thread::id();
        let digest = call.digest();
        let key = fold(digest);
        loop {
            let step = match self.read_step(call, digest, me) {
                Some(step) => step,
                None => self.write_step(digest, me),
            };
            match step {
                Step::Hit(v) => {
                    self.hits.bump();
                    return Ok(v);
                }
                Step::Wait(e) => {
                    e.wait();
                    // Its value, even if a clear dropped the entry meanwhile;
                    // without one (the computation failed), look again and
                    // perhaps compute it ourselves.
                    if let Some(v) = e.fresh() {
                        self.hits.bump();
                        return Ok(v.clone());
                    }
                }
                Step::Compute(e) => return self.compute(key, e, compute),
                Step::Bypass => {
                    add_atomic(&self.misses);
                    return compute();
                }
            }
        }
    }

    fn read_step(&'static self, call: CallKey, digest: u128, me: u64) -> Option<Step<V>> {
        let inner = self.inner.read();
        let e = inner.map.get(&fold(digest))?;
        if e.key != digest {
            return Some(Step::Bypass);
        }
        if let Some(v) = self.hit(e) {
            // Under the read lock no removal can happen: the version is exact.
            let version = self.removals.load(Relaxed);
            front::insert(self.addr(), &self.removals, version, call, e);
            return Some(Step::Hit(v));
        }
        if e.ready.get().is_some() {
            return None; // expired: replace it under the write lock
        }
        Some(self.wait_on(e, me))
    }

    fn wait_on(&self, e: &Arc<Entry<V>>, me: u64) -> Step<V> {
        if e.owner == me {
            self.reentered();
        }
        Step::Wait(Arc::clone(e))
    }

    fn write_step(&'static self, digest: u128, me: u64) -> Step<V> {
        let key = fold(digest);
        // Allocated before locking, so the lock is held for less time.
        let fresh = Arc::new(Entry::pending(digest, self.clock.fetch_add(1, Relaxed), me));
        let mut inner = self.inner.write();
        if let Some(e) = inner.map.get(&key) {
            if e.key != digest {
                return Step::Bypass;
            }
            if let Some(v) = self.hit(e) {
                return Step::Hit(v);
            }
            if e.ready.get().is_none() {
                return self.wait_on(e, me);
            }
            self.remove_locked(&mut inner, key);
            add(&self.evictions, 1);
        }
        inner.map.insert(key, Arc::clone(&fresh));
        self.entries.store(inner.map.len(), Relaxed);
        add(&self.misses, 1);
        Step::Compute(fresh)
    }

    fn compute<X>(
        &'static self,
        key: u64,
        e: Arc<Entry<V>>,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            key,
            entry: &e,
        };
        let out = compute();
        std::mem::forget(guard);
        match &out {
            Ok(v) => {
                e.land(Some((v.clone(), self.ttl)));
                if self.max_entries.is_some() || self.ttl.is_some() {
                    self.after_insert(key, &e);
                }
            }
            Err(_) => self.abandon(key, &e),
        }
        out
    }

    /// Bookkeeping once a value lands in a bounded or expiring cache.
    fn after_insert(&self, key: u64, e: &Arc<Entry<V>>) {
        let mut inner = self.inner.write();
        if !inner.map.get(&key).is_some_and(|cur| Arc::ptr_eq(cur, e)) {
            return; // cleared or forgotten while it ran
        }
        if let Some(max) = self.max_entries {
            inner.lru.push(e.id, key, e.id);
            while inner.map.len() > max {
                let Inner { map, lru, .. } = &mut *inner;
                let victim = lru.pop_victim(|k| {
                    map.get(&k)
                        .filter(|v| v.ready.get().is_some())
                        .map(|v| (v.id, v.tick.load(Relaxed)))
                });
                match victim {
                    Some(k) => {
                        self.remove_locked(&mut inner, k);
                        add(&self.evictions, 1);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut *inner;
            lru.compact(map.len(), |k, id| map.get(&k).is_some_and(|v| v.id == id));
        }
        if let Some(r) = e.ready.get().filter(|r| r.expires != 0) {
            self.reap_expired(&mut inner);
            inner.expiry.push_back((r.expires, key, e.id));
        }
    }

    fn reap_expired(&self, inner: &mut Inner<V>) {
        let now = now();
        while let Some(&(at, key, id)) = inner.expiry.front() {
            if at > now {
                break;
            }
            inner.expiry.pop_front();
            if inner.map.get(&key).is_some_and(|e| e.id == id) {
                self.remove_locked(inner, key);
                add(&self.evictions, 1);
            }
        }
    }

    /// Every way an entry leaves the map, but `clear`, goes through here.
    fn remove_locked(&self, inner: &mut Inner<V>, key: u64) -> bool {
        let gone = inner.map.remove(&key).is_some();
        if gone {
            add(&self.removals, 1);
            self.entries.store(inner.map.len(), Relaxed);
        }
        gone
    }

    /// Nothing gets cached for `e`: take it out and let a waiter compute.
    fn abandon(&self, key: u64, e: &Arc<Entry<V>>) {
        {
            let mut inner = self.inner.write();
            if inner.map.get(&key).is_some_and(|cur| Arc::ptr_eq(cur, e)) {
                self.remove_locked(&mut inner, key);
            }
        }
        e.land(None);
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
        inner.map.clear();
        inner.lru.clear();
        inner.expiry.clear();
        add(&self.removals, 1);
        self.entries.store(0, Relaxed);
        front::note_clear();
    }

    /// Drops the entry for `digest`, if any.
    pub(crate) fn forget(&self, digest: u128) -> bool {
        let mut inner = self.inner.write();
        let key = fold(digest);
        let gone = inner.map.get(&key).is_some_and(|e| e.key == digest)
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
    entry: &'a Arc<Entry<V>>,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.abandon(self.key, self.entry);
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
