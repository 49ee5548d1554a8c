//! One function's in-memory cache: a map from key digest to slot, with
//! single-flight computation, LRU bounds, ttl and counters.
//!
//! Locking rules, which are what make recursion and concurrency safe:
//! * the body never runs under a lock; the map lock is held only to look up,
//!   insert or remove a slot;
//! * a hit on a key this thread has seen before takes no lock at all (see
//!   `front`); other hits take the map's read lock, never its write lock;
//! * waiting for another thread's computation waits on that key's slot only,
//!   so different keys never wait on each other.

mod front;
mod lru;
pub(crate) mod slot;

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::stats::{Stats, Striped};
use lru::LruIndex;
use parking_lot::RwLock;
use slot::{Ready, Slot, Waited};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keys are already uniformly distributed digests: hashing them again would
/// only cost time.
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
    fn write_u128(&mut self, i: u128) {
        self.0 = (i as u64) ^ ((i >> 64) as u64);
    }
}

type Map<V> = HashMap<u128, Arc<Slot<V>>, BuildHasherDefault<DigestHasher>>;

struct Inner<V> {
    map: Map<V>,
    lru: LruIndex,
    /// `(earliest expiry, key, slot id)` in write order, for reaping entries
    /// nobody asks for again.
    expiry: VecDeque<(Instant, u128, u64)>,
}

/// The cache of one function (one instantiation, for a generic function).
pub struct Store<V> {
    info: &'static FnInfo,
    ttl: Option<Duration>,
    max_entries: Option<usize>,
    inner: RwLock<Inner<V>>,
    hits: Striped,
    misses: AtomicU64,
    evictions: AtomicU64,
    entries: AtomicUsize,
    clock: AtomicU64,
}

enum Step<V> {
    Hit(V),
    Wait(Arc<Slot<V>>),
    Compute(Arc<Slot<V>>),
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
            clock: AtomicU64::new(1),
        }
    }

    #[inline]
    fn addr(&'static self) -> usize {
        self as *const Self as usize
    }

    #[inline]
    fn touch(&self, slot: &Slot<V>) {
        if self.max_entries.is_some() {
            slot.tick.store(self.clock.fetch_add(1, Relaxed), Relaxed);
        }
    }

    /// The cached value for `key`, or the result of `compute`: `Ok` is cached
    /// and returned, `Err` is returned and not cached. Concurrent callers with
    /// the same key run `compute` once; the others wait for its value.
    #[inline]
    pub fn get_or_try<X>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        let hit = front::lookup(self.addr(), key, |slot: &Slot<V>| {
            let r = slot.fresh(Instant::now)?;
            self.touch(slot);
            Some(r.value.clone())
        });
        if let Some(v) = hit {
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
        let key = call.digest();
        loop {
            let step = match self.read_step(call, key) {
                Some(step) => step,
                None => self.write_step(key, me),
            };
            match step {
                Step::Hit(v) => {
                    self.hits.bump();
                    return Ok(v);
                }
                Step::Wait(slot) => match slot.wait(me, || self.reentered()) {
                    Waited::Ready(r) => {
                        self.hits.bump();
                        return Ok(r.value.clone());
                    }
                    // The computing caller failed or panicked: take over.
                    Waited::Abandoned => continue,
                },
                Step::Compute(slot) => return self.compute(key, slot, compute),
            }
        }
    }

    fn read_step(&'static self, call: CallKey, key: u128) -> Option<Step<V>> {
        let inner = self.inner.read();
        let slot = inner.map.get(&key)?;
        if let Some(r) = slot.fresh(Instant::now) {
            self.touch(slot);
            let v = r.value.clone();
            front::insert(self.addr(), call, slot);
            return Some(Step::Hit(v));
        }
        if slot.ready.get().is_none() {
            return Some(Step::Wait(Arc::clone(slot)));
        }
        None // expired: replace it under the write lock
    }

    fn write_step(&'static self, key: u128, me: u64) -> Step<V> {
        let mut inner = self.inner.write();
        if let Some(slot) = inner.map.get(&key) {
            if let Some(r) = slot.fresh(Instant::now) {
                self.touch(slot);
                return Step::Hit(r.value.clone());
            }
            if slot.ready.get().is_none() {
                return Step::Wait(Arc::clone(slot));
            }
            self.remove_locked(&mut inner, key);
            self.evictions.fetch_add(1, Relaxed);
        }
        let id = self.clock.fetch_add(1, Relaxed);
        let slot = Arc::new(Slot::new_owned(id, id, me));
        inner.map.insert(key, Arc::clone(&slot));
        self.entries.fetch_add(1, Relaxed);
        if let Some(max) = self.max_entries {
            inner.lru.push(id, key, id);
            while inner.map.len() > max {
                let Inner { map, lru, .. } = &mut *inner;
                let victim = lru.pop_victim(|k| {
                    map.get(&k)
                        .map(|s| (s.id, s.tick.load(Relaxed), s.ready.get().is_some()))
                });
                match victim {
                    Some(k) => {
                        self.remove_locked(&mut inner, k);
                        self.evictions.fetch_add(1, Relaxed);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut *inner;
            lru.compact(map.len(), |k, id| map.get(&k).is_some_and(|s| s.id == id));
        }
        if let Some(ttl) = self.ttl {
            let now = Instant::now();
            self.reap_expired(&mut inner, now);
            inner.expiry.push_back((now + ttl, key, id));
        }
        Step::Compute(slot)
    }

    fn reap_expired(&self, inner: &mut Inner<V>, now: Instant) {
        while let Some(&(at, key, id)) = inner.expiry.front() {
            if at > now {
                break;
            }
            match inner.map.get(&key) {
                Some(s) if s.id == id => {
                    if s.ready.get().is_none() || s.fresh(|| now).is_some() {
                        // Still computing, or written later than estimated.
                        break;
                    }
                    self.remove_locked(inner, key);
                    self.evictions.fetch_add(1, Relaxed);
                }
                _ => {}
            }
            inner.expiry.pop_front();
        }
    }

    fn remove_locked(&self, inner: &mut Inner<V>, key: u128) -> bool {
        match inner.map.remove(&key) {
            Some(slot) => {
                slot.mark_removed();
                self.entries.fetch_sub(1, Relaxed);
                front::note_removal();
                true
            }
            None => false,
        }
    }

    fn compute<X>(
        &'static self,
        key: u128,
        slot: Arc<Slot<V>>,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        self.misses.fetch_add(1, Relaxed);
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            key,
            slot: &slot,
        };
        let out = compute();
        std::mem::forget(guard);
        match out {
            Ok(v) => {
                let expires = self.ttl.map(|t| Instant::now() + t);
                slot.finish(Some(Ready {
                    value: v.clone(),
                    expires,
                }));
                Ok(v)
            }
            Err(e) => {
                self.abandon(key, &slot);
                Err(e)
            }
        }
    }

    /// Nothing gets cached for `slot`: take it out of the map and let a
    /// waiter compute instead.
    fn abandon(&self, key: u128, slot: &Arc<Slot<V>>) {
        {
            let mut inner = self.inner.write();
            if inner.map.get(&key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                self.remove_locked(&mut inner, key);
            }
        }
        slot.mark_removed();
        slot.finish(None);
    }

    #[cold]
    fn reentered(&self) {
        panic!(
            "`{}` called itself with the same hashed arguments while computing them. \
             That call could only wait for its own result, forever, so it panics instead. \
             Break the cycle, or make the recursive call with different arguments.",
            self.info.path()
        )
    }

    /// Drops every entry. Computations under way finish for their callers but
    /// are not stored.
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.write();
        for slot in inner.map.values() {
            slot.mark_removed();
        }
        inner.map.clear();
        inner.lru.clear();
        inner.expiry.clear();
        self.entries.store(0, Relaxed);
        front::note_removal();
    }

    /// Drops the entry for `key`, if any.
    pub(crate) fn forget(&self, key: u128) -> bool {
        let mut inner = self.inner.write();
        self.remove_locked(&mut inner, key)
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
        self.hits.reset();
        self.misses.store(0, Relaxed);
        self.evictions.store(0, Relaxed);
    }
}

struct Abandon<'a, V: Clone + Send + Sync + 'static> {
    store: &'a Store<V>,
    key: u128,
    slot: &'a Arc<Slot<V>>,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.abandon(self.key, self.slot);
    }
}
