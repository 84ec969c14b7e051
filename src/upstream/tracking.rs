//! The invalidation listener: a RESP3 connection that every pooled
//! connection redirects its client tracking to.
//!
//! Pooled connections run `CLIENT TRACKING on REDIRECT <listener id> OPTIN`
//! and send `CLIENT CACHING yes` before each read that may fill L1, so Redis
//! tracks exactly the keys respite caches and tells the listener, as
//! `invalidate` pushes, when any of them changes. Redirecting (rather than
//! receiving pushes in-band on RESP3 pooled connections) keeps RESP2
//! connections, and so RESP2 replies, byte for byte as Redis sends them;
//! fills carry tickets, so an invalidation that overtakes its read is never
//! undone by a late fill.
//!
//! When the listener's connection drops, invalidations may have been lost:
//! the sink is told to drop everything, and pooled connections re-point
//! their tracking at the new listener (its `generation` changes) before
//! their reads may fill again.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use redis_protocol::resp3::types::{BytesFrame, Resp3Frame};
use tokio::io::AsyncWriteExt;
use tracing::Instrument;

use super::connect::Dialer;
use super::wire::ReplyBuffer;
use super::UpstreamState;
use crate::error::UpstreamError;
use crate::protocol::{Proto, ReplyKind, Request};

/// Where invalidations go (the L1 cache, through the command layer).
pub trait Invalidations: Send + Sync + 'static {
    /// These keys changed upstream.
    fn keys(&self, keys: &[Bytes]);
    /// Anything may have changed: FLUSHALL/FLUSHDB, or invalidations may
    /// have been lost (`reason` says which).
    fn all(&self, reason: &'static str);
}

/// Whether the upstream supports client tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackingMode {
    /// Not known yet (no connection has tried).
    Unknown,
    /// Tracking works: L1 entries live until invalidated (or their TTL).
    On,
    /// The upstream refused tracking: L1 falls back to short TTLs.
    Off,
}

/// Shared tracking state: the listener's id, its generation and the mode.
#[derive(Debug)]
pub struct Tracking {
    id: AtomicU64,
    generation: AtomicU64,
    mode: AtomicU8,
    /// Invalidation pushes received.
    pub pushes: AtomicU64,
    /// Keys invalidated by pushes.
    pub keys_invalidated: AtomicU64,
    /// Times everything was dropped (flush pushes, listener lost).
    pub flushes: AtomicU64,
    /// Where invalidations go, once tracking has started.
    sink: std::sync::OnceLock<Arc<dyn Invalidations>>,
}

impl std::fmt::Debug for dyn Invalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Invalidations")
    }
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            id: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            mode: AtomicU8::new(0),
            pushes: AtomicU64::new(0),
            keys_invalidated: AtomicU64::new(0),
            flushes: AtomicU64::new(0),
            sink: std::sync::OnceLock::new(),
        }
    }
}

impl Tracking {
    /// The listener's client id and generation while it is up.
    pub fn listener(&self) -> Option<(u64, u64)> {
        let generation = self.generation.load(Ordering::Acquire);
        let id = self.id.load(Ordering::Acquire);
        (id != 0).then_some((id, generation))
    }

    /// Whether a connection whose tracking points at `generation` is still
    /// covered by a live listener.
    pub fn is_current(&self, generation: u64) -> bool {
        generation != 0 && self.listener().is_some_and(|(_, g)| g == generation)
    }

    /// What the upstream said about tracking.
    pub fn mode(&self) -> TrackingMode {
        match self.mode.load(Ordering::Relaxed) {
            1 => TrackingMode::On,
            2 => TrackingMode::Off,
            _ => TrackingMode::Unknown,
        }
    }

    /// Record whether `CLIENT TRACKING` was accepted.
    pub fn set_mode(&self, mode: TrackingMode) {
        let v = match mode {
            TrackingMode::Unknown => 0,
            TrackingMode::On => 1,
            TrackingMode::Off => 2,
        };
        self.mode.store(v, Ordering::Relaxed);
    }

    /// A connection whose reads Redis tracked is gone, and with it Redis's
    /// record of what it read: nothing filled through it would ever be
    /// invalidated, so everything is dropped.
    pub fn tracked_connection_lost(&self) {
        if let Some(sink) = self.sink.get() {
            self.flushes.fetch_add(1, Ordering::Relaxed);
            sink.all("tracked connection lost");
        }
    }

    fn up(&self, id: u64) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.id.store(id, Ordering::Release);
    }

    fn down(&self) {
        self.id.store(0, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// The listener's client name upstream, so operators can tell it apart.
pub const LISTENER_NAME: &str = "respite:tracking";

/// Start the listener task; it reconnects on its own.
pub fn spawn(dialer: Dialer, state: Arc<UpstreamState>, sink: Arc<dyn Invalidations>) {
    let _ = state.tracking.sink.set(sink.clone());
    let span = super::span(&dialer, "tracking", Proto::Resp3);
    tokio::spawn(run(dialer, state, sink).instrument(span));
}

async fn run(dialer: Dialer, state: Arc<UpstreamState>, sink: Arc<dyn Invalidations>) {
    let tracking = state.tracking.clone();
    let mut backoff = state.backoff_min;
    loop {
        match listen(&dialer, &tracking, sink.as_ref()).await {
            Ok(()) => return,
            Err(e) => {
                if tracking.listener().is_some() {
                    backoff = state.backoff_min;
                }
                tracking.down();
                // Without tracking (mode off) nothing was tracked: entries
                // live by their short TTL, and retries must not flush them.
                if tracking.mode() != TrackingMode::Off {
                    tracking.flushes.fetch_add(1, Ordering::Relaxed);
                    sink.all("tracking connection lost");
                }
                tracing::debug!(upstream = %dialer.addr(), error = %e, "invalidation listener down");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(state.backoff_max);
    }
}

/// One listener connection: learn its id, then apply pushes until it fails.
async fn listen(
    dialer: &Dialer,
    tracking: &Tracking,
    sink: &dyn Invalidations,
) -> Result<(), UpstreamError> {
    let (stream, rest) = dialer.connect(Proto::Resp3).await?;
    let (mut rd, mut wr) = stream.into_split();
    let mut replies = ReplyBuffer::with_bytes(rest);
    let mut hello = Request::from_args(["CLIENT", "SETNAME", LISTENER_NAME])
        .raw
        .to_vec();
    hello.extend_from_slice(&Request::from_args(["CLIENT", "ID"]).raw);
    wr.write_all(&hello).await.map_err(|e| dialer.lost(e))?;
    let mut answers = Vec::new();
    while answers.len() < 2 {
        if let Some((frame, kind)) = next_frame(&mut replies, &mut rd, dialer).await? {
            if kind != ReplyKind::Push {
                answers.push(frame);
            }
        }
    }
    let Some(id) = answers.get(1).and_then(client_id) else {
        // No CLIENT command (renamed away, or a Redis-like server without
        // it): tracking cannot work here; L1 falls back to short TTLs.
        tracking.set_mode(TrackingMode::Off);
        return Err(dialer.lost("CLIENT ID refused: no client tracking"));
    };
    tracking.up(id);
    tracing::debug!(upstream = %dialer.addr(), id, "invalidation listener up");
    // A listener that dies without a FIN (a NAT or firewall dropping the
    // idle connection) would otherwise go unnoticed while invalidations are
    // lost: ping it, and give up on it when nothing comes back in time.
    let ping = Request::from_args(["PING"]).raw;
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            frame = next_frame(&mut replies, &mut rd, dialer) => {
                if let Some((frame, kind)) = frame? {
                    last_heard = Instant::now();
                    if kind == ReplyKind::Push {
                        apply(&frame, tracking, sink);
                    }
                }
            }
            _ = heartbeat.tick() => {
                if last_heard.elapsed() > HEARTBEAT_DEADLINE {
                    return Err(dialer.lost("no answer to the heartbeat"));
                }
                let sent = tokio::time::timeout(HEARTBEAT, wr.write_all(&ping)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return Err(dialer.lost("heartbeat could not be sent"));
                }
            }
        }
    }
}

/// How often the listener is pinged.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Silence after which the listener is declared lost (and L1 flushed).
const HEARTBEAT_DEADLINE: Duration = Duration::from_secs(3);

/// The next complete frame, reading as needed.
async fn next_frame(
    replies: &mut ReplyBuffer,
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    dialer: &Dialer,
) -> Result<Option<(Bytes, ReplyKind)>, UpstreamError> {
    if let Some((len, kind)) = replies.next_frame().map_err(|e| dialer.lost(e))? {
        return Ok(Some((replies.take(len).freeze(), kind)));
    }
    match replies.fill(rd).await {
        Ok(0) => Err(dialer.lost("closed by upstream")),
        Ok(_) => Ok(None),
        Err(e) => Err(dialer.lost(e)),
    }
}

fn client_id(frame: &Bytes) -> Option<u64> {
    let text = std::str::from_utf8(frame.strip_prefix(b":")?).ok()?;
    text.trim_end().parse().ok()
}

/// Apply one push: `invalidate [keys]`, or `invalidate` with a null for
/// "everything" (FLUSHALL, FLUSHDB). Other pushes are ignored.
fn apply(frame: &Bytes, tracking: &Tracking, sink: &dyn Invalidations) {
    let Some(keys) = invalidated_keys(frame) else {
        return;
    };
    tracking.pushes.fetch_add(1, Ordering::Relaxed);
    match keys {
        Some(keys) => {
            tracking
                .keys_invalidated
                .fetch_add(keys.len() as u64, Ordering::Relaxed);
            sink.keys(&keys);
        }
        None => {
            tracking.flushes.fetch_add(1, Ordering::Relaxed);
            sink.all("flush invalidation");
        }
    }
}

/// `Some(Some(keys))` for a key invalidation, `Some(None)` for a flush,
/// `None` when the frame is not an invalidation push.
pub fn invalidated_keys(frame: &Bytes) -> Option<Option<Vec<Bytes>>> {
    let mut buf = BytesMut::from(frame.as_ref());
    let (decoded, _, _) =
        redis_protocol::resp3::decode::complete::decode_bytes_mut(&mut buf).ok()??;
    let BytesFrame::Push { data, .. } = decoded else {
        return None;
    };
    let mut items = data.into_iter();
    let kind = items.next()?;
    if kind.as_bytes()? != b"invalidate" {
        return None;
    }
    match items.next()? {
        BytesFrame::Null => Some(None),
        BytesFrame::Array { data, .. } => Some(Some(
            data.into_iter()
                .filter_map(|k| k.as_bytes().map(Bytes::copy_from_slice))
                .collect(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_invalidations() {
        let keys = Bytes::from_static(b">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n");
        assert_eq!(
            invalidated_keys(&keys),
            Some(Some(vec![
                Bytes::from_static(b"a"),
                Bytes::from_static(b"bc")
            ]))
        );
        let flush = Bytes::from_static(b">2\r\n$10\r\ninvalidate\r\n_\r\n");
        assert_eq!(invalidated_keys(&flush), Some(None));
        let message = Bytes::from_static(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n");
        assert_eq!(invalidated_keys(&message), None);
        assert_eq!(client_id(&Bytes::from_static(b":42\r\n")), Some(42));
    }
}
