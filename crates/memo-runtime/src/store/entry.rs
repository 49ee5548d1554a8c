//! What a store holds per key.
//!
//! A value lives inline in its slot, so a key computed once costs no
//! allocation of its own. The first time a thread hits it through the shared
//! path, it is moved into a `Shared` value that per-thread fronts can hold, so
//! that later hits need no lock. A computation under way is `PENDING`; a
//! `Flight` to park on is made only when a second caller comes to wait.

use crate::key::CallKey;
use parking_lot::Mutex;
use std::cell::UnsafeCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A computed value with its expiry and LRU tick.
pub(crate) struct Ready<V> {
    pub(crate) value: V,
    /// When it expires ([`now`] units), or 0 for never.
    pub(crate) expires: u64,
    /// Last use, for LRU (only bounded caches maintain it).
    pub(crate) tick: AtomicU64,
}

impl<V> Ready<V> {
    pub(crate) fn new(value: V, ttl: Option<Duration>, tick: u64) -> Self {
        Ready {
            value,
            // A ttl beyond u64 nanoseconds (584 years) never expires;
            // `as u64` would wrap it to a short one.
            expires: ttl.map_or(0, |t| {
                now().saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
            }),
            tick: AtomicU64::new(tick),
        }
    }

    /// Not expired (a value without ttl never is).
    #[inline(always)]
    pub(crate) fn is_fresh(&self) -> bool {
        self.expires == 0 || before(self.expires)
    }
}

/// A computed value as a slot holds it.
pub(crate) enum Value<V> {
    /// Held in the slot only.
    Inline(Ready<V>),
    /// Held by some thread's front too.
    Shared(Arc<Ready<V>>),
}

impl<V> Value<V> {
    #[inline(always)]
    pub(crate) fn ready(&self) -> &Ready<V> {
        match self {
            Value::Inline(r) => r,
            Value::Shared(r) => r,
        }
    }

    pub(crate) fn into_value(self) -> V
    where
        V: Clone,
    {
        match self {
            Value::Inline(r) => r.value,
            Value::Shared(r) => Arc::try_unwrap(r).map_or_else(|r| r.value.clone(), |r| r.value),
        }
    }
}

/// A slot's state word: a generation (which tells this use of the slot from
/// its earlier and later ones) and one of the tags below. The generation's
/// low byte is the length byte of the key it was claimed for, which saves the
/// slot a word of its own.
pub(crate) mod tag {
    /// Not in use: on the free list, or about to be claimed.
    pub(crate) const FREE: u64 = 0;
    /// Being computed; nobody waits yet, so the owner may land without a lock.
    pub(crate) const PENDING: u64 = 1;
    /// Being computed, and callers wait on its flight.
    pub(crate) const WAITED: u64 = 2;
    /// Holds a value.
    pub(crate) const READY: u64 = 3;
    /// Being computed, but a clear dropped its key: the owner hands its value
    /// to the waiters and frees the slot.
    pub(crate) const ORPHAN: u64 = 4;

    const BITS: u32 = 3;

    #[inline(always)]
    pub(crate) fn of(state: u64) -> u64 {
        state & ((1 << BITS) - 1)
    }

    #[inline(always)]
    pub(crate) fn gen(state: u64) -> u64 {
        state >> BITS
    }

    #[inline(always)]
    pub(crate) fn state(gen: u64, tag: u64) -> u64 {
        (gen << BITS) | tag
    }

    /// The generation after `gen`, for a key of length byte `len`. (53 bits
    /// of use count are never used up.)
    #[inline(always)]
    pub(crate) fn next_gen(gen: u64, len: u8) -> u64 {
        ((gen >> 8) + 1) << 8 | u64::from(len)
    }

    /// The length byte of the key generation `gen` was claimed for.
    #[inline(always)]
    pub(crate) fn key_len(gen: u64) -> u8 {
        gen as u8
    }
}

/// One key's entry, at a stable address (see `arena`).
///
/// Who may touch which field, which is what makes the `unsafe` accessors
/// sound:
/// * `key`, and the generation in `state`, are written by a claimer before
///   the index publishes the slot, or under the store's write lock; anyone
///   who found the slot through the index under the map lock, and the
///   owner, read them.
/// * `value` is written by the owner while the slot is `PENDING`/`WAITED`
///   (before it publishes `READY`), or under the write lock; it is read under
///   a lock once `READY`, or by the owner. It is `None` unless it holds a
///   value.
///
/// Nothing else is kept here: a computation's flight, which only a second
/// caller of the key makes, sits beside the index, and who computes a key is
/// known only to the computing thread (see `thread::inside`). For a small
/// value (a `#[memo]` `u64` with its recording handle) the slot is then one
/// cache line, which a miss claims and lands in without touching another.
#[repr(align(64))]
pub(crate) struct Slot<V> {
    pub(crate) state: AtomicU64,
    key: UnsafeCell<[u64; 2]>,
    value: UnsafeCell<Option<Value<V>>>,
}

// SAFETY: the fields are shared between threads only as the rules above
// allow: values move between threads (`Send`) and are read by several at once
// (`Sync`).
unsafe impl<V: Send + Sync> Sync for Slot<V> {}
// SAFETY: as above.
unsafe impl<V: Send + Sync> Send for Slot<V> {}

impl<V> Slot<V> {
    pub(crate) fn free() -> Self {
        Slot {
            state: AtomicU64::new(tag::state(0, tag::FREE)),
            key: UnsafeCell::new([0; 2]),
            value: UnsafeCell::new(None),
        }
    }

    /// SAFETY: see the field rules.
    #[inline(always)]
    pub(crate) unsafe fn key(&self) -> CallKey {
        let gen = tag::gen(self.state.load(Ordering::Relaxed));
        CallKey::from_parts(*self.key.get(), tag::key_len(gen))
    }

    /// Readies a slot that holds no value for a computation of `key`, under
    /// the next generation, which it returns. SAFETY: the caller holds the
    /// slot unpublished, or the write lock.
    #[inline(always)]
    pub(crate) unsafe fn claim(&self, key: CallKey) -> u64 {
        let (words, len) = key.parts();
        let gen = tag::next_gen(tag::gen(self.state.load(Ordering::Relaxed)), len);
        *self.key.get() = words;
        self.state
            .store(tag::state(gen, tag::PENDING), Ordering::Relaxed);
        gen
    }

    /// The value of a `READY` slot. SAFETY: see the field rules.
    #[inline(always)]
    pub(crate) unsafe fn value(&self) -> Option<&Value<V>> {
        (*self.value.get()).as_ref()
    }

    /// Puts a value in an empty slot. SAFETY: see the field rules.
    #[inline(always)]
    pub(crate) unsafe fn put(&self, v: Value<V>) {
        debug_assert!((*self.value.get()).is_none());
        // No drop of the old contents: there are none.
        std::ptr::write(self.value.get(), Some(v));
    }

    /// SAFETY: see the field rules; the caller holds the write lock, or owns
    /// the computation, which is what makes this reference exclusive.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn value_mut(&self) -> &mut Option<Value<V>> {
        &mut *self.value.get()
    }
}

/// Where callers wait for a computation under way: threads park on its
/// address, tasks leave a waker, until it lands; then they take its value.
pub(crate) struct Flight<V> {
    done: AtomicBool,
    waiters: AtomicU32,
    /// Tasks waiting (async callers never block a thread).
    wakers: Mutex<Vec<Waker>>,
    /// The value, for the waiters (even if a clear dropped the slot
    /// meanwhile). Shared with the slot rather than cloned for it: the
    /// landing then runs none of the user's code (a `Clone`) under the
    /// map lock.
    pub(crate) value: OnceLock<Arc<Ready<V>>>,
}

impl<V> Flight<V> {
    pub(crate) fn new() -> Self {
        Flight {
            done: AtomicBool::new(false),
            waiters: AtomicU32::new(0),
            wakers: Mutex::new(Vec::new()),
            value: OnceLock::new(),
        }
    }

    /// Resolves when the flight lands, without blocking the thread.
    pub(crate) fn landed(&self) -> Landed<'_, V> {
        Landed {
            flight: self,
            slot: None,
        }
    }

    fn park_key(&self) -> usize {
        self as *const Self as usize
    }

    /// Blocks until the flight lands. The caller must keep it alive (an
    /// `Arc`) and hold no lock.
    pub(crate) fn wait(&self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the key is this flight's address, which the caller keeps
        // alive; `validate` only reads an atomic and cannot panic.
        unsafe {
            parking_lot_core::park(
                self.park_key(),
                || !self.done.load(Ordering::SeqCst),
                || {},
                |_, _| {},
                parking_lot_core::DEFAULT_PARK_TOKEN,
                None,
            );
        }
    }

    /// Ends the flight (its value, if any, already set) and wakes the
    /// waiters. Call without holding a lock.
    pub(crate) fn land(&self) {
        self.done.store(true, Ordering::SeqCst);
        // After `done`, under the lock: a task that registers later sees it.
        let wakers = std::mem::take(&mut *self.wakers.lock());
        wakers.into_iter().for_each(Waker::wake);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // SAFETY: as in `wait`.
            unsafe {
                parking_lot_core::unpark_all(
                    self.park_key(),
                    parking_lot_core::DEFAULT_UNPARK_TOKEN,
                );
            }
        }
    }
}

/// A task's wait for a [`Flight`].
pub(crate) struct Landed<'a, V> {
    flight: &'a Flight<V>,
    /// Where this task's waker sits, so a re-poll replaces it, not adds one.
    slot: Option<usize>,
}

impl<V> Future for Landed<'_, V> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flight.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let mut wakers = self.flight.wakers.lock();
        if self.flight.done.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        match self.slot {
            Some(i) if i < wakers.len() => {
                if !wakers[i].will_wake(cx.waker()) {
                    wakers[i] = cx.waker().clone();
                }
            }
            _ => {
                wakers.push(cx.waker().clone());
                let i = wakers.len() - 1;
                drop(wakers);
                self.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

/// Whether `expires` is still ahead. Out of line, so that a hit on a value
/// without ttl keeps nothing live across the clock's call.
#[cold]
#[inline(never)]
fn before(expires: u64) -> bool {
    now() < expires
}

/// Monotonic nanoseconds since the first call, never 0.
#[inline]
pub(crate) fn now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}
