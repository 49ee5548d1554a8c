//! Every shape of function the attributes accept: methods, generics,
//! `impl Trait`, patterns, `mut` parameters, attributes and docs.

use memo_runtime::{memo, singleton, StableHash};
use memo_suite::Runs;
use std::fmt::Display;
use std::sync::Arc;

#[derive(StableHash, Clone)]
struct Grid {
    w: u32,
    h: u32,
}

static AREA_RUNS: Runs = Runs::new();

impl Grid {
    /// Documented method.
    #[memo]
    fn area(&self) -> u64 {
        AREA_RUNS.hit();
        u64::from(self.w) * u64::from(self.h)
    }

    #[memo(hash(self = ignore))]
    fn kind(&self, scale: u32) -> String {
        format!("grid x{scale}")
    }

    #[memo]
    fn into_cells(self) -> u64 {
        u64::from(self.w * self.h)
    }

    #[singleton]
    fn shared(name: &str) -> Self {
        Grid {
            w: name.len() as u32,
            h: 1,
        }
    }
}

#[test]
fn methods_hash_self_by_value() {
    let a = Grid { w: 2, h: 3 };
    let b = Grid { w: 2, h: 3 };
    assert_eq!(a.area(), 6);
    assert_eq!(b.area(), 6);
    assert_eq!(AREA_RUNS.get(), 1, "equal receivers share an entry");
    assert_eq!(Grid { w: 3, h: 3 }.area(), 9);
    assert_eq!(AREA_RUNS.get(), 2);
    assert!(a.area_forget());
    assert_eq!(a.kind(2), "grid x2");
    assert_eq!(Grid { w: 9, h: 9 }.kind(2), "grid x2");
    assert_eq!(
        Grid::kind_stats().hits,
        1,
        "self = ignore: one entry for all receivers"
    );
    assert_eq!(a.clone().into_cells(), 6);
    assert!(Arc::ptr_eq(&Grid::shared("ab"), &Grid::shared("ab")));
}

static GENERIC_RUNS: Runs = Runs::new();

#[memo]
fn describe<T: StableHash + Display>(x: T) -> String {
    GENERIC_RUNS.hit();
    format!("{x}")
}

#[memo]
fn size_of_type<T>() -> usize {
    std::mem::size_of::<T>()
}

#[memo]
fn repeat<const N: usize>(s: &str) -> String {
    s.repeat(N)
}

#[test]
fn generic_instantiations_have_their_own_entries() {
    assert_eq!(describe(1u8), "1");
    assert_eq!(describe(1u64), "1");
    assert_eq!(describe("1"), "1");
    assert_eq!(GENERIC_RUNS.get(), 3);
    assert_eq!(describe(1u8), "1");
    assert_eq!(GENERIC_RUNS.get(), 3);
    assert_eq!(size_of_type::<u8>(), 1);
    assert_eq!(size_of_type::<u64>(), 8);
    assert_eq!(size_of_type::<u8>(), 1);
    assert_eq!(repeat::<2>("ab"), "abab");
    assert_eq!(repeat::<3>("ab"), "ababab");
}

#[memo]
fn show(x: impl Display + StableHash) -> String {
    x.to_string()
}

#[memo]
fn sum_pair((a, b): (u32, u32), mut scale: u32) -> u32 {
    scale += 1;
    (a + b) * scale
}

#[memo]
fn first(Grid { w, .. }: Grid, _: u8) -> u32 {
    w
}

#[test]
fn impl_trait_patterns_and_mut() {
    assert_eq!(show(5u8), "5");
    assert_eq!(show("5"), "5");
    assert_eq!(show_stats().misses, 2, "u8 5 and \"5\" are different keys");
    assert_eq!(sum_pair((1, 2), 1), 6);
    assert_eq!(sum_pair((1, 2), 1), 6);
    assert_eq!(sum_pair_stats().hits, 1);
    assert!(sum_pair_forget((1, 2), 1));
    assert!(!sum_pair_forget((1, 2), 1));
    assert_eq!(first(Grid { w: 4, h: 1 }, 0), 4);
}

#[derive(StableHash)]
struct Session {
    user: String,
}

impl Session {
    #[memo]
    fn greeting(self: Arc<Self>, punct: char) -> String {
        format!("hi {}{punct}", self.user)
    }

    #[memo]
    fn tiny(&self) -> usize {
        self.user.len()
    }
}

#[test]
fn typed_receivers_and_one_line_bodies() {
    let s = Arc::new(Session { user: "ada".into() });
    assert_eq!(Arc::clone(&s).greeting('!'), "hi ada!");
    assert_eq!(
        Arc::new(Session { user: "ada".into() }).greeting('!'),
        "hi ada!"
    );
    assert_eq!(
        Session::greeting_stats().hits,
        1,
        "equal sessions share an entry"
    );
    assert!(s.greeting_forget('!'));
    assert_eq!(s.tiny(), 3);
}

/// Attributes on the function stay on it, and `cfg` also gates the companions:
/// were either lost, this would not compile (the body names nothing real).
#[memo]
#[cfg(any())]
fn compiled_out(x: ThisTypeDoesNotExist) -> u8 {
    undefined_function(x)
}

#[memo]
#[must_use = "kept"]
#[inline]
#[allow(clippy::unnecessary_wraps)]
fn decorated(x: u8) -> Option<u8> {
    Some(x)
}

#[test]
fn attributes_are_kept() {
    assert_eq!(decorated(1), Some(1));
}

// Every closure of one fn has the same type name (`shapes::f::{{closure}}`):
// the key must tell them apart by more than the name.
#[memo]
fn apply<F: Fn() -> u8>(_f: F) -> u8 {
    _f()
}

#[memo]
fn apply_impl(_f: impl Fn() -> u8) -> u8 {
    _f()
}

#[memo]
fn apply_boxed<F: Fn() -> u8>(_f: Vec<F>) -> u8 {
    _f[0]()
}

#[test]
fn two_closures_of_one_fn_are_two_type_arguments() {
    assert_eq!((apply(|| 1), apply(|| 2)), (1, 2));
    assert_eq!((apply_impl(|| 1), apply_impl(|| 2)), (1, 2));
    assert_eq!((apply_boxed(vec![|| 1]), apply_boxed(vec![|| 2])), (1, 2));
    // Still one entry per closure: the same closure type hits.
    let three = || 3;
    assert_eq!((apply(three), apply(three)), (3, 3));
    assert_eq!(apply_stats().misses, 3);
    // A closure that borrows (not `'static`) is a type argument too.
    let s = String::from("four");
    assert_eq!(apply(|| s.len() as u8), 4);
}

struct Holder<F>(std::marker::PhantomData<F>);

impl<F: Fn() -> u8> Holder<F> {
    #[memo]
    fn instantiation() -> usize {
        0
    }

    fn of(_: &F) -> usize {
        Self::instantiation()
    }
}

#[test]
fn a_generic_impl_over_two_closures_is_two_instantiations() {
    let two = || 2;
    Holder::of(&|| 1);
    Holder::of(&two);
    Holder::of(&two);
    assert_eq!(
        Holder::<fn() -> u8>::instantiation_stats().misses,
        2,
        "each closure type computes once"
    );
}
