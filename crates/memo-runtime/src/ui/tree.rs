//! A run's output: the public tree, and the arena it is built in.

use super::element::Element;
use serde::{Deserialize, Serialize};

/// What one run of a script drew: the main area and the sidebar.
///
/// ```
/// use memo_runtime::{st, ui::{Element, Session}};
/// let mut s = Session::new();
/// let out = s.run(|| st::sidebar().text("hi"));
/// assert!(out.main.is_empty());
/// assert_eq!(out.sidebar[0].as_element(), Some(&Element::Text { body: "hi".into() }));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The main area, top to bottom.
    pub main: Vec<Node>,
    /// The sidebar, top to bottom.
    pub sidebar: Vec<Node>,
}

/// An element, or a block holding more nodes. Serialized as
/// `{"element": {..}}` or `{"block": {"kind": {..}, "children": [..]}}`.
///
/// ```
/// use memo_runtime::ui::{Element, Node};
/// let n = Node::Element(Element::Balloons);
/// assert_eq!(serde_json::to_string(&n).unwrap(), r#"{"element":{"type":"balloons"}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// An element.
    Element(Element),
    /// A layout block.
    Block(Block),
}

impl Node {
    /// The element, if this is one.
    ///
    /// ```
    /// use memo_runtime::ui::{Element, Node};
    /// assert_eq!(Node::Element(Element::Snow).as_element(), Some(&Element::Snow));
    /// ```
    pub fn as_element(&self) -> Option<&Element> {
        match self {
            Node::Element(e) => Some(e),
            Node::Block(_) => None,
        }
    }

    /// The block, if this is one.
    ///
    /// ```
    /// use memo_runtime::ui::{Block, BlockKind, Node};
    /// let n = Node::Block(Block { kind: BlockKind::Container { border: false }, children: vec![] });
    /// assert!(n.as_block().unwrap().children.is_empty());
    /// ```
    pub fn as_block(&self) -> Option<&Block> {
        match self {
            Node::Element(_) => None,
            Node::Block(b) => Some(b),
        }
    }
}

/// A layout block and what it holds.
///
/// ```
/// use memo_runtime::{st, ui::{BlockKind, Session}};
/// let mut s = Session::new();
/// let out = s.run(|| st::expander("More").text("x"));
/// let b = out.main[0].as_block().unwrap();
/// assert_eq!(b.kind, BlockKind::Expander { label: "More".into(), expanded: false });
/// assert_eq!(b.children.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// What kind of block.
    pub kind: BlockKind,
    /// Its nodes, top to bottom (left to right in `columns`).
    pub children: Vec<Node>,
}

/// The kinds of layout block. Serialized with a `"type"` tag.
///
/// ```
/// use memo_runtime::ui::BlockKind;
/// let k = BlockKind::Form { key: "f".into() };
/// assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"type":"form","key":"f"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BlockKind {
    /// `st::container`.
    Container {
        /// Drawn with a border.
        border: bool,
    },
    /// `st::expander`.
    Expander {
        /// Its header.
        label: String,
        /// Open at first.
        expanded: bool,
    },
    /// `st::columns`: holds one `column` block per column.
    Columns,
    /// One column of `st::columns`.
    Column,
    /// `st::form`.
    Form {
        /// The form's key.
        key: String,
    },
    /// `st::empty`: holds at most one element; writing another replaces it.
    Empty,
}

pub(crate) type BlockId = u32;
/// The main area's root block.
pub(crate) const MAIN: BlockId = 0;
/// The sidebar's root block.
pub(crate) const SIDEBAR: BlockId = 1;

enum Child {
    /// `None` once removed (a finished spinner), so later indices stay valid.
    Element(Option<Element>),
    Block(BlockId),
}

struct BlockData {
    /// `None` for the two roots.
    kind: Option<BlockKind>,
    children: Vec<Child>,
    parent: Option<BlockId>,
}

/// A spinner on show: where it is, and what it replaced in an `empty` slot.
pub(crate) struct ShownSpinner {
    block: BlockId,
    index: usize,
    replaced: Vec<Child>,
}

/// The tree a run builds, blocks in an arena so handles are plain indices.
pub(crate) struct Tree {
    blocks: Vec<BlockData>,
}

impl Tree {
    pub(crate) fn new() -> Self {
        let root = || BlockData {
            kind: None,
            children: Vec::new(),
            parent: None,
        };
        Tree {
            blocks: vec![root(), root()],
        }
    }

    pub(crate) fn contains(&self, b: BlockId) -> bool {
        (b as usize) < self.blocks.len()
    }

    /// Appends `e` to block `b` and returns its index there.
    pub(crate) fn push_element(&mut self, b: BlockId, e: Element) -> usize {
        let block = &mut self.blocks[b as usize];
        if block.kind == Some(BlockKind::Empty) {
            block.children.clear();
        }
        block.children.push(Child::Element(Some(e)));
        block.children.len() - 1
    }

    /// Shows spinner `e` in block `b` until [`remove_spinner`](Self::remove_spinner).
    pub(crate) fn push_spinner(&mut self, b: BlockId, e: Element) -> ShownSpinner {
        let block = &mut self.blocks[b as usize];
        // An `empty` slot holds one thing: the spinner takes the place of
        // what it held, which must come back if the work draws nothing
        // there, or a miss would leave another page than a hit.
        let replaced = if block.kind == Some(BlockKind::Empty) {
            std::mem::take(&mut block.children)
        } else {
            Vec::new()
        };
        ShownSpinner {
            block: b,
            index: self.push_element(b, e),
            replaced,
        }
    }

    /// Takes out spinner `s`. Checked, because an `empty` block replaces
    /// its content on every write, which may have taken the spinner out
    /// already and put something else at its index; if nothing did, the
    /// slot gets back what the spinner replaced.
    pub(crate) fn remove_spinner(&mut self, s: ShownSpinner) {
        let children = &mut self.blocks[s.block as usize].children;
        if let Some(Child::Element(e)) = children.get_mut(s.index) {
            if matches!(e, Some(Element::Spinner { .. })) {
                *e = None;
                if children.len() == s.index + 1 && !s.replaced.is_empty() {
                    *children = s.replaced;
                }
            }
        }
    }

    pub(crate) fn push_block(&mut self, parent: BlockId, kind: BlockKind) -> BlockId {
        let id = self.blocks.len() as BlockId;
        self.blocks.push(BlockData {
            kind: Some(kind),
            children: Vec::new(),
            parent: Some(parent),
        });
        self.blocks[parent as usize].children.push(Child::Block(id));
        id
    }

    /// The key of the form block `b` is in, if any.
    pub(crate) fn form_of(&self, mut b: BlockId) -> Option<String> {
        loop {
            let block = &self.blocks[b as usize];
            if let Some(BlockKind::Form { key }) = &block.kind {
                return Some(key.clone());
            }
            b = block.parent?;
        }
    }

    pub(crate) fn output(&self) -> Output {
        Output {
            main: self.nodes(MAIN),
            sidebar: self.nodes(SIDEBAR),
        }
    }

    /// The output at the end of a run, moving the elements out rather than
    /// copying them (a run's tree is dropped right after).
    pub(crate) fn into_output(mut self) -> Output {
        Output {
            main: self.take_nodes(MAIN),
            sidebar: self.take_nodes(SIDEBAR),
        }
    }

    fn take_nodes(&mut self, b: BlockId) -> Vec<Node> {
        let children = std::mem::take(&mut self.blocks[b as usize].children);
        children
            .into_iter()
            .filter_map(|c| match c {
                Child::Element(e) => e.map(Node::Element),
                Child::Block(id) => Some(Node::Block(Block {
                    kind: self.blocks[id as usize].kind.take()?,
                    children: self.take_nodes(id),
                })),
            })
            .collect()
    }

    fn nodes(&self, b: BlockId) -> Vec<Node> {
        self.blocks[b as usize]
            .children
            .iter()
            .filter_map(|c| match c {
                Child::Element(e) => e.clone().map(Node::Element),
                Child::Block(id) => Some(Node::Block(Block {
                    kind: self.blocks[*id as usize].kind.clone()?,
                    children: self.nodes(*id),
                })),
            })
            .collect()
    }
}
