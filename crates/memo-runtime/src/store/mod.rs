//! One function's in-memory cache: a map from key digest to value, with
//! single-flight computation, LRU bounds, ttl and counters.
//!
//! Locking rules, which are what make recursion and concurrency safe:
//! * the body never runs under a lock; the map lock is held only to look up,
//!   insert or remove;
//! * a hit on a key this thread has seen before takes no lock at all (see
//!   `front`); other hits take the map's read lock, never its write lock;
//! * waiting for another thread's computation waits on that computation's
//!   `Flight` only, so different keys never wait on each other.

mod entry;
mod front;
mod lru;

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::stats::{Stats, Striped};
use entry::{now, Entry, Flight};
use lru::LruIndex;
use parking_lot::{RwLock, RwLockWriteGuard};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

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

enum Slot<V> {
    Ready(Arc<Entry<V>>),
    Pending(Arc<Flight>),
}

type Map<V> = HashMap<u128, Slot<V>, BuildHasherDefault<DigestHasher>>;

struct Inner<V> {
    map: Map<V>,
    lru: LruIndex,
    /// `(expiry, key, entry id)` in write order, for reaping entries nobody
    /// asks for again.
    expiry: VecDeque<(u64, u128, u64)>,
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
    Wait(Arc<Flight>),
    Compute(Arc<Flight>),
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
    fn touch(&self, e: &Entry<V>) {
        if self.max_entries.is_some() {
            e.tick.store(self.clock.fetch_add(1, Relaxed), Relaxed);
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
        let hit = front::lookup(self.addr(), key, |e: &Entry<V>| {
            if !e.is_fresh() {
                return None;
            }
            self.touch(e);
            Some(e.value.clone())
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
            let step = match self.read_step(call, key, me) {
                Some(step) => step,
                None => self.write_step(key, me),
            };
            match step {
                Step::Hit(v) => {
                    self.hits.bump();
                    return Ok(v);
                }
                // Then look again: the value, or (if the computation failed)
                // the chance to compute it ourselves.
                Step::Wait(flight) => flight.wait(),
                Step::Compute(flight) => return self.compute(key, flight, compute),
            }
        }
    }

    fn read_step(&'static self, call: CallKey, key: u128, me: u64) -> Option<Step<V>> {
        let inner = self.inner.read();
        match inner.map.get(&key)? {
            Slot::Ready(e) if e.is_fresh() => {
                self.touch(e);
                let v = e.value.clone();
                front::insert(self.addr(), call, e);
                Some(Step::Hit(v))
            }
            Slot::Ready(_) => None, // expired: replace it under the write lock
            Slot::Pending(f) => Some(self.wait_on(f, me)),
        }
    }

    fn wait_on(&self, flight: &Arc<Flight>, me: u64) -> Step<V> {
        if flight.owner == me {
            self.reentered();
        }
        Step::Wait(Arc::clone(flight))
    }

    fn write_step(&'static self, key: u128, me: u64) -> Step<V> {
        let mut inner = self.inner.write();
        match inner.map.get(&key) {
            Some(Slot::Ready(e)) if e.is_fresh() => {
                self.touch(e);
                return Step::Hit(e.value.clone());
            }
            Some(Slot::Pending(f)) => return self.wait_on(f, me),
            Some(Slot::Ready(_)) => {
                self.remove_locked(&mut inner, key);
                self.evictions.fetch_add(1, Relaxed);
            }
            None => {}
        }
        let flight = Arc::new(Flight::new(me));
        inner.map.insert(key, Slot::Pending(Arc::clone(&flight)));
        Step::Compute(flight)
    }

    fn compute<X>(
        &'static self,
        key: u128,
        flight: Arc<Flight>,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        self.misses.fetch_add(1, Relaxed);
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            key,
            flight: &flight,
        };
        let out = compute();
        std::mem::forget(guard);
        match &out {
            Ok(v) => self.publish(key, &flight, v.clone()),
            Err(_) => self.abandon(key, &flight),
        }
        out
    }

    /// Stores the value, if the flight is still the key's (a clear while it
    /// computed means the value is not kept), and wakes the waiters.
    fn publish(&self, key: u128, flight: &Arc<Flight>, value: V) {
        {
            let mut inner = self.inner.write();
            if let Some(slot) = inner.map.get_mut(&key) {
                if matches!(slot, Slot::Pending(f) if Arc::ptr_eq(f, flight)) {
                    let id = self.clock.fetch_add(1, Relaxed);
                    let e = Entry::new(value, id, self.ttl);
                    let expires = e.expires;
                    *slot = Slot::Ready(Arc::new(e));
                    self.entries.fetch_add(1, Relaxed);
                    self.after_insert(&mut inner, key, id, expires);
                }
            }
        }
        flight.land();
    }

    /// Bookkeeping after a value lands: LRU bound and expiry queue.
    fn after_insert(
        &self,
        inner: &mut RwLockWriteGuard<'_, Inner<V>>,
        key: u128,
        id: u64,
        expires: u64,
    ) {
        if let Some(max) = self.max_entries {
            inner.lru.push(id, key, id);
            while self.entries.load(Relaxed) > max {
                let Inner { map, lru, .. } = &mut **inner;
                let victim = lru.pop_victim(|k| match map.get(&k) {
                    Some(Slot::Ready(e)) => Some((e.id, e.tick.load(Relaxed))),
                    _ => None,
                });
                match victim {
                    Some(k) => {
                        self.remove_locked(inner, k);
                        self.evictions.fetch_add(1, Relaxed);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut **inner;
            lru.compact(
                map.len(),
                |k, id| matches!(map.get(&k), Some(Slot::Ready(e)) if e.id == id),
            );
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
            if matches!(inner.map.get(&key), Some(Slot::Ready(e)) if e.id == id) {
                self.remove_locked(inner, key);
                self.evictions.fetch_add(1, Relaxed);
            }
        }
    }

    /// Removes a computed entry. Every way an entry leaves the store goes
    /// through here (or `clear`).
    fn remove_locked(&self, inner: &mut Inner<V>, key: u128) -> bool {
        match inner.map.remove(&key) {
            Some(Slot::Ready(e)) => {
                e.mark_removed();
                self.entries.fetch_sub(1, Relaxed);
                front::note_removal();
                true
            }
            Some(pending @ Slot::Pending(_)) => {
                inner.map.insert(key, pending);
                false
            }
            None => false,
        }
    }

    /// Nothing gets cached for `flight`: take it out and let a waiter
    /// compute instead.
    fn abandon(&self, key: u128, flight: &Arc<Flight>) {
        {
            let mut inner = self.inner.write();
            if matches!(inner.map.get(&key), Some(Slot::Pending(f)) if Arc::ptr_eq(f, flight)) {
                inner.map.remove(&key);
            }
        }
        flight.land();
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
        for slot in inner.map.values() {
            if let Slot::Ready(e) = slot {
                e.mark_removed();
            }
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
    flight: &'a Arc<Flight>,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.abandon(self.key, self.flight);
    }
}
