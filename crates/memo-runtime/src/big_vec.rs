//! Vectors of plain numbers (`Vec<f64>`, `Vec<u8>`, ...), and the memory
//! for large ones.
//!
//! A fresh process pays a page fault for every 4 KiB of memory it first
//! touches: about 2 000 for an 8 MB vector, which is as long as reading the
//! vector's bytes from the page cache. A vector of at least [`HUGE_MIN`]
//! bytes is therefore asked for memory that Linux may back with 2 MiB pages
//! (`madvise(MADV_HUGEPAGE)`, which is what lets a huge page be used when
//! transparent huge pages are set to `madvise`, the common default): one
//! fault per 2 MiB. Both copies a first call makes of such a vector (the one
//! read from disk and the memory cache's clone) get it. Elsewhere, or if the
//! kernel declines, the memory is ordinary memory.

use crate::replay::Recorded;
use std::any::{Any, TypeId};

/// From this size on (in bytes) a vector's memory is advised for huge pages:
/// below one huge page's size it could not use one.
pub(crate) const HUGE_MIN: usize = 2 << 20;

/// Plain numbers: every bit pattern is a value and there is no padding, so
/// reading bytes into them, or copying them as bytes, is sound.
pub(crate) trait Number: Copy + Default + Send + Sync + 'static {}

/// Calls `$m!` with every number type the fast paths handle.
macro_rules! with_numbers {
    ($m:ident) => {
        $m!(u8, i8, u16, i16, u32, i32, u64, i64, u128, i128, f32, f64);
    };
}
pub(crate) use with_numbers;

macro_rules! number {
    ($($t:ty),*) => {$( impl Number for $t {} )*};
}
with_numbers!(number);

/// `value` as the `T` it is (the caller compared their `TypeId`s).
pub(crate) fn cast<T: 'static, U: 'static>(value: U) -> T {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<T>>() {
        Some(t) => t.take().expect("just filled"),
        None => unreachable!("cast between different types"),
    }
}

/// An empty vector with room for `n` elements, its memory advised for huge
/// pages if it is large.
pub(crate) fn with_capacity<T: Number>(n: usize) -> Vec<T> {
    let mut v = Vec::<T>::with_capacity(n);
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes >= HUGE_MIN {
        advise_huge(v.as_mut_ptr().cast(), bytes);
    }
    v
}

/// Asks the kernel to back the 2 MiB-aligned part of `len` bytes at `ptr`
/// (memory this process owns and has not touched yet) with huge pages. Only
/// a hint: failure changes nothing.
#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut u8, len: usize) {
    const HUGE_PAGE: usize = 2 << 20;
    let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
    let end = (ptr as usize + len) & !(HUGE_PAGE - 1);
    if end > start {
        // SAFETY: `start..end` lies inside the allocation at `ptr`, which is
        // ours. MADV_HUGEPAGE writes no memory and moves no mapping: it only
        // marks the range as allowed to be backed by huge pages.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: *mut u8, _: usize) {}

/// A copy of `src`; a large one in memory advised for huge pages.
fn clone_numbers<T: Number>(src: &[T]) -> Vec<T> {
    if std::mem::size_of_val(src) < HUGE_MIN {
        return src.to_vec();
    }
    let mut v = with_capacity::<T>(src.len());
    // SAFETY: `v` has room for `src.len()` elements and does not overlap
    // `src`; `T` is `Copy`, so a bitwise copy is a clone, and after it the
    // first `src.len()` elements are initialised.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), v.as_mut_ptr(), src.len());
        v.set_len(src.len());
    }
    v
}

/// `value.clone()`, where a (recorded) vector of numbers of at least
/// [`HUGE_MIN`] bytes is copied into memory advised for huge pages. Used for
/// the memory cache's copy of a freshly computed or read value.
#[inline]
pub(crate) fn clone_value<V: Clone + 'static>(value: &V) -> V {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if TypeId::of::<V>() == TypeId::of::<Recorded<Vec<$t>>>() {
                let any: &dyn Any = value;
                if let Some((v, rec)) = any.downcast_ref::<Recorded<Vec<$t>>>() {
                    return cast((clone_numbers(v), rec.clone()));
                }
            }
            if TypeId::of::<V>() == TypeId::of::<Vec<$t>>() {
                let any: &dyn Any = value;
                if let Some(v) = any.downcast_ref::<Vec<$t>>() {
                    return cast(clone_numbers(v));
                }
            }
        )*};
    }
    with_numbers!(each);
    value.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::Recording;
    use std::sync::Arc;

    /// Sizes around the threshold, in elements of `T`.
    fn sizes<T>() -> Vec<usize> {
        let at = HUGE_MIN / std::mem::size_of::<T>();
        vec![0, 1, 1000, at - 1, at, at + 1, 3 * at + 7]
    }

    fn check<T: Number + PartialEq + std::fmt::Debug>(make: impl Fn(usize) -> T) {
        for n in sizes::<T>() {
            let v: Vec<T> = (0..n).map(&make).collect();
            let copy = clone_value(&v);
            assert_eq!(copy, v, "{} of {n}", std::any::type_name::<T>());
            assert!(n == 0 || copy.as_ptr() != v.as_ptr(), "a copy");
            let rec: Recorded<Vec<T>> = (v.clone(), Some(Arc::new(Recording::default())));
            let copy = clone_value(&rec);
            assert_eq!(copy.0, rec.0);
            assert!(Arc::ptr_eq(
                copy.1.as_ref().unwrap(),
                rec.1.as_ref().unwrap()
            ));
            let with_room: Vec<T> = with_capacity(n);
            assert!(with_room.capacity() >= n && with_room.is_empty());
        }
    }

    #[test]
    fn clones_equal_the_original_for_every_number_type_and_size() {
        check(|i| i as u8);
        check(|i| i as i8);
        check(|i| i as u16);
        check(|i| i as i16);
        check(|i| i as u32);
        check(|i| -(i as i32));
        check(|i| i as u64 * 3);
        check(|i| -(i as i64));
        check(|i| (i as u128) << 70);
        check(|i| -((i as i128) << 70));
        check(|i| i as f32 * 0.5);
        check(|i| i as f64 * 0.25);
    }

    #[test]
    fn other_values_are_cloned_as_usual() {
        let s = vec![String::from("a"); 3];
        assert_eq!(clone_value(&s), s);
        let r: Recorded<u64> = (7, None);
        assert_eq!(clone_value(&r).0, 7);
    }
}
