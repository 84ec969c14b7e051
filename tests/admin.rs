//! The admin port: Prometheus metrics, liveness and readiness over HTTP.

mod common;

use std::collections::HashMap;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path` on the admin port; returns the status line and the body.
async fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("the admin port is bound before respite starts");
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut text = String::new();
    tokio::time::timeout(READY_BOUND, s.read_to_string(&mut text))
        .await
        .expect("admin answers within the bound")
        .expect("read");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// respite with its admin port bound here, to port 0: the test knows the
/// port and no other process can take it first.
async fn with_admin(config: respite::Config) -> (Proxy, u16) {
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind admin");
    let port = admin.local_addr().expect("admin addr").port();
    (Proxy::start_with_admin(config, Some(admin)).await, port)
}

/// Parse Prometheus text format: metric name (without labels) → value.
fn parse_metrics(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("`name value` lines");
            let name = name.split('{').next().unwrap_or(name).to_string();
            (name, value.parse::<f64>().expect("a numeric sample"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_health_and_ready_are_served() {
    let redis = RedisServer::start();
    let mut config = config_for(&redis);
    config.l1.admit_min_reads = 1;
    let (proxy, admin) = with_admin(config).await;
    proxy.wait_tracking().await;
    let mut raw = proxy.raw().await;
    raw.call(&[b"SET", b"k", b"v"]).await;
    for _ in 0..3 {
        assert_eq!(raw.call(&[b"GET", b"k"]).await, "$1\r\nv\r\n");
    }
    assert_eq!(http_get(admin, "/health").await.0, "HTTP/1.0 200 OK");
    let ready = eventually(READY_BOUND, async || {
        http_get(admin, "/ready").await.0 == "HTTP/1.0 200 OK"
    })
    .await;
    assert!(ready, "/ready turns 200 once upstream is connected");
    assert_eq!(http_get(admin, "/nope").await.0, "HTTP/1.0 404 Not Found");

    let (status, body) = http_get(admin, "/metrics").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    let m = parse_metrics(&body);
    assert!(m["respite_commands_processed_total"] >= 4.0, "{body}");
    assert!(
        m["respite_l1_hits_total"] >= 1.0,
        "a GET was served from L1: {body}"
    );
    assert!(m["respite_l1_bytes"] <= m["respite_l1_budget_bytes"]);
    assert!(m["respite_upstream_connections"] >= 1.0);
    assert!(m.contains_key("respite_l1_invalidation_lag_seconds"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_while_upstream_is_down() {
    let mut redis = RedisServer::start();
    let mut config = config_for(&redis);
    config.upstream.connect_timeout_ms = 200;
    config.upstream.backoff_max_ms = 100;
    let (_proxy, admin) = with_admin(config).await;
    assert!(
        eventually(READY_BOUND, async || http_get(admin, "/ready")
            .await
            .0
            .contains("200"))
        .await
    );
    redis.kill();
    let down = eventually(READY_BOUND, async || {
        http_get(admin, "/ready").await.0.contains("503")
    })
    .await;
    assert!(down, "/ready reports the upstream outage");
    assert!(
        http_get(admin, "/health").await.0.contains("200"),
        "alive all the same"
    );
}
