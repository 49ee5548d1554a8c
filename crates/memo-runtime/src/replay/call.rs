//! A cached call with replay around the store: the store holds the value
//! together with its recording, a miss inside a session records, a hit
//! inside a session replays. Outside a session a miss pays one thread-local
//! read and a hit one `Option` check.

use super::{Message, Place, Recording};
use crate::info::{FnInfo, Options, Spinner};
use crate::key::{CallKey, KeyHasher};
use crate::registry::FnCache;
use crate::ui::context::{self, Target, UiError};
use crate::ui::Element;
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

/// What the store holds for a cached fn: its value, and what it drew while
/// computing it (`None` when it drew nothing or ran outside a session).
pub(crate) type Recorded<V> = (V, Option<Arc<Recording>>);

/// A cached call: the value for `key`, or `body`'s.
#[inline(always)]
pub(crate) fn call<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    let (value, rec) = cache
        .store::<Recorded<V>>()
        .get_or_try(key, || compute(cache.info(), body))?;
    if let Some(rec) = rec {
        replay_hit(rec);
    }
    Ok(value)
}

thread_local! {
    /// The recording this thread's last miss made, so that the call which
    /// made it does not replay it. (A flag on the caller's stack would be
    /// written on every hit; this is touched only when there is a recording.)
    static JUST_RECORDED: Cell<usize> = const { Cell::new(0) };
}

fn just_recorded(rec: &Arc<Recording>) {
    JUST_RECORDED.with(|j| j.set(Arc::as_ptr(rec) as usize));
}

/// Replays `rec` unless this thread's call just recorded it. Cold, and
/// taking the handle by value (its drop happens in here), so that a hit
/// without a recording falls straight through to its return.
#[cold]
#[inline(never)]
pub(crate) fn replay_hit(rec: Arc<Recording>) {
    if JUST_RECORDED.with(|j| j.replace(0)) != Arc::as_ptr(&rec) as usize {
        replay(&rec);
    }
}

/// Runs `body`, recording what it draws if this thread runs a session.
#[inline(always)]
pub(crate) fn compute<V, E>(
    info: &'static FnInfo,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<Recorded<V>, E> {
    if !context::active() {
        return body().map(|v| (v, None));
    }
    compute_in_session(info, body)
}

#[inline(never)]
fn compute_in_session<V, E>(
    info: &'static FnInfo,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<Recorded<V>, E> {
    let opts = (info.options)();
    let outermost = context::with_run(|r| r.captures.is_empty()).unwrap_or(false);
    // Dropped after the capture: the spinner goes when the value is ready.
    let _spinner = match spinner_text(info, &opts) {
        Some(text) if outermost => context::spinner(text, opts.show_time),
        _ => None,
    };
    let capture = CaptureGuard::push(info, opts.allow_widgets);
    let out = body();
    let rec = capture.finish().map(Arc::new);
    if let (Ok(_), Some(rec)) = (&out, &rec) {
        just_recorded(rec);
    }
    out.map(|v| (v, rec))
}

fn spinner_text(info: &FnInfo, opts: &Options) -> Option<String> {
    match &opts.show_spinner {
        Spinner::Hidden => None,
        Spinner::Text(t) => Some(t.to_string()),
        Spinner::Default => {
            let args = if opts.takes_args { "..." } else { "" };
            Some(format!("Running `{}({args})`.", info.name))
        }
    }
}

/// Pops its capture however the body ends.
struct CaptureGuard(Option<usize>);

impl CaptureGuard {
    fn push(info: &'static FnInfo, allow_widgets: bool) -> Self {
        CaptureGuard(context::with_run(|run| {
            let home = run.current();
            run.captures
                .push(super::Capture::new(info, allow_widgets, home));
            run.captures.len()
        }))
    }

    fn finish(mut self) -> Option<Recording> {
        let depth = self.0.take()?;
        context::with_run(|run| {
            let c = run.captures.drain(depth - 1..).next()?;
            (!c.messages.is_empty()).then_some(Recording {
                messages: c.messages,
            })
        })
        .flatten()
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        if let Some(depth) = self.0 {
            context::with_run(|run| run.captures.truncate(depth - 1));
        }
    }
}

/// Draws `rec` again: `Main` into the current container, `Sidebar` into the
/// sidebar, `Local(n)` into the `n`th block this replay created. Captures
/// under way record it like any other call, so an outer cached fn's
/// recording includes an inner fn's hits.
pub(crate) fn replay(rec: &Recording) {
    if !context::active() {
        return;
    }
    let mut blocks: Vec<Target> = Vec::new();
    let sidebar = context::sidebar();
    for m in &rec.messages {
        let (Message::Element { on, .. } | Message::Block { on, .. }) = m;
        let t = match on {
            Place::Main => Target::Current,
            Place::Sidebar => sidebar,
            Place::Local(n) => match blocks.get(*n as usize) {
                Some(t) => *t,
                None => UiError::new(
                    "CacheReplayError",
                    "a recording names a block it never created (a corrupt persisted entry?)",
                )
                .raise(),
            },
        };
        match m {
            Message::Element {
                element: Element::Widget(w),
                ..
            } => {
                let w = w.clone();
                if let Some(Err(e)) = context::with_run(move |run| context::draw_widget(run, t, w))
                {
                    e.raise();
                }
            }
            Message::Element { element, .. } => context::emit(t, element.clone()),
            Message::Block { kind, .. } => {
                blocks.extend(context::create_block(t, kind.clone()));
            }
        }
    }
}

// ---- allow_widgets --------------------------------------------------------

/// Per function and argument key, the widgets its body drew (their values
/// are part of the key: Streamlit 1.15–1.37's `MultiCacheResults`) and the
/// keys its results were stored under, so `f_forget(args)` finds them all.
/// Kept beside the store, which stays unaware of widgets.
static WIDGETS: LazyLock<Mutex<HashMap<(usize, u128), WidgetEntry>>> =
    LazyLock::new(Default::default);

#[derive(Default)]
struct WidgetEntry {
    /// Sorted.
    ids: Arc<[String]>,
    keys: Vec<u128>,
}

fn slot(cache: &'static FnCache, args: u128) -> (usize, u128) {
    (cache as *const FnCache as usize, args)
}

fn known_ids(cache: &'static FnCache, args: u128) -> Arc<[String]> {
    WIDGETS
        .lock()
        .get(&slot(cache, args))
        .map_or_else(|| Arc::new([]) as Arc<[String]>, |e| e.ids.clone())
}

fn set_ids(cache: &'static FnCache, args: u128, ids: &[String]) {
    WIDGETS.lock().entry(slot(cache, args)).or_default().ids = ids.into();
}

fn stored_under(cache: &'static FnCache, args: u128, key: u128) {
    let mut all = WIDGETS.lock();
    let keys = &mut all.entry(slot(cache, args)).or_default().keys;
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// `f_forget(args)` for an `allow_widgets` fn: drops the result of every
/// widget combination stored for these arguments.
pub(crate) fn forget_widget_results(cache: &'static FnCache, args: u128) -> bool {
    let keys = WIDGETS
        .lock()
        .get_mut(&slot(cache, args))
        .map(|e| std::mem::take(&mut e.keys))
        .unwrap_or_default();
    keys.into_iter()
        .fold(false, |found, k| cache.forget(k) | found)
}

/// The key of a call inside a session: the arguments and the current value
/// of each widget the fn is known to draw.
fn widget_key(args: u128, ids: &[String]) -> u128 {
    let mut h = KeyHasher::new();
    h.write_bytes(&args.to_le_bytes());
    h.write_str("allow_widgets");
    context::with_run(|run| {
        for id in ids {
            h.write_str(id);
            let v = run.widgets.values.get(id).cloned().or_else(|| {
                run.widgets
                    .clicked
                    .contains(id)
                    .then_some(crate::ui::WidgetValue::Bool(true))
            });
            let text = v.map(|v| serde_json::to_string(&v).unwrap_or_default());
            h.write_str(text.as_deref().unwrap_or(""));
        }
    });
    h.finish()
}

enum Miss<V, E> {
    Body(E),
    /// Computed, but the fn drew widgets not known before: its key is another.
    Rekeyed(Recorded<V>, u128),
}

/// A cached call of an `allow_widgets` fn.
pub(crate) fn call_widgets<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    if !context::active() {
        return call(cache, key, body);
    }
    let args = key.digest();
    let ids = known_ids(cache, args);
    let first = widget_key(args, &ids);
    let store = cache.store::<Recorded<V>>();
    let mut ran = false;
    let got = store.get_or_try(CallKey::from(first), || {
        ran = true;
        stored_under(cache, args, first);
        let (v, rec) = compute(cache.info(), body).map_err(Miss::Body)?;
        let now = rec.as_ref().map(|r| r.widget_ids()).unwrap_or_default();
        if *now != *ids {
            set_ids(cache, args, &now);
            let key = widget_key(args, &now);
            if key != first {
                return Err(Miss::Rekeyed((v, rec), key));
            }
        }
        Ok((v, rec))
    });
    JUST_RECORDED.with(|j| j.set(0));
    match got {
        Ok((v, rec)) => {
            if let (Some(rec), false) = (rec, ran) {
                replay(&rec);
            }
            Ok(v)
        }
        Err(Miss::Body(e)) => Err(e),
        Err(Miss::Rekeyed(entry, key)) => {
            stored_under(cache, args, key);
            let v = entry.0.clone();
            let _ = store.get_or_try::<std::convert::Infallible>(CallKey::from(key), || Ok(entry));
            Ok(v)
        }
    }
}
