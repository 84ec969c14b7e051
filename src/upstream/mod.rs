//! Connections to the upstream Redis.
//!
//! Stateless commands share a small pool of [`mux`] connections per
//! protocol (so every reply comes back in the client's own RESP version,
//! byte for byte). A client holding connection state gets a [`pinned`]
//! connection of its own. Both reconnect on their own and turn every
//! failure into an [`UpstreamError`] for the requests it affects.

pub mod connect;
pub mod mux;
pub mod pinned;
pub mod tracking;
pub mod wire;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use connect::Dialer;
pub use mux::{Job, JobReply, JobResult, MuxHandle, TrackedRead};
pub use pinned::Pinned;
pub use tracking::{Invalidations, Tracking, TrackingMode};

use bytes::Bytes;
use tracing::Instrument;

use crate::config::{Config, ConfigError};
use crate::error::UpstreamError;
use crate::protocol::Proto;

/// The span an upstream connection's work runs in, so its log lines say
/// which connection: the address, the kind (`mux`, `pinned`, `tracking`)
/// and the protocol.
fn span(dialer: &Dialer, kind: &'static str, proto: Proto) -> tracing::Span {
    tracing::info_span!("upstream", addr = %dialer.addr(), kind, resp = proto.version())
}

/// Shared view of upstream health, for INFO and for the connection tasks.
#[derive(Debug)]
pub struct UpstreamState {
    /// Multiplexed connections currently up.
    pub connected: AtomicUsize,
    /// Dedicated (pinned) connections currently open.
    pub pinned: AtomicUsize,
    /// Reconnect attempts so far.
    pub reconnects: AtomicU64,
    /// Errors seen so far (connect failures, lost connections, timeouts).
    pub errors: AtomicU64,
    /// Jobs (client command runs) sent on multiplexed connections.
    pub mux_jobs: AtomicU64,
    /// Commands sent on multiplexed connections.
    pub mux_commands: AtomicU64,
    /// Write batches on multiplexed connections (jobs / writes = coalescing).
    pub mux_writes: AtomicU64,
    /// The last upstream round trip measured, in microseconds.
    pub rtt_last_us: AtomicU64,
    /// The last error, for INFO.
    pub last_error: Mutex<String>,
    /// Client tracking: the invalidation listener and the upstream's support.
    pub tracking: Arc<Tracking>,
    /// Woken when any connection to the upstream succeeds, so the others
    /// cut their back-off short instead of failing requests meanwhile.
    pub(crate) upstream_back: tokio::sync::Notify,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) command_timeout: Option<Duration>,
    pub(crate) max_pinned: usize,
}

impl UpstreamState {
    fn connected(&self, up: bool) {
        if up {
            self.connected.fetch_add(1, Ordering::Relaxed);
            self.upstream_back.notify_waiters();
        } else {
            self.connected.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A write's first reply arrived `rtt` after it was sent: the upstream
    /// round trip (INFO `upstream_rtt_last_us`, the RTT histogram).
    fn record_rtt(&self, rtt: Duration) {
        self.rtt_last_us
            .store(rtt.as_micros() as u64, Ordering::Relaxed);
        crate::metrics::record_upstream_rtt(rtt);
    }

    fn record_error(&self, e: &UpstreamError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = e.to_string();
        }
    }
}

/// The upstream Redis: the pools and the dialer for dedicated connections.
#[derive(Debug)]
pub struct Upstream {
    dialer: Dialer,
    state: Arc<UpstreamState>,
    pool_size: usize,
    resp2: OnceLock<Vec<MuxHandle>>,
    resp3: OnceLock<Vec<MuxHandle>>,
}

impl Upstream {
    /// Build from config. Connections open lazily, on first use per protocol.
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        let up = &config.upstream;
        let target = config.upstream_target()?;
        let ms = Duration::from_millis;
        let state = UpstreamState {
            connected: AtomicUsize::new(0),
            pinned: AtomicUsize::new(0),
            reconnects: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            mux_jobs: AtomicU64::new(0),
            mux_commands: AtomicU64::new(0),
            mux_writes: AtomicU64::new(0),
            rtt_last_us: AtomicU64::new(0),
            last_error: Mutex::new(String::new()),
            tracking: Arc::new(Tracking::default()),
            upstream_back: tokio::sync::Notify::new(),
            backoff_min: ms(up.backoff_min_ms.max(1)),
            backoff_max: ms(up.backoff_max_ms.max(up.backoff_min_ms.max(1))),
            command_timeout: (up.command_timeout_ms > 0).then(|| ms(up.command_timeout_ms)),
            max_pinned: up.max_connections,
        };
        Ok(Upstream {
            dialer: Dialer::new(target, ms(up.connect_timeout_ms)),
            state: Arc::new(state),
            pool_size: up.pool_size.max(1),
            resp2: OnceLock::new(),
            resp3: OnceLock::new(),
        })
    }

    /// Start the invalidation listener, sending what it hears to `sink`.
    pub fn start_tracking(&self, sink: Arc<dyn Invalidations>) {
        tracking::spawn(self.dialer.clone(), self.state.clone(), sink);
    }

    /// Start the RESP2 pool now, so the first client does not wait for it.
    pub fn warm_up(&self) {
        let _ = self.pool(Proto::Resp2);
    }

    fn pool(&self, proto: Proto) -> &[MuxHandle] {
        let cell = match proto {
            Proto::Resp2 => &self.resp2,
            Proto::Resp3 => &self.resp3,
        };
        cell.get_or_init(|| {
            (0..self.pool_size)
                .map(|_| mux::spawn(self.dialer.clone(), proto, self.state.clone()))
                .collect()
        })
    }

    /// The multiplexed connection a client uses: always the same one for a
    /// client, so its commands keep their order.
    pub fn mux(&self, proto: Proto, client_id: u64) -> &MuxHandle {
        let pool = self.pool(proto);
        let i = (client_id as usize) % pool.len().max(1);
        // The pool is never empty (pool_size >= 1), so this index exists.
        &pool[i]
    }

    /// respite's own request on the multiplexed connection `client_id`
    /// maps to: send `payload` (`count` commands) and wait for the replies.
    pub async fn call(
        &self,
        proto: Proto,
        client_id: u64,
        payload: Bytes,
        count: u32,
    ) -> JobResult {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        self.mux(proto, client_id).send(Job {
            payload,
            count,
            reply_to: JobReply::Client(tx),
        });
        rx.recv()
            .await
            .unwrap_or_else(|| Err(UpstreamError::ShuttingDown))
    }

    /// Open a dedicated connection for a client holding connection state.
    pub async fn pin(&self, proto: Proto) -> Result<Pinned, UpstreamError> {
        Pinned::connect(&self.dialer, self.state.clone(), proto)
            .instrument(span(&self.dialer, "pinned", proto))
            .await
    }

    /// Health counters.
    pub fn state(&self) -> &UpstreamState {
        &self.state
    }

    /// `host:port` of the upstream.
    pub fn addr(&self) -> &str {
        self.dialer.addr()
    }

    /// The db the multiplexed connections use.
    pub fn db(&self) -> u32 {
        self.dialer.db()
    }

    /// The multiplexed pool size per protocol.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }
}
