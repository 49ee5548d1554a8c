//! `hash(p = ptr)` keys a parameter by the object it points to, whether the
//! parameter is a reference or an owned smart pointer.

use memo_runtime::memo;
use std::sync::Arc;

struct Conn(u32);

#[memo(hash(conn = ptr))]
fn by_arc(conn: Arc<Conn>) -> u32 {
    conn.0
}

#[memo(hash(conn = ptr))]
fn by_ref(conn: &Conn) -> u32 {
    conn.0
}

#[test]
fn an_owned_arc_keys_by_its_pointee() {
    let a = Arc::new(Conn(1));
    let b = Arc::new(Conn(2));
    assert_eq!(by_arc(Arc::clone(&a)), 1);
    // Same stack depth, another object: keying by the parameter's own slot
    // would hand back `a`'s entry here.
    assert_eq!(by_arc(Arc::clone(&b)), 2);
    assert_eq!(by_arc(Arc::clone(&a)), 1);
    assert_eq!(by_arc_stats().hits, 1);
    assert!(by_arc_forget(Arc::clone(&b)));
    assert!(!by_arc_forget(Arc::clone(&b)));
}

#[test]
fn a_reference_keys_by_its_referent() {
    let a = Conn(1);
    let b = Conn(2);
    assert_eq!(by_ref(&a), 1);
    assert_eq!(by_ref(&b), 2);
    assert_eq!(by_ref(&a), 1);
    assert_eq!(by_ref_stats().hits, 1);
    assert!(by_ref_forget(&a));
}

#[memo(hash(v = ptr))]
fn slice_len(v: &[u8]) -> usize {
    v.len()
}

#[memo(hash(s = ptr))]
fn str_len(s: &str) -> usize {
    s.len()
}

#[memo(hash(d = ptr))]
fn debug_text(d: &dyn std::fmt::Debug) -> String {
    format!("{d:?}")
}

#[test]
fn a_subslice_is_another_object() {
    // `&buf[..2]` and `&buf[..4]` start at one address: the size tells them
    // apart, or the second call would get the first one's length.
    let buf = [1u8, 2, 3, 4];
    assert_eq!(slice_len(&buf[..2]), 2);
    assert_eq!(slice_len(&buf[..4]), 4);
    assert_eq!(slice_len(&buf[..2]), 2);
    let s = slice_len_stats();
    assert_eq!((s.hits, s.misses), (1, 2));
    assert!(slice_len_forget(&buf[..4]));
    assert!(!slice_len_forget(&buf[..3]));

    let text = String::from("hello");
    assert_eq!(str_len(&text[..2]), 2);
    assert_eq!(str_len(&text), 5);
    assert_eq!(str_len(&text[..2]), 2);
    assert_eq!(str_len_stats().hits, 1);
}

#[derive(Debug)]
#[repr(C)]
struct Outer {
    inner: u8,
    _more: u64,
}

#[test]
fn a_trait_object_is_keyed_by_its_object() {
    // A struct and its first field share an address.
    let o = Outer { inner: 7, _more: 9 };
    assert_eq!(
        std::ptr::addr_of!(o).cast::<u8>(),
        std::ptr::addr_of!(o.inner)
    );
    let whole = debug_text(&o);
    let field = debug_text(&o.inner);
    assert_eq!(field, "7");
    assert!(whole.starts_with("Outer"));
    assert_eq!(debug_text(&o), whole);
    assert_eq!(debug_text_stats().hits, 1);
}

#[derive(memo_runtime::StableHash)]
struct Pool(u32);

impl Pool {
    #[memo(hash(self = ptr))]
    fn weight(self: Arc<Self>, x: u32) -> u32 {
        self.0 * x
    }
}

#[test]
fn forget_finds_an_arc_receiver_keyed_by_ptr() {
    // The wrapper keys on the pool the `Arc` shares; `forget`, which takes
    // `&Arc<Self>`, must key on the same pool, not on the handle it borrows.
    let p = Arc::new(Pool(3));
    assert_eq!(Arc::clone(&p).weight(2), 6);
    assert_eq!(Arc::clone(&p).weight(2), 6);
    assert_eq!(Pool::weight_stats().entries, 1);
    assert!(p.weight_forget(2));
    assert_eq!(Pool::weight_stats().entries, 0);
    assert!(!p.weight_forget(2));
}
