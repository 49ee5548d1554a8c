//! Finding caches: each cached function owns a [`FnCache`] static, which
//! holds one [`Store`] per value type (a generic function has one per
//! instantiation), and every `FnCache` that has ever stored anything is listed
//! here so that management calls can reach it.

use crate::append::AppendList;
use crate::info::{FnInfo, Kind};
use crate::key::CallKey;
use crate::stats::Stats;
use crate::store::Store;
use parking_lot::Mutex;
use std::any::TypeId;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::OnceLock;

trait AnyStore: Send + Sync {
    fn clear(&self);
    fn forget(&self, key: CallKey) -> bool;
    fn stats(&self) -> Stats;
    fn reset_counters(&self);
}

impl<V: Clone + Send + Sync + 'static> AnyStore for Store<V> {
    fn clear(&self) {
        Store::clear(self)
    }
    fn forget(&self, key: CallKey) -> bool {
        Store::forget(self, key)
    }
    fn stats(&self) -> Stats {
        Store::stats(self)
    }
    fn reset_counters(&self) {
        Store::reset_counters(self)
    }
}

#[derive(Clone, Copy)]
struct Entry {
    type_id: TypeId,
    // The same store twice: typed access on the hit path (a `&'static
    // Store<V>` for the `V` whose id is `type_id`), dynamic for management.
    typed: *const (),
    dynamic: &'static dyn AnyStore,
}

// SAFETY: `typed` points to a leaked `Store<V>`, which is `Sync`.
unsafe impl Send for Entry {}
unsafe impl Sync for Entry {}

impl Entry {
    #[inline(always)]
    fn get<V: 'static>(&self) -> Option<&'static Store<V>> {
        // SAFETY: `typed` was made from a `&'static Store<V>` with this `V`'s id.
        (self.type_id == TypeId::of::<V>()).then(|| unsafe { &*self.typed.cast::<Store<V>>() })
    }
}

/// The per-function static that generated code declares inside the wrapper.
pub struct FnCache {
    info: FnInfo,
    /// Whether the fn sits in a generic impl (`impl<T> Loader<T>`), whose
    /// instantiations share this static and so must key apart: unknown,
    /// no or yes (`SCOPE_*`), found out on the first call.
    generic_scope: AtomicU8,
    /// The first store made, for a one-compare hit path.
    first: OnceLock<Entry>,
    /// Every store made (the first included), walked without a lock.
    all: AppendList<Entry>,
    /// Serialises making stores, so each value type gets exactly one.
    making: Mutex<()>,
}

const SCOPE_UNKNOWN: u8 = 0;
const SCOPE_PLAIN: u8 = 1;
const SCOPE_GENERIC: u8 = 2;

/// Every `FnCache` that has made a store, walked without a lock.
static ALL: AppendList<&'static FnCache> = AppendList::new();

impl FnCache {
    /// Generated code's constructor (a `static` initializer).
    pub const fn new(info: FnInfo) -> Self {
        FnCache {
            info,
            generic_scope: AtomicU8::new(SCOPE_UNKNOWN),
            first: OnceLock::new(),
            all: AppendList::new(),
            making: Mutex::new(()),
        }
    }

    /// The store for values of type `V`, created on first use.
    #[inline]
    pub fn store<V: Clone + Send + Sync + 'static>(&'static self) -> &'static Store<V> {
        match self.made() {
            Some(s) => s,
            None => self.store_slow(),
        }
    }

    /// The store for values of type `V`, if it is made: for a hit path that
    /// leaves making it to a call out of its way.
    #[inline(always)]
    pub(crate) fn made<V: Clone + Send + Sync + 'static>(
        &'static self,
    ) -> Option<&'static Store<V>> {
        self.first.get().and_then(Entry::get)
    }

    #[cold]
    fn store_slow<V: Clone + Send + Sync + 'static>(&'static self) -> &'static Store<V> {
        let _making = self.making.lock();
        if let Some(s) = self.all.iter().find_map(Entry::get) {
            return s;
        }
        let store = Store::<V>::leak_new(&self.info);
        let entry = Entry {
            type_id: TypeId::of::<V>(),
            typed: (store as *const Store<V>).cast(),
            dynamic: store,
        };
        self.all.push(entry);
        if self.first.set(entry).is_ok() {
            ALL.push(self);
        }
        store
    }

    pub(crate) fn info(&'static self) -> &'static FnInfo {
        &self.info
    }

    /// Whether the fn's scope is generic, so its key needs the instantiation.
    /// `F` is a closure declared in the fn.
    #[inline(always)]
    pub(crate) fn in_generic_scope<F>(&self) -> bool {
        match self.generic_scope.load(Relaxed) {
            SCOPE_PLAIN => false,
            SCOPE_GENERIC => true,
            _ => self.find_generic_scope::<F>(),
        }
    }

    #[cold]
    fn find_generic_scope<F>(&self) -> bool {
        let generic = crate::info::is_generic::<F>(self.info.scope());
        let v = if generic { SCOPE_GENERIC } else { SCOPE_PLAIN };
        self.generic_scope.store(v, Relaxed);
        generic
    }

    fn entries(&self) -> impl Iterator<Item = &'static Entry> {
        self.all.iter()
    }

    /// Drops every entry of every instantiation.
    pub fn clear(&self) {
        self.entries().for_each(|e| e.dynamic.clear());
        if (self.info.options)().allow_widgets {
            crate::replay::forget_widget_trees(&self.info);
        }
    }

    /// Drops the entry for `key`, or keeps its computation under way from
    /// being stored; `true` if there was either.
    pub fn forget(&self, key: CallKey) -> bool {
        // Not `any`: every instantiation must forget it.
        self.entries()
            .fold(false, |found, e| e.dynamic.forget(key) | found)
    }

    /// Counters summed over every instantiation.
    pub fn stats(&self) -> Stats {
        let mut s = self
            .entries()
            .fold(Stats::default(), |acc, e| acc.add(e.dynamic.stats()));
        s.disk_hits = crate::persist::disk_hits(self.info.function_key(), false);
        s
    }

    fn reset_counters(&self) {
        self.entries().for_each(|e| e.dynamic.reset_counters());
        crate::persist::disk_hits(self.info.function_key(), true);
    }
}

fn all() -> impl Iterator<Item = &'static FnCache> {
    ALL.iter().copied()
}

/// The caches of the function a companion belongs to: `here` is the type
/// name of an item inside the companion, so its scope is the function's.
pub(crate) fn matching(
    here: fn() -> &'static str,
    name: &'static str,
    source_hash: u128,
) -> impl Iterator<Item = &'static FnCache> {
    let scope = crate::info::scope_of(here());
    all().filter(move |c| {
        c.info.name == name && c.info.source_hash == source_hash && c.info.scope() == scope
    })
}

pub(crate) fn clear_kind(kind: Kind) {
    for c in all().filter(|c| c.info.kind == kind) {
        c.clear();
    }
}

pub(crate) fn stats_kind(kind: Kind) -> Vec<(String, Stats)> {
    let mut out: Vec<(String, Stats)> = Vec::new();
    for c in all().filter(|c| c.info.kind == kind) {
        let path = c.info.path();
        let s = c.stats();
        match out.iter_mut().find(|(p, _)| *p == path) {
            Some((_, acc)) => *acc = acc.add(s),
            None => out.push((path, s)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

pub(crate) fn reset_counters_kind(kind: Kind) {
    for c in all().filter(|c| c.info.kind == kind) {
        c.reset_counters();
    }
}
