//! How often each key was read lately: a count-min sketch (TinyLFU's
//! frequency filter), consulted to admit only keys read often enough.
//!
//! Four rows of 4-bit counters that saturate at 15. A key's estimate is the
//! minimum of its four counters, which over-counts only when all four
//! collide. Every `width * 10` recorded reads, every counter is halved, so
//! the sketch tracks recent popularity rather than all-time totals.
//!
//! Layout (as Caffeine's): counters are packed 16 to an `AtomicU64` and a
//! key's four counters sit in one 64-byte block of eight words (one word
//! pair per row), so recording a read touches a single cache line, and
//! halving works on 16 counters per word.
//!
//! Concurrency is deliberately loose. An increment is a relaxed load and
//! store of the word, not a compare-and-swap: two threads bumping the same
//! word at once may lose one increment, and an increment racing a halving
//! may undo it for that word. Both only blur an estimate a little, and in
//! exchange a read of a key whose counters are saturated — every hot key —
//! writes nothing shared at all.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use super::stats::Striped;

const ROWS: usize = 4;
/// Counters saturate here.
const MAX: u64 = 15;
/// Words per block: one 64-byte cache line.
const BLOCK_WORDS: usize = 8;
const MIN_WIDTH: u64 = 1024;
const MAX_WIDTH: u64 = 1 << 22;
/// Bytes of budget per counter in a row (sizing heuristic: about one
/// counter per smallest cacheable node).
const BYTES_PER_COUNTER: u64 = 256;
/// Each thread publishes its additions to the shared total in batches, so
/// the total is not a cache line every read fights over.
const BATCH: u64 = 64;

/// The frequency sketch.
#[derive(Debug)]
pub(crate) struct Sketch {
    words: Box<[AtomicU64]>,
    block_mask: u64,
    /// Increments since the last halving, published per `BATCH`.
    additions: AtomicU64,
    local: Striped,
    reset_at: u64,
    resetting: AtomicBool,
}

impl Sketch {
    /// A sketch sized for a cache of `budget_bytes`: counters per row =
    /// next power of two ≥ max(1024, budget / 256), at most 2^22 (8 MiB).
    pub(crate) fn new(budget_bytes: u64) -> Self {
        let width = (budget_bytes / BYTES_PER_COUNTER)
            .clamp(MIN_WIDTH, MAX_WIDTH)
            .next_power_of_two();
        let words = width as usize * ROWS / 16;
        Sketch {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            block_mask: (words / BLOCK_WORDS) as u64 - 1,
            additions: AtomicU64::new(0),
            local: Striped::default(),
            reset_at: width * 10,
            resetting: AtomicBool::new(false),
        }
    }

    /// Word index and bit shift of each row's counter for `hash`. The block
    /// comes from the low bits, the counters within it from bits 16..48
    /// (the version table uses the top 16).
    fn counters(&self, hash: u64) -> [(usize, u32); ROWS] {
        let base = (hash & self.block_mask) as usize * BLOCK_WORDS;
        std::array::from_fn(|row| {
            let bits = (hash >> (16 + 8 * row)) as usize;
            let word = base + row * 2 + (bits & 1);
            let nibble = (bits >> 1) & 15;
            (word, nibble as u32 * 4)
        })
    }

    /// Count one read of the key with this hash.
    pub(crate) fn record(&self, hash: u64) {
        let mut added = false;
        for (i, shift) in self.counters(hash) {
            let Some(word) = self.words.get(i) else {
                continue;
            };
            let w = word.load(Relaxed);
            if (w >> shift) & MAX < MAX {
                word.store(w + (1 << shift), Relaxed);
                added = true;
            }
        }
        if added {
            self.note_addition();
        }
    }

    /// How many times the key with this hash was read lately (0..=15).
    pub(crate) fn estimate(&self, hash: u64) -> u32 {
        self.counters(hash)
            .iter()
            .map(|&(i, shift)| {
                self.words
                    .get(i)
                    .map_or(0, |w| (w.load(Relaxed) >> shift) & MAX)
            })
            .min()
            .unwrap_or(0) as u32
    }

    fn note_addition(&self) {
        if !self.local.add(1).is_multiple_of(BATCH) {
            return;
        }
        let total = self.additions.fetch_add(BATCH, Relaxed) + BATCH;
        if total >= self.reset_at {
            self.halve();
        }
    }

    /// Halve every counter (the aging step). O(words); one thread at a
    /// time, readers never wait for it.
    fn halve(&self) {
        if self.resetting.swap(true, Relaxed) {
            return;
        }
        for word in self.words.iter() {
            let w = word.load(Relaxed);
            word.store((w >> 1) & 0x7777_7777_7777_7777, Relaxed);
        }
        let _ = self
            .additions
            .fetch_update(Relaxed, Relaxed, |a| Some(a / 2));
        self.resetting.store(false, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spread of hashes, as a real hasher would give.
    fn hash(i: u64) -> u64 {
        (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ i
    }

    #[test]
    fn counts_and_saturates() {
        let s = Sketch::new(0);
        assert_eq!(s.estimate(hash(1)), 0);
        for n in 1..=3 {
            s.record(hash(1));
            assert_eq!(s.estimate(hash(1)), n);
        }
        for _ in 0..100 {
            s.record(hash(1));
        }
        assert_eq!(s.estimate(hash(1)), 15);
        assert_eq!(s.estimate(hash(2)), 0);
    }

    #[test]
    fn sizing_follows_budget() {
        assert_eq!(Sketch::new(0).words.len(), 1024 * ROWS / 16);
        assert_eq!(Sketch::new(1 << 20).words.len(), 4096 * ROWS / 16);
        assert_eq!(Sketch::new(u64::MAX).words.len(), (1 << 22) * ROWS / 16);
    }

    #[test]
    fn few_false_counts_among_many_keys() {
        let s = Sketch::new(0);
        for i in 0..500 {
            s.record(hash(i));
        }
        let inflated = (0..500).filter(|&i| s.estimate(hash(i)) > 1).count();
        assert!(inflated < 25, "{inflated} of 500 keys over-counted");
    }

    #[test]
    fn halving_halves() {
        let s = Sketch::new(0);
        for _ in 0..15 {
            s.record(hash(7));
        }
        for _ in 0..3 {
            s.record(hash(8));
        }
        s.halve();
        assert_eq!(s.estimate(hash(7)), 7);
        assert_eq!(s.estimate(hash(8)), 1);
    }

    #[test]
    fn ages_after_width_times_ten_additions() {
        let s = Sketch::new(0);
        assert_eq!(s.reset_at, 10_240);
        // Without aging, 30 000 distinct reads would leave at least
        // 10 240 additions pending: 4 096 counters hold 61 440 increments
        // and each addition makes at most four.
        for i in 0..30_000 {
            s.record(hash(i));
        }
        let pending = s.additions.load(Relaxed);
        assert!(
            pending < s.reset_at,
            "{pending} additions pending: never halved"
        );
    }
}
