//! The key rules a user relies on: what makes two calls share a cache entry,
//! and what keeps them apart.

use memo_runtime::{digest_of, memo, KeyHasher, StableHash};
use memo_suite::Runs;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

// ---- equality -----------------------------------------------------------------

#[test]
fn equal_values_equal_digests_different_values_differ() {
    assert_eq!(digest_of(&42u64), digest_of(&42u64));
    assert_ne!(digest_of(&42u64), digest_of(&43u64));
    assert_eq!(digest_of("abc"), digest_of(&String::from("abc")));
    assert_ne!(digest_of("abc"), digest_of("abd"));
    assert_eq!(digest_of(&vec![1.5f64, 2.5]), digest_of(&[1.5f64, 2.5]));
    assert_ne!(digest_of(&vec![1.5f64, 2.5]), digest_of(&vec![2.5f64, 1.5]));
    assert_eq!(digest_of(&(1u8, "x")), digest_of(&(1u8, "x")));
    assert_ne!(digest_of(&(1u8, "x")), digest_of(&(2u8, "x")));
    assert_ne!(
        digest_of(&1u8),
        digest_of(&1u16),
        "widths are part of the encoding"
    );

    // Every one-element change of a larger value is seen, wherever it is,
    // including inside a bulk run.
    let base: Vec<u8> = (0..=255).collect();
    let d = digest_of(&base);
    for i in 0..base.len() {
        let mut v = base.clone();
        v[i] ^= 1;
        assert_ne!(digest_of(&v), d, "byte {i}");
    }
    let mut longer = base.clone();
    longer.push(0);
    assert_ne!(digest_of(&longer), d);
    assert_ne!(digest_of(&base[..255]), d);
}

#[test]
fn float_bits_are_the_key() {
    assert_ne!(digest_of(&0.0f64), digest_of(&-0.0f64));
    assert_ne!(digest_of(&0.0f32), digest_of(&-0.0f32));
    assert_ne!(
        digest_of(&vec![0.0f64; 100]),
        digest_of(&vec![-0.0f64; 100])
    );
    assert_eq!(digest_of(&f64::NAN), digest_of(&f64::NAN), "same NaN bits");
    let other_nan = f64::from_bits(f64::NAN.to_bits() | 1);
    assert!(other_nan.is_nan());
    assert_ne!(digest_of(&f64::NAN), digest_of(&other_nan));
}

#[test]
fn tags_and_length_prefixes_keep_shapes_apart() {
    assert_ne!(digest_of(&None::<u32>), digest_of(&Some(0u32)));
    assert_ne!(digest_of(&None::<Option<u8>>), digest_of(&Some(None::<u8>)));
    assert_ne!(digest_of(&Ok::<u8, u8>(1)), digest_of(&Err::<u8, u8>(1)));
    assert_ne!(digest_of(&("ab", "c")), digest_of(&("a", "bc")));
    assert_ne!(digest_of(&("", "ab")), digest_of(&("ab", "")));
    assert_ne!(
        digest_of(&(String::from("ab"), String::from("c"))),
        digest_of(&(String::from("a"), String::from("bc")))
    );
    assert_ne!(
        digest_of(&vec![vec![1u8], vec![2, 3]]),
        digest_of(&vec![vec![1u8, 2], vec![3]])
    );
    assert_ne!(
        digest_of(&vec![Vec::<u8>::new(), vec![1]]),
        digest_of(&vec![vec![1u8], Vec::new()])
    );
    assert_ne!(
        digest_of(&vec!["ab".to_string(), "c".to_string()]),
        digest_of(&vec!["a".to_string(), "bc".to_string()])
    );
    // Long strings become digests in the stream, still behind their length.
    let a = "a".repeat(100);
    let b = "b".repeat(100);
    assert_ne!(
        digest_of(&(a.as_str(), b.as_str())),
        digest_of(&(b.as_str(), a.as_str()))
    );
    assert_ne!(
        digest_of(&vec![a.clone() + "b", b.clone()]),
        digest_of(&vec![a.clone(), "b".to_string() + &b])
    );
}

// ---- unordered collections ----------------------------------------------------

#[test]
fn hash_maps_and_sets_ignore_insertion_order_and_capacity() {
    let n = 1000u32;
    let mut forward: HashMap<String, u32> = HashMap::new();
    for i in 0..n {
        forward.insert(format!("key{i}"), i);
    }
    let mut backward: HashMap<String, u32> = HashMap::with_capacity(4096);
    for i in (0..n).rev() {
        backward.insert(format!("key{i}"), i);
    }
    let mut churned: HashMap<String, u32> = HashMap::with_capacity(1);
    for i in (0..n).step_by(2).chain((1..n).step_by(2)) {
        churned.insert(format!("key{i}"), i);
    }
    for i in n..2 * n {
        churned.insert(format!("key{i}"), i);
    }
    for i in n..2 * n {
        churned.remove(&format!("key{i}"));
    }
    assert!(forward.capacity() != backward.capacity() || forward.capacity() != churned.capacity());
    assert_eq!(digest_of(&forward), digest_of(&backward));
    assert_eq!(digest_of(&forward), digest_of(&churned));

    // A different seed (every `HashMap` has its own) changes iteration order
    // but not the digest.
    let rebuilt: HashMap<String, u32> = forward.clone().into_iter().collect();
    assert_eq!(digest_of(&forward), digest_of(&rebuilt));

    // Contents still matter: one value, one key, one entry more or less.
    let mut changed = forward.clone();
    changed.insert("key7".into(), 8);
    assert_ne!(digest_of(&forward), digest_of(&changed));
    let mut renamed = forward.clone();
    renamed.remove("key7");
    renamed.insert("key7x".into(), 7);
    assert_ne!(digest_of(&forward), digest_of(&renamed));
    let mut fewer = forward.clone();
    fewer.remove("key7");
    assert_ne!(digest_of(&forward), digest_of(&fewer));
    // Keys and values are not interchangeable.
    let kv: HashMap<u32, u32> = [(1, 2)].into_iter().collect();
    let vk: HashMap<u32, u32> = [(2, 1)].into_iter().collect();
    assert_ne!(digest_of(&kv), digest_of(&vk));

    let set_a: HashSet<u64> = (0..5000).collect();
    let mut set_b: HashSet<u64> = HashSet::with_capacity(100_000);
    for i in (0..5000).rev() {
        set_b.insert(i);
    }
    assert_eq!(digest_of(&set_a), digest_of(&set_b));
    set_b.remove(&4999);
    assert_ne!(digest_of(&set_a), digest_of(&set_b));

    let pair: HashSet<u8> = [1, 2].into_iter().collect();
    let empty: HashSet<u8> = HashSet::new();
    assert_ne!(digest_of(&pair), digest_of(&empty));
}

#[test]
fn btree_maps_hash_in_key_order() {
    let a: BTreeMap<u32, &str> = [(2, "b"), (1, "a")].into_iter().collect();
    let b: BTreeMap<u32, &str> = [(1, "a"), (2, "b")].into_iter().collect();
    assert_eq!(digest_of(&a), digest_of(&b));
}

// ---- split and chunked sequences ----------------------------------------------

/// A deque holding `0..n` (mapped) whose ring buffer wraps: `front` elements
/// pushed at the front, the rest at the back.
fn split_deque<T>(n: usize, front: usize, f: impl Fn(usize) -> T) -> VecDeque<T> {
    let mut d = VecDeque::with_capacity(n);
    for i in (0..front).rev() {
        d.push_front(f(i));
    }
    for i in front..n {
        d.push_back(f(i));
    }
    d
}

#[test]
fn split_vecdeque_hashes_like_the_vec() {
    for n in [1usize, 2, 10, 15, 16, 17, 31, 32, 33, 64, 100, 1000] {
        for front in [0, 1, n / 2, n - 1, n] {
            // Primitives: the bulk path, short and long (u8 x 1000, u64 x 64).
            let d = split_deque(n, front, |i| i as u8);
            if front > 0 && front < n {
                assert!(!d.as_slices().1.is_empty(), "the ring buffer is split");
            }
            let v: Vec<u8> = d.iter().copied().collect();
            assert_eq!(digest_of(&d), digest_of(&v), "u8 n={n} front={front}");

            let d = split_deque(n, front, |i| i as u64 * 0x1_0000_0001);
            let v: Vec<u64> = d.iter().copied().collect();
            assert_eq!(digest_of(&d), digest_of(&v), "u64 n={n} front={front}");

            let d = split_deque(n, front, |i| i as f32 - 0.5);
            let v: Vec<f32> = d.iter().copied().collect();
            assert_eq!(digest_of(&d), digest_of(&v), "f32 n={n} front={front}");

            let d = split_deque(n, front, |i| i);
            let v: Vec<usize> = d.iter().copied().collect();
            assert_eq!(digest_of(&d), digest_of(&v), "usize n={n} front={front}");

            // Non-primitives: element by element.
            let d = split_deque(n, front, |i| format!("s{i}"));
            let v: Vec<String> = d.iter().cloned().collect();
            assert_eq!(digest_of(&d), digest_of(&v), "String n={n} front={front}");
        }
    }
    // A deque that wrapped after being drained from the front.
    let mut d: VecDeque<u32> = VecDeque::with_capacity(64);
    d.extend(0..64);
    d.drain(..40);
    d.extend(64..100);
    assert!(!d.as_slices().1.is_empty());
    let v: Vec<u32> = (40..100).collect();
    assert_eq!(digest_of(&d), digest_of(&v));
}

#[test]
fn large_slices_take_the_bulk_path_and_match_vec() {
    let data: Vec<u64> = (0..100_000u64)
        .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    let slice: &[u64] = &data;
    assert_eq!(digest_of(slice), digest_of(&data));
    assert_eq!(digest_of(&data[..]), digest_of(&data.to_vec()));
    let boxed: Box<[u64]> = data.clone().into_boxed_slice();
    assert_eq!(digest_of(&boxed), digest_of(&data));

    // The bulk path's canonical form: count, then one run over the LE bytes.
    let mut h = KeyHasher::new();
    h.write_len(data.len());
    let le: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    h.write_bulk(&le);
    assert_eq!(digest_of(slice), h.finish());

    // Through the trait's slice entry points too.
    let mut h = KeyHasher::new();
    u64::stable_hash_slice(slice, &mut h);
    assert_eq!(h.finish(), digest_of(&data));
    let mut h = KeyHasher::new();
    u64::stable_hash_slice_parts(&[&data[..123], &data[123..]], &mut h);
    assert_eq!(h.finish(), digest_of(&data));
    let (a, rest) = data.split_at(10);
    let (b, c) = rest.split_at(50_000);
    let mut h = KeyHasher::new();
    u64::stable_hash_slice_parts(&[a, b, c], &mut h);
    assert_eq!(h.finish(), digest_of(&data), "three parts");

    // An array of the same elements is the same key as the slice.
    let arr: [u16; 40] = std::array::from_fn(|i| i as u16);
    assert_eq!(digest_of(&arr), digest_of(&arr.to_vec()));
}

#[test]
fn write_bulk_parts_equals_write_bulk_on_the_concatenation() {
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    for len in [
        0usize, 1, 31, 63, 64, 65, 127, 128, 129, 240, 241, 256, 1024, 3000,
    ] {
        let whole = {
            let mut h = KeyHasher::new();
            h.write_bulk(&data[..len]);
            h.finish()
        };
        for cut in [0, 1, len / 3, len / 2, len.saturating_sub(1), len] {
            let cut = cut.min(len);
            let mut h = KeyHasher::new();
            h.write_bulk_parts(&[&data[..cut], &data[cut..len]]);
            assert_eq!(h.finish(), whole, "len {len} cut {cut}");
        }
        let thirds = [
            &data[..len / 3],
            &data[len / 3..2 * len / 3],
            &data[2 * len / 3..len],
        ];
        let mut h = KeyHasher::new();
        h.write_bulk_parts(&thirds);
        assert_eq!(h.finish(), whole, "len {len} in three");
        let mut h = KeyHasher::new();
        h.write_bulk_parts(&[&data[..len]]);
        assert_eq!(h.finish(), whole, "len {len} in one");

        // Also after other bytes, when the run straddles the stack buffer.
        for prefix in [1usize, 100, 127, 128, 200] {
            let mut a = KeyHasher::new();
            a.write_bytes(&data[..prefix]);
            a.write_bulk(&data[..len]);
            let mut b = KeyHasher::new();
            b.write_bytes(&data[..prefix]);
            b.write_bulk_parts(&[&data[..len / 2], &data[len / 2..len]]);
            assert_eq!(a.finish(), b.finish(), "prefix {prefix} len {len}");
        }
    }
}

#[test]
fn how_bytes_are_written_does_not_matter() {
    // The digest depends only on the canonical stream, not on how it was fed.
    let data: Vec<u8> = (0..2000u32).map(|i| (i ^ (i >> 3)) as u8).collect();
    for len in [0usize, 5, 127, 128, 129, 300, 2000] {
        let mut whole = KeyHasher::new();
        whole.write_bytes(&data[..len]);
        let whole = whole.finish();
        for chunk in [1usize, 3, 64, 127, 128, 129, 500] {
            let mut h = KeyHasher::new();
            for c in data[..len].chunks(chunk) {
                h.write_bytes(c);
            }
            assert_eq!(h.finish(), whole, "len {len} chunk {chunk}");
        }
    }
}

// ---- derived types --------------------------------------------------------------

mod first {
    #[derive(memo_runtime::StableHash)]
    pub struct Pair {
        pub left: u32,
        pub right: u32,
    }
}

mod second {
    #[derive(memo_runtime::StableHash)]
    pub struct Pair {
        pub left: u32,
        pub other: u32,
    }
}

mod reordered {
    #[derive(memo_runtime::StableHash)]
    pub struct Pair {
        pub right: u32,
        pub left: u32,
    }
}

#[derive(StableHash)]
struct Width(u32);

#[derive(StableHash)]
struct Height(u32);

#[derive(StableHash)]
enum Event {
    Click { x: u32 },
    Press { x: u32 },
    Tap(u32),
    Start,
    Stop,
}

#[test]
fn derived_names_are_part_of_the_key() {
    let a = first::Pair { left: 1, right: 2 };
    assert_eq!(digest_of(&a), digest_of(&first::Pair { left: 1, right: 2 }));
    assert_ne!(digest_of(&a), digest_of(&first::Pair { left: 2, right: 1 }));
    // Same type name, same field types and values; only a field name differs.
    assert_ne!(
        digest_of(&a),
        digest_of(&second::Pair { left: 1, other: 2 })
    );
    // Same fields, declared in another order.
    assert_ne!(
        digest_of(&a),
        digest_of(&reordered::Pair { right: 2, left: 1 })
    );
    // Same shape, different type name.
    assert_ne!(digest_of(&Width(3)), digest_of(&Height(3)));

    assert_ne!(
        digest_of(&Event::Click { x: 1 }),
        digest_of(&Event::Press { x: 1 })
    );
    assert_ne!(digest_of(&Event::Click { x: 1 }), digest_of(&Event::Tap(1)));
    assert_ne!(digest_of(&Event::Start), digest_of(&Event::Stop));
    assert_ne!(
        digest_of(&Event::Click { x: 1 }),
        digest_of(&Event::Click { x: 2 })
    );
    assert_eq!(digest_of(&Event::Tap(5)), digest_of(&Event::Tap(5)));
}

// ---- parameters ------------------------------------------------------------------

#[test]
fn parameter_names_are_part_of_the_key() {
    let key = |name: &str| {
        let mut h = KeyHasher::new();
        h.param(name, &1u64);
        h.finish()
    };
    assert_eq!(key("a"), key("a"));
    assert_ne!(key("a"), key("b"));
    assert_ne!(key("ab"), key("a"));

    // Name/value boundaries can't slide: ("ab" = "c") is not ("a" = "bc").
    let mut x = KeyHasher::new();
    x.param("ab", "c");
    let mut y = KeyHasher::new();
    y.param("a", "bc");
    assert_ne!(x.finish(), y.finish());

    // Order of parameters matters.
    let mut x = KeyHasher::new();
    x.param("a", &1u8);
    x.param("b", &2u8);
    let mut y = KeyHasher::new();
    y.param("b", &2u8);
    y.param("a", &1u8);
    assert_ne!(x.finish(), y.finish());
}

static LEN_RUNS: Runs = Runs::new();

#[memo(hash(s = |v| v.len()))]
fn keyed_by_len(s: &str) -> String {
    LEN_RUNS.hit();
    s.to_uppercase()
}

static OWNED_LEN_RUNS: Runs = Runs::new();

#[memo(hash(s = |v: &String| v.len()))]
fn owned_keyed_by_len(s: String, n: u8) -> usize {
    OWNED_LEN_RUNS.hit();
    s.len() + usize::from(n)
}

#[test]
fn a_function_override_keys_by_what_it_returns() {
    assert_eq!(keyed_by_len("ab"), "AB");
    assert_eq!(
        keyed_by_len("cd"),
        "AB",
        "same length: a hit, the first value"
    );
    assert_eq!(LEN_RUNS.get(), 1);
    assert_eq!(keyed_by_len("abc"), "ABC");
    assert_eq!(LEN_RUNS.get(), 2);
    let s = keyed_by_len_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 2, 2));

    assert_eq!(owned_keyed_by_len("xy".into(), 1), 3);
    assert_eq!(owned_keyed_by_len("zw".into(), 1), 3);
    assert_eq!(OWNED_LEN_RUNS.get(), 1);
    assert_eq!(
        owned_keyed_by_len("zw".into(), 2),
        4,
        "other params still count"
    );
    assert_eq!(OWNED_LEN_RUNS.get(), 2);
    assert_eq!(owned_keyed_by_len_stats().hits, 1);
}

struct Conn {
    url: String,
}

static REF_PTR_RUNS: Runs = Runs::new();

#[memo(hash(conn = ptr))]
fn query_ref(conn: &Conn, sql: &str) -> String {
    REF_PTR_RUNS.hit();
    format!("{}: {sql}", conn.url)
}

#[test]
fn ptr_keys_a_reference_by_which_object_it_is() {
    let a = Conn { url: "db".into() };
    let b = Conn { url: "db".into() };
    assert_eq!(query_ref(&a, "select 1"), "db: select 1");
    assert_eq!(query_ref(&a, "select 1"), "db: select 1");
    assert_eq!(REF_PTR_RUNS.get(), 1, "the same object: a hit");
    assert_eq!(query_ref(&b, "select 1"), "db: select 1");
    assert_eq!(
        REF_PTR_RUNS.get(),
        2,
        "an equal but distinct object: a miss"
    );
    assert_eq!(query_ref(&a, "select 2"), "db: select 2");
    assert_eq!(REF_PTR_RUNS.get(), 3, "the other parameters still count");
    let s = query_ref_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 3, 3));
}

static ARC_PTR_RUNS: Runs = Runs::new();

#[memo(hash(conn = ptr))]
fn query_arc(conn: Arc<Conn>) -> String {
    ARC_PTR_RUNS.hit();
    conn.url.clone()
}

#[test]
fn ptr_keys_an_arc_by_the_object_it_shares() {
    let a = Arc::new(Conn { url: "a".into() });
    let b = Arc::new(Conn { url: "a".into() });
    assert_eq!(query_arc(Arc::clone(&a)), "a");
    assert_eq!(query_arc(Arc::clone(&a)), "a");
    assert_eq!(ARC_PTR_RUNS.get(), 1, "the same Arc: a hit");
    assert_eq!(query_arc(Arc::clone(&b)), "a");
    assert_eq!(ARC_PTR_RUNS.get(), 2, "two distinct but equal Arcs: a miss");
    let s = query_arc_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 2, 2));
}

static ARC_REF_PTR_RUNS: Runs = Runs::new();

#[memo(hash(conn = ptr))]
fn query_arc_ref(conn: &Arc<Conn>) -> String {
    ARC_REF_PTR_RUNS.hit();
    conn.url.clone()
}

#[test]
fn ptr_keys_a_borrowed_arc_by_identity() {
    let a = Arc::new(Conn { url: "a".into() });
    let b = Arc::new(Conn { url: "a".into() });
    assert_eq!(query_arc_ref(&a), "a");
    assert_eq!(query_arc_ref(&a), "a");
    assert_eq!(ARC_REF_PTR_RUNS.get(), 1, "the same Arc: a hit");
    assert_eq!(query_arc_ref(&b), "a");
    assert_eq!(
        ARC_REF_PTR_RUNS.get(),
        2,
        "two distinct but equal Arcs: a miss"
    );
    let s = query_arc_ref_stats();
    assert_eq!((s.hits, s.misses, s.entries), (1, 2, 2));
}

static SKIP_RUNS: Runs = Runs::new();

/// Not `StableHash`, and doesn't need to be: `_conn` is not part of the key.
struct Connection(&'static str);

#[memo]
fn load(id: u64, _conn: &Connection) -> String {
    SKIP_RUNS.hit();
    format!("row {id} via {}", _conn.0)
}

#[test]
fn underscore_parameters_are_not_part_of_the_key() {
    let conn1 = Connection("primary");
    let conn2 = Connection("replica");
    assert_eq!(load(1, &conn1), "row 1 via primary");
    assert_eq!(
        load(1, &conn2),
        "row 1 via primary",
        "a hit despite another connection"
    );
    assert_eq!(SKIP_RUNS.get(), 1);
    assert_eq!(load(2, &conn2), "row 2 via replica");
    assert_eq!(SKIP_RUNS.get(), 2);
    let s = load_stats();
    assert_eq!((s.hits, s.misses, s.entries, s.evictions), (1, 2, 2, 0));
}

static EQUAL_RUNS: Runs = Runs::new();

#[memo]
fn total(values: Vec<u32>, labels: HashMap<String, u8>) -> u64 {
    EQUAL_RUNS.hit();
    values.iter().map(|&v| u64::from(v)).sum::<u64>() + labels.len() as u64
}

#[test]
fn a_memo_call_hits_on_equal_arguments_whatever_their_layout() {
    let labels_a: HashMap<String, u8> = (0..50).map(|i| (format!("l{i}"), i)).collect();
    let mut labels_b = HashMap::with_capacity(1000);
    for i in (0..50).rev() {
        labels_b.insert(format!("l{i}"), i);
    }
    let values: Vec<u32> = (0..200).collect();
    assert_eq!(total(values.clone(), labels_a.clone()), 19_900 + 50);
    assert_eq!(total(values.clone(), labels_b), 19_900 + 50);
    assert_eq!(EQUAL_RUNS.get(), 1);
    let mut more = values.clone();
    more.push(0);
    total(more, labels_a);
    assert_eq!(EQUAL_RUNS.get(), 2);
    let s = total_stats();
    assert_eq!((s.hits, s.misses), (1, 2));
}
