//! `STATS [RESET]`: whether the cache earns its keep, in the seed system's
//! `get_cache_stats()` shape — `cache_performance`, `cache_configuration`,
//! `redis_status` — plus `families` (per command family) and `tiers` (L1,
//! the catalogue's L2 and stores, the upstream).
//!
//! Counters only ever grow, so RESET keeps a baseline and STATS reports
//! what happened since; it also zeroes the per-command counters (INFO's
//! `# Commandstats`), as Redis's `CONFIG RESETSTAT` does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};

use super::cmdstats::Counts;
use super::materials::Task;
use super::{Ctx, Outcome};
use crate::error::ReplyError;
use crate::protocol::encode::{ReplyWriter, Value};
use crate::protocol::{Proto, Request};

/// The tier counters STATS reports, as plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    l1_hits: u64,
    l1_misses: u64,
    m_l1_hits: u64,
    m_l1_misses: u64,
    l2_hits: u64,
    l2_misses: u64,
    l2_errors: u64,
    store_reads: u64,
    backend_errors: u64,
    m_writes: u64,
    upstream_commands: u64,
    upstream_errors: u64,
}

impl Totals {
    fn now(ctx: &Ctx) -> Totals {
        let l1 = ctx.cache.l1.stats();
        let m = &ctx.materials.counters;
        let u = ctx.upstream.state();
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Totals {
            l1_hits: l1.hits,
            l1_misses: l1.misses,
            m_l1_hits: get(&m.l1_hits),
            m_l1_misses: get(&m.l1_misses),
            l2_hits: get(&m.l2_hits),
            l2_misses: get(&m.l2_misses),
            l2_errors: get(&m.l2_errors),
            store_reads: get(&m.store_reads),
            backend_errors: get(&m.backend_errors),
            m_writes: get(&m.writes),
            upstream_commands: get(&u.mux_commands),
            upstream_errors: get(&u.errors),
        }
    }

    fn since(self, base: Totals) -> Totals {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        Totals {
            l1_hits: d(self.l1_hits, base.l1_hits),
            l1_misses: d(self.l1_misses, base.l1_misses),
            m_l1_hits: d(self.m_l1_hits, base.m_l1_hits),
            m_l1_misses: d(self.m_l1_misses, base.m_l1_misses),
            l2_hits: d(self.l2_hits, base.l2_hits),
            l2_misses: d(self.l2_misses, base.l2_misses),
            l2_errors: d(self.l2_errors, base.l2_errors),
            store_reads: d(self.store_reads, base.store_reads),
            backend_errors: d(self.backend_errors, base.backend_errors),
            m_writes: d(self.m_writes, base.m_writes),
            upstream_commands: d(self.upstream_commands, base.upstream_commands),
            upstream_errors: d(self.upstream_errors, base.upstream_errors),
        }
    }
}

/// Where STATS counts from (the last RESET, or the start).
#[derive(Debug, Default)]
pub struct Baseline(Mutex<Totals>);

impl Baseline {
    fn get(&self) -> Totals {
        self.0.lock().map(|b| *b).unwrap_or_default()
    }

    fn set(&self, t: Totals) {
        if let Ok(mut b) = self.0.lock() {
            *b = t;
        }
    }
}

/// `STATS` or `STATS RESET`.
pub fn run(ctx: &Ctx, argv: &[Bytes], proto: Proto) -> Result<Outcome, ReplyError> {
    match argv {
        [_] => Ok(Outcome::Task(Task::new(move |ctx: Arc<Ctx>| async move {
            let redis = redis_status(&ctx).await;
            let mut out = BytesMut::new();
            ReplyWriter::new(&mut out, proto).value(&report(&ctx, redis));
            out.freeze()
        }))),
        [_, r] if r.eq_ignore_ascii_case(b"RESET") => {
            ctx.stats_baseline.set(Totals::now(ctx));
            ctx.commands.reset();
            let mut out = BytesMut::new();
            ReplyWriter::new(&mut out, proto).simple("OK");
            let reply = out.freeze();
            Ok(Outcome::Task(Task::new(move |_| async move { reply })))
        }
        _ => Err(ReplyError::invalid("syntax error, expected STATS [RESET]")),
    }
}

fn rate(hits: u64, misses: u64) -> Value {
    let reads = hits + misses;
    let pct = if reads == 0 {
        0.0
    } else {
        hits as f64 * 100.0 / reads as f64
    };
    Value::Float((pct * 100.0).round() / 100.0)
}

/// The whole STATS reply.
fn report(ctx: &Ctx, redis_status: Value) -> Value {
    let t = Totals::now(ctx).since(ctx.stats_baseline.get());
    let all = ctx.commands.total();
    // A read answered by any cache tier is a hit; one that reached the
    // source of truth (Redis for plain keys, the stores for materials)
    // is a miss.
    let hits = t.l1_hits + t.l2_hits;
    let misses = t.l1_misses.saturating_sub(t.m_l1_misses) + t.l2_misses;
    let performance = Value::map([
        ("hit_rate", rate(hits, misses)),
        ("total_hits", Value::count(hits)),
        ("total_misses", Value::count(misses)),
        (
            "total_writes",
            Value::count(ctx.commands.writes() + t.m_writes),
        ),
        ("total_errors", Value::count(all.failed + all.rejected)),
        ("total_requests", Value::count(all.calls + all.rejected)),
    ]);
    Value::map([
        ("cache_performance", performance),
        ("cache_configuration", configuration(ctx)),
        ("redis_status", redis_status),
        ("families", families(ctx)),
        ("tiers", tiers(&t)),
    ])
}

fn configuration(ctx: &Ctx) -> Value {
    let cfg = ctx.live.current();
    let ttl = &ctx.materials.ttls;
    Value::map([
        ("search_ttl", Value::count(ttl.search_secs())),
        ("material_ttl", Value::count(ttl.material_secs())),
        ("health_ttl", Value::count(ttl.health_secs())),
        ("key_prefix", Value::text(cfg.materials.prefix.clone())),
        ("l1_enabled", Value::Bool(ctx.cache.enabled)),
        ("l1_budget_bytes", Value::count(ctx.cache.l1.stats().budget)),
        ("l1_max_ttl_ms", Value::count(cfg.l1.max_ttl_ms)),
        (
            "l1_max_value_bytes",
            Value::count(cfg.l1.max_value_bytes as u64),
        ),
        (
            "l1_admit_min_reads",
            Value::count(u64::from(cfg.l1.admit_min_reads)),
        ),
    ])
}

fn counts(c: &Counts) -> Value {
    Value::map([
        ("calls", Value::count(c.calls)),
        ("usec", Value::count(c.usec)),
        (
            "usec_per_call",
            Value::Float((c.usec_per_call() * 100.0).round() / 100.0),
        ),
        ("failed_calls", Value::count(c.failed)),
        ("rejected_calls", Value::count(c.rejected)),
    ])
}

fn families(ctx: &Ctx) -> Value {
    Value::map(
        ctx.commands
            .families()
            .into_iter()
            .map(|(family, c)| (family, counts(&c))),
    )
}

fn tiers(t: &Totals) -> Value {
    let hit_miss = |h: u64, m: u64| {
        Value::map([
            ("hits", Value::count(h)),
            ("misses", Value::count(m)),
            ("hit_rate", rate(h, m)),
        ])
    };
    Value::map([
        ("l1", hit_miss(t.l1_hits, t.l1_misses)),
        ("materials_l1", hit_miss(t.m_l1_hits, t.m_l1_misses)),
        (
            "materials_l2",
            Value::map([
                ("hits", Value::count(t.l2_hits)),
                ("misses", Value::count(t.l2_misses)),
                ("hit_rate", rate(t.l2_hits, t.l2_misses)),
                ("errors", Value::count(t.l2_errors)),
            ]),
        ),
        (
            "stores",
            Value::map([
                ("reads", Value::count(t.store_reads)),
                ("errors", Value::count(t.backend_errors)),
            ]),
        ),
        (
            "upstream",
            Value::map([
                ("commands", Value::count(t.upstream_commands)),
                ("errors", Value::count(t.upstream_errors)),
            ]),
        ),
    ])
}

/// The upstream's side: reachable, PING time, memory and clients (from
/// its own INFO), as the seed system reported them.
async fn redis_status(ctx: &Ctx) -> Value {
    let (ping_ms, pong) = super::health::ping_upstream(ctx).await;
    let mut fields = vec![
        ("connected", Value::Bool(pong.is_ok())),
        ("address", Value::text(ctx.upstream.addr())),
    ];
    if let Err(why) = pong {
        fields.push(("error", Value::text(why)));
        return Value::map(fields);
    }
    fields.push((
        "ping_time_ms",
        Value::Float((ping_ms * 1000.0).round() / 1000.0),
    ));
    let info = Request::from_args(["INFO", "server", "memory", "clients"]).raw;
    let text = match ctx.upstream.call(Proto::Resp2, 0, info, 1).await {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(_) => String::new(),
    };
    for name in [
        "redis_version",
        "used_memory",
        "used_memory_human",
        "connected_clients",
    ] {
        if let Some(v) = info_field(&text, name) {
            let v = v.parse::<i64>().map_or_else(|_| Value::text(v), Value::Int);
            fields.push((name, v));
        }
    }
    Value::map(fields)
}

/// `name:value` from an INFO text.
fn info_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_fields_and_rates() {
        let text = "$40\r\n# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\n";
        assert_eq!(info_field(text, "used_memory"), Some("1024"));
        assert_eq!(info_field(text, "used_memory_human"), Some("1.00K"));
        assert_eq!(info_field(text, "connected_clients"), None);
        assert_eq!(rate(1, 2), Value::Float(33.33));
        assert_eq!(rate(0, 0), Value::Float(0.0));
    }

    #[test]
    fn totals_since_a_baseline_never_underflow() {
        let later = Totals {
            l1_hits: 5,
            ..Totals::default()
        };
        let base = Totals {
            l1_hits: 2,
            l2_hits: 9,
            ..Totals::default()
        };
        let d = later.since(base);
        assert_eq!((d.l1_hits, d.l2_hits), (3, 0));
    }
}
