//! The payload encoding: a compact, non-self-describing serde format in which
//! a primitive is its little-endian bytes and nothing else.
//!
//! Why not rmp-serde (MessagePack): it tags every element, so decoding a
//! million `f64`s parses a million markers (~3.7 ms); here an `f64` is 8 raw
//! bytes and decoding it is a bounds check and a copy. The shape comes from
//! the type, as in bincode: integers and floats fixed-width, `bool` one byte,
//! `char` a `u32`, lengths (strings, bytes, sequences, maps) a `u64`, `Option`
//! a tag byte, an enum variant its `u32` index, structs and tuples their
//! fields in order.
//!
//! Decoding reads through [`Reader`], which streams from the file in chunks,
//! hashes what it reads, and never allocates more than the bytes left in the
//! entry, so garbage can make it fail but never panic or exhaust memory.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use std::fmt;
use std::io::Read;
use xxhash_rust::xxh3::Xxh3;

/// Values nested deeper than this are refused, so that a hostile entry for a
/// recursive type can't overflow the stack. Both sides count the same
/// levels, so that what is written can always be read: one for each enum
/// value (whatever its variant: the decoder can't know it before entering),
/// `Some`, newtype struct, sequence, map, tuple, tuple struct and struct;
/// none for `None`, a unit or a primitive. A variant's contents are no
/// further level: a tuple variant is one level, as a tuple is.
const MAX_DEPTH: u32 = 1024;

/// How many elements of sequences and maps may take no bytes (`()`, unit
/// structs, `PhantomData`, `[T; 0]`), over a whole value, on both sides.
/// A reader can't tell a billion of them from a damaged length, and each
/// costs work that no byte of the entry pays for: a hostile `Vec<Vec<()>>`
/// could otherwise claim 2^16 elements for every 8 bytes. The count is
/// charged per sequence, as its length less the bytes its elements took,
/// which both sides know alike; for a type whose elements all take bytes or
/// all take none (every derived one), that is the number of empty elements.
const EMPTY_ELEMENTS: u64 = 1 << 16;

const CHUNK: usize = 64 * 1024;

/// Why a value could not be encoded or decoded.
#[derive(Debug)]
pub(crate) struct Error(pub(crate) String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, Error>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

// ---- shapes -----------------------------------------------------------------

/// What the positional encoding can't see: the names of the value's type.
/// Both sides fold the names serde hands them into a digest, stored in the
/// entry's header: the encoder the names of what it writes, the decoder the
/// names the current type asks for. A struct whose fields were swapped or
/// renamed, or an enum whose variants moved, then gives another digest.
///
/// Each distinct name token is folded once per value, at its first
/// occurrence, in the order both sides meet them: a struct's (its name and
/// field names) after its fields, a variant's (enum name, index, variant
/// name, kind) before its contents, a newtype, unit or tuple struct's
/// before its contents. A `None`, an empty sequence or a variant not
/// present contribute nothing: no value of them is in the entry either.
/// Tokens are remembered by the pointers of the `&'static` names they were
/// made from, so a `Vec` of a million structs hashes names once and then
/// compares pointers; pointers only ever stand for their contents (equal
/// pointers, equal names), so the digest does not depend on them.
#[derive(Default)]
pub(crate) struct Shapes {
    digest: u64,
    /// Distinct tokens folded so far.
    seen: Vec<u64>,
    /// Token keys already folded, by a hash of their pointers (an all-zero
    /// key is no key: a name's pointer is never null).
    slots: Vec<[usize; 6]>,
    /// The encoder's field names of the structs being written, innermost
    /// last.
    fields: Vec<&'static str>,
    /// Per slot, a struct the encoder wrote: its name and field names.
    structs: Vec<(&'static str, Vec<&'static str>)>,
    buf: Vec<u8>,
}

/// The digest of a value whose type names nothing (numbers, strings,
/// sequences, maps, options, tuples of them).
pub(crate) const NO_SHAPE: u64 = 0;

const SLOTS: usize = 64;
const STRUCT: u8 = 1;
const UNIT_VARIANT: u8 = 2;
const NEWTYPE_VARIANT: u8 = 3;
const TUPLE_VARIANT: u8 = 4;
const STRUCT_VARIANT: u8 = 5;
const NEWTYPE_STRUCT: u8 = 6;
const UNIT_STRUCT: u8 = 7;
const TUPLE_STRUCT: u8 = 8;

#[inline]
fn same(a: &'static str, b: &'static str) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

#[inline]
fn slot_of(key: &[usize; 6]) -> usize {
    let h = (key[0] as u64)
        ^ (key[1] as u64).rotate_left(7)
        ^ (key[2] as u64)
        ^ (key[4] as u64).rotate_left(29);
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) as usize
}

impl Shapes {
    /// The digest of the names folded so far.
    pub(crate) fn digest(&self) -> u64 {
        self.digest
    }

    /// Folds `token` unless it was folded before.
    fn fold(&mut self, token: u64) {
        if !self.seen.contains(&token) {
            self.seen.push(token);
            self.digest = xxhash_rust::xxh3::xxh3_64_with_seed(&token.to_le_bytes(), self.digest);
        }
    }

    /// The token of `kind`, `n` and the names, hashed by content.
    fn token(&mut self, kind: u8, n: u64, names: &[&str], list: &[&str]) -> u64 {
        let b = &mut self.buf;
        b.clear();
        b.push(kind);
        b.extend_from_slice(&n.to_le_bytes());
        for s in names.iter().chain(list) {
            b.extend_from_slice(&(s.len() as u64).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        xxhash_rust::xxh3::xxh3_64(b)
    }

    /// Folds the token for `key` (pointers and numbers standing for the
    /// names `make` hashes), computing it only the first time `key` is met.
    #[inline(always)]
    fn fold_keyed(&mut self, key: [usize; 6], make: impl FnOnce(&mut Self) -> u64) {
        let i = slot_of(&key);
        if self.slots.get(i) == Some(&key) {
            return;
        }
        self.fold_new(i, key, make);
    }

    #[cold]
    #[inline(never)]
    fn fold_new(&mut self, i: usize, key: [usize; 6], make: impl FnOnce(&mut Self) -> u64) {
        if self.slots.is_empty() {
            self.slots = vec![[0; 6]; SLOTS];
        }
        let token = make(self);
        self.fold(token);
        self.slots[i] = key;
    }

    fn named(&mut self, kind: u8, name: &'static str, n: u64) {
        let key = [
            kind as usize,
            n as usize,
            name.as_ptr() as usize,
            name.len(),
            0,
            0,
        ];
        self.fold_keyed(key, |s| s.token(kind, n, &[name], &[]));
    }

    /// A variant met, by its enum's name, index and variant name.
    fn variant(&mut self, kind: u8, name: &'static str, index: u32, variant: &'static str, n: u64) {
        let key = [
            kind as usize | (n as usize) << 8,
            index as usize,
            name.as_ptr() as usize,
            name.len(),
            variant.as_ptr() as usize,
            variant.len(),
        ];
        self.fold_keyed(key, |s| {
            s.token(kind, u64::from(index) | n << 32, &[name, variant], &[])
        });
    }

    /// A variant met by the decoder, which knows its enum's variants.
    fn variant_of(
        &mut self,
        kind: u8,
        name: &'static str,
        variants: &'static [&'static str],
        index: u32,
        n: u64,
    ) {
        let key = [
            kind as usize | (n as usize) << 8,
            index as usize,
            name.as_ptr() as usize,
            name.len(),
            variants.as_ptr() as usize,
            variants.len(),
        ];
        self.fold_keyed(key, |s| {
            let variant = variants.get(index as usize).copied().unwrap_or("");
            s.token(kind, u64::from(index) | n << 32, &[name, variant], &[])
        });
    }

    /// A struct the decoder read, with the field names its type asks for.
    fn struct_of(&mut self, name: &'static str, fields: &'static [&'static str]) {
        let key = [
            STRUCT as usize,
            0,
            name.as_ptr() as usize,
            name.len(),
            fields.as_ptr() as usize,
            fields.len(),
        ];
        self.fold_keyed(key, |s| s.token(STRUCT, 0, &[name], fields));
    }

    /// A struct the encoder wrote, whose field names are `fields[start..]`.
    #[inline]
    fn struct_written(&mut self, name: &'static str, start: usize) {
        let key = [STRUCT as usize, 0, name.as_ptr() as usize, name.len(), 0, 0];
        let i = slot_of(&key);
        let met = self.structs.get(i).is_some_and(|(known, known_fields)| {
            let fields = &self.fields[start..];
            same(known, name)
                && known_fields.len() == fields.len()
                && known_fields.iter().zip(fields).all(|(a, b)| same(a, b))
        });
        if !met {
            self.struct_new(i, name, start);
        }
        self.fields.truncate(start);
    }

    #[cold]
    #[inline(never)]
    fn struct_new(&mut self, i: usize, name: &'static str, start: usize) {
        if self.structs.is_empty() {
            self.structs = vec![("", Vec::new()); SLOTS];
        }
        let fields = std::mem::take(&mut self.fields);
        let token = self.token(STRUCT, 0, &[name], &fields[start..]);
        self.fold(token);
        let slot = &mut self.structs[i];
        slot.0 = name;
        slot.1.clear();
        slot.1.extend_from_slice(&fields[start..]);
        self.fields = fields;
    }
}

// ---- encoding ---------------------------------------------------------------

/// Encodes `value` onto the end of `out`; gives the digest of its type's
/// names (see [`Shapes`]).
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<u64> {
    let mut enc = Encoder {
        out: std::mem::take(out),
        depth: 0,
        empty: 0,
        shapes: Shapes::default(),
    };
    let r = value.serialize(&mut enc);
    *out = enc.out;
    r.map(|()| enc.shapes.digest())
}

struct Encoder {
    out: Vec<u8>,
    depth: u32,
    /// Charged against [`EMPTY_ELEMENTS`] as the decoder will charge it.
    empty: u64,
    shapes: Shapes,
}

impl Encoder {
    fn len(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u64).to_le_bytes());
    }

    /// Refuses here what the decoder would refuse, so that a value too deep
    /// to read back fails to be written instead.
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!(
                "the value is nested more than {MAX_DEPTH} levels deep"
            ));
        }
        Ok(())
    }

    /// A newtype struct's or variant's contents: one level.
    fn newtype<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.enter()?;
        v.serialize(&mut *self)?;
        self.depth -= 1;
        Ok(())
    }

    /// Opens a sequence or map: its length now if known, else a placeholder
    /// patched when it ends.
    fn open(&mut self, len: Option<usize>) -> Result<Compound<'_>> {
        self.enter()?;
        let at = self.out.len();
        self.len(len.unwrap_or(0));
        Ok(Compound {
            enc: self,
            seq: Some(Announced {
                at,
                len: len.map(|n| n as u64),
            }),
            count: 0,
            fields: None,
        })
    }
}

/// The length of a sequence or map, as written.
struct Announced {
    /// Where it is; the elements follow.
    at: usize,
    /// `None` if it was not known in advance and is to be patched.
    len: Option<u64>,
}

struct Compound<'e> {
    enc: &'e mut Encoder,
    /// `None` for a tuple or struct, whose length the type gives.
    seq: Option<Announced>,
    count: u64,
    /// For a struct (or struct variant): its name, and where its field
    /// names start in [`Shapes::fields`].
    fields: Option<(&'static str, usize)>,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        self.count += 1;
        v.serialize(&mut *self.enc)
    }

    fn close(self) -> Result<()> {
        if let Some((name, start)) = self.fields {
            self.enc.shapes.struct_written(name, start);
        }
        if let Some(Announced { at, len }) = self.seq {
            match len {
                // The decoder would read `n` elements and misread the rest.
                Some(n) if n != self.count => {
                    return err(format!(
                        "a sequence announced {n} elements and had {}",
                        self.count
                    ))
                }
                Some(_) => {}
                None => self.enc.out[at..at + 8].copy_from_slice(&self.count.to_le_bytes()),
            }
            let took = (self.enc.out.len() - (at + 8)) as u64;
            self.enc.empty += self.count.saturating_sub(took);
            if self.enc.empty > EMPTY_ELEMENTS {
                return err(too_many_empty());
            }
        }
        self.enc.depth -= 1;
        Ok(())
    }
}

macro_rules! encode_le {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<()> {
            self.out.extend_from_slice(&v.to_le_bytes());
            Ok(())
        }
    )*};
}

impl<'e> ser::Serializer for &'e mut Encoder {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'e>;
    type SerializeTuple = Compound<'e>;
    type SerializeTupleStruct = Compound<'e>;
    type SerializeTupleVariant = Compound<'e>;
    type SerializeMap = Compound<'e>;
    type SerializeStruct = Compound<'e>;
    type SerializeStructVariant = Compound<'e>;

    encode_le!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128, serialize_f32: f32, serialize_f64: f64
    );

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_u32(v as u32)
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.len(v.len());
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<()> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<()> {
        self.out.push(1);
        self.enter()?;
        v.serialize(&mut *self)?;
        self.depth -= 1;
        Ok(())
    }
    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<()> {
        self.shapes.named(UNIT_STRUCT, name, 0);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.enter()?;
        self.depth -= 1;
        self.shapes.variant(UNIT_VARIANT, name, index, variant, 0);
        self.serialize_u32(index)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<()> {
        self.shapes.named(NEWTYPE_STRUCT, name, 0);
        self.newtype(v)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        self.shapes
            .variant(NEWTYPE_VARIANT, name, index, variant, 0);
        self.serialize_u32(index)?;
        self.newtype(v)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'e>> {
        self.open(len)
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'e>> {
        self.enter()?;
        Ok(Compound {
            enc: self,
            seq: None,
            count: 0,
            fields: None,
        })
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Compound<'e>> {
        self.shapes.named(TUPLE_STRUCT, name, len as u64);
        self.serialize_tuple(len)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'e>> {
        self.shapes
            .variant(TUPLE_VARIANT, name, index, variant, len as u64);
        self.serialize_u32(index)?;
        self.serialize_tuple(len)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'e>> {
        self.open(len)
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'e>> {
        let start = self.shapes.fields.len();
        let mut c = self.serialize_tuple(len)?;
        c.fields = Some((name, start));
        Ok(c)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'e>> {
        self.shapes.variant(STRUCT_VARIANT, name, index, variant, 0);
        self.serialize_u32(index)?;
        // Its fields are folded as a struct named after the variant.
        let start = self.shapes.fields.len();
        let mut c = self.serialize_tuple(len)?;
        c.fields = Some((variant, start));
        Ok(c)
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Sequences, tuples and their struct and variant forms all write their
/// elements in order.
macro_rules! compound {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
                self.element(v)
            }
            fn end(self) -> Result<()> {
                self.close()
            }
        }
    )*};
}

compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<()> {
        // A map's length counts entries, not keys and values.
        self.element(k)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<()> {
        v.serialize(&mut *self.enc)
    }
    fn end(self) -> Result<()> {
        self.close()
    }
}

/// Fields are positional: a skipped field would shift every later one.
fn skipped(key: &str) -> Result<()> {
    err(format!(
        "field `{key}` is skipped when serializing (`skip_serializing_if`), which a positional format can't represent"
    ))
}

macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, v: &T) -> Result<()> {
                self.enc.shapes.fields.push(key);
                self.element(v)
            }
            fn skip_field(&mut self, key: &'static str) -> Result<()> {
                skipped(key)
            }
            fn end(self) -> Result<()> {
                self.close()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

fn too_many_empty() -> String {
    format!(
        "more than {EMPTY_ELEMENTS} elements of sequences or maps take no bytes (such as `()` or unit structs), which a reader can't tell from a damaged length"
    )
}

// ---- reading ----------------------------------------------------------------

/// Streams `len` bytes of an entry from `R` through a small buffer, hashing
/// them as they arrive.
pub(crate) struct Reader<R> {
    inner: R,
    /// Allocated on first use: a bulk read never needs it.
    buf: Vec<u8>,
    cap: usize,
    pos: usize,
    end: usize,
    /// Bytes of the section not yet pulled from `inner`.
    unread: u64,
    hash: Xxh3,
}

impl<R: Read> Reader<R> {
    /// Reads a section of `len` bytes, continuing `hash` (so the checksum can
    /// cover what came before).
    pub(crate) fn new(inner: R, len: u64, hash: Xxh3) -> Self {
        let cap = len.min(CHUNK as u64) as usize;
        Reader {
            inner,
            buf: Vec::new(),
            cap: cap.max(16),
            pos: 0,
            end: 0,
            unread: len,
            hash,
        }
    }

    /// Bytes of the section not consumed yet.
    #[inline]
    pub(crate) fn left(&self) -> u64 {
        self.unread + (self.end - self.pos) as u64
    }

    fn short() -> Error {
        Error("the entry ends early (truncated)".into())
    }

    /// Pulls more of the section into the buffer, keeping what is unconsumed.
    #[cold]
    fn refill(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            self.buf = vec![0; self.cap];
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        let room = (self.buf.len() - self.end).min(self.unread.min(usize::MAX as u64) as usize);
        if room == 0 {
            return Err(Self::short());
        }
        let got = loop {
            match self.inner.read(&mut self.buf[self.end..self.end + room]) {
                Ok(0) => return Err(Self::short()),
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return err(format!("reading the entry failed: {e}")),
            }
        };
        self.hash.update(&self.buf[self.end..self.end + got]);
        self.end += got;
        self.unread -= got as u64;
        Ok(())
    }

    #[inline(always)]
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        while self.end - self.pos < N {
            self.refill()?;
        }
        let mut out = [0; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        Ok(out)
    }

    /// Fills `dst` exactly: first from the buffer, then straight from the
    /// file into `dst` (no copy through the buffer), hashing each piece while
    /// it is still in cache.
    pub(crate) fn fill_exact(&mut self, dst: &mut [u8]) -> Result<()> {
        if (dst.len() as u64) > self.left() {
            return Err(Self::short());
        }
        let buffered = dst.len().min(self.end - self.pos);
        dst[..buffered].copy_from_slice(&self.buf[self.pos..self.pos + buffered]);
        self.pos += buffered;
        for piece in dst[buffered..].chunks_mut(1 << 18) {
            self.inner.read_exact(piece).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => Self::short(),
                _ => Error(format!("reading the entry failed: {e}")),
            })?;
            self.hash.update(piece);
            self.unread -= piece.len() as u64;
        }
        Ok(())
    }

    /// `n` bytes into `out`, which has been checked against what is left.
    fn bytes_into(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<()> {
        while n > 0 {
            if self.pos == self.end {
                self.refill()?;
            }
            let take = n.min(self.end - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            n -= take;
        }
        Ok(())
    }

    /// Reads (and hashes) what is left of the section, keeping nothing.
    pub(crate) fn drain(&mut self) -> Result<()> {
        self.pos = self.end;
        while self.unread > 0 {
            self.refill()?;
            self.pos = self.end;
        }
        Ok(())
    }

    /// Everything left, as raw bytes (the replay section).
    pub(crate) fn rest(&mut self) -> Result<Vec<u8>> {
        let n = usize::try_from(self.left()).map_err(|_| Self::short())?;
        let mut out = Vec::with_capacity(n);
        self.bytes_into(n, &mut out)?;
        Ok(out)
    }

    /// The reader positioned after this section, and the hash so far; fails
    /// if the section was not consumed exactly.
    pub(crate) fn finish(self) -> Result<(R, Xxh3)> {
        if self.left() != 0 {
            return err(format!(
                "{} bytes after the value (written as another type?)",
                self.left()
            ));
        }
        Ok((self.inner, self.hash))
    }
}

// ---- decoding ---------------------------------------------------------------

/// Decodes one value from `reader`, which must hold exactly it; gives the
/// digest of the names its type asked for (see [`Shapes`]).
pub(crate) fn decode<T: de::DeserializeOwned, R: Read>(reader: &mut Reader<R>) -> Result<(T, u64)> {
    let mut d = Decoder {
        r: reader,
        depth: 0,
        empty: 0,
        shapes: Shapes::default(),
        variant: ("", &[], 0),
    };
    let v = T::deserialize(&mut d)?;
    Ok((v, d.shapes.digest()))
}

struct Decoder<'r, R> {
    r: &'r mut Reader<R>,
    depth: u32,
    /// Charged against [`EMPTY_ELEMENTS`] as each sequence or map ends.
    empty: u64,
    shapes: Shapes,
    /// The enum being read (its name and variants), and the index of its
    /// variant once read: set before the variant is visited.
    variant: (&'static str, &'static [&'static str], u32),
}

impl<R: Read> Decoder<'_, R> {
    fn len(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.r.array()?))
    }

    /// A length that can't be right is refused before anything is allocated:
    /// each element takes a byte, or is one of `empty` allowed to take none.
    /// Also gives the bytes left after the length.
    fn checked_len(&mut self, empty: u64) -> Result<(usize, u64)> {
        let n = self.len()?;
        let left = self.r.left();
        if n > left.saturating_add(empty) {
            return err(format!("a length of {n} with only {left} bytes left"));
        }
        let n = usize::try_from(n).map_err(|_| Error("a length beyond this platform's".into()))?;
        Ok((n, left))
    }

    /// Charges what the elements of a sequence or map of `n`, whose length
    /// was read with `left` bytes left, did not pay for in bytes, as the
    /// encoder charged it. Charging after the elements is enough: the
    /// length's check bounded how many there could be.
    #[inline]
    fn charge(&mut self, n: usize, left: u64) -> Result<()> {
        let took = left - self.r.left();
        self.empty += (n as u64).saturating_sub(took);
        if self.empty > EMPTY_ELEMENTS {
            return err(too_many_empty());
        }
        Ok(())
    }

    #[inline]
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    fn raw(&mut self) -> Result<Vec<u8>> {
        let (n, _) = self.checked_len(0)?;
        let mut out = Vec::with_capacity(n);
        self.r.bytes_into(n, &mut out)?;
        Ok(out)
    }

    #[inline]
    fn items<'de, V: Visitor<'de>>(&mut self, n: usize, v: V, map: bool) -> Result<V::Value> {
        self.enter()?;
        let out = if map {
            v.visit_map(Items { de: self, left: n })
        } else {
            v.visit_seq(Items { de: self, left: n })
        }?;
        self.depth -= 1;
        Ok(out)
    }
}

macro_rules! decode_le {
    ($($f:ident: $t:ty => $visit:ident),*) => {$(
        #[inline]
        fn $f<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
            v.$visit(<$t>::from_le_bytes(self.r.array()?))
        }
    )*};
}

impl<'de, R: Read> de::Deserializer<'de> for &mut Decoder<'_, R> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        err("the disk format is not self-describing: types that need `deserialize_any` (`#[serde(untagged)]`, `#[serde(flatten)]`, `serde_json::Value`) can't be persisted")
    }

    decode_le!(
        deserialize_i8: i8 => visit_i8, deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32, deserialize_i64: i64 => visit_i64,
        deserialize_i128: i128 => visit_i128, deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16, deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64, deserialize_u128: u128 => visit_u128,
        deserialize_f32: f32 => visit_f32, deserialize_f64: f64 => visit_f64
    );

    #[inline]
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.r.array::<1>()? {
            [0] => v.visit_bool(false),
            [1] => v.visit_bool(true),
            [b] => err(format!("{b} is not a bool")),
        }
    }
    fn deserialize_char<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let n = u32::from_le_bytes(self.r.array()?);
        match char::from_u32(n) {
            Some(c) => v.visit_char(c),
            None => err(format!("{n:#x} is not a char")),
        }
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_string(v)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match String::from_utf8(self.raw()?) {
            Ok(s) => v.visit_string(s),
            Err(_) => err("a string that is not UTF-8"),
        }
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_byte_buf(v)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_byte_buf(self.raw()?)
    }
    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        match self.r.array::<1>()? {
            [0] => v.visit_none(),
            [1] => {
                self.enter()?;
                let out = v.visit_some(&mut *self)?;
                self.depth -= 1;
                Ok(out)
            }
            [b] => err(format!("{b} is not an Option tag")),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        v.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value> {
        self.shapes.named(UNIT_STRUCT, name, 0);
        v.visit_unit()
    }
    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        v: V,
    ) -> Result<V::Value> {
        self.shapes.named(NEWTYPE_STRUCT, name, 0);
        self.enter()?;
        let out = v.visit_newtype_struct(&mut *self)?;
        self.depth -= 1;
        Ok(out)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let (n, left) = self.checked_len(EMPTY_ELEMENTS.saturating_sub(self.empty))?;
        let out = self.items(n, v, false)?;
        self.charge(n, left)?;
        Ok(out)
    }
    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value> {
        self.items(len, v, false)
    }
    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        v: V,
    ) -> Result<V::Value> {
        self.shapes.named(TUPLE_STRUCT, name, len as u64);
        self.items(len, v, false)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        let (n, left) = self.checked_len(EMPTY_ELEMENTS.saturating_sub(self.empty))?;
        let out = self.items(n, v, true)?;
        self.charge(n, left)?;
        Ok(out)
    }
    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        let out = self.items(fields.len(), v, false)?;
        self.shapes.struct_of(name, fields);
        Ok(out)
    }
    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        self.variant = (name, variants, 0);
        self.enter()?;
        let out = v.visit_enum(&mut *self)?;
        self.depth -= 1;
        Ok(out)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, v: V) -> Result<V::Value> {
        self.deserialize_u32(v)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        err("the disk format can't skip a value it has no type for")
    }
    fn is_human_readable(&self) -> bool {
        false
    }
}

struct Items<'d, 'r, R> {
    de: &'d mut Decoder<'r, R>,
    left: usize,
}

impl<'de, R: Read> de::SeqAccess<'de> for Items<'_, '_, R> {
    type Error = Error;
    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de, R: Read> de::MapAccess<'de> for Items<'_, '_, R> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.de).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

impl<'de, R: Read> de::EnumAccess<'de> for &mut Decoder<'_, R> {
    type Error = Error;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let index = u32::from_le_bytes(self.r.array()?);
        self.variant.2 = index;
        let v = seed.deserialize(IntoDeserializer::<Error>::into_deserializer(index))?;
        Ok((v, self))
    }
}

impl<R: Read> Decoder<'_, R> {
    /// Folds the variant being read, as the encoder folded it.
    #[inline]
    fn fold_variant(&mut self, kind: u8, n: u64) {
        let (name, variants, index) = self.variant;
        self.shapes.variant_of(kind, name, variants, index, n);
    }
}

impl<'de, R: Read> de::VariantAccess<'de> for &mut Decoder<'_, R> {
    type Error = Error;
    fn unit_variant(self) -> Result<()> {
        self.fold_variant(UNIT_VARIANT, 0);
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        self.fold_variant(NEWTYPE_VARIANT, 0);
        seed.deserialize(self)
    }
    // The enum was the level (see `MAX_DEPTH`): its fields are not another.
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, v: V) -> Result<V::Value> {
        self.fold_variant(TUPLE_VARIANT, len as u64);
        v.visit_seq(Items {
            de: self,
            left: len,
        })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value> {
        self.fold_variant(STRUCT_VARIANT, 0);
        let variant = self
            .variant
            .1
            .get(self.variant.2 as usize)
            .copied()
            .unwrap_or("");
        let out = v.visit_seq(Items {
            de: &mut *self,
            left: fields.len(),
        })?;
        self.shapes.struct_of(variant, fields);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn round<T: Serialize + de::DeserializeOwned>(v: &T) -> T {
        let mut out = Vec::new();
        encode(v, &mut out).unwrap();
        let mut r = Reader::new(&out[..], out.len() as u64, Xxh3::new());
        let (back, _) = decode(&mut r).unwrap();
        r.finish().unwrap();
        back
    }

    #[test]
    fn values_round_trip() {
        assert_eq!(
            round(&vec![1.5f64, -0.0, f64::MAX]),
            vec![1.5, -0.0, f64::MAX]
        );
        assert_eq!(
            round(&("é".to_string(), 'x', true, 7u128, -3i8)),
            ("é".to_string(), 'x', true, 7, -3)
        );
        let m: BTreeMap<String, Option<Vec<u8>>> =
            [("a".into(), None), ("b".into(), Some(vec![1, 2]))].into();
        assert_eq!(round(&m), m);
        assert_eq!(round(&vec![(); 3]), vec![(); 3]);
        assert_eq!(round(&Ok::<u8, String>(3)), Ok(3));
    }

    #[test]
    fn an_f64_is_its_eight_bytes() {
        let mut out = Vec::new();
        encode(&vec![1.0f64, 2.0], &mut out).unwrap();
        let mut want = 2u64.to_le_bytes().to_vec();
        want.extend(1.0f64.to_le_bytes());
        want.extend(2.0f64.to_le_bytes());
        assert_eq!(out, want);
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        let bytes = u64::MAX.to_le_bytes();
        let mut r = Reader::new(&bytes[..], 8, Xxh3::new());
        let e = decode::<Vec<u8>, _>(&mut r).unwrap_err();
        assert!(e.0.contains("length"), "{e}");
    }

    // ---- limits: what encodes, decodes equal -------------------------------

    use serde::{Deserialize, Serialize};
    use std::marker::PhantomData;

    fn encoded<T: Serialize + ?Sized>(v: &T) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        encode(v, &mut out).map(|_| out)
    }

    fn decoded<T: de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
        let mut r = Reader::new(bytes, bytes.len() as u64, Xxh3::new());
        let (v, _) = decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }

    /// The rule: a value the encoder takes comes back equal. (`assert!`, not
    /// `assert_eq!`: the `Debug` of a value 1 024 levels deep is no help.)
    #[track_caller]
    fn reads_back<T: Serialize + de::DeserializeOwned + PartialEq>(v: &T) {
        let bytes = encoded(v).unwrap_or_else(|e| panic!("refused to encode: {e}"));
        match decoded::<T>(&bytes) {
            Ok(back) => assert!(back == *v, "decoded to another value"),
            Err(e) => panic!("encoded, then refused to decode: {e}"),
        }
    }

    /// Refused by the encoder (so `save` writes nothing), with `why`.
    #[track_caller]
    fn refused<T: Serialize + ?Sized>(v: &T, why: &str) {
        match encoded(v) {
            Ok(_) => panic!("encoded, but a reader would refuse it"),
            Err(e) => assert!(e.0.contains(why), "{e}"),
        }
    }

    const DEEP: &str = "nested more than 1024 levels deep";

    /// Runs `f` where a program's threads run: a thread with the default
    /// 2 MiB stack, which a value at the limit must not overflow either way.
    fn on_a_default_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(f)
            .unwrap()
            .join()
            .unwrap();
    }

    /// Each shape below is a recursive type whose nodes are nested `per`
    /// levels deep; `wrap` builds a value of `n` nodes from the inside out.
    fn build<T>(n: u32, leaf: T, wrap: impl Fn(T) -> T) -> T {
        (0..n).fold(leaf, |v, _| wrap(v))
    }

    /// A sequence per level (transparent: no newtype level).
    #[derive(Serialize, Deserialize, PartialEq)]
    #[serde(transparent)]
    struct Seq(Vec<Seq>);

    /// A map per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    #[serde(transparent)]
    struct Map(BTreeMap<u8, Map>);

    /// A `Some` per level; `None` is no level.
    #[derive(Serialize, Deserialize, PartialEq)]
    #[serde(transparent)]
    struct Opt(Option<Box<Opt>>);

    /// A newtype struct and a `Some` per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    struct Newtype(Option<Box<Newtype>>);

    /// A `Some` and a tuple per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    #[serde(transparent)]
    struct Tuple(Option<Box<(u8, Tuple)>>);

    /// A tuple struct and a `Some` per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    struct TupleStruct(u8, Option<Box<TupleStruct>>);

    /// A struct and a `Some` per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    struct Struct {
        v: u8,
        next: Option<Box<Struct>>,
    }

    /// Each enum below is a level per node, its unit variant at the end one
    /// more. A newtype variant per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    enum NewtypeVariant {
        Leaf,
        Node(Box<NewtypeVariant>),
    }

    /// A tuple variant per level: the list whose entries of 512 to 1 024
    /// elements were once written and then refused by every reader.
    #[derive(Serialize, Deserialize, PartialEq)]
    enum List {
        Cons(u32, Box<List>),
        Nil,
    }

    fn list(n: u32) -> List {
        build(n, List::Nil, |l| List::Cons(7, Box::new(l)))
    }

    /// A struct variant per level.
    #[derive(Serialize, Deserialize, PartialEq)]
    enum StructVariant {
        End,
        Node { v: u8, next: Box<StructVariant> },
    }

    #[test]
    fn every_shape_reads_back_at_the_depth_limit_and_fails_to_encode_beyond_it() {
        on_a_default_thread(|| {
            // One level per node: `n` nodes are `n` levels (the innermost
            // empty `Vec` or map is a level too).
            let seq = |n: u32| build(n - 1, Seq(vec![]), |s| Seq(vec![s]));
            reads_back(&seq(1024));
            refused(&seq(1025), DEEP);
            let map = |n: u32| build(n - 1, Map([].into()), |m| Map([(1, m)].into()));
            reads_back(&map(1024));
            refused(&map(1025), DEEP);
            let opt = |n| build(n, Opt(None), |o| Opt(Some(Box::new(o))));
            reads_back(&opt(1024));
            refused(&opt(1025), DEEP);
            // Enums: `n` nodes and the unit variant at the end, which is
            // where the decoders of the audit stopped short.
            let nv = |n| {
                build(n, NewtypeVariant::Leaf, |v| {
                    NewtypeVariant::Node(Box::new(v))
                })
            };
            reads_back(&nv(1023));
            refused(&nv(1024), DEEP);
            let sv = |n| {
                build(n, StructVariant::End, |next| StructVariant::Node {
                    v: 1,
                    next: Box::new(next),
                })
            };
            reads_back(&sv(1023));
            refused(&sv(1024), DEEP);
            for n in [1, 511, 512, 1000, 1023] {
                reads_back(&list(n));
            }
            for n in [1024, 1100] {
                refused(&list(n), DEEP);
            }

            // Two levels per node: the limit is reached with one more level
            // outside (a `Some`, or a tuple).
            let nt = |n| build(n, Newtype(None), |t| Newtype(Some(Box::new(t))));
            reads_back(&Some(nt(511))); // 1 + 2 * 511 + 1
            refused(&nt(512), DEEP); // 2 * 512 + 1
            let tuple = |n| build(n, Tuple(None), |t| Tuple(Some(Box::new((3, t)))));
            reads_back(&tuple(512));
            refused(&(4u8, tuple(512)), DEEP);
            let ts = |n| {
                build(n, TupleStruct(0, None), |t| {
                    TupleStruct(1, Some(Box::new(t)))
                })
            };
            reads_back(&Some(ts(511)));
            refused(&ts(512), DEEP);
            let st = |n| {
                build(n, Struct { v: 0, next: None }, |s| Struct {
                    v: 1,
                    next: Some(Box::new(s)),
                })
            };
            reads_back(&Some(st(511)));
            refused(&st(512), DEEP);

            // Shapes mixed: a `Vec` of an `Option` of a map of lists, 1 + 1
            // + 1 + 1 021 levels, then one list element more.
            let mixed = |n| vec![Some(BTreeMap::from([(5u8, list(n))]))];
            reads_back(&mixed(1020));
            refused(&mixed(1021), DEEP);
        });
    }

    #[test]
    fn the_decoder_still_refuses_what_is_too_deep() {
        // What the encoder now refuses, crafted by hand: 1 024 `Cons`, `Nil`.
        let mut bytes = Vec::new();
        for _ in 0..1024 {
            bytes.extend(0u32.to_le_bytes());
            bytes.extend(7u32.to_le_bytes());
        }
        bytes.extend(1u32.to_le_bytes());
        on_a_default_thread(move || {
            let e = decoded::<List>(&bytes).err().expect("refused");
            assert!(e.0.contains(DEEP), "{e}");
            // One `Cons` less is the deepest value the encoder takes.
            assert!(decoded::<List>(&bytes[8..]).unwrap() == list(1023));
        });
    }

    #[derive(Serialize, Deserialize, PartialEq, Clone)]
    struct Unit;

    #[derive(Serialize, Deserialize, PartialEq, Clone)]
    struct Empty {}

    #[test]
    fn elements_that_take_no_bytes_read_back_up_to_the_limit_and_fail_to_encode_beyond() {
        let n = EMPTY_ELEMENTS as usize;
        for len in [0, 1, n - 1, n] {
            reads_back(&vec![(); len]);
            reads_back(&vec![Unit; len]);
            reads_back(&vec![Empty {}; len]);
            reads_back(&vec![[0u8; 0]; len]);
            reads_back(&vec![PhantomData::<u64>; len]);
            reads_back(&vec![((), Unit); len]);
        }
        let why = "take no bytes";
        for len in [n + 1, 4 * n] {
            refused(&vec![(); len], why);
            refused(&vec![Unit; len], why);
            refused(&vec![Empty {}; len], why);
            refused(&vec![[0u8; 0]; len], why);
            refused(&vec![PhantomData::<u64>; len], why);
            refused(&vec![((), Unit); len], why);
        }
        // Elements that take a byte or more are not counted.
        reads_back(&vec![Some(()); 4 * n]);
        reads_back(&vec![vec![(); 0]; 4 * n]);
    }

    #[test]
    fn the_limit_on_empty_elements_is_over_the_whole_value() {
        let n = EMPTY_ELEMENTS as usize;
        // Split among sequences, nested or not, and maps.
        reads_back(&vec![vec![(); n / 2]; 2]);
        refused(&vec![vec![(); n / 2 + 1]; 2], "take no bytes");
        reads_back(&vec![vec![(); 1]; n]);
        refused(&vec![vec![(); 1]; n + 1], "take no bytes");
        reads_back(&(vec![Unit; n / 2], vec![(); n / 2]));
        refused(&(vec![Unit; n / 2], vec![(); n / 2 + 1]), "take no bytes");
        let m: BTreeMap<u32, Vec<()>> = (0..4).map(|k| (k, vec![(); n / 4])).collect();
        reads_back(&m);
        let m: BTreeMap<u32, Vec<()>> = (0..4).map(|k| (k, vec![(); n / 4 + 1])).collect();
        refused(&m, "take no bytes");
        // Bytes elsewhere in the value don't pay for them.
        refused(&(vec![(); n + 1], vec![0u8; 4 * n]), "take no bytes");
    }

    #[test]
    fn sizes_around_the_limits_either_read_back_or_fail_to_encode() {
        // Never the third outcome: written, then refused by every reader.
        let n = EMPTY_ELEMENTS as usize;
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below as u64) as usize
        };
        for _ in 0..200 {
            let outer = 1 + next(8);
            let v: Vec<(Vec<Unit>, Option<Vec<()>>)> = (0..outer)
                .map(|_| {
                    let units = vec![Unit; next(2 * n / outer)];
                    (units, Some(vec![(); next(64)]).filter(|_| next(2) == 0))
                })
                .collect();
            if encoded(&v).is_ok() {
                reads_back(&v);
            }
        }
        on_a_default_thread(move || {
            for len in [1000, 1020, 1022, 1023, 1024, 1025, 1030] {
                let l = list(len);
                if encoded(&l).is_ok() {
                    reads_back(&l);
                }
            }
        });
    }

    #[test]
    fn a_hostile_entry_cant_make_empty_elements_cost_more_than_the_limit() {
        // A `Vec<Vec<()>>` of 100 000 inner vectors each claiming 2^16 `()`:
        // 8 bytes each, 6.5 billion elements if each were allowed its 2^16.
        let inner = 100_000u64;
        let mut bytes = inner.to_le_bytes().to_vec();
        for _ in 0..inner {
            bytes.extend(EMPTY_ELEMENTS.to_le_bytes());
        }
        let started = std::time::Instant::now();
        let e = decoded::<Vec<Vec<()>>>(&bytes).expect_err("refused");
        assert!(e.0.contains("take no bytes"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // And a claim beyond what is left and allowed is refused up front.
        let bytes = (EMPTY_ELEMENTS + 9).to_le_bytes();
        let e = decoded::<Vec<()>>(&bytes).expect_err("refused");
        assert!(e.0.contains("length"), "{e}");
    }

    #[test]
    fn a_sequence_that_miscounts_its_elements_fails_to_encode() {
        struct Liar;
        impl Serialize for Liar {
            fn serialize<S: ser::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                use ser::SerializeSeq;
                let mut seq = s.serialize_seq(Some(3))?;
                seq.serialize_element(&1u8)?;
                seq.serialize_element(&2u8)?;
                seq.end()
            }
        }
        refused(&Liar, "announced 3 elements and had 2");
    }
}
