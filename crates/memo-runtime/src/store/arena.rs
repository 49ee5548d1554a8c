//! Slots at addresses that never move while the store lives.
//!
//! That is what lets the owner of a computation land its value without a
//! lock, and a reader keep a position while the index is rebuilt: the index
//! holds positions, and a position always means the same memory. Segments
//! double in size, so a position finds its slot with one leading-zero count,
//! and growing never copies a slot.

use super::entry::Slot;
use std::sync::atomic::{AtomicPtr, Ordering};

/// A slot's position in the arena. (Four bytes keep index buckets to one
/// word; 2^32 slots would take over 300 GB.)
pub(crate) type Pos = u32;

/// Small: a function's first call makes its store and the first segment,
/// and in a fresh process every new page it touches is a page fault. (64
/// slots of a `Vec` took two pages; 8 take a quarter of one.)
const FIRST_BITS: u32 = 3;
/// Slots in the first segment; segment `k` holds `FIRST << k`.
const FIRST: usize = 1 << FIRST_BITS;
/// Enough segments for every `Pos`.
const SEGMENTS: usize = (Pos::BITS + 1 - FIRST_BITS) as usize;

pub(crate) struct Arena<V> {
    /// Written under the store's write lock only, and only from null to a
    /// segment that then lives as long as the arena.
    segments: [AtomicPtr<Slot<V>>; SEGMENTS],
}

/// The segment and offset of `pos`.
#[inline(always)]
fn locate(pos: Pos) -> (usize, usize) {
    let p = pos as usize + FIRST;
    let k = (usize::BITS - 1 - p.leading_zeros() - FIRST_BITS) as usize;
    (k, p - (FIRST << k))
}

impl<V> Arena<V> {
    pub(crate) fn new() -> Self {
        Arena {
            segments: [const { AtomicPtr::new(std::ptr::null_mut()) }; SEGMENTS],
        }
    }

    /// The slot at `pos`, which must be below a capacity [`grow`](Self::grow)
    /// returned.
    #[inline(always)]
    pub(crate) fn get(&self, pos: Pos) -> &Slot<V> {
        let (k, off) = locate(pos);
        let seg = self.segments[k].load(Ordering::Acquire);
        assert!(!seg.is_null(), "slot position {pos} was never allocated");
        // SAFETY: a non-null segment `k` holds `FIRST << k` slots and lives
        // as long as `self`; `locate` keeps `off` below that.
        unsafe { &*seg.add(off) }
    }

    /// Adds the next segment, given the capacity so far; returns the new
    /// capacity. Call under the store's write lock (one grower at a time).
    pub(crate) fn grow(&self, capacity: usize) -> usize {
        let (k, off) = locate(capacity as Pos);
        debug_assert_eq!(off, 0, "capacity is always a segment boundary");
        let seg: Box<[Slot<V>]> = (0..FIRST << k).map(|_| Slot::free()).collect();
        let ptr = Box::into_raw(seg).cast::<Slot<V>>();
        self.segments[k].store(ptr, Ordering::Release);
        capacity + (FIRST << k)
    }
}

/// Asks for the slots after `slot` to be brought into cache: claims mostly
/// take positions in order, and each claim's writes to a slot that is not
/// in cache would otherwise hold up the locked instructions after them.
#[inline(always)]
pub(crate) fn prefetch_after<V>(slot: &Slot<V>) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Past the end of a segment this is a harmless hint about other memory.
        let ahead = (slot as *const Slot<V>).wrapping_add(4).cast::<i8>();
        // SAFETY: a prefetch never faults and reads nothing.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(ahead) };
    }
}

impl<V> Drop for Arena<V> {
    fn drop(&mut self) {
        for (k, seg) in self.segments.iter_mut().enumerate() {
            let ptr = *seg.get_mut();
            if !ptr.is_null() {
                let len = FIRST << k;
                // SAFETY: made by `grow` from a boxed slice of this length.
                drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_fill_segments_in_order() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(7), (0, 7));
        assert_eq!(locate(8), (1, 0));
        assert_eq!(locate(23), (1, 15));
        assert_eq!(locate(24), (2, 0));
        assert_eq!(locate(Pos::MAX).0, SEGMENTS - 1);
    }

    #[test]
    fn a_small_value_s_slot_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Slot<u64>>(), 64);
        // What a `#[memo]` fn returning `u64` stores: the value and its
        // recorded elements.
        type Memo = crate::replay::Recorded<u64>;
        assert_eq!(std::mem::size_of::<Slot<Memo>>(), 64);
        assert_eq!(std::mem::align_of::<Slot<u8>>(), 64);
    }

    #[test]
    fn slots_keep_their_address_as_the_arena_grows() {
        let a: Arena<u32> = Arena::new();
        let mut cap = a.grow(0);
        assert_eq!(cap, FIRST);
        let first = a.get(5) as *const Slot<u32>;
        cap = a.grow(cap);
        cap = a.grow(cap);
        assert_eq!(cap, FIRST + 2 * FIRST + 4 * FIRST);
        assert_eq!(a.get(5) as *const _, first);
        let _ = a.get(cap as Pos - 1);
    }
}
