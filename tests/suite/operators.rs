//! What operators see: INFO in Redis's exact format (read with redis-cli
//! and parsed strictly), `INFO upstream-server`, STATS moving with
//! traffic and RESET, HEALTH and `/ready` following the upstream and the
//! stores.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::common::*;

// ----- a strict parser of Redis's INFO format --------------------------------

/// Sections in order, each with its fields in order.
type Info = Vec<(String, Vec<(String, String)>)>;

/// Parse INFO text as Redis writes it: `# Title` then `key:value` lines,
/// every line ended by CRLF, one empty line between sections and none
/// anywhere else, keys unique across the whole text.
fn parse_info(text: &str) -> Result<Info, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix("\r\n")
        .ok_or_else(|| format!("INFO must end with CRLF: {text:?}"))?;
    let mut out: Info = Vec::new();
    let mut seen = BTreeSet::new();
    for (n, block) in body.split("\r\n\r\n").enumerate() {
        let mut lines = block.split("\r\n");
        let head = lines.next().unwrap_or_default();
        let title = head
            .strip_prefix("# ")
            .filter(|t| !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric()))
            .ok_or_else(|| format!("section {n} must open with '# Title': {head:?}"))?;
        let mut fields = Vec::new();
        for line in lines {
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| format!("not key:value in {title}: {line:?}"))?;
            let key_ok = !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.|-".contains(c));
            if !key_ok || v.contains(['\r', '\n']) {
                return Err(format!("bad field in {title}: {line:?}"));
            }
            if !seen.insert(k.to_string()) {
                return Err(format!("duplicate field {k}"));
            }
            fields.push((k.to_string(), v.to_string()));
        }
        out.push((title.to_string(), fields));
    }
    Ok(out)
}

fn titles(info: &Info) -> Vec<&str> {
    info.iter().map(|(t, _)| t.as_str()).collect()
}

fn field<'a>(info: &'a Info, key: &str) -> Option<&'a str> {
    info.iter()
        .flat_map(|(_, f)| f.iter())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn num(info: &Info, key: &str) -> f64 {
    field(info, key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} is not a number in {info:?}"))
}

/// `cmdstat_x` value as its `calls=…,usec=…` parts.
fn cmdstat(info: &Info, name: &str) -> BTreeMap<String, f64> {
    let v = field(info, &format!("cmdstat_{name}"))
        .unwrap_or_else(|| panic!("no cmdstat_{name} in {info:?}"));
    v.split(',')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.parse().expect("a number"))
        })
        .collect()
}

/// redis-cli's output for `args` against `port` (raw mode keeps CRLFs).
fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string(), "--raw"])
        .args(args)
        .output()
        .expect("redis-cli on PATH");
    assert!(out.status.success(), "redis-cli {args:?} failed");
    let mut text = String::from_utf8(out.stdout).expect("utf-8");
    // redis-cli --raw ends its output with a newline unless the string
    // already ended with one.
    if text.ends_with('\n') && !text.ends_with("\r\n") {
        text.pop();
    }
    text
}

const DEFAULT_SECTIONS: [&str; 8] = [
    "Server",
    "Clients",
    "Memory",
    "Stats",
    "Upstream",
    "L1",
    "Materials",
    "Backends",
];

#[test]
fn the_info_parser_rejects_what_redis_would_not_write() {
    assert!(parse_info("# Server\r\nredis_version:7.0.0\r\n").is_ok());
    assert!(parse_info("# Server\nredis_version:7.0.0\n").is_err());
    assert!(parse_info("# Server\r\nredis_version 7\r\n").is_err());
    assert!(parse_info("# Server\r\na:1\r\n\r\n# Clients\r\na:2\r\n").is_err());
    assert!(parse_info("# Server\r\na:1\r\n\r\n\r\n# Clients\r\nb:2\r\n").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_has_redis_format_and_every_section() {
    let (redis, proxy) = start(|_| {}).await;
    let mut raw = proxy.raw().await;
    raw.call(&[b"SET", b"k", b"v"]).await;
    for _ in 0..5 {
        raw.call(&[b"GET", b"k"]).await;
    }
    raw.call(&[b"LPUSH", b"list", b"x"]).await;
    let wrongtype = raw.call(&[b"GET", b"list"]).await;
    assert!(wrongtype.starts_with("-WRONGTYPE"), "{wrongtype}");
    let arity = raw.call(&[b"GET"]).await;
    assert!(arity.starts_with("-ERR wrong number"), "{arity}");
    let port = proxy.addr.port();

    let default = parse_info(&redis_cli(port, &["INFO"])).expect("INFO parses");
    assert_eq!(titles(&default), DEFAULT_SECTIONS);
    let all = parse_info(&redis_cli(port, &["INFO", "all"])).expect("INFO all parses");
    let mut with_cmds = DEFAULT_SECTIONS.to_vec();
    with_cmds.insert(4, "Commandstats");
    assert_eq!(titles(&all), with_cmds);
    let every = parse_info(&redis_cli(port, &["INFO", "everything"])).expect("parses");
    assert_eq!(titles(&every), with_cmds);
    let two = parse_info(&redis_cli(port, &["INFO", "CLIENTS", "memory"])).expect("parses");
    assert_eq!(titles(&two), ["Clients", "Memory"]);
    assert_eq!(redis_cli(port, &["INFO", "nosuchsection"]), "");

    for key in [
        "redis_version",
        "run_id",
        "tcp_port",
        "uptime_in_seconds",
        "connected_clients",
        "blocked_clients",
        "pubsub_clients",
        "pinned_clients",
        "used_memory_rss",
        "l1_used_memory",
        "mem_clients_normal",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "total_net_input_bytes",
        "total_net_output_bytes",
        "rejected_connections",
        "upstream_address",
        "upstream_status",
        "upstream_in_flight",
        "upstream_rtt_last_us",
        "upstream_tracking",
        "l1_hits",
        "materials_generation",
    ] {
        assert!(field(&all, key).is_some(), "INFO all lacks {key}");
    }
    assert_eq!(num(&all, "tcp_port"), f64::from(port));
    assert_eq!(
        field(&all, "upstream_address"),
        Some(redis.addr().to_string().as_str())
    );
    assert_eq!(field(&all, "upstream_status"), Some("up"));
    assert!(num(&all, "upstream_rtt_last_us") > 0.0);
    assert!(num(&all, "total_net_input_bytes") > 0.0);
    assert!(num(&all, "mem_clients_normal") > 0.0);
    assert_eq!(field(&all, "backends_status"), Some("unavailable"));

    let get = cmdstat(&all, "get");
    assert_eq!(get["calls"], 6.0, "{get:?}");
    assert_eq!(get["failed_calls"], 1.0, "the WRONGTYPE reply");
    assert_eq!(get["rejected_calls"], 1.0, "the arity error");
    assert!(get["usec"] >= get["calls"] * 0.0 && get["usec_per_call"] >= 0.0);
    let text = redis_cli(port, &["INFO", "commandstats"]);
    let line = text
        .split("\r\n")
        .find(|l| l.starts_with("cmdstat_set:"))
        .expect("cmdstat_set");
    let shape = line
        .strip_prefix("cmdstat_set:calls=1,usec=")
        .and_then(|r| r.split_once(",usec_per_call="))
        .and_then(|(_, r)| r.split_once(",rejected_calls=0,failed_calls=0"));
    assert!(shape.is_some(), "Redis's cmdstat layout: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_clients_and_rates_follow_what_clients_do() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut info = proxy.raw().await;
    let mut blocker = proxy.raw().await;
    blocker.cmd(&[b"BLPOP", b"nothing", b"0"]).await;
    let blocked = eventually(READY_BOUND, async || {
        info_field(&mut info, "clients", "blocked_clients").await == 1
    })
    .await;
    assert!(blocked, "a BLPOP waiting shows as a blocked client");
    let mut subscriber = proxy.raw().await;
    subscriber.call(&[b"SUBSCRIBE", b"ch"]).await;
    assert_eq!(info_field(&mut info, "clients", "pubsub_clients").await, 1);
    info.call(&[b"LPUSH", b"nothing", b"x"]).await;
    assert!(blocker.next().await.contains("nothing"));
    let unblocked = eventually(READY_BOUND, async || {
        info_field(&mut info, "clients", "blocked_clients").await == 0
    })
    .await;
    assert!(unblocked, "the BLPOP was answered");

    // Traffic moves instantaneous_ops_per_sec, sampled every 100 ms.
    let mut load = proxy.raw().await;
    let busy = eventually(Duration::from_secs(20), async || {
        for _ in 0..200 {
            load.call(&[b"PING"]).await;
        }
        info_field(&mut info, "stats", "instantaneous_ops_per_sec").await > 0
    })
    .await;
    assert!(busy, "instantaneous_ops_per_sec follows traffic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_upstream_server_is_redis_own() {
    let (redis, proxy) = start(|_| {}).await;
    let port = proxy.addr.port();
    let text = redis_cli(port, &["INFO", "upstream-server", "server"]);
    let info = parse_info(&text).expect("Redis's INFO parses too");
    assert_eq!(titles(&info), ["Server"]);
    assert_eq!(num(&info, "tcp_port"), f64::from(redis.addr().port()));
    assert!(field(&info, "respite_version").is_none());
    // RESP3 clients get Redis's verbatim string as is.
    let mut raw = proxy.raw().await;
    raw.hello3().await;
    let reply = raw.call(&[b"INFO", b"upstream-server", b"clients"]).await;
    assert!(
        reply.starts_with('=') && reply.contains("connected_clients:"),
        "{reply}"
    );
}

// ----- STATS -------------------------------------------------------------------

/// A RESP2 reply of nested maps (flat arrays) as a flat `a.b.c -> value`.
fn flatten(prefix: &str, v: &redis::Value, out: &mut BTreeMap<String, String>) {
    match v {
        redis::Value::Array(items) => {
            for pair in items.chunks(2) {
                let key = match &pair[0] {
                    redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("map key {other:?}"),
                };
                let path = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, &pair[1], out);
            }
        }
        redis::Value::BulkString(b) => {
            out.insert(prefix.into(), String::from_utf8_lossy(b).into_owned());
        }
        redis::Value::Int(n) => {
            out.insert(prefix.into(), n.to_string());
        }
        other => panic!("unexpected {other:?} at {prefix}"),
    }
}

async fn stats(client: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, String> {
    let v: redis::Value = redis::cmd("STATS")
        .query_async(client)
        .await
        .expect("STATS");
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    out
}

fn n(stats: &BTreeMap<String, String>, key: &str) -> f64 {
    stats
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing or not a number: {stats:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_has_the_seed_shape_and_moves_with_traffic() {
    let (_redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let mut client = proxy.client().await;
    let before = stats(&mut client).await;
    for key in [
        "cache_performance.hit_rate",
        "cache_performance.total_hits",
        "cache_performance.total_misses",
        "cache_performance.total_writes",
        "cache_performance.total_errors",
        "cache_configuration.search_ttl",
        "cache_configuration.material_ttl",
        "cache_configuration.health_ttl",
        "redis_status.connected",
        "redis_status.ping_time_ms",
        "redis_status.used_memory",
        "redis_status.connected_clients",
        "tiers.l1.hits",
        "tiers.materials_l2.hits",
        "tiers.stores.reads",
    ] {
        assert!(before.contains_key(key), "STATS lacks {key}: {before:?}");
    }
    assert_eq!(n(&before, "cache_configuration.search_ttl"), 300.0);
    assert_eq!(n(&before, "cache_configuration.material_ttl"), 3600.0);
    assert_eq!(n(&before, "redis_status.connected"), 1.0);

    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut client)
        .await
        .expect("SET");
    let mut raw = proxy.raw().await;
    let served = eventually(READY_BOUND, async || {
        raw.call(&[b"GET", b"k"]).await;
        info_field(&mut raw, "l1", "l1_hits").await >= 3
    })
    .await;
    assert!(served, "GETs are served from L1");
    let after = stats(&mut client).await;
    assert!(
        n(&after, "cache_performance.total_hits")
            >= n(&before, "cache_performance.total_hits") + 3.0
    );
    assert!(n(&after, "cache_performance.total_writes") >= 1.0);
    assert!(n(&after, "cache_performance.hit_rate") > 0.0);
    assert!(n(&after, "families.string.calls") >= 4.0, "{after:?}");

    let ok: String = redis::cmd("STATS")
        .arg("RESET")
        .query_async(&mut client)
        .await
        .expect("RESET");
    assert_eq!(ok, "OK");
    let reset = stats(&mut client).await;
    assert_eq!(n(&reset, "cache_performance.total_hits"), 0.0, "{reset:?}");
    assert!(!reset.contains_key("families.string.calls"), "{reset:?}");
    let bad: redis::RedisResult<redis::Value> = redis::cmd("STATS")
        .arg("NOW")
        .query_async(&mut client)
        .await;
    assert!(bad.is_err(), "STATS NOW is a syntax error");

    // RESP3 clients get a real map.
    raw.hello3().await;
    let reply = raw.call(&[b"STATS"]).await;
    assert!(
        reply.starts_with("%5\r\n$17\r\ncache_performance\r\n%"),
        "{reply}"
    );
    assert!(reply.contains("$9\r\nconnected\r\n#t"), "{reply}");
}

// ----- HEALTH and /ready ---------------------------------------------------------

/// HEALTH's components as `name.field -> value`, and the overall status.
async fn health(
    client: &mut redis::aio::MultiplexedConnection,
    fresh: bool,
) -> BTreeMap<String, String> {
    let mut cmd = redis::cmd("HEALTH");
    if fresh {
        cmd.arg("FRESH");
    }
    let v: redis::Value = cmd.query_async(client).await.expect("HEALTH");
    let mut out = BTreeMap::new();
    flatten("", &v, &mut out);
    out
}

/// Whether a fresh HEALTH says `healthy` within `bound`.
async fn becomes_healthy(client: &mut redis::aio::MultiplexedConnection, bound: Duration) -> bool {
    eventually(bound, async || {
        health(client, true).await.get("status").map(String::as_str) == Some("healthy")
    })
    .await
}

/// Two servers in one process (as in these tests) each report their own
/// stores' calls in `# Backends`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_are_counted_per_server() {
    let busy = CatalogueRig::start().await;
    let idle = CatalogueRig::start().await;
    let calls = async |rig: &CatalogueRig| {
        let mut raw = rig.proxy.raw().await;
        info_field(&mut raw, "backends", "relational_calls").await
    };
    let (busy_before, idle_before) = (calls(&busy).await, calls(&idle).await);
    let mut raw = busy.proxy.raw().await;
    for i in 0..20 {
        let id = format!("absent-{i}");
        let reply = raw.call(&[b"MGET.MATERIAL", id.as_bytes()]).await;
        assert_eq!(reply, "*1\r\n$-1\r\n");
    }
    assert!(
        calls(&busy).await >= busy_before + 20,
        "one store read per new id"
    );
    assert!(
        calls(&idle).await < idle_before + 20,
        "the idle server counted the busy one's store reads"
    );
    busy.stop().await;
    idle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_follows_a_stopped_store_and_upstream() {
    let db = PgDatabase::create();
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = materials_config(&redis.url(), dir.path());
    config.materials.relational.url = db.url.clone();
    config.upstream.connect_timeout_ms = 200;
    config.upstream.backoff_max_ms = 100;
    let (proxy, admin) = with_admin(config).await;
    let mut client = proxy.client().await;
    assert!(
        becomes_healthy(&mut client, Duration::from_secs(60)).await,
        "healthy once the stores are open"
    );
    let h = health(&mut client, false).await;
    assert_eq!(
        h["cached"], "1",
        "a second HEALTH within the TTL is the kept one"
    );
    assert_eq!(h["components.relational_store.kind"], "postgres");
    assert_eq!(h["components.vector_store.kind"], "qdrant-edge");
    assert_eq!(h["components.upstream.status"], "up");
    assert_eq!(h["components.l1.status"], "up");
    assert!(n(&h, "components.upstream.response_time_ms") > 0.0);
    let ready = eventually(READY_BOUND, async || {
        http_get(admin, "/ready").await.0.contains("200")
    })
    .await;
    assert!(ready, "/ready is 200 with everything up");

    db.take_down();
    let h = health(&mut client, true).await;
    assert_eq!(h["status"], "degraded", "{h:?}");
    assert_eq!(h["components.relational_store.status"], "down");
    assert!(
        h["components.relational_store.detail"].contains("postgres"),
        "{h:?}"
    );
    assert_eq!(h["components.vector_store.status"], "up");
    let (status, body) = http_get(admin, "/ready").await;
    assert!(
        status.contains("503") && body.contains("relational_store down"),
        "{status} {body}"
    );
    let mut raw = proxy.raw().await;
    let backends = raw.call(&[b"INFO", b"backends"]).await;
    assert!(backends.contains("relational_status:down"), "{backends}");

    db.bring_up();
    assert!(
        becomes_healthy(&mut client, Duration::from_secs(30)).await,
        "healthy again once Postgres accepts connections"
    );

    redis.kill();
    let mut direct = proxy.raw().await;
    let down = eventually(READY_BOUND, async || {
        direct
            .call(&[b"HEALTH", b"FRESH"])
            .await
            .contains("unhealthy")
    })
    .await;
    assert!(down, "HEALTH says unhealthy while the upstream is down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_commands_are_each_counted() {
    let (_redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let mut raw = proxy.raw().await;
    raw.call(&[b"SET", b"k", b"v"]).await;
    let served = eventually(READY_BOUND, async || {
        raw.call(&[b"GET", b"k"]).await;
        info_field(&mut raw, "l1", "l1_hits").await >= 1
    })
    .await;
    assert!(served, "k is in L1");
    let calls = |text: &str| {
        parse_info(text)
            .map(|i| cmdstat(&i, "get")["calls"])
            .expect("INFO parses")
    };
    let before = calls(&payload(raw.call(&[b"INFO", b"commandstats"]).await));
    // 50 hits and 10 pipelined misses of another key, in one write.
    let mut batch = Vec::new();
    for i in 0..60 {
        let key = if i % 6 == 5 {
            b"other".as_ref()
        } else {
            b"k".as_ref()
        };
        batch.extend(resp(&[b"GET", key]));
    }
    raw.send(&batch).await;
    for _ in 0..60 {
        raw.next().await;
    }
    let after = calls(&payload(raw.call(&[b"INFO", b"commandstats"]).await));
    assert_eq!(after - before, 60.0, "every pipelined GET is counted once");
}

/// The text of a RESP2 bulk-string reply frame.
fn payload(frame: String) -> String {
    let (_, rest) = frame.split_once("\r\n").expect("a bulk string");
    rest.strip_suffix("\r\n")
        .expect("CRLF-terminated")
        .to_string()
}
