//! `StableHash` for the standard library's types.
//!
//! The encodings here are part of the on-disk format: changing one changes
//! every persisted key. `tests/golden_digests.rs` pins them.

use super::hasher::KeyHasher;
use crate::StableHash;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

macro_rules! primitive {
    ($($t:ty => $wide:ty),* $(,)?) => {$(
        impl StableHash for $t {
            #[inline]
            fn stable_hash(&self, h: &mut KeyHasher) {
                h.write_bytes(&(*self as $wide).to_le_bytes());
            }
            #[inline]
            fn stable_hash_slice_parts(parts: &[&[Self]], h: &mut KeyHasher) {
                h.write_len(parts.iter().map(|p| p.len()).sum());
                // On a little-endian target whose width matches the canonical
                // one, the memory *is* the canonical encoding: hash it in one go.
                if cfg!(target_endian = "little")
                    && std::mem::size_of::<$t>() == std::mem::size_of::<$wide>()
                {
                    let mut bytes: [&[u8]; 2] = [&[], &[]];
                    for (out, p) in bytes.iter_mut().zip(parts) {
                        // SAFETY: primitives have no padding and every byte is initialised.
                        *out = unsafe { std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), std::mem::size_of_val(*p)) };
                    }
                    if parts.len() <= 2 {
                        return h.write_bulk_parts(&bytes[..parts.len()]);
                    }
                }
                let mut bytes = Vec::new();
                for x in parts.iter().flat_map(|p| p.iter()) {
                    bytes.extend_from_slice(&(*x as $wide).to_le_bytes());
                }
                h.write_bulk(&bytes);
            }
        }
    )*};
}

primitive! {
    u8 => u8, u16 => u16, u32 => u32, u64 => u64, u128 => u128, usize => u64,
    i8 => i8, i16 => i16, i32 => i32, i64 => i64, i128 => i128, isize => i64,
}

macro_rules! float {
    ($($t:ty),*) => {$(
        /// Hashed by bit pattern: `0.0` and `-0.0` are different keys, and a NaN
        /// matches only a NaN with the same bits.
        impl StableHash for $t {
            #[inline]
            fn stable_hash(&self, h: &mut KeyHasher) {
                self.to_bits().stable_hash(h);
            }
            #[inline]
            fn stable_hash_slice_parts(parts: &[&[Self]], h: &mut KeyHasher) {
                h.write_len(parts.iter().map(|p| p.len()).sum());
                if cfg!(target_endian = "little") && parts.len() <= 2 {
                    let mut bytes: [&[u8]; 2] = [&[], &[]];
                    for (out, p) in bytes.iter_mut().zip(parts) {
                        // SAFETY: floats have no padding; their bytes are their bits.
                        *out = unsafe { std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), std::mem::size_of_val(*p)) };
                    }
                    return h.write_bulk_parts(&bytes[..parts.len()]);
                }
                let bytes: Vec<u8> = parts.iter().flat_map(|p| p.iter()).flat_map(|x| x.to_bits().to_le_bytes()).collect();
                h.write_bulk(&bytes);
            }
        }
    )*};
}
float!(f32, f64);

impl StableHash for bool {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        h.write_bytes(&[*self as u8]);
    }
}

impl StableHash for char {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        (*self as u32).stable_hash(h);
    }
}

impl StableHash for str {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        h.write_str(self);
    }
}

impl StableHash for String {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        h.write_str(self);
    }
}

impl StableHash for () {
    #[inline]
    fn stable_hash(&self, _: &mut KeyHasher) {}
}

impl<T: ?Sized> StableHash for std::marker::PhantomData<T> {
    #[inline]
    fn stable_hash(&self, _: &mut KeyHasher) {}
}

// Smart pointers and references hash what they point to; to key by identity
// instead, use the `ptr` override (`#[memo(hash(x = ptr))]`).
macro_rules! transparent {
    ($($p:ident)*) => {$(
        impl<T: StableHash + ?Sized> StableHash for $p<T> {
            #[inline]
            fn stable_hash(&self, h: &mut KeyHasher) {
                (**self).stable_hash(h);
            }
        }
    )*};
}
transparent!(Box Rc Arc);

impl<T: StableHash + ?Sized> StableHash for &T {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        (**self).stable_hash(h);
    }
}

// No `&mut T`: a cached fn that took one would skip its mutation on every
// hit, so a `&mut` anywhere in a key (`Option<&mut T>`, an alias, a tuple
// pattern) must fail to compile, as a top-level one does in the macro.

impl<T: StableHash + ToOwned + ?Sized> StableHash for Cow<'_, T> {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        (**self).stable_hash(h);
    }
}

impl<T: StableHash> StableHash for Option<T> {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        match self {
            None => h.write_bytes(&[0]),
            Some(v) => {
                h.write_bytes(&[1]);
                v.stable_hash(h);
            }
        }
    }
}

impl<T: StableHash, E: StableHash> StableHash for Result<T, E> {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        match self {
            Ok(v) => {
                h.write_bytes(&[0]);
                v.stable_hash(h);
            }
            Err(e) => {
                h.write_bytes(&[1]);
                e.stable_hash(h);
            }
        }
    }
}

impl<T: StableHash> StableHash for [T] {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        T::stable_hash_slice(self, h);
    }
}

impl<T: StableHash, const N: usize> StableHash for [T; N] {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        T::stable_hash_slice(self, h);
    }
}

impl<T: StableHash> StableHash for Vec<T> {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        T::stable_hash_slice(self, h);
    }
}

impl<T: StableHash> StableHash for VecDeque<T> {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        // Hashes like the contiguous `Vec`, wherever the ring buffer splits.
        let (a, b) = self.as_slices();
        T::stable_hash_slice_parts(&[a, b], h);
    }
}

// Hash maps and sets: equal contents hash equal whatever the iteration order.
// Each entry is digested on its own, the digests are sorted, and the sorted list
// is hashed. Sorting, not XOR-ing, so that repeated or cancelling entries can't
// collide.
fn unordered<'a, I, F>(len: usize, items: I, h: &mut KeyHasher, mut each: F)
where
    I: Iterator,
    F: FnMut(I::Item, &mut KeyHasher) + 'a,
{
    let mut digests: Vec<u128> = items
        .map(|item| {
            let mut e = KeyHasher::new();
            each(item, &mut e);
            e.finish()
        })
        .collect();
    digests.sort_unstable();
    h.write_len(len);
    u128::stable_hash_slice(&digests, h);
}

impl<K: StableHash, V: StableHash, S> StableHash for HashMap<K, V, S> {
    fn stable_hash(&self, h: &mut KeyHasher) {
        unordered(self.len(), self.iter(), h, |(k, v), e| {
            k.stable_hash(e);
            v.stable_hash(e);
        });
    }
}

impl<T: StableHash, S> StableHash for HashSet<T, S> {
    fn stable_hash(&self, h: &mut KeyHasher) {
        unordered(self.len(), self.iter(), h, |x, e| x.stable_hash(e));
    }
}

// B-trees iterate in key order, so their order is already canonical.
impl<K: StableHash, V: StableHash> StableHash for BTreeMap<K, V> {
    fn stable_hash(&self, h: &mut KeyHasher) {
        h.write_len(self.len());
        for (k, v) in self {
            k.stable_hash(h);
            v.stable_hash(h);
        }
    }
}

impl<T: StableHash> StableHash for BTreeSet<T> {
    fn stable_hash(&self, h: &mut KeyHasher) {
        h.write_len(self.len());
        for x in self {
            x.stable_hash(h);
        }
    }
}

/// A path hashes as its bytes (`OsStr::as_encoded_bytes`): `a/b` and `a//b`
/// are different keys. To key on a file's contents or modification time, give
/// the parameter an override: `#[memo(hash(path = |p| file_mtime(p)))]`.
impl StableHash for Path {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        let bytes = self.as_os_str().as_encoded_bytes();
        h.write_len(bytes.len());
        h.write_bulk(bytes);
    }
}

impl StableHash for PathBuf {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        self.as_path().stable_hash(h);
    }
}

impl StableHash for std::ffi::OsStr {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        let bytes = self.as_encoded_bytes();
        h.write_len(bytes.len());
        h.write_bulk(bytes);
    }
}

impl StableHash for std::ffi::OsString {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        self.as_os_str().stable_hash(h);
    }
}

impl StableHash for Duration {
    #[inline]
    fn stable_hash(&self, h: &mut KeyHasher) {
        self.as_secs().stable_hash(h);
        self.subsec_nanos().stable_hash(h);
    }
}

macro_rules! tuple {
    ($($name:ident)+) => {
        impl<$($name: StableHash),+> StableHash for ($($name,)+) {
            #[inline]
            #[allow(non_snake_case)]
            fn stable_hash(&self, h: &mut KeyHasher) {
                let ($($name,)+) = self;
                $($name.stable_hash(h);)+
            }
        }
    };
}
tuple!(A);
tuple!(A B);
tuple!(A B C);
tuple!(A B C D);
tuple!(A B C D E);
tuple!(A B C D E F);
tuple!(A B C D E F G);
tuple!(A B C D E F G H);
tuple!(A B C D E F G H I);
tuple!(A B C D E F G H I J);
tuple!(A B C D E F G H I J K);
tuple!(A B C D E F G H I J K L);

/// Hashed as the signed offset from the Unix epoch, so times before 1970 work.
impl StableHash for std::time::SystemTime {
    fn stable_hash(&self, h: &mut KeyHasher) {
        match self.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => {
                h.write_bytes(&[0]);
                d.stable_hash(h);
            }
            Err(e) => {
                h.write_bytes(&[1]);
                e.duration().stable_hash(h);
            }
        }
    }
}
