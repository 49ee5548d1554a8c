//! Element replay: what a cached fn drew while it computed is recorded with
//! its value, and drawn again, in the right place, whenever a later call is
//! served from the cache (Streamlit's `cached_message_replay`).
//!
//! ```
//! use memo_runtime::{memo, st, ui::Session};
//!
//! #[memo]
//! fn load(rows: usize) -> usize {
//!     st::success("loaded");
//!     rows
//! }
//!
//! let mut s = Session::new();
//! let first = s.run(|| { load(3); }).clone();
//! let second = s.run(|| { load(3); }).clone(); // a hit: `load` does not run
//! assert_eq!(first, second);                    // ...but its element is there
//! assert_eq!(load_stats().hits, 1);
//! ```
//!
//! A [`Recording`] is a list of [`Message`]s, each saying what was drawn and
//! on which block ([`Place`]): the caller's current container, the sidebar,
//! or a block the fn created itself. The JSON form is documented in
//! `docs/replay.md`.

// `pub(crate)` for the persisted path (issue #3): a `persist = "disk"` call
// keeps `call::Recorded<V>` in its store like every other, fills it on a
// miss with `call::compute` (which records), writes the recording beside the
// value with `Recording::to_bytes`, reads it back with `from_bytes` on a
// disk hit, and ends every call with `call::replay_hit` as `call::call` does.
pub(crate) mod call;
mod record;

pub(crate) use call::{
    call, call_async, call_shared, call_widgets, call_widgets_async, compute, compute_async,
    forget_widget_keys, forget_widget_results, forget_widget_trees, set_wait_hook, take, waiting,
    Recorded,
};
pub(crate) use record::{check_widget, record_block, record_element, record_widget, Capture};

use crate::ui::{BlockKind, Element};

/// Tests only, not an API: the nodes of the widget trees of the
/// `allow_widgets` fns named `name` (a node per widget asked and per
/// combination of values), and the result keys those trees lead to.
#[doc(hidden)]
pub fn widget_tree_size_for_tests(name: &str) -> (usize, usize) {
    call::widget_tree_size(name)
}
use serde::{Deserialize, Serialize};

/// What one computation of a cached fn drew, in order.
///
/// ```
/// use memo_runtime::replay::{Message, Place, Recording};
/// use memo_runtime::ui::Element;
/// let r = Recording { messages: vec![Message::Element { on: Place::Main, element: Element::Snow }] };
/// assert_eq!(Recording::from_bytes(&r.to_bytes()).unwrap(), r);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// The calls, in the order they were made.
    pub messages: Vec<Message>,
}

/// One recorded call. Serialized with a `"msg"` tag (`"element"` or `"block"`).
///
/// ```
/// use memo_runtime::replay::{Message, Place};
/// use memo_runtime::ui::BlockKind;
/// let m = Message::Block { on: Place::Sidebar, kind: BlockKind::Columns, id: 0 };
/// assert_eq!(
///     serde_json::to_string(&m).unwrap(),
///     r#"{"msg":"block","on":"sidebar","kind":{"type":"columns"},"id":0}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "msg", rename_all = "snake_case")]
pub enum Message {
    /// An element drawn on `on`.
    Element {
        /// Where it went.
        on: Place,
        /// What it was.
        element: Element,
    },
    /// A block created on `on`; later messages name it `Place::Local(id)`.
    Block {
        /// Where it went.
        on: Place,
        /// What kind of block.
        kind: BlockKind,
        /// Its recording-local id: 0 for the first block the fn created, 1 for the next…
        id: u32,
    },
}

/// Where a recorded call went, in terms that still mean something on replay.
/// Serialized as `"main"`, `"sidebar"` or `{"local": n}`.
///
/// ```
/// use memo_runtime::replay::Place;
/// assert_eq!(serde_json::to_string(&Place::Local(2)).unwrap(), r#"{"local":2}"#);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// The container that was current when the fn was called: on replay,
    /// the container current at the replaying call.
    Main,
    /// The sidebar.
    Sidebar,
    /// The `n`th block the fn created.
    Local(u32),
}

impl Recording {
    /// The recording as bytes (its JSON form), for a persisted entry to carry.
    ///
    /// ```
    /// let bytes = memo_runtime::replay::Recording::default().to_bytes();
    /// assert_eq!(bytes, br#"{"messages":[]}"#);
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a recording always serializes")
    }

    /// A recording back from [`to_bytes`](Self::to_bytes).
    ///
    /// ```
    /// use memo_runtime::replay::Recording;
    /// assert!(Recording::from_bytes(b"not json").is_err());
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::{BlockKind, Element, Node, Session};

    /// What a persisted entry would carry: the recording as bytes, read back
    /// after a restart and replayed into a session.
    #[test]
    fn a_recording_read_back_from_bytes_replays_the_same_tree() {
        let rec = Recording {
            messages: vec![
                Message::Block {
                    on: Place::Main,
                    kind: BlockKind::Expander {
                        label: "More".into(),
                        expanded: false,
                    },
                    id: 0,
                },
                Message::Element {
                    on: Place::Local(0),
                    element: Element::Text { body: "in".into() },
                },
                Message::Element {
                    on: Place::Sidebar,
                    element: Element::Snow,
                },
            ],
        };
        let back = Recording::from_bytes(&rec.to_bytes()).unwrap();
        assert_eq!(back, rec);
        let mut s = Session::new();
        let out = s.run(|| call::replay(&back));
        let expander = out.main[0].as_block().unwrap();
        assert_eq!(
            expander.children,
            [Node::Element(Element::Text { body: "in".into() })]
        );
        assert_eq!(out.sidebar, [Node::Element(Element::Snow)]);
    }

    /// A persisted entry's recording is JSON; without serde_json's
    /// `float_roundtrip` about one float in ten came back an ulp off, so a
    /// chart drawn from disk differed from the one the body drew.
    #[test]
    fn every_float_in_a_recording_reads_back_bit_for_bit() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let unit = |bits: u64| (bits >> 11) as f64 / (1u64 << 53) as f64;
        let mut floats = vec![10.478027277614267, 36.587992443022756, -0.45030501887619373];
        for _ in 0..50_000 {
            let r = next();
            floats.push(unit(r));
            floats.push(unit(r.rotate_left(17)) * 100.0 - 50.0);
            floats.push((unit(r.rotate_left(31)) + f64::MIN_POSITIVE).ln());
            // Any finite bit pattern: subnormals, huge exponents.
            let any = f64::from_bits(next());
            if any.is_finite() {
                floats.push(any);
            }
        }
        let df = crate::ui::DataFrame::from_columns([("x", floats.clone())]);
        let rec = Recording {
            messages: vec![Message::Element {
                on: Place::Main,
                element: Element::Chart {
                    kind: crate::ui::ChartKind::Line,
                    data: df,
                },
            }],
        };
        let back = Recording::from_bytes(&rec.to_bytes()).unwrap();
        let Message::Element {
            element: Element::Chart { data, .. },
            ..
        } = &back.messages[0]
        else {
            panic!("{back:?}")
        };
        let read: Vec<u64> = data
            .rows
            .iter()
            .map(|r| r[0].as_f64().unwrap().to_bits())
            .collect();
        let wrote: Vec<u64> = floats.iter().map(|f| f.to_bits()).collect();
        let off = wrote.iter().zip(&read).filter(|(a, b)| a != b).count();
        assert_eq!(
            off,
            0,
            "{off} of {} floats changed on the way back",
            wrote.len()
        );
        assert_eq!(back, rec);
    }

    #[test]
    fn a_recording_naming_a_block_it_never_made_is_an_error_not_a_crash() {
        let rec = Recording {
            messages: vec![Message::Element {
                on: Place::Local(3),
                element: Element::Balloons,
            }],
        };
        let mut s = Session::new();
        let out = s.run(|| call::replay(&rec));
        let Some(Element::Exception { name, .. }) = out.main[0].as_element() else {
            panic!("{out:?}")
        };
        assert_eq!(name, "CacheReplayError");
    }
}
