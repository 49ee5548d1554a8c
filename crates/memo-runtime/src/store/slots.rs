//! The store's map: a small hash index from key to a position in a dense
//! vector of slots.
//!
//! The index's buckets stay 16 bytes whatever the value type, so a miss
//! touches one small random bucket and appends to the vector; a clear empties
//! the vector, and the next misses fill it again front to back. (A hash map of
//! whole slots made every miss write a random 64-byte bucket.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Keys are already uniformly distributed (folded digests): hashing them
/// again would only cost time.
#[derive(Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(b);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

pub(crate) struct SlotMap<T> {
    index: HashMap<u64, u32, BuildHasherDefault<DigestHasher>>,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for SlotMap<T> {
    fn default() -> Self {
        SlotMap {
            index: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> SlotMap<T> {
    #[inline]
    pub(crate) fn get(&self, key: &u64) -> Option<&T> {
        let &i = self.index.get(key)?;
        self.slots[i as usize].as_ref()
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: &u64) -> Option<&mut T> {
        let &i = self.index.get(key)?;
        self.slots[i as usize].as_mut()
    }

    /// Puts `value` under `key`, replacing what was there. (One probe of
    /// the index: a miss inserts right after finding the key absent.)
    pub(crate) fn insert(&mut self, key: u64, value: T) {
        use std::collections::hash_map::Entry;
        match self.index.entry(key) {
            Entry::Occupied(e) => self.slots[*e.get() as usize] = Some(value),
            Entry::Vacant(e) => {
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slots[i as usize] = Some(value);
                        i
                    }
                    None => {
                        self.slots.push(Some(value));
                        (self.slots.len() - 1) as u32
                    }
                };
                e.insert(i);
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &u64) -> Option<T> {
        let i = self.index.remove(key)?;
        self.free.push(i);
        self.slots[i as usize].take()
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

#[cfg(test)]
mod tests {
    use super::SlotMap;

    #[test]
    fn behaves_like_a_map() {
        let mut m = SlotMap::default();
        for k in 0..100u64 {
            m.insert(k, k * 10);
        }
        m.insert(5, 55);
        assert_eq!(m.get(&5), Some(&55));
        assert_eq!(m.remove(&7), Some(70));
        assert_eq!(m.get(&7), None);
        assert_eq!(m.len(), 99);
        m.insert(1000, 1); // reuses the freed place
        assert_eq!(m.get(&1000), Some(&1));
        *m.get_mut(&1000).unwrap() = 2;
        assert_eq!(m.get(&1000), Some(&2));
        let mut all: Vec<u64> = m.drain().collect();
        all.sort_unstable();
        assert_eq!(all.len(), 100);
        assert_eq!(m.len(), 0);
        assert_eq!(m.get(&5), None);
    }
}
