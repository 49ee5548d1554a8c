//! What generated code calls. Not a public API: names and signatures here
//! change whenever the macros change, which is why `memo-macros` is pinned to
//! this crate's exact version.

pub use crate::async_calls::*;
pub use crate::info::{FnInfo, Kind, Options, Spinner};
pub use crate::key::{Address, CallKey, KeyHasher, StableHash};
pub use crate::persist::PersistValue;
use crate::registry;
pub use crate::registry::FnCache;
use crate::stats::Stats;
use std::convert::Infallible;
use std::marker::PhantomData;
use std::sync::Arc;

// ---- hashing ----------------------------------------------------------------

/// A generic parameter's type is part of the key: `f::<u8>(1)` and
/// `f::<u64>(1)` are different calls.
#[inline]
pub fn hash_type<T: ?Sized>(h: &mut KeyHasher) {
    write_type::<T>(h, std::any::type_name::<T>());
}

/// A type's name keys it across processes and builds, but a name is not an
/// identity: every closure of `main` is `app::main::{{closure}}`. Such
/// names, the only ones with braces, get the type's identity in this build
/// as well, so `f(|| 1)` and `f(|| 2)` are different calls.
#[inline]
fn write_type<T: ?Sized>(h: &mut KeyHasher, name: &str) {
    h.write_str(name);
    if name.as_bytes().contains(&b'{') {
        write_type_id::<T>(h);
    }
}

#[cold]
fn write_type_id<T: ?Sized>(h: &mut KeyHasher) {
    struct Feed<'a>(&'a mut KeyHasher);
    impl std::hash::Hasher for Feed<'_> {
        fn write(&mut self, bytes: &[u8]) {
            self.0.write_bytes(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    std::hash::Hash::hash(&typeid::of::<T>(), &mut Feed(h));
}

/// A fn in a generic impl (`impl<T> Loader<T> { fn weights() }`) keys on
/// the impl's instantiation: all of them share one static. `F` is a closure
/// declared in the fn, whose type name carries it. The key goes in and out
/// by value, so the hasher stays in registers; other fns pay one load of a
/// byte and a branch.
#[inline(always)]
pub fn scoped<F>(cache: &'static FnCache, key: CallKey, _: F) -> CallKey {
    if cache.in_generic_scope::<F>() {
        return with_instantiation::<F>(key);
    }
    key
}

/// [`scoped`] for a companion (`f_forget`), which has no cache at hand:
/// `here` is an item declared in the companion, `F` a closure.
pub fn scoped_of<F>(here: fn() -> &'static str, key: CallKey, _: F) -> CallKey {
    if crate::info::is_generic::<F>(crate::info::scope_of(here())) {
        return with_instantiation::<F>(key);
    }
    key
}

#[cold]
fn with_instantiation<F>(key: CallKey) -> CallKey {
    let mut h = KeyHasher::new();
    h.write_bytes(&key.digest().to_le_bytes());
    // `F` is declared in the fn, so its identity is the instantiation's.
    write_type::<F>(&mut h, crate::info::scope_of(std::any::type_name::<F>()));
    h.call_key()
}

/// The same for an `impl Trait` parameter, whose type has no name to write.
#[inline]
pub fn hash_type_of_val<T: ?Sized>(h: &mut KeyHasher, _: &T) {
    write_type::<T>(h, std::any::type_name::<T>());
}

/// The `ptr` override: keys by which object, not by its contents. An
/// object is where it starts and, behind a fat pointer (a slice, a `str`, a
/// `dyn Trait`), its size: `&v[..2]` and `&v[..4]` start at one address. A
/// thin pointer's pointee has its type's size, which the signature fixes,
/// so it writes the address alone, as before (the branch is decided at
/// compile time).
#[inline]
pub fn hash_address<T: Address + ?Sized>(h: &mut KeyHasher, name: &str, value: &T) {
    h.write_str(name);
    let address = value.address() as u64;
    if std::mem::size_of_val(value) > std::mem::size_of::<usize>() {
        let object = u128::from(address) | (value.size() as u128) << 64;
        h.write_bytes(&object.to_le_bytes());
    } else {
        h.write_bytes(&address.to_le_bytes());
    }
}

/// The function override: keys by what `by` makes of the value.
#[inline]
pub fn hash_by<T, K: StableHash>(h: &mut KeyHasher, name: &str, value: T, by: impl FnOnce(T) -> K) {
    h.param(name, &by(value));
}

// ---- calling ----------------------------------------------------------------

/// A call's key as generated code passes it: a plain key, or one of an
/// `allow_widgets` fn, whose widgets' values join the key inside a session.
pub trait CallKeyInput {
    /// Whether this is an `allow_widgets` call (decided at compile time, so
    /// other fns' hits pay nothing for the feature).
    const WIDGETS: bool;
    /// The arguments' key.
    fn call_key(self) -> CallKey;
}

impl CallKeyInput for CallKey {
    const WIDGETS: bool = false;
    #[inline(always)]
    fn call_key(self) -> CallKey {
        self
    }
}

impl CallKeyInput for u128 {
    const WIDGETS: bool = false;
    #[inline(always)]
    fn call_key(self) -> CallKey {
        CallKey::from(self)
    }
}

/// The key of an `allow_widgets = true` fn.
pub struct WithWidgets(pub CallKey);

impl CallKeyInput for WithWidgets {
    const WIDGETS: bool = true;
    #[inline(always)]
    fn call_key(self) -> CallKey {
        self.0
    }
}

/// Every cached call: the store holds the value with what the body drew, so
/// a hit inside an app session draws it again.
#[inline(always)]
fn cached<K: CallKeyInput, V: Clone + Send + Sync + 'static, E>(
    cache: &'static FnCache,
    key: K,
    body: impl FnOnce() -> Result<V, E>,
) -> Result<V, E> {
    if K::WIDGETS {
        crate::replay::call_widgets(cache, key.call_key(), body)
    } else {
        crate::replay::call(cache, key.call_key(), body)
    }
}

/// [`cached`] for a singleton's instance.
#[inline(always)]
fn cached_shared<K: CallKeyInput, T: SingletonValue + ?Sized, E>(
    cache: &'static FnCache,
    key: K,
    body: impl FnOnce() -> Result<Arc<T>, E>,
) -> Result<Arc<T>, E> {
    if K::WIDGETS {
        crate::replay::call_widgets(cache, key.call_key(), body)
    } else {
        crate::replay::call_shared(cache, key.call_key(), body)
    }
}

/// The value of a call whose body can't fail.
#[inline(always)]
pub(crate) fn never<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// Chooses, by the body's return type, how a `#[memo]` call caches: an
/// `Ok` only for a `Result` (whatever its alias), the value otherwise.
pub struct Probe<R>(pub(crate) PhantomData<R>);

/// Makes a [`Probe`] for a body closure.
#[inline]
pub fn probe<R, F: FnOnce() -> R>(_: &F) -> Probe<R> {
    Probe(PhantomData)
}

// The dispatch below is by method call, so its method has a name no user
// trait will have: a trait in scope with a `mode` method for every type
// would make the call ambiguous.

/// Picked for `Result` bodies: method resolution finds this impl before the
/// autoref'd [`ViaPlain`] one.
pub trait ViaResult {
    /// The mode.
    type Mode;
    /// The mode.
    fn __memo_mode(&self) -> Self::Mode;
}

/// Picked for every other body.
pub trait ViaPlain {
    /// The mode.
    type Mode;
    /// The mode.
    fn __memo_mode(&self) -> Self::Mode;
}

impl<T, E> ViaResult for Probe<Result<T, E>> {
    type Mode = ResultMode<T, E>;
    #[inline]
    fn __memo_mode(&self) -> ResultMode<T, E> {
        ResultMode(PhantomData)
    }
}

impl<R> ViaPlain for &Probe<R> {
    type Mode = PlainMode<R>;
    #[inline]
    fn __memo_mode(&self) -> PlainMode<R> {
        PlainMode(PhantomData)
    }
}

/// Names an async body's output type: `if false { return async_output::<T>(); }`
/// ahead of the body fixes the async block's type, as a fn's declared one
/// would, before the body is checked. Never called.
#[inline(always)]
pub fn async_output<T>() -> T {
    unreachable!("never called: its branch is `if false`")
}

/// Caches `Ok` values only.
pub struct ResultMode<T, E>(PhantomData<(T, E)>);
/// Caches the value.
pub struct PlainMode<R>(PhantomData<R>);

/// What a `#[memo]` fn may return: each caller gets a clone, and the cache is
/// shared by all threads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be returned from a #[memo] fn: it must be `Clone + Send + Sync + 'static`",
    label = "each caller gets a clone of the cached value, and the cache is shared by every thread",
    note = "a #[memo] value is cloned for every caller and shared by all threads; for a resource that must not be copied (a pool, a client), use #[singleton], which hands out one shared `Arc` and needs no `Clone`"
)]
pub trait MemoValue: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> MemoValue for T {}

/// What a `#[singleton]` fn may return: one instance that every thread uses
/// at once, so it must be `Send + Sync`. It need not be `Clone`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` can't be shared between threads, so a #[singleton] can't return it",
    label = "every caller, on every thread, gets this same instance: it must be `Send + Sync`",
    note = "wrap the part that isn't thread-safe in a `Mutex` (or use its thread-safe counterpart: `Arc` for `Rc`, atomics or `Mutex` for `Cell`/`RefCell`)"
)]
pub trait SingletonValue: Send + Sync + 'static {}
impl<T: Send + Sync + 'static + ?Sized> SingletonValue for T {}

impl<T, E> ResultMode<T, E> {
    /// Runs a `#[memo]` call whose body returns a `Result`.
    #[inline]
    pub fn memo(
        self,
        cache: &'static FnCache,
        key: impl CallKeyInput,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: MemoValue,
    {
        cached(cache, key, body)
    }
}

impl<T, E> ResultMode<T, E> {
    /// A `#[memo(persist = "disk")]` call whose body returns a `Result`: only
    /// `Ok` values are written.
    #[inline]
    pub fn memo_persist(
        self,
        cache: &'static FnCache,
        key: impl Into<CallKey>,
        body: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: MemoValue + PersistValue,
    {
        crate::persist::call(cache, key.into(), body)
    }
}

impl<R> PlainMode<R> {
    /// A `#[memo(persist = "disk")]` call.
    #[inline]
    pub fn memo_persist(
        self,
        cache: &'static FnCache,
        key: impl Into<CallKey>,
        body: impl FnOnce() -> R,
    ) -> R
    where
        R: MemoValue + PersistValue,
    {
        never(crate::persist::call(cache, key.into(), || Ok(body())))
    }
}

impl<R> PlainMode<R> {
    /// Runs a `#[memo]` call.
    #[inline]
    pub fn memo(
        self,
        cache: &'static FnCache,
        key: impl CallKeyInput,
        body: impl FnOnce() -> R,
    ) -> R
    where
        R: MemoValue,
    {
        never(cached(cache, key, || Ok(body())))
    }
}

/// Runs a `#[singleton]` call: the instance is created once per key and shared.
#[inline]
pub fn singleton<T: SingletonValue>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl FnOnce() -> T,
) -> Arc<T> {
    singleton_arc(cache, key, || Arc::new(body()))
}

/// A `#[singleton]` whose body already returns an `Arc`.
#[inline]
pub fn singleton_arc<T: SingletonValue + ?Sized>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl FnOnce() -> Arc<T>,
) -> Arc<T> {
    never(cached_shared(cache, key, || Ok(body())))
}

/// A `#[singleton]` returning `Result<T, E>`: only `Ok` instances are kept.
#[inline]
pub fn singleton_result<T: SingletonValue, E>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    singleton_arc_result(cache, key, || body().map(Arc::new))
}

/// A `#[singleton]` returning `Result<Arc<T>, E>`.
#[inline]
pub fn singleton_arc_result<T: SingletonValue + ?Sized, E>(
    cache: &'static FnCache,
    key: impl CallKeyInput,
    body: impl FnOnce() -> Result<Arc<T>, E>,
) -> Result<Arc<T>, E> {
    cached_shared(cache, key, body)
}

// ---- companions -------------------------------------------------------------

// Each companion passes `here`, the type name of an item declared inside
// it, from which the runtime finds the scope (module, type or outer fn) of
// the function it belongs to; see `FnInfo::here`.

/// `f_clear()`.
pub fn clear(here: fn() -> &'static str, name: &'static str, source_hash: u128) {
    for c in registry::matching(here, name, source_hash) {
        c.clear();
    }
}

/// `f_forget(args)`.
pub fn forget(
    here: fn() -> &'static str,
    name: &'static str,
    source_hash: u128,
    key: CallKey,
) -> bool {
    let mut found = false;
    for c in registry::matching(here, name, source_hash) {
        found |= c.forget(key);
        found |= crate::replay::forget_widget_results(c, key.digest());
    }
    found
}

/// `f_stats()`.
pub fn stats(here: fn() -> &'static str, name: &'static str, source_hash: u128) -> Stats {
    registry::matching(here, name, source_hash).fold(Stats::default(), |acc, c| acc.add(c.stats()))
}

// ---- companions of persisted fns --------------------------------------------

/// `f_clear()` of a `persist = "disk"` fn: memory and disk.
pub fn persist_clear(here: fn() -> &'static str, name: &'static str, source_hash: u128) {
    clear(here, name, source_hash);
    crate::persist::clear_fn(crate::info::scope_of(here()), name);
}

/// `f_forget(args)` of a `persist = "disk"` fn.
pub fn persist_forget(
    here: fn() -> &'static str,
    name: &'static str,
    source_hash: u128,
    key: CallKey,
) -> bool {
    let in_memory = forget(here, name, source_hash, key);
    let info = FnInfo::new(here, name, Kind::Memo, source_hash, Options::new);
    crate::persist::forget(&info, key.digest()) | in_memory
}
