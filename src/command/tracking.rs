//! Client-side caching through respite: RESP3 clients that turn on
//! `CLIENT TRACKING` (default mode) are tracked by respite itself.
//!
//! respite remembers which keys each tracking client read, whether the reply
//! came from L1 or from upstream, and sends it an `invalidate` push when it
//! learns that a key changed: a write through respite, a tracking push from
//! Redis (every read of a tracking client is a tracked read upstream, and an
//! L1 entry only exists while Redis tracks its key), or a flush. As in
//! Redis, tracking is one-shot: after the push the key is forgotten until the
//! client reads it again. A key is remembered *before* it is read, so an
//! invalidation racing the read is never lost.
//!
//! A write through respite is learnt of twice: from its reply (so readers
//! hear of it promptly) and from Redis's push, which can come late, after
//! a reader has read the key again. The late one still goes out (a repeat
//! is allowed: Redis's tracking may also invalidate keys a client no longer
//! holds) and ends the tracking of the key as any push does. It cannot
//! cost correctness because the connection sends a push only after the
//! replies of reads in flight when it arrived, as Redis orders them
//! (`Connection::on_push`): the client caches the reply, then drops it,
//! and reads the key again (tracked again) when it next needs it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use dashmap::DashMap;
use tokio::sync::mpsc;

use crate::protocol::encode;

/// Most keys remembered for all tracking clients together; past it every
/// client is told to drop everything (as Redis's `tracking-table-max-keys`).
const MAX_KEYS: usize = 1_000_000;

/// The tracking table.
#[derive(Debug, Default)]
pub struct ClientTracking {
    by_key: DashMap<Bytes, Vec<u64>>,
    clients: DashMap<u64, mpsc::UnboundedSender<Bytes>>,
    /// How many clients are registered: checked on every write, so it is a
    /// counter rather than `DashMap::is_empty` (which locks every shard).
    active: AtomicUsize,
    /// Invalidation pushes sent to clients.
    pub pushes: AtomicU64,
}

impl ClientTracking {
    /// Start tracking for a client; pushes go to `tx`.
    pub fn register(&self, id: u64, tx: mpsc::UnboundedSender<Bytes>) {
        if self.clients.insert(id, tx).is_none() {
            self.active.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Stop tracking for a client (TRACKING off, RESET, disconnect).
    pub fn unregister(&self, id: u64) {
        if self.clients.remove(&id).is_some() {
            self.active.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Whether any client is tracking (so invalidations need a look-up).
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed) > 0
    }

    /// How many clients are tracking through respite (INFO
    /// `tracking_clients`).
    pub fn count(&self) -> usize {
        self.clients.len()
    }

    /// Client `id` is about to read `key`.
    pub fn remember(&self, id: u64, key: &Bytes) {
        if self.by_key.len() >= MAX_KEYS {
            self.flush();
        }
        let mut readers = self.by_key.entry(key.clone()).or_default();
        if !readers.contains(&id) {
            readers.push(id);
        }
    }

    /// These keys changed: tell the clients that read them, then forget.
    pub fn invalidate(&self, keys: &[Bytes]) {
        if !self.is_active() {
            return;
        }
        for key in keys {
            let Some((key, readers)) = self.by_key.remove(key) else {
                continue;
            };
            let push = invalidate_push(Some(&key));
            for id in readers {
                self.send(id, push.clone());
            }
        }
    }

    /// Everything may have changed: a null invalidation to every client.
    pub fn flush(&self) {
        if !self.is_active() {
            return;
        }
        self.by_key.clear();
        let push = invalidate_push(None);
        for client in self.clients.iter() {
            self.send(*client.key(), push.clone());
        }
    }

    fn send(&self, id: u64, push: Bytes) {
        if let Some(tx) = self.clients.get(&id) {
            if tx.send(push).is_ok() {
                self.pushes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `>2 invalidate [key]`, or `>2 invalidate _` for "everything".
fn invalidate_push(key: Option<&Bytes>) -> Bytes {
    let mut out = BytesMut::new();
    out.put_slice(b">2\r\n$10\r\ninvalidate\r\n");
    match key {
        Some(key) => {
            encode::array_header(&mut out, 1);
            encode::bulk(&mut out, key);
        }
        None => out.put_slice(b"_\r\n"),
    }
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_once_per_read_and_flushes_everyone() {
        let t = ClientTracking::default();
        let (tx, mut rx) = mpsc::unbounded_channel();
        t.register(7, tx);
        let k = Bytes::from_static(b"k");
        t.remember(7, &k);
        t.remember(7, &k);
        t.invalidate(std::slice::from_ref(&k));
        assert_eq!(
            rx.try_recv().ok(),
            Some(Bytes::from_static(
                b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
            ))
        );
        assert!(
            rx.try_recv().is_err(),
            "one push per read, however often remembered"
        );
        t.invalidate(std::slice::from_ref(&k));
        assert!(rx.try_recv().is_err(), "forgotten after the push");
        t.flush();
        assert_eq!(
            rx.try_recv().ok(),
            Some(Bytes::from_static(b">2\r\n$10\r\ninvalidate\r\n_\r\n"))
        );
        t.unregister(7);
        t.remember(7, &k);
        t.invalidate(std::slice::from_ref(&k));
        assert!(rx.try_recv().is_err(), "nothing after unregister");
    }
}
