//! Where a claim gets its slot: one atomic add in a read section of the latch.
//!
//! The positions a claimer can take are, in order, the free list from its
//! end, then never-used positions from `base` on. The `i`th claim since the
//! last write-locked section takes the `i`th of those, so claimers need only
//! a shared counter; the books are settled under the write lock, which no
//! claimer can hold a position across. A claimer that loses its key to
//! another (both missed at once) hands its position back through a mutex:
//! that is rare, and it must not disturb the counter's meaning.

use super::arena::Pos;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

pub(crate) struct Alloc {
    /// Freed positions; claims take from the end.
    free: Vec<Pos>,
    /// Positions from here on were never used.
    base: usize,
    /// Claims since the books were last settled.
    cursor: AtomicUsize,
    /// How many claims may be made before the next settlement.
    budget: usize,
    returned: Mutex<Vec<Pos>>,
}

impl Alloc {
    pub(crate) fn new() -> Self {
        Alloc {
            free: Vec::new(),
            base: 0,
            cursor: AtomicUsize::new(0),
            budget: 0,
            returned: Mutex::new(Vec::new()),
        }
    }

    /// A position for a claim, or `None` once the budget is spent (the
    /// claimer must then take the write lock, where the store makes room).
    #[inline(always)]
    pub(crate) fn take(&self) -> Option<Pos> {
        let i = self.cursor.fetch_add(1, Relaxed);
        if i >= self.budget {
            return None;
        }
        let n = self.free.len();
        Some(match n.checked_sub(i + 1) {
            Some(j) => self.free[j],
            None => (self.base + i - n) as Pos,
        })
    }

    /// Whether a claim may take a position now (after a
    /// [`settle`](Self::settle), where the count is exact).
    pub(crate) fn can_take(&self) -> bool {
        self.cursor.load(Relaxed) < self.budget
    }

    /// Returns a position [`take`](Self::take) gave but the claim didn't use.
    #[cold]
    pub(crate) fn give_back(&self, pos: Pos) {
        self.returned.lock().push(pos);
    }

    /// Folds the claims made since the last call into the books (with the
    /// write lock held); returns how many of them were kept.
    pub(crate) fn settle(&mut self) -> usize {
        let taken = (*self.cursor.get_mut()).min(self.budget);
        *self.cursor.get_mut() = 0;
        let from_free = taken.min(self.free.len());
        self.free.truncate(self.free.len() - from_free);
        self.base += taken - from_free;
        self.budget -= taken;
        let returned = self.returned.get_mut();
        let back = returned.len();
        self.free.append(returned);
        taken - back
    }

    /// Lets claims take up to `n` positions below `capacity` (after a
    /// [`settle`](Self::settle)).
    pub(crate) fn allow(&mut self, n: usize, capacity: usize) {
        debug_assert_eq!(*self.cursor.get_mut(), 0, "settled");
        self.budget = n.min(self.free.len() + capacity - self.base);
    }

    /// Never-used positions below `capacity`.
    pub(crate) fn fresh(&self, capacity: usize) -> usize {
        capacity - self.base
    }

    pub(crate) fn free_len(&self) -> usize {
        self.free.len()
    }

    /// Positions handed out so far (those below are used or free).
    pub(crate) fn high(&self) -> usize {
        self.base
    }

    /// Frees `pos` (after a [`settle`](Self::settle)).
    pub(crate) fn free(&mut self, pos: Pos) {
        debug_assert_eq!(*self.cursor.get_mut(), 0, "settled");
        self.free.push(pos);
    }

    /// Forgets every position: all are free but `busy`, in ascending order
    /// (after a [`settle`](Self::settle)).
    pub(crate) fn reset(&mut self, busy: impl Fn(Pos) -> bool) {
        debug_assert_eq!(*self.cursor.get_mut(), 0, "settled");
        self.free.clear();
        self.budget = 0;
        let high = self.base as Pos;
        if (0..high).any(&busy) {
            // Descending, so that claims, which take from the end, go up.
            self.free.extend((0..high).rev().filter(|&p| !busy(p)));
        } else {
            self.base = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_take_free_positions_then_fresh_ones_within_budget() {
        let mut a = Alloc::new();
        a.allow(3, 64);
        assert_eq!((a.take(), a.take(), a.take()), (Some(0), Some(1), Some(2)));
        assert_eq!(a.take(), None, "the budget is spent");
        assert_eq!(a.settle(), 3);
        a.free(1);
        a.allow(10, 64);
        // The free list first, then fresh positions.
        assert_eq!((a.take(), a.take()), (Some(1), Some(3)));
        a.give_back(3);
        assert_eq!(a.settle(), 1, "a position given back was not kept");
        a.allow(10, 64);
        assert_eq!((a.take(), a.take()), (Some(3), Some(4)));
        assert_eq!(a.settle(), 2);
        assert_eq!(a.high(), 5);
        a.allow(100, 7);
        assert_eq!(a.budget, 2, "bounded by capacity");
        a.settle();
        a.reset(|p| p == 2);
        a.allow(100, 7);
        assert_eq!((a.take(), a.take(), a.take()), (Some(0), Some(1), Some(3)));
        a.settle();
        a.reset(|_| false);
        assert_eq!(
            a.high(),
            0,
            "with nothing busy, every position is fresh again"
        );
    }
}
