//! The admin port: Prometheus metrics, liveness and readiness over HTTP.

use crate::common::*;

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

    let (body, m) = scrape(admin).await;
    let v = |name: &str| m.value(name, &[]);
    assert!(v("respite_commands_processed_total") >= 4.0, "{body}");
    assert!(
        v("respite_l1_hits_total") >= 1.0,
        "a GET was served from L1: {body}"
    );
    assert!(v("respite_l1_bytes") <= v("respite_l1_budget_bytes"));
    assert!(v("respite_upstream_connections") >= 1.0);
    assert!(v("respite_l1_invalidation_lag_seconds") >= 0.0);
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
