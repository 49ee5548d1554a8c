//! Cache keys: the [`StableHash`] trait, its encodings for std types, and the
//! [`KeyHasher`] that turns them into 128-bit digests.

mod hasher;
mod impls;
mod ptr;
mod xxh3_small;

pub use hasher::{digest_of, CallKey, KeyHasher};
pub use ptr::Address;

/// A value that can be part of a cache key.
///
/// Unlike [`std::hash::Hash`], whose output may change between platforms and
/// compiler versions, a `StableHash` value writes a documented, little-endian,
/// fixed-width encoding. Equal values give equal digests in every process, on
/// every platform: persisted and shared caches rely on that.
///
/// Implemented for integers, floats (by bit pattern), `bool`, `char`, strings,
/// `Option`, `Result`, tuples (up to 12), arrays, slices, `Vec`, `VecDeque`,
/// `HashMap`/`HashSet` (order-independent), `BTreeMap`/`BTreeSet`, `Box`,
/// `Rc`, `Arc`, `&T`, `Cow`, `Path`/`PathBuf`, `OsStr`, `Duration`, `()`.
/// Not for `&mut T`: a cached fn skips its body on a hit, so a mutation
/// through a hashed `&mut` would happen on the first call only.
/// For your own types, derive it:
///
/// ```
/// use memo_runtime::{digest_of, StableHash};
///
/// #[derive(StableHash)]
/// struct Query {
///     table: String,
///     limit: u32,
/// }
///
/// let a = Query { table: "users".into(), limit: 10 };
/// let b = Query { table: "users".into(), limit: 10 };
/// assert_eq!(digest_of(&a), digest_of(&b));
/// ```
///
/// The derive writes the type's name, then each field's name and value (or
/// the variant's name and fields, for an enum), so reordering fields or
/// renaming a variant changes the key rather than silently colliding.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be hashed into a cache key",
    label = "this value is part of a cache key, so it must implement `StableHash`",
    note = "for a parameter: prefix its name with `_` to leave it out of the key, or key it another way with `hash(param = ptr)` or `hash(param = |v| ...)`; for `self`: `hash(self = ignore)`",
    note = "for your own types: `#[derive(memo_runtime::StableHash)]`",
    note = "a `&mut` is never part of a key: a hit skips the body, so the mutation would not happen; take `&` if the fn only reads it, or prefix the parameter with `_` if it is not an input"
)]
pub trait StableHash {
    /// Appends this value's canonical encoding.
    ///
    /// ```
    /// use memo_runtime::{KeyHasher, StableHash};
    ///
    /// struct Celsius(f64);
    /// impl StableHash for Celsius {
    ///     fn stable_hash(&self, h: &mut KeyHasher) {
    ///         self.0.stable_hash(h);
    ///     }
    /// }
    /// assert_eq!(memo_runtime::digest_of(&Celsius(1.5)), memo_runtime::digest_of(&1.5f64));
    /// ```
    fn stable_hash(&self, h: &mut KeyHasher);

    /// Appends a slice of values: its length, then each element. Primitive
    /// types override this to hash the whole slice's memory at once.
    ///
    /// ```
    /// use memo_runtime::{digest_of, KeyHasher, StableHash};
    ///
    /// let mut h = KeyHasher::new();
    /// u8::stable_hash_slice(&[1, 2, 3], &mut h);
    /// assert_eq!(h.finish(), digest_of(&vec![1u8, 2, 3]));
    /// ```
    #[inline]
    fn stable_hash_slice(items: &[Self], h: &mut KeyHasher)
    where
        Self: Sized,
    {
        Self::stable_hash_slice_parts(&[items], h);
    }

    /// Appends the concatenation of several slices as one slice would be.
    ///
    /// ```
    /// use memo_runtime::{KeyHasher, StableHash};
    ///
    /// let mut a = KeyHasher::new();
    /// u32::stable_hash_slice_parts(&[&[1, 2], &[3]], &mut a);
    /// let mut b = KeyHasher::new();
    /// u32::stable_hash_slice(&[1, 2, 3], &mut b);
    /// assert_eq!(a.finish(), b.finish());
    /// ```
    #[inline]
    fn stable_hash_slice_parts(parts: &[&[Self]], h: &mut KeyHasher)
    where
        Self: Sized,
    {
        h.write_len(parts.iter().map(|p| p.len()).sum());
        for x in parts.iter().flat_map(|p| p.iter()) {
            x.stable_hash(h);
        }
    }
}
