//! Exact least-recently-used order without writing anything shared on a hit
//! beyond one tick.
//!
//! A hit stores a fresh tick in its slot. The heap holds one record per entry,
//! possibly older than the entry's real tick. To evict, pop the oldest record:
//! if the entry has been used since (its tick moved on), push it back with its
//! real tick and pop again. The first record that is current is the true LRU
//! entry, since every other entry's real tick is at least its record's.

use super::arena::Pos;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Records are `(tick, slot position, slot generation)`.
#[derive(Default)]
pub(crate) struct LruIndex {
    heap: BinaryHeap<Reverse<(u64, Pos, u64)>>,
}

impl LruIndex {
    pub(crate) fn push(&mut self, tick: u64, pos: Pos, gen: u64) {
        self.heap.push(Reverse((tick, pos, gen)));
    }

    /// The position of the least recently used live entry. `current` gives
    /// the live `(generation, tick)` at a position, or `None` once it holds
    /// no value.
    pub(crate) fn pop_victim(
        &mut self,
        mut current: impl FnMut(Pos) -> Option<(u64, u64)>,
    ) -> Option<Pos> {
        while let Some(Reverse((tick, pos, gen))) = self.heap.pop() {
            match current(pos) {
                Some((live_gen, live_tick)) if live_gen == gen => {
                    if live_tick == tick {
                        return Some(pos);
                    }
                    self.heap.push(Reverse((live_tick, pos, gen)));
                }
                // Forgotten, cleared or replaced since: a stale record.
                _ => {}
            }
        }
        None
    }

    /// Drops stale records once they outnumber live entries.
    pub(crate) fn compact(&mut self, live: usize, mut is_live: impl FnMut(Pos, u64) -> bool) {
        if self.heap.len() > 2 * live + 64 {
            self.heap
                .retain(|Reverse((_, pos, gen))| is_live(*pos, *gen));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
    }
}
