//! L1: the in-process store of Redis replies, kept coherent by invalidation.
//!
//! L1 stores opaque reply bytes under a Redis key and a *variant* (which
//! read of the key produced them) and drops them by key. It knows nothing
//! of RESP, commands or sockets: the command layer decides what is
//! cacheable, builds variants, and calls [`L1::invalidate`] for writes and
//! tracking pushes.
//!
//! - **Storage**: one node per key in a [`quick_cache`] cache (sharded,
//!   S3-FIFO-like eviction, weighted by bytes), holding up to 16 variants.
//!   Invalidating a key drops every reply that read it in one removal.
//! - **Coherence**: a read takes a [`Ticket`] before it goes upstream; a
//!   fill under a ticket that an invalidation has since made stale is
//!   refused; check and insert share a lock with invalidation, so no stale
//!   fill is ever visible (see `versions.rs`).
//! - **Admission**: a count-min sketch of recent reads admits a fill only
//!   once its key was read `admit_min_reads` times (see `sketch.rs`); a
//!   size cap and allow/deny globs keep the rest out.
//! - **Budget**: every node weighs its bytes plus estimated overheads, and
//!   the cache's weight never exceeds the budget.
//!
//! [`L1::get`] is the hot path: no allocation, one shard read lock, one
//! cache line of the sketch, and a `Bytes` clone on a hit.

mod node;
mod pattern;
mod sketch;
mod stats;
mod versions;

#[cfg(test)]
mod tests;

pub use pattern::glob_match;
pub use versions::Ticket;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, OptionsBuilder};

use node::{Fill, InsertState, Lifecycle, Node, NodeWeighter, ENTRY_OVERHEAD, NODE_OVERHEAD};
use pattern::Patterns;
use sketch::Sketch;
use stats::{bump, Counters};
use versions::Versions;

/// Stripes of the fill/invalidate lock.
const STRIPES: usize = 256;

/// Settings of an [`L1`]; the last four can change at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Config {
    /// Hard byte budget; entry and node overheads count towards it. 0
    /// disables caching.
    pub budget_bytes: u64,
    /// A reply larger than this is never cached.
    pub max_value_bytes: usize,
    /// No entry lives longer than this.
    pub max_ttl: Duration,
    /// Reads of a key (per the frequency sketch) before a fill is admitted;
    /// 1 admits on the first miss, 0 admits even unread keys, values above
    /// 15 act as 15 (the sketch's ceiling).
    pub admit_min_reads: u32,
    /// Redis-style glob patterns of keys that may be cached; empty = all.
    pub allow: Vec<String>,
    /// Globs of keys never cached; deny wins over allow.
    pub deny: Vec<String>,
}

/// What became of a fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FillOutcome {
    /// Stored.
    Filled,
    /// The key (or everything) was invalidated since the ticket, or the
    /// reply's lifetime was zero.
    Stale,
    /// The key has not been read often enough yet.
    NotAdmitted,
    /// The reply is over `max_value_bytes`, or the key's node would not fit
    /// in one shard of the cache.
    TooLarge,
    /// The key is excluded by the allow/deny patterns.
    Denied,
    /// The budget is 0.
    Disabled,
}

/// Counters and sizes, for INFO and metrics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct L1Stats {
    /// Replies stored.
    pub entries: u64,
    /// Keys with at least one reply stored.
    pub keys: u64,
    /// Weight stored (bytes plus overheads); never above `budget`.
    pub bytes: u64,
    /// The configured budget.
    pub budget: u64,
    /// Reads answered.
    pub hits: u64,
    /// Reads not answered (absent, other variant, or expired).
    pub misses: u64,
    /// Fills stored.
    pub admissions: u64,
    /// Fills not admitted, too large or denied.
    pub rejections: u64,
    /// Fills refused because an invalidation raced them.
    pub stale_fills: u64,
    /// Keys evicted to stay within the budget.
    pub evictions: u64,
    /// Keys dropped by `invalidate()`.
    pub invalidations: u64,
    /// Calls to `flush()`.
    pub flushes: u64,
    /// Reads that found their reply past its lifetime.
    pub expired: u64,
}

/// A key in L1 and how often it was read while cached.
#[derive(Clone, Debug, PartialEq)]
pub struct HotKey {
    /// The Redis key.
    pub key: Bytes,
    /// `hits + misses`.
    pub reads: u64,
    /// Reads answered from L1.
    pub hits: u64,
    /// Reads of the key that L1 could not answer (other variant, expired).
    pub misses: u64,
}

type NodeCache = Cache<Bytes, Arc<Node>, NodeWeighter, DefaultHashBuilder, Lifecycle>;

/// Shards halve until each can hold this many of the largest nodes.
const LARGEST_NODES_PER_SHARD: u64 = 4;
/// Room for key and variant in the "largest node" estimate.
const KEY_AND_VARIANT_ALLOWANCE: usize = 256;
/// A node of one small reply weighs about this; sizes quick_cache's ghost
/// queue and its shard count floor.
const TYPICAL_NODE_BYTES: u64 = 512;

/// The L1 store. `Send + Sync`; share it through an `Arc`.
pub struct L1 {
    cache: NodeCache,
    hasher: foldhash::fast::RandomState,
    sketch: Sketch,
    versions: Versions,
    /// Fills check their ticket and insert, and invalidations bump and
    /// remove, under the key's stripe: so no reader ever sees a fill that an
    /// invalidation had already overtaken (read-your-writes holds exactly).
    stripes: [Mutex<()>; STRIPES],
    unrestricted: bool,
    allow: Patterns,
    deny: Patterns,
    budget: AtomicU64,
    max_value_bytes: AtomicUsize,
    max_ttl_nanos: AtomicU64,
    admit_min_reads: AtomicU32,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for L1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1")
            .field("budget", &self.budget.load(Relaxed))
            .field("shards", &self.cache.num_shards())
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .finish_non_exhaustive()
    }
}

impl L1 {
    /// An empty L1. Sizes that cannot change later: the frequency sketch
    /// (from the initial budget) and the shard count (from the initial
    /// budget and `max_value_bytes`, so that the largest node fits a shard).
    pub fn new(cfg: L1Config) -> Self {
        let counters = Arc::new(Counters::default());
        let l1 = L1 {
            cache: build_cache(&cfg, &counters),
            // Seeded per instance: keys cannot be crafted to collide in
            // the sketch or the version table.
            hasher: foldhash::fast::RandomState::default(),
            sketch: Sketch::new(cfg.budget_bytes),
            versions: Versions::new(),
            stripes: [(); STRIPES].map(|_| Mutex::new(())),
            unrestricted: cfg.allow.is_empty() && cfg.deny.is_empty(),
            allow: Patterns::new(&cfg.allow),
            deny: Patterns::new(&cfg.deny),
            budget: AtomicU64::new(cfg.budget_bytes),
            max_value_bytes: AtomicUsize::new(cfg.max_value_bytes),
            max_ttl_nanos: AtomicU64::new(nanos(cfg.max_ttl)),
            admit_min_reads: AtomicU32::new(cfg.admit_min_reads),
            counters,
        };
        l1.set_budget(cfg.budget_bytes);
        l1
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Whether `key` may be cached at all (allow/deny patterns). Cheap
    /// enough per read: a flag when both lists are empty, and compiled
    /// patterns otherwise. `get` does not check it; callers skip L1 for
    /// keys it refuses.
    pub fn allowed(&self, key: &[u8]) -> bool {
        self.unrestricted || (!self.deny.any(key) && (self.allow.is_empty() || self.allow.any(key)))
    }

    /// The reply stored for (key, variant), if present and not expired.
    /// Counts a hit or a miss (overall and for the key) and records the read
    /// in the frequency sketch, which is what admits later fills.
    pub fn get(&self, key: &[u8], variant: &[u8]) -> Option<Bytes> {
        self.sketch.record(self.hash(key));
        let reply = self
            .cache
            .get(key)
            .and_then(|node| self.read(&node, variant));
        let counter = match reply {
            Some(_) => &self.counters.hits,
            None => &self.counters.misses,
        };
        counter.add(1);
        reply
    }

    fn read(&self, node: &Arc<Node>, variant: &[u8]) -> Option<Bytes> {
        let Some(entry) = node.find(variant) else {
            node.misses.fetch_add(1, Relaxed);
            return None;
        };
        let now = Instant::now();
        if entry.expires_at > now {
            node.hits.fetch_add(1, Relaxed);
            return Some(entry.reply.clone());
        }
        self.expire(node, now);
        None
    }

    /// A read found its reply expired. The node goes once all its replies
    /// have; until then the expired one waits for the next fill of the key
    /// (which drops it) or for eviction.
    fn expire(&self, node: &Arc<Node>, now: Instant) {
        node.misses.fetch_add(1, Relaxed);
        bump(&self.counters.expired);
        if node.all_expired(now) {
            self.remove_node(node);
        }
    }

    /// Take before sending the read upstream; pass to [`L1::fill`].
    pub fn ticket(&self, key: &[u8]) -> Ticket {
        self.versions.ticket(self.hash(key))
    }

    /// Store `reply` for (key, variant), read under `ticket`, living
    /// min(ttl, max_ttl) (`None` = max_ttl). The bytes are copied into
    /// exact-size buffers, so a reply sliced from a larger read buffer does
    /// not keep that buffer alive. See [`FillOutcome`] for refusals.
    pub fn fill(
        &self,
        key: &Bytes,
        variant: &[u8],
        reply: Bytes,
        ttl: Option<Duration>,
        ticket: Ticket,
    ) -> FillOutcome {
        let outcome = self.try_fill(key, variant, &reply, ttl, ticket);
        self.count(outcome);
        outcome
    }

    fn try_fill(
        &self,
        key: &Bytes,
        variant: &[u8],
        reply: &[u8],
        ttl: Option<Duration>,
        ticket: Ticket,
    ) -> FillOutcome {
        if self.budget.load(Relaxed) == 0 {
            return FillOutcome::Disabled;
        }
        if !self.allowed(key) {
            return FillOutcome::Denied;
        }
        if reply.len() > self.max_value_bytes.load(Relaxed) {
            return FillOutcome::TooLarge;
        }
        let hash = self.hash(key);
        if self.sketch.estimate(hash) < self.admit_min_reads.load(Relaxed).min(15) {
            return FillOutcome::NotAdmitted;
        }
        let now = Instant::now();
        let Some(expires_at) = self.expiry(ttl, now) else {
            return FillOutcome::Stale;
        };
        let old = self.cache.peek(&key[..]);
        let fill = Fill {
            key,
            variant,
            reply,
            expires_at,
            ticket,
            now,
        };
        let node = Arc::new(Node::build(old.as_deref(), &fill));
        self.insert(node, ticket, hash)
    }

    /// When a reply filled at `now` expires; `None` if its lifetime is 0.
    fn expiry(&self, ttl: Option<Duration>, now: Instant) -> Option<Instant> {
        let max = Duration::from_nanos(self.max_ttl_nanos.load(Relaxed));
        let ttl = ttl.map_or(max, |t| t.min(max));
        if ttl.is_zero() {
            return None;
        }
        now.checked_add(ttl)
    }

    /// Check the ticket and insert, under the key's stripe (see `stripes`).
    fn insert(&self, node: Arc<Node>, ticket: Ticket, hash: u64) -> FillOutcome {
        let _stripe = self.stripe(hash);
        if !self.versions.is_current(ticket, hash) {
            return FillOutcome::Stale;
        }
        let mut state = InsertState::inserting(&node);
        self.counters.entries.fetch_add(node.len(), Relaxed);
        self.cache
            .insert_with_lifecycle(node.key.clone(), node.clone(), &mut state);
        if state.rejected {
            return FillOutcome::TooLarge;
        }
        FillOutcome::Filled
    }

    /// Lock the stripe of `hash`. A poisoned stripe guards only ordering,
    /// so it is used as is.
    fn stripe(&self, hash: u64) -> MutexGuard<'_, ()> {
        // In bounds: the index is reduced modulo the array's length.
        self.stripes[hash as usize % STRIPES]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Remove `node` if it is still the key's node.
    fn remove_node(&self, node: &Arc<Node>) {
        if let Some((_, gone)) = self
            .cache
            .remove_if(&node.key[..], |n| Arc::ptr_eq(n, node))
        {
            self.counters.entries.fetch_sub(gone.len(), Relaxed);
        }
    }

    fn count(&self, outcome: FillOutcome) {
        let c = &self.counters;
        match outcome {
            FillOutcome::Filled => bump(&c.admissions),
            FillOutcome::Stale => bump(&c.stale_fills),
            FillOutcome::NotAdmitted | FillOutcome::TooLarge | FillOutcome::Denied => {
                bump(&c.rejections)
            }
            FillOutcome::Disabled => {}
        }
    }

    /// Drop everything stored for `key` (a write through the proxy, or an
    /// invalidation push); outstanding tickets for it go stale.
    pub fn invalidate(&self, key: &[u8]) {
        let hash = self.hash(key);
        let _stripe = self.stripe(hash);
        self.versions.bump(hash);
        if let Some((_, node)) = self.cache.remove(key) {
            self.counters.entries.fetch_sub(node.len(), Relaxed);
            bump(&self.counters.invalidations);
        }
    }

    /// Drop everything; every outstanding ticket goes stale (FLUSHALL, or
    /// the tracking connection was lost). O(keys), one shard at a time.
    pub fn flush(&self) {
        {
            // With every stripe held, no fill is between its check and its
            // insert: those before are removed below, those after are stale.
            let _all: Vec<_> = (0..STRIPES as u64).map(|i| self.stripe(i)).collect();
            self.versions.bump_all();
        }
        let entries = &self.counters.entries;
        self.cache.retain(|_, node| {
            entries.fetch_sub(node.len(), Relaxed);
            false
        });
        bump(&self.counters.flushes);
    }

    /// Counters and sizes. Sums per-shard sizes and per-thread counters:
    /// cheap, but not for every request.
    pub fn stats(&self) -> L1Stats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Relaxed);
        L1Stats {
            entries: load(&c.entries),
            keys: self.cache.len() as u64,
            bytes: self.cache.weight(),
            budget: load(&self.budget),
            hits: c.hits.sum(),
            misses: c.misses.sum(),
            admissions: load(&c.admissions),
            rejections: load(&c.rejections),
            stale_fills: load(&c.stale_fills),
            evictions: load(&c.evictions),
            invalidations: load(&c.invalidations),
            flushes: load(&c.flushes),
            expired: load(&c.expired),
        }
    }

    /// The `n` keys in L1 with most reads (hits + misses), most first; ties
    /// by key. Walks every key (O(keys), a shard read lock per key): for
    /// an admin command, not a request path.
    pub fn hotkeys(&self, n: usize) -> Vec<HotKey> {
        if n == 0 {
            return Vec::new();
        }
        let mut top = BinaryHeap::new();
        for (key, node) in self.cache.iter() {
            let (hits, misses) = (node.hits.load(Relaxed), node.misses.load(Relaxed));
            top.push(Reverse((hits + misses, Reverse(key), hits, misses)));
            if top.len() > n {
                top.pop();
            }
        }
        let hot = top.into_sorted_vec().into_iter();
        hot.map(|Reverse((reads, Reverse(key), hits, misses))| HotKey {
            key,
            reads,
            hits,
            misses,
        })
        .collect()
    }

    /// Change the budget at run time; evicts down to it before returning.
    /// A budget below one shard's share of the largest node refuses large
    /// fills (TooLarge); the sketch keeps its initial size.
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Relaxed);
        // quick_cache gives each shard ceil(capacity / shards); round down
        // so the shards together never exceed the budget.
        let shards = self.cache.num_shards().max(1) as u64;
        self.cache.set_capacity(bytes / shards * shards);
    }

    /// Change the longest lifetime of new fills (stored ones keep theirs).
    pub fn set_max_ttl(&self, max_ttl: Duration) {
        self.max_ttl_nanos.store(nanos(max_ttl), Relaxed);
    }

    /// Change how many reads admit a fill.
    pub fn set_admit_min_reads(&self, reads: u32) {
        self.admit_min_reads.store(reads, Relaxed);
    }

    /// Change the largest reply a fill may store.
    pub fn set_max_value_bytes(&self, bytes: usize) {
        self.max_value_bytes.store(bytes, Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The node cache, with a shard count that fits the largest node.
fn build_cache(cfg: &L1Config, counters: &Arc<Counters>) -> NodeCache {
    let items = usize::try_from(cfg.budget_bytes / TYPICAL_NODE_BYTES).unwrap_or(usize::MAX);
    let lifecycle = Lifecycle {
        counters: counters.clone(),
    };
    let mut options = OptionsBuilder::new();
    options
        .shards(shard_count(cfg.budget_bytes, cfg.max_value_bytes))
        .estimated_items_capacity(items)
        .weight_capacity(cfg.budget_bytes);
    match options.build() {
        Ok(o) => Cache::with_options(o, NodeWeighter, DefaultHashBuilder::default(), lifecycle),
        // build() fails only when a required option is unset; all are set.
        Err(_) => Cache::with(
            items,
            cfg.budget_bytes,
            NodeWeighter,
            Default::default(),
            lifecycle,
        ),
    }
}

/// quick_cache's default (four shards per CPU), halved until a shard holds
/// a few of the largest nodes: a node heavier than ~97% of a shard is
/// refused, and one close to it would empty the shard.
fn shard_count(budget: u64, max_value_bytes: usize) -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let largest =
        max_value_bytes.saturating_add(NODE_OVERHEAD + ENTRY_OVERHEAD + KEY_AND_VARIANT_ALLOWANCE);
    let floor = (largest as u64).saturating_mul(LARGEST_NODES_PER_SHARD);
    let mut shards = cpus.clamp(1, 256).saturating_mul(4).next_power_of_two();
    while shards > 1 && budget / (shards as u64) < floor {
        shards /= 2;
    }
    shards
}
