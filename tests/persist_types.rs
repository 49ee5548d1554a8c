//! A value type that changed under the same name is a miss, not a disk hit
//! with its fields mixed up; a value that would not read back is never
//! written.
//!
//! Two builds are simulated in one: the entry is written for the old type
//! with the new type's name in its header (`encode_entry_as_for_tests`), as
//! the old build would have written it, and read as the new type.

mod persist_support;

use memo_runtime::memo;
use memo_runtime::persist::{
    decode_entry_for_tests as decode, encode_entry_as_for_tests as encode_as,
    encode_entry_for_tests as encode,
};
use persist_support::*;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fmt::Debug;

const FK: u128 = 0x77;
const VK: u128 = 0x99;

/// `old` as the old build wrote it, read by the new build as a `New`.
fn read_as<Old: Serialize, New: DeserializeOwned + 'static>(old: &Old) -> Result<New, String> {
    let bytes = encode_as(std::any::type_name::<New>(), FK, VK, old);
    assert!(!bytes.is_empty(), "the old value encodes");
    decode::<New>(&bytes, FK, VK)
}

#[track_caller]
fn a_type_change<Old: Serialize, New: DeserializeOwned + Debug + 'static>(old: &Old) {
    match read_as::<Old, New>(old) {
        Ok(v) => panic!("read as {v:?}: a disk hit for a changed type"),
        Err(e) => assert!(e.contains("type changed"), "{e}"),
    }
}

#[track_caller]
fn round_trips<V: Serialize + DeserializeOwned + PartialEq + Debug + 'static>(v: &V) {
    let bytes = encode(FK, VK, v, Vec::new(), None);
    assert_eq!(decode::<V>(&bytes, FK, VK).as_ref(), Ok(v));
    let bytes = encode(FK, VK, v, b"replay".to_vec(), None);
    assert_eq!(decode::<V>(&bytes, FK, VK).as_ref(), Ok(v));
}

mod old {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    pub struct Reading {
        pub celsius: f64,
        pub fahrenheit: f64,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub struct Celsius {
        pub celsius: f64,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub enum Unit {
        C,
        F(f64),
        K { at: f64 },
    }
}

/// The old types changed, each under the old type's serde name (which is
/// what the entry sees; the Rust name is the header's, and the tests give
/// the header the new type's).
mod new {
    use serde::{Deserialize, Serialize};

    /// Fields swapped.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    pub struct Reading {
        pub fahrenheit: f64,
        pub celsius: f64,
    }

    /// `fahrenheit` renamed, same type.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Reading")]
    pub struct Renamed {
        pub celsius: f64,
        pub kelvin: f64,
    }

    /// A field added to `old::Celsius`.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Celsius")]
    pub struct Added {
        pub celsius: f64,
        pub fahrenheit: f64,
    }

    /// `fahrenheit` removed from `old::Reading`.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Reading")]
    pub struct Removed {
        pub celsius: f64,
    }

    /// A variant inserted before `F`.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Unit")]
    pub enum Inserted {
        C,
        R(f64),
        F(f64),
        K { at: f64 },
    }

    /// `F` renamed.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Unit")]
    pub enum VariantRenamed {
        C,
        Fahrenheit(f64),
        K { at: f64 },
    }

    /// `F` removed: `K` has its index.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Unit")]
    pub enum VariantRemoved {
        C,
        K { at: f64 },
    }

    /// The struct variant's field renamed.
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename = "Unit")]
    pub enum FieldOfVariantRenamed {
        C,
        F(f64),
        K { since: f64 },
    }
}

fn reading() -> old::Reading {
    old::Reading {
        celsius: 100.0,
        fahrenheit: 212.0,
    }
}

#[test]
fn swapped_fields_are_a_type_change() {
    a_type_change::<_, new::Reading>(&reading());
    // Inside a sequence, an `Option`, a map, a tuple.
    a_type_change::<_, Vec<new::Reading>>(&vec![reading(); 1000]);
    a_type_change::<_, Option<new::Reading>>(&Some(reading()));
    a_type_change::<_, std::collections::BTreeMap<u32, new::Reading>>(
        &std::collections::BTreeMap::from([(1, reading())]),
    );
    a_type_change::<_, (u8, new::Reading)>(&(1, reading()));
}

#[test]
fn a_renamed_field_is_a_type_change() {
    a_type_change::<_, new::Renamed>(&reading());
}

#[test]
fn an_added_field_is_a_type_change() {
    a_type_change::<_, new::Added>(&old::Celsius { celsius: 1.0 });
    a_type_change::<_, Vec<new::Added>>(
        &(0..10)
            .map(|i| old::Celsius { celsius: i.into() })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn a_removed_field_is_a_type_change() {
    a_type_change::<_, new::Removed>(&reading());
    a_type_change::<_, Vec<new::Removed>>(&vec![reading(); 2]);
}

#[test]
fn a_changed_variant_set_is_a_type_change() {
    a_type_change::<_, new::Inserted>(&old::Unit::F(3.0));
    a_type_change::<_, new::Inserted>(&old::Unit::K { at: 3.0 });
    a_type_change::<_, new::VariantRenamed>(&old::Unit::F(3.0));
    a_type_change::<_, new::VariantRemoved>(&old::Unit::F(3.0));
    a_type_change::<_, new::VariantRemoved>(&old::Unit::K { at: 3.0 });
    a_type_change::<_, new::FieldOfVariantRenamed>(&old::Unit::K { at: 3.0 });
    a_type_change::<_, Vec<new::Inserted>>(&vec![old::Unit::C, old::Unit::F(1.0)]);
}

#[test]
fn what_the_change_does_not_touch_still_reads() {
    // The variant stored is unchanged (same index, same name): the value
    // means what it meant.
    assert_eq!(
        read_as::<_, new::VariantRenamed>(&old::Unit::C),
        Ok(new::VariantRenamed::C)
    );
    // No value of the changed type is in the entry.
    assert_eq!(
        read_as::<Option<old::Reading>, Option<new::Reading>>(&None),
        Ok(None)
    );
    assert_eq!(
        read_as::<Vec<old::Reading>, Vec<new::Reading>>(&vec![]),
        Ok(vec![])
    );
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Inner {
    a: u32,
    b: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Outer {
    inner: Inner,
    many: Vec<Inner>,
    e: Vec<old::Unit>,
    unit: Marker,
    t: Pair,
    n: Meters,
    d: std::time::Duration,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Marker;

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Pair(u8, u16);

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Meters(f64);

impl Clone for old::Unit {
    fn clone(&self) -> Self {
        match self {
            old::Unit::C => old::Unit::C,
            old::Unit::F(f) => old::Unit::F(*f),
            old::Unit::K { at } => old::Unit::K { at: *at },
        }
    }
}

mod other {
    /// Same name and field names as the outer `Inner`, another type.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    pub struct Inner {
        pub a: u32,
        pub b: String,
    }

    /// Same name, other fields.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    pub struct Marker {
        pub x: u8,
    }
}

#[test]
fn the_same_type_round_trips() {
    let inner = Inner {
        a: 1,
        b: "x".into(),
    };
    let outer = Outer {
        inner: inner.clone(),
        many: vec![inner.clone(); 50],
        e: vec![
            old::Unit::C,
            old::Unit::F(2.0),
            old::Unit::K { at: 1.0 },
            old::Unit::C,
        ],
        unit: Marker,
        t: Pair(1, 2),
        n: Meters(3.0),
        d: std::time::Duration::from_millis(1500),
    };
    round_trips(&outer);
    round_trips(&vec![outer.clone(); 3]);
    round_trips(&reading());
    round_trips(&vec![reading(); 10_000]);
    round_trips(&Some(reading()));
    round_trips(&None::<old::Reading>);
    round_trips(&Vec::<old::Reading>::new());
    round_trips(&vec![1.5f64; 1000]);
    round_trips(&Ok::<old::Unit, String>(old::Unit::F(1.0)));
    // Types of one name in one value.
    round_trips(&(
        inner.clone(),
        other::Inner {
            a: 2,
            b: "y".into(),
        },
        Marker,
        other::Marker { x: 1 },
    ));
    round_trips(&(
        vec![inner.clone(); 3],
        vec![
            other::Inner {
                a: 2,
                b: "y".into()
            };
            3
        ],
    ));
}

// ---- a value that would not read back is not written -----------------------

static RAN: memo_suite::Runs = memo_suite::Runs::new();

/// `None` reads back; `Some(json)` needs `deserialize_any`, which the disk
/// format does not support.
#[memo(persist = "disk")]
fn settings(x: u64) -> Option<serde_json::Value> {
    RAN.hit();
    (x != 0).then(|| serde_json::json!({ "x": x }))
}

#[test]
fn child() {
    let Some(role) = role() else { return };
    log_warnings();
    if role == "settings" {
        // The first value written reads back, the second would not.
        assert_eq!(settings(0), None);
        assert_eq!(settings(1), Some(serde_json::json!({ "x": 1 })));
        assert_eq!(settings(2), Some(serde_json::json!({ "x": 2 })));
        report("runs", RAN.get());
        report("disk_hits", settings_stats().disk_hits);
        let entries: usize = memo_runtime::persist::usage()
            .iter()
            .map(|u| u.entries)
            .sum();
        report("entries", entries);
    }
}

#[test]
fn a_value_that_would_not_read_back_is_not_written_whichever_it_is() {
    if role().is_some() {
        return;
    }
    let dir = fresh_dir("types-readback");
    let test = "a_value_that_would_not_read_back_is_not_written_whichever_it_is";
    let _ = test;
    let first = run(child_cmd("child", "settings", &dir));
    assert_eq!(first.get("runs"), "3");
    assert_eq!(
        first.get("entries"),
        "1",
        "only `None` was written:\n{}",
        first.raw
    );
    assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
    assert!(
        first.warnings[0].contains("would not read back") && first.warnings[0].contains("settings"),
        "{:?}",
        first.warnings
    );
    for _ in 0..2 {
        let next = run(child_cmd("child", "settings", &dir));
        assert_eq!(
            next.get("runs"),
            "2",
            "`None` comes from disk:\n{}",
            next.raw
        );
        assert_eq!(next.get("disk_hits"), "1");
        assert_eq!(next.get("entries"), "1");
        assert!(
            next.warnings.iter().all(|w| !w.contains("corrupt")),
            "{:?}",
            next.warnings
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
