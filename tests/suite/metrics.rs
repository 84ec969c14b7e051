//! Prometheus metrics on the admin port: a real Redis, respite in front of
//! it, traffic from a real client, and `/metrics` read by a strict parser
//! of the text format (tests/suite/common/prometheus.rs). Counters move with
//! traffic, every declared metric is exported with its HELP and TYPE,
//! histograms are histograms, and no label carries a key.

use crate::common::prometheus::{self, Scrape};
use crate::common::*;
use redis::AsyncCommands;
use respite::command::table::Group;
use respite::metrics::{self as m, Metric};

/// Keys this file writes: none may show up as a label value.
const KEYS: [&str; 2] = ["metrics-test:alpha", "metrics-test:beta"];

/// The material id the catalogue test writes (its L2 key contains it).
const MATERIAL_ID: &str = "metrics-m1";

fn value(s: &Scrape, metric: Metric) -> f64 {
    s.value(metric.name, &[])
}

/// `_count` of a histogram series.
fn count(s: &Scrape, metric: Metric, labels: &[(&str, &str)]) -> f64 {
    s.value(&format!("{}_count", metric.name), labels)
}

/// Every `respite_*` family in the scrape is declared in `metrics::ALL`
/// with the same kind and HELP text.
fn assert_declared(s: &Scrape) {
    for (name, family) in s.families.iter().filter(|f| f.0.starts_with("respite_")) {
        let declared = m::ALL.iter().find(|d| d.name == name);
        let d = declared.unwrap_or_else(|| panic!("{name} is not in metrics::ALL"));
        assert_eq!(family.kind, d.kind.as_str(), "{name}");
        assert_eq!(family.help.as_deref(), Some(d.help), "{name}");
    }
}

/// No label value names (or contains) a key or id the test used.
fn assert_no_key_labels(s: &Scrape) {
    for sample in &s.samples {
        for v in sample.labels.values() {
            let leaked = KEYS.iter().chain([&MATERIAL_ID]).any(|k| v.contains(k));
            assert!(!leaked, "{} has a key as a label: {v}", sample.name);
        }
    }
}

#[test]
fn the_parser_refuses_malformed_text() {
    let good = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"q\\\"\"} 3\n\n\
        # TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n";
    let s = prometheus::parse(good).expect("valid");
    assert_eq!(s.value("a_total", &[("x", "q\"")]), 3.0);
    for bad in [
        "a_total 1\n",
        "# TYPE a counter\na 1 2\n",
        "# TYPE a counter\na -1\n",
        "# TYPE a gauge\na{x=\"1\" 1\n",
        "# TYPE a gauge\na{x=\"1\"y=\"2\"} 1\n",
        "# TYPE a gauge\na 1\na 2\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 0\nh_count 1\n",
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0\nh_count 3\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 0\nh_count 2\n",
        "# TYPE a gauge\n# TYPE a gauge\n",
    ] {
        assert!(prometheus::parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_with_traffic_and_the_text_is_strict() {
    let redis = RedisServer::start();
    let mut config = config_for(&redis);
    config.l1.admit_min_reads = 1;
    let (proxy, admin) = with_admin(config).await;
    proxy.wait_tracking().await;
    let (_, before) = scrape(admin).await;

    let mut con = proxy.client().await;
    for key in KEYS {
        let () = con.set(key, "v").await.expect("SET");
        for _ in 0..5 {
            let v: String = con.get(key).await.expect("GET");
            assert_eq!(v, "v");
        }
    }
    let (body, after) = scrape(admin).await;

    let moved = |metric: Metric| value(&after, metric) - value(&before, metric);
    assert!(moved(m::COMMANDS_PROCESSED) >= 12.0, "{body}");
    assert!(moved(m::L1_HITS) >= 1.0, "repeated GETs hit L1: {body}");
    assert!(moved(m::NET_INPUT_BYTES) > 0.0);
    assert!(moved(m::NET_OUTPUT_BYTES) > 0.0);
    assert!(value(&after, m::CONNECTIONS_RECEIVED) >= 2.0);
    assert!(value(&after, m::CLIENTS_CONNECTED) >= 1.0);
    assert_eq!(value(&after, m::UPSTREAM_UP), 1.0);
    assert_eq!(value(&after, m::L1_ENABLED), 1.0);
    assert_eq!(after.value(m::L1_TRACKING.name, &[("mode", "on")]), 1.0);
    assert_eq!(after.value(m::L1_TRACKING.name, &[("mode", "off")]), 0.0);
    assert!(value(&after, m::MEMORY_RSS) > 0.0);
    assert!(
        count(&after, m::UPSTREAM_RTT, &[]) > count(&before, m::UPSTREAM_RTT, &[]),
        "misses went upstream, so round trips were timed"
    );

    // One latency histogram per command family, registered up front.
    for g in Group::ALL {
        count(&after, m::COMMAND_DURATION, &[("family", g.as_str())]);
    }
    let string = [("family", "string")];
    assert!(
        count(&after, m::COMMAND_DURATION, &string) > count(&before, m::COMMAND_DURATION, &string),
        "GET and SET were timed under their family"
    );
    assert!(after.value(m::COMMAND_CALLS.name, &string) >= 2.0);

    assert_declared(&after);
    assert_no_key_labels(&after);
    assert!(
        !after.has_label(m::COMMAND_DURATION.name, "command"),
        "families only"
    );
}

/// Two servers in one process (as here) each report their own counters,
/// and a family's calls follow `STATS RESET` down to what was counted since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_server_reports_its_own_counters_and_reset_shows() {
    let redis = RedisServer::start();
    let (busy, busy_admin) = with_admin(config_for(&redis)).await;
    let (idle, idle_admin) = with_admin(config_for(&redis)).await;
    let mut raw = busy.raw().await;
    for _ in 0..200 {
        assert_eq!(raw.call(&[b"PING"]).await, "+PONG\r\n");
    }
    let _ = idle.raw().await;
    let (_, b) = scrape(busy_admin).await;
    let (body, i) = scrape(idle_admin).await;
    let connection = [("family", "connection")];
    assert!(value(&b, m::COMMANDS_PROCESSED) >= 200.0);
    assert!(b.value(m::COMMAND_CALLS.name, &connection) >= 200.0);
    assert!(
        value(&i, m::COMMANDS_PROCESSED) < 200.0,
        "the idle server shows the busy one's count: {body}"
    );

    assert!(raw.call(&[b"STATS", b"RESET"]).await.starts_with('+'));
    assert_eq!(raw.call(&[b"PING"]).await, "+PONG\r\n");
    let (body, b) = scrape(busy_admin).await;
    assert!(
        b.value(m::COMMAND_CALLS.name, &connection) < 10.0,
        "calls did not follow STATS RESET: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_is_measured_per_tier_and_per_store() {
    let rig = CatalogueRig::start().await;
    let mut raw = rig.proxy.raw().await;
    let record = format!(r#"{{"id":"{MATERIAL_ID}","name":"Cement M500","price":7.5}}"#);
    assert_eq!(
        raw.call(&[b"MSET.MATERIAL", record.as_bytes()]).await,
        ":1\r\n"
    );
    for _ in 0..3 {
        let reply = raw.call(&[b"MGET.MATERIAL", MATERIAL_ID.as_bytes()]).await;
        assert!(reply.contains("Cement M500"), "{reply}");
        raw.call(&[b"MSEARCH", b"cement", b"LIMIT", b"3"]).await;
    }
    let (body, s) = scrape(rig.admin).await;

    for metric in m::ALL {
        let family = s.families.get(metric.name);
        let family = family.unwrap_or_else(|| panic!("{} missing:\n{body}", metric.name));
        assert_eq!(family.kind, metric.kind.as_str(), "{}", metric.name);
    }
    assert_declared(&s);
    assert_eq!(value(&s, m::MATERIALS_OPEN), 1.0);
    for store in ["relational", "vector"] {
        let up = s.value(m::MATERIALS_STORE_UP.name, &[("store", store)]);
        assert_eq!(up, 1.0, "{store} answers its ping");
    }
    let tier = |metric: Metric, t: &str| s.value(metric.name, &[("tier", t)]);
    let hits = tier(m::MATERIALS_HITS, "l1") + tier(m::MATERIALS_HITS, "l2");
    assert!(hits >= 1.0, "repeated reads hit a cache tier: {body}");
    assert!(tier(m::MATERIALS_MISSES, "l1") >= 1.0);
    assert!(value(&s, m::MATERIALS_STORE_READS) >= 1.0);
    assert!(value(&s, m::MATERIALS_WRITES) >= 1.0);

    let timed =
        |store: &str, op: &str| count(&s, m::STORE_DURATION, &[("store", store), ("op", op)]);
    assert!(timed("sqlite", "upsert") >= 1.0);
    assert!(timed("sqlite", "get") >= 1.0);
    assert!(timed("qdrant-edge", "search") >= 1.0);
    assert!(timed("embedder", "embed") >= 1.0);
    assert!(timed("sqlite", "ping") >= 1.0, "the scrape pinged");
    let stores = [
        "sqlite",
        "postgres",
        "qdrant",
        "qdrant-edge",
        "embedder",
        "relational store",
    ];
    for sample in s.series(&format!("{}_count", m::STORE_DURATION.name), &[]) {
        assert!(
            stores.contains(&sample.labels["store"].as_str()),
            "{sample:?}"
        );
    }
    assert_no_key_labels(&s);
    rig.stop().await;
}

#[test]
fn the_readme_lists_every_metric_with_its_type() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for metric in m::ALL {
        let row = format!("| `{}` | {} |", metric.name, metric.kind.as_str());
        assert!(readme.contains(&row), "README's Metrics table lacks {row}");
    }
}
