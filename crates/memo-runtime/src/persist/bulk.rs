//! The fast path for a value that is a `Vec` of a primitive number type
//! (`Vec<f64>`, `Vec<u8>`, ..., or such a `Vec` in an `Arc`): its encoding is a `u64` length and the
//! elements' little-endian bytes, which on a little-endian machine are the
//! vector's own memory. So the file is read straight into the vector, with
//! no per-element decoding, and what a first hit costs is what reading the
//! bytes raw costs (plus the checksum). The bytes are the same as the
//! general codec's, so either side may write what the other reads.

use super::codec::{Error, Reader};
use std::any::{Any, TypeId};
use std::io::Read;
use std::sync::Arc;

/// `value` as the `T` it is (the caller compared their `TypeId`s).
fn cast<T: 'static, U: 'static>(value: U) -> T {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<T>>() {
        Some(t) => t.take().expect("just filled"),
        None => unreachable!("cast between different types"),
    }
}

/// `Some` if `T` is a vector this path handles.
pub(crate) fn decode<T: 'static, R: Read>(r: &mut Reader<R>) -> Option<Result<T, Error>> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if TypeId::of::<T>() == TypeId::of::<Vec<$t>>() {
                let v = read_vec::<$t, R, { std::mem::size_of::<$t>() }>(r, <$t>::from_le_bytes);
                return Some(v.map(cast));
            }
            if TypeId::of::<T>() == TypeId::of::<Arc<Vec<$t>>>() {
                let v = read_vec::<$t, R, { std::mem::size_of::<$t>() }>(r, <$t>::from_le_bytes);
                return Some(v.map(|v| cast(Arc::new(v))));
            }
        )*};
    }
    each!(u8, i8, u16, i16, u32, i32, u64, i64, u128, i128, f32, f64);
    None
}

/// Plain numbers: every bit pattern is a value, so reading bytes into them
/// is sound.
trait Number: Copy + Default + 'static {}
macro_rules! number {
    ($($t:ty),*) => {$( impl Number for $t {} )*};
}
number!(u8, i8, u16, i16, u32, i32, u64, i64, u128, i128, f32, f64);

fn read_vec<T: Number, R: Read, const N: usize>(
    r: &mut Reader<R>,
    from_le: impl Fn([u8; N]) -> T,
) -> Result<Vec<T>, Error> {
    debug_assert_eq!(N, std::mem::size_of::<T>());
    let mut len = [0u8; 8];
    r.fill_exact(&mut len)?;
    let n = u64::from_le_bytes(len);
    // Refused before allocating: the file can't hold more than it has left.
    if n.checked_mul(N as u64).is_none_or(|bytes| bytes > r.left()) {
        return Err(Error(format!(
            "a length of {n} with only {} bytes left",
            r.left()
        )));
    }
    let n = n as usize;
    // Zeroed memory comes from the allocator as untouched pages, so this
    // costs no more than an uninitialised vector would.
    let mut v = vec![T::default(); n];
    // SAFETY: `v` holds `n` initialised `T`s, `n * N` bytes; `T` has no
    // padding and every byte pattern is a valid `T`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), n * N) };
    r.fill_exact(bytes)?;
    if cfg!(target_endian = "big") {
        for x in v.iter_mut() {
            // SAFETY: as above; reading a `T`'s bytes.
            let b: [u8; N] = unsafe { std::mem::transmute_copy(x) };
            *x = from_le(b);
        }
    }
    Ok(v)
}
