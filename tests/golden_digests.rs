//! Golden digests: the cache-key encoding, pinned.
//!
//! Every literal below is a `u128` key as `memo_runtime` computes it today. These
//! digests are part of the **on-disk format**: persisted and shared caches are
//! addressed by them, so a change to any encoding (a length prefix, a byte
//! order, the bulk threshold, how a map is canonicalised, how the derive
//! writes names, the function-key formula, the xxh3 variant) silently orphans
//! every entry ever written.
//!
//! If a test here fails, the encoding changed. Either the change is a bug (fix
//! it), or it is intended, and then it must come with a **format version bump**
//! that namespaces old entries away, and only then may these literals be
//! regenerated (the failure message prints the new table). Never "just update
//! the numbers".

use memo_runtime::__private::{FnInfo, Kind, Options};
use memo_runtime::{digest_of, KeyHasher, StableHash};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(StableHash)]
struct Point {
    x: i32,
    y: i32,
    label: String,
}

#[derive(StableHash)]
struct Meters(f64);

#[derive(StableHash)]
struct Marker;

#[derive(StableHash)]
enum Shape {
    Circle { r: f64 },
    Square(f64),
    Empty,
}

const LONG_STR: &str =
    "the quick brown fox jumps over the lazy dog, then naps for a while in the sun";

/// A 1 MiB buffer with a fixed, non-trivial pattern.
fn mib() -> Vec<u8> {
    (0..1usize << 20)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

/// 100,000 floats, including a negative zero, a NaN and infinities.
fn floats() -> Vec<f64> {
    let mut v: Vec<f64> = (0..100_000).map(|i| f64::from(i) * 0.25 - 1000.0).collect();
    v[1] = -0.0;
    v[2] = f64::NAN;
    v[3] = f64::INFINITY;
    v[4] = f64::NEG_INFINITY;
    v
}

fn no_options() -> Options {
    Options::new()
}

/// Every pinned case: a name, and the digest computed now.
fn cases() -> Vec<(&'static str, u128)> {
    let mut hm: HashMap<String, u32> = HashMap::new();
    hm.insert("one".into(), 1);
    hm.insert("two".into(), 2);
    hm.insert("three".into(), 3);
    let hs: HashSet<u64> = [5, 1, 9, 3].into_iter().collect();
    let bm: BTreeMap<String, u32> = hm.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let bs: BTreeSet<u64> = hs.iter().copied().collect();
    let dq: VecDeque<u16> = [1, 2, 3].into_iter().collect();
    let arr: [u8; 4] = [1, 2, 3, 4];
    let slice: &[i32] = &[-1, 0, 1];

    let two_params = {
        let mut h = KeyHasher::new();
        h.param("a", &1u64);
        h.param("b", &"x");
        h.finish()
    };
    let fn_key = FnInfo::new(
        || "my_app::data::load::__memo_here",
        "load",
        Kind::Memo,
        0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        no_options,
    )
    .function_key();
    let singleton_fn_key = FnInfo::new(
        || "my_app::data::load::__memo_here",
        "load",
        Kind::Singleton,
        0x0123_4567_89ab_cdef_0011_2233_4455_6677,
        no_options,
    )
    .function_key();

    vec![
        // Integers: fixed width, little-endian.
        ("u8", digest_of(&0xABu8)),
        ("u16", digest_of(&0xABCDu16)),
        ("u32", digest_of(&0xDEAD_BEEFu32)),
        ("u64", digest_of(&0x0123_4567_89AB_CDEFu64)),
        ("u64 0", digest_of(&0u64)),
        ("u64 MAX", digest_of(&u64::MAX)),
        (
            "u128",
            digest_of(&0x0011_2233_4455_6677_8899_AABB_CCDD_EEFFu128),
        ),
        ("usize", digest_of(&123_456_789usize)),
        ("i8", digest_of(&-5i8)),
        ("i16", digest_of(&-1234i16)),
        ("i32", digest_of(&-123_456i32)),
        ("i64", digest_of(&-1_234_567_890_123i64)),
        ("i64 MIN", digest_of(&i64::MIN)),
        (
            "i128",
            digest_of(&-170_141_183_460_469_231_731_687_303_715_884_105_727i128),
        ),
        ("isize", digest_of(&-42isize)),
        // Floats: by bit pattern.
        ("f32", digest_of(&1.5f32)),
        ("f64", digest_of(&std::f64::consts::PI)),
        ("f64 0.0", digest_of(&0.0f64)),
        ("f64 -0.0", digest_of(&-0.0f64)),
        ("f64 NaN", digest_of(&f64::NAN)),
        ("f32 NaN", digest_of(&f32::NAN)),
        // Scalars.
        ("bool true", digest_of(&true)),
        ("bool false", digest_of(&false)),
        ("char", digest_of(&'é')),
        ("()", digest_of(&())),
        // Strings.
        ("&str", digest_of(&"hello")),
        ("&str empty", digest_of(&"")),
        ("String", digest_of(&String::from("hello, world"))),
        ("String long", digest_of(&LONG_STR.to_string())),
        ("&str long", digest_of(&LONG_STR)),
        // Sum types.
        ("Option None", digest_of(&None::<u32>)),
        ("Option Some", digest_of(&Some(7u32))),
        ("Result Ok", digest_of(&Ok::<u8, String>(3))),
        ("Result Err", digest_of(&Err::<u8, String>("bad".into()))),
        // Tuples.
        ("tuple 1", digest_of(&(1u8,))),
        ("tuple 2", digest_of(&(1u8, "a"))),
        ("tuple 3", digest_of(&(1u8, -2i64, true))),
        (
            "tuple 12",
            digest_of(&(
                1u8, 2u16, 3u32, 4u64, 5i8, 6i16, 7i32, 8i64, 9.0f32, 10.0f64, 'k', "l",
            )),
        ),
        // Sequences.
        ("array", digest_of(&arr)),
        ("slice", digest_of(slice)),
        ("Vec<u32>", digest_of(&vec![1u32, 2, 3])),
        ("Vec<u32> empty", digest_of(&Vec::<u32>::new())),
        (
            "Vec<String>",
            digest_of(&vec!["a".to_string(), "bc".to_string()]),
        ),
        ("Vec<Vec<u8>>", digest_of(&vec![vec![1u8], vec![2, 3]])),
        ("VecDeque<u16>", digest_of(&dq)),
        ("Vec<u8> 1 MiB", digest_of(&mib())),
        ("Vec<f64> 100k", digest_of(&floats())),
        (
            "Vec<u64> 1000",
            digest_of(&(0..1000u64).collect::<Vec<_>>()),
        ),
        // Maps and sets.
        ("HashMap", digest_of(&hm)),
        ("HashSet", digest_of(&hs)),
        ("HashMap empty", digest_of(&HashMap::<u8, u8>::new())),
        ("BTreeMap", digest_of(&bm)),
        ("BTreeSet", digest_of(&bs)),
        // Pointers hash what they point to.
        ("Box", digest_of(&Box::new(7u32))),
        ("Rc", digest_of(&Rc::new(7u32))),
        ("Arc", digest_of(&Arc::new(7u32))),
        ("&T", digest_of(&&7u32)),
        ("Box<str>", digest_of::<Box<str>>(&"hello".into())),
        // Paths and time.
        ("Path", digest_of(Path::new("/var/data/input.csv"))),
        ("PathBuf", digest_of(&PathBuf::from("/var/data/input.csv"))),
        ("Duration", digest_of(&Duration::new(90, 500_000_000))),
        (
            "SystemTime",
            digest_of(&(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789))),
        ),
        (
            "SystemTime before epoch",
            digest_of(&(UNIX_EPOCH - Duration::from_secs(86_400))),
        ),
        ("SystemTime epoch", digest_of(&SystemTime::UNIX_EPOCH)),
        // Derived.
        (
            "derive struct",
            digest_of(&Point {
                x: 1,
                y: -2,
                label: "origin".into(),
            }),
        ),
        ("derive tuple struct", digest_of(&Meters(2.5))),
        ("derive unit struct", digest_of(&Marker)),
        (
            "derive enum struct variant",
            digest_of(&Shape::Circle { r: 1.0 }),
        ),
        ("derive enum tuple variant", digest_of(&Shape::Square(1.0))),
        ("derive enum unit variant", digest_of(&Shape::Empty)),
        // Keys as generated code builds them.
        ("key a=1u64 b=\"x\"", two_params),
        ("key empty", KeyHasher::new().finish()),
        ("function_key memo", fn_key),
        ("function_key singleton", singleton_fn_key),
    ]
}

/// The pinned values. See the module docs before touching any of them.
const GOLDEN: &[(&str, u128)] = &[
    ("u8", 0xe21cadf66918af67e47e4c5a224123f1),
    ("u16", 0x3c4453d72ef94cc09674a483dc4626c9),
    ("u32", 0xa60a8ec36b02f92a50212f9cd7a534bf),
    ("u64", 0x9d0a16a121edc615dc7da55868feb560),
    ("u64 0", 0x2c0a8a99dc147d5445c3b49d035665b2),
    ("u64 MAX", 0xdc6b20d207425aa58b3249d34c2ef0b0),
    ("u128", 0x31712123ec93a453cd0797e5a7f68180),
    ("usize", 0x2b35bb83fd121d014eeba6241c7b7baa),
    ("i8", 0x4b120ec907565137f487e4acab9c606c),
    ("i16", 0x501847952fa450f86dcf22a9bf5ec4c4),
    ("i32", 0xee5a53873f34d4c7f504eaa21109bf45),
    ("i64", 0x34587ccef02d7709637378ba23fdb53b),
    ("i64 MIN", 0x5e7cddf0bb0f028812de6347328b719b),
    ("i128", 0x272873a4feee1ae8d4b0851be8033122),
    ("isize", 0x706ee1bd377e14679a9ed55f72a5d14a),
    ("f32", 0x8418c44901680acd4657d66061f9bc57),
    ("f64", 0xe15372e0fd2d1f8bb8d1cc4895be659f),
    ("f64 0.0", 0x2c0a8a99dc147d5445c3b49d035665b2),
    ("f64 -0.0", 0x5e7cddf0bb0f028812de6347328b719b),
    ("f64 NaN", 0xbf8c655e1d469c5001496f760121fd3f),
    ("f32 NaN", 0x4c0cb5af0f065910d3000d02d61d2bd1),
    ("bool true", 0x51025a4491835505e12ef9d2eb86ceeb),
    ("bool false", 0xa6cd5e9392000f6ac44bdff4074eecdb),
    ("char", 0x785e127efb050510a524f044e2d567c1),
    ("()", 0x99aa06d3014798d86001c324468d497f),
    ("&str", 0xb7abd2268c4d51892a1dbc37b30345c8),
    ("&str empty", 0xa6cd5e9392000f6ac44bdff4074eecdb),
    ("String", 0x6fd82b3b0e15e769b73a295e03fc4cb8),
    ("String long", 0xbca8a1f0079b7516c7baa6336cda7f95),
    ("&str long", 0xbca8a1f0079b7516c7baa6336cda7f95),
    ("Option None", 0xa6cd5e9392000f6ac44bdff4074eecdb),
    ("Option Some", 0x70a5eaf205b903eb9c1c4277f34124a8),
    ("Result Ok", 0x355bd2d51f0bc7169fd0639e9d23c335),
    ("Result Err", 0x41c7a2091f09b799ff2b7ed1e6f19d2f),
    ("tuple 1", 0x51025a4491835505e12ef9d2eb86ceeb),
    ("tuple 2", 0x17ea71f3d86e14d4dbad2a848e16ed2b),
    ("tuple 3", 0x4cf6a21f5cb75751a70110d52e9007ed),
    ("tuple 12", 0x56fa8382cb0d1ed86871de794f4af454),
    ("array", 0x37bcf53c1aab2692f225303e99b822da),
    ("slice", 0x13f699261615c5b4b137163287914c11),
    ("Vec<u32>", 0xfab01defbe0ff86489372fb70938aa60),
    ("Vec<u32> empty", 0xa6cd5e9392000f6ac44bdff4074eecdb),
    ("Vec<String>", 0x80ae8bc8aaab2320fad36335b3eeb2df),
    ("Vec<Vec<u8>>", 0xe73ffaff1538f07a456071e02e570def),
    ("VecDeque<u16>", 0xe725f3620d2ff7901bb9f31e23b3a104),
    ("Vec<u8> 1 MiB", 0xb2d93bf4bf65d2edf8fc7627188a8e27),
    ("Vec<f64> 100k", 0x65537730f18e3ddbd59fae76ab32ae9c),
    ("Vec<u64> 1000", 0x5d3a95db7753a10934d6789c80b44d7f),
    ("HashMap", 0x2c0ba54b23f8e88cd253c2c77347632f),
    ("HashSet", 0xeb16d79bbff2ed23ac99332cc417453f),
    ("HashMap empty", 0x4758ddac5f9ee9383325230e1f285505),
    ("BTreeMap", 0xd7d0abcf8c1f3bb971974a66c6fef729),
    ("BTreeSet", 0x61e9f44ce91d3d7d3f4305f1f3811f25),
    ("Box", 0xbc436cfaea3fe1a89284b7aeb2cf9cb7),
    ("Rc", 0xbc436cfaea3fe1a89284b7aeb2cf9cb7),
    ("Arc", 0xbc436cfaea3fe1a89284b7aeb2cf9cb7),
    ("&T", 0xbc436cfaea3fe1a89284b7aeb2cf9cb7),
    ("Box<str>", 0xb7abd2268c4d51892a1dbc37b30345c8),
    ("Path", 0xf0205c2ebb5c7f92bef70d098ad22f8c),
    ("PathBuf", 0xf0205c2ebb5c7f92bef70d098ad22f8c),
    ("Duration", 0x3a4fd69408878abf9768a911922454bf),
    ("SystemTime", 0x061e7fd7a172d0e5e69f2dde5bc39756),
    (
        "SystemTime before epoch",
        0x0db73471266a3f2e72a3130ae833bab7,
    ),
    ("SystemTime epoch", 0x8804b1c74117dca722fb57a9a0a9ff6b),
    ("derive struct", 0x68f92c1f0c06b4a25c826e6ec63cf9e1),
    ("derive tuple struct", 0xe4748ce00d2ab8a595c6660b69de8d65),
    ("derive unit struct", 0xbdeda9bf78d939dcf4962f016cfd3a9b),
    (
        "derive enum struct variant",
        0x07a6c4c4ae0a7b9178194920b21aa183,
    ),
    (
        "derive enum tuple variant",
        0xf2f47775f7364c8d770b9aa786d68b51,
    ),
    (
        "derive enum unit variant",
        0xc194f25a1db05589aa76f4bd573d6608,
    ),
    ("key a=1u64 b=\"x\"", 0xf2505728d6d393762c3ed2b2cecc737f),
    ("key empty", 0x99aa06d3014798d86001c324468d497f),
    ("function_key memo", 0x7f7c8c70f38656e638d94a90ca7e7ba2),
    ("function_key singleton", 0x7f7c8c70f38656e638d94a90ca7e7ba2),
];

#[test]
fn digests_match_the_pinned_format() {
    let actual = cases();
    let mut diffs = Vec::new();
    for (name, got) in &actual {
        match GOLDEN.iter().find(|(n, _)| n == name) {
            Some((_, want)) if want == got => {}
            Some((_, want)) => diffs.push(format!("{name}: pinned {want:#034x}, now {got:#034x}")),
            None => diffs.push(format!("{name}: not pinned")),
        }
    }
    for (name, _) in GOLDEN {
        if !actual.iter().any(|(n, _)| n == name) {
            diffs.push(format!("{name}: pinned but no longer computed"));
        }
    }
    if !diffs.is_empty() {
        let table: String = actual
            .iter()
            .map(|(n, d)| format!("    ({n:?}, {d:#034x}),\n"))
            .collect();
        panic!(
            "the cache-key encoding changed; every persisted key is orphaned.\n{}\n\n\
             Only after a format version bump, the new table is:\n{table}",
            diffs.join("\n")
        );
    }
}

// ---- the canonical stream, spelled out ---------------------------------------
//
// The literals above pin *that* nothing changed; these pin *what* the format
// is, byte by byte, independently of the `StableHash` impls: a key is
// `xxh3_128` of the canonical stream, integers are fixed-width little-endian,
// lengths are LEB128, and a bulk run of 64 bytes or more is replaced by its own
// 16-byte little-endian `xxh3_128`.

use xxhash_rust::xxh3::xxh3_128;

fn leb128(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out
}

/// A length-prefixed bulk run, as `write_len` + `write_bulk` encode it.
fn run(bytes: &[u8]) -> Vec<u8> {
    let mut out = leb128(bytes.len());
    out.extend_from_slice(&bulk(bytes));
    out
}

/// A bulk run whose length is written elsewhere (a slice's element count).
fn bulk(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 64 {
        bytes.to_vec()
    } else {
        xxh3_128(bytes).to_le_bytes().to_vec()
    }
}

#[test]
fn the_stream_is_what_the_format_says() {
    // Integers and floats: fixed width, little-endian; usize/isize as 64 bits.
    assert_eq!(
        digest_of(&0xDEAD_BEEFu32),
        xxh3_128(&[0xEF, 0xBE, 0xAD, 0xDE])
    );
    assert_eq!(digest_of(&7usize), xxh3_128(&7u64.to_le_bytes()));
    assert_eq!(digest_of(&-1isize), xxh3_128(&[0xFF; 8]));
    assert_eq!(
        digest_of(&1.5f32),
        xxh3_128(&1.5f32.to_bits().to_le_bytes())
    );
    assert_eq!(digest_of(&-0.0f64), xxh3_128(&(1u64 << 63).to_le_bytes()));
    assert_eq!(digest_of(&'é'), xxh3_128(&0xE9u32.to_le_bytes()));
    assert_eq!(digest_of(&true), xxh3_128(&[1]));
    assert_eq!(digest_of(&()), xxh3_128(&[]));

    // Strings: LEB128 length, then the bytes (or their digest from 64 bytes).
    assert_eq!(digest_of("hello"), xxh3_128(b"\x05hello"));
    assert!(LONG_STR.len() >= 64);
    assert_eq!(digest_of(LONG_STR), xxh3_128(&run(LONG_STR.as_bytes())));
    let s200 = "x".repeat(200);
    assert_eq!(leb128(200), [0xC8, 0x01]);
    assert_eq!(digest_of(&s200), xxh3_128(&run(s200.as_bytes())));

    // Option / Result: a tag byte, then the value.
    assert_eq!(digest_of(&None::<u8>), xxh3_128(&[0]));
    assert_eq!(digest_of(&Some(9u8)), xxh3_128(&[1, 9]));
    assert_eq!(digest_of(&Ok::<u8, u8>(9)), xxh3_128(&[0, 9]));
    assert_eq!(digest_of(&Err::<u8, u8>(9)), xxh3_128(&[1, 9]));

    // Tuples: the fields, back to back, no prefix.
    assert_eq!(digest_of(&(1u8, 2u16)), xxh3_128(&[1, 2, 0]));

    // Sequences of primitives: element count, then the little-endian bytes as
    // one bulk run.
    let v: Vec<u32> = (0..100).collect();
    let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut stream = leb128(100);
    stream.extend(bulk(&le));
    assert_eq!(digest_of(&v), xxh3_128(&stream));
    assert_eq!(digest_of(&[1u16, 2]), xxh3_128(&[2, 1, 0, 2, 0]));

    // Durations: seconds as u64, then nanoseconds as u32.
    let mut d = 90u64.to_le_bytes().to_vec();
    d.extend(500u32.to_le_bytes());
    assert_eq!(digest_of(&Duration::new(90, 500)), xxh3_128(&d));

    // Derive: type name, then (name, value) per field; variant name first.
    let p = Point {
        x: 1,
        y: -2,
        label: "o".into(),
    };
    let mut s = b"\x05Point\x01x".to_vec();
    s.extend(1i32.to_le_bytes());
    s.extend(b"\x01y");
    s.extend((-2i32).to_le_bytes());
    s.extend(b"\x05label\x01o");
    assert_eq!(digest_of(&p), xxh3_128(&s));
    let mut s = b"\x05Shape\x06Square\x010".to_vec();
    s.extend(1.0f64.to_bits().to_le_bytes());
    assert_eq!(digest_of(&Shape::Square(1.0)), xxh3_128(&s));

    // A generated key: each parameter's name, then its value, in order.
    let mut h = KeyHasher::new();
    h.param("a", &1u64);
    h.param("b", &"x");
    let mut s = b"\x01a".to_vec();
    s.extend(1u64.to_le_bytes());
    s.extend(b"\x01b\x01x");
    assert_eq!(h.finish(), xxh3_128(&s));

    // The function key: scope (for a free fn, its module), name, then the
    // source hash as 16 LE bytes.
    let src = 0x0123_4567_89ab_cdef_0011_2233_4455_6677u128;
    let mut s = b"\x0cmy_app::data\x04load".to_vec();
    s.extend(src.to_le_bytes());
    let info = FnInfo::new(
        || "my_app::data::load::__memo_here",
        "load",
        Kind::Memo,
        src,
        no_options,
    );
    assert_eq!(info.function_key(), xxh3_128(&s));
}

#[test]
fn long_streams_hash_like_short_ones() {
    // A key longer than the hasher's stack buffer is streamed; the digest must
    // still be the one-shot digest of the whole canonical stream.
    for n in [100usize, 127, 128, 129, 200, 240, 241, 1000, 5000] {
        let key: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let mut s = leb128(n);
        for k in &key {
            s.extend(run(k.as_bytes()));
        }
        assert_eq!(digest_of(&key), xxh3_128(&s), "{n} strings");
    }
}

#[test]
fn pointer_sized_integers_hash_as_64_bit() {
    // A key written on a 32-bit target must match one written on a 64-bit one.
    for n in [0usize, 1, 127, 128, 0xFFFF_FFFF, usize::MAX] {
        assert_eq!(digest_of(&n), digest_of(&(n as u64)), "{n}");
        assert_eq!(digest_of(&vec![n; 3]), digest_of(&vec![n as u64; 3]));
        assert_eq!(digest_of(&vec![n; 50]), digest_of(&vec![n as u64; 50]));
    }
    for n in [0isize, -1, isize::MIN, isize::MAX] {
        assert_eq!(digest_of(&n), digest_of(&(n as i64)), "{n}");
        assert_eq!(digest_of(&vec![n; 50]), digest_of(&vec![n as i64; 50]));
    }
}

/// Hashes like `T` but takes the trait's default, element-by-element slice
/// encoding instead of the primitive bulk one.
struct PerElement<T>(T);

impl<T: StableHash> StableHash for PerElement<T> {
    fn stable_hash(&self, h: &mut KeyHasher) {
        self.0.stable_hash(h);
    }
}

#[test]
fn slice_fast_path_is_the_portable_encoding() {
    // The fast path hashes a slice's memory directly; that is only correct if
    // the memory is the canonical little-endian encoding. Rebuild the stream
    // from `to_le_bytes`, which is the same on every target.
    for n in [0usize, 1, 3, 15, 16, 17, 100, 10_000] {
        let v: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
        let mut h = KeyHasher::new();
        h.write_len(v.len());
        let le: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        h.write_bulk(&le);
        assert_eq!(digest_of(&v), h.finish(), "{n} u32s");

        let f: Vec<f64> = v.iter().map(|&x| f64::from(x) / 3.0).collect();
        let mut h = KeyHasher::new();
        h.write_len(f.len());
        let le: Vec<u8> = f.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
        h.write_bulk(&le);
        assert_eq!(digest_of(&f), h.finish(), "{n} f64s");
    }

    // Below the bulk threshold the run is copied as is, so the bulk encoding
    // equals the trait's default: the count, then each element's `stable_hash`.
    for n in [0usize, 1, 2, 15] {
        let v: Vec<u32> = (0..n as u32).map(|i| i * 1000 + 7).collect();
        let mut h = KeyHasher::new();
        h.write_len(v.len());
        for x in &v {
            x.stable_hash(&mut h);
        }
        let by_element = h.finish();
        assert_eq!(digest_of(&v), by_element, "{n} u32s");
        let wrapped: Vec<PerElement<u32>> = v.iter().copied().map(PerElement).collect();
        assert_eq!(digest_of(&wrapped), by_element);
    }

    // From 64 bytes the run is replaced by its digest, which is part of the
    // format: a long primitive slice is *not* its element-by-element stream.
    let v: Vec<u32> = (0..16).collect();
    let wrapped: Vec<PerElement<u32>> = v.iter().copied().map(PerElement).collect();
    assert_ne!(digest_of(&v), digest_of(&wrapped));
}
