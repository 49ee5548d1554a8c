//! The generated code keeps to itself: a user's parameter names, field names
//! and traits in scope can't change what a cached fn does.

use memo_runtime::{digest_of, memo, singleton, StableHash};

/// Every method name the generated code calls, for every type. Method calls
/// pick a trait method found by autoref before an inherent one taking
/// `&mut self`, and two traits' same-named methods are ambiguous; neither
/// may reach the expansion.
mod everything {
    pub trait Everything {
        fn mode(&self) -> u8 {
            1
        }
        fn returns(&self) -> u8 {
            2
        }
        fn param(&self, _: &str, _: &u32) {}
        fn call_key(&self) -> u8 {
            3
        }
        fn memo(&self) {}
        fn write_str(&self, _: &str) {}
    }
    impl<T: ?Sized> Everything for T {}
}
use everything::Everything;

// Names starting with `_` are not hashed, but the body reads them: it must
// see the caller's values, not the wrapper's key and body closure.
#[memo]
fn named_like_locals(__memo_key: u32, __memo_body: u32, __memo_h: u32, x: u32) -> u32 {
    __memo_key * 1000 + __memo_body * 100 + __memo_h * 10 + x
}

#[memo]
async fn named_like_locals_async(__memo_key: u32, __memo_body: &str, x: u32) -> String {
    format!("{__memo_key}{__memo_body}{x}")
}

#[memo]
fn plain(x: u32) -> u32 {
    x + 1
}

#[memo]
fn fallible(x: u32) -> Result<u32, String> {
    if x == 0 {
        Err("zero".into())
    } else {
        Ok(x)
    }
}

#[singleton]
fn shared(x: u32) -> Vec<u32> {
    vec![x]
}

#[derive(StableHash)]
struct Weird {
    __h: u32,
    __f0: u8,
}

#[derive(StableHash)]
enum WeirdEnum {
    A { __h: u32 },
    B(u32, u8),
}

#[memo]
fn weird(w: Weird) -> u32 {
    w.__h + u32::from(w.__f0)
}

#[test]
fn parameters_named_like_generated_locals_stay_the_users() {
    assert_eq!(named_like_locals(1, 2, 3, 4), 1234);
    assert_eq!(
        named_like_locals(9, 9, 9, 4),
        1234,
        "a hit: only `x` is hashed"
    );
    assert!(named_like_locals_forget(0, 0, 0, 4));
    let got = futures::executor::block_on(named_like_locals_async(7, "x", 1));
    assert_eq!(got, "7x1");
}

#[test]
fn a_field_named_like_the_derives_hasher_is_hashed() {
    assert_eq!(weird(Weird { __h: 1, __f0: 2 }), 3);
    assert_eq!(weird(Weird { __h: 2, __f0: 2 }), 4);
    assert_ne!(
        digest_of(&WeirdEnum::A { __h: 1 }),
        digest_of(&WeirdEnum::A { __h: 2 })
    );
    assert_ne!(
        digest_of(&WeirdEnum::B(1, 2)),
        digest_of(&WeirdEnum::B(1, 3))
    );
}

#[test]
fn a_users_blanket_trait_does_not_reach_the_expansion() {
    assert_eq!(0u8.mode() + 0u8.returns() + 0u8.call_key(), 6);
    0u8.param("x", &1);
    0u8.memo();
    0u8.write_str("x");
    assert_eq!(plain(1), 2);
    assert_eq!(plain(1), 2);
    assert_eq!(plain_stats().hits, 1);
    assert_eq!(fallible(0), Err("zero".into()));
    assert_eq!(fallible(2), Ok(2));
    assert_eq!(*shared(4), vec![4]);
}
