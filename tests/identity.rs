//! Which function is which: same-named fns in one module (methods of two
//! types, fns nested in two fns) keep their own caches, companions and disk
//! entries, and each instantiation of a generic impl keys apart.

mod persist_support;

use memo_runtime::{memo, singleton};
use memo_suite::Runs;
use persist_support::*;
use std::marker::PhantomData;
use std::sync::Arc;

static RAN: Runs = Runs::new();

struct A;
struct B;

impl A {
    const OFFSET: u32 = 1;
}
impl B {
    const OFFSET: u32 = 1000;
}

// Both `val`s have the same module, name and tokens: only where they are
// tells them apart.
impl A {
    #[memo]
    fn val(x: u32) -> u32 {
        x + Self::OFFSET
    }

    #[memo(persist = "disk")]
    fn get(x: u64) -> u64 {
        RAN.hit();
        x + u64::from(Self::OFFSET)
    }
}

impl B {
    #[memo]
    fn val(x: u32) -> u32 {
        x + Self::OFFSET
    }

    #[memo(persist = "disk")]
    fn get(x: u64) -> u64 {
        RAN.hit();
        x + u64::from(Self::OFFSET)
    }
}

#[test]
fn same_named_methods_of_two_types_keep_their_own_cache() {
    assert_eq!(A::val(1), 2);
    assert_eq!(B::val(1), 1001);
    assert_eq!(A::val(1), 2);
    assert_eq!((A::val_stats().entries, B::val_stats().entries), (1, 1));
    assert_eq!((A::val_stats().hits, B::val_stats().hits), (1, 0));
    A::val_clear();
    assert_eq!((A::val_stats().entries, B::val_stats().entries), (0, 1));
    assert!(B::val_forget(1));
    assert_eq!(B::val_stats().entries, 0);
}

fn scaled_by_ten(x: u32) -> u32 {
    const K: u32 = 10;
    #[memo]
    fn scaled(x: u32) -> u32 {
        x * K
    }
    scaled(x)
}

fn scaled_by_twenty(x: u32) -> u32 {
    const K: u32 = 20;
    #[memo]
    fn scaled(x: u32) -> u32 {
        x * K
    }
    scaled(x)
}

#[test]
fn same_named_fns_nested_in_two_fns_keep_their_own_cache() {
    assert_eq!(scaled_by_ten(1), 10);
    assert_eq!(scaled_by_twenty(1), 20);
    assert_eq!(scaled_by_ten(2), 20);
    assert_eq!(scaled_by_twenty(2), 40);
}

trait Named {
    const NAME: &'static str;
}
struct Apple;
struct Pear;
impl Named for Apple {
    const NAME: &'static str = "apple";
}
impl Named for Pear {
    const NAME: &'static str = "pear";
}

struct Typed<T>(PhantomData<T>);

impl<T: Named> Typed<T> {
    #[memo]
    fn name(k: u32) -> String {
        format!("{}{k}", T::NAME)
    }

    #[singleton]
    fn label() -> String {
        T::NAME.to_uppercase()
    }

    #[memo]
    async fn later(k: u32) -> String {
        format!("{}{k}", T::NAME)
    }
}

struct Buf<const N: usize>;

impl<const N: usize> Buf<N> {
    #[memo]
    fn cap(k: usize) -> usize {
        N + k
    }
}

#[test]
fn each_instantiation_of_a_generic_impl_has_its_own_entries() {
    assert_eq!(Typed::<Apple>::name(1), "apple1");
    assert_eq!(Typed::<Pear>::name(1), "pear1");
    assert_eq!(Typed::<Apple>::name(1), "apple1");
    assert_eq!(*Typed::<Apple>::label(), "APPLE");
    assert_eq!(*Typed::<Pear>::label(), "PEAR");
    assert!(!Arc::ptr_eq(
        &Typed::<Apple>::label(),
        &Typed::<Pear>::label()
    ));
    assert_eq!(Buf::<1>::cap(0), 1);
    assert_eq!(Buf::<2>::cap(0), 2);
    futures::executor::block_on(async {
        assert_eq!(Typed::<Apple>::later(3).await, "apple3");
        assert_eq!(Typed::<Pear>::later(3).await, "pear3");
    });

    // `forget` names the same instantiation as the call.
    assert!(Typed::<Pear>::name_forget(1));
    assert!(!Typed::<Pear>::name_forget(1));
    assert_eq!(Typed::<Apple>::name(1), "apple1");
    assert!(Typed::<Apple>::name_forget(1));
}

#[test]
fn child() {
    let Some(role) = role() else { return };
    log_warnings();
    for step in role.split(';') {
        match step {
            "get" => {
                report("a", A::get(1));
                report("b", B::get(1));
            }
            "a_clear" => A::get_clear(),
            other => panic!("unknown step {other}"),
        }
    }
    report("ran", RAN.get());
}

#[test]
fn same_named_persisted_methods_keep_their_own_files() {
    let dir = fresh_dir("identity");
    let go = |steps: &str| {
        let r = run(child_cmd("child", steps, &dir));
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        r
    };
    let r = go("get");
    assert_eq!((r.get("a"), r.get("b"), r.get("ran")), ("2", "1001", "2"));
    // Served from disk, each its own value: neither wrote over or removed
    // the other's entries.
    let r = go("get");
    assert_eq!((r.get("a"), r.get("b"), r.get("ran")), ("2", "1001", "0"));
    let listed: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .flat_map(|g| std::fs::read_dir(g.path()).unwrap().flatten())
        .map(|f| std::fs::read_to_string(f.path().join("function")).unwrap())
        .map(|m| m.lines().next().unwrap().to_string())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed.iter().any(|l| l.ends_with("identity::A::get")),
        "{listed:?}"
    );
    assert!(
        listed.iter().any(|l| l.ends_with("identity::B::get")),
        "{listed:?}"
    );
    // A's clear leaves B's entries.
    let r = go("a_clear;get");
    assert_eq!(r.get("ran"), "1");
    let _ = std::fs::remove_dir_all(&dir);
}
