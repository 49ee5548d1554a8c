//! The app side of element replay: a [`Session`] runs a script and collects
//! what it draws (a tree of blocks holding [`Element`]s), keeping widget
//! values between runs. The `st` module is what scripts call; this module is
//! what a front end or a test reads.
//!
//! ```
//! use memo_runtime::{st, ui::{Element, Session}};
//!
//! let mut session = Session::new();
//! let out = session.run(|| {
//!     st::title("Hello");
//!     let c = st::container();
//!     c.with(|| st::text("inside"));
//! });
//! assert_eq!(out.main[0].as_element(), Some(&Element::Title { body: "Hello".into() }));
//! assert_eq!(out.main[1].as_block().unwrap().children.len(), 1);
//! ```
//!
//! Outside [`Session::run`] every `st::` call does nothing (widgets return
//! their defaults) and cached fns record nothing.

pub(crate) mod context;
mod element;
mod session;
pub(crate) mod tree;
mod widget;

pub use context::UiError;
pub use element::{AlertKind, ChartKind, ChartLibrary, DataFrame, Element, Media, MediaSource};
pub use session::{Session, SessionError};
pub use tree::{Block, BlockKind, Node, Output};
pub use widget::{Date, Time, UploadedFile, Widget, WidgetSpec, WidgetValue};

/// What the run on this thread has drawn so far, or `None` outside a
/// session. For tests and debugging: it copies the whole tree.
///
/// ```
/// use memo_runtime::{st, ui::{self, Session}};
/// assert!(ui::snapshot().is_none());
/// let mut s = Session::new();
/// s.run(|| {
///     st::text("a");
///     assert_eq!(ui::snapshot().unwrap().main.len(), 1);
/// });
/// ```
pub fn snapshot() -> Option<Output> {
    context::with_run(|run| run.tree.output())
}

/// Tests only, not an API: `hook` is called on a session's thread each time
/// a cached call in its run starts waiting for another caller's computation
/// of the same key (after the wait's spinner is shown), so that a test can
/// take the waiting session's [`snapshot`], which no other thread can read.
/// `None` removes it.
#[doc(hidden)]
pub fn on_wait_for_tests(hook: Option<fn()>) {
    crate::replay::set_wait_hook(hook);
}
