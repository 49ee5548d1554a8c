//! The expansion adds no warning to the user's code: with `deny(warnings)`,
//! this file fails to build if one fires, and `cargo clippy --all-targets --
//! -D warnings` does the same for clippy's lints.
#![deny(warnings)]

use memo_runtime::{memo, singleton, StableHash};

// ---- async bodies that end by diverging --------------------------------------

#[memo]
async fn not_yet(x: u32) -> u32 {
    if x > 0 {
        return x;
    }
    todo!("later: {x}")
}

#[memo]
#[allow(clippy::needless_return)]
async fn early(url: &str) -> Result<String, String> {
    if url.is_empty() {
        return Err("empty".into());
    }
    return Ok(url.to_owned());
}

#[memo]
async fn looping(x: u32) -> u32 {
    loop {
        if x > 0 {
            return x;
        }
    }
}

#[singleton]
async fn unfinished(x: u32) -> u32 {
    if x > 0 {
        return x;
    }
    unimplemented!()
}

#[derive(StableHash)]
struct Spinner(u32);

impl Spinner {
    #[memo]
    async fn spin(&self, x: u32) -> u32 {
        loop {
            if x > self.0 {
                return x;
            }
        }
    }
}

#[memo]
fn sync_diverges(x: u32) -> u32 {
    if x > 0 {
        return x;
    }
    todo!("{x}")
}

// ---- the fn's lint attributes reach its companions ---------------------------

#[memo]
#[allow(clippy::too_many_arguments)]
fn many(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> u32 {
    [a, b, c, d, e, f, g, h].iter().map(|&v| u32::from(v)).sum()
}

#[memo]
#[expect(clippy::too_many_arguments)]
fn many_expected(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8) -> u32 {
    u32::from(a ^ b ^ c ^ d ^ e ^ f ^ g ^ h)
}

#[memo]
#[allow(non_snake_case)]
fn Shouting(x: u32) -> u32 {
    x
}

#[memo]
#[forbid(unsafe_code)]
fn forbidding(x: u32) -> u32 {
    x
}

// ---- one-line bodies with pattern parameters ---------------------------------

#[derive(StableHash)]
struct Point {
    x: u32,
    y: u32,
}

#[memo]
fn tuple_pat((a, b): (u32, u32)) -> u32 {
    a + b
}

#[memo]
fn struct_pat(Point { x, y }: Point) -> u32 {
    x * y
}

#[memo]
fn ref_pat(&x: &u32) -> u32 {
    x + 1
}

#[memo]
async fn tuple_pat_async((a, b): (u32, u32)) -> u32 {
    a * b
}

#[memo]
fn inner_attribute(x: u32) -> u32 {
    #![allow(unused_variables)]
    let unused = 1;
    x
}

#[test]
fn every_fn_runs() {
    use futures::executor::block_on;
    assert_eq!(block_on(not_yet(1)), 1);
    assert_eq!(block_on(early("a")), Ok("a".into()));
    assert_eq!(block_on(looping(2)), 2);
    assert_eq!(*block_on(unfinished(3)), 3);
    assert_eq!(block_on(Spinner(0).spin(4)), 4);
    assert_eq!(sync_diverges(5), 5);
    assert_eq!(many(1, 1, 1, 1, 1, 1, 1, 1), 8);
    assert!(many_forget(1, 1, 1, 1, 1, 1, 1, 1));
    assert_eq!(many_expected(1, 1, 1, 1, 1, 1, 1, 1), 0);
    assert!(many_expected_forget(1, 1, 1, 1, 1, 1, 1, 1));
    assert_eq!(Shouting(6), 6);
    Shouting_clear();
    assert_eq!(Shouting_stats().entries, 0);
    assert_eq!(forbidding(7), 7);
    assert_eq!(tuple_pat((1, 2)), 3);
    assert_eq!(struct_pat(Point { x: 2, y: 3 }), 6);
    assert_eq!(ref_pat(&4), 5);
    assert_eq!(block_on(tuple_pat_async((2, 5))), 10);
    assert_eq!(inner_attribute(8), 8);
}
