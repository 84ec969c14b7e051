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
    handle.render()
}
