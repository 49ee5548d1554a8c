//! What a thread knows about itself: a small index, and the computations it
//! is inside.
//!
//! A live thread's index is unique among live threads, which is what the hit
//! counters (one exclusive stripe per thread) and the map latch (one lane per
//! thread) need. Indexes are recycled when a thread exits, which keeps them
//! small in apps that spawn threads forever.
//!
//! The computations a thread is inside are what the re-entrancy check needs:
//! a call that finds its key being computed by a body this thread is running
//! would wait for itself. They are kept per thread, not in the slot, so a
//! slot has no owner to store.

use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

static FREE: Mutex<Vec<u32>> = Mutex::new(Vec::new());
/// The next index never handed out: every live index is below it.
static NEXT: AtomicU32 = AtomicU32::new(0);

struct Index(u32);

impl Drop for Index {
    fn drop(&mut self) {
        // Anything this thread still runs during teardown must not use the
        // index once another thread may have it.
        let _ = CACHED.try_with(|c| c.set(u32::MAX - 1));
        crate::store::forget_stripes();
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

thread_local! {
    /// The innermost computation this thread is inside right now: the body
    /// of one of its own misses, or an async body it is polling.
    static INSIDE: Cell<*const Inside> = const { Cell::new(std::ptr::null()) };
}

/// One computation a thread is inside, linked to the one it is nested in.
/// It lives on the stack of [`inside`], which unlinks it before returning or
/// unwinding, so every link reachable from [`INSIDE`] is alive.
struct Inside {
    store: usize,
    pos: u32,
    outer: *const Inside,
}

/// Runs `body`, the computation of the slot at `pos` in the store at
/// `store`, marked as what this thread is inside. Nothing is allocated: the
/// mark lives in this call's frame.
#[inline(always)]
pub(crate) fn inside<R>(store: usize, pos: u32, body: impl FnOnce() -> R) -> R {
    struct Leave(*const Inside);
    impl Drop for Leave {
        #[inline(always)]
        fn drop(&mut self) {
            INSIDE.with(|c| c.set(self.0));
        }
    }
    let outer = INSIDE.with(Cell::get);
    let mark = Inside { store, pos, outer };
    INSIDE.with(|c| c.set(&mark));
    let _leave = Leave(outer);
    body()
}

/// Whether this thread is inside the computation of the slot at `pos` in the
/// store at `store`: waiting for it would be waiting for itself. (A slot
/// being computed is not reused until its computation ends, which is after
/// [`inside`] returned, so the position names the computation.)
#[cold]
pub(crate) fn is_inside(store: usize, pos: u32) -> bool {
    let mut at = INSIDE.with(Cell::get);
    // SAFETY: every mark linked from `INSIDE` is alive (see `Inside`).
    while let Some(mark) = unsafe { at.as_ref() } {
        if mark.store == store && mark.pos == pos {
            return true;
        }
        at = mark.outer;
    }
    false
}
