//! What commands mean: the command table, how each request is routed, and
//! the commands respite answers itself.
//!
//! [`dispatch`] looks a request up in the one [`table`], checks auth and
//! arity, and returns an [`Outcome`]: a local reply already written, or
//! where upstream the request must go and how many replies to expect. The
//! server layer carries that out; it never interprets commands itself.

pub mod admin;
pub mod cache;
pub mod client;
pub mod cmdstats;
pub mod connection;
pub mod health;
pub mod info;
pub mod materials;
pub mod session;
pub mod slowlog;
pub mod stats;
pub mod table;
pub mod tracking;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::config::Config;
use crate::error::ReplyError;
use crate::protocol::encode::ReplyWriter;
use crate::protocol::{Proto, Request};
use crate::upstream::Upstream;
pub use cache::{CacheLayer, CacheRead, WriteEffect};
pub use client::ClientRegistry;
pub use cmdstats::CommandStats;
pub use info::Stats;
pub use session::{PinState, Session};
use table::{CmdId, CommandSpec, Flags};

/// The Redis version respite reports in HELLO and INFO: the command set it
/// understands.
pub const REDIS_COMPAT_VERSION: &str = "7.0.0";

/// Everything commands may consult: shared by all connections.
#[derive(Debug)]
pub struct Ctx {
    /// The configuration respite started with. Restart-only keys are read
    /// here; live keys may have changed since (see `live`, and
    /// [`admin::apply`] for where each is pushed).
    pub config: Config,
    /// The configuration in force now: `RESPITE CONFIG`, reloads.
    pub live: crate::config::live::LiveConfig,
    /// Commands slower than `slowlog.log_slower_than_us`.
    pub slowlog: slowlog::SlowLog,
    /// Changes the log filter (`None` when respite did not install the
    /// subscriber, as in tests).
    pub log: Option<crate::logging::LogControl>,
    /// The upstream Redis.
    pub upstream: Upstream,
    /// Connected clients.
    pub clients: ClientRegistry,
    /// Server-wide counters.
    pub stats: Stats,
    /// The L1 cache and its policy.
    pub cache: std::sync::Arc<CacheLayer>,
    /// When respite started.
    pub started: Instant,
    /// The address clients connect to.
    pub listen: SocketAddr,
    /// The materials catalogue.
    pub materials: std::sync::Arc<crate::materials::Materials>,
    /// Counters per command (`# Commandstats`, STATS per family).
    pub commands: CommandStats,
    /// The last HEALTH check, kept for the health TTL.
    pub health: health::HealthCache,
    /// Where STATS counts from (the last `STATS RESET`).
    pub stats_baseline: stats::Baseline,
}

impl Ctx {
    /// Whether clients must authenticate (some user is configured).
    pub fn auth_required(&self) -> bool {
        !self.config.auth.users.is_empty()
    }

    /// `calls` commands `cmd` were answered in `usec` microseconds in all
    /// (one, or a run of them answered one after another), `failed` of
    /// them with an error: count them (calls, time, failures, the family's
    /// latency histogram, each at the run's mean) and log them if slow.
    /// `request` gives the (last) request as read; it is only looked at
    /// when it goes to the slow log.
    pub fn observe(
        &self,
        cmd: CmdId,
        calls: u64,
        usec: u64,
        failed: u64,
        client: &client::ClientEntry,
        request: impl FnOnce() -> Bytes,
    ) {
        let calls = calls.max(1);
        let mean = usec / calls;
        self.commands.record(cmd, calls, usec, failed);
        if let Some(spec) = table::by_id(cmd) {
            crate::metrics::record_command(spec.group, mean as f64 / 1e6, calls);
        }
        self.slowlog.record_request(mean, request, client);
    }
}

/// How many replies a forwarded command produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Exactly one reply.
    One,
    /// No reply of its own (RESP3 SUBSCRIBE family: only pushes).
    Pushes,
    /// From now on replies stream without being matched (RESP2 pub/sub,
    /// MONITOR, CLIENT REPLY).
    Stream,
}

/// What the connection must do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A reply was written locally.
    Replied,
    /// Send the request upstream: to the client's dedicated connection when
    /// `pinned`, otherwise to its multiplexed one.
    Forward {
        /// Use the dedicated connection.
        pinned: bool,
        /// How replies come back.
        expect: Expect,
        /// What the command does to L1 once its reply arrives.
        effect: WriteEffect,
    },
    /// A cacheable read: answer from L1, or send it as a tracked read.
    Read(CacheRead),
    /// A read by a client doing client-side caching through respite that L1
    /// does not serve: sent tracked; its keys are remembered for pushes.
    TrackedRead(Vec<Bytes>),
    /// The reply (`+OK`) was written; close once it reaches the client.
    Quit,
    /// RESET: drop the dedicated connection, then the reply is written.
    Reset,
    /// HELLO changed the protocol: a dedicated connection in the old one
    /// must be dropped (the reply was written).
    ProtoChanged,
    /// A catalogue command to run off the connection's loop.
    Task(materials::Task),
}

/// Whether `req` must wait until every earlier command's reply has arrived
/// before it is carried out (it changes what later replies mean).
pub fn is_barrier(req: &Request) -> bool {
    let name = req.name();
    name.eq_ignore_ascii_case(b"RESET") || name.eq_ignore_ascii_case(b"HELLO")
}

/// Decide and, for local commands, answer. `pinned` says whether the client
/// currently has a dedicated connection holding state.
pub fn dispatch(ctx: &Ctx, s: &mut Session, req: &Request, w: &mut ReplyWriter) -> Outcome {
    match route(ctx, s, req, w) {
        Ok(outcome) => outcome,
        Err(e) => {
            // Refused before it ran: counted as rejected, not as a call.
            if let Some(id) = s.cmd.take() {
                ctx.commands.reject(id);
            }
            w.error(&e.line());
            Outcome::Replied
        }
    }
}

fn route(
    ctx: &Ctx,
    s: &mut Session,
    req: &Request,
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let argv = &req.argv;
    let mut buf = [0u8; NAME_MAX];
    let name = upper_name(req.name(), &mut buf);
    let found = table::lookup_id(argv);
    s.cmd = found.map(|(id, _)| id);
    let spec = found.map(|(_, spec)| spec);
    if !s.authenticated && !matches!(name, b"AUTH" | b"HELLO" | b"QUIT") {
        return Err(ReplyError::NoAuth);
    }
    if let Some(spec) = spec {
        if !spec.arity_ok(argv.len()) {
            // Inside MULTI, Redis must see the error: it makes EXEC abort.
            if s.pin.multi {
                return Ok(forward(ctx, s, Some(spec), argv));
            }
            return Err(ReplyError::WrongArity(spec.name.to_string()));
        }
    }
    if s.multi_failed && !matches!(name, b"EXEC" | b"DISCARD" | b"QUIT" | b"RESET") {
        return Err(ReplyError::invalid(
            "command not queued: the transaction could not reach upstream",
        ));
    }
    connection::run(ctx, s, name, spec, argv, w)
}

/// Longest command name compared by name (longer ones are never local).
const NAME_MAX: usize = 32;

/// The command name in upper case, in `buf` (no allocation per request);
/// empty for names no local command has.
fn upper_name<'a>(name: &[u8], buf: &'a mut [u8; NAME_MAX]) -> &'a [u8] {
    let Some(out) = buf.get_mut(..name.len()) else {
        return b"";
    };
    out.copy_from_slice(name);
    out.make_ascii_uppercase();
    out
}

/// The default route for a command that is not answered locally: a
/// cacheable read for L1, or a forward (whose writes drop L1 keys; inside
/// MULTI they do so when EXEC answers).
fn forward(ctx: &Ctx, s: &mut Session, spec: Option<&CommandSpec>, argv: &[Bytes]) -> Outcome {
    let mut effect = cache::write_effect(spec, argv);
    let blocking = spec.is_some_and(|sp| sp.blocks(argv));
    let pinned = s.pin.holds() || blocking;
    if s.pin.multi {
        s.multi_effect.merge(std::mem::take(&mut effect));
    } else if !pinned && !effect.is_write() && ctx.cache.enabled {
        let read = spec.and_then(|sp| cache::cacheable(sp, argv, s.proto));
        if let Some(read) = read.filter(|r| ctx.cache.allowed(r) || s.client_tracking) {
            return Outcome::Read(read);
        }
        if s.client_tracking {
            if let Some(keys) = spec.map(|sp| read_keys(sp, argv)).filter(|k| !k.is_empty()) {
                return Outcome::TrackedRead(keys);
            }
        }
    }
    let expect = if s.streaming {
        Expect::Stream
    } else {
        Expect::One
    };
    Outcome::Forward {
        pinned,
        expect,
        effect,
    }
}

/// The keys a read-only command reads.
fn read_keys(spec: &CommandSpec, argv: &[Bytes]) -> Vec<Bytes> {
    let mut at = Vec::new();
    if spec.flags.contains(Flags::READONLY) {
        spec.key_indices(argv, &mut at);
    }
    at.iter().filter_map(|&i| argv.get(i).cloned()).collect()
}

/// Whether the command is one of the SUBSCRIBE/UNSUBSCRIBE family, whose
/// replies are pub/sub messages rather than ordinary replies.
fn is_subscription(spec: Option<&CommandSpec>, name: &[u8]) -> bool {
    spec.is_some_and(|sp| sp.flags.contains(Flags::PUBSUB)) && name.ends_with(b"SUBSCRIBE")
}

/// Forward on the dedicated connection. Replies stream once the session
/// streams; otherwise each command gets `expect`.
fn on_pinned(s: &mut Session, expect: Expect) -> Outcome {
    s.sync_entry();
    Outcome::Forward {
        pinned: true,
        expect: if s.streaming { Expect::Stream } else { expect },
        effect: WriteEffect::None,
    }
}

/// The outcome for commands that create connection state: pinned, and in
/// RESP2 pub/sub or MONITOR a switch to streaming.
fn pin(s: &mut Session, stream: bool) -> Outcome {
    if stream {
        s.streaming = true;
    }
    on_pinned(s, Expect::One)
}

/// A subscription command: in RESP2 the connection streams from now on; in
/// RESP3 its replies are pushes, matched to no command.
fn subscription(s: &mut Session) -> Outcome {
    s.pin.subscribed = true;
    match s.proto {
        Proto::Resp2 => pin(s, true),
        Proto::Resp3 => on_pinned(s, Expect::Pushes),
    }
}
