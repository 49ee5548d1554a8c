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

type Map<T> = HashMap<u128, T, BuildHasherDefault<DigestHasher>>;

/// A computation under way.
struct Pending {
    /// Tells this computation from a later one for the same key.
    token: u64,
    /// The computing thread (a `thread::id`).
    owner: u64,
    /// Made only when a second caller comes to wait: an uncontended miss
    /// allocates nothing for it.
    flight: Option<Arc<Flight>>,
}

struct Inner<V> {
    map: Map<Arc<Entry<V>>>,
    /// Small (only keys being computed), and checked only when non-empty.
    pending: Map<Pending>,
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
    Compute(u64),
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
                pending: Map::default(),
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
                Step::Compute(token) => return self.compute(key, token, compute),
            }
        }
    }

    fn read_step(&'static self, call: CallKey, key: u128, me: u64) -> Option<Step<V>> {
        let inner = self.inner.read();
        if let Some(e) = inner.map.get(&key) {
            if !e.is_fresh() {
                return None; // expired: replace it under the write lock
            }
            self.touch(e);
            let v = e.value.clone();
            front::insert(self.addr(), call, e);
            return Some(Step::Hit(v));
        }
        let p = inner.pending.get(&key)?;
        self.check_reentry(p, me);
        // Without a flight to wait on yet, the write lock makes one.
        p.flight.as_ref().map(|f| Step::Wait(Arc::clone(f)))
    }

    fn check_reentry(&self, p: &Pending, me: u64) {
        if p.owner == me {
            self.reentered();
        }
    }

    fn write_step(&'static self, key: u128, me: u64) -> Step<V> {
        let mut inner = self.inner.write();
        match inner.map.get(&key) {
            Some(e) if e.is_fresh() => {
                self.touch(e);
                return Step::Hit(e.value.clone());
            }
            Some(_) => {
                self.remove_locked(&mut inner, key);
                self.evictions.fetch_add(1, Relaxed);
            }
            None => {}
        }
        if let Some(p) = inner.pending.get_mut(&key) {
            self.check_reentry(p, me);
            let f = p.flight.get_or_insert_with(|| Arc::new(Flight::new()));
            return Step::Wait(Arc::clone(f));
        }
        let token = self.clock.fetch_add(1, Relaxed);
        inner.pending.insert(
            key,
            Pending {
                token,
                owner: me,
                flight: None,
            },
        );
        Step::Compute(token)
    }

    fn compute<X>(
        &'static self,
        key: u128,
        token: u64,
        compute: impl FnOnce() -> Result<V, X>,
    ) -> Result<V, X> {
        self.misses.fetch_add(1, Relaxed);
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            key,
            token,
        };
        let out = compute();
        std::mem::forget(guard);
        match &out {
            Ok(v) => self.finish(key, token, Some(v.clone())),
            Err(_) => self.finish(key, token, None),
        }
        out
    }

    /// Ends computation `token`: stores its value, if it has one and is still
    /// the key's computation (a clear while it ran means the value is not
    /// kept), and wakes its waiters, who look again (and, when there is no
    /// value, one of them computes).
    fn finish(&self, key: u128, token: u64, value: Option<V>) {
        let flight = {
            let mut inner = self.inner.write();
            let p = match inner.pending.remove(&key) {
                Some(p) if p.token == token => p,
                // Cleared while it ran (and maybe started again since).
                Some(other) => {
                    inner.pending.insert(key, other);
                    return;
                }
                None => return,
            };
            if let Some(value) = value {
                let id = self.clock.fetch_add(1, Relaxed);
                let e = Entry::new(value, id, self.ttl);
                let expires = e.expires;
                inner.map.insert(key, Arc::new(e));
                self.entries.fetch_add(1, Relaxed);
                self.after_insert(&mut inner, key, id, expires);
            }
            p.flight
        };
        if let Some(f) = flight {
            f.land();
        }
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
                let victim = lru.pop_victim(|k| map.get(&k).map(|e| (e.id, e.tick.load(Relaxed))));
                match victim {
                    Some(k) => {
                        self.remove_locked(inner, k);
                        self.evictions.fetch_add(1, Relaxed);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut **inner;
            lru.compact(map.len(), |k, id| map.get(&k).is_some_and(|e| e.id == id));
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
            if inner.map.get(&key).is_some_and(|e| e.id == id) {
                self.remove_locked(inner, key);
                self.evictions.fetch_add(1, Relaxed);
            }
        }
    }

    /// Removes a computed entry. Every way an entry leaves the store goes
    /// through here (or `clear`).
    fn remove_locked(&self, inner: &mut Inner<V>, key: u128) -> bool {
        match inner.map.remove(&key) {
            Some(e) => {
                e.mark_removed();
                self.entries.fetch_sub(1, Relaxed);
                front::note_removal();
                true
            }
            None => false,
        }
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
        let flights: Vec<Arc<Flight>> = {
            let mut inner = self.inner.write();
            for e in inner.map.values() {
                e.mark_removed();
            }
            inner.map.clear();
            inner.lru.clear();
            inner.expiry.clear();
            self.entries.store(0, Relaxed);
            front::note_removal();
            inner
                .pending
                .drain()
                .filter_map(|(_, p)| p.flight)
                .collect()
        };
        // Their owners will find their computation gone: wake the waiters here.
        flights.iter().for_each(|f| f.land());
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
    token: u64,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.finish(self.key, self.token, None);
    }
}
