//! Every metric respite exports, named in one place, and their export to
//! Prometheus (`/metrics` on the admin port).
//!
//! Two kinds of source:
//! - What INFO also shows is counted on the request path with plain
//!   atomics (`command::Stats`, the L1 counters, the catalogue's
//!   counters); [`scrape`] writes them out as Prometheus text itself, so
//!   counting costs no registry lookup per request and each server in a
//!   process reports its own values.
//! - Latencies are Prometheus histograms (buckets: [`LATENCY_BUCKETS`]),
//!   recorded where they happen. The per-command one (per family) is
//!   bucketed with plain atomics and rendered here at scrape time, since
//!   it is on every request's path; the others (upstream round trip,
//!   invalidation lag, store calls) use the exporter's handles, whose
//!   lock-free sample buffers [`upkeep`] drains every [`UPKEEP_INTERVAL`]
//!   whether or not anybody scrapes.
//!
//! Labels come only from bounded sets (command families, tiers, store
//! names, store operations), never from keys or clients. Histograms are
//! per process; everything else is per server ([`crate::command::Ctx`]).

use std::fmt::{Display, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use metrics::Histogram;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

use crate::command::cmdstats::Counts;
use crate::command::table::Group;
use crate::command::Ctx;
use crate::store::StoreOp;

/// What kind of Prometheus metric a [`Metric`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (rendered with its `_total` name as is).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in [`LATENCY_BUCKETS`] (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl Kind {
    /// The word on the metric's `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One exported metric: its name, kind and `# HELP` text, declared once so
/// the export, the HELP lines and the docs cannot disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// The Prometheus name.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// The `# HELP` text.
    pub help: &'static str,
}

const fn counter(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Counter,
        help,
    }
}

const fn gauge(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Gauge,
        help,
    }
}

const fn histogram(name: &'static str, help: &'static str) -> Metric {
    Metric {
        name,
        kind: Kind::Histogram,
        help,
    }
}

// ----- # Server, # Clients, # Memory ----------------------------------------

/// Always 1; its `version` label says which respite build runs.
pub const BUILD_INFO: Metric = gauge(
    "respite_build_info",
    "Always 1; the version label is respite's version.",
);
/// Seconds since the server started (INFO `uptime_in_seconds`).
pub const UPTIME: Metric = gauge("respite_uptime_seconds", "Seconds since respite started.");
/// Clients connected now (INFO `connected_clients`).
pub const CLIENTS_CONNECTED: Metric = gauge("respite_clients_connected", "Clients connected now.");
/// The configured `server.maxclients`, to plot connections against.
pub const CLIENTS_MAX: Metric = gauge(
    "respite_clients_max",
    "Most clients accepted at once (server.maxclients).",
);
/// Clients holding a dedicated upstream connection (INFO `pinned_clients`).
pub const CLIENTS_PINNED: Metric = gauge(
    "respite_clients_pinned",
    "Clients holding a dedicated upstream connection.",
);
/// Clients in pub/sub mode (INFO `pubsub_clients`).
pub const CLIENTS_PUBSUB: Metric = gauge("respite_clients_pubsub", "Clients with subscriptions.");
/// Resident memory of the process (INFO `used_memory_rss`).
pub const MEMORY_RSS: Metric = gauge(
    "respite_memory_rss_bytes",
    "Resident set size of the respite process.",
);

// ----- # Stats --------------------------------------------------------------

/// Connections accepted (INFO `total_connections_received`).
pub const CONNECTIONS_RECEIVED: Metric = counter(
    "respite_connections_received_total",
    "Client connections accepted.",
);
/// Connections refused at maxclients (INFO `rejected_connections`).
pub const CONNECTIONS_REJECTED: Metric = counter(
    "respite_connections_rejected_total",
    "Client connections refused at maxclients.",
);
/// Commands processed, local and forwarded (INFO `total_commands_processed`).
pub const COMMANDS_PROCESSED: Metric = counter(
    "respite_commands_processed_total",
    "Commands processed, answered locally or forwarded.",
);
/// Bytes read from clients (INFO `total_net_input_bytes`).
pub const NET_INPUT_BYTES: Metric =
    counter("respite_net_input_bytes_total", "Bytes read from clients.");
/// Bytes written to clients (INFO `total_net_output_bytes`).
pub const NET_OUTPUT_BYTES: Metric = counter(
    "respite_net_output_bytes_total",
    "Bytes written to clients.",
);
/// Connections closed for a protocol error (INFO `total_protocol_errors`).
pub const PROTOCOL_ERRORS: Metric = counter(
    "respite_protocol_errors_total",
    "Client connections closed for a protocol error.",
);
/// Clients dropped for not reading their replies (INFO
/// `client_output_buffer_limit_disconnections`).
pub const OUTPUT_LIMIT_DISCONNECTS: Metric = counter(
    "respite_output_buffer_disconnects_total",
    "Clients disconnected for exceeding the output buffer limit.",
);

// ----- Commands (latency; the lead's `# Commandstats` plugs in here) -------

/// Service time of commands per family (`family` = `Group::as_str()`),
/// from reading the request to its reply being ready. Recorded by
/// [`record_command`].
pub const COMMAND_DURATION: Metric = histogram(
    "respite_command_duration_seconds",
    "Command service time in seconds, per command family.",
);
/// Replies given per command family (INFO `# Commandstats` `calls`,
/// summed over the family's commands). `STATS RESET` zeroes it (a
/// counter reset to Prometheus).
pub const COMMAND_CALLS: Metric = counter(
    "respite_command_calls_total",
    "Commands answered, per command family.",
);
/// Replies that were errors, per command family (`failed_calls`).
pub const COMMAND_FAILED: Metric = counter(
    "respite_command_failed_calls_total",
    "Commands answered with an error, per command family.",
);
/// Commands refused before they ran, per family (`rejected_calls`).
pub const COMMAND_REJECTED: Metric = counter(
    "respite_command_rejected_calls_total",
    "Commands refused before they ran (arity, auth, syntax), per command family.",
);
/// Clients waiting on a blocking command (INFO `blocked_clients`).
pub const CLIENTS_BLOCKED: Metric = gauge(
    "respite_clients_blocked",
    "Clients waiting on a blocking command (BLPOP ...).",
);
/// Clients tracking keys through respite (INFO `tracking_clients`).
pub const CLIENTS_TRACKING: Metric = gauge(
    "respite_clients_tracking",
    "Clients using client-side caching through respite.",
);
/// Bytes in client connections' buffers (INFO `mem_clients_normal`).
pub const CLIENTS_BUFFERS: Metric = gauge(
    "respite_clients_buffer_bytes",
    "Bytes held in client connections' input and output buffers.",
);
/// Replies clients wait for from the upstream (INFO `upstream_in_flight`).
pub const UPSTREAM_IN_FLIGHT: Metric = gauge(
    "respite_upstream_in_flight",
    "Replies client connections are waiting for.",
);
/// Calls per store (INFO `# Backends` `*_calls`).
pub const STORE_CALLS: Metric = counter("respite_store_calls_total", "Calls made to each store.");
/// Failed or timed-out calls per store (INFO `# Backends` `*_errors`).
pub const STORE_ERRORS: Metric = counter(
    "respite_store_errors_total",
    "Store calls that failed or timed out, per store.",
);
/// The catalogue's search generation (INFO `materials_generation`).
pub const MATERIALS_GENERATION: Metric = gauge(
    "respite_materials_generation",
    "The search generation last read from the upstream.",
);

// ----- # Upstream -----------------------------------------------------------

/// 1 while some multiplexed upstream connection is up (INFO `upstream_status`).
pub const UPSTREAM_UP: Metric = gauge(
    "respite_upstream_up",
    "1 while an upstream connection is up, else 0.",
);
/// Multiplexed upstream connections up (INFO `multiplexed_connections`).
pub const UPSTREAM_CONNECTED: Metric = gauge(
    "respite_upstream_connections",
    "Multiplexed upstream connections up.",
);
/// Dedicated upstream connections open (INFO `pinned_connections`).
pub const UPSTREAM_PINNED: Metric = gauge(
    "respite_upstream_pinned_connections",
    "Dedicated (pinned) upstream connections open.",
);
/// Upstream errors (INFO `upstream_errors`).
pub const UPSTREAM_ERRORS: Metric = counter(
    "respite_upstream_errors_total",
    "Upstream connection errors.",
);
/// Upstream reconnect attempts (INFO `upstream_reconnects`).
pub const UPSTREAM_RECONNECTS: Metric = counter(
    "respite_upstream_reconnects_total",
    "Upstream reconnect attempts.",
);
/// Commands carried by the pool (INFO `mux_commands`).
pub const UPSTREAM_MUX_COMMANDS: Metric = counter(
    "respite_upstream_mux_commands_total",
    "Commands sent over multiplexed upstream connections.",
);
/// Jobs (runs of one client's commands) carried by the pool (INFO `mux_jobs`).
pub const UPSTREAM_MUX_JOBS: Metric = counter(
    "respite_upstream_mux_jobs_total",
    "Jobs (runs of one client's commands) sent over multiplexed connections.",
);
/// Writes to pooled connections (INFO `mux_writes`): jobs per write shows
/// how much the pool coalesces.
pub const UPSTREAM_MUX_WRITES: Metric = counter(
    "respite_upstream_mux_writes_total",
    "Writes to multiplexed upstream connections.",
);
/// From a pooled write to the reply of its first command: one sample per
/// write, so it costs nothing per command.
pub const UPSTREAM_RTT: Metric = histogram(
    "respite_upstream_rtt_seconds",
    "Upstream round trip in seconds: a pooled write to its first reply.",
);

// ----- # L1 -----------------------------------------------------------------

/// 1 when L1 serves reads (INFO `l1_enabled`).
pub const L1_ENABLED: Metric = gauge("respite_l1_enabled", "1 when L1 serves reads, else 0.");
/// The tracking mode: 1 on the series whose `mode` (`on`, `down`, `off`) is
/// current (INFO `l1_tracking`).
pub const L1_TRACKING: Metric = gauge(
    "respite_l1_tracking",
    "1 for the current L1 tracking mode (on, down, off).",
);
/// L1 hits (INFO `l1_hits`).
pub const L1_HITS: Metric = counter("respite_l1_hits_total", "Reads answered from L1.");
/// L1 misses (INFO `l1_misses`).
pub const L1_MISSES: Metric = counter("respite_l1_misses_total", "Reads L1 could not answer.");
/// Fills admitted into L1 (INFO `l1_admissions`).
pub const L1_ADMISSIONS: Metric = counter("respite_l1_admissions_total", "Fills admitted into L1.");
/// Fills refused (INFO `l1_rejections`).
pub const L1_REJECTIONS: Metric = counter(
    "respite_l1_rejections_total",
    "Fills refused: not hot enough, too large or denied.",
);
/// Fills dropped because their key was invalidated meanwhile (INFO `l1_stale_fills`).
pub const L1_STALE_FILLS: Metric = counter(
    "respite_l1_stale_fills_total",
    "Fills dropped because an invalidation raced them.",
);
/// Entries evicted to stay within the budget (INFO `l1_evictions`).
pub const L1_EVICTIONS: Metric = counter(
    "respite_l1_evictions_total",
    "Keys evicted to stay within the L1 budget.",
);
/// Entries that outlived their lifetime (INFO `l1_expired`).
pub const L1_EXPIRATIONS: Metric = counter(
    "respite_l1_expirations_total",
    "L1 entries dropped at the end of their lifetime.",
);
/// Keys dropped from L1 by any invalidation (INFO `l1_invalidations`).
pub const L1_INVALIDATIONS: Metric = counter(
    "respite_l1_invalidations_total",
    "Keys dropped from L1 by invalidations.",
);
/// Keys dropped by writes through respite (INFO `l1_invalidations_local`).
pub const L1_INVALIDATIONS_LOCAL: Metric = counter(
    "respite_l1_invalidations_local_total",
    "Invalidations by writes through respite.",
);
/// Keys dropped by tracking pushes (INFO `l1_invalidations_pushed`).
pub const L1_INVALIDATIONS_PUSHED: Metric = counter(
    "respite_l1_invalidations_pushed_total",
    "Invalidations pushed by the upstream's tracking.",
);
/// Invalidation pushes received (INFO `l1_tracking_pushes`).
pub const L1_TRACKING_PUSHES: Metric = counter(
    "respite_l1_tracking_pushes_total",
    "Invalidation pushes received from the upstream.",
);
/// Whole-cache flushes (INFO `l1_flushes`).
pub const L1_FLUSHES: Metric = counter("respite_l1_flushes_total", "Whole-L1 flushes.");
/// Misses coalesced onto an identical one in flight (INFO `l1_coalesced_misses`).
pub const L1_COALESCED: Metric = counter(
    "respite_l1_coalesced_misses_total",
    "L1 misses that shared an identical upstream read in flight.",
);
/// Replies stored in L1 (INFO `l1_entries`).
pub const L1_ENTRIES: Metric = gauge("respite_l1_entries", "Replies stored in L1.");
/// Keys with a reply in L1 (INFO `l1_keys`).
pub const L1_KEYS: Metric = gauge("respite_l1_keys", "Keys with a reply in L1.");
/// Bytes used by L1, overhead included (INFO `l1_bytes`).
pub const L1_BYTES: Metric = gauge("respite_l1_bytes", "Bytes used by L1, overhead included.");
/// L1 byte budget (INFO `l1_budget_bytes`).
pub const L1_BUDGET: Metric = gauge("respite_l1_budget_bytes", "The L1 byte budget.");
/// Last invalidation lag measured by the probe (INFO `l1_invalidation_lag_last_us`).
pub const L1_INVALIDATION_LAG: Metric = gauge(
    "respite_l1_invalidation_lag_seconds",
    "Last invalidation lag measured by the probe, in seconds.",
);
/// Largest invalidation lag measured (INFO `l1_invalidation_lag_max_us`).
pub const L1_INVALIDATION_LAG_MAX: Metric = gauge(
    "respite_l1_invalidation_lag_max_seconds",
    "Largest invalidation lag measured by the probe, in seconds.",
);
/// Lag probes completed (INFO `l1_invalidation_lag_samples`).
pub const L1_INVALIDATION_LAG_SAMPLES: Metric = counter(
    "respite_l1_invalidation_lag_samples_total",
    "Invalidation lag probes measured.",
);
/// Every lag the probe measured, from its write upstream to the
/// invalidation push (needs `l1.lag_probe_interval_ms`).
pub const INVALIDATION_LAG: Metric = histogram(
    "respite_invalidation_lag_seconds",
    "Invalidation lag in seconds: a probe write upstream to its invalidation push.",
);

// ----- # Materials ----------------------------------------------------------

/// 1 once the catalogue's stores are open (INFO `materials_status`).
pub const MATERIALS_OPEN: Metric = gauge(
    "respite_materials_open",
    "1 once the catalogue's stores are open, else 0.",
);
/// Catalogue reads answered by a tier (`tier` = `l1`, `l2`).
pub const MATERIALS_HITS: Metric = counter(
    "respite_materials_hits_total",
    "Catalogue reads answered by a cache tier (l1, l2).",
);
/// Catalogue reads a tier could not answer (`tier` = `l1`, `l2`).
pub const MATERIALS_MISSES: Metric = counter(
    "respite_materials_misses_total",
    "Catalogue reads a cache tier could not answer (l1, l2).",
);
/// Upstream failures the catalogue worked around (INFO `materials_l2_errors`).
pub const MATERIALS_L2_ERRORS: Metric = counter(
    "respite_materials_l2_errors_total",
    "Upstream (L2) failures the catalogue worked around.",
);
/// Fetches from the stores (INFO `materials_store_reads`).
pub const MATERIALS_STORE_READS: Metric = counter(
    "respite_materials_store_reads_total",
    "Catalogue fetches from the stores.",
);
/// Store or embedder failures answered as `-BACKEND` (INFO `materials_backend_errors`).
pub const MATERIALS_BACKEND_ERRORS: Metric = counter(
    "respite_materials_backend_errors_total",
    "Store or embedder failures answered as -BACKEND.",
);
/// Materials written or deleted (INFO `materials_writes`).
pub const MATERIALS_WRITES: Metric = counter(
    "respite_materials_writes_total",
    "Materials written or deleted.",
);
/// Cache keys dropped by catalogue writes and MINVALIDATE (INFO `materials_invalidations`).
pub const MATERIALS_INVALIDATIONS: Metric = counter(
    "respite_materials_invalidations_total",
    "Catalogue cache keys dropped by writes and MINVALIDATE.",
);
/// Misses that shared another's store fetch (INFO `materials_coalesced`).
pub const MATERIALS_COALESCED: Metric = counter(
    "respite_materials_coalesced_total",
    "Catalogue misses that shared a store fetch in flight.",
);
/// Whether a store answers a ping at scrape time (`store` = `relational`,
/// `vector`); 0 while the catalogue is not open.
pub const MATERIALS_STORE_UP: Metric = gauge(
    "respite_materials_store_up",
    "1 when the store answered the latest health ping (at most 1 s old), else 0.",
);
/// Every store call's duration through `store::timed` (`store` = the
/// store's name, `op` = [`StoreOp`]), whatever its outcome.
pub const STORE_DURATION: Metric = histogram(
    "respite_store_duration_seconds",
    "Store call duration in seconds, per store and operation.",
);

/// Every metric exported, for HELP lines and for tests that check the
/// scrape.
pub const ALL: &[Metric] = &[
    COMMAND_CALLS,
    COMMAND_FAILED,
    COMMAND_REJECTED,
    CLIENTS_BLOCKED,
    CLIENTS_TRACKING,
    CLIENTS_BUFFERS,
    UPSTREAM_IN_FLIGHT,
    STORE_CALLS,
    STORE_ERRORS,
    MATERIALS_GENERATION,
    BUILD_INFO,
    UPTIME,
    CLIENTS_CONNECTED,
    CLIENTS_MAX,
    CLIENTS_PINNED,
    CLIENTS_PUBSUB,
    MEMORY_RSS,
    CONNECTIONS_RECEIVED,
    CONNECTIONS_REJECTED,
    COMMANDS_PROCESSED,
    NET_INPUT_BYTES,
    NET_OUTPUT_BYTES,
    PROTOCOL_ERRORS,
    OUTPUT_LIMIT_DISCONNECTS,
    COMMAND_DURATION,
    UPSTREAM_UP,
    UPSTREAM_CONNECTED,
    UPSTREAM_PINNED,
    UPSTREAM_ERRORS,
    UPSTREAM_RECONNECTS,
    UPSTREAM_MUX_COMMANDS,
    UPSTREAM_MUX_JOBS,
    UPSTREAM_MUX_WRITES,
    UPSTREAM_RTT,
    L1_ENABLED,
    L1_TRACKING,
    L1_HITS,
    L1_MISSES,
    L1_ADMISSIONS,
    L1_REJECTIONS,
    L1_STALE_FILLS,
    L1_EVICTIONS,
    L1_EXPIRATIONS,
    L1_INVALIDATIONS,
    L1_INVALIDATIONS_LOCAL,
    L1_INVALIDATIONS_PUSHED,
    L1_TRACKING_PUSHES,
    L1_FLUSHES,
    L1_COALESCED,
    L1_ENTRIES,
    L1_KEYS,
    L1_BYTES,
    L1_BUDGET,
    L1_INVALIDATION_LAG,
    L1_INVALIDATION_LAG_MAX,
    L1_INVALIDATION_LAG_SAMPLES,
    INVALIDATION_LAG,
    MATERIALS_OPEN,
    MATERIALS_HITS,
    MATERIALS_MISSES,
    MATERIALS_L2_ERRORS,
    MATERIALS_STORE_READS,
    MATERIALS_BACKEND_ERRORS,
    MATERIALS_WRITES,
    MATERIALS_INVALIDATIONS,
    MATERIALS_COALESCED,
    MATERIALS_STORE_UP,
    STORE_DURATION,
];

/// Bucket upper bounds, in seconds, of every respite histogram: 10 µs (an
/// L1 hit) to 30 s (a store call at its timeout).
pub const LATENCY_BUCKETS: [f64; 20] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets, so their
/// buffers stay small even when nobody scrapes.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(1);

/// The recorder and the histogram handles registered once.
struct Instruments {
    prometheus: PrometheusHandle,
    upstream_rtt: Histogram,
    invalidation_lag: Histogram,
}

/// The process-wide recorder, installed on first use (`None` when another
/// recorder was installed first: then nothing is exported).
fn instruments() -> Option<&'static Instruments> {
    static INSTRUMENTS: OnceLock<Option<Instruments>> = OnceLock::new();
    INSTRUMENTS.get_or_init(install).as_ref()
}

fn install() -> Option<Instruments> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&LATENCY_BUCKETS)
        .and_then(PrometheusBuilder::install_recorder);
    let prometheus = match prometheus {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: no Prometheus recorder; /metrics will be empty");
            return None;
        }
    };
    // Only histograms live in the recorder; COMMAND_DURATION is rendered
    // by `render_command_latency`, everything else by `Text`.
    for m in ALL.iter().filter(|m| m.kind == Kind::Histogram) {
        if m.name != COMMAND_DURATION.name {
            metrics::describe_histogram!(m.name, m.help);
        }
    }
    Some(Instruments {
        prometheus,
        upstream_rtt: metrics::histogram!(UPSTREAM_RTT.name),
        invalidation_lag: metrics::histogram!(INVALIDATION_LAG.name),
    })
}

/// Install the recorder now, before anything is timed (the server calls
/// this first, so store calls made while opening are recorded too).
pub fn init() {
    instruments();
}

/// `count` commands of `family` took `seconds` each, from reading them
/// to their replies being ready. On the request path of every command:
/// a bucket search and two relaxed atomic adds, no lock, no allocation.
pub fn record_command(family: Group, seconds: f64, count: u64) {
    COMMAND_LATENCY[family as usize].record(seconds, count);
}

/// A histogram counted with plain atomics and rendered at scrape time.
/// The exporter's own histograms keep every sample, timestamped, until
/// upkeep folds them: on the per-command path that cost about 5% of an L1
/// hit's CPU at 16-deep pipelines (perf, BENCHMARKS.md "Operators").
struct AtomicHistogram {
    /// Observations per bucket (not cumulative); the last is `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    /// Sum of observations, in nanoseconds.
    sum_ns: AtomicU64,
}

impl AtomicHistogram {
    const fn new() -> Self {
        AtomicHistogram {
            buckets: [const { AtomicU64::new(0) }; LATENCY_BUCKETS.len() + 1],
            sum_ns: AtomicU64::new(0),
        }
    }

    fn record(&self, seconds: f64, count: u64) {
        let at = LATENCY_BUCKETS.partition_point(|&le| le < seconds);
        if let Some(b) = self.buckets.get(at) {
            b.fetch_add(count, Ordering::Relaxed);
        }
        let ns = (seconds.max(0.0) * 1e9) as u64;
        self.sum_ns
            .fetch_add(ns.saturating_mul(count), Ordering::Relaxed);
    }

    /// Prometheus text lines for this histogram under `name{labels}`.
    fn render(&self, name: &str, labels: &str, out: &mut String) {
        let mut cumulative = 0;
        let bounds = LATENCY_BUCKETS.iter().map(|b| b.to_string());
        for (le, b) in bounds.chain(["+Inf".to_string()]).zip(&self.buckets) {
            cumulative += b.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let sum = self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }
}

/// [`COMMAND_DURATION`], one histogram per family (`Group::ALL` order).
static COMMAND_LATENCY: [AtomicHistogram; Group::ALL.len()] =
    [const { AtomicHistogram::new() }; Group::ALL.len()];

/// [`COMMAND_DURATION`] in the Prometheus text format.
fn render_command_latency() -> String {
    let m = COMMAND_DURATION;
    let mut out = format!(
        "# HELP {} {}\n# TYPE {} histogram\n",
        m.name, m.help, m.name
    );
    for (g, h) in Group::ALL.iter().zip(&COMMAND_LATENCY) {
        h.render(m.name, &format!("family=\"{}\"", g.as_str()), &mut out);
    }
    out
}

/// A pooled upstream write got its first reply after `rtt`.
pub fn record_upstream_rtt(rtt: Duration) {
    if let Some(i) = instruments() {
        i.upstream_rtt.record(rtt.as_secs_f64());
    }
}

/// The lag probe measured `lag` from its write to the invalidation push.
pub fn record_invalidation_lag(lag: Duration) {
    if let Some(i) = instruments() {
        i.invalidation_lag.record(lag.as_secs_f64());
    }
}

/// A store call took `elapsed` (store calls take milliseconds, so the
/// registry lookup this costs does not matter).
pub fn record_store(store: &'static str, op: StoreOp, elapsed: Duration) {
    metrics::histogram!(STORE_DURATION.name, "store" => store, "op" => op.as_str())
        .record(elapsed.as_secs_f64());
}

/// Fold histogram samples into their buckets every [`UPKEEP_INTERVAL`]
/// until `shutdown`, so memory stays bounded when nobody scrapes.
pub async fn upkeep(shutdown: CancellationToken) {
    let Some(i) = instruments() else {
        return;
    };
    crate::every(UPKEEP_INTERVAL, shutdown, || i.prometheus.run_upkeep()).await;
}

/// The Prometheus text for `ctx`: ping the catalogue's stores (bounded),
/// write this server's values, then the process-wide histograms.
pub async fn scrape(ctx: &Ctx) -> String {
    let Some(i) = instruments() else {
        return String::new();
    };
    let stores = stores_up(ctx).await;
    let mut out = Text::default();
    export_server(ctx, &mut out);
    export_stats(ctx, &mut out);
    export_upstream(ctx, &mut out);
    export_l1(ctx, &mut out);
    export_materials(ctx, stores, &mut out);
    export_commands(ctx, &mut out);
    export_stores(ctx, &mut out);
    let mut text = out.0;
    let histograms = i.prometheus.render();
    text.push_str(&histograms);
    if !histograms.is_empty() && !histograms.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&render_command_latency());
    text
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Prometheus text for one server's values, a whole family at a time.
///
/// Per-server values are written here rather than set in the process-wide
/// recorder: several servers in one process (tests) would overwrite each
/// other there, and the recorder keeps a counter's largest value ever set,
/// so a counter could never follow a `STATS RESET`.
#[derive(Default)]
struct Text(String);

impl Text {
    fn head(&mut self, m: Metric) {
        let _ = writeln!(self.0, "# HELP {} {}", m.name, m.help);
        let _ = writeln!(self.0, "# TYPE {} {}", m.name, m.kind.as_str());
    }

    /// Unlabelled metrics with their values.
    fn each<V: Display>(&mut self, list: &[(Metric, V)]) {
        for (m, v) in list {
            self.head(*m);
            let _ = writeln!(self.0, "{} {v}", m.name);
        }
    }

    /// One metric whose samples differ in the label `key`.
    fn by<V: Display>(&mut self, m: Metric, key: &str, samples: &[(&str, V)]) {
        if samples.is_empty() {
            return;
        }
        self.head(m);
        for (label, v) in samples {
            let _ = writeln!(self.0, "{}{{{key}=\"{label}\"}} {v}", m.name);
        }
    }
}

fn flag(on: bool) -> f64 {
    if on {
        1.0
    } else {
        0.0
    }
}

fn export_server(ctx: &Ctx, out: &mut Text) {
    out.by(BUILD_INFO, "version", &[(env!("CARGO_PKG_VERSION"), 1)]);
    let c = ctx.clients.summary();
    out.each(&[
        (UPTIME, ctx.started.elapsed().as_secs_f64()),
        (CLIENTS_CONNECTED, c.connected as f64),
        (CLIENTS_MAX, ctx.config.server.maxclients as f64),
        (CLIENTS_PINNED, c.pinned as f64),
        (CLIENTS_PUBSUB, c.pubsub as f64),
        (CLIENTS_BLOCKED, c.blocked as f64),
        (CLIENTS_TRACKING, ctx.cache.clients.count() as f64),
        (CLIENTS_BUFFERS, c.buffers as f64),
        (UPSTREAM_IN_FLIGHT, c.outstanding as f64),
        (MEMORY_RSS, crate::command::info::rss_bytes() as f64),
    ]);
}

fn export_stats(ctx: &Ctx, out: &mut Text) {
    let s = &ctx.stats;
    out.each(&[
        (CONNECTIONS_RECEIVED, get(&s.connections_received)),
        (CONNECTIONS_REJECTED, get(&s.rejected_connections)),
        (COMMANDS_PROCESSED, get(&s.commands_processed)),
        (NET_INPUT_BYTES, get(&s.net_input_bytes)),
        (NET_OUTPUT_BYTES, get(&s.net_output_bytes)),
        (PROTOCOL_ERRORS, get(&s.protocol_errors)),
        (OUTPUT_LIMIT_DISCONNECTS, get(&s.output_limit_disconnects)),
    ]);
}

fn export_upstream(ctx: &Ctx, out: &mut Text) {
    let u = ctx.upstream.state();
    let connected = u.connected.load(Ordering::Relaxed);
    out.each(&[
        (UPSTREAM_UP, flag(connected > 0)),
        (UPSTREAM_CONNECTED, connected as f64),
        (UPSTREAM_PINNED, u.pinned.load(Ordering::Relaxed) as f64),
    ]);
    out.each(&[
        (UPSTREAM_ERRORS, get(&u.errors)),
        (UPSTREAM_RECONNECTS, get(&u.reconnects)),
        (UPSTREAM_MUX_COMMANDS, get(&u.mux_commands)),
        (UPSTREAM_MUX_JOBS, get(&u.mux_jobs)),
        (UPSTREAM_MUX_WRITES, get(&u.mux_writes)),
    ]);
}

fn export_l1(ctx: &Ctx, out: &mut Text) {
    let c = &ctx.cache;
    let (st, k) = (c.l1.stats(), &c.counters);
    out.each(&[
        (L1_HITS, st.hits),
        (L1_MISSES, st.misses),
        (L1_ADMISSIONS, st.admissions),
        (L1_REJECTIONS, st.rejections),
        (L1_STALE_FILLS, st.stale_fills),
        (L1_EVICTIONS, st.evictions),
        (L1_EXPIRATIONS, st.expired),
        (L1_INVALIDATIONS, st.invalidations),
        (L1_INVALIDATIONS_LOCAL, get(&k.local_invalidations)),
        (L1_INVALIDATIONS_PUSHED, get(&k.pushed_invalidations)),
        (L1_TRACKING_PUSHES, get(&c.tracking().pushes)),
        (L1_FLUSHES, get(&k.flushes)),
        (L1_COALESCED, get(&k.coalesced)),
        (L1_INVALIDATION_LAG_SAMPLES, get(&c.lag.samples)),
    ]);
    out.each(&[
        (L1_ENABLED, flag(c.enabled)),
        (L1_ENTRIES, st.entries as f64),
        (L1_KEYS, st.keys as f64),
        (L1_BYTES, st.bytes as f64),
        (L1_BUDGET, st.budget as f64),
        (L1_INVALIDATION_LAG, get(&c.lag.last_us) as f64 / 1e6),
        (L1_INVALIDATION_LAG_MAX, get(&c.lag.max_us) as f64 / 1e6),
    ]);
    let mode = crate::command::info::tracking_mode(c.tracking());
    let modes = ["on", "down", "off"].map(|m| (m, flag(m == mode)));
    out.by(L1_TRACKING, "mode", &modes);
}

/// Whether each store (relational, vector) answered the latest HEALTH
/// probe (at most [`PROBE_MAX_AGE`](crate::command::health::PROBE_MAX_AGE)
/// old); `None` when the catalogue is disabled (nothing to report).
async fn stores_up(ctx: &Ctx) -> Option<[bool; 2]> {
    if !ctx.config.materials.enabled {
        return None;
    }
    use crate::command::health;
    let (report, _) = health::check(ctx, health::PROBE_MAX_AGE).await;
    let up = |name| {
        report
            .components
            .iter()
            .any(|c| c.name == name && c.status == health::Status::Up)
    };
    Some([up("relational_store"), up("vector_store")])
}

fn export_materials(ctx: &Ctx, stores: Option<[bool; 2]>, out: &mut Text) {
    let c = &ctx.materials.counters;
    let open = ctx.materials.get().ok();
    let tiers = |l1: &AtomicU64, l2: &AtomicU64| [("l1", get(l1)), ("l2", get(l2))];
    out.by(MATERIALS_HITS, "tier", &tiers(&c.l1_hits, &c.l2_hits));
    out.by(MATERIALS_MISSES, "tier", &tiers(&c.l1_misses, &c.l2_misses));
    out.each(&[
        (MATERIALS_L2_ERRORS, get(&c.l2_errors)),
        (MATERIALS_STORE_READS, get(&c.store_reads)),
        (MATERIALS_BACKEND_ERRORS, get(&c.backend_errors)),
        (MATERIALS_WRITES, get(&c.writes)),
        (MATERIALS_INVALIDATIONS, get(&c.invalidations)),
        (MATERIALS_COALESCED, open.map_or(0, |cat| cat.coalesced())),
    ]);
    out.each(&[
        (MATERIALS_OPEN, flag(open.is_some())),
        (MATERIALS_GENERATION, get(&c.generation) as f64),
    ]);
    if let Some([relational, vector]) = stores {
        let up = [("relational", flag(relational)), ("vector", flag(vector))];
        out.by(MATERIALS_STORE_UP, "store", &up);
    }
}

/// `# Commandstats`, summed per command family.
fn export_commands(ctx: &Ctx, out: &mut Text) {
    let families: Vec<_> = ctx.commands.families().into_iter().collect();
    let column = |f: fn(&Counts) -> u64| -> Vec<(&str, u64)> {
        families.iter().map(|(name, c)| (*name, f(c))).collect()
    };
    out.by(COMMAND_CALLS, "family", &column(|c| c.calls));
    out.by(COMMAND_FAILED, "family", &column(|c| c.failed));
    out.by(COMMAND_REJECTED, "family", &column(|c| c.rejected));
}

/// `# Backends`: calls and errors of every store called so far.
fn export_stores(ctx: &Ctx, out: &mut Text) {
    let health = &ctx.materials.counters.stores;
    let called: Vec<_> = crate::store::health::STORES
        .iter()
        .map(|store| (*store, health.snapshot(store)))
        .filter(|(_, b)| b.calls > 0)
        .collect();
    let calls: Vec<_> = called.iter().map(|(s, b)| (*s, b.calls)).collect();
    let errors: Vec<_> = called.iter().map(|(s, b)| (*s, b.errors)).collect();
    out.by(STORE_CALLS, "store", &calls);
    out.by(STORE_ERRORS, "store", &errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_prometheus_shaped() {
        let mut seen = std::collections::HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.name), "{} twice", m.name);
            assert!(m.name.starts_with("respite_"), "{}", m.name);
            let ok = m
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            assert!(ok, "{}", m.name);
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}",
                m.name
            );
            assert!(!m.help.is_empty());
        }
    }

    #[test]
    fn atomic_histogram_buckets_and_renders_cumulatively() {
        let h = AtomicHistogram::new();
        h.record(0.000_005, 3); // under the first bound
        h.record(0.000_01, 1); // on a bound: `le` includes it
        h.record(0.003, 2);
        h.record(99.0, 1); // over the last bound: +Inf only
        let mut out = String::new();
        h.render("x", "family=\"f\"", &mut out);
        let line = |le: &str| {
            let head = format!("x_bucket{{family=\"f\",le=\"{le}\"}} ");
            out.lines()
                .find_map(|l| l.strip_prefix(&head))
                .and_then(|v| v.parse::<u64>().ok())
        };
        assert_eq!(line("0.00001"), Some(4));
        assert_eq!(line("0.0025"), Some(4));
        assert_eq!(line("0.005"), Some(6));
        assert_eq!(line("30"), Some(6));
        assert_eq!(line("+Inf"), Some(7));
        assert!(out.contains("x_count{family=\"f\"} 7"), "{out}");
        let sum = 3.0 * 0.000_005 + 0.000_01 + 2.0 * 0.003 + 99.0;
        let got: f64 = out
            .lines()
            .find_map(|l| l.strip_prefix("x_sum{family=\"f\"} "))
            .and_then(|v| v.parse().ok())
            .unwrap_or_default();
        assert!((got - sum).abs() < 1e-6, "{got} vs {sum}");
    }

    #[test]
    fn buckets_ascend() {
        assert!(LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
