//! What a store holds per key.
//!
//! A value lives inline in the map slot, so a key computed once costs no
//! allocation of its own. The first time a thread hits it through the shared
//! path, it is moved into a `Shared` entry that per-thread fronts can hold, so
//! that later hits need no lock. A computation under way is `Pending`; a
//! `Flight` to park on is made only when a second caller comes to wait.

use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
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
            expires: ttl.map_or(0, |t| now().saturating_add(t.as_nanos() as u64)),
            tick: AtomicU64::new(tick),
        }
    }

    /// Not expired (a value without ttl never is).
    #[inline(always)]
    pub(crate) fn is_fresh(&self) -> bool {
        self.expires == 0 || now() < self.expires
    }
}

pub(crate) enum State<V> {
    /// Being computed by thread `owner`.
    Pending {
        owner: u64,
        flight: Option<std::sync::Arc<Flight<V>>>,
    },
    /// Computed, held in the map only.
    Inline(Ready<V>),
    /// Computed, and held by some thread's front too.
    Shared(std::sync::Arc<Ready<V>>),
}

pub(crate) struct Slot<V> {
    pub(crate) key: crate::key::CallKey,
    /// Tells this slot from a later one under the same key, for the LRU and
    /// expiry queues' lazy deletion and for a computation to find its slot.
    pub(crate) id: u64,
    pub(crate) state: State<V>,
}

impl<V> super::slots::Keyed for Slot<V> {
    #[inline(always)]
    fn key(&self) -> crate::key::CallKey {
        self.key
    }
}

impl<V> Slot<V> {
    /// The flight of a computation under way, taken to be landed.
    pub(crate) fn take_flight(&mut self) -> Option<std::sync::Arc<Flight<V>>> {
        match &mut self.state {
            State::Pending { flight, .. } => flight.take(),
            _ => None,
        }
    }

    #[inline(always)]
    pub(crate) fn ready(&self) -> Option<&Ready<V>> {
        match &self.state {
            State::Inline(r) => Some(r),
            State::Shared(r) => Some(r),
            State::Pending { .. } => None,
        }
    }
}

/// Where callers wait for a computation under way: threads park on its
/// address, tasks leave a waker, until it lands; then they take its value.
pub(crate) struct Flight<V> {
    done: AtomicBool,
    waiters: AtomicU32,
    /// Tasks waiting (async callers never block a thread).
    wakers: Mutex<Vec<Waker>>,
    /// The value, for the waiters (even if a clear dropped the slot meanwhile).
    pub(crate) value: OnceLock<V>,
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

/// Monotonic nanoseconds since the first call, never 0.
#[inline]
pub(crate) fn now() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1
}
