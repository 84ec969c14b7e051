//! INFO in Redis's format, and the server-wide counters behind it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl Stats {
    /// Add to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

type Section = fn(&Ctx, &mut String);

/// Sections in the order INFO prints them, by lowercase name.
const SECTIONS: &[(&str, Section)] = &[
    ("server", server),
    ("clients", clients),
    ("memory", memory),
    ("stats", stats),
    ("upstream", upstream),
    ("l1", l1),
    ("materials", materials),
];

/// INFO [section ...]: `default`, `all` and `everything` print every section.
pub fn run(ctx: &Ctx, args: &[Bytes], w: &mut ReplyWriter) {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|s| matches!(s.as_str(), "all" | "default" | "everything"));
    let mut out = String::new();
    for (name, section) in SECTIONS {
        if all || wanted.iter().any(|s| s == name) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            section(ctx, &mut out);
        }
    }
    w.verbatim(&out);
}

fn title(out: &mut String, name: &str) {
    let _ = write!(out, "# {name}\r\n");
}

fn field(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{key}:{value}\r\n");
}

fn server(ctx: &Ctx, out: &mut String) {
    title(out, "Server");
    field(out, "redis_version", super::REDIS_COMPAT_VERSION);
    field(out, "respite_version", env!("CARGO_PKG_VERSION"));
    field(out, "redis_mode", "standalone");
    field(out, "os", std::env::consts::OS);
    field(out, "arch_bits", usize::BITS);
    field(out, "process_id", std::process::id());
    field(out, "tcp_port", ctx.listen.port());
    field(out, "uptime_in_seconds", ctx.started.elapsed().as_secs());
    field(
        out,
        "uptime_in_days",
        ctx.started.elapsed().as_secs() / 86400,
    );
    field(
        out,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
}

fn clients(ctx: &Ctx, out: &mut String) {
    let entries = ctx.clients.entries();
    title(out, "Clients");
    field(out, "connected_clients", entries.len());
    field(out, "maxclients", ctx.config.server.maxclients);
    field(
        out,
        "pinned_clients",
        entries.iter().filter(|e| e.is_pinned()).count(),
    );
    field(
        out,
        "pubsub_clients",
        entries.iter().filter(|e| e.is_pubsub()).count(),
    );
}

fn memory(_ctx: &Ctx, out: &mut String) {
    title(out, "Memory");
    let rss = rss_bytes();
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human(rss));
}

fn stats(ctx: &Ctx, out: &mut String) {
    let s = &ctx.stats;
    title(out, "Stats");
    field(
        out,
        "total_connections_received",
        get(&s.connections_received),
    );
    field(out, "total_commands_processed", get(&s.commands_processed));
    field(out, "total_net_input_bytes", get(&s.net_input_bytes));
    field(out, "total_net_output_bytes", get(&s.net_output_bytes));
    field(out, "rejected_connections", get(&s.rejected_connections));
    field(out, "total_protocol_errors", get(&s.protocol_errors));
    field(
        out,
        "client_output_buffer_limit_disconnections",
        get(&s.output_limit_disconnects),
    );
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
    field(out, "upstream_errors", get(&u.errors));
    field(out, "upstream_reconnects", get(&u.reconnects));
    field(out, "mux_commands", get(&u.mux_commands));
    field(out, "mux_jobs", get(&u.mux_jobs));
    field(out, "mux_writes", get(&u.mux_writes));
    let last = u.last_error.lock().map(|e| e.clone()).unwrap_or_default();
    field(out, "upstream_last_error", last.replace(['\r', '\n'], " "));
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
        field(
            out,
            "materials_relational",
            crate::store::RelationalStore::name(cat.relational()),
        );
        field(
            out,
            "materials_vector",
            crate::store::VectorStore::name(cat.vector()),
        );
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
    ] {
        field(out, name, get(v));
    }
}
