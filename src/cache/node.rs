//! What L1 stores per Redis key, what it weighs, and the eviction hook.
//!
//! One [`Node`] per key holds every reply read from that key (one
//! [`Entry`] per variant), so invalidating the key is one removal. Nodes
//! are immutable once built: a fill builds a replacement (copy-on-write)
//! and inserts it, and readers holding the old `Arc` are unaffected.

use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::stats::{bump, Counters};
use super::versions::Ticket;

/// Most variants kept per key; a fill beyond it drops the oldest. Bounds
/// the copy a fill makes and the scan a read makes.
pub(crate) const MAX_VARIANTS: usize = 16;

/// Allocator rounding and headers per heap block (estimate).
const ALLOC_SLACK: usize = 16;
/// The header `Bytes` allocates once a buffer is shared (`Shared` is
/// three words) plus its allocation slack.
const BYTES_SHARED: usize = 3 * size_of::<usize>() + ALLOC_SLACK;
/// quick_cache's own bookkeeping per resident key: the slab entry (key,
/// value, state, links), the hash-table slot, and a share of the ghost
/// queue. Its docs give 21 bytes plus key and value, times 1.5.
const QUICK_CACHE_SLOT: usize = (size_of::<Bytes>() + size_of::<Arc<Node>>() + 21) * 3 / 2;

/// Weight of one stored reply beyond its variant and reply bytes: the
/// `Entry` in the node's vector, plus the shared header and slack of the
/// one buffer that holds the variant and reply bytes. 136 on 64-bit.
pub(crate) const ENTRY_OVERHEAD: usize = size_of::<Entry>() + BYTES_SHARED + ALLOC_SLACK;
/// Weight of a node beyond its key bytes and entries: the `Arc`'s block
/// (two counts and the `Node`), quick_cache's slot, and the key buffer's
/// header and slack. 267 on 64-bit.
pub(crate) const NODE_OVERHEAD: usize =
    2 * size_of::<usize>() + size_of::<Node>() + ALLOC_SLACK + QUICK_CACHE_SLOT + BYTES_SHARED;

/// One reply stored under a key.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Which read of the key produced it (opaque to L1).
    pub(crate) variant: Bytes,
    pub(crate) reply: Bytes,
    pub(crate) expires_at: Instant,
}

impl Entry {
    /// An entry whose variant and reply share one exact-size buffer, so
    /// what it holds is what it weighs, whatever buffers the caller's
    /// bytes were sliced from.
    fn new(variant: &[u8], reply: &[u8], expires_at: Instant) -> Entry {
        let mut buf = Vec::with_capacity(variant.len() + reply.len());
        buf.extend_from_slice(variant);
        buf.extend_from_slice(reply);
        let buf = Bytes::from(buf);
        Entry {
            variant: buf.slice(..variant.len()),
            reply: buf.slice(variant.len()..),
            expires_at,
        }
    }

    fn weight(&self) -> usize {
        self.variant.len() + self.reply.len() + ENTRY_OVERHEAD
    }
}

/// Everything cached for one Redis key.
#[derive(Debug)]
pub(crate) struct Node {
    /// The key, in its own exact-size buffer (also the cache's map key).
    pub(crate) key: Bytes,
    pub(crate) entries: Vec<Entry>,
    /// The ticket this node was validated under: entries are carried into
    /// a replacement only if the replacing fill holds the same ticket.
    stamp: Ticket,
    weight: u64,
    /// Reads of this key while cached; carried over to replacements.
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
}

/// What a fill stores, before it becomes a node.
pub(crate) struct Fill<'a> {
    /// The Redis key, as the caller passed it (copied if the node is new).
    pub(crate) key: &'a Bytes,
    pub(crate) variant: &'a [u8],
    pub(crate) reply: &'a [u8],
    pub(crate) expires_at: Instant,
    /// The ticket the reply was read under; becomes the node's stamp.
    pub(crate) ticket: Ticket,
    /// When the fill happens: entries expired by then are not carried.
    pub(crate) now: Instant,
}

impl Node {
    /// The node `fill` makes, replacing `old` if the key has one.
    ///
    /// `old`'s other live variants are kept only if `old` was validated
    /// under the fill's own ticket: a node stamped earlier may hold replies
    /// from before an invalidation whose removal has not run yet, and
    /// copying them forward would let them outlive it. Counters are read
    /// from `old` now; reads that land on `old` between this and the
    /// insert are lost (a small undercount, accepted).
    pub(crate) fn build(old: Option<&Node>, fill: &Fill) -> Node {
        let kept = old
            .filter(|o| o.stamp == fill.ticket)
            .map_or(&[][..], |o| &o.entries[..]);
        let kept = kept
            .iter()
            .filter(|e| e.variant != fill.variant && e.expires_at > fill.now);
        let live = kept.clone().count();
        let skip = live.saturating_sub(MAX_VARIANTS - 1);
        let mut entries = Vec::with_capacity(live - skip + 1);
        entries.extend(kept.skip(skip).cloned());
        entries.push(Entry::new(fill.variant, fill.reply, fill.expires_at));
        let key = old.map_or_else(|| Bytes::copy_from_slice(fill.key), |o| o.key.clone());
        let load = |c: Option<&AtomicU64>| c.map_or(0, |c| c.load(Relaxed));
        let weight = key.len() + NODE_OVERHEAD + entries.iter().map(Entry::weight).sum::<usize>();
        Node {
            key,
            entries,
            stamp: fill.ticket,
            weight: weight as u64,
            hits: AtomicU64::new(load(old.map(|o| &o.hits))),
            misses: AtomicU64::new(load(old.map(|o| &o.misses))),
        }
    }

    /// The entry for `variant`, expired or not.
    pub(crate) fn find(&self, variant: &[u8]) -> Option<&Entry> {
        self.entries.iter().find(|e| e.variant == variant)
    }

    /// Whether nothing in the node is still alive at `now`.
    pub(crate) fn all_expired(&self, now: Instant) -> bool {
        self.entries.iter().all(|e| e.expires_at <= now)
    }

    pub(crate) fn len(&self) -> u64 {
        self.entries.len() as u64
    }
}

/// A node's weight, computed once when it is built.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NodeWeighter;

impl quick_cache::Weighter<Bytes, Arc<Node>> for NodeWeighter {
    fn weight(&self, _key: &Bytes, node: &Arc<Node>) -> u64 {
        node.weight
    }
}

/// Counts what leaves the cache. quick_cache reports three things through
/// `on_evict`: real evictions, the node a fill replaced (same key), and a
/// fill's own node when it is too heavy to admit. An [`InsertState`] tells
/// them apart for the insert it is passed to.
#[derive(Debug, Clone)]
pub(crate) struct Lifecycle {
    pub(crate) counters: Arc<Counters>,
}

/// Per-insert state: the node being inserted, and whether it was refused.
#[derive(Debug, Default)]
pub(crate) struct InsertState {
    ours: Option<Arc<Node>>,
    pub(crate) rejected: bool,
}

impl InsertState {
    pub(crate) fn inserting(node: &Arc<Node>) -> Self {
        InsertState {
            ours: Some(node.clone()),
            rejected: false,
        }
    }
}

impl quick_cache::Lifecycle<Bytes, Arc<Node>> for Lifecycle {
    type RequestState = InsertState;

    fn on_evict(&self, state: &mut InsertState, key: Bytes, node: Arc<Node>) {
        self.counters.entries.fetch_sub(node.len(), Relaxed);
        match &state.ours {
            Some(ours) if Arc::ptr_eq(ours, &node) => state.rejected = true,
            Some(ours) if ours.key == key => {}
            _ => bump(&self.counters.evictions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::versions::Versions;
    use std::time::Duration;

    fn fill<'a>(key: &'a Bytes, variant: &'a [u8], ticket: Ticket, now: Instant) -> Fill<'a> {
        Fill {
            key,
            variant,
            reply: b"$1\r\nx\r\n",
            expires_at: now + Duration::from_secs(60),
            ticket,
            now,
        }
    }

    #[test]
    fn overheads_are_as_documented() {
        if size_of::<usize>() == 8 {
            assert_eq!((ENTRY_OVERHEAD, NODE_OVERHEAD), (136, 267));
        }
    }

    #[test]
    fn weight_counts_key_entries_and_overhead() {
        let v = Versions::new();
        let key = Bytes::from_static(b"user:1");
        let now = Instant::now();
        let n = Node::build(None, &fill(&key, b"get", v.ticket(1), now));
        let expected = 6 + NODE_OVERHEAD + 3 + 7 + ENTRY_OVERHEAD;
        assert_eq!(n.weight, expected as u64);
    }

    #[test]
    fn carries_variants_only_under_the_same_ticket() {
        let v = Versions::new();
        let key = Bytes::from_static(b"k");
        let now = Instant::now();
        let t = v.ticket(1);
        let a = Node::build(None, &fill(&key, b"a", t, now));
        let b = Node::build(Some(&a), &fill(&key, b"b", t, now));
        assert_eq!(b.entries.len(), 2);
        let replaced = Node::build(Some(&b), &fill(&key, b"b", t, now));
        assert_eq!(replaced.entries.len(), 2, "same variant replaces");
        v.bump(1);
        let fresh = Node::build(Some(&b), &fill(&key, b"c", v.ticket(1), now));
        assert_eq!(fresh.entries.len(), 1, "older stamp: nothing carried");
    }

    #[test]
    fn keeps_at_most_max_variants_newest_first() {
        let v = Versions::new();
        let key = Bytes::from_static(b"k");
        let now = Instant::now();
        let t = v.ticket(1);
        let mut node = Node::build(None, &fill(&key, b"v0", t, now));
        for i in 1..40 {
            let variant = format!("v{i}");
            node = Node::build(Some(&node), &fill(&key, variant.as_bytes(), t, now));
        }
        assert_eq!(node.entries.len(), MAX_VARIANTS);
        assert!(node.find(b"v39").is_some() && node.find(b"v24").is_some());
        assert!(node.find(b"v23").is_none());
    }
}
