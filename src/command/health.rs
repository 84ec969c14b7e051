//! HEALTH and the admin port's readiness: every component (upstream,
//! relational store, vector store, L1) with its status and response time.
//!
//! A check probes the upstream (PING) and both stores (their ping) at
//! once, each bounded, and is kept for `materials.health_ttl_secs` (the
//! seed system's 60 s) so that a storm of HEALTH calls or readiness probes
//! costs one round of probes. `HEALTH FRESH` skips the kept answer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::materials::Task;
use super::{Ctx, Outcome};
use crate::error::ReplyError;
use crate::protocol::encode::{ReplyWriter, Value};
use crate::protocol::{Proto, Request};

/// How old a check may be to answer `/ready` and a metrics scrape:
/// orchestrators and Prometheus see an outage within a second, and still
/// share one round of probes per second however often they ask.
pub const PROBE_MAX_AGE: Duration = Duration::from_secs(1);

/// Longest a component's probe may take before it counts as down.
const PROBE_BOUND: Duration = Duration::from_secs(2);

/// A component's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Answered in time.
    Up,
    /// Failed or did not answer in time.
    Down,
    /// Not configured (the catalogue is disabled, or L1 is off).
    Disabled,
}

impl Status {
    /// How HEALTH spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Down => "down",
            Status::Disabled => "disabled",
        }
    }
}

/// One component's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Component {
    /// `upstream`, `relational_store`, `vector_store` or `l1`.
    pub name: &'static str,
    /// What it is (`redis`, `postgres`, `sqlite`, `qdrant`, `qdrant-edge`,
    /// `in-process`).
    pub kind: String,
    /// Up, down or disabled.
    pub status: Status,
    /// How long the probe took, in milliseconds.
    pub response_time_ms: f64,
    /// Address, error, or other detail for people.
    pub detail: String,
}

/// A whole check.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Every component, upstream first.
    pub components: Vec<Component>,
    /// Unix seconds when the probes ran.
    pub checked_at: u64,
}

impl Report {
    /// `healthy` when every configured component is up, `unhealthy` when
    /// the upstream is down, `degraded` otherwise.
    pub fn status(&self) -> &'static str {
        let down = |name| {
            self.components
                .iter()
                .any(|c| c.name == name && c.status == Status::Down)
        };
        if down("upstream") {
            "unhealthy"
        } else if self.components.iter().any(|c| c.status == Status::Down) {
            "degraded"
        } else {
            "healthy"
        }
    }

    /// Whether respite can serve: the upstream and every configured store
    /// answer (the admin port's `/ready`).
    pub fn ready(&self) -> bool {
        self.components
            .iter()
            .filter(|c| c.name != "l1")
            .all(|c| c.status != Status::Down)
    }

    fn to_value(&self, cached: bool) -> Value {
        let components = self.components.iter().map(|c| {
            let v = Value::map([
                ("status", Value::text(c.status.as_str())),
                ("kind", Value::text(c.kind.clone())),
                ("response_time_ms", Value::Float(round3(c.response_time_ms))),
                ("detail", Value::text(c.detail.clone())),
            ]);
            (c.name, v)
        });
        Value::map([
            ("status", Value::text(self.status())),
            ("checked_at", Value::count(self.checked_at)),
            ("cached", Value::Bool(cached)),
            ("components", Value::map(components)),
        ])
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The last check, kept for the health TTL.
#[derive(Debug, Default)]
pub struct HealthCache {
    last: Mutex<Option<(Instant, Arc<Report>)>>,
}

impl HealthCache {
    fn fresh(&self, ttl: Duration) -> Option<Arc<Report>> {
        let last = self.last.lock().ok()?;
        let (at, report) = last.as_ref()?;
        (at.elapsed() < ttl).then(|| report.clone())
    }

    fn keep(&self, report: Arc<Report>) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some((Instant::now(), report));
        }
    }
}

/// How old a kept report may be to answer HEALTH: the health TTL.
pub fn health_ttl(ctx: &Ctx) -> Duration {
    Duration::from_secs(ctx.materials.ttls.health_secs())
}

/// The kept report if younger than `max_age`, else a new one; the bool
/// says whether it was kept.
pub async fn check(ctx: &Ctx, max_age: Duration) -> (Arc<Report>, bool) {
    if let Some(r) = ctx.health.fresh(max_age) {
        return (r, true);
    }
    let report = Arc::new(probe(ctx).await);
    ctx.health.keep(report.clone());
    (report, false)
}

/// Probe every component now, at once.
async fn probe(ctx: &Ctx) -> Report {
    let (upstream, stores) = tokio::join!(probe_upstream(ctx), probe_stores(ctx));
    let mut components = vec![upstream];
    components.extend(stores);
    components.push(l1(ctx));
    let checked_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Report {
        components,
        checked_at,
    }
}

/// PING the upstream within the probe bound: how long it took in
/// milliseconds, and why it failed if it did (HEALTH, STATS).
pub async fn ping_upstream(ctx: &Ctx) -> (f64, Result<(), String>) {
    let ping = Request::from_args([b"PING".as_ref()]).raw;
    let started = Instant::now();
    let call = ctx.upstream.call(Proto::Resp2, 0, ping, 1);
    let result = match tokio::time::timeout(PROBE_BOUND, call).await {
        Ok(Ok(reply)) if reply.starts_with(b"+PONG") => Ok(()),
        Ok(Ok(reply)) => Err(String::from_utf8_lossy(&reply).trim().to_string()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} ms", PROBE_BOUND.as_millis())),
    };
    (millis(started), result)
}

async fn probe_upstream(ctx: &Ctx) -> Component {
    let (ms, result) = ping_upstream(ctx).await;
    let (status, detail) = match result {
        Ok(()) => (Status::Up, ctx.upstream.addr().into()),
        Err(why) => (Status::Down, why),
    };
    Component {
        name: "upstream",
        kind: "redis".into(),
        status,
        response_time_ms: ms,
        detail,
    }
}

async fn probe_stores(ctx: &Ctx) -> Vec<Component> {
    let store = |name, kind: &str, status, ms, detail| Component {
        name,
        kind: kind.to_string(),
        status,
        response_time_ms: ms,
        detail,
    };
    let cat = match ctx.materials.get() {
        Ok(cat) => cat.clone(),
        Err(e) => {
            let status = if ctx.materials.is_enabled() {
                Status::Down
            } else {
                Status::Disabled
            };
            let kind = |k: &str| k.to_string();
            let m = &ctx.config.materials;
            return vec![
                store(
                    "relational_store",
                    &kind(m.relational.kind()),
                    status,
                    0.0,
                    e.to_string(),
                ),
                store(
                    "vector_store",
                    &kind(m.vector.kind()),
                    status,
                    0.0,
                    e.to_string(),
                ),
            ];
        }
    };
    let started = Instant::now();
    let results = cat.ping_stores(PROBE_BOUND).await;
    ["relational_store", "vector_store"]
        .into_iter()
        .zip(cat.store_kinds())
        .zip(results)
        .map(|((name, kind), r)| {
            let last = ctx.materials.counters.stores.snapshot(kind).last_latency_us;
            let ms = (last as f64 / 1000.0).min(millis(started));
            match r {
                Ok(()) => store(name, kind, Status::Up, ms, String::new()),
                Err(e) => store(name, kind, Status::Down, ms, e.to_string()),
            }
        })
        .collect()
}

fn l1(ctx: &Ctx) -> Component {
    let st = ctx.cache.l1.stats();
    let tracking = super::info::tracking_mode(&ctx.upstream.state().tracking);
    Component {
        name: "l1",
        kind: "in-process".into(),
        status: if ctx.cache.enabled {
            Status::Up
        } else {
            Status::Disabled
        },
        response_time_ms: 0.0,
        detail: format!(
            "{} entries, {} of {} bytes, tracking {tracking}",
            st.entries, st.bytes, st.budget
        ),
    }
}

fn millis(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// `HEALTH [FRESH]`: the report as a map (RESP3) or flat array (RESP2).
pub fn run(argv: &[Bytes], proto: Proto) -> Result<Outcome, ReplyError> {
    let fresh = match argv {
        [_] => false,
        [_, f] if f.eq_ignore_ascii_case(b"FRESH") => true,
        _ => return Err(ReplyError::invalid("syntax error, expected HEALTH [FRESH]")),
    };
    Ok(Outcome::Task(Task::new(move |ctx: Arc<Ctx>| async move {
        let max_age = if fresh {
            Duration::ZERO
        } else {
            health_ttl(&ctx)
        };
        let (report, cached) = check(&ctx, max_age).await;
        let mut out = BytesMut::new();
        ReplyWriter::new(&mut out, proto).value(&report.to_value(cached));
        out.freeze()
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(name: &'static str, status: Status) -> Component {
        Component {
            name,
            kind: String::new(),
            status,
            response_time_ms: 0.0,
            detail: String::new(),
        }
    }

    #[test]
    fn overall_status_and_readiness() {
        let report = |statuses: [Status; 3]| Report {
            components: vec![
                component("upstream", statuses[0]),
                component("relational_store", statuses[1]),
                component("l1", statuses[2]),
            ],
            checked_at: 0,
        };
        let all_up = report([Status::Up, Status::Up, Status::Up]);
        assert_eq!((all_up.status(), all_up.ready()), ("healthy", true));
        let store_down = report([Status::Up, Status::Down, Status::Up]);
        assert_eq!(
            (store_down.status(), store_down.ready()),
            ("degraded", false)
        );
        let up_down = report([Status::Down, Status::Up, Status::Up]);
        assert_eq!((up_down.status(), up_down.ready()), ("unhealthy", false));
        let l1_off = report([Status::Up, Status::Disabled, Status::Disabled]);
        assert_eq!((l1_off.status(), l1_off.ready()), ("healthy", true));
    }
}
