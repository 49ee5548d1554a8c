//! Shared helpers for the workspace's integration tests, examples and
//! benchmarks. Not published.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts how many times a cached body really ran.
///
/// ```
/// static RUNS: memo_suite::Runs = memo_suite::Runs::new();
/// RUNS.hit();
/// assert_eq!(RUNS.get(), 1);
/// ```
pub struct Runs(AtomicUsize);

impl Runs {
    /// Zero runs.
    ///
    /// ```
    /// assert_eq!(memo_suite::Runs::new().get(), 0);
    /// ```
    pub const fn new() -> Self {
        Runs(AtomicUsize::new(0))
    }

    /// Records one run.
    ///
    /// ```
    /// let r = memo_suite::Runs::new();
    /// r.hit();
    /// assert_eq!(r.get(), 1);
    /// ```
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs so far.
    ///
    /// ```
    /// assert_eq!(memo_suite::Runs::new().get(), 0);
    /// ```
    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Default for Runs {
    fn default() -> Self {
        Self::new()
    }
}
