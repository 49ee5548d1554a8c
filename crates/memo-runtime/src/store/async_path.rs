//! The same store, awaited: waiting for another caller's computation leaves a
//! waker instead of blocking the thread, and no lock is held across an
//! `.await` (every lock is taken and released inside one synchronous step).

use super::{Abandon, Next, Store};
use crate::key::CallKey;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::time::Duration;

impl<V: Clone + Send + Sync + 'static> Store<V> {
    /// [`get_or_try_expiring`](Self::get_or_try_expiring) for an async
    /// computation, after [`hit_now`](Self::hit_now) found nothing. Dropping
    /// the returned future while it computes caches nothing and lets a
    /// waiting caller take over.
    pub async fn get_or_try_async<X>(
        &'static self,
        call: CallKey,
        compute: impl Future<Output = Result<(V, Option<Duration>), X>>,
    ) -> Result<V, X> {
        let hash = super::hash_key(self.seed, call);
        let claim = loop {
            match self.step(call, hash) {
                Next::Value(v) => return Ok(v),
                Next::Wait(flight) => {
                    // Inside a session, the fn's spinner while it waits.
                    let shown = crate::replay::waiting(self.info);
                    flight.landed().await;
                    drop(shown);
                    if let Some(v) = self.waited(&flight) {
                        return Ok(v);
                    }
                }
                Next::Compute(c) => break c,
                Next::Write => unreachable!("`step` settles what needs the write lock"),
            }
        };
        // Dropped without being disarmed if the future is dropped (cancelled),
        // the body panics, or the copy of its value for the cache does: the
        // slot goes and waiters look again.
        let guard = Abandon {
            store: self,
            pos: claim.pos,
            gen: claim.gen,
        };
        let mut compute = pin!(compute);
        // A task may move between threads, so only while its body is polled
        // is a thread inside it: a call on that thread that finds this key
        // pending then is the body waiting for itself.
        let me = self.addr();
        let out =
            poll_fn(|cx| crate::thread::inside(me, claim.pos, || compute.as_mut().poll(cx))).await;
        self.settle(guard, claim, out)
    }
}
