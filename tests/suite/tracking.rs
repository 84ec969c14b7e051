//! Client-side caching through respite: a RESP3 client with `CLIENT
//! TRACKING on` is tracked by respite itself, so its reads can be served from
//! L1 and it still receives an `invalidate` push whenever a key it read
//! changes, whoever changed it.

use crate::common::*;

const PUSH_K: &str = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";

/// A tracking RESP3 client through respite, and a plain one for INFO.
async fn tracking_client(proxy: &Proxy) -> Raw {
    let mut raw = proxy.raw().await;
    assert!(raw.call(&[b"HELLO", b"3"]).await.starts_with("%7"));
    assert_eq!(raw.call(&[b"CLIENT", b"TRACKING", b"on"]).await, "+OK\r\n");
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_client_reads_from_l1_and_gets_pushes() {
    let (redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let mut info = proxy.raw().await;
    redis.set("k", b"v1").await;
    let mut t = tracking_client(&proxy).await;
    assert_eq!(
        info_field(&mut info, "clients", "pinned_clients").await,
        0,
        "not pinned"
    );

    let hits = info_field(&mut info, "l1", "l1_hits").await;
    assert_eq!(t.call(&[b"GET", b"k"]).await, "$2\r\nv1\r\n");
    assert_eq!(t.call(&[b"GET", b"k"]).await, "$2\r\nv1\r\n");
    assert!(
        info_field(&mut info, "l1", "l1_hits").await > hits,
        "the second GET was an L1 hit"
    );

    // A direct write upstream reaches the client as a push, via respite.
    redis.set("k", b"v2").await;
    assert_eq!(t.next().await, PUSH_K);
    assert_eq!(t.call(&[b"GET", b"k"]).await, "$2\r\nv2\r\n");

    // A write through respite by another client, too.
    let mut other = proxy.raw().await;
    assert_eq!(other.call(&[b"SET", b"k", b"v3"]).await, "+OK\r\n");
    assert_eq!(t.next().await, PUSH_K);
    assert_eq!(t.call_past(&[b"GET", b"k"], PUSH_K).await, "$2\r\nv3\r\n");

    // FLUSHALL: a null invalidation.
    assert_eq!(other.call(&[b"FLUSHALL"]).await, "+OK\r\n");
    assert_eq!(
        t.next_past(PUSH_K).await,
        ">2\r\n$10\r\ninvalidate\r\n_\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_that_l1_does_not_cache_are_tracked_too() {
    let (redis, proxy) = start(|_| {}).await;
    proxy.wait_tracking().await;
    let mut d = redis.direct().await;
    let _: () = redis::cmd("ZADD")
        .arg("k")
        .arg(1)
        .arg("a")
        .query_async(&mut d)
        .await
        .unwrap();
    let mut t = tracking_client(&proxy).await;
    // ZRANGEBYLEX is not an L1 command: it goes upstream, tracked.
    let reply = t.call(&[b"ZRANGEBYLEX", b"k", b"-", b"+"]).await;
    assert_eq!(reply, "*1\r\n$1\r\na\r\n");
    let _: () = redis::cmd("ZADD")
        .arg("k")
        .arg(2)
        .arg("b")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(t.next().await, PUSH_K);
    // Tracking is one-shot: no read since, so no second push.
    let _: () = redis::cmd("ZADD")
        .arg("k")
        .arg(3)
        .arg("c")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(
        t.call(&[b"PING"]).await,
        "+PONG\r\n",
        "no push before the PONG"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_info_and_off() {
    let (redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let mut t = tracking_client(&proxy).await;
    let info = t.call(&[b"CLIENT", b"TRACKINGINFO"]).await;
    assert!(info.contains("flags") && info.contains("+on"), "{info}");
    assert_eq!(t.call(&[b"CLIENT", b"GETREDIR"]).await, ":0\r\n");
    assert!(t
        .call(&[b"CLIENT", b"CACHING", b"yes"])
        .await
        .starts_with("-ERR CLIENT CACHING"));
    t.call(&[b"GET", b"k"]).await;
    assert_eq!(t.call(&[b"CLIENT", b"TRACKING", b"off"]).await, "+OK\r\n");
    redis.set("k", b"changed").await;
    assert_eq!(
        t.call(&[b"PING"]).await,
        "+PONG\r\n",
        "no push once tracking is off"
    );
}

/// A push that arrives while a read is in flight goes out after that
/// read's reply, as Redis orders them (the write ran after the read): a
/// client that caches the reply must then be told to drop it. The read is
/// a 64 MiB value, still streaming through respite when the write lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_never_overtakes_a_reply_in_flight() {
    let (redis, proxy) = start(|_| {}).await;
    proxy.wait_tracking().await;
    let big = vec![b'x'; 64 << 20];
    redis.set("big", &big).await;
    redis.set("k", b"v1").await;
    let mut t = tracking_client(&proxy).await;
    assert_eq!(t.call(&[b"GET", b"k"]).await, "$2\r\nv1\r\n");

    t.cmd(&[b"GET", b"big"]).await;
    // Write only once respite has sent the read on (a write before it
    // would rightly be pushed first).
    let mut info = proxy.raw().await;
    let sent = eventually(READY_BOUND, async || {
        info_field(&mut info, "upstream", "upstream_in_flight").await > 0
    })
    .await;
    assert!(sent, "GET big never went upstream");
    redis.set("k", b"v2").await;
    let first = t.reply().await.expect("the GET reply");
    assert!(
        first.starts_with(b"$67108864\r\n"),
        "a push overtook the reply in flight: {:?}",
        String::from_utf8_lossy(&first[..first.len().min(64)])
    );
    assert_eq!(t.next().await, PUSH_K);
}

/// A client that writes a key it read hears of it after its write's
/// reply, in the order Redis 7 uses (`+OK`, then the push).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_own_write_is_pushed_after_its_reply() {
    let (redis, proxy) = start(|_| {}).await;
    proxy.wait_tracking().await;
    redis.set("k", b"v1").await;
    let mut t = tracking_client(&proxy).await;
    assert_eq!(t.call(&[b"GET", b"k"]).await, "$2\r\nv1\r\n");
    assert_eq!(t.call(&[b"SET", b"k", b"v2"]).await, "+OK\r\n");
    assert_eq!(t.next().await, PUSH_K);
    assert_eq!(t.call_past(&[b"GET", b"k"], PUSH_K).await, "$2\r\nv2\r\n");
}
