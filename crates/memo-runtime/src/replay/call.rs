//! A cached call with replay around the store: the store holds the value
//! together with its recording, a miss inside a session records, a hit
//! inside a session replays. Outside a session a miss pays one thread-local
//! read and a hit one `Option` check.

use super::{Capture, Message, Place, Recording};
use crate::info::{FnInfo, Options, Spinner};
use crate::key::{CallKey, KeyHasher};
use crate::registry::FnCache;
use crate::ui::context::{self, Target, UiError};
use crate::ui::{Element, WidgetValue};
use parking_lot::Mutex;
use std::cell::Cell;
use std::collections::HashMap;
use std::future::poll_fn;
use std::pin::pin;
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
    let mut drawing = Drawing::begin(info);
    let out = drawing.inside(body);
    drawing.end(out)
}

/// [`compute`] for an async body. The session is the one of the thread that
/// first polls the body; a script drives async code on its own thread (with
/// `block_on`), where every poll sees it. The capture is on the run's stack
/// during each poll only, so two bodies polled in turn (a `join`) record
/// what each drew, and a body left pending records nothing meanwhile.
pub(crate) async fn compute_async<V, E>(
    info: &'static FnInfo,
    body: impl std::future::Future<Output = Result<V, E>>,
) -> Result<Recorded<V>, E> {
    if !context::active() {
        return body.await.map(|v| (v, None));
    }
    let mut drawing = Drawing::begin(info);
    let mut body = pin!(body);
    let out = poll_fn(|cx| drawing.inside(|| body.as_mut().poll(cx))).await;
    drawing.end(out)
}

/// A miss inside a session while its body runs: the spinner it shows and
/// the capture that records what it draws. The capture belongs to the
/// computation, not to the thread: it is on the run's stack only while the
/// body runs ([`inside`](Self::inside)), on top of those of the cached fns
/// whose bodies are running around it, which record what it draws too.
struct Drawing {
    /// `None` while it is on the run's stack (or with no run to record in).
    capture: Option<Capture>,
    /// The run it records in: a poll on a thread running another (or none)
    /// records nothing.
    run: u64,
    // Dropped after the capture: the spinner goes when the value is ready.
    _spinner: Option<context::SpinnerGuard>,
}

impl Drawing {
    #[inline(never)]
    fn begin(info: &'static FnInfo) -> Self {
        let opts = (info.options)();
        let here = context::with_run(|r| (r.id, r.current(), r.captures.is_empty()));
        let Some((run, home, outermost)) = here else {
            return Drawing {
                capture: None,
                run: 0,
                _spinner: None,
            };
        };
        let spinner = outermost.then(|| spinner(info, &opts)).flatten();
        Drawing {
            capture: Some(Capture::new(info, opts.allow_widgets, home)),
            run,
            _spinner: spinner,
        }
    }

    /// Runs `f` (the body, or one poll of it) with the capture on the run's
    /// stack, and takes it off after, however `f` ends.
    fn inside<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _on = OnStack::push(&mut self.capture, self.run);
        f()
    }

    fn end<V, E>(self, out: Result<V, E>) -> Result<Recorded<V>, E> {
        let Drawing {
            capture, _spinner, ..
        } = self;
        let rec = capture.filter(|c| !c.messages.is_empty()).map(|c| {
            Arc::new(Recording {
                messages: c.messages,
            })
        });
        if let (Ok(_), Some(rec)) = (&out, &rec) {
            just_recorded(rec);
        }
        out.map(|v| (v, rec))
    }
}

/// The spinner of a miss of `info`'s fn, in the current container, unless
/// `show_spinner = false`.
fn spinner(info: &FnInfo, opts: &Options) -> Option<context::SpinnerGuard> {
    let text = match &opts.show_spinner {
        Spinner::Hidden => return None,
        Spinner::Text(t) => t.to_string(),
        Spinner::Default => {
            let args = if opts.takes_args { "..." } else { "" };
            format!("Running `{}({args})`.", info.name)
        }
    };
    context::spinner(text, opts.show_time)
}

/// Tests' look at a waiting session (see `ui::on_wait_for_tests`).
static WAIT_HOOK: Mutex<Option<fn()>> = Mutex::new(None);

pub(crate) fn set_wait_hook(hook: Option<fn()>) {
    *WAIT_HOOK.lock() = hook;
}

/// A call about to wait for another caller's computation of its key
/// (another session's, or another task's): inside a session, the spinner
/// its own miss would show, under the same rules (outermost only, the fn's
/// `show_spinner`), until the guard drops when the wait ends. Streamlit's
/// spinner wraps the wait for the compute lock as well as the computation.
#[cold]
#[inline(never)]
pub(crate) fn waiting(info: &'static FnInfo) -> Option<context::SpinnerGuard> {
    if !context::active() {
        return None;
    }
    let outermost = context::with_run(|r| r.captures.is_empty()).unwrap_or(false);
    let shown = outermost
        .then(|| spinner(info, &(info.options)()))
        .flatten();
    let hook = *WAIT_HOOK.lock();
    if let Some(hook) = hook {
        hook();
    }
    shown
}

/// A computation's capture, lent to the run's stack for one run (or poll)
/// of its body.
struct OnStack<'a> {
    slot: &'a mut Option<Capture>,
    /// The capture's id, while it is on the stack.
    id: Option<u64>,
}

impl<'a> OnStack<'a> {
    fn push(slot: &'a mut Option<Capture>, run: u64) -> Self {
        let mut id = None;
        if context::run_id() == Some(run) {
            if let Some(c) = slot.take() {
                id = Some(c.id);
                context::with_run(|r| r.captures.push(c));
            }
        }
        OnStack { slot, id }
    }
}

impl Drop for OnStack<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        // On top, unless a body above it unwound without taking its own off.
        *self.slot = context::with_run(|r| {
            let at = r.captures.iter().rposition(|c| c.id == id)?;
            r.captures.truncate(at + 1);
            r.captures.pop()
        })
        .flatten();
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

/// Per function and argument key, what its body drew (the widgets' values
/// are part of the key: Streamlit 1.15–1.37's `MultiCacheResults`) and the
/// keys its results were stored under, so `f_forget(args)` finds them all.
/// Kept beside the store, which knows only to report the keys of results
/// that leave it by eviction or expiry ([`forget_widget_keys`]).
static WIDGETS: LazyLock<Mutex<Widgets>> = LazyLock::new(Default::default);

/// Functions are named by their `FnInfo`'s address, which their stores know.
#[derive(Default)]
struct Widgets {
    entries: HashMap<(usize, u128), WidgetEntry>,
    /// The argument key of each result key the trees lead to, so that a
    /// result leaving the store takes its leaf along.
    owners: HashMap<(usize, u128), u128>,
}

struct WidgetEntry {
    /// The fn's name, for tests that count.
    name: &'static str,
    /// The widgets the body drew, as a tree in draw order: `None` before
    /// the first computation. The ids in it are the union of every
    /// computation's; arranging them by what was drawn after what keeps a
    /// widget drawn only under a condition out of the key of the branch
    /// that doesn't draw it, so each branch keeps one key however the
    /// other widgets were set in the run before.
    tree: Option<Node>,
    keys: Vec<u128>,
}

enum Node {
    /// The body drew no more widgets: its result's key.
    Leaf(u128),
    /// The body drew widget `id` next; what followed depended on its value
    /// (by [`value_bytes`]).
    Ask {
        id: String,
        /// Its value when the session has none, once a computation has
        /// seen it drawn so.
        default: Option<WidgetValue>,
        next: HashMap<Vec<u8>, Node>,
    },
}

/// The size of the widget trees of the `allow_widgets` fns named `name`:
/// their nodes and the result keys they lead to, over every argument key.
pub(crate) fn widget_tree_size(name: &str) -> (usize, usize) {
    fn nodes(n: &Node) -> usize {
        match n {
            Node::Leaf(_) => 1,
            Node::Ask { next, .. } => 1 + next.values().map(nodes).sum::<usize>(),
        }
    }
    WIDGETS
        .lock()
        .entries
        .values()
        .filter(|e| e.name == name)
        .fold((0, 0), |(n, k), e| {
            (n + e.tree.as_ref().map_or(0, nodes), k + e.keys.len())
        })
}

fn fn_id(info: &FnInfo) -> usize {
    info as *const FnInfo as usize
}

fn slot(cache: &'static FnCache, args: u128) -> (usize, u128) {
    (fn_id(cache.info()), args)
}

/// A widget's value in a canonical byte form for the key: unlike its JSON,
/// where `+inf`, `-inf` and `NaN` are all `null`, distinct values give
/// distinct bytes (floats by their bits).
fn value_bytes(v: &WidgetValue) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = Vec::new();
    match v {
        WidgetValue::Bool(b) => out.extend([0, *b as u8]),
        WidgetValue::Number(n) => {
            out.push(1);
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        WidgetValue::Text(t) => {
            out.push(2);
            text(&mut out, t);
        }
        WidgetValue::Texts(ts) => {
            out.push(3);
            out.extend_from_slice(&(ts.len() as u64).to_le_bytes());
            ts.iter().for_each(|t| text(&mut out, t));
        }
        WidgetValue::Date(d) => {
            out.push(4);
            out.extend_from_slice(&d.year.to_le_bytes());
            out.extend([d.month, d.day]);
        }
        WidgetValue::Time(t) => out.extend([5, t.hour, t.minute]),
        WidgetValue::Files(fs) => {
            out.push(6);
            out.extend_from_slice(&(fs.len() as u64).to_le_bytes());
            for f in fs {
                text(&mut out, &f.name);
                text(&mut out, &f.mimetype);
                out.extend_from_slice(&(f.bytes.len() as u64).to_le_bytes());
                out.extend_from_slice(&f.bytes);
            }
        }
    }
    out
}

/// What the body will see for widget `id` in this run: the session's value,
/// or, if it has none (of the widget's type), the default.
fn current(run: &context::Run, id: &str, default: Option<&WidgetValue>) -> Option<WidgetValue> {
    if run.widgets.clicked.contains(id) {
        return Some(WidgetValue::Bool(true));
    }
    match (run.widgets.values.get(id), default) {
        (Some(v), Some(d)) if v.same_type(d) => Some(v.clone()),
        (Some(v), None) => Some(v.clone()),
        (_, d) => d.cloned(),
    }
}

/// The key of a path of widget values. A complete path (the body drew no
/// more) and a partial one (the walk stopped at a value not computed yet)
/// never share a key.
fn path_key(args: u128, path: &[(&str, Vec<u8>)], complete: bool) -> u128 {
    let mut h = KeyHasher::new();
    h.write_bytes(&args.to_le_bytes());
    h.write_str("allow_widgets");
    for (id, v) in path {
        h.write_str(id);
        h.write_len(v.len());
        h.write_bytes(v);
    }
    h.write_str(if complete { "" } else { "?" });
    h.finish()
}

/// Where a call inside a session looks: the key the tree leads to with this
/// run's widget values, `complete` if it reached a leaf.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Walk {
    key: u128,
    complete: bool,
}

fn walk(cache: &'static FnCache, args: u128) -> Walk {
    let all = WIDGETS.lock();
    let mut node = all
        .entries
        .get(&slot(cache, args))
        .and_then(|e| e.tree.as_ref());
    let mut path: Vec<(&str, Vec<u8>)> = Vec::new();
    let leaf = context::with_run(|run| loop {
        match node {
            Some(Node::Leaf(key)) => return Some(*key),
            Some(Node::Ask { id, default, next }) => {
                let v = value_bytes(&current(run, id, default.as_ref())?);
                node = next.get(&v);
                path.push((id, v));
            }
            None => return None,
        }
    })
    .flatten();
    match leaf {
        Some(key) => Walk {
            key,
            complete: true,
        },
        None => Walk {
            key: path_key(args, &path, false),
            complete: false,
        },
    }
}

/// A widget a computation drew: its id, its value, and its default if the
/// computation saw it (the session had no value for it).
struct Drawn {
    id: String,
    value: WidgetValue,
    default: Option<WidgetValue>,
}

/// The widgets `rec` holds, in the order they were drawn.
fn drawn(rec: Option<&Recording>) -> Vec<Drawn> {
    let Some(rec) = rec else { return Vec::new() };
    context::with_run(|run| {
        rec.messages
            .iter()
            .filter_map(|m| match m {
                Message::Element {
                    element: Element::Widget(w),
                    ..
                } => Some(Drawn {
                    id: w.id.clone(),
                    value: w.value.clone(),
                    default: if w.spec.is_trigger() {
                        Some(WidgetValue::Bool(false))
                    } else {
                        run.defaulted.contains(&w.id).then(|| w.value.clone())
                    },
                }),
                _ => None,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Adds the path a computation drew to the tree, ending at `key`. A path
/// that contradicts the tree (a body that drew other widgets for the same
/// values) replaces the branch it contradicts.
fn learn(cache: &'static FnCache, args: u128, path: &[Drawn], key: u128) {
    let mut all = WIDGETS.lock();
    let Widgets { entries, owners } = &mut *all;
    let entry = entries
        .entry(slot(cache, args))
        .or_insert_with(|| WidgetEntry {
            name: cache.info().name,
            tree: None,
            keys: Vec::new(),
        });
    if !entry.keys.contains(&key) {
        entry.keys.push(key);
        owners.insert((fn_id(cache.info()), key), args);
    }
    let mut node = entry.tree.get_or_insert(Node::Leaf(key));
    for d in path {
        if !matches!(node, Node::Ask { id, .. } if *id == d.id) {
            *node = Node::Ask {
                id: d.id.clone(),
                default: None,
                next: HashMap::new(),
            };
        }
        let Node::Ask { default, next, .. } = node else {
            unreachable!("made an `Ask` just above")
        };
        if d.default.is_some() {
            default.clone_from(&d.default);
        }
        node = next.entry(value_bytes(&d.value)).or_insert(Node::Leaf(key));
    }
    *node = Node::Leaf(key);
}

/// `f_forget(args)` for an `allow_widgets` fn: drops the result of every
/// widget combination stored for these arguments, and what the fn drew.
pub(crate) fn forget_widget_results(cache: &'static FnCache, args: u128) -> bool {
    let keys = {
        let mut all = WIDGETS.lock();
        let keys = all
            .entries
            .remove(&slot(cache, args))
            .map(|e| e.keys)
            .unwrap_or_default();
        let f = fn_id(cache.info());
        for k in &keys {
            all.owners.remove(&(f, *k));
        }
        keys
    };
    keys.into_iter()
        .fold(false, |found, k| cache.forget(CallKey::from(k)) | found)
}

/// `f_clear()` for an `allow_widgets` fn: what it drew goes with its values.
pub(crate) fn forget_widget_trees(info: &FnInfo) {
    let f = fn_id(info);
    let mut all = WIDGETS.lock();
    all.entries.retain(|&(c, _), _| c != f);
    all.owners.retain(|&(c, _), _| c != f);
}

/// Results of `info`'s fn that left its store by eviction or expiry take
/// their leaves along, and a tree left with none goes: an `allow_widgets`
/// fn bounded by `max_entries` or a ttl knows no more combinations than it
/// holds. Called by the store after its lock is released. A key that
/// comes back is learnt again by the computation that stores it.
pub(crate) fn forget_widget_keys(info: &FnInfo, keys: &[CallKey]) {
    /// Takes the leaves of `key` out of `node`; whether nothing is left.
    fn prune(node: &mut Node, key: u128) -> bool {
        match node {
            Node::Leaf(k) => *k == key,
            Node::Ask { next, .. } => {
                next.retain(|_, n| !prune(n, key));
                next.is_empty()
            }
        }
    }
    let f = fn_id(info);
    let mut all = WIDGETS.lock();
    let Widgets { entries, owners } = &mut *all;
    for key in keys.iter().map(|k| k.digest()) {
        let Some(args) = owners.remove(&(f, key)) else {
            continue;
        };
        let Some(entry) = entries.get_mut(&(f, args)) else {
            continue;
        };
        entry.keys.retain(|&k| k != key);
        if entry.tree.as_mut().is_some_and(|t| prune(t, key)) {
            entry.tree = None;
        }
        if entry.tree.is_none() && entry.keys.is_empty() {
            entries.remove(&(f, args));
        }
    }
}

enum Miss<V, E> {
    Body(E),
    /// Computed, but the fn drew widgets the look-up did not know: the
    /// value is stored under the key of what it drew instead.
    Rekeyed(V),
    /// The tree changed since the look-up (another session's computation
    /// was re-keyed while this call waited for it): look again.
    Again,
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
    let store = cache.store::<Recorded<V>>();
    let mut body = Some(body);
    loop {
        let at = walk(cache, args);
        let mut ran = false;
        let got = store.get_or_try(CallKey::from(at.key), || {
            if !at.complete && walk(cache, args) != at {
                return Err(Miss::Again);
            }
            ran = true;
            let body = body.take().expect("the body runs at most once");
            settle(cache, args, at, compute(cache.info(), body))
        });
        if let Some(out) = finish(got, ran) {
            return out;
        }
    }
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
    let args = key.digest();
    let store = cache.store::<Recorded<V>>();
    let mut body = Some(body);
    loop {
        let at = walk(cache, args);
        let ran = std::sync::atomic::AtomicBool::new(false);
        let compute = async {
            if !at.complete && walk(cache, args) != at {
                return Err(Miss::Again);
            }
            ran.store(true, std::sync::atomic::Ordering::Relaxed);
            let body = body.take().expect("the body runs at most once");
            let drawn = settle(cache, args, at, compute_async(cache.info(), body).await)?;
            Ok((drawn, None))
        };
        let got = store.get_or_try_async(CallKey::from(at.key), compute).await;
        if let Some(out) = finish(got, ran.into_inner()) {
            return out;
        }
    }
}

/// What a computation under `at` drew decides its key: the tree learns the
/// path, and a value whose key is not `at`'s is stored under its own, before
/// the tree leads there and before `at`'s waiters look again, so that they
/// find it rather than compute it a second time.
fn settle<V, E>(
    cache: &'static FnCache,
    args: u128,
    at: Walk,
    drawn_now: Result<Recorded<V>, E>,
) -> Result<Recorded<V>, Miss<V, E>>
where
    V: Clone + Send + Sync + 'static,
{
    let (v, rec) = drawn_now.map_err(Miss::Body)?;
    let path = drawn(rec.as_deref());
    let bytes: Vec<(&str, Vec<u8>)> = path
        .iter()
        .map(|d| (d.id.as_str(), value_bytes(&d.value)))
        .collect();
    let key = path_key(args, &bytes, true);
    if key == at.key {
        learn(cache, args, &path, key);
        return Ok((v, rec));
    }
    let entry = (v.clone(), rec);
    let _ = cache
        .store::<Recorded<V>>()
        .get_or_try::<std::convert::Infallible>(CallKey::from(key), || Ok(entry));
    learn(cache, args, &path, key);
    Err(Miss::Rekeyed(v))
}

/// The caller's value, or `None` to look again.
fn finish<V, E>(got: Result<Recorded<V>, Miss<V, E>>, ran: bool) -> Option<Result<V, E>> {
    JUST_RECORDED.with(|j| j.set(0));
    match got {
        Ok((v, rec)) => {
            if let (Some(rec), false) = (rec, ran) {
                replay(&rec);
            }
            Some(Ok(v))
        }
        Err(Miss::Body(e)) => Some(Err(e)),
        Err(Miss::Rekeyed(v)) => Some(Ok(v)),
        Err(Miss::Again) => None,
    }
}
