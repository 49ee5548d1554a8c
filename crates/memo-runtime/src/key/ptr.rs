//! Keying a parameter by *which* object it is rather than by its contents:
//! Streamlit users pass `hash_funcs={Connection: id}` for this.

use std::rc::Rc;
use std::sync::Arc;

/// Values whose identity is an address: references and smart pointers.
///
/// Used by the `ptr` override, `#[memo(hash(conn = ptr))]`: two calls share a
/// cache entry only when they pass the *same* object. The address is only
/// meaningful within one process, so such keys never match across restarts.
///
/// ```
/// use memo_runtime::Address;
/// use std::sync::Arc;
///
/// let a = Arc::new(5);
/// let b = Arc::clone(&a);
/// assert_eq!(a.address(), b.address());
/// assert_ne!(a.address(), Arc::new(5).address());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no stable address to key on",
    label = "`ptr` keys a parameter by the address it points to",
    note = "`ptr` works for references, `Box`, `Rc` and `Arc`; take the parameter by reference, or hash it by value"
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
}

impl<T: ?Sized> Address for &T {
    fn address(&self) -> usize {
        (*self as *const T).cast::<()>() as usize
    }
}

impl<T: ?Sized> Address for &mut T {
    fn address(&self) -> usize {
        (&**self as *const T).cast::<()>() as usize
    }
}

macro_rules! smart {
    ($($p:ident)*) => {$(
        impl<T: ?Sized> Address for $p<T> {
            fn address(&self) -> usize {
                (&**self as *const T).cast::<()>() as usize
            }
        }
    )*};
}
smart!(Box Rc Arc);
