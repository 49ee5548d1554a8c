//! Recording: every call made while cached fns compute is appended to the
//! recording of each of them (outer fns include what inner ones drew or
//! replayed), placed relative to what will exist on replay.

use super::{Message, Place};
use crate::info::{FnInfo, Kind};
use crate::ui::context::{Run, Target, UiError};
use crate::ui::tree::{BlockId, SIDEBAR};
use crate::ui::{BlockKind, Element, Widget, WidgetSpec};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The recording of one cached fn computing now.
pub(crate) struct Capture {
    /// Unique to this computation: block handles made during it name it.
    pub(crate) id: u64,
    pub(crate) info: &'static FnInfo,
    pub(crate) allow_widgets: bool,
    /// The container current when the fn was called: what `Place::Main` means.
    pub(crate) home: BlockId,
    /// Blocks created while it ran, with their recording-local ids.
    pub(crate) seen: Vec<BlockId>,
    pub(crate) messages: Vec<Message>,
}

impl Capture {
    pub(crate) fn new(info: &'static FnInfo, allow_widgets: bool, home: BlockId) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(0);
        Capture {
            id: IDS.fetch_add(1, Relaxed),
            info,
            allow_widgets,
            home,
            seen: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Where a call on block `at` will land on replay, if anywhere. A block
    /// made outside the fn and named explicitly (a handle passed in) may not
    /// exist then: that is Streamlit's `CacheReplayClosureError`, which we
    /// report while recording instead of on some later hit.
    fn place(&self, t: Target, at: BlockId) -> Option<Place> {
        let explicit = matches!(t, Target::Block { .. });
        if let Some(i) = self.seen.iter().position(|&b| b == at) {
            return Some(Place::Local(i as u32));
        }
        if explicit && at == SIDEBAR {
            return Some(Place::Sidebar);
        }
        if at == self.home {
            return Some(Place::Main);
        }
        (at == SIDEBAR).then_some(Place::Sidebar)
    }
}

fn decorator(info: &FnInfo) -> &'static str {
    match info.kind {
        Kind::Memo => "memo",
        Kind::Singleton => "singleton",
    }
}

/// Where the call lands for each capture, outermost first; a block none of
/// them can name again is reported for the innermost that can't.
fn places(run: &Run, t: Target, at: BlockId) -> Result<Vec<Place>, UiError> {
    let all: Option<Vec<Place>> = run.captures.iter().map(|c| c.place(t, at)).collect();
    all.ok_or_else(|| {
        let c = run.captures.iter().rev().find(|c| c.place(t, at).is_none());
        closure_error(c.expect("one capture could not place it").info)
    })
}

pub(crate) fn record_element(
    run: &mut Run,
    t: Target,
    at: BlockId,
    e: &Element,
) -> Result<(), UiError> {
    if run.captures.is_empty() {
        return Ok(());
    }
    let places = places(run, t, at)?;
    for (c, on) in run.captures.iter_mut().zip(places) {
        c.messages.push(Message::Element {
            on,
            element: e.clone(),
        });
    }
    Ok(())
}

/// Records block `id`, just created on `at`, in every capture.
pub(crate) fn record_block(
    run: &mut Run,
    t: Target,
    at: BlockId,
    id: BlockId,
    kind: &BlockKind,
) -> Result<(), UiError> {
    if run.captures.is_empty() {
        return Ok(());
    }
    let places = places(run, t, at)?;
    for (c, on) in run.captures.iter_mut().zip(places) {
        let local = c.seen.len() as u32;
        c.seen.push(id);
        c.messages.push(Message::Block {
            on,
            kind: kind.clone(),
            id: local,
        });
    }
    Ok(())
}

/// Refuses the widgets no cached fn may hold (uploads).
pub(crate) fn check_widget(run: &Run, w: &Widget) -> Result<(), UiError> {
    let Some(inner) = run.captures.last() else {
        return Ok(());
    };
    if matches!(w.spec, WidgetSpec::FileUploader | WidgetSpec::CameraInput) {
        let (name, f) = (w.spec.name(), inner.info.name);
        return Err(UiError::new(
            "CachedWidgetError",
            format!(
                "`st::{name}()` can't be used inside the cached fn `{f}()`: the files it \
                 returns are not inputs the cache can key on or replay.\n\n\
                 How to fix this:\n\
                 * Call `st::{name}()` outside `{f}()` and pass the file's bytes to `{f}()` as an argument."
            ),
        ));
    }
    Ok(())
}

/// Records widget `e`, drawn on `at`: a capture whose fn allows widgets
/// records the widget; one that does not records Streamlit's
/// `CachedStFunctionWarning` instead, which is also returned to be drawn
/// (before the widget). Each fn's recording thus follows its own option,
/// whatever the fns around it allow.
pub(crate) fn record_widget(
    run: &mut Run,
    t: Target,
    at: BlockId,
    e: &Element,
) -> Result<Option<Element>, UiError> {
    if run.captures.is_empty() {
        return Ok(None);
    }
    let places = places(run, t, at)?;
    let warning = run
        .captures
        .iter()
        .rev()
        .find(|c| !c.allow_widgets)
        .map(|c| widget_warning(c, e));
    for (c, on) in run.captures.iter_mut().zip(places) {
        let element = match &warning {
            Some(w) if !c.allow_widgets => w.clone(),
            _ => e.clone(),
        };
        c.messages.push(Message::Element { on, element });
    }
    Ok(warning)
}

/// The warning for a widget drawn inside `c`'s fn, which does not allow
/// widgets. Recorded like any element, so it stays on screen on hits, where
/// the widget itself is gone.
fn widget_warning(c: &Capture, e: &Element) -> Element {
    let name = match e {
        Element::Widget(w) => w.spec.name(),
        _ => "write",
    };
    let (f, d) = (c.info.name, decorator(c.info));
    Element::Exception {
        name: "CachedStFunctionWarning".into(),
        message: format!(
            "Your script uses `st::{name}()` to write to your app from within\n\
             some cached code at `{f}()`. This code will only be called when we detect\n\
             a cache \"miss\", which can lead to unexpected results.\n\n\
             How to fix this:\n\
             * Move the `st::{name}()` call outside `{f}()`.\n\
             * Or, if you know what you're doing, use `#[{d}(allow_widgets = true)]`\n\
             to enable widget replay and suppress this warning."
        ),
    }
}

fn closure_error(info: &FnInfo) -> UiError {
    let (f, d) = (info.name, decorator(info));
    UiError::new(
        "CacheReplayClosureError",
        format!(
            "While running `{f}()`, a streamlit element is called on some layout block\n\
             created outside the function. This is incompatible with replaying the cached\n\
             effect of that element, because the referenced block might not exist when\n\
             the replay happens.\n\n\
             How to fix this:\n\
             * Move the creation of that layout block inside `{f}()`.\n\
             * Move the call to the streamlit element outside of `{f}()`.\n\
             * Remove the `#[{d}]` attribute from `{f}()`."
        ),
    )
}
