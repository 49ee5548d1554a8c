//! One function's in-memory cache: a map from call key to entry, with
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
use slots::{Pos, SlotMap};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Keyed by the call's key itself, not its digest: a miss computes no
/// digest, and keys are compared whole.
type Map<V> = SlotMap<Slot<V>>;

impl<V> Map<V> {
    /// The slot at `pos` if it is still slot `id`: a position is given to a
    /// new slot once its slot goes, so a computation, or a queue record,
    /// that kept a position checks the id too.
    #[inline(always)]
    fn slot_mut(&mut self, pos: Pos, id: u64) -> Option<&mut Slot<V>> {
        self.at_mut(pos).filter(|s| s.id == id)
    }

    /// Whether the slot at `pos` is still slot `id` (see [`slot_mut`](Self::slot_mut)).
    #[inline]
    fn holds(&self, pos: Pos, id: u64) -> bool {
        self.at(pos).is_some_and(|s| s.id == id)
    }
}

struct Inner<V> {
    /// Computed values and computations under way.
    map: Map<V>,
    lru: LruIndex,
    /// `(expiry, position, slot id)` in write order, for reaping entries
    /// nobody asks for again.
    expiry: VecDeque<(u64, Pos, u64)>,
    /// Flights of computations whose slots a clear dropped, by slot id: their
    /// waiters still get the value when it comes.
    orphans: Vec<(u64, Arc<Flight<V>>)>,
}

/// The cache of one function (one instantiation, for a generic function).
pub struct Store<V> {
    info: &'static FnInfo,
    ttl: Option<Duration>,
    max_entries: Option<usize>,
    /// The map index's hash seed, kept here too so that a caller hashes its
    /// key before taking the lock.
    seed: u64,
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
    /// This caller computes the slot at this position, with this id.
    Compute(Pos, u64),
}

/// What the read-locked look at a key found.
enum Look<V> {
    /// A fresh value (its hit already counted).
    Hit(V),
    Wait(Arc<Flight<V>>),
    /// No entry, an expired one, or a computation nobody waits on yet: the
    /// write lock decides (and claims the key if it is free).
    Unsettled,
}

/// What the write-locked step decided.
enum Step<V> {
    Hit(V),
    Wait(Arc<Flight<V>>),
    Compute(Pos, u64),
}

/// `+= n` for a counter only written under the write lock.
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

impl<V: Clone + Send + Sync + 'static> Store<V> {
    pub(crate) fn new(info: &'static FnInfo) -> Self {
        let opts = (info.options)();
        let seed = slots::random_seed();
        Store {
            info,
            ttl: opts.ttl,
            max_entries: opts.max_entries,
            seed,
            inner: RwLock::new(Inner {
                map: Map::with_seed(seed),
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
        let hash = slots::hash_key(self.seed, call);
        // Most calls that get here are hits on keys this thread's front does
        // not hold (a thread cycling through many keys): they leave at once,
        // from a small frame.
        match self.look(call, hash) {
            Look::Hit(v) => Ok(v),
            look => self.get_or_try_locked(call, hash, look, compute),
        }
    }

    /// The rest of [`get_or_try_slow`](Self::get_or_try_slow): waiting, or
    /// claiming and computing.
    #[inline(never)]
    fn get_or_try_locked<X>(
        &'static self,
        call: CallKey,
        hash: u64,
        mut look: Look<V>,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        let me = crate::thread::id();
        loop {
            match self.next(call, hash, me, look) {
                Next::Value(v) => return Ok(v),
                Next::Wait(flight) => {
                    flight.wait();
                    if let Some(v) = self.waited(&flight) {
                        return Ok(v);
                    }
                }
                Next::Compute(pos, id) => return self.compute(pos, id, compute),
            }
            look = self.look(call, hash);
        }
    }

    /// What to do about `call` once [`look`](Self::look) found `look`: take
    /// its value, wait for a computation, or claim the key for `owner`.
    #[inline(always)]
    fn next(&'static self, call: CallKey, hash: u64, owner: u64, look: Look<V>) -> Next<V> {
        match look {
            Look::Hit(v) => Next::Value(v),
            Look::Wait(flight) => Next::Wait(flight),
            Look::Unsettled => match self.write_step(call, hash, owner) {
                Step::Hit(v) => {
                    self.hits.bump();
                    Next::Value(v)
                }
                Step::Wait(flight) => Next::Wait(flight),
                Step::Compute(pos, id) => Next::Compute(pos, id),
            },
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

    /// `call`'s entry, under the read lock. A hit is served here, and offered
    /// to this thread's front.
    #[inline(always)]
    fn look(&'static self, call: CallKey, hash: u64) -> Look<V> {
        let inner = self.inner.read();
        let Some((pos, slot)) = inner.map.find(call, hash) else {
            return Look::Unsettled;
        };
        let r = match &slot.state {
            State::Inline(r) => r,
            State::Shared(r) => &**r,
            State::Pending { owner, flight } => {
                self.check_reentry(*owner);
                // Without a flight to wait on yet, the write lock makes one.
                return match flight {
                    Some(f) => Look::Wait(Arc::clone(f)),
                    None => Look::Unsettled,
                };
            }
        };
        let Some(v) = self.hit(r) else {
            return Look::Unsettled;
        };
        if front::admits() {
            match &slot.state {
                State::Shared(r) => self.remember(call, r),
                _ => {
                    let id = slot.id;
                    drop(inner);
                    self.share(call, pos, id);
                }
            }
        }
        self.hits.bump();
        Look::Hit(v)
    }

    fn check_reentry(&self, owner: u64) {
        if crate::thread::is_self(owner) {
            self.reentered();
        }
    }

    /// Moves an inline value into a handle this thread's front can keep, so
    /// its next hits take no lock: once per key, and only for keys the front
    /// admits. A hit never waits for the write lock: if another thread holds
    /// the map lock, the move is left to a later hit.
    #[cold]
    fn share(&'static self, call: CallKey, pos: Pos, id: u64) {
        let Some(mut inner) = self.inner.try_write() else {
            return;
        };
        let Some(slot) = inner.map.slot_mut(pos, id) else {
            return;
        };
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
    ///
    /// Inlined into every function's miss path, so only the claim of a new
    /// key is here; what a key that is already there needs is out of line.
    /// (Left to the compiler, a program with three cached functions of one
    /// value type got this as a shared call, and its misses took 5 ns more.)
    #[inline(always)]
    fn write_step(&'static self, call: CallKey, hash: u64, owner: u64) -> Step<V> {
        let mut inner = self.inner.write();
        let id = self.next_id.load(Relaxed);
        let made = inner.map.find_or_insert(call, hash, || Slot {
            key: call,
            id,
            state: State::Pending {
                owner,
                flight: None,
            },
        });
        match made {
            Err(pos) => {
                self.entries.store(inner.map.len(), Relaxed);
                self.claimed(pos, id)
            }
            Ok(pos) => self.write_step_found(inner, pos, id, owner),
        }
    }

    /// The counters of claiming a key for computation `id`, under the write
    /// lock.
    #[inline(always)]
    fn claimed(&self, pos: Pos, id: u64) -> Step<V> {
        add(&self.next_id, 1);
        add(&self.misses, 1);
        Step::Compute(pos, id)
    }

    /// [`write_step`](Self::write_step) for a key that has a slot: wait for
    /// its computation, take its value, or take over its expired slot.
    #[inline(never)]
    fn write_step_found(
        &'static self,
        mut inner: RwLockWriteGuard<'_, Inner<V>>,
        pos: Pos,
        id: u64,
        owner: u64,
    ) -> Step<V> {
        let Some(slot) = inner.map.at_mut(pos) else {
            unreachable!("the index holds live positions only")
        };
        if let State::Pending { owner, flight } = &mut slot.state {
            self.check_reentry(*owner);
            let f = flight.get_or_insert_with(|| Arc::new(Flight::new()));
            return Step::Wait(Arc::clone(f));
        }
        // Landed since the read look-up.
        if let Some(v) = slot.ready().and_then(|r| self.hit(r)) {
            return Step::Hit(v);
        }
        // Expired: its slot is taken over by the new computation.
        slot.id = id;
        slot.state = State::Pending {
            owner,
            flight: None,
        };
        add(&self.removals, 1);
        add(&self.evictions, 1);
        self.claimed(pos, id)
    }

    fn compute<X>(
        &'static self,
        pos: Pos,
        id: u64,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        // Dropped without being disarmed when `compute` panics.
        let guard = Abandon {
            store: self,
            pos,
            id,
        };
        let out = compute();
        std::mem::forget(guard);
        self.settle(pos, id, out)
    }

    /// Stores what a computation produced (or drops its slot) and hands it
    /// to its caller.
    #[inline(always)]
    fn settle<X>(&self, pos: Pos, id: u64, out: Result<(V, Option<Duration>), X>) -> Result<V, X> {
        match out {
            Ok((v, life)) => {
                self.land(pos, id, crate::big_vec::clone_value(&v), life);
                Ok(v)
            }
            Err(e) => {
                self.abandon(pos, id);
                Err(e)
            }
        }
    }

    /// Ends computation `id` with its value: stores it if its slot is still
    /// there (a clear while it ran means the value is not kept) and wakes the
    /// waiters, who get the value either way.
    ///
    /// Inlined for the common case: an unbounded cache without ttl, nobody
    /// waiting. Everything else is out of line (see `write_step` for why).
    #[inline(always)]
    fn land(&self, pos: Pos, id: u64, value: V, life: Option<Duration>) {
        let mut inner = self.inner.write();
        if let Some(slot) = inner.map.slot_mut(pos, id) {
            if self.untracked(life) {
                if let State::Pending { flight: None, .. } = slot.state {
                    slot.state = State::Inline(Ready::new(value, None, 0));
                    return;
                }
            }
        }
        self.land_slow(inner, pos, id, value, life)
    }

    /// Whether a value with this `life` needs no LRU tick and no expiry: an
    /// unbounded cache without ttl.
    #[inline(always)]
    fn untracked(&self, life: Option<Duration>) -> bool {
        self.max_entries.is_none() && self.ttl.is_none() && life.is_none()
    }

    /// [`land`](Self::land) for everything but the common case.
    #[inline(never)]
    fn land_slow(
        &self,
        mut inner: RwLockWriteGuard<'_, Inner<V>>,
        pos: Pos,
        id: u64,
        value: V,
        life: Option<Duration>,
    ) {
        let Some(slot) = inner.map.slot_mut(pos, id) else {
            drop(inner);
            return self.land_orphan(id, Some(value));
        };
        let flight = slot.take_flight();
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
        self.after_insert(&mut inner, pos, id, tick, expires);
        drop(inner);
        if let Some(f) = flight {
            f.land();
        }
    }

    /// Ends computation `id` without a value (it failed, panicked or was
    /// cancelled): its slot goes, and its waiters look again.
    fn abandon(&self, pos: Pos, id: u64) {
        let mut inner = self.inner.write();
        let Some(slot) = inner.map.slot_mut(pos, id) else {
            drop(inner);
            return self.land_orphan(id, None);
        };
        let flight = slot.take_flight();
        inner.map.remove_at(pos);
        self.entries.store(inner.map.len(), Relaxed);
        drop(inner);
        if let Some(f) = flight {
            f.land();
        }
    }

    /// Ends computation `id` whose slot a clear dropped while it ran:
    /// nothing is stored, but whoever waits gets the value.
    #[cold]
    fn land_orphan(&self, id: u64, value: Option<V>) {
        let flight = {
            let mut inner = self.inner.write();
            let orphan = inner.orphans.iter().position(|(o, _)| *o == id);
            orphan.map(|i| inner.orphans.swap_remove(i).1)
        };
        if let Some(f) = flight {
            if let Some(v) = value {
                let _ = f.value.set(v);
            }
            f.land();
        }
    }

    /// Bookkeeping once a value lands: LRU bound and expiry queue.
    fn after_insert(
        &self,
        inner: &mut RwLockWriteGuard<'_, Inner<V>>,
        pos: Pos,
        id: u64,
        tick: u64,
        expires: u64,
    ) {
        if let Some(max) = self.max_entries {
            inner.lru.push(tick, pos, id);
            while inner.map.len() > max {
                let Inner { map, lru, .. } = &mut **inner;
                let victim = lru.pop_victim(|p| {
                    let s = map.at(p)?;
                    s.ready().map(|r| (s.id, r.tick.load(Relaxed)))
                });
                match victim {
                    Some(p) => {
                        self.remove_locked(inner, p);
                        add(&self.evictions, 1);
                    }
                    None => break,
                }
            }
            let Inner { map, lru, .. } = &mut **inner;
            lru.compact(map.len(), |p, id| map.holds(p, id));
        }
        if expires != 0 {
            self.reap_expired(inner);
            inner.expiry.push_back((expires, pos, id));
        }
    }

    fn reap_expired(&self, inner: &mut Inner<V>) {
        let now = now();
        while let Some(&(at, pos, id)) = inner.expiry.front() {
            if at > now {
                break;
            }
            inner.expiry.pop_front();
            if inner.map.holds(pos, id) && self.remove_locked(inner, pos) {
                add(&self.evictions, 1);
            }
        }
    }

    /// Takes a computed value out. Every way one leaves the map, but `clear`,
    /// goes through here.
    fn remove_locked(&self, inner: &mut Inner<V>, pos: Pos) -> bool {
        if inner.map.at(pos).is_none_or(|s| s.ready().is_none()) {
            return false; // absent, or being computed: that is not ours to drop
        }
        inner.map.remove_at(pos);
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

    /// Drops the value for `call`, if there is one.
    pub(crate) fn forget(&self, call: CallKey) -> bool {
        let mut inner = self.inner.write();
        let hash = inner.map.hash(call);
        let pos = inner.map.find(call, hash).map(|(pos, _)| pos);
        let gone = pos.is_some_and(|pos| self.remove_locked(&mut inner, pos));
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
    pos: Pos,
    id: u64,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.abandon(self.pos, self.id);
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

    fn call(s: &'static Store<u32>, key: CallKey, v: u32) -> u32 {
        match s.get_or_try::<Infallible>(key, || Ok(v)) {
            Ok(v) => v,
            Err(e) => match e {},
        }
    }

    #[test]
    fn forget_drops_one_key() {
        let s = store();
        let (a, b) = (CallKey::from(1u128), CallKey::from(1u128 << 64));
        assert_eq!(call(s, a, 10), 10);
        assert_eq!(call(s, b, 20), 20);
        assert!(s.forget(b));
        assert!(!s.forget(b));
        assert_eq!(call(s, a, 99), 10, "a is still cached");
        assert_eq!(call(s, b, 30), 30, "b is computed again");
    }
}
