//! What generated code calls for an `async fn`: the sync calls' twins, whose
//! futures are `Send` whenever the body's future is.
//!
//! Each call looks for a hit before it makes any future of its own: an async
//! hit's cost is mostly the bytes of future state it moves, so a hit moves
//! only the value, and a miss moves one box.

use crate::private::{
    never, CallKeyInput, MemoValue, PersistValue, PlainMode, Probe, ResultMode, SingletonValue,
};
use crate::registry::FnCache;
use crate::replay::{self, Recorded};
use crate::CallKey;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Makes a [`Probe`] for a body future: the same dispatch on its output as
/// for a sync body.
#[inline]
pub fn probe_async<F: Future>(_: &F) -> Probe<F::Output> {
    Probe(PhantomData)
}

/// An async call: ready with a hit, found before any future was made, or
/// the boxed rest of the call (waiting or computing). An eager async fn
/// (see `memo-macros`' `eager`) returns it as its future; any other async
/// fn awaits it.
pub enum AsyncCall<V, S> {
    /// A hit, taken by the first poll.
    Hit(Option<V>),
    /// A miss.
    Miss(Pin<Box<S>>),
}

// Neither variant is pinned in place: the value is moved out, the rest is
// boxed already.
impl<V, S> Unpin for AsyncCall<V, S> {}

impl<V, S: Future<Output = V>> Future for AsyncCall<V, S> {
    type Output = V;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<V> {
        match self.get_mut() {
            AsyncCall::Hit(v) => Poll::Ready(v.take().expect("polled after it completed")),
            AsyncCall::Miss(rest) => rest.as_mut().poll(cx),
        }
    }
}

/// Names every lifetime an eager async fn's future holds, in its
/// `impl Future + Captures<..>` return type (edition 2021 captures only the
/// lifetimes its bounds name).
pub trait Captures<T: ?Sized> {}
impl<T: ?Sized, U: ?Sized> Captures<T> for U {}

/// A hit as `out`, or `rest` boxed.
#[inline(always)]
fn call<V, S: Future<Output = V>>(hit: Option<V>, rest: impl FnOnce() -> S) -> AsyncCall<V, S> {
    match hit {
        Some(v) => AsyncCall::Hit(Some(v)),
        None => AsyncCall::Miss(boxed(rest)),
    }
}

/// Out of line: inlined, the miss path would swell the poll function of
/// every caller, and with it the cost of each hit.
#[cold]
#[inline(never)]
fn boxed<S>(rest: impl FnOnce() -> S) -> Pin<Box<S>> {
    Box::pin(rest())
}

/// The rest of an async call after a memory miss: compute (recording what
/// the body draws, inside a session) or wait, and hand out the value.
async fn rest<V, E>(
    cache: &'static FnCache,
    key: CallKey,
    widgets: bool,
    body: impl Future<Output = Result<V, E>>,
) -> Result<V, E>
where
    V: Clone + Send + Sync + 'static,
{
    if widgets {
        replay::call_widgets_async(cache, key, body).await
    } else {
        replay::call_async(cache, key, body).await
    }
}

/// A memory hit, drawn again inside a session. (Inside a session, an
/// `allow_widgets` fn's key depends on widget values: `rest` finds it.)
#[inline(always)]
fn hit<V: Clone + Send + Sync + 'static>(
    cache: &'static FnCache,
    key: CallKey,
    widgets: bool,
) -> Option<V> {
    if widgets && crate::ui::context::active() {
        return None;
    }
    let store = cache.store::<Recorded<V>>();
    store
        .hit_now(key)
        .or_else(|| store.peek(key))
        .map(replay::take)
}

/// [`hit`] for a singleton's instance, whose clone is an `Arc`'s.
#[inline(always)]
fn hit_shared<T: SingletonValue + ?Sized>(
    cache: &'static FnCache,
    key: CallKey,
    widgets: bool,
) -> Option<Arc<T>> {
    if widgets && crate::ui::context::active() {
        return None;
    }
    let store = cache.store::<Recorded<Arc<T>>>();
    store
        .hit_now_plain(key)
        .or_else(|| store.peek(key))
        .map(replay::take)
}

/// The arguments' key, and whether widget values join it.
#[inline(always)]
fn split<K: CallKeyInput>(key: K) -> (CallKey, bool) {
    (key.call_key(), K::WIDGETS)
}

impl<T, E> ResultMode<T, E> {
    /// Runs a `#[memo] async fn` whose body returns a `Result`.
    #[inline(always)]
    pub fn memo_async(
        self,
        cache: &'static FnCache,
        key: impl CallKeyInput,
        body: impl Future<Output = Result<T, E>>,
    ) -> AsyncCall<Result<T, E>, impl Future<Output = Result<T, E>>>
    where
        T: MemoValue,
    {
        let (key, widgets) = split(key);
        call(hit(cache, key, widgets).map(Ok), move || {
            rest(cache, key, widgets, body)
        })
    }

    /// A `#[memo(persist = "disk")] async fn` whose body returns a `Result`.
    #[inline(always)]
    pub fn memo_persist_async(
        self,
        cache: &'static FnCache,
        key: impl Into<CallKey>,
        body: impl Future<Output = Result<T, E>>,
    ) -> AsyncCall<Result<T, E>, impl Future<Output = Result<T, E>>>
    where
        T: MemoValue + PersistValue,
    {
        let key = key.into();
        call(hit(cache, key, false).map(Ok), move || {
            crate::persist::call_async(cache, key, body)
        })
    }
}

impl<R> PlainMode<R> {
    /// Runs a `#[memo] async fn`.
    #[inline(always)]
    pub fn memo_async(
        self,
        cache: &'static FnCache,
        key: impl CallKeyInput,
        body: impl Future<Output = R>,
    ) -> AsyncCall<R, impl Future<Output = R>>
    where
        R: MemoValue,
    {
        let (key, widgets) = split(key);
        call(hit(cache, key, widgets), move || async move {
            never(rest(cache, key, widgets, async move { Ok(body.await) }).await)
        })
    }

    /// A `#[memo(persist = "disk")] async fn`.
    #[inline(always)]
    pub fn memo_persist_async(
        self,
        cache: &'static FnCache,
        key: impl Into<CallKey>,
        body: impl Future<Output = R>,
    ) -> AsyncCall<R, impl Future<Output = R>>
    where
        R: MemoValue + PersistValue,
    {
        let key = key.into();
        call(hit(cache, key, false), move || async move {
            let body = async move { Ok(body.await) };
            never(crate::persist::call_async(cache, key, body).await)
        })
    }
}

/// Runs a `#[singleton] async fn`.
#[inline(always)]
pub fn singleton_async<T: SingletonValue>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl Future<Output = T>,
) -> AsyncCall<Arc<T>, impl Future<Output = Arc<T>>> {
    singleton_arc_async(cache, key, async move { Arc::new(body.await) })
}

/// A `#[singleton] async fn` whose body already returns an `Arc`.
#[inline(always)]
pub fn singleton_arc_async<T: SingletonValue + ?Sized>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl Future<Output = Arc<T>>,
) -> AsyncCall<Arc<T>, impl Future<Output = Arc<T>>> {
    let (key, widgets) = split(key);
    call(hit_shared(cache, key, widgets), move || async move {
        never(rest(cache, key, widgets, async move { Ok(body.await) }).await)
    })
}

/// A `#[singleton] async fn` returning `Result<T, E>`.
#[inline(always)]
pub fn singleton_result_async<T: SingletonValue, E>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl Future<Output = Result<T, E>>,
) -> AsyncCall<Result<Arc<T>, E>, impl Future<Output = Result<Arc<T>, E>>> {
    singleton_arc_result_async(cache, key, async move { body.await.map(Arc::new) })
}

/// A `#[singleton] async fn` returning `Result<Arc<T>, E>`.
#[inline(always)]
pub fn singleton_arc_result_async<T: SingletonValue + ?Sized, E>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl Future<Output = Result<Arc<T>, E>>,
) -> AsyncCall<Result<Arc<T>, E>, impl Future<Output = Result<Arc<T>, E>>> {
    let (key, widgets) = split(key);
    call(hit_shared(cache, key, widgets).map(Ok), move || {
        rest(cache, key, widgets, body)
    })
}

// ---- a sync fn returning a future -------------------------------------------

/// What a sync body returns, as far as caching it goes.
pub struct Future_;
/// Anything else.
pub struct Value;

// Dispatch by method call, under a name no user trait will have (see
// `ViaPlain`).

/// Found for a sync body whose value is a future.
pub trait ReturnsFuture {
    /// [`Future_`].
    fn __memo_returns(&self) -> Future_;
}

/// Found (through autoref) for every other sync body.
pub trait ReturnsValue {
    /// [`Value`].
    fn __memo_returns(&self) -> Value;
}

impl<F: Future> ReturnsFuture for Probe<F> {
    #[inline(always)]
    fn __memo_returns(&self) -> Future_ {
        Future_
    }
}

impl<R> ReturnsValue for &Probe<R> {
    #[inline(always)]
    fn __memo_returns(&self) -> Value {
        Value
    }
}

/// Caching a sync fn's value would cache the future, not what it produces:
/// that fails to compile, on the return type.
#[inline(always)]
pub fn not_a_future<K: NotAFuture>(_: K) {}

/// Implemented for [`Value`] only.
#[diagnostic::on_unimplemented(
    message = "a sync #[memo] or #[singleton] fn can't return a future: the cache would keep the future, not its output",
    label = "this fn returns a future",
    note = "make it an `async fn` (an `async fn` is cached by its output, with single-flight across tasks), and `.await` inside it"
)]
pub trait NotAFuture {}
impl NotAFuture for Value {}
