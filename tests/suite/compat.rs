//! Compatibility: nothing a Redis client does breaks through respite.
//!
//! Every test talks to respite the way some Redis client would (redis-rs,
//! raw RESP bytes, inline commands, `redis-cli --pipe`) and checks the result
//! against what Redis itself says: either known reply bytes, the same bytes
//! read straight from the upstream, or the data found directly upstream.
use crate::common::*;

use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::Value;
use respite::config::{Config, UserConfig};

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// How long "promptly" is: a command that should not wait on anything.
const PROMPT: Duration = Duration::from_secs(1);

/// A private Redis with respite in front of it.
struct Setup {
    redis: RedisServer,
    proxy: Proxy,
}

impl Setup {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// Start with the config adjusted by `tweak`.
    async fn with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::on(RedisServer::start(), tweak).await
    }

    /// Start respite in front of an already running `redis`.
    async fn on(redis: RedisServer, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = config_for(&redis);
        tweak(&mut config);
        let proxy = Proxy::start(config).await;
        Setup { redis, proxy }
    }

    /// A raw RESP connection straight to the upstream Redis.
    async fn direct_raw(&self) -> Raw {
        Raw::connect(self.redis.addr()).await
    }
}

/// Split a command line into words: whitespace separates, `"…"` groups
/// (no escapes; only for writing test tables).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            out.push(chars.by_ref().take_while(|&c| c != '"').collect());
        } else {
            let mut w = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                w.push(c);
            }
            out.push(w);
        }
    }
    out
}

/// A command as a RESP multibulk.
fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A command line (see [`words`]) as a RESP multibulk.
fn resp(line: &str) -> Vec<u8> {
    encode(&words(line))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Raw-connection conveniences for these tests.
trait RawExt {
    /// Send one command line and return its reply as text.
    async fn line(&mut self, line: &str) -> String;
    /// The next `n` replies, concatenated.
    async fn replies(&mut self, n: usize) -> Bytes;
    /// Whether no reply arrives for `d`.
    async fn quiet_for(&mut self, d: Duration) -> bool;
}

impl RawExt for Raw {
    async fn line(&mut self, line: &str) -> String {
        self.send(&resp(line)).await;
        text(&self.replies(1).await)
    }

    async fn replies(&mut self, n: usize) -> Bytes {
        let mut all = Vec::new();
        for i in 0..n {
            let r = self.reply().await;
            all.extend_from_slice(
                &r.unwrap_or_else(|| panic!("connection closed before reply {i} of {n}")),
            );
        }
        all.into()
    }

    async fn quiet_for(&mut self, d: Duration) -> bool {
        // `reply` only appends to the buffer, so cancelling it loses nothing.
        tokio::time::timeout(d, self.reply()).await.is_err()
    }
}

/// Run a command line with redis-rs.
async fn query(c: &mut MultiplexedConnection, line: &str) -> Value {
    let w = words(line);
    let mut cmd = redis::cmd(&w[0]);
    for a in &w[1..] {
        cmd.arg(a.as_str());
    }
    cmd.query_async(c)
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// A compact rendering of a reply: `nil`, `42`, `text`, `[a,b]`, `{k:v}`.
fn render(v: &Value) -> String {
    let list = |items: &[Value]| {
        let inner: Vec<String> = items.iter().map(render).collect();
        format!("[{}]", inner.join(","))
    };
    match v {
        Value::Nil => "nil".into(),
        Value::Int(i) => i.to_string(),
        Value::BulkString(b) => text(b),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Array(items) | Value::Set(items) => list(items),
        Value::Map(kv) => {
            let inner: Vec<String> = kv
                .iter()
                .map(|(k, v)| format!("{}:{}", render(k), render(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Double(d) => d.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::VerbatimString { text, .. } => text.clone(),
        other => format!("{other:?}"),
    }
}

/// Run `f` and fail if it takes longer than [`PROMPT`].
async fn promptly<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PROMPT, f)
        .await
        .unwrap_or_else(|_| panic!("{what} was not answered within {PROMPT:?}"))
}

/// A field of an INFO reply (as text).
fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':').map(str::to_owned))
}

/// The integer of a `:N\r\n` reply.
fn int_reply(reply: &str) -> i64 {
    reply
        .strip_prefix(':')
        .and_then(|r| r.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("not an integer reply: {reply:?}"))
}

/// Send `cmds` to Redis directly and through respite, one at a time, and
/// require byte-identical replies.
async fn assert_same_replies(direct: &mut Raw, proxied: &mut Raw, cmds: &[&str]) {
    for line in cmds {
        let req = resp(line);
        direct.send(&req).await;
        proxied.send(&req).await;
        let want = direct.replies(1).await;
        let got = proxied.replies(1).await;
        assert_eq!(got, want, "reply to {line}");
    }
}

/// Like [`assert_same_replies`], with all of `cmds` in one write.
async fn assert_same_pipelined(direct: &mut Raw, proxied: &mut Raw, cmds: &[&str]) {
    let batch: Vec<u8> = cmds.iter().flat_map(|l| resp(l)).collect();
    direct.send(&batch).await;
    proxied.send(&batch).await;
    let want = direct.replies(cmds.len()).await;
    let got = proxied.replies(cmds.len()).await;
    assert_eq!(got, want, "replies to all commands pipelined in one write");
}

/// Run `script` on a fresh connection straight to Redis, then on one through
/// respite, each from an empty upstream: the replies must be the same bytes.
/// For scripts that change data or connection state.
async fn assert_script_matches(s: &Setup, script: &[&str]) {
    let mut runs = Vec::new();
    for through_respite in [false, true] {
        assert_eq!(s.direct_raw().await.line("FLUSHALL").await, "+OK\r\n");
        let mut raw = if through_respite {
            s.proxy.raw().await
        } else {
            s.direct_raw().await
        };
        let mut replies = Vec::new();
        for line in script {
            replies.push(raw.line(line).await);
        }
        runs.push(replies);
    }
    assert_eq!(runs[1], runs[0], "{script:?} through respite vs. directly");
}

// ---------------------------------------------------------------------------
// 1. Data types
// ---------------------------------------------------------------------------

/// Writes through respite, with the reply each must get.
const TYPE_WRITES: &[(&str, &str)] = &[
    // strings
    ("SET s hello", "OK"),
    ("APPEND s _world", "11"),
    ("SETRANGE s 0 J", "11"),
    ("SETRANGE pad 3 x", "4"),
    ("SET f 10.5", "OK"),
    ("INCRBYFLOAT f 0.1", "10.6"),
    ("INCRBY n 5", "5"),
    ("DECR n", "4"),
    ("MSET m1 a m2 b", "OK"),
    // list
    ("RPUSH l a b c", "3"),
    ("LPUSH l z", "4"),
    ("LPOP l", "z"),
    ("LSET l 0 A", "OK"),
    ("LINSERT l AFTER b bb", "4"),
    // hash
    ("HSET h f1 v1 f2 v2", "2"),
    ("HINCRBY h n 3", "3"),
    ("HDEL h f2", "1"),
    // set
    ("SADD set a b c a", "3"),
    ("SREM set b", "1"),
    ("SADD set2 c d", "2"),
    // sorted set
    ("ZADD z 1 a 2.5 b 3 c", "3"),
    ("ZINCRBY z 1.5 a", "2.5"),
    ("ZADD z 10 d", "1"),
    ("ZREM z d", "1"),
    // stream
    ("XADD x 1-1 f v", "1-1"),
    ("XADD x 2-1 g w h u", "2-1"),
    // HyperLogLog
    ("PFADD hll a b c d", "1"),
    ("PFADD hll a", "0"),
    ("PFADD hll2 d e", "1"),
    ("PFMERGE hllm hll hll2", "OK"),
    // geo
    (
        "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "2",
    ),
    // bitmap and bitfield
    ("SETBIT b 7 1", "0"),
    ("SETBIT b 9 1", "0"),
    (
        "BITFIELD bf SET u8 0 200 GET u8 0 INCRBY u8 0 100",
        "[0,200,44]",
    ),
];

/// Reads, with the reply each must get both through respite and directly.
const TYPE_READS: &[(&str, &str)] = &[
    ("GET s", "Jello_world"),
    ("GETRANGE s 0 4", "Jello"),
    ("STRLEN s", "11"),
    ("GET pad", "\0\0\0x"),
    ("GET f", "10.6"),
    ("GET n", "4"),
    ("MGET m1 m2 nope", "[a,b,nil]"),
    ("LRANGE l 0 -1", "[A,b,bb,c]"),
    ("LINDEX l 2", "bb"),
    ("LLEN l", "4"),
    ("HGETALL h", "[f1,v1,n,3]"),
    ("HGET h f1", "v1"),
    ("HMGET h f1 f2", "[v1,nil]"),
    ("HLEN h", "2"),
    ("SORT set ALPHA", "[a,c]"),
    ("SISMEMBER set b", "0"),
    ("SCARD set", "2"),
    ("SINTER set set2", "[c]"),
    ("ZRANGE z 0 -1 WITHSCORES", "[a,2.5,b,2.5,c,3]"),
    ("ZSCORE z c", "3"),
    ("ZRANK z c", "2"),
    ("ZRANGEBYSCORE z 3 +inf", "[c]"),
    ("XLEN x", "2"),
    ("XRANGE x - +", "[[1-1,[f,v]],[2-1,[g,w,h,u]]]"),
    ("XREVRANGE x + - COUNT 1", "[[2-1,[g,w,h,u]]]"),
    ("PFCOUNT hll", "4"),
    ("PFCOUNT hllm", "5"),
    ("GEODIST g Palermo Catania km", "166.2742"),
    (
        "GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km ASC",
        "[Catania,Palermo]",
    ),
    ("GEOHASH g Palermo", "[sqc8b49rny0]"),
    ("GETBIT b 7", "1"),
    ("BITCOUNT b", "2"),
    ("BITPOS b 1", "7"),
    ("GET b", "\u{1}@"),
    ("BITFIELD_RO bf GET u8 0", "[44]"),
    ("TYPE s", "string"),
    ("TYPE l", "list"),
    ("TYPE h", "hash"),
    ("TYPE set", "set"),
    ("TYPE z", "zset"),
    ("TYPE x", "stream"),
    ("TYPE g", "zset"),
    ("OBJECT ENCODING n", "int"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_data_type_round_trips() {
    let s = Setup::new().await;
    let mut c = s.proxy.client().await;
    let mut d = s.redis.direct().await;
    for (line, want) in TYPE_WRITES {
        assert_eq!(
            render(&query(&mut c, line).await),
            *want,
            "{line} through respite"
        );
    }
    for (line, want) in TYPE_READS {
        assert_eq!(
            render(&query(&mut c, line).await),
            *want,
            "{line} through respite"
        );
        assert_eq!(
            render(&query(&mut d, line).await),
            *want,
            "{line} directly upstream"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. Pipelining
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_of_10000_commands_replies_in_order() {
    const N: usize = 10_000;
    let s = Setup::new().await;
    let mut c = s.proxy.client().await;
    c.set_response_timeout(Duration::from_secs(30));
    let mut pipe = redis::pipe();
    for i in 0..N {
        match i % 3 {
            0 => pipe.incr("counter", 1),
            1 => pipe.set(format!("key:{i}"), format!("val:{i}")),
            _ => pipe.get(format!("key:{}", i - 1)),
        };
    }
    let replies: Vec<Value> = pipe.query_async(&mut c).await.unwrap();
    assert_eq!(replies.len(), N);
    for (i, r) in replies.iter().enumerate() {
        let want = match i % 3 {
            0 => Value::Int((i / 3 + 1) as i64),
            1 => Value::Okay,
            _ => Value::BulkString(format!("val:{}", i - 1).into_bytes()),
        };
        assert_eq!(*r, want, "reply {i}");
    }
}

// ---------------------------------------------------------------------------
// 3. Transactions
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_conflict_aborts_exec() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    let mut b = s.proxy.raw().await;
    assert_eq!(a.line("WATCH k").await, "+OK\r\n");
    assert_eq!(b.line("SET k theirs").await, "+OK\r\n");
    assert_eq!(a.line("MULTI").await, "+OK\r\n");
    assert_eq!(a.line("SET k mine").await, "+QUEUED\r\n");
    assert_eq!(
        a.line("EXEC").await,
        "*-1\r\n",
        "the WATCHed key changed: aborted"
    );
    assert_eq!(b.line("GET k").await, "$6\r\ntheirs\r\n");

    // Without a conflict the transaction runs.
    assert_eq!(a.line("WATCH k").await, "+OK\r\n");
    assert_eq!(a.line("MULTI").await, "+OK\r\n");
    assert_eq!(a.line("SET k mine").await, "+QUEUED\r\n");
    assert_eq!(a.line("INCR cnt").await, "+QUEUED\r\n");
    assert_eq!(a.line("EXEC").await, "*2\r\n+OK\r\n:1\r\n");
    assert_eq!(b.line("GET k").await, "$4\r\nmine\r\n");

    // DISCARD drops the queued commands.
    assert_eq!(a.line("MULTI").await, "+OK\r\n");
    assert_eq!(a.line("SET k dropped").await, "+QUEUED\r\n");
    assert_eq!(a.line("DISCARD").await, "+OK\r\n");
    assert_eq!(b.line("GET k").await, "$4\r\nmine\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_transaction_keeps_execution_order() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    // Shared connection, then the dedicated one for MULTI … EXEC, then back.
    let cmds = ["SET a 0", "MULTI", "SET a 1", "INCR a", "EXEC", "GET a"];
    let batch: Vec<u8> = cmds.iter().flat_map(|l| resp(l)).collect();
    a.send(&batch).await;
    let got = a.replies(cmds.len()).await;
    assert_eq!(
        text(&got),
        "+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:2\r\n$1\r\n2\r\n"
    );

    // redis-rs's atomic pipeline is the same thing.
    let mut c = s.proxy.client().await;
    let ((), n): ((), i64) = redis::pipe()
        .atomic()
        .set("t", 1)
        .incr("t", 2)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_edge_cases_match_redis() {
    let s = Setup::new().await;
    let scripts: &[&[&str]] = &[
        // A queueing error (even one respite could answer itself) aborts EXEC.
        &["MULTI", "SET ta 1", "GET", "EXEC", "GET ta"],
        &["MULTI", "SET tb 1", "FOOBAR", "EXEC", "GET tb"],
        &["MULTI", "PING", "ECHO x", "EXEC"],
        &["MULTI", "WATCH k", "MULTI", "EXEC"],
        // A SELECT that was only queued never happened.
        &[
            "SELECT 2", "MULTI", "SELECT 0", "DISCARD", "SET k v", "SELECT 0", "GET k",
        ],
        &[
            "MULTI", "SELECT 3", "DISCARD", "SET k v", "SELECT 0", "GET k",
        ],
        // One that ran did.
        &[
            "MULTI", "SELECT 3", "SET k v", "EXEC", "GET k", "SELECT 0", "GET k",
        ],
        &["MULTI", "SET k 1", "RESET", "GET k"],
    ];
    for script in scripts {
        assert_script_matches(&s, script).await;
    }
}

// ---------------------------------------------------------------------------
// 4. Blocking commands
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blpop_is_released_by_another_client_and_blocks_no_one_else() {
    // One shared upstream connection: a pop blocking it would stall everyone.
    let s = Setup::with(|c| c.upstream.pool_size = 1).await;
    let mut blocked = s.proxy.raw().await;
    let mut other = s.proxy.raw().await;
    blocked.send(&resp("BLPOP q 0")).await;
    for i in 0..20 {
        let set = format!("SET k{i} v{i}");
        assert_eq!(promptly(&set, other.line(&set)).await, "+OK\r\n");
        let get = format!("GET k{i}");
        let want = format!("v{i}");
        assert_eq!(
            promptly(&get, other.line(&get)).await,
            format!("${}\r\n{want}\r\n", want.len())
        );
    }
    assert!(
        blocked.quiet_for(Duration::from_millis(100)).await,
        "BLPOP returned before any push"
    );
    assert_eq!(promptly("LPUSH", other.line("LPUSH q x")).await, ":1\r\n");
    let popped = promptly("BLPOP after LPUSH", blocked.replies(1)).await;
    assert_eq!(text(&popped), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");

    // A timed-out pop answers a nil array (RESP2), after the timeout.
    let start = Instant::now();
    assert_eq!(blocked.line("BLPOP empty 0.1").await, "*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(100));
    // And the client carries on normally.
    assert_eq!(blocked.line("GET k0").await, "$2\r\nv0\r\n");
    assert_eq!(other.line("LLEN q").await, ":0\r\n");
}

// ---------------------------------------------------------------------------
// 5. Pub/sub
// ---------------------------------------------------------------------------

/// PUBLISH through respite; the number of receivers.
async fn publish(c: &mut MultiplexedConnection, channel: &str, msg: &str) -> i64 {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(msg)
        .query_async(c)
        .await
        .unwrap()
}

/// The bytes of a pub/sub message in RESP2 (`*`) or RESP3 (`>`).
fn pubsub_frame(kind: char, parts: &[&str]) -> String {
    let mut s = format!("{kind}{}\r\n", parts.len());
    for p in parts {
        if let Some(n) = p.strip_prefix(':') {
            s.push_str(&format!(":{n}\r\n"));
        } else {
            s.push_str(&format!("${}\r\n{p}\r\n", p.len()));
        }
    }
    s
}

/// Subscribe, receive, pattern-subscribe, unsubscribe: the same sequence
/// in either protocol, with frames of `kind`.
async fn pubsub_sequence(s: &Setup, sub: &mut Raw, kind: char) {
    let mut c = s.proxy.client().await;
    let f = |parts: &[&str]| pubsub_frame(kind, parts);
    assert_eq!(
        sub.line("SUBSCRIBE ch").await,
        f(&["subscribe", "ch", ":1"])
    );
    assert_eq!(
        publish(&mut c, "ch", "hello").await,
        1,
        "the subscription reached Redis"
    );
    assert_eq!(text(&sub.replies(1).await), f(&["message", "ch", "hello"]));
    assert_eq!(
        sub.line("PSUBSCRIBE p*").await,
        f(&["psubscribe", "p*", ":2"])
    );
    assert_eq!(publish(&mut c, "pc", "hi").await, 1);
    assert_eq!(
        text(&sub.replies(1).await),
        f(&["pmessage", "p*", "pc", "hi"])
    );
    assert_eq!(
        sub.line("UNSUBSCRIBE ch").await,
        f(&["unsubscribe", "ch", ":1"])
    );
    assert_eq!(
        publish(&mut c, "ch", "gone").await,
        0,
        "unsubscribed upstream too"
    );
    assert_eq!(
        sub.line("PUNSUBSCRIBE").await,
        f(&["punsubscribe", "p*", ":0"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_in_resp2() {
    let s = Setup::new().await;
    let mut sub = s.proxy.raw().await;
    let mut direct = s.direct_raw().await;
    // PING and other commands while subscribed behave as in Redis.
    for raw in [&mut sub, &mut direct] {
        assert_eq!(
            raw.line("SUBSCRIBE other").await,
            pubsub_frame('*', &["subscribe", "other", ":1"])
        );
    }
    let script = ["PING", "PING hi", "GET k"];
    assert_same_replies(&mut direct, &mut sub, &script).await;
    assert_same_pipelined(&mut direct, &mut sub, &script).await;
    assert_eq!(
        sub.line("UNSUBSCRIBE other").await,
        pubsub_frame('*', &["unsubscribe", "other", ":0"])
    );
    pubsub_sequence(&s, &mut sub, '*').await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_in_resp3() {
    let s = Setup::new().await;
    let mut sub = s.proxy.raw().await;
    assert!(sub.line("HELLO 3").await.starts_with("%7\r\n"));
    pubsub_sequence(&s, &mut sub, '>').await;

    // Subscribed again: ordinary commands still work in RESP3.
    let mut c = s.proxy.client().await;
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        sub.line("SUBSCRIBE ch").await,
        pubsub_frame('>', &["subscribe", "ch", ":1"])
    );
    assert_eq!(sub.line("PING").await, "+PONG\r\n");
    assert_eq!(sub.line("GET k").await, "$1\r\nv\r\n");
    assert_eq!(publish(&mut c, "ch", "after").await, 1);
    assert_eq!(
        text(&sub.replies(1).await),
        pubsub_frame('>', &["message", "ch", "after"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_right_after_subscribe_keeps_the_confirmation() {
    let s = Setup::new().await;
    let mut direct = s.direct_raw().await;
    let mut proxied = s.proxy.raw().await;
    assert_same_pipelined(
        &mut direct,
        &mut proxied,
        &["SUBSCRIBE a", "RESET", "GET k"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_tracking_and_monitor() {
    const INVALIDATE_TK: &str = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ntk\r\n";
    let s = Setup::new().await;
    let mut tracked = s.proxy.raw().await;
    let mut other = s.proxy.raw().await;
    assert!(tracked.line("HELLO 3").await.starts_with("%7\r\n"));
    assert_eq!(tracked.line("CLIENT TRACKING ON").await, "+OK\r\n");
    assert_eq!(tracked.line("SET tk 1").await, "+OK\r\n");
    assert_eq!(tracked.line("GET tk").await, "$1\r\n1\r\n");
    assert_eq!(other.line("SET tk 2").await, "+OK\r\n");
    let push = promptly("invalidation", tracked.replies(1)).await;
    assert_eq!(text(&push), INVALIDATE_TK);
    assert_eq!(
        tracked.call_past(&[b"GET", b"tk"], INVALIDATE_TK).await,
        "$1\r\n2\r\n"
    );

    let mut monitor = s.proxy.raw().await;
    assert_eq!(monitor.line("MONITOR").await, "+OK\r\n");
    assert_eq!(other.line("SET watched 1").await, "+OK\r\n");
    let seen = text(&promptly("monitor line", monitor.replies(1)).await);
    assert!(
        seen.starts_with('+') && seen.ends_with("\"SET\" \"watched\" \"1\"\r\n"),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rs_resp3_subscription_receives_pushes() {
    let s = Setup::new().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(tx);
    let client = redis::Client::open(format!("{}/?protocol=resp3", s.proxy.url())).unwrap();
    let mut sub = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap();
    sub.subscribe("news").await.unwrap();
    let mut c = s.proxy.client().await;
    assert_eq!(publish(&mut c, "news", "flash").await, 1);
    let message = loop {
        let push = promptly("a push", rx.recv())
            .await
            .expect("push channel open");
        if push.kind == redis::PushKind::Message {
            break push;
        }
    };
    assert_eq!(
        message.data,
        vec![
            Value::BulkString(b"news".to_vec()),
            Value::BulkString(b"flash".to_vec())
        ]
    );
    // The same connection still answers commands.
    let v: Option<String> = redis::cmd("GET")
        .arg("nope")
        .query_async(&mut sub)
        .await
        .unwrap();
    assert_eq!(v, None);
}

// ---------------------------------------------------------------------------
// 6. Replies byte for byte, RESP2 and RESP3
// ---------------------------------------------------------------------------

/// Data the differential commands read (written directly upstream).
const DIFF_DATA: &[&str] = &[
    "SET str hello",
    "SET n 41",
    "HSET h f1 v1 f2 v2",
    "ZADD z 1 a 2.5 b",
    "SADD set x y z",
    "RPUSH l a b c",
    "XADD x 1-1 f v",
    "XADD x 2-1 g w",
    "SCRIPT LOAD \"return 1\"",
    "FUNCTION LOAD \"#!lua name=lib\nredis.register_function('f', function(keys, args) return {1, 'one'} end)\"",
];

/// Commands whose replies must be identical through respite and directly.
/// None changes data (so each may run on both sides any number of times).
const DIFF_COMMANDS: &[&str] = &[
    "PING",
    "PING hello",
    "ECHO \"hi there\"",
    "SET str hello",
    "GET str",
    "GET missing",
    "INCRBY n 0",
    "STRLEN str",
    "MGET str missing n",
    "HGETALL h",
    "HGETALL missing",
    "HMGET h f1 nope",
    "ZSCORE z b",
    "ZSCORE z nope",
    "ZRANGE z 0 -1 WITHSCORES",
    "SMEMBERS set",
    "SMISMEMBER set x q",
    "LRANGE l 0 -1",
    "LRANGE missing 0 -1",
    "LPOS l b",
    "SORT l ALPHA",
    "XRANGE x - +",
    "XREAD COUNT 1 STREAMS x 0",
    "XINFO STREAM x",
    "TYPE h",
    "EXISTS str h missing",
    "TTL str",
    "OBJECT ENCODING h",
    "OBJECT ENCODING z",
    "OBJECT ENCODING str",
    "OBJECT FREQ str",
    "CONFIG GET maxmemory",
    "CONFIG GET maxmemory-policy",
    "COMMAND COUNT",
    "COMMAND INFO get",
    "DBSIZE",
    "EVAL \"return {1,2,{3,'x',{}}}\" 0",
    "EVAL \"return redis.call('HGETALL', KEYS[1])\" 1 h",
    "EVAL \"redis.setresp(3); return redis.call('HGETALL', KEYS[1])\" 1 h",
    "EVAL \"redis.setresp(3); return {double=3.5}\" 0",
    "EVAL \"return {err='My error'}\" 0",
    "EVAL \"return nil\" 0",
    "SCRIPT LOAD \"return 1\"",
    "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db nope",
    "EVALSHA e0e1f9fabfc9d4800c877a703b823ac0578ff8db 0",
    "EVALSHA 0000000000000000000000000000000000000000 0",
    "FUNCTION LIST",
    "FCALL f 0",
    "BLPOP missing 0.01",
    "WAIT 0 0",
    "SELECT 0",
    // errors
    "LPUSH h x",
    "INCR str",
    "GET",
    "PING a b",
    "ECHO",
    "CONFIG GET",
    "FOOBAR a b",
    "EXEC",
    "DISCARD",
    "UNWATCH",
    "AUTH nopass",
    "AUTH someone nopass",
    "AUTH default anything",
    "HELLO 3 AUTH someone nopass",
    "HELLO 2 AUTH x",
    "HELLO 4",
    "HELLO x",
    "CLIENT GETNAME",
    "CLIENT SETNAME \"a b\"",
    "CLIENT NOSUCH",
    "SELECT notanumber",
];

/// Compare every [`DIFF_COMMANDS`] reply in `proto` (2 or 3).
async fn differential(proto: u8) {
    let s = Setup::new().await;
    let mut setup = s.direct_raw().await;
    for line in DIFF_DATA {
        let r = setup.line(line).await;
        assert!(!r.starts_with('-'), "{line}: {r}");
    }
    let mut direct = s.direct_raw().await;
    let mut proxied = s.proxy.raw().await;
    if proto == 3 {
        let theirs = direct.line("HELLO 3").await;
        let ours = proxied.line("HELLO 3").await;
        for hello in [&theirs, &ours] {
            assert!(
                hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n"),
                "{hello:?}"
            );
            for field in [
                "$5\r\nproto\r\n:3\r\n",
                "$2\r\nid\r\n:",
                "$4\r\nmode\r\n$10\r\nstandalone\r\n",
            ] {
                assert!(hello.contains(field), "{field:?} in {hello:?}");
            }
        }
        // The RESP3 types are really there (not RESP2 arrays).
        assert!(proxied.line("HGETALL h").await.starts_with("%2\r\n"));
        assert_eq!(proxied.line("ZSCORE z b").await, ",2.5\r\n");
        assert!(proxied.line("SMEMBERS set").await.starts_with("~3\r\n"));
        assert_eq!(proxied.line("GET missing").await, "_\r\n");
    }
    assert_same_replies(&mut direct, &mut proxied, DIFF_COMMANDS).await;
    assert_same_pipelined(&mut direct, &mut proxied, DIFF_COMMANDS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_match_redis_byte_for_byte_resp2() {
    differential(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_match_redis_byte_for_byte_resp3() {
    differential(3).await;
}

// ---------------------------------------------------------------------------
// 7. SELECT
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_uses_the_other_db_and_back() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    assert_eq!(a.line("SELECT 2").await, "+OK\r\n");
    assert_eq!(a.line("SET k v").await, "+OK\r\n");
    assert_eq!(a.line("GET k").await, "$1\r\nv\r\n");

    let mut fresh = s.proxy.raw().await;
    assert_eq!(
        fresh.line("GET k").await,
        "$-1\r\n",
        "a new connection is on db 0"
    );
    let mut b = s.proxy.raw().await;
    assert_eq!(b.line("SELECT 2").await, "+OK\r\n");
    assert_eq!(b.line("GET k").await, "$1\r\nv\r\n");

    let mut direct = s.direct_raw().await;
    assert_eq!(direct.line("GET k").await, "$-1\r\n");
    assert_eq!(direct.line("SELECT 2").await, "+OK\r\n");
    assert_eq!(
        direct.line("GET k").await,
        "$1\r\nv\r\n",
        "the key is in db 2 upstream"
    );

    let info = fresh.line("INFO clients").await;
    assert_eq!(
        info_field(&info, "pinned_clients").as_deref(),
        Some("2"),
        "{info}"
    );
    assert!(a.line("CLIENT INFO").await.contains(" db=2 "));

    for c in [&mut a, &mut b] {
        assert_eq!(c.line("SELECT 0").await, "+OK\r\n");
        assert_eq!(c.line("GET k").await, "$-1\r\n", "back on db 0");
    }
    assert!(a.line("CLIENT INFO").await.contains(" db=0 "));
    let info = fresh.line("INFO clients").await;
    assert_eq!(
        info_field(&info, "pinned_clients").as_deref(),
        Some("0"),
        "{info}"
    );
}

// ---------------------------------------------------------------------------
// 8, 9. Large and binary values
// ---------------------------------------------------------------------------

/// `len` bytes in which every byte value (CR and LF included) recurs.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn value_of_64_mib_round_trips() {
    const LEN: usize = 64 << 20;
    let s = Setup::new().await;
    let mut c = s.proxy.client().await;
    c.set_response_timeout(Duration::from_secs(30));
    let value = pattern(LEN);
    let _: () = redis::cmd("SET")
        .arg("big")
        .arg(&value)
        .query_async(&mut c)
        .await
        .unwrap();
    let got: Vec<u8> = redis::cmd("GET")
        .arg("big")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(got.len(), LEN);
    let first_diff = got.iter().zip(&value).position(|(a, b)| a != b);
    assert_eq!(
        first_diff, None,
        "GET through respite differs from what was SET"
    );
    drop(got);

    let mut d = s.redis.direct().await;
    let n: usize = redis::cmd("STRLEN")
        .arg("big")
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(n, LEN);
    let at = LEN - 1000;
    let tail: Vec<u8> = redis::cmd("GETRANGE")
        .arg("big")
        .arg(at)
        .arg(LEN - 1)
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(tail, value[at..], "stored upstream byte for byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_values_are_binary_safe() {
    let s = Setup::new().await;
    let every_byte: Vec<u8> = (0..=255).collect();
    let cases: &[(&[u8], &[u8])] = &[
        (&every_byte, &every_byte),
        (b"crlf\r\nkey", b"line1\r\nline2\r\n"),
        (b"empty-value", b""),
        (b"", b"empty key"),
        (b"\0", b"\0\0\0"),
        (b"*1\r\n$4\r\nPING\r\n", b"$3\r\nfoo\r\n+OK\r\n"),
    ];
    let mut c = s.proxy.client().await;
    let mut d = s.redis.direct().await;
    let mut raw = s.proxy.raw().await;
    for &(key, value) in cases {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut c)
            .await
            .unwrap();
        let proxied: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut c)
            .await
            .unwrap();
        assert_eq!(proxied, value, "GET {key:?} through respite");
        let upstream: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut d)
            .await
            .unwrap();
        assert_eq!(upstream, value, "GET {key:?} directly");
        let mut want = format!("${}\r\n", value.len()).into_bytes();
        want.extend_from_slice(value);
        want.extend_from_slice(b"\r\n");
        raw.cmd(&[b"GET", key]).await;
        assert_eq!(raw.replies(1).await, want, "raw GET {key:?}");
    }
    // Binary hash fields and set members too.
    let _: () = redis::cmd("HSET")
        .arg("bh")
        .arg(&every_byte)
        .arg(b"\r\n")
        .query_async(&mut c)
        .await
        .unwrap();
    let field: Vec<u8> = redis::cmd("HGET")
        .arg("bh")
        .arg(&every_byte)
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(field, b"\r\n");
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys.len(), cases.len() + 1);
}

// ---------------------------------------------------------------------------
// 10. redis-cli --pipe
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_pipe_mass_insert() {
    use tokio::io::AsyncWriteExt;
    const N: usize = 10_000;
    let s = Setup::new().await;
    let input: Vec<u8> = (0..N)
        .flat_map(|i| {
            encode(&[
                b"SET".to_vec(),
                format!("key:{i}").into_bytes(),
                format!("value:{i}").into_bytes(),
            ])
        })
        .collect();
    let mut child = tokio::process::Command::new("redis-cli")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &s.proxy.addr.port().to_string(),
            "--pipe",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-cli on PATH");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = tokio::spawn(async move {
        stdin.write_all(&input).await.expect("write to redis-cli");
    });
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("redis-cli --pipe finished")
        .expect("redis-cli output");
    writer.await.unwrap();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("errors: 0, replies: {N}")),
        "{stdout}"
    );

    let mut d = s.redis.direct().await;
    let n: usize = redis::cmd("DBSIZE").query_async(&mut d).await.unwrap();
    assert_eq!(n, N);
    let last: String = redis::cmd("GET")
        .arg(format!("key:{}", N - 1))
        .query_async(&mut d)
        .await
        .unwrap();
    assert_eq!(last, format!("value:{}", N - 1));
}

// ---------------------------------------------------------------------------
// 11. Commands respite answers itself
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_connection_commands() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    assert_eq!(a.line("PING").await, "+PONG\r\n");
    assert_eq!(a.line("PING hello").await, "$5\r\nhello\r\n");
    assert_eq!(a.line("ECHO \"hi there\"").await, "$8\r\nhi there\r\n");
    assert_eq!(a.line("CLIENT GETNAME").await, "$-1\r\n");
    assert_eq!(a.line("CLIENT SETNAME myname").await, "+OK\r\n");
    assert_eq!(a.line("CLIENT GETNAME").await, "$6\r\nmyname\r\n");
    let id = int_reply(&a.line("CLIENT ID").await);
    let list = a.line("CLIENT LIST").await;
    let mine = list
        .lines()
        .find(|l| l.contains(&format!("id={id} ")))
        .unwrap_or_else(|| panic!("id={id} in {list}"));
    assert!(mine.contains(" name=myname "), "{mine}");
    assert_eq!(
        a.line("AUTH pw").await,
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(
        a.line("HELLO 4").await,
        "-NOPROTO unsupported protocol version\r\n"
    );

    // CLIENT KILL ID closes that other client, and only it.
    let mut victim = s.proxy.raw().await;
    let victim_id = int_reply(&victim.line("CLIENT ID").await);
    assert_ne!(victim_id, id);
    assert_eq!(
        a.line(&format!("CLIENT KILL ID {victim_id}")).await,
        ":1\r\n"
    );
    assert!(victim.closed().await, "the killed client was disconnected");
    assert_eq!(a.line("PING").await, "+PONG\r\n");
    let gone = eventually(READY_BOUND, || async {
        !s.proxy
            .raw()
            .await
            .line("CLIENT LIST")
            .await
            .contains(&format!("id={victim_id} "))
    })
    .await;
    assert!(gone, "killed client still listed");

    // QUIT answers +OK, then closes.
    assert_eq!(a.line("QUIT").await, "+OK\r\n");
    assert!(a.closed().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_after_quit_is_run() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    let batch: Vec<u8> = ["PING", "QUIT", "SET after-quit 1", "PING"]
        .iter()
        .flat_map(|l| resp(l))
        .collect();
    a.send(&batch).await;
    assert_eq!(text(&a.replies(2).await), "+PONG\r\n+OK\r\n");
    assert!(
        a.closed().await,
        "closed after QUIT, with no further replies"
    );
    let mut d = s.redis.direct().await;
    let exists: bool = redis::cmd("EXISTS")
        .arg("after-quit")
        .query_async(&mut d)
        .await
        .unwrap();
    assert!(!exists, "a command after QUIT was run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_returns_to_a_fresh_session() {
    let s = Setup::new().await;
    let mut a = s.proxy.raw().await;
    assert!(a.line("HELLO 3").await.starts_with("%7\r\n"));
    assert_eq!(a.line("SELECT 2").await, "+OK\r\n");
    assert_eq!(a.line("SET k in-db-2").await, "+OK\r\n");
    assert_eq!(a.line("CLIENT SETNAME before").await, "+OK\r\n");
    assert_eq!(a.line("MULTI").await, "+OK\r\n");
    assert_eq!(a.line("RESET").await, "+RESET\r\n");
    // RESP2 nil (not `_`) and db 0 (not db 2's value); no transaction.
    assert_eq!(a.line("GET k").await, "$-1\r\n");
    assert_eq!(a.line("CLIENT GETNAME").await, "$-1\r\n");
    assert_eq!(a.line("EXEC").await, "-ERR EXEC without MULTI\r\n");
    let info = a.line("CLIENT INFO").await;
    assert!(
        info.contains(" db=0 ") && info.contains(" resp=2 "),
        "{info}"
    );
    let info = a.line("INFO clients").await;
    assert_eq!(
        info_field(&info, "pinned_clients").as_deref(),
        Some("0"),
        "{info}"
    );
}

/// respite with users `default`/`s3cret` and `alice`/`pw2`.
async fn with_users() -> Setup {
    Setup::with(|c| {
        c.auth.users = vec![
            UserConfig {
                name: "default".into(),
                password: "s3cret".into(),
            },
            UserConfig {
                name: "alice".into(),
                password: "pw2".into(),
            },
        ];
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_with_users_configured_matches_redis_requirepass() {
    let s = with_users().await;
    // Redis with the same default password says the same things.
    let reference = RedisServer::start_with(&["--requirepass", "s3cret"]);
    let script = [
        "GET k",
        "SET k v",
        "AUTH wrong",
        "AUTH default wrong",
        "AUTH nobody s3cret",
        "HELLO 3",
        "HELLO 3 AUTH default wrong",
        "AUTH s3cret",
        "GET k",
        "AUTH default s3cret",
    ];
    let mut direct = Raw::connect(reference.addr()).await;
    let mut proxied = s.proxy.raw().await;
    assert_same_replies(&mut direct, &mut proxied, &script).await;
    let mut direct = Raw::connect(reference.addr()).await;
    let mut proxied = s.proxy.raw().await;
    assert_same_pipelined(&mut direct, &mut proxied, &script).await;

    // Named users, and HELLO's AUTH option.
    let mut b = s.proxy.raw().await;
    assert_eq!(
        b.line("AUTH alice s3cret").await,
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(b.line("AUTH alice pw2").await, "+OK\r\n");
    assert_eq!(b.line("SET k v").await, "+OK\r\n");
    let mut h = s.proxy.raw().await;
    let hello = h.line("HELLO 3 AUTH alice pw2").await;
    assert!(
        hello.starts_with("%7\r\n") && hello.contains("$5\r\nproto\r\n:3\r\n"),
        "{hello}"
    );
    assert_eq!(h.line("GET k").await, "$1\r\nv\r\n");

    // redis-rs with credentials in the URL.
    let mut c = connect(&format!("redis://alice:pw2@{}", s.proxy.addr)).await;
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, "v");
}

// ---------------------------------------------------------------------------
// 12. Inline commands
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_commands_match_redis() {
    let s = Setup::new().await;
    let mut direct = s.direct_raw().await;
    let mut proxied = s.proxy.raw().await;
    // (bytes, how many replies)
    let cases: &[(&[u8], usize)] = &[
        (b"SET a b\r\nGET a\r\n", 2),
        (b"PING\r\n", 1),
        (b"PING\n", 1),
        (b"  GET   a  \r\n", 1),
        (b"\r\nECHO x\r\n", 1),
        (b"SET \"my key\" \"hello world\\n\"\r\n", 1),
        (b"GET \"my key\"\r\n", 1),
        (b"SET 'single q' 'it\\'s'\r\nGET 'single q'\r\n", 2),
        (
            b"SET \"\\x00\\xff\" \"tab\\there\"\r\nGET \"\\x00\\xff\"\r\n",
            2,
        ),
        (b"FOOBAR 'x y'\r\n", 1),
    ];
    for &(bytes, n) in cases {
        direct.send(bytes).await;
        proxied.send(bytes).await;
        assert_eq!(
            proxied.replies(n).await,
            direct.replies(n).await,
            "{:?}",
            text(bytes)
        );
    }
    // The quoted key really is `my key`, value with a real newline.
    assert_eq!(
        proxied.line("GET \"my key\"").await,
        "$12\r\nhello world\n\r\n"
    );

    // Unbalanced quotes: the same protocol error, then the connection closes.
    for raw in [&mut direct, &mut proxied] {
        raw.send(b"SET \"oops\r\n").await;
        assert_eq!(
            text(&raw.replies(1).await),
            "-ERR Protocol error: unbalanced quotes in request\r\n"
        );
        assert!(raw.closed().await);
    }
}

// ---------------------------------------------------------------------------
// 13. Upstream with a password and a db
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_password_and_db() {
    let redis = RedisServer::start_with(&["--requirepass", "pw"]);
    let port = redis.port;
    let s = Setup::on(redis, |c| {
        c.upstream.password = "pw".into();
        c.upstream.db = 3;
    })
    .await;
    let mut c = s.proxy.client().await;
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("shared")
        .query_async(&mut c)
        .await
        .unwrap();
    // A dedicated connection (transaction) and a RESP3 one land there too.
    let ((),): ((),) = redis::pipe()
        .atomic()
        .set("t", "pinned")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut c3 = connect(&format!("{}/?protocol=resp3", s.proxy.url())).await;
    let _: () = redis::cmd("SET")
        .arg("r3")
        .arg("resp3")
        .query_async(&mut c3)
        .await
        .unwrap();

    let mut db3 = connect(&format!("redis://:pw@127.0.0.1:{port}/3")).await;
    for (k, v) in [("k", "shared"), ("t", "pinned"), ("r3", "resp3")] {
        let got: Option<String> = redis::cmd("GET")
            .arg(k)
            .query_async(&mut db3)
            .await
            .unwrap();
        assert_eq!(got.as_deref(), Some(v), "{k} in upstream db 3");
    }
    let mut db0 = connect(&format!("redis://:pw@127.0.0.1:{port}/0")).await;
    let n: usize = redis::cmd("DBSIZE").query_async(&mut db0).await.unwrap();
    assert_eq!(n, 0, "nothing in db 0");
}

// ---------------------------------------------------------------------------
// 14. redis-rs speaking RESP3
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_rs_with_resp3() {
    use std::collections::{HashMap, HashSet};
    let s = Setup::new().await;
    let mut c = connect(&format!("{}/?protocol=resp3", s.proxy.url())).await;
    let info: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(info.contains(" resp=3 "), "{info}");

    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut c)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, "v");
    assert_eq!(query(&mut c, "GET missing").await, Value::Nil);

    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(
        matches!(query(&mut c, "HGETALL h").await, Value::Map(_)),
        "a RESP3 map"
    );
    let h: HashMap<String, String> = redis::cmd("HGETALL")
        .arg("h")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        h,
        HashMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])
    );

    let _: () = redis::cmd("ZADD")
        .arg("z")
        .arg(2.5)
        .arg("m")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(query(&mut c, "ZSCORE z m").await, Value::Double(2.5));
    let _: () = redis::cmd("SADD")
        .arg("s")
        .arg("x")
        .arg("y")
        .query_async(&mut c)
        .await
        .unwrap();
    let members: HashSet<String> = redis::cmd("SMEMBERS")
        .arg("s")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(members, HashSet::from(["x".into(), "y".into()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_commands_inside_multi_are_queued_like_redis() {
    let redis = RedisServer::start();
    let proxy = Proxy::start(config_for(&redis)).await;
    let mut raw = proxy.raw().await;
    assert_eq!(raw.call(&[b"MULTI"]).await, "+OK\r\n");
    assert_eq!(raw.call(&[b"CLIENT", b"ID"]).await, "+QUEUED\r\n");
    assert_eq!(raw.call(&[b"INFO", b"server"]).await, "+QUEUED\r\n");
    let exec = raw.call(&[b"EXEC"]).await;
    assert!(
        exec.starts_with("*2\r\n:"),
        "EXEC runs both queued commands: {exec}"
    );
    assert!(exec.contains("redis_version"), "INFO ran at EXEC: {exec}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mget_nil_for_a_list_never_turns_get_into_nil() {
    let (redis, proxy) = start(|c| c.l1.admit_min_reads = 1).await;
    proxy.wait_tracking().await;
    let mut d = redis.direct().await;
    let _: () = redis::cmd("RPUSH")
        .arg("l")
        .arg("x")
        .query_async(&mut d)
        .await
        .unwrap();
    let mut raw = proxy.raw().await;
    for _ in 0..3 {
        assert_eq!(raw.call(&[b"MGET", b"l"]).await, "*1\r\n$-1\r\n");
    }
    let get = raw.call(&[b"GET", b"l"]).await;
    assert!(
        get.starts_with("-WRONGTYPE"),
        "GET of a list is still an error: {get}"
    );
}
