//! The store's map lock: a read-write lock whose readers, as a rule, take no
//! lock at all.
//!
//! Every miss reads the map, so the read side is what a miss pays. A
//! `parking_lot` read lock is two atomic read-modify-writes on the one cache
//! line every thread shares. Here a reader instead announces itself in its
//! thread's own lane (a cache line of this latch no other thread writes):
//! one swap there, and a load of `writing`, which only writers change.
//!
//! A writer takes the inner lock's write side, which orders it with other
//! writers and with readers that hold the read lock, raises `writing`, and
//! then waits until every lane is empty. Reader and writer each store their
//! own flag and then load the other's, all `SeqCst` (Dekker's handshake), so
//! at least one of them sees the other: either the reader sees `writing`
//! and backs off to the read lock, which waits for the writer, or the writer
//! sees the reader's lane taken and waits for it to be left.
//!
//! Pins nest: a value's `Clone` may call the function whose value it is. A
//! nested pin only counts up, since its thread already holds the lane and no
//! writer can have got past it. A thread without a lane (more than 32 alive
//! at once, or one being torn down) takes the read lock.

use crate::thread;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{
    AtomicBool, AtomicU32,
    Ordering::{Relaxed, Release, SeqCst},
};

const LANES: usize = 32;

#[repr(align(64))]
#[derive(Default)]
struct Lane {
    /// How many reads this lane's thread has open (nested reads count).
    depth: AtomicU32,
}

pub(crate) struct Latch<T> {
    lock: RwLock<T>,
    /// Set by a writer that holds `lock`'s write side, before it waits for
    /// the lanes to empty.
    writing: AtomicBool,
    lanes: [Lane; LANES],
}

/// Read access: a pinned lane, or the read lock.
pub(crate) struct Read<'a, T> {
    value: &'a T,
    /// Whether this thread already had a read open when this one began.
    nested: bool,
    // Held for their `Drop`, the lane first.
    _pin: Option<Pin<'a>>,
    _lock: Option<RwLockReadGuard<'a, T>>,
}

struct Pin<'a>(&'a Lane);

impl Drop for Pin<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        let depth = &self.0.depth;
        // Release: a writer that sees the lane empty sees every read done.
        depth.store(depth.load(Relaxed) - 1, Release);
    }
}

/// Write access: the write lock, with no reader pinned.
pub(crate) struct Write<'a, T> {
    guard: RwLockWriteGuard<'a, T>,
    writing: &'a AtomicBool,
}

impl<T> Drop for Write<'_, T> {
    fn drop(&mut self) {
        // Before the guard goes: readers may pin again once this is seen, and
        // the release makes everything written visible to them.
        self.writing.store(false, Release);
    }
}

impl<T> Latch<T> {
    /// Writes a new latch at `at`, in place (a latch is over 2 KB of lanes;
    /// see `Store::leak_new`).
    ///
    /// # Safety
    ///
    /// `at` is valid for writes and aligned; what it held is overwritten,
    /// not dropped.
    pub(crate) unsafe fn init(at: *mut Self, value: T) {
        // SAFETY: the caller's promise; each field is written once.
        unsafe {
            (&raw mut (*at).lock).write(RwLock::new(value));
            (&raw mut (*at).writing).write(AtomicBool::new(false));
            let lanes = (&raw mut (*at).lanes).cast::<Lane>();
            for i in 0..LANES {
                lanes.add(i).write(Lane::default());
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn new(value: T) -> Self {
        let mut latch = std::mem::MaybeUninit::uninit();
        // SAFETY: `init` writes every field.
        unsafe {
            Self::init(latch.as_mut_ptr(), value);
            latch.assume_init()
        }
    }

    /// Read access, excluding every writer.
    #[inline(always)]
    pub(crate) fn read(&self) -> Read<'_, T> {
        match self.pin() {
            // SAFETY: a pinned reader excludes writers (see the module docs).
            Some((pin, nested)) => Read {
                value: unsafe { &*self.lock.data_ptr() },
                nested,
                _pin: Some(pin),
                _lock: None,
            },
            None => self.read_locked(),
        }
    }

    /// This thread's lane, pinned, and whether it already was.
    #[inline(always)]
    fn pin(&self) -> Option<(Pin<'_>, bool)> {
        let lane = self.my_lane()?;
        let depth = lane.depth.load(Relaxed);
        if depth != 0 {
            lane.depth.store(depth + 1, Relaxed);
            return Some((Pin(lane), true));
        }
        lane.depth.swap(1, SeqCst);
        if self.writing.load(SeqCst) {
            lane.depth.store(0, Relaxed);
            return None;
        }
        Some((Pin(lane), false))
    }

    #[cold]
    #[inline(never)]
    fn read_locked(&self) -> Read<'_, T> {
        let lock = self.lock.read();
        // The lane is taken too, though no writer can pass the lock, so that
        // `reading_here` knows; only a thread without a lane goes without.
        let pin = self.my_lane().map(|lane| {
            lane.depth.store(lane.depth.load(Relaxed) + 1, Relaxed);
            Pin(lane)
        });
        Read {
            // SAFETY: the read lock is held for as long as the reference.
            value: unsafe { &*self.lock.data_ptr() },
            nested: false,
            _pin: pin,
            _lock: Some(lock),
        }
    }

    /// Whether this thread has a read open: a write now would wait for
    /// itself.
    #[inline]
    pub(crate) fn reading_here(&self) -> bool {
        self.my_lane()
            .is_some_and(|lane| lane.depth.load(Relaxed) != 0)
    }

    /// This thread's lane, unless it has none.
    #[inline(always)]
    fn my_lane(&self) -> Option<&Lane> {
        self.lanes.get(thread::index() as usize)
    }

    /// Write access, once every reader has left. Check
    /// [`reading_here`](Self::reading_here) first.
    pub(crate) fn write(&self) -> Write<'_, T> {
        let write = Write {
            guard: self.lock.write(),
            writing: &self.writing,
        };
        self.writing.store(true, SeqCst);
        for lane in self.lanes_in_use() {
            let mut spins = 0u32;
            while lane.depth.load(SeqCst) != 0 {
                backoff(&mut spins);
            }
        }
        write
    }

    /// Write access if no one reads or writes right now; never waits.
    pub(crate) fn try_write(&self) -> Option<Write<'_, T>> {
        let write = Write {
            guard: self.lock.try_write()?,
            writing: &self.writing,
        };
        self.writing.store(true, SeqCst);
        let busy = self
            .lanes_in_use()
            .iter()
            .any(|lane| lane.depth.load(SeqCst) != 0);
        (!busy).then_some(write)
    }

    /// The lanes a live thread may hold. A thread whose lane is past these
    /// got its index after the writer raised `writing`, so it sees the flag.
    fn lanes_in_use(&self) -> &[Lane] {
        let n = (thread::indexes() as usize).min(LANES);
        &self.lanes[..n]
    }
}

/// Waits a little longer each time: a reader may be cloning a large value.
#[cold]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

impl<T> Read<'_, T> {
    /// Whether this thread had a read open already: it runs inside a read,
    /// in a value's `Clone` or `Drop`, and must not wait for a writer.
    #[inline(always)]
    pub(crate) fn nested(&self) -> bool {
        self.nested
    }
}

impl<T> Deref for Read<'_, T> {
    type Target = T;

    #[inline(always)]
    fn deref(&self) -> &T {
        self.value
    }
}

impl<T> Deref for Write<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for Write<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::{Arc, Barrier};

    /// Writers keep every element of the vector equal; a reader that saw a
    /// writer half way would find two different ones.
    #[test]
    fn readers_never_see_a_write_half_done() {
        let latch = Arc::new(Latch::new(vec![0u64; 64]));
        let stop = Arc::new(AtomicBool::new(false));
        // Readers that have read 1 000 times while the writer wrote.
        let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (latch, stop, busy) =
                    (Arc::clone(&latch), Arc::clone(&stop), Arc::clone(&busy));
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    while !stop.load(Relaxed) {
                        let v = latch.read();
                        let first = v[0];
                        assert!(v.iter().all(|&x| x == first), "a torn read: {:?}", &v[..]);
                        // A nested read on the same thread counts, never waits.
                        let again = latch.read();
                        assert_eq!(again[63], first);
                        reads += 1;
                        if reads == 1_000 {
                            busy.fetch_add(1, Relaxed);
                        }
                    }
                })
            })
            .collect();
        let mut round = 0u64;
        while round < 2_000 || busy.load(Relaxed) < 3 {
            round += 1;
            let mut w = latch.write();
            for x in w.iter_mut() {
                *x = round;
            }
        }
        stop.store(true, Relaxed);
        for r in readers {
            r.join().expect("no reader saw a torn write");
        }
        assert!(latch.read().iter().all(|&x| x == round));
    }

    #[test]
    fn a_writer_waits_for_a_pinned_reader_and_try_write_does_not() {
        let latch = Arc::new(Latch::new(0u32));
        let pinned = Arc::new(Barrier::new(2));
        let done = Arc::new(Barrier::new(2));
        let reader = {
            let (latch, pinned, done) =
                (Arc::clone(&latch), Arc::clone(&pinned), Arc::clone(&done));
            std::thread::spawn(move || {
                let r = latch.read();
                assert!(latch.reading_here());
                pinned.wait();
                done.wait();
                let seen = *r;
                drop(r);
                assert!(!latch.reading_here());
                seen
            })
        };
        pinned.wait();
        assert!(!latch.reading_here(), "the lane is the reader's, not ours");
        assert!(latch.try_write().is_none(), "a reader is pinned");
        let writer = {
            let latch = Arc::clone(&latch);
            std::thread::spawn(move || *latch.write() = 7)
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!writer.is_finished(), "the writer waits for the reader");
        done.wait();
        assert_eq!(reader.join().unwrap(), 0, "the reader saw the old value");
        writer.join().unwrap();
        assert_eq!(*latch.read(), 7);
        assert!(latch.try_write().is_some(), "nobody reads now");
    }

    #[test]
    fn threads_beyond_the_lanes_read_under_the_lock() {
        let latch = Arc::new(Latch::new(vec![1u64; 16]));
        let all = Arc::new(Barrier::new(LANES + 9));
        let readers: Vec<_> = (0..LANES + 8)
            .map(|_| {
                let (latch, all) = (Arc::clone(&latch), Arc::clone(&all));
                std::thread::spawn(move || {
                    // Every thread alive at once, so some have no lane.
                    all.wait();
                    for _ in 0..200 {
                        let v = latch.read();
                        assert!(v.iter().all(|&x| x == v[0]));
                    }
                })
            })
            .collect();
        all.wait();
        for round in 2..200u64 {
            latch.write().iter_mut().for_each(|x| *x = round);
        }
        for r in readers {
            r.join().unwrap();
        }
    }
}
