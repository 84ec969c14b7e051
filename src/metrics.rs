//! Metric names, in one place, and their export.
//!
//! The request path counts with plain atomics (see `command::Stats`); the
//! Prometheus exporter reads them when scraped, so counting costs no
//! registry lookups per request.

use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::command::Ctx;

/// Connections accepted.
pub const CONNECTIONS_RECEIVED: &str = "respite_connections_received_total";
/// Connections refused at maxclients.
pub const CONNECTIONS_REJECTED: &str = "respite_connections_rejected_total";
/// Clients connected now.
pub const CLIENTS_CONNECTED: &str = "respite_clients_connected";
/// Commands processed.
pub const COMMANDS_PROCESSED: &str = "respite_commands_processed_total";
/// Bytes read from clients.
pub const NET_INPUT_BYTES: &str = "respite_net_input_bytes_total";
/// Bytes written to clients.
pub const NET_OUTPUT_BYTES: &str = "respite_net_output_bytes_total";
/// Connections closed for a protocol error.
pub const PROTOCOL_ERRORS: &str = "respite_protocol_errors_total";
/// Multiplexed upstream connections up.
pub const UPSTREAM_CONNECTED: &str = "respite_upstream_connections";
/// Dedicated upstream connections open.
pub const UPSTREAM_PINNED: &str = "respite_upstream_pinned_connections";
/// Upstream errors.
pub const UPSTREAM_ERRORS: &str = "respite_upstream_errors_total";
/// Upstream reconnect attempts.
pub const UPSTREAM_RECONNECTS: &str = "respite_upstream_reconnects_total";

/// L1 hits.
pub const L1_HITS: &str = "respite_l1_hits_total";
/// L1 misses.
pub const L1_MISSES: &str = "respite_l1_misses_total";
/// Fills admitted into L1.
pub const L1_ADMISSIONS: &str = "respite_l1_admissions_total";
/// Fills refused (not hot enough, too large, denied).
pub const L1_REJECTIONS: &str = "respite_l1_rejections_total";
/// Fills dropped because their key was invalidated meanwhile.
pub const L1_STALE_FILLS: &str = "respite_l1_stale_fills_total";
/// Entries evicted to stay within the budget.
pub const L1_EVICTIONS: &str = "respite_l1_evictions_total";
/// Keys dropped by writes through respite.
pub const L1_INVALIDATIONS_LOCAL: &str = "respite_l1_invalidations_local_total";
/// Keys dropped by tracking pushes.
pub const L1_INVALIDATIONS_PUSHED: &str = "respite_l1_invalidations_pushed_total";
/// Whole-cache flushes.
pub const L1_FLUSHES: &str = "respite_l1_flushes_total";
/// Misses coalesced onto an identical one in flight.
pub const L1_COALESCED: &str = "respite_l1_coalesced_misses_total";
/// Replies stored in L1.
pub const L1_ENTRIES: &str = "respite_l1_entries";
/// Bytes used by L1 (overhead included).
pub const L1_BYTES: &str = "respite_l1_bytes";
/// L1 byte budget.
pub const L1_BUDGET: &str = "respite_l1_budget_bytes";
/// Last invalidation lag measured by the probe, in seconds.
pub const L1_INVALIDATION_LAG: &str = "respite_l1_invalidation_lag_seconds";

/// The process-wide Prometheus recorder (installed once, on first use).
pub fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Copy the current counters into the recorder and render them.
pub fn render(ctx: &Ctx) -> String {
    let Some(handle) = handle() else {
        return String::new();
    };
    let s = &ctx.stats;
    let u = ctx.upstream.state();
    let counters = [
        (
            CONNECTIONS_RECEIVED,
            s.connections_received.load(Ordering::Relaxed),
        ),
        (
            CONNECTIONS_REJECTED,
            s.rejected_connections.load(Ordering::Relaxed),
        ),
        (
            COMMANDS_PROCESSED,
            s.commands_processed.load(Ordering::Relaxed),
        ),
        (NET_INPUT_BYTES, s.net_input_bytes.load(Ordering::Relaxed)),
        (NET_OUTPUT_BYTES, s.net_output_bytes.load(Ordering::Relaxed)),
        (PROTOCOL_ERRORS, s.protocol_errors.load(Ordering::Relaxed)),
        (UPSTREAM_ERRORS, u.errors.load(Ordering::Relaxed)),
        (UPSTREAM_RECONNECTS, u.reconnects.load(Ordering::Relaxed)),
    ];
    let l1 = ctx.cache.l1.stats();
    let k = &ctx.cache.counters;
    let l1_counters = [
        (L1_HITS, l1.hits),
        (L1_MISSES, l1.misses),
        (L1_ADMISSIONS, l1.admissions),
        (L1_REJECTIONS, l1.rejections),
        (L1_STALE_FILLS, l1.stale_fills),
        (L1_EVICTIONS, l1.evictions),
        (
            L1_INVALIDATIONS_LOCAL,
            k.local_invalidations.load(Ordering::Relaxed),
        ),
        (
            L1_INVALIDATIONS_PUSHED,
            k.pushed_invalidations.load(Ordering::Relaxed),
        ),
        (L1_FLUSHES, k.flushes.load(Ordering::Relaxed)),
        (L1_COALESCED, k.coalesced.load(Ordering::Relaxed)),
    ];
    let counters = counters.into_iter().chain(l1_counters);
    for (name, v) in counters {
        metrics::counter!(name).absolute(v);
    }
    let gauges = [
        (CLIENTS_CONNECTED, ctx.clients.len()),
        (UPSTREAM_CONNECTED, u.connected.load(Ordering::Relaxed)),
        (UPSTREAM_PINNED, u.pinned.load(Ordering::Relaxed)),
    ];
    for (name, v) in gauges {
        metrics::gauge!(name).set(v as f64);
    }
    for (name, v) in [
        (L1_ENTRIES, l1.entries),
        (L1_BYTES, l1.bytes),
        (L1_BUDGET, l1.budget),
    ] {
        metrics::gauge!(name).set(v as f64);
    }
    let lag_us = ctx.cache.lag.last_us.load(Ordering::Relaxed);
    metrics::gauge!(L1_INVALIDATION_LAG).set(lag_us as f64 / 1e6);
    handle.render()
}
