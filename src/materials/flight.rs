//! Single flight: concurrent identical misses share one fetch.
//!
//! The first caller of a key runs the fetch; callers arriving while it runs
//! wait for its result. If the leader is dropped before finishing, its
//! waiters see the flight end and run the fetch themselves.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::broadcast;

/// Fetches in flight, keyed by what they fetch.
#[derive(Debug)]
pub struct Flights<T: Clone> {
    running: Mutex<HashMap<Vec<u8>, broadcast::Sender<T>>>,
    /// Callers that waited for another's fetch instead of fetching.
    pub coalesced: AtomicU64,
}

impl<T: Clone> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
            coalesced: AtomicU64::new(0),
        }
    }
}

/// Removes a leader's entry however its fetch ends.
struct Leader<'a, T: Clone> {
    flights: &'a Flights<T>,
    key: Vec<u8>,
}

impl<T: Clone> Drop for Leader<'_, T> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.flights.running.lock() {
            running.remove(&self.key);
        }
    }
}

impl<T: Clone> Flights<T> {
    /// `Some(Some(rx))`: a fetch of `key` runs, wait on `rx`; `Some(None)`:
    /// this caller leads; `None`: the lock is unusable.
    fn join_or_lead(&self, key: &[u8]) -> Option<Option<broadcast::Receiver<T>>> {
        let mut running = self.running.lock().ok()?;
        Some(match running.get(key) {
            Some(tx) => Some(tx.subscribe()),
            None => {
                running.insert(key.to_vec(), broadcast::channel(1).0);
                None
            }
        })
    }

    /// Run `fetch` for `key`, or wait for the identical fetch in flight.
    pub async fn run<F, Fut>(&self, key: &[u8], fetch: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let waiting = self.join_or_lead(key);
        let Some(waiting) = waiting else {
            // The map's lock is poisoned: fetch alone.
            return fetch().await;
        };
        if let Some(mut rx) = waiting {
            self.coalesced.fetch_add(1, Ordering::Relaxed);
            if let Ok(v) = rx.recv().await {
                return v;
            }
            return fetch().await;
        }
        let leader = Leader {
            flights: self,
            key: key.to_vec(),
        };
        let value = fetch().await;
        let tx = self
            .running
            .lock()
            .ok()
            .and_then(|mut running| running.remove(&leader.key));
        if let Some(tx) = tx {
            let _ = tx.send(value.clone());
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn identical_fetches_run_once() {
        let flights: Arc<Flights<u32>> = Arc::default();
        let runs = Arc::new(AtomicU64::new(0));
        let (go_tx, go_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (flights, runs, mut go) = (flights.clone(), runs.clone(), go_rx.clone());
            tasks.push(tokio::spawn(async move {
                flights
                    .run(b"k", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let _ = go.wait_for(|g| *g).await;
                        7
                    })
                    .await
            }));
        }
        // Every caller has joined once 7 have coalesced onto the leader.
        for _ in 0..1000 {
            if flights.coalesced.load(Ordering::SeqCst) == 7 {
                break;
            }
            tokio::task::yield_now().await;
        }
        let _ = go_tx.send(true);
        for t in tasks {
            assert_eq!(t.await.unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.coalesced.load(Ordering::SeqCst), 7);
    }
}
