//! Decoding arbitrary bytes as a disk entry never panics, never allocates
//! what the file does not hold, and accepts only what was written: random
//! bytes, and many mutations of valid entries (including ones whose checksums
//! were recomputed, so that the payload decoder itself sees the garbage).

use memo_runtime::persist::{decode_entry_for_tests as decode, encode_entry_for_tests as encode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Tree {
    Leaf(f64),
    Node {
        name: String,
        kids: Vec<Tree>,
        next: Option<Box<Tree>>,
    },
    Empty,
}

/// Nested a level per element: a long one sits near the depth limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum List {
    Cons(u32, Box<List>),
    Nil,
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FK: u128 = 0x1234;
const VK: u128 = 0x5678;

fn fix_sums(b: &mut [u8]) {
    if b.len() < 112 {
        return;
    }
    let body = xxhash_rust::xxh3::xxh3_64(&b[112..]);
    b[88..96].copy_from_slice(&body.to_le_bytes());
    let head = xxhash_rust::xxh3::xxh3_64(&b[..104]);
    b[104..112].copy_from_slice(&head.to_le_bytes());
}

/// A mutated entry, and whether its checksums were recomputed to match.
fn mutate(rng: &mut Rng, valid: &[u8]) -> (Vec<u8>, bool) {
    let mut b = valid.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(6) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            2 => b.truncate(rng.below(b.len() + 1)),
            3 => b.extend((0..rng.below(16)).map(|_| rng.next() as u8)),
            4 if b.len() >= 8 => {
                // A length-sized field set to something huge.
                let i = rng.below(b.len() - 7);
                b[i..i + 8].copy_from_slice(&(rng.next() | 1 << 62).to_le_bytes());
            }
            _ => {}
        }
    }
    let fixed = rng.below(2) == 0;
    if fixed {
        fix_sums(&mut b);
    }
    (b, fixed)
}

fn check<V>(value: V, seed: u64, rounds: usize)
where
    V: Serialize + for<'de> Deserialize<'de> + PartialEq + Debug + 'static,
{
    let valid = encode(FK, VK, &value, b"replay".to_vec(), None);
    assert_eq!(
        decode::<V>(&valid, FK, VK).unwrap(),
        value,
        "a valid entry decodes"
    );
    assert!(
        decode::<V>(&valid, FK, VK + 1).is_err(),
        "another key's entry is refused"
    );

    let mut rng = Rng(seed);
    let mut refused = 0;
    for _ in 0..rounds {
        let (bytes, fixed) = mutate(&mut rng, &valid);
        match decode::<V>(&bytes, FK, VK) {
            // With its checksums intact, damage can't pass for a value.
            Ok(v) if !fixed => assert_eq!(v, value, "accepted damaged bytes"),
            Ok(_) => {}
            Err(_) => refused += 1,
        }
        // Random bytes, with a valid header's start half the time.
        let mut junk: Vec<u8> = (0..rng.below(300)).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && junk.len() > 16 {
            junk[..16].copy_from_slice(&valid[..16]);
        }
        assert!(decode::<V>(&junk, FK, VK).is_err());
    }
    assert!(
        refused > rounds / 2,
        "most mutations must be refused: {refused}"
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    // `Vec<f64>` and `Vec<u8>` take the bulk path, the others the codec.
    check((0..100).map(f64::from).collect::<Vec<f64>>(), 1, 4000);
    check(vec![7u8; 300], 6, 4000);
    check("héllo wörld".repeat(5), 2, 4000);
    let map: BTreeMap<String, Vec<u32>> = [("a".into(), vec![1, 2]), ("b".into(), vec![])].into();
    check(map, 3, 4000);
    let tree = Tree::Node {
        name: "root".into(),
        kids: vec![Tree::Leaf(1.5), Tree::Empty],
        next: Some(Box::new(Tree::Leaf(2.0))),
    };
    check(tree, 4, 4000);
    check((1u8, 'x', Some(true), -5i128), 5, 4000);
    // Lengths that elements of no bytes can't be checked against.
    check(vec![vec![(); 3], vec![], vec![(); 1000]], 7, 4000);
    // 1 001 levels: damage in a variant tag leaves the decoder deep.
    let list = (0..1000).fold(List::Nil, |l, i| List::Cons(i, Box::new(l)));
    check(list, 8, 400);
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    // A chain of `Some(Box(Node))` 100 000 deep, crafted by hand: each level
    // is variant 1 (`Node`), an empty name, no kids, then `Some`.
    let mut payload = Vec::new();
    for _ in 0..100_000 {
        payload.extend(1u32.to_le_bytes());
        payload.extend(0u64.to_le_bytes());
        payload.extend(0u64.to_le_bytes());
        payload.push(1);
    }
    payload.extend(2u32.to_le_bytes());
    let valid = encode(FK, VK, &Tree::Empty, Vec::new(), None);
    let mut bytes = valid[..112].to_vec();
    bytes[80..88].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend(payload);
    fix_sums(&mut bytes);
    let e = decode::<Tree>(&bytes, FK, VK).unwrap_err();
    assert!(e.contains("nested"), "{e}");
}
