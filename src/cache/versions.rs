//! Versions that let a fill detect an invalidation it raced.
//!
//! A read is sent upstream under a [`Ticket`]: the global epoch and the
//! version of the key's slot, read before the request leaves. Invalidating
//! a key bumps its slot; flushing bumps the epoch. A fill whose ticket no
//! longer matches is refused. Keys share 2^16 slots by hash, so a collision
//! can only refuse a fill that was in fact fine (a spurious `Stale`), never
//! accept a stale one; the table is fixed-size (512 KiB) whatever the number
//! of keys.
//!
//! # Why the fill race is closed
//!
//! `invalidate` is *bump slot (B), then remove node (R)*; a fill is *check
//! ticket (C1), insert node (I), check again (C2), remove its node if
//! stale*. R and I take the same quick_cache shard lock, so one critical
//! section precedes the other:
//!
//! - R before I: B is sequenced before R, R releases the lock I acquires,
//!   and I is sequenced before C2, so B happens-before C2. By read-write
//!   coherence C2 reads B's value (or a later one) and the fill removes its
//!   node.
//! - I before R: R removes whatever node the key has, the fill's included.
//!
//! Either way no fill read under an older ticket survives an invalidation
//! that completed. The same holds for `flush` (epoch bump, then each shard
//! cleared under its lock). The argument needs only coherence plus the
//! lock's acquire/release, not the orderings used here; SeqCst is kept
//! because it costs nothing on loads on x86, the bumps are read-modify-writes
//! anyway, and it keeps the reasoning local. What it does not prevent: in
//! the instant between I and C2 a racing reader may see the fill, as it may
//! see any reply while the invalidation that drops it is in progress.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// log2 of the number of version slots.
const SLOT_BITS: u32 = 16;

/// Proof of when a read was sent: a fill is refused if the key (or
/// everything) was invalidated since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    epoch: u64,
    version: u64,
    slot: u32,
}

/// The epoch and the slot table.
#[derive(Debug)]
pub(crate) struct Versions {
    epoch: AtomicU64,
    slots: Box<[AtomicU64]>,
}

impl Versions {
    pub(crate) fn new() -> Self {
        Versions {
            epoch: AtomicU64::new(0),
            slots: (0..1usize << SLOT_BITS)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// The slot of a key hash (its top bits; the sketch uses the others).
    fn slot(hash: u64) -> u32 {
        (hash >> (64 - SLOT_BITS)) as u32
    }

    fn version(&self, slot: u32) -> Option<u64> {
        self.slots.get(slot as usize).map(|v| v.load(SeqCst))
    }

    /// A ticket for the key with this hash.
    pub(crate) fn ticket(&self, hash: u64) -> Ticket {
        let slot = Self::slot(hash);
        Ticket {
            epoch: self.epoch.load(SeqCst),
            version: self.version(slot).unwrap_or(0),
            slot,
        }
    }

    /// Whether `ticket` was taken for this hash and nothing it covers has
    /// been invalidated since.
    pub(crate) fn is_current(&self, ticket: Ticket, hash: u64) -> bool {
        ticket.slot == Self::slot(hash)
            && self.epoch.load(SeqCst) == ticket.epoch
            && self.version(ticket.slot) == Some(ticket.version)
    }

    /// Make every outstanding ticket for this hash stale.
    pub(crate) fn bump(&self, hash: u64) {
        if let Some(v) = self.slots.get(Self::slot(hash) as usize) {
            v.fetch_add(1, SeqCst);
        }
    }

    /// Make every outstanding ticket stale.
    pub(crate) fn bump_all(&self) {
        self.epoch.fetch_add(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: u64 = 0x0001_0000_0000_0000;
    const H2: u64 = 0x0002_0000_0000_0000;

    #[test]
    fn tickets_go_stale_on_bump() {
        let v = Versions::new();
        let t = v.ticket(H1);
        assert!(v.is_current(t, H1));
        v.bump(H2);
        assert!(v.is_current(t, H1), "another slot does not matter");
        v.bump(H1);
        assert!(!v.is_current(t, H1));
        let t = v.ticket(H1);
        assert!(v.is_current(t, H1));
        v.bump_all();
        assert!(!v.is_current(t, H1));
    }

    #[test]
    fn a_ticket_is_for_its_own_key() {
        let v = Versions::new();
        assert!(!v.is_current(v.ticket(H1), H2));
    }
}
