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
