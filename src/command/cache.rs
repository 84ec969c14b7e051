//! Where commands meet the L1 cache.
//!
//! A read-only command with a known key (GET, HGET, LRANGE, ZSCORE …) is
//! *cacheable*: its reply is stored under the key and a *variant* (the
//! protocol version, the command and its other arguments), so any change to
//! the key drops every reply that read it. MGET is served and filled per key,
//! as GETs. A miss is sent upstream as a tracked read (`CLIENT CACHING yes`,
//! the read, `PTTL key`), completed on the pooled connection's task: it
//! fills L1 if the read's ticket is still valid and Redis tracked it, then
//! answers its client and every client whose identical miss coalesced onto
//! it. Writes through respite drop their keys before the client sees the
//! reply; tracking pushes drop keys changed by anyone else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::table::{CommandSpec, Flags};
use super::tracking::ClientTracking;
use crate::cache::{self, FillOutcome, Ticket, L1};
use crate::config::Config;
use crate::error::UpstreamError;
use crate::protocol::encode;
use crate::protocol::reply::split_frames;
use crate::protocol::{Proto, Request};
use crate::upstream::{
    Invalidations, Job, JobReply, JobResult, MuxHandle, TrackedRead, Tracking, TrackingMode,
};

/// Reads whose replies may be cached: name and whether extra arguments
/// (beyond the key) are allowed. Never TTL/PTTL, whose answers change with
/// time, nor anything non-deterministic.
const CACHEABLE: &[&str] = &[
    "get",
    "hget",
    "hmget",
    "hgetall",
    "hexists",
    "hlen",
    "exists",
    "strlen",
    "getrange",
    "lrange",
    "llen",
    "lindex",
    "smembers",
    "sismember",
    "scard",
    "zrange",
    "zscore",
    "zcard",
    "zrank",
    "type",
    "hstrlen",
    "zrevrank",
    "zcount",
    "zmscore",
    "smismember",
    "zrangebyscore",
    "zrevrange",
    "hkeys",
    "hvals",
];

/// A read that L1 may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheRead {
    /// A single-key read.
    Single {
        /// The key it reads.
        key: Bytes,
        /// What else identifies the reply (protocol, command, other args).
        variant: Bytes,
    },
    /// MGET: answered from the keys' GET replies when all are cached.
    Mget {
        /// The keys, in order.
        keys: Vec<Bytes>,
        /// The GET variant in this protocol.
        variant: Bytes,
    },
}

/// What a write does to L1 once its reply arrives (before the client sees it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WriteEffect {
    /// Nothing (a read, or a command with no keys that writes nothing).
    #[default]
    None,
    /// Drop these keys.
    Keys(Vec<Bytes>),
    /// Drop everything (FLUSHALL, FLUSHDB, SWAPDB … : writes without keys).
    All,
}

impl WriteEffect {
    /// Fold another command's effect into a batch's.
    pub fn merge(&mut self, other: WriteEffect) {
        match (std::mem::take(self), other) {
            (WriteEffect::All, _) | (_, WriteEffect::All) => *self = WriteEffect::All,
            (WriteEffect::Keys(mut a), WriteEffect::Keys(b)) => {
                a.extend(b);
                *self = WriteEffect::Keys(a);
            }
            (WriteEffect::Keys(a), WriteEffect::None)
            | (WriteEffect::None, WriteEffect::Keys(a)) => *self = WriteEffect::Keys(a),
            (WriteEffect::None, WriteEffect::None) => {}
        }
    }

    /// Whether the command may change data.
    pub fn is_write(&self) -> bool {
        !matches!(self, WriteEffect::None)
    }
}

/// The cacheable read `argv` is, if any.
pub fn cacheable(spec: &CommandSpec, argv: &[Bytes], proto: Proto) -> Option<CacheRead> {
    if !spec.flags.contains(Flags::READONLY) || spec.flags.contains(Flags::NONDETERMINISTIC_OUTPUT)
    {
        return None;
    }
    let key = argv.get(1)?;
    if spec.name == "mget" {
        return Some(CacheRead::Mget {
            keys: argv.get(1..)?.to_vec(),
            variant: variant(proto, "get", &[]),
        });
    }
    if spec.name == "exists" && argv.len() != 2 {
        return None;
    }
    CACHEABLE.contains(&spec.name).then(|| CacheRead::Single {
        key: key.clone(),
        variant: variant(proto, spec.name, argv.get(2..).unwrap_or_default()),
    })
}

/// The variant: protocol version, command name, then each further argument
/// length-prefixed (so `a b` and `ab` differ).
fn variant(proto: Proto, name: &str, rest: &[Bytes]) -> Bytes {
    let mut v =
        BytesMut::with_capacity(1 + name.len() + rest.iter().map(|a| a.len() + 4).sum::<usize>());
    v.put_u8(proto.version());
    v.put_slice(name.as_bytes());
    for a in rest {
        v.put_u32(a.len() as u32);
        v.put_slice(a);
    }
    v.freeze()
}

/// What a write through respite does to L1.
pub fn write_effect(spec: Option<&CommandSpec>, argv: &[Bytes]) -> WriteEffect {
    let Some(spec) = spec else {
        return WriteEffect::None;
    };
    if spec.flags.contains(Flags::READONLY) {
        return WriteEffect::None;
    }
    let mut at = Vec::new();
    spec.key_indices(argv, &mut at);
    if at.is_empty() {
        return if spec.flags.contains(Flags::WRITE) {
            WriteEffect::All
        } else {
            WriteEffect::None
        };
    }
    WriteEffect::Keys(at.iter().filter_map(|&i| argv.get(i).cloned()).collect())
}

/// Counters of the cache layer beyond the store's own.
#[derive(Debug, Default)]
pub struct CacheCounters {
    /// Misses that waited for an identical miss already in flight.
    pub coalesced: AtomicU64,
    /// Keys dropped because a write went through respite.
    pub local_invalidations: AtomicU64,
    /// Keys dropped by tracking pushes.
    pub pushed_invalidations: AtomicU64,
    /// Times everything was dropped.
    pub flushes: AtomicU64,
}

type FlightKey = (Bytes, Bytes);

/// Sent before every tracked read: with `OPTIN`, Redis tracks only the
/// reads that follow it.
const CACHING_YES: &[u8] = b"*3\r\n$6\r\nCLIENT\r\n$7\r\nCACHING\r\n$3\r\nyes\r\n";

/// Clients waiting for an identical miss: where to send, and the slot id.
type Waiters = Vec<(mpsc::UnboundedSender<(u64, JobResult)>, u64)>;

/// The L1 cache, its policy and the misses in flight.
#[derive(Debug)]
pub struct CacheLayer {
    /// The store.
    pub l1: L1,
    /// Whether L1 serves reads at all.
    pub enabled: bool,
    /// Extra counters.
    pub counters: CacheCounters,
    tracking: Arc<Tracking>,
    ttl_only_max: Duration,
    /// Misses in flight: the ticket their read was sent under, and who waits.
    flights: Mutex<HashMap<FlightKey, (Ticket, Waiters)>>,
    /// Invalidation lag, as measured by the probe.
    pub lag: LagProbe,
    /// Clients doing client-side caching through respite.
    pub clients: ClientTracking,
}

/// Invalidation lag: from a probe write upstream to its invalidation push.
#[derive(Debug)]
pub struct LagProbe {
    key: Bytes,
    started: Instant,
    /// When the pending probe write was sent (µs since `started`; 0: none).
    sent_us: AtomicU64,
    /// The last lag measured, in µs.
    pub last_us: AtomicU64,
    /// The largest lag measured, in µs.
    pub max_us: AtomicU64,
    /// How many lags were measured.
    pub samples: AtomicU64,
}

impl LagProbe {
    fn new() -> Self {
        LagProbe {
            key: Bytes::from(format!("__respite:probe:{}", std::process::id())),
            started: Instant::now(),
            sent_us: AtomicU64::new(0),
            last_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
            samples: AtomicU64::new(0),
        }
    }

    fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    /// An invalidation arrived for `key`: if it is the probe's, time it.
    fn observe(&self, key: &[u8]) {
        if key != self.key {
            return;
        }
        let sent = self.sent_us.swap(0, Ordering::AcqRel);
        if sent == 0 {
            return;
        }
        let lag = self.now_us().saturating_sub(sent);
        self.last_us.store(lag, Ordering::Relaxed);
        self.max_us.fetch_max(lag, Ordering::Relaxed);
        self.samples.fetch_add(1, Ordering::Relaxed);
        crate::metrics::record_invalidation_lag(Duration::from_micros(lag));
    }
}

/// The probe's tracked read: just hands the reply back.
#[derive(Debug)]
struct ProbeRead(mpsc::UnboundedSender<JobResult>);

impl TrackedRead for ProbeRead {
    fn complete(self: Box<Self>, result: JobResult, _tracked: bool) {
        let _ = self.0.send(result);
    }
}

/// How a miss is carried out.
#[derive(Debug)]
pub enum Miss {
    /// Send this tracked job; its reply comes back on the client's channel.
    Lead(Job),
    /// An identical miss is in flight: its reply arrives as this slot id.
    Wait(u64),
}

impl CacheLayer {
    /// Build from config; `tracking` is the upstream's tracking state.
    pub fn new(config: &Config, tracking: Arc<Tracking>) -> Self {
        let c = &config.l1;
        let l1 = L1::new(cache::L1Config {
            budget_bytes: if c.enabled { c.budget_bytes } else { 0 },
            max_value_bytes: c.max_value_bytes,
            max_ttl: Duration::from_millis(c.max_ttl_ms),
            admit_min_reads: c.admit_min_reads,
            allow: c.allow.clone(),
            deny: c.deny.clone(),
        });
        CacheLayer {
            l1,
            enabled: c.enabled && c.budget_bytes > 0,
            counters: CacheCounters::default(),
            tracking,
            ttl_only_max: Duration::from_millis(c.ttl_only_max_ttl_ms),
            flights: Mutex::new(HashMap::new()),
            lag: LagProbe::new(),
            clients: ClientTracking::default(),
        }
    }

    /// Measure invalidation lag every `interval` on `mux`: read the probe
    /// key tracked, then overwrite it with the time; the listener's push for
    /// it stops the clock. Ends when the connection task is gone.
    pub fn spawn_lag_probe(self: &Arc<Self>, mux: MuxHandle, interval: Duration) {
        let layer = self.clone();
        tokio::spawn(async move {
            let (tx, mut rx) = mpsc::unbounded_channel();
            let key = layer.lag.key.clone();
            loop {
                tokio::time::sleep(interval).await;
                let mut read = BytesMut::from(CACHING_YES);
                read.extend_from_slice(&Request::from_args([b"GET".as_ref(), &key]).raw);
                let probe = Box::new(ProbeRead(tx.clone()));
                mux.send(Job {
                    payload: read.freeze(),
                    count: 2,
                    reply_to: JobReply::Tracked(probe),
                });
                if !matches!(rx.recv().await, Some(Ok(_))) {
                    continue;
                }
                let now = layer.lag.now_us().max(1);
                let write = Request::from_args([
                    b"SET".as_ref(),
                    &key,
                    now.to_string().as_bytes(),
                    b"PX",
                    b"10000",
                ]);
                layer.lag.sent_us.store(now, Ordering::Release);
                mux.send(Job {
                    payload: write.raw,
                    count: 1,
                    reply_to: JobReply::Client(tx.clone()),
                });
                if rx.recv().await.is_none() {
                    return;
                }
            }
        });
    }

    /// The tracking mode, for INFO.
    pub fn tracking(&self) -> &Tracking {
        &self.tracking
    }

    /// The cached reply to `read`, if L1 has it (all of MGET's keys).
    pub fn lookup(&self, read: &CacheRead) -> Option<Bytes> {
        match read {
            CacheRead::Single { key, variant } => self.l1.get(key, variant),
            CacheRead::Mget { keys, variant } => self.mget(keys, variant),
        }
    }

    /// MGET from L1: every key is looked up (so each read counts towards
    /// admission), and it is a hit only if all are.
    fn mget(&self, keys: &[Bytes], variant: &[u8]) -> Option<Bytes> {
        let mut out = BytesMut::new();
        encode::array_header(&mut out, keys.len());
        let mut complete = true;
        for k in keys {
            match self.l1.get(k, variant) {
                Some(reply) if complete => out.extend_from_slice(&reply),
                Some(_) => {}
                None => complete = false,
            }
        }
        complete.then(|| out.freeze())
    }

    /// Whether every key of `read` may be cached (patterns).
    pub fn allowed(&self, read: &CacheRead) -> bool {
        match read {
            CacheRead::Single { key, .. } => self.l1.allowed(key),
            CacheRead::Mget { keys, .. } => keys.iter().all(|k| self.l1.allowed(k)),
        }
    }

    /// Plan a miss of `read` (whose request is `raw`): lead a tracked read,
    /// or wait for an identical one already in flight.
    pub fn miss(
        self: &Arc<Self>,
        read: CacheRead,
        raw: &Bytes,
        client: mpsc::UnboundedSender<JobResult>,
        flight_tx: &mpsc::UnboundedSender<(u64, JobResult)>,
        next_slot: &mut u64,
    ) -> Miss {
        let flight = match &read {
            CacheRead::Single { key, variant } => Some((key.clone(), variant.clone())),
            CacheRead::Mget { .. } => None,
        };
        if let Some(fk) = &flight {
            if let Ok(mut flights) = self.flights.lock() {
                let now = self.l1.ticket(&fk.0);
                match flights.get_mut(fk) {
                    // Join only a read sent after every invalidation of the
                    // key so far: one sent before a write this client saw
                    // acknowledged may return what that write replaced.
                    Some((sent, waiters)) if *sent == now => {
                        *next_slot += 1;
                        waiters.push((flight_tx.clone(), *next_slot));
                        self.counters.coalesced.fetch_add(1, Ordering::Relaxed);
                        return Miss::Wait(*next_slot);
                    }
                    Some(_) => return Miss::Lead(self.tracked_job(read, raw, client, None)),
                    None => {
                        flights.insert(fk.clone(), (now, Vec::new()));
                    }
                }
            }
        }
        Miss::Lead(self.tracked_job(read, raw, client, flight))
    }

    fn tracked_job(
        self: &Arc<Self>,
        read: CacheRead,
        raw: &Bytes,
        client: mpsc::UnboundedSender<JobResult>,
        flight: Option<FlightKey>,
    ) -> Job {
        let (cmds, tickets) = match &read {
            CacheRead::Single { key, .. } => (
                vec![Request::from_args([b"PTTL".as_ref(), key])],
                vec![self.l1.ticket(key)],
            ),
            CacheRead::Mget { keys, .. } => (
                keys.iter()
                    .map(|k| Request::from_args([b"PTTL".as_ref(), k]))
                    .collect(),
                keys.iter().map(|k| self.l1.ticket(k)).collect(),
            ),
        };
        let mut payload = BytesMut::new();
        payload.extend_from_slice(CACHING_YES);
        payload.extend_from_slice(raw);
        for c in &cmds {
            payload.extend_from_slice(&c.raw);
        }
        Job {
            payload: payload.freeze(),
            count: 2 + cmds.len() as u32,
            reply_to: JobReply::Tracked(Box::new(Fill {
                layer: self.clone(),
                read,
                tickets,
                client,
                flight,
                sent: Instant::now(),
            })),
        }
    }

    /// Drop what a write through respite changed.
    pub fn apply_write(&self, effect: &WriteEffect) {
        match effect {
            WriteEffect::None => {}
            WriteEffect::Keys(keys) => {
                for k in keys {
                    self.l1.invalidate(k);
                }
                self.clients.invalidate(keys);
                self.counters
                    .local_invalidations
                    .fetch_add(keys.len() as u64, Ordering::Relaxed);
            }
            WriteEffect::All => self.flush(),
        }
    }

    fn flush(&self) {
        self.l1.flush();
        self.clients.flush();
        self.counters.flushes.fetch_add(1, Ordering::Relaxed);
    }

    /// Fill L1 with `value`, derived from a tracked read of `key` sent at
    /// `sent` under `ticket` (materials replies built from L2 values).
    /// `pttl` is the key's remaining lifetime upstream. Nothing is stored
    /// when Redis did not track the read (unless the upstream has no
    /// tracking at all: then the TTL-only cap applies).
    pub fn fill_derived(
        &self,
        key: &Bytes,
        variant: &[u8],
        value: Bytes,
        read: ReadInfo,
        ticket: Ticket,
    ) -> FillOutcome {
        let Some(cap) = self.fill_cap(read.tracked) else {
            return FillOutcome::Stale;
        };
        let ttl = fill_lifetime(read.pttl, cap, read.sent.elapsed());
        self.l1.fill(key, variant, value, ttl, ticket)
    }

    /// The fill lifetime cap, or `None` when a fill must not happen.
    /// Together with [`fill_lifetime`], the one place a fill's lifetime
    /// is decided, for plain reads and the catalogue alike.
    fn fill_cap(&self, tracked: bool) -> Option<Option<Duration>> {
        match self.tracking.mode() {
            TrackingMode::Off => Some(Some(self.ttl_only_max)),
            _ if tracked => Some(None),
            _ => None,
        }
    }

    fn finish_flight(&self, flight: Option<FlightKey>, result: &JobResult) {
        let Some(fk) = flight else {
            return;
        };
        let waiters = self
            .flights
            .lock()
            .ok()
            .and_then(|mut f| f.remove(&fk))
            .map(|(_, waiters)| waiters)
            .unwrap_or_default();
        for (tx, slot) in waiters {
            let _ = tx.send((slot, result.clone()));
        }
    }
}

impl Invalidations for CacheLayer {
    fn keys(&self, keys: &[Bytes]) {
        for k in keys {
            self.lag.observe(k);
            self.l1.invalidate(k);
        }
        self.clients.invalidate(keys);
        self.counters
            .pushed_invalidations
            .fetch_add(keys.len() as u64, Ordering::Relaxed);
    }

    fn all(&self, reason: &'static str) {
        tracing::debug!(reason, "L1 flushed");
        self.flush();
    }
}

/// What is known about the tracked read a derived L1 fill comes from.
#[derive(Clone, Copy, Debug)]
pub struct ReadInfo {
    /// Whether Redis tracked the read.
    pub tracked: bool,
    /// The key's remaining lifetime upstream, if it has one.
    pub pttl: Option<Duration>,
    /// When the read was sent.
    pub sent: Instant,
}

/// A read of a tracking client that L1 does not serve: sent tracked (after
/// `CLIENT CACHING yes`) so Redis reports changes to what it read.
pub fn pass_tracked(raw: &Bytes, client: mpsc::UnboundedSender<JobResult>) -> Job {
    let mut payload = BytesMut::from(CACHING_YES);
    payload.extend_from_slice(raw);
    Job {
        payload: payload.freeze(),
        count: 2,
        reply_to: JobReply::Tracked(Box::new(PassTracked(client))),
    }
}

/// Hands a tracked pass-through read's own reply (after `+OK`) back.
#[derive(Debug)]
struct PassTracked(mpsc::UnboundedSender<JobResult>);

impl TrackedRead for PassTracked {
    fn complete(self: Box<Self>, result: JobResult, _tracked: bool) {
        let reply = result.map(|bytes| split_frames(&bytes).get(1).cloned().unwrap_or_default());
        let _ = self.0.send(reply);
    }
}

/// A tracked read in flight: fills L1 and answers its clients on completion.
#[derive(Debug)]
struct Fill {
    layer: Arc<CacheLayer>,
    read: CacheRead,
    tickets: Vec<Ticket>,
    client: mpsc::UnboundedSender<JobResult>,
    flight: Option<FlightKey>,
    /// When the read was sent: Redis read the PTTLs after this, so lifetimes
    /// count from here, however late the reply arrives.
    sent: Instant,
}

impl TrackedRead for Fill {
    fn complete(self: Box<Self>, result: JobResult, tracked: bool) {
        let answer = result.and_then(|bytes| self.split_and_fill(bytes, tracked));
        self.layer.finish_flight(self.flight.clone(), &answer);
        let _ = self.client.send(answer);
    }
}

/// How long a fill may live in L1: no longer than the key's remaining
/// lifetime upstream (`pttl`, `None` = no expiry) nor the cap, minus the
/// read's age; `None` = no limit.
fn fill_lifetime(pttl: Option<Duration>, cap: Option<Duration>, age: Duration) -> Option<Duration> {
    let ttl = match (pttl, cap) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    };
    ttl.map(|t| t.saturating_sub(age))
}

impl Fill {
    /// Split `+OK`, the read's reply and the PTTL replies; fill L1; return
    /// the read's reply.
    fn split_and_fill(&self, bytes: Bytes, tracked: bool) -> Result<Bytes, UpstreamError> {
        let frames = split_frames(&bytes);
        let (Some(reply), pttls) = (frames.get(1).cloned(), frames.get(2..).unwrap_or_default())
        else {
            return Err(UpstreamError::Lost {
                addr: "upstream".into(),
                reason: "malformed tracked read reply".into(),
            });
        };
        if let Some(cap) = self.layer.fill_cap(tracked) {
            if !reply.starts_with(b"-") {
                self.fill(&reply, pttls, cap);
            }
        }
        Ok(reply)
    }

    fn fill(&self, reply: &Bytes, pttls: &[Bytes], cap: Option<Duration>) {
        let age = self.sent.elapsed();
        let ttl = |i: usize| fill_lifetime(pttls.get(i).and_then(pttl), cap, age);
        match &self.read {
            CacheRead::Single { key, variant } => {
                if let Some(&ticket) = self.tickets.first() {
                    self.record(
                        self.layer
                            .l1
                            .fill(key, variant, reply.clone(), ttl(0), ticket),
                    );
                }
            }
            CacheRead::Mget { keys, variant } => {
                let elements = split_frames(&reply.slice(array_body(reply)..));
                for (i, (key, element)) in keys.iter().zip(elements).enumerate() {
                    // MGET answers nil for a missing key and for a key of
                    // another type alike, while GET errors on the latter: a
                    // nil element says nothing about GET, so only values fill.
                    if is_null(&element) {
                        continue;
                    }
                    if let Some(&ticket) = self.tickets.get(i) {
                        self.record(self.layer.l1.fill(key, variant, element, ttl(i), ticket));
                    }
                }
            }
        }
    }

    fn record(&self, outcome: FillOutcome) {
        tracing::trace!(?outcome, "L1 fill");
    }
}

/// A RESP2 or RESP3 null.
fn is_null(frame: &[u8]) -> bool {
    frame == b"$-1\r\n" || frame == b"_\r\n" || frame == b"*-1\r\n"
}

/// The remaining TTL from a PTTL reply (`:ms`); none for -1/-2. 0 is a
/// key expiring within the millisecond, not one without a TTL.
fn pttl(frame: &Bytes) -> Option<Duration> {
    let text = std::str::from_utf8(frame.strip_prefix(b":")?).ok()?;
    let ms: i64 = text.trim_end().parse().ok()?;
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

/// Offset of an array reply's first element (after `*n\r\n`).
fn array_body(reply: &[u8]) -> usize {
    reply
        .iter()
        .position(|&b| b == b'\n')
        .map_or(reply.len(), |i| i + 1)
}
