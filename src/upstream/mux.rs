//! Multiplexed upstream connections: one task per connection carries the
//! stateless commands of many clients.
//!
//! Clients send [`Job`]s (a run of consecutive commands, already encoded);
//! the task coalesces every job waiting in its queue into one write, and
//! matches replies to jobs in order by counting frames. A job's replies are
//! contiguous in the stream, so they go back as one zero-copy slice.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::connect::Dialer;
use super::wire::{write_some, ReplyBuffer};
use super::UpstreamState;
use crate::error::UpstreamError;
use crate::protocol::{Proto, ReplyKind, Request};
use crate::upstream::tracking::TrackingMode;

/// The answer to a job: the raw replies of all its commands, or why not.
pub type JobResult = Result<Bytes, UpstreamError>;

/// A read whose reply may fill L1. The multiplexed connection makes sure
/// Redis tracks it (tracking pointed at the live listener), and completes it
/// on the connection task, in order with everything else on the connection.
pub trait TrackedRead: Send + std::fmt::Debug {
    /// The job's replies, or why not. `tracked` says whether Redis tracked
    /// the read (so invalidations for its keys will come).
    fn complete(self: Box<Self>, result: JobResult, tracked: bool);
}

/// Where a job's replies go.
#[derive(Debug)]
pub enum JobReply {
    /// To the client's channel; one client's jobs complete in order.
    Client(mpsc::UnboundedSender<JobResult>),
    /// To a tracked read (which answers its client itself).
    Tracked(Box<dyn TrackedRead>),
    /// respite's own command on this connection (tracking setup).
    Internal(Internal),
}

/// respite's own commands on a multiplexed connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Internal {
    /// `CLIENT TRACKING off`: its reply is ignored.
    Ignore,
    /// `CLIENT TRACKING on REDIRECT id OPTIN` for this listener generation.
    TrackingOn(u64),
}

/// A run of commands from one client, in order.
#[derive(Debug)]
pub struct Job {
    /// The commands, each a complete multibulk.
    pub payload: Bytes,
    /// How many commands (and so replies) it holds.
    pub count: u32,
    /// Where the replies go.
    pub reply_to: JobReply,
}

impl JobReply {
    /// Hand `result` to whoever waits for it. respite's own commands have
    /// nobody waiting: they come back, with the result, for the connection.
    fn answer(self, result: JobResult, tracked: bool) -> Option<(Internal, JobResult)> {
        match self {
            // The client may have gone; then nobody waits for this answer.
            JobReply::Client(tx) => {
                let _ = tx.send(result);
            }
            JobReply::Tracked(read) => read.complete(result, tracked),
            JobReply::Internal(internal) => return Some((internal, result)),
        }
        None
    }
}

impl Job {
    fn fail(self, err: UpstreamError) {
        let _ = self.reply_to.answer(Err(err), false);
    }
}

/// A handle to one multiplexed connection's queue.
#[derive(Clone, Debug)]
pub struct MuxHandle {
    tx: mpsc::UnboundedSender<Job>,
}

impl MuxHandle {
    /// Queue a job; if the connection task is gone the job fails at once.
    pub fn send(&self, job: Job) {
        if let Err(e) = self.tx.send(job) {
            e.0.fail(UpstreamError::ShuttingDown);
        }
    }
}

struct InFlight {
    job: Job,
    remaining: u32,
    /// Reply bytes set aside when a push frame interrupted this job's replies.
    parts: Option<BytesMut>,
    /// When it was written, for the first job of each write: its replies
    /// time the upstream round trip (one sample per write, not per job).
    timed_from: Option<Instant>,
}

/// One of respite's own commands as a job.
fn internal<const N: usize>(args: [&str; N], kind: Internal) -> Job {
    Job {
        payload: Request::from_args(args).raw,
        count: 1,
        reply_to: JobReply::Internal(kind),
    }
}

/// The push Redis sends a RESP3 tracked connection whose redirect target is gone.
const REDIR_BROKEN: &[u8] = b">2\r\n$21\r\ntracking-redir-broken\r\n";

/// Most bytes coalesced into one write before it is sent.
const MAX_BATCH: usize = 1 << 20;

/// Start a multiplexed connection task speaking `proto`.
pub fn spawn(dialer: Dialer, proto: Proto, state: Arc<UpstreamState>) -> MuxHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let span = super::span(&dialer, "mux", proto);
    tokio::spawn(run(dialer, proto, state, rx).instrument(span));
    MuxHandle { tx }
}

async fn run(
    dialer: Dialer,
    proto: Proto,
    state: Arc<UpstreamState>,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let mut backoff = state.backoff_min;
    loop {
        match dialer.connect(proto).await {
            Ok((stream, rest)) => {
                backoff = state.backoff_min;
                state.connected(true);
                let mut conn = Conn::new(&dialer, &state, stream, rest);
                let outcome = conn.serve(&mut rx).await;
                state.connected(false);
                if conn.tracked_generation != 0 {
                    state.tracking.tracked_connection_lost();
                }
                match outcome {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(upstream = %dialer.addr(), error = %e, "multiplexed connection lost");
                        state.record_error(&e);
                        conn.fail_all(&e);
                    }
                }
            }
            Err(e) => {
                state.record_error(&e);
                tracing::debug!(upstream = %dialer.addr(), error = %e, "connect failed");
                // While backing off, nothing waits: every job fails at once.
                if !fail_for(&mut rx, backoff, &e, &state).await {
                    return;
                }
                backoff = (backoff * 2).min(state.backoff_max);
            }
        }
        state.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

/// Fail every job that arrives during `wait` (or until another connection
/// to the upstream succeeds). Returns false when all senders are gone and
/// the task should end.
async fn fail_for(
    rx: &mut mpsc::UnboundedReceiver<Job>,
    wait: Duration,
    err: &UpstreamError,
    state: &UpstreamState,
) -> bool {
    let until = Instant::now() + wait;
    let back = state.upstream_back.notified();
    tokio::pin!(back);
    loop {
        tokio::select! {
            job = rx.recv() => match job {
                Some(job) => job.fail(err.clone()),
                None => return false,
            },
            _ = tokio::time::sleep_until(until) => return true,
            _ = &mut back => return true,
        }
    }
}

struct Conn<'a> {
    dialer: &'a Dialer,
    state: &'a UpstreamState,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    wbuf: BytesMut,
    replies: ReplyBuffer,
    inflight: VecDeque<InFlight>,
    /// When the oldest outstanding reply last made progress.
    last_progress: Instant,
    /// The listener generation this connection's tracking points at (0: none).
    tracked_generation: u64,
}

impl<'a> Conn<'a> {
    fn new(
        dialer: &'a Dialer,
        state: &'a UpstreamState,
        stream: TcpStream,
        rest: BytesMut,
    ) -> Self {
        let (rd, wr) = stream.into_split();
        Conn {
            dialer,
            state,
            rd,
            wr,
            wbuf: BytesMut::with_capacity(64 * 1024),
            replies: ReplyBuffer::with_bytes(rest),
            inflight: VecDeque::new(),
            last_progress: Instant::now(),
            tracked_generation: 0,
        }
    }

    /// Carry jobs until the connection fails (`Err`) or every sender is gone.
    async fn serve(&mut self, rx: &mut mpsc::UnboundedReceiver<Job>) -> Result<(), UpstreamError> {
        let timeout = self.state.command_timeout;
        loop {
            self.flush()?;
            let deadline = self.last_progress + timeout.unwrap_or(Duration::MAX / 4);
            let wants_write = !self.wbuf.is_empty();
            tokio::select! {
                job = rx.recv() => match job {
                    Some(job) => {
                        // Let other clients that are ready run first, so
                        // their commands join this write instead of each
                        // costing a write (and an upstream read) of its own.
                        tokio::task::yield_now().await;
                        self.accept(job, rx);
                    }
                    None => return Ok(()),
                },
                read = self.replies.fill(&mut self.rd) => match read {
                    Ok(0) => return Err(self.dialer.lost("closed by upstream")),
                    Ok(_) => {
                        self.last_progress = Instant::now();
                        self.complete()?;
                    }
                    Err(e) => return Err(self.dialer.lost(e)),
                },
                ready = self.wr.writable(), if wants_write => {
                    ready.map_err(|e| self.dialer.lost(e))?;
                }
                _ = tokio::time::sleep_until(deadline), if timeout.is_some() && !self.inflight.is_empty() => {
                    return Err(UpstreamError::Timeout {
                        addr: self.dialer.addr().clone(),
                        ms: timeout.map_or(0, |t| t.as_millis() as u64),
                    });
                }
            }
        }
    }

    /// Take `job` and every other job already queued, up to a batch.
    fn accept(&mut self, job: Job, rx: &mut mpsc::UnboundedReceiver<Job>) {
        self.push(job);
        if let Some(first) = self.inflight.back_mut() {
            first.timed_from = Some(Instant::now());
        }
        while self.wbuf.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => self.push(job),
                Err(_) => break,
            }
        }
        self.state.mux_writes.fetch_add(1, Ordering::Relaxed);
    }

    fn push(&mut self, job: Job) {
        if matches!(job.reply_to, JobReply::Tracked(_)) {
            self.point_tracking();
        }
        self.queue(job);
    }

    /// Before a tracked read: make sure this connection's tracking redirects
    /// to the live listener (unless the upstream refused tracking).
    fn point_tracking(&mut self) {
        let tracking = &self.state.tracking;
        let Some((id, generation)) = tracking.listener() else {
            return;
        };
        if generation == self.tracked_generation || tracking.mode() == TrackingMode::Off {
            return;
        }
        if self.tracked_generation != 0 {
            self.queue(internal(["CLIENT", "TRACKING", "off"], Internal::Ignore));
        }
        let id = id.to_string();
        let on = ["CLIENT", "TRACKING", "on", "REDIRECT", &id, "OPTIN"];
        self.queue(internal(on, Internal::TrackingOn(generation)));
        // Until the reply says otherwise, reads sent after this are covered.
        self.tracked_generation = generation;
    }

    fn queue(&mut self, job: Job) {
        if self.inflight.is_empty() {
            self.last_progress = Instant::now();
        }
        self.wbuf.extend_from_slice(&job.payload);
        let remaining = job.count;
        self.state.mux_jobs.fetch_add(1, Ordering::Relaxed);
        self.state
            .mux_commands
            .fetch_add(u64::from(remaining), Ordering::Relaxed);
        self.inflight.push_back(InFlight {
            job,
            remaining,
            parts: None,
            timed_from: None,
        });
    }

    fn flush(&mut self) -> Result<(), UpstreamError> {
        write_some(&self.wr, &mut self.wbuf).map_err(|e| self.dialer.lost(e))
    }

    /// Hand every job whose replies have all arrived back to its client.
    fn complete(&mut self) -> Result<(), UpstreamError> {
        while let Some((len, kind)) = self.replies.next_frame().map_err(|e| self.dialer.lost(e))? {
            if kind == ReplyKind::Push {
                self.set_aside_push(len);
                continue;
            }
            let Some(head) = self.inflight.front_mut() else {
                return Err(self.dialer.lost("reply with no request waiting"));
            };
            head.remaining -= 1;
            if head.remaining == 0 {
                let n = self.replies.scanned();
                let mut bytes = self.replies.take(n);
                if let Some(done) = self.inflight.pop_front() {
                    if let Some(sent) = done.timed_from {
                        self.state.record_rtt(sent.elapsed());
                    }
                    if let Some(mut parts) = done.parts {
                        parts.unsplit(bytes);
                        bytes = parts;
                    }
                    self.deliver(done.job.reply_to, bytes.freeze(), kind);
                }
            }
        }
        Ok(())
    }

    /// Hand a completed job's replies to whoever waits for them.
    fn deliver(&mut self, reply_to: JobReply, bytes: Bytes, last: ReplyKind) {
        let tracked = matches!(reply_to, JobReply::Tracked(_))
            && self.state.tracking.is_current(self.tracked_generation);
        let Some((Internal::TrackingOn(generation), Ok(bytes))) =
            reply_to.answer(Ok(bytes), tracked)
        else {
            return;
        };
        if last == ReplyKind::Error {
            tracing::warn!(upstream = %self.dialer.addr(), reply = %String::from_utf8_lossy(&bytes).trim_end(), "upstream refused client tracking; L1 falls back to short TTLs");
            self.state.tracking.set_mode(TrackingMode::Off);
            self.tracked_generation = 0;
        } else {
            self.state.tracking.set_mode(TrackingMode::On);
            self.tracked_generation = generation;
        }
    }

    /// A push arrived between replies: keep the replies before it with their
    /// job and drop the push (no subscriptions or tracking live on a
    /// multiplexed connection).
    fn set_aside_push(&mut self, len: usize) {
        let before = self.replies.scanned() - len;
        let prefix = self.replies.take(before);
        let push = self.replies.take(len);
        if let Some(head) = self.inflight.front_mut() {
            match head.parts.as_mut() {
                Some(parts) => parts.extend_from_slice(&prefix),
                None if !prefix.is_empty() => head.parts = Some(prefix),
                None => {}
            }
        }
        if push.starts_with(REDIR_BROKEN) {
            // Our listener is gone as far as Redis is concerned: whatever
            // this connection read is no longer watched.
            self.tracked_generation = 0;
            self.state.tracking.tracked_connection_lost();
        } else {
            tracing::debug!(
                bytes = push.len(),
                "dropped a push on a multiplexed connection"
            );
        }
    }

    fn fail_all(&mut self, err: &UpstreamError) {
        for f in self.inflight.drain(..) {
            f.job.fail(err.clone());
        }
    }
}
