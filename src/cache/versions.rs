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
//! `invalidate` is *bump slot, then remove node*; a fill is *check ticket,
//! then insert node*. Both run under the key's stripe lock (`L1::stripe`),
//! so one whole critical section precedes the other:
//!
//! - invalidation first: the fill's check sees the bumped slot and refuses;
//! - fill first: the invalidation removes whatever node the key has, the
//!   fill's included.
//!
//! `flush` bumps the epoch holding every stripe, then clears the cache:
//! fills checked before the bump are inserted before it and cleared; fills
//! checked after it are refused. So no reader can ever see a fill that an
//! invalidation had already overtaken, not even for an instant: once a write
//! through respite has dropped its keys, no older value can come back.
//! SeqCst is kept on the counters because it costs nothing on loads on x86
//! and keeps the reasoning local; the locks alone would suffice.

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
