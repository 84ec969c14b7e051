//! What each store's last calls said: kind, status, last latency, errors.
//! Fed by [`super::timed`], which every store call passes through; read by
//! INFO's `# Backends`, STATS, HEALTH and the metrics. One table per server
//! (it lives with the catalogue's counters), so servers sharing a process
//! never report each other's stores. The set of store names is small and
//! fixed, so the table never grows with traffic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Stores respite talks to, in the order INFO lists them.
pub const STORES: [&str; 5] = ["postgres", "sqlite", "qdrant", "qdrant-edge", "embedder"];

#[derive(Debug, Default)]
struct Row {
    calls: AtomicU64,
    errors: AtomicU64,
    last_us: AtomicU64,
    /// 0 = never called, 1 = last call succeeded, 2 = last call failed.
    last_state: AtomicU64,
    last_error: Mutex<String>,
}

/// The calls of every store, one row per name in [`STORES`].
#[derive(Debug, Default)]
pub struct StoreHealth {
    rows: [Row; STORES.len()],
}

/// A store's record, as of now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackendStats {
    /// Calls made.
    pub calls: u64,
    /// Calls that failed or timed out.
    pub errors: u64,
    /// Duration of the last call, in microseconds.
    pub last_latency_us: u64,
    /// `None` before the first call; whether the last call succeeded.
    pub last_ok: Option<bool>,
    /// The last failure's message (empty if none).
    pub last_error: String,
}

impl StoreHealth {
    fn row(&self, store: &str) -> Option<&Row> {
        let i = STORES.iter().position(|s| *s == store)?;
        self.rows.get(i)
    }

    /// Record one call to `store` (unknown names are ignored).
    pub fn record(&self, store: &str, elapsed: Duration, error: Option<&dyn std::fmt::Display>) {
        let Some(r) = self.row(store) else {
            return;
        };
        r.calls.fetch_add(1, Ordering::Relaxed);
        r.last_us
            .store(elapsed.as_micros() as u64, Ordering::Relaxed);
        r.last_state
            .store(if error.is_some() { 2 } else { 1 }, Ordering::Relaxed);
        if let Some(e) = error {
            r.errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut last) = r.last_error.lock() {
                *last = e.to_string();
            }
        }
    }

    /// What `store`'s calls have said so far.
    pub fn snapshot(&self, store: &str) -> BackendStats {
        let Some(r) = self.row(store) else {
            return BackendStats::default();
        };
        BackendStats {
            calls: r.calls.load(Ordering::Relaxed),
            errors: r.errors.load(Ordering::Relaxed),
            last_latency_us: r.last_us.load(Ordering::Relaxed),
            last_ok: match r.last_state.load(Ordering::Relaxed) {
                0 => None,
                s => Some(s == 1),
            },
            last_error: r.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_calls_errors_and_the_last_state() {
        let h = StoreHealth::default();
        assert_eq!(h.snapshot("embedder").last_ok, None, "never called");
        h.record("embedder", Duration::from_micros(250), None);
        let e = "refused";
        h.record("embedder", Duration::from_micros(40), Some(&e));
        let after = h.snapshot("embedder");
        assert_eq!(after.calls, 2);
        assert_eq!(after.errors, 1);
        assert_eq!(after.last_latency_us, 40);
        assert_eq!(after.last_ok, Some(false));
        assert_eq!(after.last_error, "refused");
        h.record("nonsense", Duration::ZERO, None);
        assert_eq!(h.snapshot("nonsense"), BackendStats::default());
        assert_eq!(h.snapshot("postgres"), BackendStats::default(), "per table");
    }
}
