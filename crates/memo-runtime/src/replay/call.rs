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
    match cache.made::<Recorded<V>>() {
        Some(store) => store.get_or_try_then(key, || compute(cache.info(), body), take),
        None => first_call(cache, key, body),
    }
}

/// [`call`], the first time: makes the store, out of the hit's way.
#[cold]
#[inline(never)]
fn first_call<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    cache
        .store::<Recorded<V>>()
        .get_or_try_then(key, || compute(cache.info(), body), take)
}

/// [`call`] for a singleton's instance, whose hit clones only an `Arc`.
#[inline(always)]
pub(crate) fn call_shared<T, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl FnOnce() -> Result<Arc<T>, E>,
) -> Result<Arc<T>, E>
where
    T: Send + Sync + 'static + ?Sized,
{
    match cache.made::<Recorded<Arc<T>>>() {
        Some(store) => store.get_or_try_plain_then(key, || compute(cache.info(), body), take),
        None => first_call(cache, key, body),
    }
}

/// [`call`] for an `async fn`, after a memory miss.
pub(crate) async fn call_async<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl std::future::Future<Output = Result<V, E>>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    let compute = async move { Ok((compute_async(cache.info(), body).await?, None)) };
    let got = cache
        .store::<Recorded<V>>()
        .get_or_try_async(key, compute)
        .await?;
    Ok(take(got))
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

/// Replays `rec` unless this thread's call just recorded it, then hands
/// `value` on. Cold, and taking both by value (the handle's drop happens in
/// here, the value goes straight out), so that a hit without a recording
/// falls through to its return, and one with a recording ends in this call
/// (a hit path that makes no call but its last needs no stack frame).
#[cold]
#[inline(never)]
fn replay_hit<V>(rec: Arc<Recording>, value: V) -> V {
    if JUST_RECORDED.with(|j| j.replace(0)) != Arc::as_ptr(&rec) as usize {
        replay(&rec);
    }
    value
}

/// A value as the store holds it, handed to its caller: what it drew is
/// drawn again first (unless this very call just drew it).
#[inline(always)]
pub(crate) fn take<V>((value, rec): Recorded<V>) -> V {
    match rec {
        None => value,
        Some(rec) => replay_hit(rec, value),
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
    let drawing = Drawing::begin(info);
    drawing.end(body())
}

/// [`compute`] for an async body. The session is the one of the thread that
/// first polls the body; a script drives async code on its own thread (with
/// `block_on`), where every poll sees it.
pub(crate) async fn compute_async<V, E>(
    info: &'static FnInfo,
    body: impl std::future::Future<Output = Result<V, E>>,
) -> Result<Recorded<V>, E> {
    if !context::active() {
        return body.await.map(|v| (v, None));
    }
    let drawing = Drawing::begin(info);
    let out = body.await;
    drawing.end(out)
}

/// A miss inside a session while its body runs: the spinner it shows and
/// the capture that records what it draws.
struct Drawing {
    // Dropped after the capture: the spinner goes when the value is ready.
    capture: CaptureGuard,
    _spinner: Option<context::SpinnerGuard>,
}

impl Drawing {
    #[inline(never)]
    fn begin(info: &'static FnInfo) -> Self {
        let opts = (info.options)();
        let outermost = context::with_run(|r| r.captures.is_empty()).unwrap_or(false);
        let spinner = match spinner_text(info, &opts) {
            Some(text) if outermost => context::spinner(text, opts.show_time),
            _ => None,
        };
        Drawing {
            capture: CaptureGuard::push(info, opts.allow_widgets),
            _spinner: spinner,
        }
    }

    fn end<V, E>(self, out: Result<V, E>) -> Result<Recorded<V>, E> {
        let Drawing { capture, _spinner } = self;
        let rec = capture.finish().map(Arc::new);
        if let (Ok(_), Some(rec)) = (&out, &rec) {
            just_recorded(rec);
        }
        out.map(|v| (v, rec))
    }
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
        .fold(false, |found, k| cache.forget(CallKey::from(k)) | found)
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
    let w = WidgetCall::new(cache, key);
    let mut ran = false;
    let got = cache
        .store::<Recorded<V>>()
        .get_or_try(CallKey::from(w.first), || {
            ran = true;
            w.computed(compute(cache.info(), body))
        });
    w.finish(got, ran)
}

/// [`call_widgets`] for an `async fn`.
pub(crate) async fn call_widgets_async<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    body: impl std::future::Future<Output = Result<V, E>>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    if !context::active() {
        return call_async(cache, key, body).await;
    }
    let w = WidgetCall::new(cache, key);
    let ran = std::sync::atomic::AtomicBool::new(false);
    let compute = async {
        ran.store(true, std::sync::atomic::Ordering::Relaxed);
        let drawn = w.computed(compute_async(cache.info(), body).await)?;
        Ok((drawn, None))
    };
    let got = cache
        .store::<Recorded<V>>()
        .get_or_try_async(CallKey::from(w.first), compute)
        .await;
    w.finish(got, ran.into_inner())
}

/// One call of an `allow_widgets` fn inside a session: its arguments' key,
/// the widgets the fn is known to draw, and the key their values make.
struct WidgetCall {
    cache: &'static FnCache,
    args: u128,
    ids: Arc<[String]>,
    first: u128,
}

impl WidgetCall {
    fn new(cache: &'static FnCache, key: CallKey) -> Self {
        let args = key.digest();
        let ids = known_ids(cache, args);
        let first = widget_key(args, &ids);
        WidgetCall {
            cache,
            args,
            ids,
            first,
        }
    }

    /// What the body made under `first`: its entry, or, if it drew widgets
    /// not known before, the key it belongs under instead.
    fn computed<V, E>(&self, drawn: Result<Recorded<V>, E>) -> Result<Recorded<V>, Miss<V, E>> {
        stored_under(self.cache, self.args, self.first);
        let (v, rec) = drawn.map_err(Miss::Body)?;
        let now = rec.as_ref().map(|r| r.widget_ids()).unwrap_or_default();
        if *now != *self.ids {
            set_ids(self.cache, self.args, &now);
            let key = widget_key(self.args, &now);
            if key != self.first {
                return Err(Miss::Rekeyed((v, rec), key));
            }
        }
        Ok((v, rec))
    }

    fn finish<V, E>(self, got: Result<Recorded<V>, Miss<V, E>>, ran: bool) -> Result<V, E>
    where
        V: Clone + Send + Sync + 'static,
    {
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
                stored_under(self.cache, self.args, key);
                let v = entry.0.clone();
                let _ = self
                    .cache
                    .store::<Recorded<V>>()
                    .get_or_try::<std::convert::Infallible>(CallKey::from(key), || Ok(entry));
                Ok(v)
            }
        }
    }
}
