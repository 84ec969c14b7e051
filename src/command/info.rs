//! INFO in Redis's format, and the server-wide counters behind it.
//!
//! Redis's sections (`# Server`, `# Clients`, `# Memory`, `# Stats`,
//! `# Commandstats`) keep Redis's field names, so tools that parse Redis's
//! INFO parse ours; respite's own sections (`# Upstream`, `# L1`,
//! `# Materials`, `# Backends`) follow the same `field:value` lines.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::Ctx;
use crate::protocol::encode::ReplyWriter;

/// Server-wide counters (Redis's `# Stats` names).
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub connections_received: AtomicU64,
    /// Connections refused at `maxclients`.
    pub rejected_connections: AtomicU64,
    /// Commands processed (local and forwarded).
    pub commands_processed: AtomicU64,
    /// Bytes read from clients.
    pub net_input_bytes: AtomicU64,
    /// Bytes written to clients.
    pub net_output_bytes: AtomicU64,
    /// Connections closed for a protocol error.
    pub protocol_errors: AtomicU64,
    /// Clients disconnected for exceeding the output buffer limit.
    pub output_limit_disconnects: AtomicU64,
    /// Recent samples of the counters above, for the `instantaneous_*`
    /// fields.
    samples: Mutex<Samples>,
    /// Highest resident set size seen by the sampler.
    peak_rss: AtomicU64,
}

/// How often the counters are sampled (Redis samples 10 times a second).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// Samples kept: rates are averaged over the last 1.6 s, as in Redis.
const SAMPLES: usize = 16;

/// A ring of (when, commands, input bytes, output bytes).
#[derive(Debug, Default)]
struct Samples {
    ring: std::collections::VecDeque<(Instant, [u64; 3])>,
}

/// Per-second rates over the recent samples.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    /// Commands per second.
    pub ops_per_sec: f64,
    /// Kilobytes read from clients per second.
    pub input_kbps: f64,
    /// Kilobytes written to clients per second.
    pub output_kbps: f64,
}

impl Stats {
    /// Add to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Take one sample of the counters (the sampler calls this every
    /// [`SAMPLE_EVERY`]); also tracks the peak resident size.
    pub fn sample(&self) {
        let now = [
            get(&self.commands_processed),
            get(&self.net_input_bytes),
            get(&self.net_output_bytes),
        ];
        if let Ok(mut s) = self.samples.lock() {
            if s.ring.len() == SAMPLES + 1 {
                s.ring.pop_front();
            }
            s.ring.push_back((Instant::now(), now));
        }
        self.peak_rss.fetch_max(rss_bytes(), Ordering::Relaxed);
    }

    /// Rates between the oldest and newest samples (zero until two exist).
    pub fn rates(&self) -> Rates {
        let Ok(s) = self.samples.lock() else {
            return Rates::default();
        };
        let (Some((t0, a)), Some((t1, b))) = (s.ring.front(), s.ring.back()) else {
            return Rates::default();
        };
        let secs = t1.duration_since(*t0).as_secs_f64();
        if secs <= 0.0 {
            return Rates::default();
        }
        let per_sec = |i: usize| b[i].saturating_sub(a[i]) as f64 / secs;
        Rates {
            ops_per_sec: per_sec(0),
            input_kbps: per_sec(1) / 1024.0,
            output_kbps: per_sec(2) / 1024.0,
        }
    }

    /// The highest resident set size sampled so far.
    pub fn peak_rss(&self) -> u64 {
        get(&self.peak_rss).max(rss_bytes())
    }
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// 40 hex characters that differ between runs (INFO `run_id`).
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{nanos}:{}", std::process::id());
        let a = xxhash_rust::xxh3::xxh3_128(seed.as_bytes());
        let b = xxhash_rust::xxh3::xxh3_64(&a.to_le_bytes());
        format!("{a:032x}{:08x}", b as u32)
    })
}

/// One INFO section: its lowercase name, whether plain `INFO` (and
/// `INFO default`) includes it, and what prints it.
struct Section {
    name: &'static str,
    default: bool,
    print: fn(&Ctx, &mut String),
}

const fn section(name: &'static str, default: bool, print: fn(&Ctx, &mut String)) -> Section {
    Section {
        name,
        default,
        print,
    }
}

/// Sections in the order INFO prints them. As in Redis, `# Commandstats`
/// is left out of the default set and printed by `all` and `everything`.
const SECTIONS: &[Section] = &[
    section("server", true, server),
    section("clients", true, clients),
    section("memory", true, memory),
    section("stats", true, stats),
    section("commandstats", false, commandstats),
    section("upstream", true, upstream),
    section("l1", true, l1),
    section("materials", true, materials),
    section("backends", true, backends),
];

/// The argument that sends INFO to the upstream Redis instead.
pub const UPSTREAM_SERVER: &[u8] = b"upstream-server";

/// `INFO [section ...]` as Redis 7 reads it: no argument or `default` for
/// the default sections, `all` / `everything` for every section, names
/// (any case, several allowed) for those sections; unknown names add
/// nothing.
pub fn run(ctx: &Ctx, args: &[Bytes], w: &mut ReplyWriter) {
    w.verbatim(&render(ctx, args));
}

/// The INFO text for `args`.
pub fn render(ctx: &Ctx, args: &[Bytes]) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    let has = |w: &str| wanted.iter().any(|s| s == w);
    let every = has("all") || has("everything");
    let default = wanted.is_empty() || has("default");
    let mut out = String::new();
    for sec in SECTIONS {
        if every || (default && sec.default) || has(sec.name) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            (sec.print)(ctx, &mut out);
        }
    }
    out
}

/// `INFO upstream-server [section ...]`: the upstream Redis's own INFO,
/// passed through in the client's protocol.
pub fn upstream_server(s: &super::Session, argv: &[Bytes]) -> super::Outcome {
    let rest = argv.get(2..).unwrap_or_default();
    let args = std::iter::once(&b"INFO"[..]).chain(rest.iter().map(|a| a.as_ref()));
    let payload = crate::protocol::Request::from_args(args).raw;
    let (proto, id) = (s.proto, s.id());
    super::Outcome::Task(super::materials::Task::new(move |ctx| async move {
        match ctx.upstream.call(proto, id, payload, 1).await {
            Ok(reply) => reply,
            Err(e) => {
                let mut out = bytes::BytesMut::new();
                crate::protocol::encode::error(
                    &mut out,
                    &crate::error::ReplyError::Upstream(e).line(),
                );
                out.freeze()
            }
        }
    }))
}

fn title(out: &mut String, name: &str) {
    let _ = write!(out, "# {name}\r\n");
}

fn field(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

fn server(ctx: &Ctx, out: &mut String) {
    title(out, "Server");
    let up = ctx.started.elapsed().as_secs();
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    field(out, "redis_version", super::REDIS_COMPAT_VERSION);
    field(out, "respite_version", env!("CARGO_PKG_VERSION"));
    field(out, "redis_mode", "standalone");
    field(out, "os", std::env::consts::OS);
    field(out, "arch_bits", usize::BITS);
    field(out, "multiplexing_api", "epoll");
    field(out, "process_id", std::process::id());
    field(out, "run_id", run_id());
    field(out, "tcp_port", ctx.listen.port());
    field(out, "server_time_usec", now_us);
    field(out, "uptime_in_seconds", up);
    field(out, "uptime_in_days", up / 86400);
    field(out, "hz", 1_000 / SAMPLE_EVERY.as_millis().max(1));
    let exe = std::env::current_exe().map(|p| p.display().to_string());
    field(out, "executable", exe.unwrap_or_default());
    let file = ctx.live.file().map(|p| p.display().to_string());
    field(out, "config_file", file.unwrap_or_default());
}

fn clients(ctx: &Ctx, out: &mut String) {
    let c = ctx.clients.summary();
    title(out, "Clients");
    field(out, "connected_clients", c.connected);
    field(out, "cluster_connections", 0);
    field(out, "maxclients", ctx.config.server.maxclients);
    field(out, "blocked_clients", c.blocked);
    field(out, "tracking_clients", ctx.cache.clients.count());
    field(out, "pubsub_clients", c.pubsub);
    field(out, "pinned_clients", c.pinned);
    field(out, "clients_in_timeout_table", 0);
}

fn memory(ctx: &Ctx, out: &mut String) {
    let rss = rss_bytes();
    let peak = ctx.stats.peak_rss();
    let l1 = ctx.cache.l1.stats();
    let buffers = ctx.clients.summary().buffers;
    title(out, "Memory");
    // respite has no allocator statistics: used_memory is the resident
    // size, which is what an operator sizing the host needs.
    field(out, "used_memory", rss);
    field(out, "used_memory_human", human(rss));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human(rss));
    field(out, "used_memory_peak", peak);
    field(out, "used_memory_peak_human", human(peak));
    field(out, "l1_used_memory", l1.bytes);
    field(out, "l1_used_memory_human", human(l1.bytes));
    field(out, "l1_budget", l1.budget);
    field(out, "mem_clients_normal", buffers);
}

fn stats(ctx: &Ctx, out: &mut String) {
    let s = &ctx.stats;
    let r = s.rates();
    let total = ctx.commands.total();
    title(out, "Stats");
    field(
        out,
        "total_connections_received",
        get(&s.connections_received),
    );
    field(out, "total_commands_processed", get(&s.commands_processed));
    field(
        out,
        "instantaneous_ops_per_sec",
        r.ops_per_sec.round() as u64,
    );
    field(out, "total_net_input_bytes", get(&s.net_input_bytes));
    field(out, "total_net_output_bytes", get(&s.net_output_bytes));
    field(
        out,
        "instantaneous_input_kbps",
        format!("{:.2}", r.input_kbps),
    );
    field(
        out,
        "instantaneous_output_kbps",
        format!("{:.2}", r.output_kbps),
    );
    field(out, "rejected_connections", get(&s.rejected_connections));
    field(
        out,
        "client_output_buffer_limit_disconnections",
        get(&s.output_limit_disconnects),
    );
    field(out, "total_error_replies", total.failed + total.rejected);
    field(out, "total_protocol_errors", get(&s.protocol_errors));
}

/// `cmdstat_<name>:calls=…,usec=…,usec_per_call=…,rejected_calls=…,failed_calls=…`
/// for every command used since the start (or the last `STATS RESET`).
fn commandstats(ctx: &Ctx, out: &mut String) {
    title(out, "Commandstats");
    for (name, c) in ctx.commands.commands() {
        field(
            out,
            &format!("cmdstat_{name}"),
            format_args!(
                "calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                c.calls,
                c.usec,
                c.usec_per_call(),
                c.rejected,
                c.failed
            ),
        );
    }
}

fn upstream(ctx: &Ctx, out: &mut String) {
    let u = ctx.upstream.state();
    let connected = u.connected.load(Ordering::Relaxed);
    title(out, "Upstream");
    field(out, "upstream_address", ctx.upstream.addr());
    field(
        out,
        "upstream_status",
        if connected > 0 { "up" } else { "down" },
    );
    field(out, "upstream_db", ctx.upstream.db());
    field(out, "multiplexed_connections", connected);
    field(out, "pinned_connections", u.pinned.load(Ordering::Relaxed));
    field(out, "upstream_in_flight", ctx.clients.summary().outstanding);
    field(out, "upstream_rtt_last_us", get(&u.rtt_last_us));
    field(out, "upstream_errors", get(&u.errors));
    field(out, "upstream_reconnects", get(&u.reconnects));
    field(out, "upstream_tracking", tracking_mode(&u.tracking));
    field(out, "mux_commands", get(&u.mux_commands));
    field(out, "mux_jobs", get(&u.mux_jobs));
    field(out, "mux_writes", get(&u.mux_writes));
    let last = u.last_error.lock().map(|e| e.clone()).unwrap_or_default();
    field(out, "upstream_last_error", last.replace(['\r', '\n'], " "));
}

/// `# Backends`: each store the catalogue uses, from its recent calls.
fn backends(ctx: &Ctx, out: &mut String) {
    title(out, "Backends");
    let Ok(cat) = ctx.materials.get() else {
        field(out, "backends_status", "unavailable");
        return;
    };
    for (role, name) in ["relational", "vector"].into_iter().zip(cat.store_kinds()) {
        let b = ctx.materials.counters.stores.snapshot(name);
        let status = match b.last_ok {
            None => "unknown",
            Some(true) => "up",
            Some(false) => "down",
        };
        field(out, &format!("{role}_kind"), name);
        field(out, &format!("{role}_status"), status);
        field(out, &format!("{role}_last_latency_us"), b.last_latency_us);
        field(out, &format!("{role}_calls"), b.calls);
        field(out, &format!("{role}_errors"), b.errors);
        let last = b.last_error.replace(['\r', '\n'], " ");
        field(out, &format!("{role}_last_error"), last);
    }
}

fn l1(ctx: &Ctx, out: &mut String) {
    let c = &ctx.cache;
    let st = c.l1.stats();
    let k = &c.counters;
    let t = c.tracking();
    title(out, "L1");
    field(out, "l1_enabled", u8::from(c.enabled));
    field(out, "l1_tracking", tracking_mode(t));
    field(out, "l1_entries", st.entries);
    field(out, "l1_keys", st.keys);
    field(out, "l1_bytes", st.bytes);
    field(out, "l1_budget_bytes", st.budget);
    field(out, "l1_hits", st.hits);
    field(out, "l1_misses", st.misses);
    let reads = st.hits + st.misses;
    let rate = if reads == 0 {
        0.0
    } else {
        st.hits as f64 / reads as f64
    };
    field(out, "l1_hit_rate", format!("{rate:.4}"));
    field(out, "l1_admissions", st.admissions);
    field(out, "l1_rejections", st.rejections);
    field(out, "l1_stale_fills", st.stale_fills);
    field(out, "l1_evictions", st.evictions);
    field(out, "l1_expired", st.expired);
    field(out, "l1_invalidations", st.invalidations);
    field(out, "l1_invalidations_local", get(&k.local_invalidations));
    field(out, "l1_invalidations_pushed", get(&k.pushed_invalidations));
    field(out, "l1_tracking_pushes", get(&t.pushes));
    field(out, "l1_flushes", get(&k.flushes));
    field(out, "l1_coalesced_misses", get(&k.coalesced));
    field(out, "l1_invalidation_lag_last_us", get(&c.lag.last_us));
    field(out, "l1_invalidation_lag_max_us", get(&c.lag.max_us));
    field(out, "l1_invalidation_lag_samples", get(&c.lag.samples));
}

/// `on` (listener up: reads fill L1 and are invalidated), `down` (listener
/// reconnecting: no fills), `off` (upstream refused tracking: short TTLs).
pub(crate) fn tracking_mode(t: &crate::upstream::Tracking) -> &'static str {
    match (t.mode(), t.listener().is_some()) {
        (crate::upstream::TrackingMode::Off, _) => "off",
        (_, false) => "down",
        (_, true) => "on",
    }
}

/// Resident set size from /proc (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn human(bytes: u64) -> String {
    let mut v = bytes as f64;
    for unit in ["B", "K", "M", "G"] {
        if v < 1024.0 {
            return format!("{v:.2}{unit}");
        }
        v /= 1024.0;
    }
    format!("{v:.2}T")
}

/// `# Materials`: the catalogue's tiers (L1, L2 in the upstream, stores).
fn materials(ctx: &Ctx, out: &mut String) {
    title(out, "Materials");
    let m = &ctx.materials;
    let c = &m.counters;
    let open = m.get();
    field(
        out,
        "materials_status",
        if open.is_ok() { "ok" } else { "unavailable" },
    );
    if let Ok(cat) = open {
        let [relational, vector] = cat.store_kinds();
        field(out, "materials_relational", relational);
        field(out, "materials_vector", vector);
        field(out, "materials_coalesced", cat.coalesced());
    }
    for (name, v) in [
        ("materials_l1_hits", &c.l1_hits),
        ("materials_l1_misses", &c.l1_misses),
        ("materials_l2_hits", &c.l2_hits),
        ("materials_l2_misses", &c.l2_misses),
        ("materials_l2_errors", &c.l2_errors),
        ("materials_store_reads", &c.store_reads),
        ("materials_backend_errors", &c.backend_errors),
        ("materials_writes", &c.writes),
        ("materials_invalidations", &c.invalidations),
        ("materials_generation", &c.generation),
    ] {
        field(out, name, get(v));
    }
}
