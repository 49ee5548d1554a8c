//! Small per-thread indexes, recycled when a thread exits.
//!
//! A live thread's index is unique among live threads, which is what the hit
//! counters (one exclusive stripe per thread) and the re-entrancy check (who
//! owns a computation) need. Recycling keeps indexes small in apps that spawn
//! threads forever.

use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::{
    AtomicU32, AtomicU64,
    Ordering::{Relaxed, SeqCst},
};

static FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The next index never handed out: every live index is below it.
static NEXT: AtomicU32 = AtomicU32::new(0);

struct Index(u32);

impl Drop for Index {
    fn drop(&mut self) {
        // Anything this thread still runs during teardown must not use the
        // index once another thread may have it.
        let _ = CACHED.try_with(|c| c.set(u32::MAX - 1));
        FREE.lock().push(self.0);
    }
}

thread_local! {
    static INDEX: Index = {
        let reused = FREE.lock().pop();
        // SeqCst: `store::latch` relies on a writer that read `NEXT` before
        // this index existed being seen by the index's first reader.
        Index(reused.unwrap_or_else(|| NEXT.fetch_add(1, SeqCst)))
    };
    // A copy without a destructor, for the fast path.
    static CACHED: Cell<u32> = const { Cell::new(u32::MAX) };
}

/// This thread's index.
#[inline]
pub(crate) fn index() -> u32 {
    let i = CACHED.with(Cell::get);
    if i != u32::MAX {
        return i;
    }
    slow_index()
}

#[cold]
fn slow_index() -> u32 {
    // During thread teardown INDEX may already be gone: fall back to a shared
    // (never exclusive) index, which callers treat as contended.
    let i = INDEX.try_with(|i| i.0).unwrap_or(u32::MAX - 1);
    let _ = CACHED.try_with(|c| c.set(i));
    i
}

/// An upper bound on every live thread's [`index`].
#[inline]
pub(crate) fn indexes() -> u32 {
    NEXT.load(SeqCst)
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static ID: Cell<u64> = const { Cell::new(0) };
}

/// An id no other thread ever has, for "who is computing this key".
#[inline]
pub(crate) fn id() -> u64 {
    ID.with(|c| {
        if c.get() == 0 {
            c.set(fresh_id());
        }
        c.get()
    })
}

/// An id from the same space as thread ids, for an async computation (which
/// may move between threads, so a thread can't own it).
pub(crate) fn fresh_id() -> u64 {
    NEXT_ID.fetch_add(1, Relaxed)
}

thread_local! {
    /// Async computations being polled on this thread right now, innermost
    /// last. A call that finds its key pending under one of these is the
    /// computation waiting for itself.
    static POLLING: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `poll` with `owner` marked as being polled on this thread.
pub(crate) fn polling<R>(owner: u64, poll: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            let _ = POLLING.try_with(|p| p.borrow_mut().pop());
        }
    }
    POLLING.with(|p| p.borrow_mut().push(owner));
    let _pop = Pop;
    poll()
}

/// Whether `owner` is this thread, or an async computation this thread is
/// polling right now: waiting for it would be waiting for ourselves.
pub(crate) fn is_self(owner: u64) -> bool {
    owner == id() || POLLING.with(|p| p.borrow().contains(&owner))
}
