//! Bad input gets a clear error and loses nothing: protocol limits, command
//! errors, in-flight and client limits, idle timeout, output buffer limits,
//! and a fuzz check that no input takes respite down.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

// ---------------------------------------------------------------- helpers

/// The connection answers `-ERR Protocol error: <what>` and then closes.
async fn expect_protocol_error(raw: &mut Raw, what: &str) {
    assert_eq!(raw.next().await, format!("-ERR Protocol error: {what}\r\n"));
    assert!(
        raw.closed().await,
        "connection should close after a protocol error"
    );
}

/// Whether the peer closes `stream` within `bound` (draining whatever it sent).
async fn closes_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// A fresh connection that answers PING with +PONG (never panics).
async fn ping_ok(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(b"PING\r\n").await.ok()?;
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.ok()?;
        Some(&buf == b"+PONG\r\n")
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

/// Counts the commands *other* connections have had processed, from INFO
/// on a connection of its own (whose own INFO calls it subtracts).
struct Processed {
    raw: Raw,
    base: u64,
    calls: u64,
}

impl Processed {
    async fn new(proxy: &Proxy) -> Self {
        let mut raw = proxy.raw().await;
        let base = info_field(&mut raw, "stats", "total_commands_processed").await;
        Processed {
            raw,
            base,
            calls: 0,
        }
    }

    async fn by_others(&mut self) -> u64 {
        let now = info_field(&mut self.raw, "stats", "total_commands_processed").await;
        self.calls += 1;
        // Each earlier INFO on this connection (the baseline one included) was counted.
        now - self.base - self.calls
    }
}

// ------------------------------------------------------- protocol limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_over_max_bulk_len_is_a_protocol_error_after_earlier_replies() {
    let (_redis, proxy) = start(|c| c.limits.max_bulk_len = 1024).await;
    let mut raw = proxy.raw().await;
    // A value of exactly the limit is fine.
    let at_limit = vec![b'x'; 1024];
    assert_eq!(raw.call(&[b"SET", b"k", &at_limit]).await, "+OK\r\n");
    // Earlier commands in the same write are answered before the error.
    let mut write = resp(&[b"PING"]);
    write.extend(resp(&[b"SET", b"k", b"v"]));
    write.extend(resp(&[b"GET", b"k"]));
    write.extend_from_slice(b"*2\r\n$3\r\nSET\r\n$2000\r\n");
    raw.send(&write).await;
    assert_eq!(raw.next().await, "+PONG\r\n");
    assert_eq!(raw.next().await, "+OK\r\n");
    assert_eq!(raw.next().await, "$1\r\nv\r\n");
    expect_protocol_error(&mut raw, "invalid bulk length").await;
    assert!(ping_ok(proxy.addr).await, "respite still serves others");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multibulk_over_max_multibulk_len_is_a_protocol_error() {
    let (_redis, proxy) = start(|c| c.limits.max_multibulk_len = 8).await;
    let mut raw = proxy.raw().await;
    let eight: Vec<&[u8]> = vec![b"DEL", b"a", b"b", b"c", b"d", b"e", b"f", b"g"];
    assert_eq!(
        raw.call(&eight).await,
        ":0\r\n",
        "exactly the limit is accepted"
    );
    raw.send(b"*9\r\n$3\r\nDEL\r\n").await;
    expect_protocol_error(&mut raw, "invalid multibulk length").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_over_max_inline_len_is_a_protocol_error() {
    let (_redis, proxy) = start(|c| c.limits.max_inline_len = 64).await;
    let mut raw = proxy.raw().await;
    raw.send(format!("ECHO {}\r\n", "a".repeat(50)).as_bytes())
        .await;
    assert_eq!(raw.next().await, format!("$50\r\n{}\r\n", "a".repeat(50)));
    // No newline ever comes: respite must not buffer it forever.
    raw.send(&[b'a'; 200]).await;
    expect_protocol_error(&mut raw, "too big inline request").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_bulk_argument_is_a_protocol_error() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut raw = proxy.raw().await;
    raw.send(b"PING\r\n*1\r\n:5\r\n").await;
    assert_eq!(raw.next().await, "+PONG\r\n");
    expect_protocol_error(&mut raw, "expected '$', got ':'").await;
    let mut info = proxy.raw().await;
    assert_eq!(
        info_field(&mut info, "stats", "total_protocol_errors").await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_errors_keep_the_connection() {
    let (_redis, proxy) = start(|_| {}).await;
    let mut raw = proxy.raw().await;
    let unknown = raw.call(&[b"NOSUCHCOMMAND", b"x"]).await;
    assert!(unknown.starts_with("-ERR unknown command"), "{unknown:?}");
    assert_eq!(
        raw.call(&[b"GET"]).await,
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    // Pipelined, the errors sit in order between ordinary replies.
    let mut write = resp(&[b"SET", b"k", b"v"]);
    write.extend(resp(&[b"GET"]));
    write.extend(resp(&[b"GET", b"k"]));
    raw.send(&write).await;
    assert_eq!(raw.next().await, "+OK\r\n");
    assert!(raw
        .next()
        .await
        .starts_with("-ERR wrong number of arguments"));
    assert_eq!(raw.next().await, "$1\r\nv\r\n");
    assert_eq!(raw.call(&[b"PING"]).await, "+PONG\r\n");
}

// ------------------------------------------------------- in-flight limit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_inflight_stops_reading_and_loses_nothing() {
    const MAX_INFLIGHT: usize = 4;
    const TOTAL: usize = 1000;
    let (redis, proxy) = start(|c| c.limits.max_inflight = MAX_INFLIGHT).await;
    let mut processed = Processed::new(&proxy).await;
    let mut client = proxy.raw().await;

    // Upstream holds every reply for a while: respite must take no more
    // than MAX_INFLIGHT commands off the client's socket meanwhile.
    let pause = Duration::from_millis(1500);
    redis.pause(pause.as_millis() as u64).await;
    let paused_at = Instant::now();
    let pipeline: Vec<u8> = (0..TOTAL)
        .flat_map(|_| resp(&[b"INCR", b"counter"]))
        .collect();
    client.send(&pipeline).await;
    assert!(
        eventually(Duration::from_secs(1), async || {
            processed.by_others().await >= MAX_INFLIGHT as u64
        })
        .await
    );
    tokio::time::sleep(Duration::from_millis(200)).await; // would it take more?
    assert_eq!(processed.by_others().await, MAX_INFLIGHT as u64);
    assert!(
        paused_at.elapsed() < pause,
        "the observation must happen while upstream is paused"
    );

    // Then everything arrives, once, in order.
    for i in 1..=TOTAL {
        assert_eq!(client.next().await, format!(":{i}\r\n"));
    }
    let mut d = redis.direct().await;
    let n: u64 = redis::cmd("GET")
        .arg("counter")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(n, TOTAL as u64, "every command ran exactly once upstream");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_inflight_keeps_mixed_local_and_forwarded_replies_in_order() {
    let (_redis, proxy) = start(|c| c.limits.max_inflight = 2).await;
    let mut client = proxy.raw().await;
    let mut pipeline = Vec::new();
    let mut expected = Vec::new();
    for i in 0..1000usize {
        let tag = i.to_string();
        match i % 5 {
            0 => {
                pipeline.extend(resp(&[b"INCR", b"n"]));
                expected.push(format!(":{}\r\n", i / 5 + 1));
            }
            1 => {
                pipeline.extend(resp(&[b"PING"]));
                expected.push("+PONG\r\n".into());
            }
            2 => {
                pipeline.extend(resp(&[b"ECHO", tag.as_bytes()]));
                expected.push(format!("${}\r\n{tag}\r\n", tag.len()));
            }
            3 => {
                pipeline.extend(resp(&[b"SET", b"last", tag.as_bytes()]));
                expected.push("+OK\r\n".into());
            }
            _ => {
                pipeline.extend(resp(&[b"GET", b"last"]));
                let last = (i - 1).to_string();
                expected.push(format!("${}\r\n{last}\r\n", last.len()));
            }
        }
    }
    client.send(&pipeline).await;
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(&client.next().await, want, "reply {i}");
    }
}

// ------------------------------------------------------------ maxclients

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxclients_rejects_the_extra_client_until_one_leaves() {
    let (_redis, proxy) = start(|c| c.server.maxclients = 2).await;
    let mut a = proxy.raw().await;
    let mut b = proxy.raw().await;
    assert_eq!(a.call(&[b"PING"]).await, "+PONG\r\n");
    assert_eq!(b.call(&[b"PING"]).await, "+PONG\r\n");

    let mut c = proxy.raw().await;
    assert_eq!(c.next().await, "-ERR max number of clients reached\r\n");
    assert!(c.closed().await);
    assert_eq!(info_field(&mut b, "stats", "rejected_connections").await, 1);

    drop(a);
    assert!(
        eventually(READY_BOUND, || ping_ok(proxy.addr)).await,
        "a slot frees up once a client leaves"
    );
}

// ---------------------------------------------------------- idle timeout

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_closes_idle_clients_but_not_subscribers() {
    let (redis, proxy) = start(|c| c.server.idle_timeout_secs = 1).await;
    let mut idle = proxy.raw().await;
    let mut subscriber = proxy.raw().await;
    assert_eq!(
        subscriber.call(&[b"SUBSCRIBE", b"ch"]).await,
        "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(idle.call(&[b"PING"]).await, "+PONG\r\n");
    let t0 = Instant::now();
    assert!(
        closes_within(&mut idle.stream, Duration::from_secs(3)).await,
        "idle client not closed"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "closed too early: {:?}",
        t0.elapsed()
    );

    // Well past the timeout, the subscriber still receives messages.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut d = redis.direct().await;
    let receivers: u64 = redis::cmd("PUBLISH")
        .arg("ch")
        .arg("hi")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(receivers, 1);
    assert_eq!(
        subscriber.next().await,
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_spares_a_client_waiting_on_upstream() {
    let (_redis, proxy) = start(|c| c.server.idle_timeout_secs = 1).await;
    let mut blocked = proxy.raw().await;
    let t0 = Instant::now();
    assert_eq!(blocked.call(&[b"BLPOP", b"nothing", b"2"]).await, "*-1\r\n");
    assert!(t0.elapsed() >= Duration::from_millis(1900));
    // As in Redis, writing a reply counts as activity: the client gets a
    // fresh idle period after its slow reply rather than being cut off.
    assert_eq!(blocked.call(&[b"PING"]).await, "+PONG\r\n");
}

// --------------------------------------------------- output buffer limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_that_never_reads_is_disconnected_at_the_pubsub_limit() {
    let (redis, proxy) = start(|c| c.limits.pubsub_output_buffer_limit = 64 * 1024).await;
    // A subscriber with a small receive window that never reads.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut sub = socket.connect(proxy.addr).await.unwrap();
    sub.write_all(&resp(&[b"SUBSCRIBE", b"flood"]))
        .await
        .unwrap();
    let confirmation = b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n";
    let mut got = vec![0u8; confirmation.len()];
    sub.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, confirmation);

    let mut d = redis.direct().await;
    let message = vec![b'm'; 1024];
    let mut published = 0usize;
    loop {
        let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("flood")
            .query_async::<Vec<(String, u64)>>(&mut d)
            .await
            .unwrap()
            .pop()
            .unwrap();
        if subscribers == 0 {
            break;
        }
        assert!(
            published < 128 * 1024,
            "subscriber still connected after {published} KiB"
        );
        let mut pipe = redis::pipe();
        for _ in 0..512 {
            pipe.cmd("PUBLISH").arg("flood").arg(&message).ignore();
        }
        let _: () = pipe.query_async(&mut d).await.unwrap();
        published += 512;
    }
    let mut info = proxy.raw().await;
    assert_eq!(
        info_field(
            &mut info,
            "stats",
            "client_output_buffer_limit_disconnections"
        )
        .await,
        1
    );
    assert!(
        closes_within(&mut sub, READY_BOUND).await,
        "the subscriber's socket is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal_client_that_never_reads_is_disconnected_at_the_output_limit() {
    let (redis, proxy) = start(|c| c.limits.output_buffer_limit = 1 << 20).await;
    let mut d = redis.direct().await;
    let big = vec![b'v'; 512 * 1024];
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query_async(&mut d)
        .await
        .unwrap();

    // A client reading its replies may fetch the value as often as it likes.
    let mut reader = proxy.raw().await;
    for _ in 0..4 {
        reader.cmd(&[b"GET", b"big"]).await;
        let r = reader.reply().await.expect("a reply");
        assert_eq!(
            r.len(),
            format!("${}\r\n", big.len()).len() + big.len() + 2,
            "a whole bulk reply"
        );
    }

    // One that pipelines 64 of them (32 MiB) without reading is cut off.
    let mut greedy = proxy.raw().await;
    let pipeline: Vec<u8> = (0..64).flat_map(|_| resp(&[b"GET", b"big"])).collect();
    greedy.send(&pipeline).await;
    let mut info = proxy.raw().await;
    assert!(
        eventually(READY_BOUND, async || {
            info_field(
                &mut info,
                "stats",
                "client_output_buffer_limit_disconnections",
            )
            .await
                == 1
        })
        .await
    );
    assert!(closes_within(&mut greedy.stream, READY_BOUND).await);
    assert_eq!(
        reader.call(&[b"PING"]).await,
        "+PONG\r\n",
        "other clients are unaffected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_replies_arrive_whole_under_the_default_limit() {
    let (redis, proxy) = start(|_| {}).await;
    let big: Vec<u8> = (0..8 << 20).map(|i: u32| b'a' + (i % 26) as u8).collect();
    redis.set("big", &big).await;
    let mut client = proxy.raw().await;
    // Two pipelined, so the second is queued behind a partly written first.
    client
        .send(&[resp(&[b"GET", b"big"]), resp(&[b"GET", b"big"])].concat())
        .await;
    let header = format!("${}\r\n", big.len());
    for _ in 0..2 {
        let r = client.reply().await.expect("a reply");
        assert_eq!(r.len(), header.len() + big.len() + 2);
        assert!(
            r[header.len()..header.len() + big.len()] == big[..],
            "reply bytes differ"
        );
    }
    assert_eq!(client.call(&[b"PING"]).await, "+PONG\r\n");
}

// ------------------------------------------------------------------ fuzz

/// A few valid requests, RESP or inline, to be mutated.
fn valid_requests() -> impl Strategy<Value = Vec<u8>> {
    let arg = prop::collection::vec(any::<u8>(), 0..12);
    let command = (0..6usize, arg.clone(), arg).prop_map(|(which, a, b)| match which {
        0 => resp(&[b"PING"]),
        1 => resp(&[b"ECHO", &a]),
        2 => resp(&[b"SET", &a, &b]),
        3 => resp(&[b"GET", &a]),
        4 => resp(&[b"MULTI"]),
        _ => b"EXEC\r\n".to_vec(),
    });
    prop::collection::vec(command, 1..6).prop_map(|v| v.concat())
}

/// Flip, insert, delete bytes or truncate.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(at, byte, op) in edits {
        if bytes.is_empty() {
            break;
        }
        let i = at % bytes.len();
        match op % 4 {
            0 => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            2 => {
                bytes.remove(i);
            }
            _ => bytes.truncate(i),
        }
    }
    bytes
}

fn hostile_input() -> impl Strategy<Value = Vec<u8>> {
    let resp_ish = prop::sample::select(b"*$:+-\r\n0123456789 PINGSETabc\"'\\".to_vec());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        prop::collection::vec(resp_ish, 0..512),
        (
            valid_requests(),
            prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4)
        )
            .prop_map(|(valid, edits)| mutate(valid, &edits)),
    ]
}

/// Send `input`, half-close, and drain whatever respite answers.
async fn throw_at(addr: SocketAddr, input: &[u8]) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let _ = s.write_all(input).await;
    let _ = s.shutdown().await;
    let _ = closes_within(&mut s, Duration::from_secs(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_input_never_takes_respite_down() {
    let redis = RedisServer::start();
    // The real binary, so a panic anywhere shows up in its stderr; small
    // limits so random input reaches the limit paths too.
    let limits = "[limits]\nmax_bulk_len = 4096\nmax_multibulk_len = 64\nmax_inline_len = 256\n";
    let mut respite = RespiteProcess::spawn(&redis.url(), Some(limits));
    let addr = respite.addr;
    let rt = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let result = runner.run(&hostile_input(), |input| {
        let alive = tokio::task::block_in_place(|| {
            rt.block_on(async {
                throw_at(addr, &input).await;
                ping_ok(addr).await
            })
        });
        if alive {
            Ok(())
        } else {
            Err(TestCaseError::fail("no +PONG on a fresh connection"))
        }
    });
    let stderr = respite.stderr();
    assert!(
        respite.child.try_wait().unwrap().is_none(),
        "respite exited:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "respite panicked:\n{stderr}");
    result.unwrap();
    // And it still forwards commands.
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.call(&[b"SET", b"after", b"fuzz"]).await, "+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"after"]).await, "$4\r\nfuzz\r\n");
}
