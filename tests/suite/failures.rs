//! A dead upstream, a stalled upstream, shutdown, and the binary's signal
//! and configuration handling: every request gets an answer, nothing hangs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use respite::config::Config;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

// ---------------------------------------------------------------- helpers

/// Settings that make a dead upstream noticed and retried quickly.
fn fast_retry(c: &mut Config) {
    c.upstream.connect_timeout_ms = 200;
    c.upstream.backoff_min_ms = 10;
    c.upstream.backoff_max_ms = 100;
}

fn is_upstream_error(reply: &str) -> bool {
    reply.starts_with("-UPSTREAM ")
}

/// `args` sent on a fresh connection, the reply and how long it took.
async fn timed_call(proxy: &Proxy, args: &[&[u8]]) -> (String, Duration) {
    let mut raw = proxy.raw().await;
    let t0 = Instant::now();
    let reply = raw.call(args).await;
    (reply, t0.elapsed())
}

/// GET through a fresh connection works (a bulk or nil, not an error).
async fn get_works(proxy: &Proxy) -> bool {
    let mut raw = proxy.raw().await;
    raw.call(&[b"GET", b"probe"]).await.starts_with('$')
}

/// Commands other connections have had processed so far (INFO over a
/// fresh connection, which itself is not yet counted when it answers).
async fn processed(proxy: &Proxy) -> u64 {
    let mut raw = proxy.raw().await;
    let text = raw.call(&[b"INFO", b"stats"]).await;
    info_value(&text, "total_commands_processed").expect("total_commands_processed")
}

/// Wait until Redis reports `n` clients blocked (e.g. in BLPOP).
async fn wait_blocked(redis: &RedisServer, n: u64) {
    let d = redis.direct().await;
    let blocked = eventually(READY_BOUND, || {
        let mut d = d.clone();
        async move {
            let text: String = redis::cmd("INFO")
                .arg("clients")
                .query_async(&mut d)
                .await
                .unwrap();
            info_value(&text, "blocked_clients") == Some(n)
        }
    })
    .await;
    assert!(blocked, "Redis never reported {n} blocked clients");
}

/// Whether nothing accepts connections on `addr` any more, within `bound`.
async fn refuses_within(addr: SocketAddr, bound: Duration) -> bool {
    eventually(bound, || async { TcpStream::connect(addr).await.is_err() }).await
}

/// Send bytes that may meet a closed connection, ignoring write errors.
async fn send_anyway(raw: &mut Raw, bytes: &[u8]) {
    let _ = raw.stream.write_all(bytes).await;
}

// ------------------------------------------------------ upstream dies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_killed_mid_pipeline_answers_every_request() {
    const FIRST: usize = 1000;
    const TOTAL: usize = 2000;
    let (mut redis, proxy) = start(|c| {
        fast_retry(c);
        c.limits.max_inflight = 4096;
    })
    .await;
    let mut client = proxy.raw().await;
    let incr = resp(&[b"INCR", b"n"]);
    client.send(&incr.repeat(FIRST)).await;
    // Hold the rest in flight: upstream pauses, respite takes them, Redis dies.
    redis.pause(10_000).await;
    let before = processed(&proxy).await;
    client.send(&incr.repeat(TOTAL - FIRST)).await;
    assert!(
        eventually(READY_BOUND, || async {
            processed(&proxy).await >= before + (TOTAL - FIRST) as u64
        })
        .await,
        "respite never read the second half of the pipeline"
    );
    redis.kill();

    // Exactly one reply per request: successes in order, then errors.
    let mut ok = 0usize;
    let mut failed = 0usize;
    for i in 0..TOTAL {
        let reply = client.next().await;
        if is_upstream_error(&reply) {
            failed += 1;
        } else {
            assert_eq!(failed, 0, "reply {i}: a success after a failure: {reply:?}");
            ok += 1;
            assert_eq!(reply, format!(":{ok}\r\n"), "reply {i}");
        }
    }
    assert!(
        failed >= TOTAL - FIRST,
        "only {failed} of the paused commands failed"
    );
    assert_eq!(ok + failed, TOTAL);

    // respite stays up: local commands answer, forwarded ones fail fast.
    assert_eq!(client.call(&[b"PING"]).await, "+PONG\r\n");
    let (reply, took) = timed_call(&proxy, &[b"GET", b"k"]).await;
    assert!(is_upstream_error(&reply), "{reply:?}");
    assert!(
        took < Duration::from_secs(2),
        "GET took {took:?} with upstream down"
    );

    redis.restart();
    assert!(
        eventually(READY_BOUND, || get_works(&proxy)).await,
        "no recovery after restart"
    );
    // Each pooled connection reconnects on its own back-off: the old
    // client's may come back a little after the one a new client got.
    let old_back = eventually(READY_BOUND, async || {
        !is_upstream_error(&client.call(&[b"EXISTS", b"n"]).await)
    })
    .await;
    assert!(old_back, "the old client's connection never came back");
    assert_eq!(
        client.call(&[b"INCR", b"n"]).await,
        ":1\r\n",
        "the old client works again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_without_upstream_and_connects_when_it_appears() {
    let port = free_port();
    let mut config = Config::default();
    config.upstream.url = format!("redis://127.0.0.1:{port}");
    config.server.admin = "off".into();
    config.server.listen = "127.0.0.1:0".into();
    fast_retry(&mut config);
    let proxy = Proxy::start(config).await;

    let mut raw = proxy.raw().await;
    assert_eq!(raw.call(&[b"PING"]).await, "+PONG\r\n");
    let (reply, took) = timed_call(&proxy, &[b"GET", b"k"]).await;
    assert!(
        reply.starts_with("-UPSTREAM ") && reply.contains("unavailable"),
        "{reply:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "GET took {took:?} with no upstream"
    );
    let info = raw.call(&[b"INFO", b"upstream"]).await;
    assert!(info.contains("upstream_status:down"), "{info}");

    let _redis = RedisServer::start_on(port);
    assert!(
        eventually(READY_BOUND, || get_works(&proxy)).await,
        "never connected"
    );
    // The client connected before the outage uses its own pooled
    // connection, which comes back as soon as any connection succeeds.
    let works = eventually(READY_BOUND, async || {
        raw.call(&[b"SET", b"k", b"v"]).await == "+OK\r\n"
    })
    .await;
    assert!(works, "the existing client never recovered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_upstream_times_out_then_recovers() {
    let (redis, proxy) = start(|c| {
        fast_retry(c);
        c.upstream.command_timeout_ms = 300;
    })
    .await;
    assert!(get_works(&proxy).await);
    let pause = Duration::from_millis(1500);
    redis.pause(pause.as_millis() as u64).await;
    let paused_at = Instant::now();
    let (reply, took) = timed_call(&proxy, &[b"GET", b"k"]).await;
    assert!(
        reply.starts_with("-UPSTREAM ") && reply.contains("timed out after 300 ms"),
        "{reply:?}"
    );
    assert!(
        took >= Duration::from_millis(250),
        "answered before the timeout: {took:?}"
    );
    assert!(
        paused_at.elapsed() < pause,
        "the timeout, not the end of the pause, answered"
    );

    assert!(
        eventually(READY_BOUND, || get_works(&proxy)).await,
        "no recovery after the stall"
    );
    // Blocking commands are exempt from the command timeout.
    let (reply, took) = timed_call(&proxy, &[b"BLPOP", b"empty", b"1"]).await;
    assert_eq!(reply, "*-1\r\n");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_on_dedicated_connections_are_not_left_hanging() {
    let (mut redis, proxy) = start(fast_retry).await;
    let mut multi = proxy.raw().await;
    assert_eq!(multi.call(&[b"MULTI"]).await, "+OK\r\n");
    assert_eq!(multi.call(&[b"SET", b"a", b"1"]).await, "+QUEUED\r\n");
    let mut subscriber = proxy.raw().await;
    assert_eq!(
        subscriber.call(&[b"SUBSCRIBE", b"ch"]).await,
        "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    let mut blocked = proxy.raw().await;
    blocked.cmd(&[b"BLPOP", b"list", b"0"]).await;
    wait_blocked(&redis, 1).await;

    redis.kill();

    let reply = blocked.next().await;
    assert!(is_upstream_error(&reply), "BLPOP 0 got {reply:?}");
    assert_eq!(
        blocked.call(&[b"PING"]).await,
        "+PONG\r\n",
        "the blocked client carries on"
    );

    // The transaction's state died with the connection: EXEC must fail
    // or the client must be disconnected, within the bound either way.
    send_anyway(&mut multi, &resp(&[b"EXEC"])).await;
    match multi.reply().await {
        None => {}
        Some(r) => assert!(
            r.starts_with(b"-"),
            "EXEC after upstream loss: {:?}",
            String::from_utf8_lossy(&r)
        ),
    }
    assert!(subscriber.closed().await, "the subscriber is disconnected");
}

// ------------------------------------------------------------ shutdown

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_an_in_flight_blocking_reply() {
    let (redis, mut proxy) = start(|_| {}).await;
    let mut client = proxy.raw().await;
    let sent = Instant::now();
    client.cmd(&[b"BLPOP", b"list", b"1"]).await;
    wait_blocked(&redis, 1).await;

    proxy.begin_shutdown();
    assert!(
        refuses_within(proxy.addr, Duration::from_millis(500)).await,
        "still accepting after shutdown began"
    );
    assert_eq!(
        client.next().await,
        "*-1\r\n",
        "the in-flight reply arrives"
    );
    assert!(sent.elapsed() >= Duration::from_millis(900));
    assert!(client.closed().await, "closed once its replies are out");
    let stopped = tokio::time::timeout(Duration::from_secs(3), proxy.stop()).await;
    assert!(stopped.is_ok(), "stop did not complete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_delivers_every_pipelined_reply() {
    const N: usize = 1000;
    let (redis, mut proxy) = start(|_| {}).await;
    let mut client = proxy.raw().await;
    assert_eq!(client.call(&[b"SET", b"k", b"v"]).await, "+OK\r\n");
    redis.pause(500).await;
    let before = processed(&proxy).await;
    client.send(&resp(&[b"GET", b"k"]).repeat(N)).await;
    assert!(
        eventually(READY_BOUND, || async {
            processed(&proxy).await >= before + N as u64
        })
        .await,
        "respite never read the pipeline"
    );
    proxy.begin_shutdown();
    for i in 0..N {
        assert_eq!(client.next().await, "$1\r\nv\r\n", "reply {i}");
    }
    assert!(client.closed().await);
    let stopped = tokio::time::timeout(Duration::from_secs(3), proxy.stop()).await;
    assert!(stopped.is_ok(), "stop did not complete");
}

// ------------------------------------------------------------ the binary

const EXIT_BOUND: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_cleanly_on_sigterm() {
    let redis = RedisServer::start();
    let mut respite = RespiteProcess::spawn(&redis.url(), None);
    let mut raw = Raw::connect(respite.addr).await;
    assert_eq!(raw.call(&[b"SET", b"k", b"v"]).await, "+OK\r\n");
    respite.signal(libc::SIGTERM);
    let status = respite.wait_exit(EXIT_BOUND).expect("exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", respite.stderr());
    assert!(raw.closed().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_exits_after_the_grace_period_with_a_client_blocked() {
    let redis = RedisServer::start();
    let grace = "[server]\nshutdown_grace_ms = 500\n";
    let mut respite = RespiteProcess::spawn(&redis.url(), Some(grace));
    let mut client = Raw::connect(respite.addr).await;
    client.cmd(&[b"BLPOP", b"list", b"0"]).await;
    wait_blocked(&redis, 1).await;

    let t0 = Instant::now();
    respite.signal(libc::SIGTERM);
    let status = respite
        .wait_exit(EXIT_BOUND)
        .expect("exit after the grace period");
    assert!(
        t0.elapsed() >= Duration::from_millis(450),
        "did not wait for the grace period"
    );
    assert_eq!(status.code(), Some(0), "{}", respite.stderr());
    assert!(client.closed().await, "the blocked client is disconnected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_second_sigterm_exits_at_once() {
    let redis = RedisServer::start();
    let long_grace = "[server]\nshutdown_grace_ms = 60000\n";
    let mut respite = RespiteProcess::spawn(&redis.url(), Some(long_grace));
    let mut client = Raw::connect(respite.addr).await;
    client.cmd(&[b"BLPOP", b"list", b"0"]).await;
    wait_blocked(&redis, 1).await;

    respite.signal(libc::SIGTERM);
    // The first signal is handled once the listener is gone.
    assert!(refuses_within(respite.addr, EXIT_BOUND).await);
    let t0 = Instant::now();
    // Repeat in case the second signal raced the handler's re-arming.
    let mut status = None;
    for _ in 0..10 {
        respite.signal(libc::SIGTERM);
        status = respite.wait_exit(Duration::from_millis(300));
        if status.is_some() {
            break;
        }
    }
    let status = status.expect("exit after a second SIGTERM");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(status.code(), Some(130), "{}", respite.stderr());
}

#[test]
fn binary_rejects_an_unknown_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nlisten_port = 7000\n").unwrap();
    let out = respite_command()
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("server.listen_port"),
        "stderr should name the key: {stderr}"
    );
}

#[test]
fn binary_prints_its_config() {
    let out = respite_command()
        .args([
            "--listen",
            "127.0.0.1:7777",
            "--admin",
            "off",
            "--print-config",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let printed = Config::from_toml_str(&text).expect("--print-config prints valid TOML");
    let mut expected = Config::default();
    expected.server.listen = "127.0.0.1:7777".into();
    expected.server.admin = "off".into();
    assert_eq!(printed, expected);
}
