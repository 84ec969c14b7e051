//! Live configuration, reloads, logs and the slow log, through real
//! clients (redis-rs, redis-cli, raw RESP) and, for signals and log
//! output, the real binary: `RESPITE CONFIG GET | SET | REWRITE`, plain
//! `CONFIG` still reaching Redis, SIGHUP with a good and a bad file, the
//! log level changed live, and `RESPITE SLOWLOG`.

use std::time::Duration;

use crate::common::*;
use redis::aio::MultiplexedConnection;
use respite::config::live::Origin;
use respite::config::Config;

/// Run a command (text arguments) over redis-rs; panics on an error reply.
async fn query<T: redis::FromRedisValue>(con: &mut MultiplexedConnection, args: &[&str]) -> T {
    redis::cmd(args[0])
        .arg(&args[1..])
        .query_async(con)
        .await
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `RESPITE CONFIG GET pattern...` as key/value pairs.
async fn config_get(con: &mut MultiplexedConnection, patterns: &[&str]) -> Vec<(String, String)> {
    let args = [&["RESPITE", "CONFIG", "GET"], patterns].concat();
    let flat: Vec<String> = query(con, &args).await;
    flat.chunks(2)
        .map(|kv| (kv[0].clone(), kv[1].clone()))
        .collect()
}

/// One key's value.
async fn get_one(con: &mut MultiplexedConnection, key: &str) -> String {
    match config_get(con, &[key]).await.as_slice() {
        [(k, v)] if k == key => v.clone(),
        other => panic!("CONFIG GET {key}: {other:?}"),
    }
}

/// `RESPITE CONFIG SET k v [k v ...]`.
async fn config_set(
    con: &mut MultiplexedConnection,
    pairs: &[(&str, &str)],
) -> redis::RedisResult<()> {
    let mut cmd = redis::cmd("RESPITE");
    cmd.arg("CONFIG").arg("SET");
    for (k, v) in pairs {
        cmd.arg(*k).arg(*v);
    }
    cmd.query_async(con).await
}

#[tokio::test]
async fn a_smaller_budget_shows_in_info_and_l1_evicts_down_to_it() {
    let (redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let value = vec![b'v'; 1000];
    for i in 0..300 {
        redis.set(&format!("k{i}"), &value).await;
    }
    let mut con = proxy.client().await;
    for i in 0..300 {
        let _: Vec<u8> = query(&mut con, &["GET", &format!("k{i}")]).await;
    }
    let mut raw = proxy.raw().await;
    let filled = info_field(&mut raw, "l1", "l1_bytes").await;
    assert!(
        filled > 250_000,
        "L1 holds {filled} bytes after 300 fills of 1000 bytes"
    );

    config_set(&mut con, &[("l1.budget_bytes", "100000")])
        .await
        .expect("SET budget");
    assert_eq!(info_field(&mut raw, "l1", "l1_budget_bytes").await, 100_000);
    let bytes = info_field(&mut raw, "l1", "l1_bytes").await;
    assert!(
        bytes <= 100_000,
        "L1 holds {bytes} bytes over its new budget"
    );
    assert!(info_field(&mut raw, "l1", "l1_evictions").await > 0);
    assert_eq!(get_one(&mut con, "l1.budget_bytes").await, "100000");

    // New fills stay within the new budget too.
    for i in 0..300 {
        let _: Vec<u8> = query(&mut con, &["GET", &format!("k{i}")]).await;
    }
    assert!(info_field(&mut raw, "l1", "l1_bytes").await <= 100_000);
    proxy.stop().await;
}

#[tokio::test]
async fn restart_only_keys_are_refused_and_nothing_changes() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut con = proxy.client().await;
    let err = config_set(&mut con, &[("upstream.pool_size", "4")])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("'upstream.pool_size'") && text.contains("needs a restart"),
        "{text}"
    );

    // All or nothing: the live key in the same call is not applied either.
    let err = config_set(
        &mut con,
        &[("l1.max_ttl_ms", "5"), ("server.maxclients", "5")],
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("'server.maxclients'"), "{err}");
    assert_eq!(get_one(&mut con, "l1.max_ttl_ms").await, "60000");
    assert_eq!(get_one(&mut con, "upstream.pool_size").await, "2");
    assert_eq!(get_one(&mut con, "server.maxclients").await, "10000");
    proxy.stop().await;
}

#[tokio::test]
async fn bad_values_and_bad_calls_are_refused_and_nothing_changes() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut raw = proxy.raw().await;
    for (args, words) in [
        (&["l1.admit_min_reads", "0"][..], "at least 1"),
        (&["l1.admit_min_reads", "16"], "between 1 and 15"),
        (&["l1.admit_min_reads", "many"], "expected an integer"),
        (&["l1.budget_bytes", "-5"], "l1.budget_bytes"),
        (&["log.level", "loud"], "log.level"),
        (&["slowlog.max_len", "1000000"], "at most 100000"),
        (
            &["l1.max_ttl_ms", "1", "l1.admit_min_reads", "0"],
            "l1.admit_min_reads",
        ),
        (
            &["no.such.key", "1"],
            "unknown configuration key 'no.such.key'",
        ),
        (
            &["l1.max_ttl_ms", "1", "l1.max_ttl_ms", "2"],
            "more than once",
        ),
        (&["l1.max_ttl_ms"], "syntax error"),
    ] {
        let mut cmd: Vec<&[u8]> = vec![b"RESPITE", b"CONFIG", b"SET"];
        cmd.extend(args.iter().map(|a| a.as_bytes()));
        let reply = raw.call(&cmd).await;
        assert!(reply.starts_with("-ERR "), "{args:?}: {reply}");
        assert!(reply.contains(words), "{args:?}: {reply}");
    }
    let mut con = proxy.client().await;
    assert_eq!(get_one(&mut con, "l1.admit_min_reads").await, "2");
    assert_eq!(get_one(&mut con, "l1.max_ttl_ms").await, "60000");
    assert_eq!(get_one(&mut con, "log.level").await, "info");
    for (args, words) in [
        (
            &[b"RESPITE".as_ref()][..],
            "wrong number of arguments for 'respite'",
        ),
        (&[b"RESPITE", b"NOPE"], "Try RESPITE HELP"),
        (&[b"RESPITE", b"CONFIG", b"GET"], "syntax error"),
        (
            &[b"RESPITE", b"CONFIG", b"REWRITE"],
            "started without --config",
        ),
    ] {
        let reply = raw.call(args).await;
        assert!(
            reply.starts_with("-ERR") && reply.contains(words),
            "{reply}"
        );
    }
    proxy.stop().await;
}

#[tokio::test]
async fn config_get_matches_globs_in_both_protocols_and_masks_secrets() {
    let (_redis, proxy) = start(|c| {
        c.auth.users.push(respite::config::UserConfig {
            name: "default".into(),
            password: "hunter2".into(),
        })
    })
    .await;
    let url = format!("redis://:hunter2@{}", proxy.addr);
    let mut con = connect(&url).await;

    let l1 = config_get(&mut con, &["l1.*"]).await;
    let keys: Vec<&str> = l1.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        keys.contains(&"l1.budget_bytes") && keys.contains(&"l1.deny"),
        "{keys:?}"
    );
    assert!(keys.iter().all(|k| k.starts_with("l1.")), "{keys:?}");

    let all = config_get(&mut con, &["*"]).await;
    for key in [
        "server.listen",
        "limits.max_inflight",
        "auth.users",
        "slowlog.max_len",
        "materials.embedder.dim",
    ] {
        assert!(
            all.iter().any(|(k, _)| k == key),
            "CONFIG GET * lacks {key}"
        );
    }
    let text = format!("{all:?}");
    assert!(!text.contains("hunter2"), "a password leaked: {text}");
    assert!(text.contains("***"), "{text}");

    let several = config_get(&mut con, &["L1.BUDGET_BYTES", "slowlog.*"]).await;
    assert_eq!(several.len(), 3, "{several:?}");
    assert!(config_get(&mut con, &["nothing*"]).await.is_empty());

    let mut raw = proxy.raw().await;
    raw.call(&[b"AUTH", b"hunter2"]).await;
    let pair = "$9\r\nlog.level\r\n$4\r\ninfo\r\n";
    let resp2 = raw
        .call(&[b"RESPITE", b"CONFIG", b"GET", b"log.level"])
        .await;
    assert_eq!(resp2, format!("*2\r\n{pair}"));
    raw.hello3().await;
    let resp3 = raw
        .call(&[b"RESPITE", b"CONFIG", b"GET", b"log.level"])
        .await;
    assert_eq!(resp3, format!("%1\r\n{pair}"));
    let help = raw.call(&[b"RESPITE", b"HELP"]).await;
    assert!(
        help.starts_with('*') && help.contains("+CONFIG SET <key> <value>"),
        "{help}"
    );

    // redis-cli speaks it too.
    let out = tokio::process::Command::new("redis-cli")
        .args([
            "-p",
            &proxy.addr.port().to_string(),
            "--no-auth-warning",
            "-a",
            "hunter2",
        ])
        .args(["RESPITE", "CONFIG", "GET", "log.*"])
        .output()
        .await
        .expect("redis-cli");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "log.format\ntext\nlog.level\ninfo\n"
    );
    proxy.stop().await;
}

#[tokio::test]
async fn plain_config_still_reaches_redis() {
    let (redis, proxy) = start(|_| {}).await;
    let mut con = proxy.client().await;
    let _: () = query(&mut con, &["CONFIG", "SET", "maxmemory", "12345678"]).await;
    let mut direct = redis.direct().await;
    let got: Vec<String> = query(&mut direct, &["CONFIG", "GET", "maxmemory"]).await;
    assert_eq!(got, vec!["maxmemory", "12345678"]);
    let through: Vec<String> = query(&mut con, &["CONFIG", "GET", "maxmemory"]).await;
    assert_eq!(through, got);
    assert!(
        config_get(&mut con, &["maxmemory"]).await.is_empty(),
        "not a respite key"
    );
    proxy.stop().await;
}

#[tokio::test]
async fn limits_change_for_new_connections_only() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut before = proxy.raw().await;
    assert_eq!(before.call(&[b"PING"]).await, "+PONG\r\n");
    let mut con = proxy.client().await;
    config_set(&mut con, &[("limits.max_inline_len", "16")])
        .await
        .expect("SET");
    let long = format!("ECHO {}\r\n", "a".repeat(24));
    let mut after = proxy.raw().await;
    after.send(long.as_bytes()).await;
    let refused = after.next().await;
    assert!(
        refused.starts_with("-ERR Protocol error: too big inline request"),
        "{refused}"
    );
    before.send(long.as_bytes()).await;
    assert_eq!(before.next().await, bulk(&"a".repeat(24)));
    proxy.stop().await;
}

#[tokio::test]
async fn rewrite_writes_the_running_configuration_to_its_file() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("respite.toml");
    let mut start_with = config_for(&redis);
    start_with.upstream.password = String::new();
    std::fs::write(&path, start_with.to_toml_string_unmasked().expect("render")).expect("write");
    let file = path.clone();
    let origin = Origin::new(path.clone(), move || {
        Config::load_unvalidated(Some(&file), &|_| None)
    });
    let options = respite::RunOptions {
        origin: Some(origin),
        ..Default::default()
    };
    let proxy = Proxy::start_full(start_with.clone(), None, options).await;
    let mut con = proxy.client().await;
    config_set(
        &mut con,
        &[("l1.max_ttl_ms", "1234"), ("slowlog.max_len", "7")],
    )
    .await
    .expect("SET");
    let _: () = query(&mut con, &["RESPITE", "CONFIG", "REWRITE"]).await;

    let text = std::fs::read_to_string(&path).expect("read back");
    let written = Config::from_toml_str(&text).expect("the rewritten file parses");
    written.validate().expect("and validates");
    let mut expected = start_with;
    expected.l1.max_ttl_ms = 1234;
    expected.slowlog.max_len = 7;
    assert_eq!(written, expected);
    proxy.stop().await;
}

/// The config file body the binary tests start from: no catalogue (it
/// would open and seed stores).
const BASE: &str = "[materials]\nenabled = false\n";

fn rewrite_file(p: &RespiteProcess, body: &str) {
    std::fs::write(p.config_path(), format!("{BASE}{body}")).expect("write config");
}

async fn stderr_says(p: &RespiteProcess, words: &[&str]) -> bool {
    eventually(READY_BOUND, async || {
        let log = p.stderr();
        words.iter().all(|w| log.contains(w))
    })
    .await
}

#[tokio::test]
async fn sighup_applies_a_good_file_and_keeps_everything_on_a_bad_one() {
    let redis = RedisServer::start();
    let p = RespiteProcess::spawn(
        &redis.url(),
        Some(&format!("{BASE}[l1]\nmax_ttl_ms = 1000\n")),
    );
    let mut con = connect(&format!("redis://{}", p.addr)).await;
    assert_eq!(get_one(&mut con, "l1.max_ttl_ms").await, "1000");

    rewrite_file(&p, "[l1]\nmax_ttl_ms = 2000\n[upstream]\npool_size = 3\n");
    p.signal(libc::SIGHUP);
    let applied = eventually(READY_BOUND, async || {
        get_one(&mut con, "l1.max_ttl_ms").await == "2000"
    })
    .await;
    assert!(
        applied,
        "SIGHUP did not apply l1.max_ttl_ms:\n{}",
        p.stderr()
    );
    assert!(
        stderr_says(&p, &["upstream.pool_size", "needs a restart"]).await,
        "{}",
        p.stderr()
    );
    assert_eq!(get_one(&mut con, "upstream.pool_size").await, "2");
    // The flags (--listen, --upstream, --admin) still apply on a reload.
    let log = p.stderr();
    for flag_key in ["server.listen", "upstream.url", "server.admin"] {
        assert!(
            !log.contains(flag_key),
            "{flag_key} reported as changed:\n{log}"
        );
    }

    for (bad, why) in [
        (
            "[l1]\nmax_ttl_ms = 3000\nadmit_min_reads = 0\n",
            "l1.admit_min_reads",
        ),
        ("[l1\nmax_ttl_ms = 3000\n", "line"),
    ] {
        rewrite_file(&p, bad);
        let failures = p.stderr().matches("configuration reload failed").count();
        p.signal(libc::SIGHUP);
        let logged = eventually(READY_BOUND, async || {
            p.stderr().matches("configuration reload failed").count() > failures
        })
        .await;
        assert!(
            logged,
            "no reload failure logged for {bad:?}:\n{}",
            p.stderr()
        );
        assert!(p.stderr().contains(why), "{}", p.stderr());
        assert_eq!(get_one(&mut con, "l1.max_ttl_ms").await, "2000");
    }
}

/// The id of a new client of `p`, which then disconnects; returns once
/// respite has let it go (so its last log line is written).
async fn client_comes_and_goes(p: &RespiteProcess, watcher: &mut Raw) -> u64 {
    let mut c = Raw::connect(p.addr).await;
    let id: u64 = c
        .call(&[b"CLIENT", b"ID"])
        .await
        .trim_start_matches(':')
        .trim()
        .parse()
        .expect("id");
    drop(c);
    let gone = eventually(READY_BOUND, async || {
        !watcher
            .call(&[b"CLIENT", b"LIST"])
            .await
            .contains(&format!("id={id} "))
    })
    .await;
    assert!(gone, "client {id} still listed");
    id
}

#[tokio::test]
async fn log_level_changes_live_and_lines_carry_the_client_span() {
    let redis = RedisServer::start();
    let p = RespiteProcess::spawn(&redis.url(), Some(BASE));
    let mut watcher = Raw::connect(p.addr).await;
    let quiet = client_comes_and_goes(&p, &mut watcher).await;

    let reply = watcher
        .call(&[b"RESPITE", b"CONFIG", b"SET", b"log.level", b"debug"])
        .await;
    assert_eq!(reply, "+OK\r\n");
    let loud = client_comes_and_goes(&p, &mut watcher).await;
    let line = format!("client{{id={loud} addr=127.0.0.1:");
    assert!(
        stderr_says(&p, &[&line, "client closed"]).await,
        "{}",
        p.stderr()
    );
    assert!(
        !p.stderr().contains(&format!("client{{id={quiet} ")),
        "a debug line before the change:\n{}",
        p.stderr()
    );
}

#[tokio::test]
async fn json_lines_carry_client_and_upstream_spans() {
    let redis = RedisServer::start();
    let body = format!("{BASE}[log]\nformat = \"json\"\nlevel = \"debug\"\n");
    let p = RespiteProcess::spawn(&redis.url(), Some(&body));
    let mut watcher = Raw::connect(p.addr).await;
    let id = client_comes_and_goes(&p, &mut watcher).await;
    assert!(
        stderr_says(&p, &["client closed", "invalidation listener up"]).await,
        "{}",
        p.stderr()
    );
    let lines: Vec<serde_json::Value> = p
        .stderr()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let closed = lines
        .iter()
        .find(|l| l["fields"]["message"] == "client closed" && l["span"]["id"] == id)
        .unwrap_or_else(|| panic!("no 'client closed' line for client {id}: {lines:?}"));
    assert_eq!(closed["span"]["name"], "client");
    assert!(closed["span"]["addr"]
        .as_str()
        .is_some_and(|a| a.starts_with("127.0.0.1:")));
    let listener = lines
        .iter()
        .find(|l| l["fields"]["message"] == "invalidation listener up")
        .expect("listener line");
    assert_eq!(listener["span"]["name"], "upstream");
    assert_eq!(listener["span"]["kind"], "tracking");
    assert_eq!(
        listener["span"]["addr"],
        format!("127.0.0.1:{}", redis.port)
    );
}

#[tokio::test]
async fn slowlog_commands_answer_in_redis_shapes() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut raw = proxy.raw().await;
    assert_eq!(raw.call(&[b"RESPITE", b"SLOWLOG", b"LEN"]).await, ":0\r\n");
    assert_eq!(raw.call(&[b"RESPITE", b"SLOWLOG", b"GET"]).await, "*0\r\n");
    assert_eq!(
        raw.call(&[b"RESPITE", b"SLOWLOG", b"GET", b"-1"]).await,
        "*0\r\n"
    );
    assert_eq!(
        raw.call(&[b"RESPITE", b"SLOWLOG", b"RESET"]).await,
        "+OK\r\n"
    );
    let bad = raw.call(&[b"RESPITE", b"SLOWLOG", b"GET", b"-2"]).await;
    assert!(
        bad.starts_with("-ERR count should be greater than or equal to -1"),
        "{bad}"
    );
    let bad = raw.call(&[b"RESPITE", b"SLOWLOG", b"BOGUS"]).await;
    assert!(bad.starts_with("-ERR syntax error"), "{bad}");
    proxy.stop().await;
}

#[tokio::test]
async fn a_slow_command_is_logged_with_its_client() {
    let redis = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    let proxy = Proxy::start(config_for(&redis)).await;
    let mut con = proxy.client().await;
    let _: () = query(&mut con, &["CLIENT", "SETNAME", "slowpoke"]).await;
    let _: () = query(&mut con, &["DEBUG", "SLEEP", "0.05"]).await;
    let _: String = query(&mut con, &["PING"]).await;

    let mut raw = proxy.raw().await;
    let logged = eventually(READY_BOUND, async || {
        raw.call(&[b"RESPITE", b"SLOWLOG", b"LEN"]).await == ":1\r\n"
    })
    .await;
    assert!(
        logged,
        "DEBUG SLEEP 0.05 is not in the slow log (threshold 10000 us); PING must not be"
    );
    type Entry = (i64, i64, i64, Vec<String>, String, String);
    let entries: Vec<Entry> = query(&mut con, &["RESPITE", "SLOWLOG", "GET"]).await;
    let (_, when, us, argv, addr, name) = &entries[0];
    assert_eq!(argv, &["DEBUG", "SLEEP", "0.05"]);
    assert!(*us >= 50_000, "{us} us");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    assert!((now - when).abs() < 60, "{when}");
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(name, "slowpoke");

    config_set(&mut con, &[("slowlog.log_slower_than_us", "0")])
        .await
        .expect("SET");
    let _: String = query(&mut con, &["PING"]).await;
    let more = eventually(Duration::from_secs(5), async || {
        raw.call(&[b"RESPITE", b"SLOWLOG", b"LEN"]).await != ":1\r\n"
    })
    .await;
    assert!(more, "with threshold 0 every command is logged");
    config_set(&mut con, &[("slowlog.log_slower_than_us", "-1")])
        .await
        .expect("SET");
    assert_eq!(
        raw.call(&[b"RESPITE", b"SLOWLOG", b"RESET"]).await,
        "+OK\r\n"
    );
    let _: () = query(&mut con, &["DEBUG", "SLEEP", "0.02"]).await;
    assert_eq!(raw.call(&[b"RESPITE", b"SLOWLOG", b"LEN"]).await, ":0\r\n");
    proxy.stop().await;
}

#[tokio::test]
async fn catalogue_ttls_change_live() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let proxy = Proxy::start(materials_config(&redis.url(), dir.path())).await;
    proxy.wait_tracking().await;
    let mut raw = proxy.raw().await;
    wait_open(&mut raw).await;
    let mut con = proxy.client().await;
    config_set(
        &mut con,
        &[
            ("materials.search_ttl_secs", "7"),
            ("materials.material_ttl_secs", "9"),
        ],
    )
    .await
    .expect("SET");
    let record = r#"{"id":"m-1","name":"Цемент М500","price":5}"#;
    assert_eq!(
        raw.call(&[b"MSET.MATERIAL", record.as_bytes()]).await,
        ":1\r\n"
    );
    assert!(raw.call(&[b"MGET.MATERIAL", b"m-1"]).await.contains("М500"));
    assert!(raw
        .call(&[b"MSEARCH", "цемент".as_bytes()])
        .await
        .contains("m-1"));

    let mut direct = redis.direct().await;
    let ttl = async |direct: &mut MultiplexedConnection, pattern: &str| -> i64 {
        let keys: Vec<String> = query(direct, &["KEYS", pattern]).await;
        assert_eq!(keys.len(), 1, "{pattern}: {keys:?}");
        query(direct, &["TTL", &keys[0]]).await
    };
    let material = ttl(&mut direct, "rag_materials:material:m-1").await;
    assert!((1..=9).contains(&material), "material TTL {material}");
    let search = ttl(&mut direct, "rag_materials:search:*").await;
    assert!((1..=7).contains(&search), "search TTL {search}");
    proxy.stop().await;
}
