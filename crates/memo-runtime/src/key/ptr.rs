//! Keying a parameter by *which* object it is rather than by its contents:
//! Streamlit users pass `hash_funcs={Connection: id}` for this.

use std::rc::Rc;
use std::sync::Arc;

/// Values whose identity is an address: references and smart pointers.
///
/// Used by the `ptr` override, `#[memo(hash(conn = ptr))]`: two calls share a
/// cache entry only when they pass the *same* object, which is where it
/// starts and how many bytes it spans. A subslice is another object than the
/// slice it was cut from, even where both start (`&v[..2]`, `&v[..4]`). The
/// address is only meaningful within one process, so such keys never match
/// across restarts.
///
/// ```
/// use memo_runtime::Address;
/// use std::sync::Arc;
///
/// let a = Arc::new(5);
/// let b = Arc::clone(&a);
/// assert_eq!(a.address(), b.address());
/// assert_ne!(a.address(), Arc::new(5).address());
///
/// let v = [1u8, 2, 3, 4];
/// let (whole, head) = (&v[..], &v[..2]);
/// assert_eq!(whole.address(), head.address());
/// assert_ne!(whole.size(), head.size());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no stable address to key on",
    label = "`ptr` keys a parameter by the address it points to",
    note = "`ptr` works for shared references, `Box`, `Rc` and `Arc`; take the parameter by reference, or hash it by value",
    note = "not for `&mut`: a hit skips the body, so the mutation would not happen; prefix the parameter with `_` if it is not an input"
)]
pub trait Address {
    /// The address this value points to.
    ///
    /// ```
    /// use memo_runtime::Address;
    /// let x = 1u8;
    /// assert_eq!((&x).address(), &x as *const u8 as usize);
    /// ```
    fn address(&self) -> usize;

    /// The size in bytes of what it points to (`size_of_val`): with the
    /// address, which object it is. For a slice, a `str` or a `dyn Trait`
    /// the pointer's metadata, which [`address`](Self::address) drops.
    ///
    /// ```
    /// use memo_runtime::Address;
    /// let s: &str = "hello";
    /// assert_eq!(s.size(), 5);
    /// assert_eq!((&s[..2]).size(), 2);
    /// ```
    fn size(&self) -> usize;
}

// No `&mut T`: see the note above.
impl<T: ?Sized> Address for &T {
    fn address(&self) -> usize {
        (*self as *const T).cast::<()>() as usize
    }
    fn size(&self) -> usize {
        std::mem::size_of_val::<T>(*self)
    }
}

// Written out rather than by a macro: rustc lists these impls, with their
// source, when a type has none.
impl<T: ?Sized> Address for Box<T> {
    fn address(&self) -> usize {
        (&**self as *const T).cast::<()>() as usize
    }
    fn size(&self) -> usize {
        std::mem::size_of_val::<T>(&**self)
    }
}

impl<T: ?Sized> Address for Rc<T> {
    fn address(&self) -> usize {
        (&**self as *const T).cast::<()>() as usize
    }
    fn size(&self) -> usize {
        std::mem::size_of_val::<T>(&**self)
    }
}

impl<T: ?Sized> Address for Arc<T> {
    fn address(&self) -> usize {
        (&**self as *const T).cast::<()>() as usize
    }
    fn size(&self) -> usize {
        std::mem::size_of_val::<T>(&**self)
    }
}
