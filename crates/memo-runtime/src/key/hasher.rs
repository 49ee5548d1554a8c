//! The byte stream behind every cache key.
//!
//! A key is `xxh3_128` of a *canonical byte stream*: every hashed value appends
//! little-endian, fixed-width bytes to it, so equal values give equal digests on
//! every platform, in every process and every build. Two rules keep it fast:
//!
//! * small keys (the common `f(u64)`) never leave a stack buffer and are hashed
//!   one-shot, which is what xxh3 is fastest at;
//! * a *bulk run* of bytes of 64 or more (a long string, a `&[f64]`) is replaced
//!   in the stream by its own 16-byte `xxh3_128`, computed one-shot at memory
//!   speed instead of being copied through the buffer.
//!
//! Because streaming xxh3 equals one-shot xxh3 over the concatenation, the
//! digest depends only on the canonical stream, never on how it was chunked: a
//! `VecDeque` split in two internal halves hashes like the equivalent `Vec`.

use std::mem::MaybeUninit;
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// Bulk runs at least this long are digested instead of copied.
pub(crate) const BULK_THRESHOLD: usize = 64;
const BUF: usize = 128;

/// Builds a 128-bit cache key from a sequence of values.
///
/// Generated code creates one per call, feeds it each hashed parameter with
/// [`KeyHasher::param`], and calls [`KeyHasher::finish`]. You only meet it when
/// you implement [`StableHash`](crate::StableHash) by hand.
///
/// ```
/// use memo_runtime::KeyHasher;
///
/// let mut a = KeyHasher::new();
/// a.param("n", &42u64);
/// let mut b = KeyHasher::new();
/// b.param("n", &42u64);
/// assert_eq!(a.finish(), b.finish());
/// ```
pub struct KeyHasher {
    // The first 16 bytes of the stream live in a register-sized integer: a
    // small key (the common case) is assembled without touching memory, then
    // hashed one-shot. Writing it byte-wise into a buffer and reading it back
    // as words stalls store-to-load forwarding, which cost more than xxh3.
    head: u128,
    /// Bytes held: in `head` until `big`, then in `buf`.
    len: usize,
    big: bool,
    // Left uninitialised until a key outgrows `head`, so that small keys don't
    // pay for clearing it; `buf[..len]` is initialised whenever `big`.
    buf: [MaybeUninit<u8>; BUF],
    // Only keys longer than the buffer pay for the streaming state.
    spill: Option<Box<Xxh3>>,
}

impl Default for KeyHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyHasher {
    /// An empty hasher.
    ///
    /// ```
    /// let h = memo_runtime::KeyHasher::new();
    /// assert_eq!(h.finish(), memo_runtime::KeyHasher::new().finish());
    /// ```
    #[inline]
    pub fn new() -> Self {
        KeyHasher {
            head: 0,
            len: 0,
            big: false,
            buf: [MaybeUninit::uninit(); BUF],
            spill: None,
        }
    }

    /// Appends one named parameter: its name, then its value.
    ///
    /// ```
    /// use memo_runtime::KeyHasher;
    ///
    /// let mut a = KeyHasher::new();
    /// a.param("x", &1u8);
    /// let mut b = KeyHasher::new();
    /// b.param("y", &1u8);
    /// assert_ne!(a.finish(), b.finish(), "the name is part of the key");
    /// ```
    #[inline]
    pub fn param<T: crate::StableHash + ?Sized>(&mut self, name: &str, value: &T) {
        self.write_str(name);
        value.stable_hash(self);
    }

    /// Appends raw bytes to the canonical stream, as they are.
    ///
    /// The caller is responsible for making the encoding unambiguous (a length
    /// prefix for variable-sized data, see [`KeyHasher::write_len`]).
    ///
    /// ```
    /// let mut h = memo_runtime::KeyHasher::new();
    /// h.write_bytes(b"abc");
    /// # let _ = h.finish();
    /// ```
    #[inline]
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        if !self.big && self.len + n <= 16 {
            if n > 0 {
                let mut word = [0u8; 16];
                word[..n].copy_from_slice(bytes);
                self.head |= u128::from_le_bytes(word) << (8 * self.len);
                self.len += n;
            }
        } else if self.big && n <= BUF - self.len {
            self.put(bytes);
        } else {
            self.write_slow(bytes);
        }
    }

    /// Appends to `buf`, which must have room.
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        for (slot, b) in self.buf[self.len..self.len + bytes.len()]
            .iter_mut()
            .zip(bytes)
        {
            *slot = MaybeUninit::new(*b);
        }
        self.len += bytes.len();
    }

    /// The bytes held in `buf`.
    #[inline]
    fn held(&self) -> &[u8] {
        // SAFETY: `buf[..len]` has been written whenever `big` (the only time
        // this is called): by `write_slow` when switching, then by `put`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    #[cold]
    fn write_slow(&mut self, bytes: &[u8]) {
        if !self.big {
            let head = self.head.to_le_bytes();
            let held = self.len;
            self.len = 0;
            self.put(&head[..held]);
            self.big = true;
            if bytes.len() <= BUF - self.len {
                self.put(bytes);
                return;
            }
        }
        let mut state = self.spill.take().unwrap_or_else(|| Box::new(Xxh3::new()));
        state.update(self.held());
        self.len = 0;
        if bytes.len() <= BUF {
            self.put(bytes);
        } else {
            state.update(bytes);
        }
        self.spill = Some(state);
    }

    /// Appends a length (or count) as an unsigned LEB128 varint, so short
    /// lengths cost one byte.
    ///
    /// ```
    /// let mut h = memo_runtime::KeyHasher::new();
    /// h.write_len(3);
    /// # let _ = h.finish();
    /// ```
    #[inline]
    pub fn write_len(&mut self, mut n: usize) {
        if n < 0x80 {
            return self.write_bytes(&[n as u8]);
        }
        let mut out = [0u8; 10];
        let mut i = 0;
        while n >= 0x80 {
            out[i] = (n as u8) | 0x80;
            n >>= 7;
            i += 1;
        }
        out[i] = n as u8;
        self.write_bytes(&out[..=i]);
    }

    /// Appends a length-prefixed string.
    ///
    /// ```
    /// let mut h = memo_runtime::KeyHasher::new();
    /// h.write_str("hello");
    /// # let _ = h.finish();
    /// ```
    #[inline]
    pub fn write_str(&mut self, s: &str) {
        self.write_len(s.len());
        self.write_bulk(s.as_bytes());
    }

    /// Appends a run of bytes whose length the caller has already written.
    /// Runs of 64 bytes or more are replaced by their 16-byte digest.
    ///
    /// ```
    /// let big = vec![7u8; 1 << 20];
    /// let mut h = memo_runtime::KeyHasher::new();
    /// h.write_len(big.len());
    /// h.write_bulk(&big);
    /// # let _ = h.finish();
    /// ```
    #[inline]
    pub fn write_bulk(&mut self, bytes: &[u8]) {
        if bytes.len() < BULK_THRESHOLD {
            self.write_bytes(bytes);
        } else {
            self.write_bytes(&xxh3_128(bytes).to_le_bytes());
        }
    }

    /// Appends a run given in several parts (a `VecDeque`'s two halves): the
    /// result equals [`KeyHasher::write_bulk`] over the parts concatenated.
    ///
    /// ```
    /// use memo_runtime::KeyHasher;
    ///
    /// let mut a = KeyHasher::new();
    /// a.write_bulk_parts(&[b"ab", b"cd"]);
    /// let mut b = KeyHasher::new();
    /// b.write_bulk(b"abcd");
    /// assert_eq!(a.finish(), b.finish());
    /// ```
    pub fn write_bulk_parts(&mut self, parts: &[&[u8]]) {
        // One part: one-shot xxh3, faster than the streaming state.
        if let [one] = parts {
            return self.write_bulk(one);
        }
        let total: usize = parts.iter().map(|p| p.len()).sum();
        if total < BULK_THRESHOLD {
            for p in parts {
                self.write_bytes(p);
            }
        } else {
            let mut state = Xxh3::new();
            for p in parts {
                state.update(p);
            }
            self.write_bytes(&state.digest128().to_le_bytes());
        }
    }

    /// The 128-bit digest of everything written so far.
    ///
    /// ```
    /// let mut h = memo_runtime::KeyHasher::new();
    /// h.write_str("abc");
    /// let digest: u128 = h.finish();
    /// # let _ = digest;
    /// ```
    #[inline(always)]
    pub fn finish(self) -> u128 {
        if !self.big {
            return self.finish_small();
        }
        self.finish_big()
    }

    /// The key as the store takes it: the stream itself while it fits in 16
    /// bytes (so a repeated hit needs no hashing at all), the digest otherwise.
    #[doc(hidden)]
    #[inline(always)]
    pub fn call_key(self) -> CallKey {
        if !self.big {
            return CallKey {
                word: self.head,
                len: self.len as u8,
            };
        }
        CallKey::from(self.finish_big())
    }

    #[inline(always)]
    fn finish_small(&self) -> u128 {
        super::xxh3_small::xxh3_128(self.head, self.len)
    }

    #[cold]
    fn finish_big(mut self) -> u128 {
        match self.spill.take() {
            None => xxh3_128(self.held()),
            Some(mut state) => {
                state.update(self.held());
                state.digest128()
            }
        }
    }
}

/// A call's key before hashing: equal calls have equal `CallKey`s, and
/// [`CallKey::digest`] is the call's 128-bit key digest.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallKey {
    word: u128,
    /// 0..=16: `word` holds the stream's bytes; `DIGESTED`: `word` is the digest.
    len: u8,
}

const DIGESTED: u8 = u8::MAX;

impl CallKey {
    /// The key's digest, as [`KeyHasher::finish`] returns it.
    #[inline(always)]
    pub fn digest(self) -> u128 {
        if self.len == DIGESTED {
            self.word
        } else {
            super::xxh3_small::xxh3_128(self.word, usize::from(self.len))
        }
    }

    /// The key as two words to hash, the length folded into the top byte
    /// (an index still compares whole keys, so a fold that meets is a shared
    /// hash, never a shared entry).
    #[inline(always)]
    pub(crate) fn halves(self) -> (u64, u64) {
        (
            self.word as u64,
            ((self.word >> 64) as u64) ^ u64::from(self.len).rotate_right(8),
        )
    }

    /// The key as plain words and its length byte, for a store that keeps
    /// keys without `u128`'s alignment.
    #[inline(always)]
    pub(crate) fn parts(self) -> ([u64; 2], u8) {
        ([self.word as u64, (self.word >> 64) as u64], self.len)
    }

    /// The key [`parts`](Self::parts) gave.
    #[inline(always)]
    pub(crate) fn from_parts(words: [u64; 2], len: u8) -> Self {
        CallKey {
            word: u128::from(words[0]) | u128::from(words[1]) << 64,
            len,
        }
    }

    /// A cheap mix of the key, for a small index (not a digest: short keys are
    /// raw bytes here).
    #[inline(always)]
    pub(crate) fn mix(self) -> u64 {
        let x =
            (self.word as u64) ^ ((self.word >> 64) as u64).rotate_left(23) ^ u64::from(self.len);
        x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

impl From<u128> for CallKey {
    #[inline(always)]
    fn from(digest: u128) -> Self {
        CallKey {
            word: digest,
            len: DIGESTED,
        }
    }
}

/// The digest of one value on its own, as a parameter-less key would see it.
///
/// ```
/// assert_eq!(memo_runtime::digest_of(&1u32), memo_runtime::digest_of(&1u32));
/// assert_ne!(memo_runtime::digest_of(&1u32), memo_runtime::digest_of(&2u32));
/// ```
pub fn digest_of<T: crate::StableHash + ?Sized>(value: &T) -> u128 {
    let mut h = KeyHasher::new();
    value.stable_hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the chunking, the digest is xxh3_128 of the bytes written:
    /// across the 16-byte head, the buffer and the streaming spill.
    #[test]
    fn digest_is_xxh3_of_the_stream_for_any_chunking() {
        let data: Vec<u8> = (0..1000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for total in [0, 1, 7, 8, 9, 15, 16, 17, 31, 63, 127, 128, 129, 300, 1000] {
            for chunk in [1, 2, 3, 5, 8, 13, 16, 40, 127, 200] {
                let mut h = KeyHasher::new();
                for c in data[..total].chunks(chunk) {
                    h.write_bytes(c);
                }
                assert_eq!(
                    h.finish(),
                    xxh3_128(&data[..total]),
                    "total {total}, chunk {chunk}"
                );
            }
        }
    }
}
