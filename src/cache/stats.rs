//! L1's counters.
//!
//! Hits and misses are counted on every read from every worker thread, so
//! they are striped: each thread adds to its own cache line and a reader of
//! the stats sums the stripes. A single shared `AtomicU64` would make every
//! `get` on every core fight over one cache line. The rarer events (fills,
//! invalidations, evictions) use plain atomics.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Stripes per counter: a power of two comfortably above the worker count
/// of one proxy; threads beyond it share stripes, which is still correct.
const STRIPES: usize = 32;

/// One stripe on its own cache line (128 bytes covers adjacent-line
/// prefetching on x86 and the 128-byte lines of some ARM cores).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe(AtomicU64);

/// A counter that many threads add to and few read.
#[derive(Debug)]
pub(crate) struct Striped {
    stripes: [Stripe; STRIPES],
}

impl Default for Striped {
    fn default() -> Self {
        Striped {
            stripes: std::array::from_fn(|_| Stripe::default()),
        }
    }
}

impl Striped {
    /// Add `n` to this thread's stripe; returns that stripe's new value.
    pub(crate) fn add(&self, n: u64) -> u64 {
        match self.stripes.get(stripe()) {
            Some(s) => s.0.fetch_add(n, Relaxed).wrapping_add(n),
            None => 0,
        }
    }

    /// The total over all stripes.
    pub(crate) fn sum(&self) -> u64 {
        self.stripes.iter().map(|s| s.0.load(Relaxed)).sum()
    }
}

/// This thread's stripe: threads are numbered round-robin on first use.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Relaxed) % STRIPES;
    }
    // During thread teardown the slot may be gone: any stripe will do.
    STRIPE.try_with(|s| *s).unwrap_or(0)
}

/// Everything L1 counts, shared with the eviction hook.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: Striped,
    pub(crate) misses: Striped,
    /// Replies stored now (kept exact: added before a node goes in,
    /// subtracted wherever one leaves).
    pub(crate) entries: AtomicU64,
    pub(crate) admissions: AtomicU64,
    pub(crate) rejections: AtomicU64,
    pub(crate) stale_fills: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) invalidations: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) expired: AtomicU64,
}

/// Add one to a plain counter.
pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn striped_sums_across_threads() {
        let c = Arc::new(Striped::default());
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.add(1);
                    }
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().is_ok());
        }
        assert_eq!(c.sum(), 8000);
    }
}
