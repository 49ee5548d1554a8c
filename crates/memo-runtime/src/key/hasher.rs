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
    buf: [u8; BUF],
    len: usize,
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
            buf: [0; BUF],
            len: 0,
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
        if bytes.len() <= BUF - self.len {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            self.spill_bytes(bytes);
        }
    }

    #[cold]
    fn spill_bytes(&mut self, bytes: &[u8]) {
        let state = self.spill.get_or_insert_with(|| Box::new(Xxh3::new()));
        state.update(&self.buf[..self.len]);
        self.len = 0;
        if bytes.len() <= BUF {
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        } else {
            state.update(bytes);
        }
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
    #[inline]
    pub fn finish(self) -> u128 {
        match self.spill {
            None => xxh3_128(&self.buf[..self.len]),
            Some(mut state) => {
                state.update(&self.buf[..self.len]);
                state.digest128()
            }
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
