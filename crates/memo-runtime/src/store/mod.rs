//! One function's in-memory cache: an index from call key to slot, with
//! single-flight computation, LRU bounds, ttl and counters.
//!
//! Locking rules, which are what make recursion and concurrency safe:
//! * the body never runs under a lock; the map lock (a `latch`) is held only
//!   to look up, claim, land or remove;
//! * a hit on a key this thread has seen before takes no lock at all (see
//!   `front`); other hits read the map under the latch's read side, which
//!   as a rule is a pin in this thread's own lane, never the write lock;
//! * a miss finds its key absent and claims it in one read section (see
//!   `index` and `alloc`), and lands its value with one CAS on its slot's
//!   state word, without a lock, unless someone waits for it or the cache
//!   is bounded or has a ttl;
//! * waiting for another thread's computation parks on that key's flight
//!   only, so different keys never wait on each other;
//! * everything else (waiters, expiry, eviction, removal, growth, clear)
//!   happens under the write lock, which excludes every reader and claimer
//!   but not an owner's lock-free landing: code under the write lock changes
//!   a `PENDING` slot's state by CAS only;
//! * a call made inside a read of the same map (from a value's `Clone` or
//!   `Drop`) may take a value, but never claims, waits or writes: each
//!   would wait for that read to end. It runs its body uncached instead.

mod alloc;
mod arena;
mod async_path;
mod entry;
mod front;
mod index;
mod latch;
mod lru;

use crate::info::FnInfo;
use crate::key::CallKey;
use crate::stats::{Stats, Striped};
use alloc::Alloc;
use arena::{Arena, Pos};
use entry::{now, tag, Flight, Ready, Slot, Value};
pub(crate) use front::forget_stripes;
use front::Look;
use index::{hash_key, Hint, Index, EMPTY};
use latch::{Latch, Read, Write};
use lru::LruIndex;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{
    AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use std::sync::Arc;
use std::time::Duration;

/// A value whose `clone` runs none of the user's code: a reference count, or
/// an option or pair of them. A front hit on one needs no guard against the
/// clone making cached calls of its own (see `front`).
///
/// # Safety
///
/// `Clone::clone` of the type runs no code outside this crate and `std`.
pub(crate) unsafe trait PlainClone: Clone {}

// SAFETY: `Arc::clone` (in the global allocator) increments a count and runs
// nothing of `T`'s.
unsafe impl<T: ?Sized> PlainClone for Arc<T> {}
// SAFETY: these clone their parts and nothing else.
unsafe impl<T: PlainClone> PlainClone for Option<T> {}
unsafe impl<A: PlainClone, B: PlainClone> PlainClone for (A, B) {}

/// What the map lock guards; the slots themselves live in the [`Arena`].
struct Inner<V> {
    index: Index,
    alloc: Alloc,
    /// Slots the arena holds: every position below this exists.
    capacity: usize,
    lru: LruIndex,
    /// `(expiry, position, generation)` in write order, for reaping entries
    /// nobody asks for again.
    expiry: VecDeque<(u64, Pos, u64)>,
    /// The flights of computations someone waits on (`WAITED` or `ORPHAN`
    /// slots), by position.
    flights: HashMap<Pos, Arc<Flight<V>>, BuildHasherDefault<PosHasher>>,
    /// Values held (`READY` slots), in bounded caches only: what
    /// `max_entries` bounds. A computation under way is not an entry yet, as
    /// in Streamlit. (Unbounded caches land without the lock, so they could
    /// not keep it.)
    values: usize,
}

/// Values taken out of the map under the write lock, to be dropped once it
/// is released: a value's `Drop` is the user's code, which may call the same
/// function (and so need the map) or panic. Declare it before the write
/// guard, so that an unwind drops the guard first too. Most sections take
/// out one value at most (an eviction), which needs no allocation.
///
/// For an `allow_widgets` fn it also collects the keys of the values taken
/// out, whose leaves its widget tree drops when this is dropped, after the
/// lock too (`replay::forget_widget_keys`), before the values.
struct Dead<V> {
    one: Option<Value<V>>,
    more: Vec<Value<V>>,
    /// The fn whose widget tree follows the store, if it has one.
    widgets: Option<&'static FnInfo>,
    keys: Vec<CallKey>,
}

impl<V> Drop for Dead<V> {
    fn drop(&mut self) {
        if let (Some(info), false) = (self.widgets, self.keys.is_empty()) {
            crate::replay::forget_widget_keys(info, &self.keys);
        }
    }
}

impl<V> Dead<V> {
    fn push(&mut self, value: Option<Value<V>>) {
        match (&self.one, value) {
            (None, v) => self.one = v,
            (Some(_), Some(v)) => self.more.push(v),
            (Some(_), None) => {}
        }
    }
}

/// A slot's value as a handle that can outlive the map lock (an inline
/// value is moved into one first), for a clone or a front to take after it.
fn shared<V>(value: &mut Option<Value<V>>) -> Option<&Arc<Ready<V>>> {
    if let Some(Value::Inline(_)) = value {
        if let Some(Value::Inline(r)) = value.take() {
            *value = Some(Value::Shared(Arc::new(r)));
        }
    }
    match value {
        Some(Value::Shared(r)) => Some(r),
        _ => None,
    }
}

/// Hashes a slot position for `flights`. Positions are handed out by the
/// store, not picked by callers, so a multiply spreads them well enough;
/// and std's seeded hasher would cost a fresh process a `getrandom` system
/// call on its first cached call.
#[derive(Default)]
struct PosHasher(u64);

impl Hasher for PosHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl<V> Inner<V> {
    /// Folds the claims made in read sections into the books. Every
    /// write-locked section starts here.
    fn settle(&mut self) {
        self.index.occupied += self.alloc.settle();
    }

    /// Keys held, computed or being computed.
    fn live(&self) -> usize {
        self.index.occupied - self.index.tombstones
    }
}

/// The cache of one function (one instantiation, for a generic function).
pub struct Store<V> {
    info: &'static FnInfo,
    /// Whether the fn has `allow_widgets`: the keys of values it evicts or
    /// expires are reported to its widget tree.
    widgets: bool,
    ttl: Option<Duration>,
    max_entries: Option<usize>,
    /// The index's hash seed.
    seed: u64,
    inner: Latch<Inner<V>>,
    /// Where `inner.index` lives, for prefetching before the lock.
    hint: Hint,
    arena: Arena<V>,
    hits: Striped,
    /// Keys claimed for computation, ever (a miss each).
    claims: Striped,
    /// `claims` at the last counter reset.
    claims_base: AtomicU64,
    // Written only under the write lock (plain load + store), read anywhere.
    /// Keys that left the index, ever (`entries` is `claims - removed`).
    removed: AtomicU64,
    evictions: AtomicU64,
    /// Moves whenever a value leaves the cache: per-thread fronts filled
    /// before then are stale.
    removals: AtomicU64,
    /// LRU ticks (bumped by readers too).
    clock: AtomicU64,
}

/// What a caller does next.
enum Next<V: 'static> {
    /// A value (its hit already counted).
    Value(V),
    Wait(Arc<Flight<V>>),
    /// This caller computes this claim's slot.
    Compute(Claim<V>),
    /// Only the write lock can settle it: a computation nobody waits on yet,
    /// an expired value, or no room left to claim in a read section.
    Write,
}

/// What [`Store::write_found`] leaves to do once the write lock is released.
enum Found<V: 'static> {
    Next(Next<V>),
    /// A fresh value (its hit counted), to clone after the lock.
    Take(Arc<Ready<V>>),
    /// An expired value, taken out: dropped after the lock, before the key
    /// is claimed anew.
    Expired(Dead<V>),
}

/// A computation its caller owns: the slot's position and generation, and
/// the slot itself, so that the landing need not find it again.
struct Claim<V: 'static> {
    pos: Pos,
    gen: u64,
    slot: &'static Slot<V>,
}

impl<V> Clone for Claim<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Claim<V> {}

/// `+= n` for a counter only written under the write lock.
#[inline]
fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed) + n, Relaxed);
}

impl<V: Clone + Send + Sync + 'static> Store<V> {
    /// A new store, for the life of the process. It is about 7 KB (the
    /// per-thread lines), so it is written in place: built on the stack and
    /// moved, it cost a fresh process four stack pages, each a page fault,
    /// on its first cached call.
    pub(crate) fn leak_new(info: &'static FnInfo) -> &'static Self {
        let opts = (info.options)();
        // The macro refuses a literal 0 and the compiler a named constant
        // that is 0; any other expression is known only now.
        for (name, n) in [
            ("max_entries", opts.max_entries),
            ("max_disk_entries", opts.max_disk_entries),
        ] {
            assert!(
                n != Some(0),
                "`{name}` of `{}` is 0, which would cache nothing: it must be at least 1 (remove the option for no limit)",
                info.path()
            );
        }
        let mut room = Box::<Self>::new_uninit();
        let at = room.as_mut_ptr();
        // SAFETY: every field is written once (`every_field_is_written`
        // names them all, so a new one breaks the build until it is added
        // here too), then the box is taken as initialised.
        let store: &'static Self = unsafe {
            (&raw mut (*at).info).write(info);
            (&raw mut (*at).widgets).write(opts.allow_widgets);
            (&raw mut (*at).ttl).write(opts.ttl);
            (&raw mut (*at).max_entries).write(opts.max_entries);
            (&raw mut (*at).seed).write(index::random_seed(at as usize));
            Latch::init(
                &raw mut (*at).inner,
                Inner {
                    index: Index::new(16),
                    alloc: Alloc::new(),
                    capacity: 0,
                    lru: LruIndex::default(),
                    expiry: VecDeque::new(),
                    flights: HashMap::default(),
                    values: 0,
                },
            );
            (&raw mut (*at).hint).write(Hint::new());
            (&raw mut (*at).arena).write(Arena::new());
            Striped::init(&raw mut (*at).hits);
            Striped::init(&raw mut (*at).claims);
            for zero in [
                &raw mut (*at).claims_base,
                &raw mut (*at).removed,
                &raw mut (*at).evictions,
                &raw mut (*at).removals,
            ] {
                zero.write(AtomicU64::new(0));
            }
            (&raw mut (*at).clock).write(AtomicU64::new(1));
            Box::leak(room.assume_init())
        };
        let mut inner = store.inner.write();
        store.make_room(&mut inner);
        store.hint.set(&inner.index);
        drop(inner);
        store
    }

    /// Never called: lists every field, so that adding one without writing
    /// it in [`leak_new`](Self::leak_new) fails to compile.
    #[allow(dead_code)]
    fn every_field_is_written(self) {
        let Store {
            info: _,
            widgets: _,
            ttl: _,
            max_entries: _,
            seed: _,
            inner: _,
            hint: _,
            arena: _,
            hits: _,
            claims: _,
            claims_base: _,
            removed: _,
            evictions: _,
            removals: _,
            clock: _,
        } = self;
    }

    #[inline(always)]
    fn addr(&'static self) -> usize {
        self as *const Self as usize
    }

    /// Somewhere to put what a write-locked section takes out.
    fn dead(&self) -> Dead<V> {
        Dead {
            one: None,
            more: Vec::new(),
            widgets: self.widgets.then_some(self.info),
            keys: Vec::new(),
        }
    }

    /// The write lock, with the books settled.
    fn write(&self) -> Write<'_, Inner<V>> {
        if self.inner.reading_here() {
            self.written_while_read();
        }
        let mut inner = self.inner.write();
        inner.settle();
        inner
    }

    #[inline(always)]
    fn hit(&self, r: &Ready<V>) -> Option<V> {
        if !r.is_fresh() {
            return None;
        }
        self.used(r);
        Some(r.value.clone())
    }

    /// Marks `r`'s use, for LRU.
    #[inline(always)]
    fn used(&self, r: &Ready<V>) {
        if self.max_entries.is_some() {
            r.tick.store(self.clock.fetch_add(1, Relaxed), Relaxed);
        }
    }

    /// A look in this thread's front (see `front::look`). The hit is counted
    /// before the clone: with the front's own stores, ahead of an `Arc`
    /// clone's locked increment, which waits for every store before it. (A
    /// `Clone` that panics leaves a hit counted: the cache did hit.)
    ///
    /// SAFETY: without `MARK`, cloning a `V` runs none of the user's code.
    #[inline(always)]
    unsafe fn look<const MARK: bool, const CALLS: bool>(&'static self, key: CallKey) -> Look<V> {
        front::look::<V, V, MARK, CALLS>(self.addr(), key, |r, mine| {
            self.used(r);
            match mine {
                Some(stripe) => crate::stats::bump_mine(stripe),
                None => self.hits.bump_shared(),
            }
            r.value.clone()
        })
    }

    /// The value for `key` if this thread can have it at once, without a
    /// lock (see `front`). Calls that take no frameless path look here
    /// first: an async call does so before it makes any future, so a hit
    /// moves no future state around.
    #[inline(always)]
    pub fn hit_now(&'static self, key: CallKey) -> Option<V> {
        // SAFETY: marked.
        unsafe { self.look::<true, true>(key) }.hit()
    }

    /// [`hit_now`](Self::hit_now) for a value whose clone is a reference
    /// count (a singleton's instance): the front need not guard the clone.
    #[inline(always)]
    pub(crate) fn hit_now_plain(&'static self, key: CallKey) -> Option<V>
    where
        V: PlainClone,
    {
        // SAFETY: cloning a `PlainClone` value runs none of the user's code.
        unsafe { self.look::<false, true>(key) }.hit()
    }

    /// The value for `key` if the store holds it now, found under the read
    /// lock, with nothing claimed on a miss. An eager async call looks here
    /// when its thread's front has no way for the key, so that it decides
    /// its hit when it is called whatever the front held: a future made
    /// before a `clear` then returns the same as the call would have, not
    /// something that depends on which keys this thread had seen.
    #[inline(never)]
    pub(crate) fn peek(&'static self, call: CallKey) -> Option<V> {
        let hash = hash_key(self.seed, call);
        let inner = self.inner.read();
        let ix = &inner.index;
        let tag = index::tag(hash);
        let mut i = ix.start(hash);
        loop {
            let c = ix.ctrl(i);
            if c == EMPTY {
                return None;
            }
            if c == tag {
                // A claim being written has no position yet: not a value.
                let p = ix.position(i)?;
                let slot = self.arena.get(p);
                // SAFETY: found through the index, under the lock.
                if unsafe { slot.key() } == call {
                    // Only a value: a computation under way is for the
                    // poll to wait on (or to refuse, if it is its own).
                    if tag::of(slot.state.load(Acquire)) != tag::READY {
                        return None;
                    }
                    return match self.found_read(inner, p, slot, call) {
                        Next::Value(v) => Some(v),
                        _ => None,
                    };
                }
            }
            i = ix.next(i);
        }
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
        self.get_or_try_then(key, compute, |v| v)
    }

    /// [`get_or_try`](Self::get_or_try), with `then` applied to the value
    /// however it was found.
    #[inline(always)]
    pub(crate) fn get_or_try_then<X, T>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
        then: impl FnOnce(V) -> T,
    ) -> Result<T, X> {
        // SAFETY: marked.
        unsafe { self.get_or_try_as::<true, X, T>(key, compute, then) }
    }

    /// [`get_or_try_then`](Self::get_or_try_then) for a value whose clone
    /// is a reference count (a singleton's instance): the front need not
    /// guard against the clone's own calls.
    #[inline(always)]
    pub(crate) fn get_or_try_plain_then<X, T>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
        then: impl FnOnce(V) -> T,
    ) -> Result<T, X>
    where
        V: PlainClone,
    {
        // SAFETY: cloning a `PlainClone` value runs none of the user's code.
        unsafe { self.get_or_try_as::<false, X, T>(key, compute, then) }
    }

    /// The hit path every synchronous call inlines. It makes no call but the
    /// last one, to the miss (or to a look that needs calls), so it needs no
    /// stack frame: no registers saved and restored on a hit, and a miss
    /// leaves before it pays for any. `then` runs in the miss's own frame.
    ///
    /// SAFETY: as [`look`](Self::look).
    #[inline(always)]
    unsafe fn get_or_try_as<const MARK: bool, X, T>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
        then: impl FnOnce(V) -> T,
    ) -> Result<T, X> {
        match self.look::<MARK, false>(key) {
            Look::Hit(v) => Ok(then(v)),
            Look::Miss => self.get_or_try_slow(key, || compute().map(|v| (v, None)), then),
            Look::Later => self.get_or_try_later::<MARK, X, T>(key, compute, then),
        }
    }

    /// [`get_or_try_as`](Self::get_or_try_as) after a look that needed
    /// calls: a thread's first, the first after a clear, or a hit on an
    /// entry with a ttl.
    ///
    /// SAFETY: as [`look`](Self::look).
    #[inline(never)]
    unsafe fn get_or_try_later<const MARK: bool, X, T>(
        &'static self,
        key: CallKey,
        compute: impl FnOnce() -> Result<V, X>,
        then: impl FnOnce(V) -> T,
    ) -> Result<T, X> {
        match self.look::<MARK, true>(key).hit() {
            Some(v) => Ok(then(v)),
            None => self.get_or_try_slow(key, || compute().map(|v| (v, None)), then),
        }
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
            None => self.get_or_try_slow(key, compute, |v| v),
        }
    }

    #[inline(never)]
    fn get_or_try_slow<X, T>(
        &'static self,
        call: CallKey,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
        then: impl FnOnce(V) -> T,
    ) -> Result<T, X> {
        let hash = hash_key(self.seed, call);
        self.hint.prefetch(hash);
        match self.read_step(call, hash) {
            Next::Value(v) => Ok(then(v)),
            Next::Compute(c) => self.compute(c, compute).map(then),
            next => self.get_or_try_locked(call, hash, next, compute).map(then),
        }
    }

    /// The rest of [`get_or_try_slow`](Self::get_or_try_slow): waiting, or
    /// what only the write lock settles.
    #[inline(never)]
    fn get_or_try_locked<X>(
        &'static self,
        call: CallKey,
        hash: u64,
        mut next: Next<V>,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        if self.inner.reading_here() {
            return self.alone(compute);
        }
        loop {
            next = match next {
                Next::Value(v) => return Ok(v),
                Next::Compute(c) => return self.compute(c, compute),
                Next::Wait(flight) => {
                    // Inside a session, the fn's spinner while it waits.
                    let shown = crate::replay::waiting(self.info);
                    flight.wait();
                    drop(shown);
                    if let Some(v) = self.waited(&flight) {
                        return Ok(v);
                    }
                    self.step(call, hash)
                }
                Next::Write => self.write_step(call, hash),
            }
        }
    }

    /// Runs `compute` outside the cache. For a call made while this thread
    /// reads the map (from the `Clone` or `Drop` of one of this function's
    /// own values), which may take a value but must not claim, wait or
    /// write: each would wait, forever, for that read to end.
    #[cold]
    fn alone<X>(&self, compute: impl FnOnce() -> Result<(V, Option<Duration>), X>) -> Result<V, X> {
        compute().map(|(v, _)| v)
    }

    /// What to do about `call`: take its value, wait for a computation, or
    /// compute it. Never [`Next::Write`].
    fn step(&'static self, call: CallKey, hash: u64) -> Next<V> {
        match self.read_step(call, hash) {
            Next::Write => self.write_step(call, hash),
            next => next,
        }
    }

    /// The value a landed flight brought, even if a clear dropped its slot
    /// meanwhile. Without one (the computation failed, panicked or was
    /// cancelled) the caller looks again, and perhaps computes it itself.
    fn waited(&self, flight: &Flight<V>) -> Option<V> {
        let v = flight.value.get()?.value.clone();
        self.hits.bump();
        Some(v)
    }

    /// `call`'s entry, in a read section: a hit is served here (and offered
    /// to this thread's front), and an absent key is claimed.
    #[inline(always)]
    fn read_step(&'static self, call: CallKey, hash: u64) -> Next<V> {
        let inner = self.inner.read();
        let ix = &inner.index;
        let tag = index::tag(hash);
        let mut i = ix.start(hash);
        let mut mine = None;
        let (pos, slot) = loop {
            let c = ix.ctrl(i);
            if c == EMPTY {
                if inner.nested() {
                    // A claim's landing or abandon may need the write lock,
                    // which would wait for this thread's outer read.
                    return Next::Write;
                }
                let claim = match mine {
                    Some(m) => m,
                    None => match self.prepare(&inner.alloc, call) {
                        Some(m) => *mine.insert(m),
                        None => return Next::Write,
                    },
                };
                if ix.claim(i, tag, claim.pos).is_ok() {
                    self.claims.bump();
                    // Here, not at the shared exit: with a leave of its own,
                    // the compiler takes this path straight to the compute
                    // instead of storing a `Next` and matching it again
                    // (about 10 instructions a miss).
                    drop(inner);
                    return Next::Compute(claim);
                }
                continue; // filled meanwhile: look at what is there now
            }
            if c == tag {
                let Some(p) = ix.position(i) else {
                    // A claim of this key, or one with the same tag, is being
                    // written; the write lock waits for it.
                    return self.defer(&inner.alloc, mine);
                };
                let slot = self.arena.get(p);
                // SAFETY: found through the index, under the lock.
                if unsafe { slot.key() } == call {
                    break (p, slot);
                }
            }
            i = ix.next(i);
        };
        // Another caller claimed the key between our look and our claim.
        self.unprepare(&inner.alloc, mine);
        self.found_read(inner, pos, slot, call)
    }

    #[cold]
    fn defer(&self, alloc: &Alloc, mine: Option<Claim<V>>) -> Next<V> {
        self.unprepare(alloc, mine);
        Next::Write
    }

    /// [`read_step`](Self::read_step) once it found `call` in `slot`.
    #[inline(always)]
    fn found_read(
        &'static self,
        inner: Read<'_, Inner<V>>,
        pos: Pos,
        slot: &Slot<V>,
        call: CallKey,
    ) -> Next<V> {
        let st = slot.state.load(Acquire);
        match tag::of(st) {
            tag::READY => {
                // SAFETY: a `READY` slot's value, under the lock.
                let Some(value) = (unsafe { slot.value() }) else {
                    return Next::Write;
                };
                let Some(v) = self.hit(value.ready()) else {
                    return Next::Write;
                };
                if front::admits() {
                    match value {
                        Value::Shared(r) => self.remember(call, r),
                        Value::Inline(_) => {
                            drop(inner);
                            self.share(call, pos, tag::gen(st));
                        }
                    }
                }
                self.hits.bump();
                Next::Value(v)
            }
            tag::WAITED => {
                self.check_reentry(pos);
                match inner.flights.get(&pos) {
                    Some(f) => Next::Wait(Arc::clone(f)),
                    None => Next::Write,
                }
            }
            tag::PENDING => {
                self.check_reentry(pos);
                Next::Write
            }
            _ => Next::Write,
        }
    }

    /// Takes a position and readies its slot for a claim of `call`. The slot
    /// is not published until its bucket is claimed.
    #[inline(always)]
    fn prepare(&'static self, alloc: &Alloc, call: CallKey) -> Option<Claim<V>> {
        let pos = alloc.take()?;
        let slot = self.arena.get(pos);
        arena::prefetch_after(slot);
        // SAFETY: a position just taken is this caller's alone.
        let gen = unsafe { slot.claim(call) };
        Some(Claim { pos, gen, slot })
    }

    /// Undoes [`prepare`](Self::prepare), if it was done, for a claim that
    /// did not happen.
    #[inline(always)]
    fn unprepare(&self, alloc: &Alloc, mine: Option<Claim<V>>) {
        if let Some(c) = mine {
            self.give_back(alloc, c.pos, c.gen);
        }
    }

    #[cold]
    fn give_back(&self, alloc: &Alloc, pos: Pos, gen: u64) {
        let slot = self.arena.get(pos);
        slot.state.store(tag::state(gen, tag::FREE), Relaxed);
        alloc.give_back(pos);
    }

    /// Panics if the computation of the slot at `pos` is one this thread is
    /// inside: waiting for it would be waiting for itself.
    fn check_reentry(&'static self, pos: Pos) {
        if crate::thread::is_inside(self.addr(), pos) {
            self.reentered();
        }
    }

    /// Moves an inline value into a handle this thread's front can keep, so
    /// its next hits take no lock: once per key, and only for keys the front
    /// admits. A hit never waits for the write lock: if another thread holds
    /// the map lock, the move is left to a later hit.
    #[cold]
    fn share(&'static self, call: CallKey, pos: Pos, gen: u64) {
        let Some(inner) = self.inner.try_write() else {
            return;
        };
        let slot = self.arena.get(pos);
        if slot.state.load(Relaxed) != tag::state(gen, tag::READY) {
            return;
        }
        // SAFETY: a `READY` slot's value, under the write lock.
        let Some(r) = shared(unsafe { slot.value_mut() }) else {
            return;
        };
        let (r, version) = (Arc::clone(r), self.removals.load(Relaxed));
        drop(inner);
        // After the lock: the way this fills may hold the last handle to
        // another of this store's values, whose `Drop` may call this
        // function. A removal in between only leaves the way stale.
        front::insert(
            self.addr(),
            &self.removals,
            version,
            call,
            &r,
            self.hits.mine(),
        );
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
            self.hits.mine(),
        );
    }

    /// Makes room for at least one claim: a bigger (or purged) index, more
    /// slots. Under the write lock, settled.
    fn make_room(&self, inner: &mut Inner<V>) {
        let live = inner.live();
        let ix = &mut inner.index;
        if ix.occupied >= ix.max_occupied() {
            // At most half full after a rebuild, so that growth is amortized;
            // a tombstone-ridden index is rebuilt at its size, just purged.
            let mut cap = ix.capacity();
            while live + 1 > cap / 2 {
                cap *= 2;
            }
            let arena = &self.arena;
            let seed = self.seed;
            // SAFETY: indexed slots' keys, under the write lock.
            *ix = ix.rebuilt(cap, |p| hash_key(seed, unsafe { arena.get(p).key() }));
            self.hint.set(ix);
        }
        let headroom = inner.index.max_occupied() - inner.index.occupied;
        // Slots for as many keys again as there are (as a `Vec` grows), or
        // for all the index can take if that is fewer.
        let want = headroom.min(live.max(1));
        while inner.alloc.fresh(inner.capacity) + inner.alloc.free_len() < want {
            inner.capacity = self.arena.grow(inner.capacity);
        }
        inner.alloc.allow(headroom, inner.capacity);
    }

    /// `call`'s position under the write lock, or the bucket where it would
    /// go.
    fn probe(&self, ix: &Index, call: CallKey, hash: u64) -> Result<Pos, usize> {
        // SAFETY: indexed slots' keys, under the write lock.
        let at = ix.find(hash, |p| unsafe { self.arena.get(p).key() } == call)?;
        match ix.position(at) {
            Some(p) => Ok(p),
            None => unreachable!("no claim is half written under the write lock"),
        }
    }

    /// What a read section could not settle: claim `call` with room made
    /// first, wait for its computation, take its value, or drop its expired
    /// value and claim it anew. Never [`Next::Write`]. No user code (a
    /// value's `Clone` or `Drop`) runs under the lock.
    #[inline(never)]
    fn write_step(&'static self, call: CallKey, hash: u64) -> Next<V> {
        let (mut inner, mut i) = loop {
            let mut inner = self.write();
            match self.probe(&inner.index, call, hash) {
                Err(i) => break (inner, i),
                Ok(pos) => match self.write_found(&mut inner, pos) {
                    Found::Next(next) => return next,
                    // The user's code runs once the lock is released: a
                    // value's `Clone` or `Drop` may call this function.
                    Found::Take(r) => {
                        drop(inner);
                        return Next::Value(r.value.clone());
                    }
                    Found::Expired(dead) => {
                        drop(inner);
                        // Before the key is claimed anew, so that a `Drop`
                        // that panics leaves no claim behind.
                        drop(dead);
                    }
                },
            }
        };
        if !inner.alloc.can_take() {
            self.make_room(&mut inner);
            // The index may have been rebuilt.
            i = match self.probe(&inner.index, call, hash) {
                Err(i) => i,
                Ok(_) => unreachable!("absent a moment ago, under the write lock"),
            };
        }
        let Some(claim) = self.prepare(&inner.alloc, call) else {
            unreachable!("room was just made")
        };
        let claimed = inner.index.claim(i, index::tag(hash), claim.pos);
        debug_assert!(claimed.is_ok(), "nobody else claims under the write lock");
        self.claims.bump();
        Next::Compute(claim)
    }

    /// [`write_step`](Self::write_step) for a key that has a slot.
    fn write_found(&'static self, inner: &mut Inner<V>, pos: Pos) -> Found<V> {
        let slot = self.arena.get(pos);
        let mut st = slot.state.load(Acquire);
        loop {
            match tag::of(st) {
                tag::PENDING | tag::WAITED => {
                    self.check_reentry(pos);
                    if let Some(f) = inner.flights.get(&pos) {
                        return Found::Next(Next::Wait(Arc::clone(f)));
                    }
                    let waited = tag::state(tag::gen(st), tag::WAITED);
                    match slot.state.compare_exchange(st, waited, AcqRel, Acquire) {
                        Ok(_) => {
                            let f = Arc::new(Flight::new());
                            inner.flights.insert(pos, Arc::clone(&f));
                            return Found::Next(Next::Wait(f));
                        }
                        // Landed meanwhile, without a lock.
                        Err(now) => st = now,
                    }
                }
                tag::READY => {
                    // SAFETY: a `READY` slot's value, under the write lock.
                    let value = unsafe { slot.value_mut() };
                    if value.as_ref().is_some_and(|r| r.ready().is_fresh()) {
                        // Shared, so that it is cloned after the lock.
                        if let Some(r) = shared(value) {
                            self.used(r);
                            self.hits.bump();
                            return Found::Take(Arc::clone(r));
                        }
                    }
                    // Expired: it goes, and the key is claimed anew.
                    let mut dead = self.dead();
                    self.remove_locked(inner, pos, &mut dead);
                    add(&self.evictions, 1);
                    return Found::Expired(dead);
                }
                _ => unreachable!("an indexed slot is pending or ready"),
            }
        }
    }

    #[inline(always)]
    fn compute<X>(
        &'static self,
        claim: Claim<V>,
        compute: impl FnOnce() -> Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        // Dropped without being disarmed when `compute` panics, or the copy
        // of its value for the cache does (see `land`).
        let guard = Abandon {
            store: self,
            pos: claim.pos,
            gen: claim.gen,
        };
        let out = crate::thread::inside(self.addr(), claim.pos, compute);
        self.settle(guard, claim, out)
    }

    /// Stores what a computation produced (or drops its slot) and hands it
    /// to its caller. `guard` abandons the computation unless it lands.
    #[inline(always)]
    fn settle<X>(
        &self,
        guard: Abandon<'_, V>,
        claim: Claim<V>,
        out: Result<(V, Option<Duration>), X>,
    ) -> Result<V, X> {
        match out {
            Ok((v, life)) => {
                self.land(guard, claim, &v, life);
                Ok(v)
            }
            Err(e) => {
                drop(guard);
                Err(e)
            }
        }
    }

    /// Ends computation `gen` with its value: stores it if its key is still
    /// there (a clear while it ran means the value is not kept) and wakes the
    /// waiters, who get the value either way.
    ///
    /// Without a lock for the common case: an unbounded cache without ttl,
    /// nobody waiting. Everything else is out of line.
    ///
    /// The copy for the cache is the user's `Clone`, which may panic: `guard`
    /// stands until it is made, so that a panic there abandons the
    /// computation (its waiters compute for themselves) instead of leaving
    /// its key pending forever. Nothing else runs the user's code before the
    /// value is stored.
    #[inline(always)]
    fn land(&self, guard: Abandon<'_, V>, claim: Claim<V>, value: &V, life: Option<Duration>) {
        let Claim { pos, gen, slot } = claim;
        if !self.untracked(life) {
            let copy = crate::big_vec::clone_value(value);
            std::mem::forget(guard);
            return self.land_slow(pos, gen, Some(copy), life);
        }
        // The copy is made here, straight into the slot: made earlier, it
        // went through the stack, and reading it back stalled on the stores
        // of the claim that were still in flight.
        // SAFETY: the owner fills its own pending slot before publishing it.
        unsafe {
            slot.put(Value::Inline(Ready::new(
                crate::big_vec::clone_value(value),
                None,
                0,
            )))
        };
        std::mem::forget(guard);
        let (from, to) = (tag::state(gen, tag::PENDING), tag::state(gen, tag::READY));
        if slot
            .state
            .compare_exchange(from, to, Release, Relaxed)
            .is_err()
        {
            self.land_slow(pos, gen, None, None);
        }
    }

    /// Whether a value with this `life` needs no LRU tick and no expiry: an
    /// unbounded cache without ttl.
    #[inline(always)]
    fn untracked(&self, life: Option<Duration>) -> bool {
        self.max_entries.is_none() && self.ttl.is_none() && life.is_none()
    }

    /// [`land`](Self::land) under the write lock: `value`, or (`None`) the
    /// one `land` already put in the slot. Waiters share the stored copy
    /// (no clone under the lock); what an eviction or expiry takes out is
    /// dropped after the lock is released and the waiters are woken.
    #[inline(never)]
    fn land_slow(&self, pos: Pos, gen: u64, value: Option<V>, life: Option<Duration>) {
        let mut dead = self.dead();
        let mut inner = self.write();
        let slot = self.arena.get(pos);
        // SAFETY: the owner's own slot, under the write lock.
        let value = value.or_else(|| unsafe { slot.value_mut() }.take().map(Value::into_value));
        let flight = inner.flights.remove(&pos);
        let Some(value) = value else {
            unreachable!("`land` put the value in the slot")
        };
        let st = slot.state.load(Acquire);
        debug_assert_eq!(tag::gen(st), gen, "an owner's slot is not reused under it");
        if tag::of(st) == tag::ORPHAN {
            self.free_slot(&mut inner, pos, gen);
            drop(inner);
            if let Some(f) = flight {
                let _ = f.value.set(Arc::new(Ready::new(value, None, 0)));
                f.land();
            }
            return;
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
        let stored = match &flight {
            Some(f) => {
                let shared = Arc::new(ready);
                let _ = f.value.set(Arc::clone(&shared));
                Value::Shared(shared)
            }
            None => Value::Inline(ready),
        };
        // SAFETY: as above; the slot's value was taken out.
        unsafe { slot.put(stored) };
        slot.state.store(tag::state(gen, tag::READY), Release);
        self.after_insert(&mut inner, pos, gen, tick, expires, &mut dead);
        drop(inner);
        if let Some(f) = flight {
            f.land();
        }
        drop(dead);
    }

    /// Ends computation `gen` without a value (it failed, panicked or was
    /// cancelled): its key goes, and its waiters look again.
    fn abandon(&self, pos: Pos, gen: u64) {
        let mut inner = self.write();
        let slot = self.arena.get(pos);
        let flight = inner.flights.remove(&pos);
        if tag::of(slot.state.load(Acquire)) != tag::ORPHAN {
            self.unindex(&mut inner, pos);
            add(&self.removed, 1);
        }
        self.free_slot(&mut inner, pos, gen);
        drop(inner);
        if let Some(f) = flight {
            f.land();
        }
    }

    /// Drops the index's bucket for the slot at `pos`.
    fn unindex(&self, inner: &mut Inner<V>, pos: Pos) {
        // SAFETY: an indexed slot's key, under the write lock.
        let hash = hash_key(self.seed, unsafe { self.arena.get(pos).key() });
        match inner.index.find_pos(hash, pos) {
            Some(i) => inner.index.remove(i),
            None => unreachable!("the slot is indexed"),
        }
    }

    /// Returns the slot at `pos`, which holds no value or flight, to the free
    /// list.
    fn free_slot(&self, inner: &mut Inner<V>, pos: Pos, gen: u64) {
        let slot = self.arena.get(pos);
        slot.state.store(tag::state(gen, tag::FREE), Release);
        inner.alloc.free(pos);
    }

    /// Whether the slot at `pos` holds generation `gen`'s value.
    fn holds(&self, pos: Pos, gen: u64) -> bool {
        self.arena.get(pos).state.load(Relaxed) == tag::state(gen, tag::READY)
    }

    /// Bookkeeping once a value lands: LRU bound and expiry queue. What it
    /// evicts goes to `dead`.
    fn after_insert(
        &self,
        inner: &mut Inner<V>,
        pos: Pos,
        gen: u64,
        tick: u64,
        expires: u64,
        dead: &mut Dead<V>,
    ) {
        if let Some(max) = self.max_entries {
            inner.lru.push(tick, pos, gen);
            inner.values += 1;
            // Values only: the heap holds nothing else, and a key still being
            // computed must not push out the value that just landed.
            while inner.values > max {
                let victim = inner.lru.pop_victim(|p| {
                    let slot = self.arena.get(p);
                    let st = slot.state.load(Relaxed);
                    if tag::of(st) != tag::READY {
                        return None;
                    }
                    // SAFETY: a `READY` slot's value, under the write lock.
                    let r = unsafe { slot.value() }?.ready();
                    Some((tag::gen(st), r.tick.load(Relaxed)))
                });
                match victim {
                    Some(p) => {
                        self.remove_locked(inner, p, dead);
                        add(&self.evictions, 1);
                    }
                    None => break,
                }
            }
            let values = inner.values;
            inner.lru.compact(values, |p, gen| self.holds(p, gen));
        }
        if expires != 0 {
            self.reap_expired(inner, dead);
            inner.expiry.push_back((expires, pos, gen));
        }
    }

    fn reap_expired(&self, inner: &mut Inner<V>, dead: &mut Dead<V>) {
        let now = now();
        while let Some(&(at, pos, gen)) = inner.expiry.front() {
            if at > now {
                break;
            }
            inner.expiry.pop_front();
            if self.holds(pos, gen) && self.remove_locked(inner, pos, dead) {
                add(&self.evictions, 1);
            }
        }
    }

    /// Takes a computed value out, into `dead`. Every way one leaves the
    /// cache, but `clear`, goes through here.
    fn remove_locked(&self, inner: &mut Inner<V>, pos: Pos, dead: &mut Dead<V>) -> bool {
        let slot = self.arena.get(pos);
        let st = slot.state.load(Acquire);
        if tag::of(st) != tag::READY {
            return false; // being computed: that is not ours to drop
        }
        // SAFETY: a `READY` slot's value, under the write lock.
        dead.push(unsafe { slot.value_mut().take() });
        if self.widgets {
            // SAFETY: an indexed slot's key, under the write lock.
            dead.keys.push(unsafe { slot.key() });
        }
        self.unindex(inner, pos);
        self.free_slot(inner, pos, tag::gen(st));
        if self.max_entries.is_some() {
            inner.values -= 1;
        }
        add(&self.removed, 1);
        add(&self.removals, 1);
        true
    }

    /// A value's `Clone` or `Drop`, run while this thread reads the map, went
    /// on to change the map (a clear, say): that would wait for the read.
    #[cold]
    fn written_while_read(&self) -> ! {
        panic!(
            "the cache of `{}` was changed (cleared, or an entry forgotten) from the `Clone` \
             or `Drop` of one of its own values, while that value was being read from it. \
             The change would wait forever for the read to end, so it panics instead. \
             Make the change after the call that returns the value.",
            self.info.path()
        )
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
    /// (and whoever waits on them) but are not stored: their slots are
    /// orphaned, and their owners free them. The values are dropped once the
    /// map is consistent again and its lock released, so a value's `Drop`
    /// may call this function (a miss, cached as usual) or panic. A handle
    /// a thread's front keeps holds its value until that thread's next
    /// cached call (see `front`).
    pub(crate) fn clear(&self) {
        let mut dead = self.dead();
        let mut inner = self.write();
        let dropped = inner.live() as u64;
        // In position order, not the index's: the slots are read in the order
        // they sit in memory.
        for p in 0..inner.alloc.high() as Pos {
            let slot = self.arena.get(p);
            let mut st = slot.state.load(Acquire);
            loop {
                let orphan = tag::state(tag::gen(st), tag::ORPHAN);
                match tag::of(st) {
                    // The owner may land at this very moment, without a lock.
                    tag::PENDING => {
                        match slot.state.compare_exchange(st, orphan, AcqRel, Acquire) {
                            Ok(_) => break,
                            Err(now) => st = now,
                        }
                    }
                    tag::WAITED => {
                        slot.state.store(orphan, Release);
                        break;
                    }
                    tag::READY => {
                        // SAFETY: a `READY` slot's value, under the write lock.
                        dead.push(unsafe { slot.value_mut().take() });
                        slot.state
                            .store(tag::state(tag::gen(st), tag::FREE), Release);
                        break;
                    }
                    _ => break,
                }
            }
        }
        let Inner {
            index,
            alloc,
            lru,
            expiry,
            ..
        } = &mut *inner;
        index.clear();
        alloc.reset(|p| tag::of(self.arena.get(p).state.load(Relaxed)) == tag::ORPHAN);
        lru.clear();
        expiry.clear();
        inner.values = 0;
        add(&self.removed, dropped);
        add(&self.removals, 1);
        front::note_clear();
        self.make_room(&mut inner);
        drop(inner);
        drop(dead);
    }

    /// Drops the value for `call`, or orphans its computation under way,
    /// which then finishes for its caller and waiters but is not stored (as
    /// after a clear: the value was computed from before the forget).
    /// Whether there was either. Values are dropped after the lock, as in
    /// [`clear`](Self::clear).
    pub(crate) fn forget(&self, call: CallKey) -> bool {
        let mut dead = self.dead();
        let mut inner = self.write();
        let hash = hash_key(self.seed, call);
        let Ok(pos) = self.probe(&inner.index, call, hash) else {
            return false;
        };
        let slot = self.arena.get(pos);
        let mut st = slot.state.load(Acquire);
        while let tag::PENDING | tag::WAITED = tag::of(st) {
            let orphan = tag::state(tag::gen(st), tag::ORPHAN);
            // The owner may land at this very moment, without a lock.
            match slot.state.compare_exchange(st, orphan, AcqRel, Acquire) {
                Ok(_) => {
                    // Its owner frees the slot.
                    self.unindex(&mut inner, pos);
                    add(&self.removed, 1);
                    return true;
                }
                Err(now) => st = now,
            }
        }
        let gone = self.remove_locked(&mut inner, pos, &mut dead);
        drop(inner);
        if gone {
            front::note_clear();
        }
        drop(dead);
        gone
    }

    pub(crate) fn stats(&self) -> Stats {
        let claims = self.claims.get();
        let held = claims.saturating_sub(self.removed.load(Relaxed));
        Stats {
            hits: self.hits.get(),
            misses: claims.saturating_sub(self.claims_base.load(Relaxed)),
            entries: held.saturating_sub(self.expired()) as usize,
            evictions: self.evictions.load(Relaxed),
            disk_hits: 0,
        }
    }

    /// Values past their ttl that are still in the map (no call has taken
    /// them out yet) and so no longer served. Walks the expiry queue, which
    /// is empty without a ttl.
    fn expired(&self) -> u64 {
        let inner = self.inner.read();
        if inner.expiry.is_empty() {
            return 0;
        }
        let now = now();
        // An entry of the queue is still held while its slot holds that
        // generation's value; under the lock, a value is not removed.
        inner
            .expiry
            .iter()
            .filter(|&&(at, pos, gen)| at <= now && self.holds(pos, gen))
            .count() as u64
    }

    pub(crate) fn reset_counters(&self) {
        let _inner = self.write();
        self.hits.reset();
        self.claims_base.store(self.claims.get(), Relaxed);
        self.evictions.store(0, Relaxed);
    }
}

struct Abandon<'a, V: Clone + Send + Sync + 'static> {
    store: &'a Store<V>,
    pos: Pos,
    gen: u64,
}

impl<V: Clone + Send + Sync + 'static> Drop for Abandon<'_, V> {
    fn drop(&mut self) {
        self.store.abandon(self.pos, self.gen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::{Kind, Options};
    use std::convert::Infallible;

    fn store() -> &'static Store<u32> {
        static INFO: FnInfo =
            FnInfo::new(|| "tests::f::__memo_here", "f", Kind::Memo, 0, Options::new);
        Store::leak_new(&INFO)
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
