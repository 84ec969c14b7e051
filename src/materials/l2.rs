//! The materials tier in the upstream Redis (L2): reads that Redis tracks
//! for this instance (so L1 copies stay coherent), `SET … EX` fills, and
//! the invalidations a catalogue write makes.
//!
//! Everything travels the shared multiplexed connections as ordinary jobs;
//! replies are parsed here, never by the connection task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::sync::oneshot;

use crate::error::UpstreamError;
use crate::protocol::reply::split_frames;
use crate::protocol::{Proto, Request};
use crate::upstream::{Job, JobReply, JobResult, TrackedRead, Upstream};

/// `CLIENT CACHING yes`: with OPTIN tracking, makes Redis track the next read.
const CACHING_YES: &[u8] = b"*3\r\n$6\r\nCLIENT\r\n$7\r\nCACHING\r\n$3\r\nyes\r\n";

/// Keys per SCAN step and per UNLINK of `MINVALIDATE`.
pub const SCAN_BATCH: usize = 500;

/// What a tracked read found for each key.
#[derive(Debug)]
pub struct TrackedValues {
    /// The value of each key (`None`: absent).
    pub values: Vec<Option<Bytes>>,
    /// The remaining lifetime of each key (`None`: absent or no TTL).
    pub ttls: Vec<Option<Duration>>,
    /// Whether Redis tracked the read (invalidations will come).
    pub tracked: bool,
    /// When the read was sent: lifetimes count from here.
    pub sent: Instant,
}

/// Access to the upstream for the materials layer.
#[derive(Debug)]
pub struct L2 {
    next: AtomicUsize,
}

impl Default for L2 {
    fn default() -> Self {
        L2 {
            next: AtomicUsize::new(0),
        }
    }
}

/// Hands a tracked read's reply and tracked flag back to its caller.
#[derive(Debug)]
struct Reply(oneshot::Sender<(JobResult, bool)>);

impl TrackedRead for Reply {
    fn complete(self: Box<Self>, result: JobResult, tracked: bool) {
        let _ = self.0.send((result, tracked));
    }
}

fn gone() -> UpstreamError {
    UpstreamError::ShuttingDown
}

impl L2 {
    /// Send a job on one of the pooled RESP2 connections (rotating), and
    /// wait for its replies.
    async fn call(&self, up: &Upstream, payload: Bytes, count: u32) -> JobResult {
        let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        up.call(Proto::Resp2, id, payload, count).await
    }

    /// `MGET` of `keys` that Redis tracks, with each key's `PTTL`.
    pub async fn tracked_get(
        &self,
        up: &Upstream,
        keys: &[Bytes],
    ) -> Result<TrackedValues, UpstreamError> {
        let mut payload = BytesMut::from(CACHING_YES);
        let mget = std::iter::once(b"MGET".as_ref()).chain(keys.iter().map(|k| k.as_ref()));
        payload.extend_from_slice(&Request::from_args(mget).raw);
        for k in keys {
            payload.extend_from_slice(&Request::from_args([b"PTTL".as_ref(), k]).raw);
        }
        let (tx, rx) = oneshot::channel();
        let id = self.next.fetch_add(1, Ordering::Relaxed) as u64;
        let sent = Instant::now();
        up.mux(Proto::Resp2, id).send(Job {
            payload: payload.freeze(),
            count: 2 + keys.len() as u32,
            reply_to: JobReply::Tracked(Box::new(Reply(tx))),
        });
        let (result, tracked) = rx.await.map_err(|_| gone())?;
        let frames = split_frames(&result?);
        let values = frames
            .get(1)
            .map(|mget| array_items(mget).into_iter().map(bulk_value).collect())
            .unwrap_or_default();
        let ttls = frames.iter().skip(2).map(|f| pttl(f)).collect();
        Ok(TrackedValues {
            values,
            ttls,
            tracked,
            sent,
        })
    }

    /// Store `items` with a lifetime of `ttl_secs` (one pipeline).
    pub async fn set_ex(
        &self,
        up: &Upstream,
        items: &[(Bytes, Bytes)],
        ttl_secs: u64,
    ) -> Result<(), UpstreamError> {
        if items.is_empty() {
            return Ok(());
        }
        let ttl = ttl_secs.to_string();
        let mut payload = BytesMut::new();
        for (k, v) in items {
            let req = Request::from_args([b"SET".as_ref(), k, v, b"EX", ttl.as_bytes()]);
            payload.extend_from_slice(&req.raw);
        }
        self.call(up, payload.freeze(), items.len() as u32)
            .await
            .map(drop)
    }

    /// Delete `keys` and, when `generation` is given, increment it (so
    /// every cached search is stale at once). One pipeline.
    pub async fn invalidate(
        &self,
        up: &Upstream,
        keys: &[Bytes],
        generation: Option<&Bytes>,
    ) -> Result<(), UpstreamError> {
        let mut payload = BytesMut::new();
        let mut count = 0;
        if !keys.is_empty() {
            let del = std::iter::once(b"DEL".as_ref()).chain(keys.iter().map(|k| k.as_ref()));
            payload.extend_from_slice(&Request::from_args(del).raw);
            count += 1;
        }
        if let Some(g) = generation {
            payload.extend_from_slice(&Request::from_args([b"INCR".as_ref(), g]).raw);
            count += 1;
        }
        if count == 0 {
            return Ok(());
        }
        let replies = self.call(up, payload.freeze(), count).await?;
        match split_frames(&replies)
            .into_iter()
            .find(|f| f.starts_with(b"-"))
        {
            Some(err) => Err(UpstreamError::Lost {
                addr: up.addr().into(),
                reason: String::from_utf8_lossy(err.trim_ascii_end()).into(),
            }),
            None => Ok(()),
        }
    }

    /// One SCAN step over `pattern` from `cursor`: the next cursor and the
    /// keys found.
    pub async fn scan(
        &self,
        up: &Upstream,
        cursor: &[u8],
        pattern: &[u8],
    ) -> Result<(Bytes, Vec<Bytes>), UpstreamError> {
        let count = SCAN_BATCH.to_string();
        let req = Request::from_args([
            b"SCAN".as_ref(),
            cursor,
            b"MATCH",
            pattern,
            b"COUNT",
            count.as_bytes(),
        ]);
        let reply = self.call(up, req.raw, 1).await?;
        let malformed = || UpstreamError::Lost {
            addr: up.addr().into(),
            reason: "malformed SCAN reply".into(),
        };
        let items = array_items(&reply);
        let next = items.first().and_then(|c| bulk_value(c.clone()));
        let keys = items.get(1).map(array_items).unwrap_or_default();
        let next = next.ok_or_else(malformed)?;
        Ok((next, keys.into_iter().filter_map(bulk_value).collect()))
    }

    /// `UNLINK keys`: how many existed.
    pub async fn unlink(&self, up: &Upstream, keys: &[Bytes]) -> Result<u64, UpstreamError> {
        let args = std::iter::once(b"UNLINK".as_ref()).chain(keys.iter().map(|k| k.as_ref()));
        let reply = self.call(up, Request::from_args(args).raw, 1).await?;
        Ok(int_value(&reply).unwrap_or(0).max(0) as u64)
    }

    /// `GET key` (untracked).
    pub async fn get(&self, up: &Upstream, key: &Bytes) -> Result<Option<Bytes>, UpstreamError> {
        let reply = self
            .call(up, Request::from_args([b"GET".as_ref(), key]).raw, 1)
            .await?;
        Ok(bulk_value(reply))
    }
}

/// The elements of an array reply (empty for anything else).
fn array_items(frame: &Bytes) -> Vec<Bytes> {
    if !frame.starts_with(b"*") {
        return Vec::new();
    }
    let body = frame
        .iter()
        .position(|&b| b == b'\n')
        .map_or(frame.len(), |i| i + 1);
    split_frames(&frame.slice(body..))
}

/// The payload of a bulk string reply; `None` for nil or anything else.
fn bulk_value(frame: Bytes) -> Option<Bytes> {
    if !frame.starts_with(b"$") || frame.starts_with(b"$-1") {
        return None;
    }
    let start = frame.iter().position(|&b| b == b'\n')? + 1;
    let end = frame.len().checked_sub(2)?;
    (start <= end).then(|| frame.slice(start..end))
}

/// An integer reply's value.
fn int_value(frame: &[u8]) -> Option<i64> {
    std::str::from_utf8(frame.strip_prefix(b":")?)
        .ok()?
        .trim_end()
        .parse()
        .ok()
}

/// The remaining lifetime from a `PTTL` reply; none for -1/-2.
fn pttl(frame: &[u8]) -> Option<Duration> {
    let ms = int_value(frame)?;
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replies() {
        let b = Bytes::from_static(b"*3\r\n$1\r\na\r\n$-1\r\n$2\r\nbc\r\n");
        let items: Vec<_> = array_items(&b).into_iter().map(bulk_value).collect();
        assert_eq!(
            items,
            vec![Some(Bytes::from("a")), None, Some(Bytes::from("bc"))]
        );
        assert_eq!(pttl(b":1500\r\n"), Some(Duration::from_millis(1500)));
        assert_eq!(pttl(b":-1\r\n"), None);
        assert_eq!(
            bulk_value(Bytes::from_static(b"$0\r\n\r\n")),
            Some(Bytes::new())
        );
    }
}
