//! The running script's context (Streamlit's `ScriptRunContext`): which
//! session's run this thread is in, its tree, its active container and the
//! recordings under way. Every `st::` call goes through here; outside a run
//! each is one thread-local flag read.

use super::element::Element;
use super::tree::{BlockId, BlockKind, ShownSpinner, Tree, MAIN, SIDEBAR};
use super::widget::{Widget, WidgetSpec, WidgetValue};
use crate::info::FnInfo;
use crate::replay::{self, Capture};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

/// Which block a call writes to, as the caller named it: Streamlit tells an
/// implicit call (`st.text`, into whatever container is active) from an
/// explicit one (`c.text`), and so must the recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Current,
    Block {
        id: BlockId,
        run: u64,
        /// The cached fn computing when the block was made, if any: the
        /// handle is good only until that computation returns.
        made_in: Option<MadeIn>,
    },
}

/// A computation of a cached fn, as a block handle made during it names it.
#[derive(Clone, Copy)]
pub(crate) struct MadeIn {
    pub(crate) capture: u64,
    pub(crate) info: &'static FnInfo,
}

impl PartialEq for MadeIn {
    fn eq(&self, other: &Self) -> bool {
        self.capture == other.capture
    }
}

impl Eq for MadeIn {}

impl std::fmt::Debug for MadeIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.info.name, self.capture)
    }
}

/// Widget values kept between runs.
#[derive(Debug, Default)]
pub(crate) struct WidgetState {
    pub(crate) values: HashMap<String, WidgetValue>,
    /// Buttons clicked since the last run.
    pub(crate) clicked: HashSet<String>,
}

pub(crate) struct Run {
    pub(crate) id: u64,
    pub(crate) tree: Tree,
    /// Active containers, innermost last; the main root at the bottom.
    pub(crate) cursor: Vec<BlockId>,
    pub(crate) widgets: WidgetState,
    /// Widget ids drawn in this run.
    pub(crate) used: HashSet<String>,
    /// Widgets drawn at their default value (the session had none for them)
    /// while a cached fn computed: an `allow_widgets` fn learns from it what
    /// a session that never touched the widget will see.
    pub(crate) defaulted: HashSet<String>,
    /// Recordings of the cached fns computing now, outermost first.
    pub(crate) captures: Vec<Capture>,
}

impl Run {
    pub(crate) fn new(id: u64, widgets: WidgetState) -> Self {
        Run {
            id,
            tree: Tree::new(),
            cursor: vec![MAIN],
            widgets,
            used: HashSet::new(),
            defaulted: HashSet::new(),
            captures: Vec::new(),
        }
    }

    pub(crate) fn current(&self) -> BlockId {
        *self.cursor.last().unwrap_or(&MAIN)
    }

    fn resolve(&self, t: Target) -> Result<BlockId, UiError> {
        match t {
            Target::Current => Ok(self.current()),
            // Checked first, so that a handle a cached fn returned is refused
            // alike on the miss and on a hit (where it is also stale).
            Target::Block {
                made_in: Some(m), ..
            } if !self.captures.iter().any(|c| c.id == m.capture) => {
                Err(returned_container(m.info))
            }
            Target::Block { id, run, .. } if run == self.id && self.tree.contains(id) => Ok(id),
            Target::Block { .. } => Err(UiError::new(
                "StaleContainer",
                "a container handle from an earlier run was used: containers live for one run of the script; create it again in this run",
            )),
        }
    }
}

/// A container made inside a cached fn's computation, used after it returned.
fn returned_container(info: &FnInfo) -> UiError {
    let f = info.name;
    UiError::new(
        "CachedContainerError",
        format!(
            "A container created inside the cached fn `{f}()` was used after `{f}()` returned. \
             A cached fn can't hand out its containers (Streamlit doesn't support returning \
             them either): on a hit its body does not run, so there is no such container \
             in this run.\n\n\
             How to fix this:\n\
             * Draw everything that goes into the container inside `{f}()`.\n\
             * Or create the container outside `{f}()` and call `{f}()` inside it \
             (`c.with(|| {f}(..))`): what it draws lands there, on hits too."
        ),
    )
}

/// An error a `st::` call raises. It unwinds the script like an exception
/// and [`Session::run`](super::Session::run) shows it as an `exception`
/// element named `name`.
///
/// ```
/// use memo_runtime::{st, ui::{Element, Session}};
/// let mut s = Session::new();
/// let out = s.run(|| {
///     st::button("Go");
///     st::button("Go"); // the same id twice: raises a `UiError`
///     st::text("never drawn");
/// });
/// let Some(Element::Exception { name, .. }) = out.main[1].as_element() else { panic!() };
/// assert_eq!(name, "DuplicateWidgetID");
/// assert_eq!(out.main.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiError {
    /// Streamlit's name for it (`"DuplicateWidgetID"`, `"CacheReplayClosureError"`…).
    pub name: &'static str,
    /// What happened and what to do.
    pub message: String,
}

impl UiError {
    pub(crate) fn new(name: &'static str, message: impl Into<String>) -> Self {
        UiError {
            name,
            message: message.into(),
        }
    }

    /// Unwinds with the error's name and message as a plain `String`
    /// payload, which the default panic hook prints (a typed payload logs as
    /// `Box<dyn Any>`). The typed error waits in a thread-local for the
    /// session, which takes it only if the payload it catches is this
    /// error's text: a user's `catch_unwind` that swallows it, or a later
    /// panic of the user's own, can't pass one off as the other.
    pub(crate) fn raise(self) -> ! {
        let text = self.to_string();
        RAISED.with(|r| *r.borrow_mut() = Some((text.clone(), self)));
        std::panic::panic_any(text)
    }

    /// The error a panic's `payload` came from, if [`raise`](Self::raise) made it.
    pub(crate) fn from_payload(payload: &str) -> Option<UiError> {
        RAISED.with(|r| {
            let mut r = r.borrow_mut();
            match r.take() {
                Some((text, e)) if text == payload => Some(e),
                other => {
                    *r = other;
                    None
                }
            }
        })
    }
}

impl std::fmt::Display for UiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for UiError {}

thread_local! {
    /// The last error [`UiError::raise`] unwound with, and its payload's text.
    static RAISED: RefCell<Option<(String, UiError)>> = const { RefCell::new(None) };
    // Checked first and alone, so code outside a session pays one read.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

/// Whether this thread is running a session's script.
#[inline(always)]
pub(crate) fn active() -> bool {
    ACTIVE.with(Cell::get)
}

/// `f` on this thread's run, if there is one. `f` must not call user code.
#[inline]
pub(crate) fn with_run<R>(f: impl FnOnce(&mut Run) -> R) -> Option<R> {
    if !active() {
        return None;
    }
    RUN.with(|r| r.borrow_mut().as_mut().map(f))
}

/// Makes `run` this thread's run; returns the one it replaces (a session run
/// from inside another's script).
pub(crate) fn install(run: Run) -> Option<Run> {
    let prev = RUN.with(|r| r.borrow_mut().replace(run));
    ACTIVE.with(|a| a.set(true));
    prev
}

pub(crate) fn uninstall(prev: Option<Run>) -> Run {
    let run = RUN.with(|r| r.borrow_mut().take());
    ACTIVE.with(|a| a.set(prev.is_some()));
    RUN.with(|r| *r.borrow_mut() = prev);
    run.expect("a session run is installed")
}

/// The id of this thread's run, for container handles.
pub(crate) fn run_id() -> Option<u64> {
    with_run(|r| r.id)
}

/// Writes `e` where `t` says, recording it in every capture.
pub(crate) fn emit(t: Target, e: Element) {
    let r = with_run(|run| -> Result<(), UiError> {
        let at = run.resolve(t)?;
        replay::record_element(run, t, at, &e)?;
        run.tree.push_element(at, e);
        Ok(())
    });
    if let Some(Err(err)) = r {
        err.raise();
    }
}

/// Adds a block where `t` says; `None` outside a session.
pub(crate) fn create_block(t: Target, kind: BlockKind) -> Option<Target> {
    let r = with_run(|run| -> Result<Target, UiError> {
        let at = run.resolve(t)?;
        let id = run.tree.push_block(at, kind.clone());
        replay::record_block(run, t, at, id, &kind)?;
        let made_in = run.captures.last().map(|c| MadeIn {
            capture: c.id,
            info: c.info,
        });
        Ok(Target::Block {
            id,
            run: run.id,
            made_in,
        })
    })?;
    match r {
        Ok(t) => Some(t),
        Err(err) => err.raise(),
    }
}

pub(crate) fn sidebar() -> Target {
    match run_id() {
        Some(run) => Target::Block {
            id: SIDEBAR,
            run,
            made_in: None,
        },
        None => Target::Current,
    }
}

/// Makes `t` the active container until the guard drops.
pub(crate) fn enter(t: Target) -> Option<Leave> {
    let r = with_run(|run| -> Result<usize, UiError> {
        let at = run.resolve(t)?;
        run.cursor.push(at);
        Ok(run.cursor.len())
    })?;
    match r {
        Ok(depth) => Some(Leave(depth)),
        Err(err) => err.raise(),
    }
}

pub(crate) struct Leave(usize);

impl Drop for Leave {
    fn drop(&mut self) {
        with_run(|run| run.cursor.truncate(self.0 - 1));
    }
}

/// Draws a widget and returns its value: the session's value for its id if
/// it has one of the right type, else `default`. Outside a session, `default`.
pub(crate) fn widget(
    t: Target,
    key: Option<&str>,
    label: &str,
    spec: WidgetSpec,
    default: WidgetValue,
) -> WidgetValue {
    if !active() {
        return default;
    }
    let id = match key {
        Some(k) => format!("key:{k}"),
        None => format!("{}:{}", spec.name(), label),
    };
    let w = Widget {
        id,
        label: label.to_string(),
        spec,
        value: default,
        form: None,
    };
    match with_run(move |run| draw_widget(run, t, w)) {
        Some(Ok(v)) => v,
        Some(Err(e)) => e.raise(),
        None => unreachable!("`active()` said this thread runs a session"),
    }
}

/// The live part of drawing a widget, also used when replaying one.
pub(crate) fn draw_widget(run: &mut Run, t: Target, mut w: Widget) -> Result<WidgetValue, UiError> {
    replay::check_widget(run, &w)?;
    if !run.used.insert(w.id.clone()) {
        return Err(UiError::new(
            "DuplicateWidgetID",
            format!(
                "There are multiple identical `st::{}` widgets with the same generated id `{}`.\n\n\
                 To fix this, give each one a unique label, or a unique key with `st::keyed(\"..\")`. \
                 A cached fn with `allow_widgets = true` draws its widgets again on every call, \
                 so calling it twice with the same arguments in one run draws them twice.",
                w.spec.name(),
                w.id,
            ),
        ));
    }
    // A click lasts the whole run (the session forgets it after), so an
    // `allow_widgets` key read before the body runs sees what the body sees.
    let kept = if w.spec.is_trigger() {
        run.widgets
            .clicked
            .contains(&w.id)
            .then_some(WidgetValue::Bool(true))
    } else {
        match run.widgets.values.get(&w.id) {
            Some(v) if v.same_type(&w.value) => Some(v.clone()),
            _ => None,
        }
    };
    let value = kept.unwrap_or_else(|| {
        if run.captures.iter().any(|c| c.allow_widgets) {
            run.defaulted.insert(w.id.clone());
        }
        w.value.clone()
    });
    if !w.spec.is_trigger() {
        run.widgets.values.insert(w.id.clone(), value.clone());
    }
    w.value = value.clone();
    let at = run.resolve(t)?;
    w.form = run.tree.form_of(at);
    let e = Element::Widget(w);
    if let Some(warning) = replay::record_widget(run, t, at, &e)? {
        run.tree.push_element(at, warning);
    }
    run.tree.push_element(at, e);
    Ok(value)
}

/// Shows a spinner in the active container, unrecorded, until the guard
/// drops. In an `empty` slot the spinner stands in for what the slot held,
/// which comes back unless the work drew something else there.
pub(crate) fn spinner(text: String, show_time: bool) -> Option<SpinnerGuard> {
    with_run(|run| {
        let at = run.current();
        SpinnerGuard {
            run: run.id,
            shown: Some(
                run.tree
                    .push_spinner(at, Element::Spinner { text, show_time }),
            ),
        }
    })
}

pub(crate) struct SpinnerGuard {
    /// The run whose tree shows it: an async computation may be dropped on
    /// a thread running another, or none.
    run: u64,
    shown: Option<ShownSpinner>,
}

impl Drop for SpinnerGuard {
    fn drop(&mut self) {
        if let Some(s) = self.shown.take() {
            with_run(|run| {
                if run.id == self.run {
                    run.tree.remove_spinner(s);
                }
            });
        }
    }
}
