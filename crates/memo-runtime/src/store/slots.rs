//! The store's map: a hash index of 4-byte slot positions over a dense
//! vector of slots, each of which holds its own key.
//!
//! Why this shape:
//! * a miss touches one small random index bucket and appends its slot to
//!   the vector; a clear empties the vector, and the next misses fill it
//!   again front to back (a hash map of whole slots made every miss write a
//!   random 64-byte bucket);
//! * a slot's position is stable while it lives, so a computation that
//!   started a slot, and the LRU and expiry queues, reach it again without
//!   probing the index;
//! * the index compares whole keys, so two keys with the same hash are two
//!   entries, never one: no key ever gets another key's value.

use crate::key::CallKey;
use hashbrown::hash_table::{Entry, HashTable};

/// What the map holds: anything that knows its own key.
pub(crate) trait Keyed {
    fn key(&self) -> CallKey;
}

/// A slot's position in the map, stable until the slot is removed. (Four
/// bytes keep the index small; 2^32 slots would take over 300 GB.)
pub(crate) type Pos = u32;

pub(crate) struct SlotMap<T> {
    index: HashTable<Pos>,
    slots: Vec<Option<T>>,
    free: Vec<Pos>,
    seed: u64,
}

impl<T> Default for SlotMap<T> {
    fn default() -> Self {
        Self::with_seed(random_seed())
    }
}

impl<T> SlotMap<T> {
    /// A map whose index hashes with `seed` (see [`hash_key`]).
    pub(crate) fn with_seed(seed: u64) -> Self {
        SlotMap {
            index: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seed,
        }
    }
}

/// A seed for a map, so that nobody can pick arguments that all land in
/// one index bucket.
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

impl<T: Keyed> SlotMap<T> {
    /// The index's hash of `key`.
    #[inline(always)]
    pub(crate) fn hash(&self, key: CallKey) -> u64 {
        hash_key(self.seed, key)
    }

    /// The slot for `key`, with its position.
    #[inline]
    pub(crate) fn find(&self, key: CallKey, hash: u64) -> Option<(Pos, &T)> {
        let slots = &self.slots;
        let &pos = self.index.find(hash, |&p| is(slots, p, key))?;
        Some((pos, slots[pos as usize].as_ref()?))
    }

    /// The position of `key`'s slot: `Ok` if it was there, `Err` if `make`
    /// made it just now (one probe of the index for both).
    #[inline(always)]
    pub(crate) fn find_or_insert(
        &mut self,
        key: CallKey,
        hash: u64,
        make: impl FnOnce() -> T,
    ) -> Result<Pos, Pos> {
        let Self {
            index,
            slots,
            free,
            seed,
        } = self;
        let vacant = match index.entry(hash, |&p| is(slots, p, key), |&p| rehash(*seed, slots, p)) {
            Entry::Occupied(e) => return Ok(*e.get()),
            Entry::Vacant(v) => v,
        };
        let pos = match free.pop() {
            Some(p) => {
                slots[p as usize] = Some(make());
                p
            }
            None => {
                // Room first, then the slot is built where it goes. (Made
                // before `push`'s capacity check, it was built on the stack
                // and copied in wider words than it was written in, which
                // stalls store-to-load forwarding on every miss.)
                slots.reserve(1);
                let len = slots.len();
                // SAFETY: `reserve` made room for one more element at `len`,
                // which is written before the length covers it.
                unsafe {
                    slots.as_mut_ptr().add(len).write(Some(make()));
                    slots.set_len(len + 1);
                }
                len as Pos
            }
        };
        vacant.insert(pos);
        Err(pos)
    }

    /// Makes room for `n` more keys.
    #[cfg(test)]
    pub(crate) fn reserve(&mut self, n: usize) {
        let Self {
            index, slots, seed, ..
        } = self;
        index.reserve(n, |&p| rehash(*seed, slots, p));
    }

    /// Puts `value` under its key, which must be absent.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, value: T) -> Pos {
        let key = value.key();
        let h = self.hash(key);
        self.find_or_insert(key, h, || value)
            .expect_err("key already present")
    }

    #[inline]
    pub(crate) fn at(&self, pos: Pos) -> Option<&T> {
        self.slots.get(pos as usize)?.as_ref()
    }

    #[inline]
    pub(crate) fn at_mut(&mut self, pos: Pos) -> Option<&mut T> {
        self.slots.get_mut(pos as usize)?.as_mut()
    }

    /// Takes the slot at `pos` out.
    pub(crate) fn remove_at(&mut self, pos: Pos) -> Option<T> {
        let hash = rehash(self.seed, &self.slots, pos);
        let slot = self.slots.get_mut(pos as usize)?.take()?;
        if let Ok(e) = self.index.find_entry(hash, |&p| p == pos) {
            e.remove();
        }
        self.free.push(pos);
        Some(slot)
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Empties the map, handing out every value.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.index.clear();
        self.free.clear();
        self.slots.drain(..).flatten()
    }
}

/// The index's hash of `key`: a folded multiply (as in foldhash), which
/// mixes every input bit into both halves of the product.
#[inline(always)]
pub(crate) fn hash_key(seed: u64, key: CallKey) -> u64 {
    let (lo, hi) = key.halves();
    let p = u128::from(lo ^ seed) * u128::from(hi ^ 0x243f_6a88_85a3_08d3);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The hash of the key held at `pos`, which must be live.
#[inline]
fn rehash<T: Keyed>(seed: u64, slots: &[Option<T>], pos: Pos) -> u64 {
    slots[pos as usize]
        .as_ref()
        .map_or(0, |s| hash_key(seed, s.key()))
}

#[inline(always)]
fn is<T: Keyed>(slots: &[Option<T>], pos: Pos, key: CallKey) -> bool {
    slots[pos as usize].as_ref().is_some_and(|s| s.key() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(CallKey, u32);
    impl Keyed for Item {
        fn key(&self) -> CallKey {
            self.0
        }
    }

    fn k(n: u128) -> CallKey {
        CallKey::from(n)
    }

    #[test]
    fn behaves_like_a_map() {
        let mut m = SlotMap::default();
        let mut pos = Vec::new();
        for n in 0..100u32 {
            pos.push(m.insert(Item(k(n.into()), n * 10)));
        }
        let h = m.hash(k(5));
        let (p5, item) = m.find(k(5), h).unwrap();
        assert_eq!((p5, item.1), (pos[5], 50));
        assert_eq!(m.remove_at(pos[7]).map(|i| i.1), Some(70));
        assert!(m.find(k(7), m.hash(k(7))).is_none());
        assert!(m.at(pos[7]).is_none());
        assert_eq!(m.len(), 99);
        let p = m.insert(Item(k(1000), 1)); // reuses the freed place
        assert_eq!(p, pos[7]);
        m.at_mut(p).unwrap().1 = 2;
        assert_eq!(m.find(k(1000), m.hash(k(1000))).unwrap().1 .1, 2);
        let mut all: Vec<u32> = m.drain().map(|i| i.1).collect();
        all.sort_unstable();
        assert_eq!(all.len(), 100);
        assert_eq!(m.len(), 0);
        assert!(m.find(k(5), m.hash(k(5))).is_none());
    }

    #[test]
    fn keys_with_one_hash_stay_apart() {
        let mut m: SlotMap<Item> = SlotMap::default();
        // Every key under the same hash: the index must tell them apart by key.
        let same = 42;
        m.reserve(20); // so that no rehash moves them to their real hashes
        for n in 0..20u32 {
            let made = m.find_or_insert(k(n.into()), same, || Item(k(n.into()), n));
            assert!(made.is_err(), "{n} is not there yet");
        }
        assert!(m.find_or_insert(k(3), same, || unreachable!()).is_ok());
        for n in 0..20u32 {
            assert_eq!(m.find(k(n.into()), same).unwrap().1 .1, n);
        }
        assert!(m.find(k(99), same).is_none());
    }
}
