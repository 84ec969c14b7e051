//! One client connection: read requests, dispatch them, write replies in
//! order.
//!
//! Requests are parsed in batches; consecutive forwarded commands become
//! one job for the client's multiplexed upstream connection. Every request
//! takes a place in an ordered queue of reply slots, so replies leave in the
//! order requests came, whichever source answers first. Reading stops while
//! `max_inflight` commands are outstanding or the output is backed up, and
//! a client that lets its output grow past the limit is disconnected.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::command::cache::{self, Miss};
use crate::command::table::{self, CmdId};
use crate::command::{self, CacheRead, Ctx, Expect, Outcome, Session, WriteEffect};
use crate::config::LimitsConfig;
use crate::error::{ReplyError, UpstreamError};
use crate::protocol::encode::{self, ReplyWriter};
use crate::protocol::reply;
use crate::protocol::{Limits, ReplyKind, Request, RequestParser};
use crate::upstream::wire::write_some;
use crate::upstream::{Job, JobReply, JobResult, MuxHandle, Pinned};

/// Output bytes above which we stop reading new requests from the client.
const OUT_HIGH_WATER: usize = 1 << 20;
/// A forwarded batch is sent once it reaches this size, even mid-read.
const BATCH_BYTES: usize = 64 * 1024;
/// Buffers larger than this are released once empty.
const KEEP_CAPACITY: usize = 1 << 20;
const READ_CHUNK: usize = 16 * 1024;

/// Where a reply comes from, in the order the client expects them.
#[derive(Debug)]
enum Slot {
    /// A local reply (or error) ready to go.
    Ready(Bytes),
    /// The replies to a job of this many commands on the multiplexed
    /// connection, and what its writes do to L1 before they are written.
    Mux(u32, WriteEffect, Sent),
    /// One reply from the dedicated connection, its effect on L1, and
    /// whether the command blocks (BLPOP …) until it arrives.
    Pinned(WriteEffect, Sent, bool),
    /// The reply to a miss that coalesced onto an identical one in flight.
    Flight(u64, Sent),
    /// The reply of a catalogue command running as a task.
    Task(u64, Sent),
    /// From here on, everything the dedicated connection sends.
    Stream,
    /// Close after everything before this is written.
    Close,
}

/// A command being carried out, for per-command statistics.
#[derive(Debug)]
struct Current {
    cmd: CmdId,
    /// When respite read it.
    started: Instant,
    /// The request, for the slow log.
    raw: Bytes,
}

/// Commands of one kind answered on the spot one after another (L1 hits,
/// local replies): counted together when the run ends, so a pipeline of
/// hits updates the shared counters once instead of once per command.
#[derive(Debug)]
struct Run {
    cmd: CmdId,
    calls: u64,
    /// When its first command started (the clock is read once per run).
    from: Instant,
    failed: u64,
    /// The last request, for the slow log.
    last: Bytes,
}

/// The commands a reply slot stands for, in order.
#[derive(Debug, Default)]
enum Sent {
    /// None the table knows.
    #[default]
    None,
    One(Current),
    Many(Vec<Current>),
}

impl Sent {
    fn of(current: Option<Current>) -> Sent {
        current.map_or(Sent::None, Sent::One)
    }

    fn from_batch(mut cmds: Vec<Current>) -> Sent {
        match cmds.len() {
            0 => Sent::None,
            1 => Sent::of(cmds.pop()),
            _ => Sent::Many(cmds),
        }
    }

    fn into_vec(self) -> Vec<Current> {
        match self {
            Sent::None => Vec::new(),
            Sent::One(c) => vec![c],
            Sent::Many(v) => v,
        }
    }
}

/// A request that cannot go on until every outstanding reply has arrived.
#[derive(Debug)]
enum Held {
    /// Not dispatched yet (RESET, HELLO: they change what replies mean).
    Dispatch(Request),
    /// Dispatched; must be sent on the other upstream connection than the
    /// outstanding commands, so it waits to keep execution order.
    Send(Request, bool, Expect, WriteEffect, Option<Current>),
}

/// Why the loop stopped waiting.
enum Wake {
    Read(io::Result<usize>),
    Writable,
    Mux(JobResult),
    Flight(u64, JobResult),
    Push(Bytes),
    Pinned(Result<(Bytes, ReplyKind), UpstreamError>),
    Idle,
    Shutdown,
    Killed,
}

/// The state of one client connection.
pub struct Connection {
    ctx: Arc<Ctx>,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    session: Session,
    parser: RequestParser,
    rbuf: BytesMut,
    out: BytesMut,
    scratch: BytesMut,
    slots: VecDeque<Slot>,
    /// Commands sent upstream whose replies have not been written yet.
    outstanding: usize,
    /// Whether the outstanding commands went to the dedicated connection.
    outstanding_pinned: bool,
    held: Option<Held>,
    mux: MuxHandle,
    mux_tx: mpsc::UnboundedSender<JobResult>,
    mux_rx: mpsc::UnboundedReceiver<JobResult>,
    mux_done: VecDeque<JobResult>,
    batch: BytesMut,
    batch_count: u32,
    /// What the writes in `batch` do to L1.
    batch_effect: WriteEffect,
    /// The commands in `batch`.
    batch_cmds: Vec<Current>,
    /// The command being dispatched, until a reply slot takes it or it is
    /// counted as answered at once.
    current: Option<Current>,
    /// When the requests being processed were read.
    read_at: Instant,
    /// When the last run of commands answered on the spot was counted: the
    /// next run is timed from here (or from `read_at`, if later).
    last_end: Instant,
    /// Commands answered on the spot, not yet counted.
    run: Option<Run>,
    /// Outstanding slots that hold writes (L1 must not answer meanwhile).
    writes_outstanding: usize,
    flight_tx: mpsc::UnboundedSender<(u64, JobResult)>,
    flight_rx: mpsc::UnboundedReceiver<(u64, JobResult)>,
    flight_done: HashMap<u64, JobResult>,
    next_flight: u64,
    /// Done when this client's last catalogue task is: the next waits for
    /// it, so a client's catalogue commands run in order.
    task_chain: Option<oneshot::Receiver<()>>,
    /// Invalidation pushes for client-side caching through respite.
    push_rx: mpsc::UnboundedReceiver<Bytes>,
    pinned: Option<Pinned>,
    pinned_frames: VecDeque<Bytes>,
    /// No more requests are read; close once replies are out.
    closing: bool,
    /// RESET went up the dedicated connection; drop it when `+RESET` returns.
    reset_pending: bool,
    last_activity: Instant,
    shutdown: CancellationToken,
    /// The live `limits.*` as they were when the client connected.
    limits: LimitsConfig,
}

impl Connection {
    /// Set up a connection for an accepted socket.
    pub fn new(
        ctx: Arc<Ctx>,
        stream: TcpStream,
        session: Session,
        shutdown: CancellationToken,
    ) -> Self {
        let l = ctx.limits();
        let limits = Limits {
            max_bulk_len: l.max_bulk_len,
            max_multibulk_len: l.max_multibulk_len,
            max_inline_len: l.max_inline_len,
        };
        let mux = ctx.upstream.mux(session.proto, session.id()).clone();
        let (mux_tx, mux_rx) = mpsc::unbounded_channel();
        let (rd, wr) = stream.into_split();
        let (flight_tx, flight_rx) = mpsc::unbounded_channel();
        let (push_tx, push_rx) = mpsc::unbounded_channel();
        let mut session = session;
        session.push_tx = Some(push_tx);
        Connection {
            rd,
            wr,
            session,
            parser: RequestParser::new(limits),
            rbuf: BytesMut::with_capacity(READ_CHUNK),
            out: BytesMut::new(),
            scratch: BytesMut::new(),
            slots: VecDeque::new(),
            outstanding: 0,
            outstanding_pinned: false,
            held: None,
            mux,
            mux_tx,
            mux_rx,
            mux_done: VecDeque::new(),
            batch: BytesMut::new(),
            batch_count: 0,
            batch_effect: WriteEffect::None,
            batch_cmds: Vec::new(),
            current: None,
            read_at: Instant::now(),
            last_end: Instant::now(),
            run: None,
            writes_outstanding: 0,
            flight_tx,
            flight_rx,
            flight_done: HashMap::new(),
            next_flight: 0,
            task_chain: None,
            push_rx,
            pinned: None,
            pinned_frames: VecDeque::new(),
            closing: false,
            reset_pending: false,
            last_activity: Instant::now(),
            shutdown,
            limits: l,
            ctx,
        }
    }

    /// Serve the client until it leaves, is killed, or shutdown completes.
    pub async fn run(mut self) {
        let reason = self.serve().await;
        self.ctx.cache.clients.unregister(self.session.id());
        tracing::debug!(client = self.session.id(), reason, "client closed");
    }

    async fn serve(&mut self) -> &'static str {
        loop {
            if let Err(reason) = self.progress().await {
                return reason;
            }
            if self.closing && self.out.is_empty() && self.outstanding == 0 && self.held.is_none() {
                return "closed";
            }
            match self.wait().await {
                Wake::Read(r) => {
                    if let Err(reason) = self.after_read(r) {
                        return reason;
                    }
                }
                Wake::Writable => {}
                Wake::Mux(r) => self.mux_done.push_back(r),
                Wake::Flight(id, r) => {
                    self.flight_done.insert(id, r);
                }
                Wake::Push(push) => self.on_push(push),
                Wake::Pinned(r) => self.on_pinned(r),
                Wake::Idle => return "idle timeout",
                Wake::Shutdown => self.closing = true,
                Wake::Killed => return "killed",
            }
        }
    }

    /// Everything that can be done without waiting.
    async fn progress(&mut self) -> Result<(), &'static str> {
        while let Ok(r) = self.mux_rx.try_recv() {
            self.mux_done.push_back(r);
        }
        self.drain_slots();
        self.process_input().await;
        self.drain_slots();
        self.write()?;
        let limit = if self.session.pin.subscribed || self.session.pin.monitor {
            self.limits.pubsub_output_buffer_limit
        } else {
            self.limits.output_buffer_limit
        };
        if self.out.len() > limit {
            command::Stats::add(&self.ctx.stats.output_limit_disconnects, 1);
            tracing::warn!(
                client = self.session.id(),
                bytes = self.out.len(),
                limit,
                "output buffer limit reached, disconnecting client"
            );
            return Err("output buffer limit");
        }
        Ok(())
    }

    fn can_read(&self) -> bool {
        !self.closing
            && self.held.is_none()
            && self.outstanding < self.limits.max_inflight
            && self.out.len() < OUT_HIGH_WATER
    }

    async fn wait(&mut self) -> Wake {
        let can_read = self.can_read();
        if can_read {
            self.reserve_read();
        }
        let wants_write = !self.out.is_empty();
        let idle = self.idle_deadline();
        let pinned = async {
            match self.pinned.as_mut() {
                Some(p) => p.recv().await,
                None => std::future::pending().await,
            }
        };
        let kill = self.session.entry.kill.clone();
        tokio::select! {
            _ = kill.cancelled() => Wake::Killed,
            r = self.mux_rx.recv() => match r {
                Some(r) => Wake::Mux(r),
                None => Wake::Killed,
            },
            r = pinned => Wake::Pinned(r),
            Some((id, r)) = self.flight_rx.recv() => Wake::Flight(id, r),
            Some(push) = self.push_rx.recv() => Wake::Push(push),
            r = self.rd.read_buf(&mut self.rbuf), if can_read => Wake::Read(r),
            r = self.wr.writable(), if wants_write => match r {
                Ok(()) => Wake::Writable,
                Err(_) => Wake::Killed,
            },
            _ = sleep_until(idle), if idle.is_some() => Wake::Idle,
            _ = self.shutdown.cancelled(), if !self.closing => Wake::Shutdown,
        }
    }

    /// When an idle client is closed: Redis's `timeout`, never for clients
    /// waiting on upstream or subscribed.
    fn idle_deadline(&self) -> Option<Instant> {
        let secs = self.ctx.config.server.idle_timeout_secs;
        let exempt =
            self.outstanding > 0 || self.session.pin.subscribed || self.session.pin.monitor;
        (secs > 0 && !exempt).then(|| self.last_activity + Duration::from_secs(secs))
    }

    /// Make room for the next read: grow toward what the request in
    /// progress needs, geometrically, so a large value costs linear copying.
    fn reserve_read(&mut self) {
        let spare = self.rbuf.capacity() - self.rbuf.len();
        let want = self.parser.wanted(self.rbuf.len());
        if spare < READ_CHUNK / 4 || want > spare {
            let grow = want.clamp(READ_CHUNK, self.rbuf.len().max(READ_CHUNK));
            self.rbuf.reserve(grow);
        }
    }

    fn after_read(&mut self, r: io::Result<usize>) -> Result<(), &'static str> {
        match r {
            Ok(0) => Err("client closed"),
            Ok(n) => {
                self.last_activity = Instant::now();
                self.session.entry.touch();
                command::Stats::add(&self.ctx.stats.net_input_bytes, n as u64);
                Ok(())
            }
            Err(_) => Err("read error"),
        }
    }

    fn write(&mut self) -> Result<(), &'static str> {
        let before = self.out.len();
        let result = write_some(&self.wr, &mut self.out);
        let written = before - self.out.len();
        if written > 0 {
            // As in Redis, output counts as activity for the idle timeout:
            // a slow reply or a slow reader is not idle.
            self.last_activity = Instant::now();
            command::Stats::add(&self.ctx.stats.net_output_bytes, written as u64);
        }
        if result.is_err() {
            return Err("write error");
        }
        if self.out.is_empty() && self.out.capacity() > KEEP_CAPACITY {
            self.out = BytesMut::new();
        }
        if self.rbuf.is_empty() && self.rbuf.capacity() > KEEP_CAPACITY {
            self.rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        let held = self.out.capacity() + self.rbuf.capacity() + self.batch.capacity();
        self.session.entry.publish(held, self.outstanding);
        Ok(())
    }

    /// Parse and dispatch buffered requests while limits allow.
    async fn process_input(&mut self) {
        let mut processed = 0u64;
        if !self.rbuf.is_empty() {
            self.read_at = Instant::now();
        }
        while !self.closing {
            if !self.release_held().await {
                break;
            }
            if self.outstanding >= self.limits.max_inflight {
                break;
            }
            let req = match self.parser.parse(&mut self.rbuf) {
                Ok(Some(req)) => req,
                Ok(None) => break,
                Err(e) => {
                    self.protocol_error(e.into());
                    break;
                }
            };
            processed += 1;
            self.handle(req).await;
        }
        self.flush_batch();
        self.flush_run();
        if processed > 0 {
            command::Stats::add(&self.ctx.stats.commands_processed, processed);
        }
    }

    /// Carry out a held request once nothing is outstanding. Returns whether
    /// input processing may continue.
    async fn release_held(&mut self) -> bool {
        if self.held.is_none() {
            return true;
        }
        self.flush_batch();
        if self.outstanding > 0 {
            return false;
        }
        match self.held.take() {
            Some(Held::Dispatch(req)) => self.dispatch(req).await,
            Some(Held::Send(req, pinned, expect, effect, current)) => {
                self.current = current;
                self.send(req, pinned, expect, effect).await;
                self.finish_now(false);
            }
            None => {}
        }
        self.held.is_none()
    }

    async fn handle(&mut self, req: Request) {
        if command::is_barrier(&req) && (self.outstanding > 0 || self.batch_count > 0) {
            self.flush_batch();
            self.held = Some(Held::Dispatch(req));
            return;
        }
        self.dispatch(req).await;
    }

    async fn dispatch(&mut self, req: Request) {
        let mut w = ReplyWriter::new(&mut self.scratch, self.session.proto);
        let outcome = command::dispatch(&self.ctx, &mut self.session, &req, &mut w);
        // An L1 hit hands its request over in `read_cached`; cloning it here
        // would cost every hit a reference count.
        let raw = match outcome {
            Outcome::Read(_) => Bytes::new(),
            _ => req.raw.clone(),
        };
        self.current = self.session.cmd.take().map(|cmd| Current {
            cmd,
            started: self.read_at,
            raw,
        });
        let failed = matches!(self.scratch.first(), Some(b'-' | b'!'));
        match outcome {
            Outcome::Replied => self.emit_local(),
            Outcome::Quit => {
                self.emit_local();
                self.push_slot(Slot::Close);
                // As in Redis, nothing sent after QUIT is carried out.
                self.closing = true;
            }
            Outcome::Reset => {
                self.switch_mux();
                if self.pinned.is_some() {
                    self.reset_upstream(req).await;
                } else {
                    self.emit_local();
                }
            }
            Outcome::ProtoChanged => {
                if self.session.proto == crate::protocol::Proto::Resp2
                    && self.session.client_tracking
                {
                    // RESP2 has no pushes: tracking through respite ends.
                    self.ctx.cache.clients.unregister(self.session.id());
                    self.session.client_tracking = false;
                }
                if !self.session.pin.holds() {
                    self.drop_pinned();
                }
                self.switch_mux();
                self.emit_local();
            }
            Outcome::Forward {
                pinned,
                expect,
                effect,
            } => self.forward(req, pinned, expect, effect).await,
            Outcome::Read(read) => self.read_cached(req, read).await,
            Outcome::TrackedRead(keys) => self.read_tracked(req, &keys),
            Outcome::Task(task) => self.spawn_task(task),
        }
        self.finish_now(failed);
    }

    /// The current command was dispatched. Unless a reply slot took it (its
    /// reply is counted when it arrives, and the run so far ends), it was
    /// answered on the spot: it joins the run of its kind. The clock is
    /// read when a run ends, not per command: a run's commands ran back to
    /// back, so its time is their total.
    fn finish_now(&mut self, failed: bool) {
        let Some(c) = self.current.take() else {
            return self.flush_run();
        };
        let failed = u64::from(failed);
        match self.run.as_mut() {
            Some(r) if r.cmd == c.cmd => {
                r.calls += 1;
                r.failed += failed;
                r.last = c.raw;
            }
            _ => {
                self.flush_run();
                self.run = Some(Run {
                    cmd: c.cmd,
                    calls: 1,
                    from: self.last_end.max(self.read_at),
                    failed,
                    last: c.raw,
                });
            }
        }
    }

    /// Count the run of commands answered on the spot.
    fn flush_run(&mut self) {
        if let Some(r) = self.run.take() {
            let now = Instant::now();
            self.last_end = now;
            let usec = micros(now.saturating_duration_since(r.from));
            let entry = &self.session.entry;
            self.ctx
                .observe(r.cmd, r.calls, usec, r.failed, entry, || r.last);
        }
    }

    /// Count one command whose reply arrived at `now`.
    fn observe(&self, c: Current, now: Instant, failed: bool) {
        let usec = micros(now.saturating_duration_since(c.started));
        let entry = &self.session.entry;
        self.ctx
            .observe(c.cmd, 1, usec, u64::from(failed), entry, || c.raw);
    }

    /// Run a catalogue command after this client's previous one; its reply
    /// takes its place in the queue.
    fn spawn_task(&mut self, task: command::materials::Task) {
        self.next_flight += 1;
        let id = self.next_flight;
        let sent = Sent::of(self.current.take());
        self.await_reply(Slot::Task(id, sent));
        self.session.materials_pending += 1;
        let before = self.task_chain.take();
        let (done_tx, done_rx) = oneshot::channel();
        self.task_chain = Some(done_rx);
        let tx = self.flight_tx.clone();
        let fut = (task.0)(self.ctx.clone());
        tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            let reply = fut.await;
            let _ = tx.send((id, Ok(reply)));
            let _ = done_tx.send(());
        });
    }

    /// RESET with a dedicated connection open: it travels that connection,
    /// so replies already on their way (subscription confirmations, say)
    /// reach the client first; Redis's `+RESET` is the reply, and the
    /// connection is dropped when it arrives.
    async fn reset_upstream(&mut self, req: Request) {
        self.scratch.clear();
        self.reset_pending = true;
        let streaming = self.slots.iter().any(|s| matches!(s, Slot::Stream));
        let expect = if streaming {
            Expect::Stream
        } else {
            Expect::One
        };
        self.send(req, true, expect, WriteEffect::None).await;
    }

    /// A read by a client that respite tracks, which L1 does not serve: its
    /// keys are remembered, and it goes upstream tracked.
    fn read_tracked(&mut self, req: Request, keys: &[Bytes]) {
        self.remember(keys);
        if self.switches_connection(false) {
            // Dispatched again once the dedicated connection's replies are
            // in (and counted then).
            self.current = None;
            self.held = Some(Held::Dispatch(req));
            return;
        }
        self.send_job(cache::pass_tracked(&req.raw, self.mux_tx.clone()));
    }

    /// A tracking client is about to read `keys`: remembered before the
    /// read, so an invalidation racing it still reaches the client (after
    /// the read's reply: see [`Connection::on_push`]).
    fn remember(&self, keys: &[Bytes]) {
        let id = self.session.id();
        for key in keys {
            self.ctx.cache.clients.remember(id, key);
        }
    }

    /// An invalidation push for this client: behind the replies of reads
    /// already in flight, as Redis orders pushes after the replies of
    /// commands it ran before the write, so a client never caches a reply
    /// after being told it was stale (a push for a write the read already
    /// saw then costs one needless eviction, never a stale value). Never
    /// behind a command that can block for long (a blocking pop, a stream
    /// of pushes): no read is in flight behind one, reads wait for it.
    fn on_push(&mut self, push: Bytes) {
        let at = self
            .slots
            .iter()
            .position(|s| matches!(s, Slot::Pinned(_, _, true) | Slot::Stream))
            .unwrap_or(self.slots.len());
        if at == 0 {
            self.out.extend_from_slice(&push);
        } else {
            self.slots.insert(at, Slot::Ready(push));
        }
    }

    /// Whether sending on the dedicated (`pinned`) or the multiplexed
    /// connection would overtake commands still outstanding on the other.
    fn switches_connection(&self, pinned: bool) -> bool {
        pinned != self.outstanding_pinned && (self.outstanding > 0 || self.batch_count > 0)
    }

    /// Take a place in the reply queue for one command answered through the
    /// multiplexed connection (after the batch gathered so far).
    fn await_reply(&mut self, slot: Slot) {
        self.flush_batch();
        self.outstanding_pinned = false;
        self.outstanding += 1;
        self.push_slot(slot);
    }

    /// Send one job of its own on the multiplexed connection, after the batch.
    fn send_job(&mut self, job: Job) {
        let sent = Sent::of(self.current.take());
        self.await_reply(Slot::Mux(1, WriteEffect::None, sent));
        self.mux.send(job);
    }

    /// Send upstream, unless it must wait for the other connection's replies.
    async fn forward(&mut self, req: Request, pinned: bool, expect: Expect, effect: WriteEffect) {
        if self.switches_connection(pinned) {
            self.flush_batch();
            let current = self.current.take();
            self.held = Some(Held::Send(req, pinned, expect, effect, current));
        } else {
            self.send(req, pinned, expect, effect).await;
        }
    }

    /// A cacheable read: a hit is answered now; a miss becomes a tracked read
    /// (or waits for an identical one). While this client's own writes are
    /// outstanding, L1 may not have seen them yet, so the read is forwarded.
    async fn read_cached(&mut self, req: Request, read: CacheRead) {
        let tracking = self.session.client_tracking;
        if tracking {
            self.remember(read_keys(&read));
        }
        let busy =
            self.writes_outstanding > 0 || self.batch_effect.is_write() || self.outstanding_pinned;
        if busy && self.outstanding > 0 {
            if let Some(c) = self.current.as_mut() {
                c.raw = req.raw.clone();
            }
            if tracking && !self.outstanding_pinned {
                return self.send_job(cache::pass_tracked(&req.raw, self.mux_tx.clone()));
            }
            return self
                .forward(req, false, Expect::One, WriteEffect::None)
                .await;
        }
        if let Some(reply) = self.ctx.cache.lookup(&read) {
            self.emit_bytes(reply);
            if let Some(c) = self.current.as_mut() {
                c.raw = req.raw;
            }
            return;
        }
        if let Some(c) = self.current.as_mut() {
            c.raw = req.raw.clone();
        }
        let cache = self.ctx.cache.clone();
        let client = self.mux_tx.clone();
        match cache.miss(
            read,
            &req.raw,
            client,
            &self.flight_tx,
            &mut self.next_flight,
        ) {
            Miss::Lead(job) => self.send_job(job),
            Miss::Wait(id) => {
                let sent = Sent::of(self.current.take());
                self.await_reply(Slot::Flight(id, sent))
            }
        }
    }

    /// A dedicated connection's frame went to the client: if it answers a
    /// RESET, the connection's state is gone and so is the connection.
    fn after_pinned_frame(&mut self, frame: &[u8]) -> bool {
        if self.reset_pending && frame == b"+RESET\r\n" {
            self.reset_pending = false;
            self.drop_pinned();
            return true;
        }
        false
    }

    /// Use the multiplexed connection of the session's (new) protocol.
    fn switch_mux(&mut self) {
        self.mux = self
            .ctx
            .upstream
            .mux(self.session.proto, self.session.id())
            .clone();
    }

    async fn send(&mut self, req: Request, pinned: bool, expect: Expect, effect: WriteEffect) {
        self.outstanding_pinned = pinned;
        if !pinned {
            self.batch_effect.merge(effect);
            self.batch.extend_from_slice(&req.raw);
            self.batch_count += 1;
            self.batch_cmds.extend(self.current.take());
            self.outstanding += 1;
            if self.batch.len() >= BATCH_BYTES {
                self.flush_batch();
            }
            return;
        }
        self.flush_batch();
        if self.pinned.is_none() {
            match self.ctx.upstream.pin(self.session.proto).await {
                Ok(p) => self.pinned = Some(p),
                Err(e) => return self.pin_failed(e),
            }
        }
        let sent = match self.pinned.as_mut() {
            Some(p) => p.send(&req.raw),
            None => return,
        };
        match expect {
            Expect::One => {
                self.outstanding += 1;
                if effect.is_write() {
                    self.writes_outstanding += 1;
                }
                let blocking = self
                    .current
                    .as_ref()
                    .is_some_and(|c| table::by_id(c.cmd).is_some_and(|sp| sp.blocks(&req.argv)));
                if blocking {
                    self.session.entry.block(true);
                }
                let sent = Sent::of(self.current.take());
                self.push_slot(Slot::Pinned(effect, sent, blocking));
            }
            Expect::Pushes => {}
            Expect::Stream => {
                if !self.slots.iter().any(|s| matches!(s, Slot::Stream)) {
                    self.push_slot(Slot::Stream);
                }
            }
        }
        if let Err(e) = sent {
            self.on_pinned(Err(e));
        }
    }

    /// A dedicated connection could not be opened: the command fails and
    /// the state it would have created is not held.
    fn pin_failed(&mut self, e: UpstreamError) {
        let s = &mut self.session;
        let in_multi = s.pin.multi;
        s.pin = command::PinState::default();
        s.streaming = false;
        s.db = self.ctx.upstream.db();
        s.multi_failed = in_multi;
        s.sync_entry();
        self.outstanding_pinned = false;
        self.emit_error(&ReplyError::Upstream(e));
    }

    fn on_pinned(&mut self, r: Result<(Bytes, ReplyKind), UpstreamError>) {
        match r {
            Ok((frame, ReplyKind::Push)) => self.out.extend_from_slice(&frame),
            Ok((frame, _)) => self.pinned_frames.push_back(frame),
            Err(e) => self.pinned_lost(e),
        }
    }

    /// The dedicated connection broke: its pending replies become errors. A
    /// client whose state lived there is disconnected, as it would be if
    /// Redis itself went away; otherwise it carries on.
    fn pinned_lost(&mut self, e: UpstreamError) {
        tracing::warn!(client = self.session.id(), error = %e, "dedicated upstream connection lost");
        let line = ReplyError::Upstream(e).line();
        let mut errors = 0;
        let mut lost = Vec::new();
        for slot in self.slots.iter_mut() {
            if let Slot::Pinned(effect, sent, blocking) = slot {
                // The write may or may not have run: drop its keys anyway.
                self.ctx.cache.apply_write(effect);
                if *blocking {
                    self.session.entry.block(false);
                }
                lost.push(std::mem::take(sent));
                if effect.is_write() {
                    self.writes_outstanding -= 1.min(self.writes_outstanding);
                }
                let mut b = BytesMut::new();
                encode::error(&mut b, &line);
                *slot = Slot::Ready(b.freeze());
                errors += 1;
            }
        }
        for sent in lost {
            self.observe_failed(sent);
        }
        self.outstanding -= errors.min(self.outstanding);
        self.drop_pinned();
        if self.session.pin.holds() || self.session.streaming {
            self.slots.retain(|s| !matches!(s, Slot::Stream));
            self.push_slot(Slot::Close);
            self.closing = true;
        }
    }

    fn drop_pinned(&mut self) {
        self.pinned = None;
        self.pinned_frames.clear();
        self.slots.retain(|s| !matches!(s, Slot::Stream));
        self.outstanding_pinned = false;
        self.reset_pending = false;
    }

    /// Send the forwarded commands gathered so far as one job.
    fn flush_batch(&mut self) {
        if self.batch_count == 0 {
            return;
        }
        let job = Job {
            payload: self.batch.split().freeze(),
            count: self.batch_count,
            reply_to: JobReply::Client(self.mux_tx.clone()),
        };
        let effect = std::mem::take(&mut self.batch_effect);
        if effect.is_write() {
            self.writes_outstanding += 1;
        }
        let sent = Sent::from_batch(std::mem::take(&mut self.batch_cmds));
        self.push_slot(Slot::Mux(self.batch_count, effect, sent));
        self.batch_count = 0;
        self.mux.send(job);
    }

    fn push_slot(&mut self, slot: Slot) {
        self.slots.push_back(slot);
    }

    /// Queue the local reply in `scratch` behind every earlier reply.
    fn emit_local(&mut self) {
        let bytes = self.scratch.split().freeze();
        self.emit_bytes(bytes);
    }

    /// Queue a reply that is already encoded (an L1 hit) behind every
    /// earlier reply, without copying it when it must wait.
    fn emit_bytes(&mut self, reply: Bytes) {
        self.flush_batch();
        if self.slots.is_empty() || matches!(self.slots.front(), Some(Slot::Stream)) {
            self.out.extend_from_slice(&reply);
        } else {
            self.push_slot(Slot::Ready(reply));
        }
    }

    fn emit_error(&mut self, e: &ReplyError) {
        encode::error(&mut self.scratch, &e.line());
        self.emit_local();
    }

    /// Bad framing: answer the error after earlier replies, then close.
    fn protocol_error(&mut self, e: ReplyError) {
        command::Stats::add(&self.ctx.stats.protocol_errors, 1);
        tracing::debug!(client = self.session.id(), error = %e, "protocol error");
        self.emit_error(&e);
        self.push_slot(Slot::Close);
        self.closing = true;
    }

    /// Move every reply that is ready at the head of the queue to the output.
    fn drain_slots(&mut self) {
        while let Some(front) = self.slots.front() {
            match front {
                Slot::Stream => {
                    if self.drain_stream() {
                        return;
                    }
                }
                Slot::Close => {
                    self.closing = true;
                    self.rbuf.clear();
                    self.slots.pop_front();
                }
                _ => {
                    let Some(result) = self.head_result() else {
                        return;
                    };
                    if let Some(slot) = self.slots.pop_front() {
                        self.complete(slot, result);
                    }
                }
            }
        }
    }

    /// The head slot's reply, if it has arrived.
    fn head_result(&mut self) -> Option<JobResult> {
        match self.slots.front()? {
            Slot::Ready(b) => Some(Ok(b.clone())),
            Slot::Mux(..) => self.mux_done.pop_front(),
            Slot::Pinned(..) => self.pinned_frames.pop_front().map(Ok),
            Slot::Flight(id, _) | Slot::Task(id, _) => self.flight_done.remove(id),
            Slot::Stream | Slot::Close => None,
        }
    }

    /// A slot's reply arrived: apply its writes to L1 first (read-your-writes),
    /// then write the reply, or one error per command it stood for.
    fn complete(&mut self, slot: Slot, result: JobResult) {
        let pinned = matches!(slot, Slot::Pinned(..));
        let (count, effect, sent) = match slot {
            Slot::Mux(n, effect, sent) => (n as usize, effect, sent),
            Slot::Pinned(effect, sent, blocking) => {
                if blocking {
                    self.session.entry.block(false);
                }
                (1, effect, sent)
            }
            Slot::Flight(_, sent) => (1, WriteEffect::None, sent),
            Slot::Task(_, sent) => {
                self.session.materials_pending -= 1.min(self.session.materials_pending);
                (1, WriteEffect::None, sent)
            }
            _ => (0, WriteEffect::None, Sent::None),
        };
        self.observe_replies(sent, &result);
        if effect.is_write() {
            self.ctx.cache.apply_write(&effect);
            self.writes_outstanding -= 1.min(self.writes_outstanding);
        }
        self.outstanding -= count.min(self.outstanding);
        match result {
            Ok(b) => {
                self.out.extend_from_slice(&b);
                if pinned {
                    self.after_pinned_frame(&b);
                }
            }
            Err(e) => {
                let line = ReplyError::Upstream(e).line();
                for _ in 0..count.max(1) {
                    encode::error(&mut self.out, &line);
                }
            }
        }
    }

    /// Count the commands behind a slot whose replies arrived: each failed
    /// if its reply is an error (or none came).
    fn observe_replies(&self, sent: Sent, result: &JobResult) {
        let now = Instant::now();
        match (sent, result) {
            (Sent::None, _) => {}
            (Sent::One(c), Ok(b)) => self.observe(c, now, matches!(b.first(), Some(b'-' | b'!'))),
            (Sent::Many(cmds), Ok(b)) => {
                let mut kinds = reply::frames(b).map(|(_, _, kind)| kind);
                for c in cmds {
                    let failed = !matches!(kinds.next(), Some(ReplyKind::Reply | ReplyKind::Push));
                    self.observe(c, now, failed);
                }
            }
            (sent, Err(_)) => self.observe_failed(sent),
        }
    }

    /// Count commands that got no reply from upstream as failed.
    fn observe_failed(&self, sent: Sent) {
        let now = Instant::now();
        for c in sent.into_vec() {
            self.observe(c, now, true);
        }
    }

    /// Stream everything the dedicated connection sent. Returns true while
    /// the stream stays at the head of the queue.
    fn drain_stream(&mut self) -> bool {
        while let Some(b) = self.pinned_frames.pop_front() {
            self.out.extend_from_slice(&b);
            if self.after_pinned_frame(&b) {
                break;
            }
        }
        self.slots
            .front()
            .is_some_and(|s| matches!(s, Slot::Stream))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The keys a cacheable read reads.
fn read_keys(read: &CacheRead) -> &[Bytes] {
    match read {
        CacheRead::Single { key, .. } => std::slice::from_ref(key),
        CacheRead::Mget { keys, .. } => keys,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
