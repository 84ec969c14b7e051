//! L1: reads answered from process memory, and never stale.
//!
//! The main test is randomised: clients read and write through respite
//! while writers change the same keys straight on Redis, and every value
//! carries its key's write sequence number, so a stale read is visible as an
//! old number. The others pin down one mechanism each: losing the
//! invalidation listener, two instances on one Redis, client-side caching
//! through respite, admission and limits, TTL bounds, an upstream without
//! tracking, HOTKEYS, write ordering, and byte-identical cached replies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use respite::config::Config;

/// How soon a write made straight on Redis must show through respite.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

/// respite with L1 filling on the first miss, tracking up.
async fn start_l1(tweak: impl FnOnce(&mut Config)) -> (RedisServer, Proxy) {
    let (redis, proxy) = start(|c| {
        c.l1.admit_min_reads = 1;
        tweak(c);
    })
    .await;
    proxy.wait_tracking().await;
    (redis, proxy)
}

/// One `INFO l1` reading.
struct L1Info(String);

impl L1Info {
    async fn read(raw: &mut Raw) -> Self {
        L1Info(raw.call(&[b"INFO", b"l1"]).await)
    }

    fn get(&self, field: &str) -> u64 {
        info_value(&self.0, field).unwrap_or_else(|| panic!("INFO l1 has no {field}: {}", self.0))
    }

    fn tracking(&self) -> &str {
        self.0
            .split("\r\n")
            .find_map(|l| l.strip_prefix("l1_tracking:"))
            .unwrap_or("?")
    }
}

/// A field of respite's `INFO l1`.
async fn l1(raw: &mut Raw, field: &str) -> u64 {
    info_field(raw, "l1", field).await
}

/// The RESP2 nil reply.
const NIL: &str = "$-1\r\n";

/// `GET key` over `raw`, which L1 must answer.
async fn get_hit(raw: &mut Raw, key: &str) -> String {
    let reply = read_hit(raw, &[b"GET", key.as_bytes()]).await;
    String::from_utf8_lossy(&reply).into_owned()
}

/// Read `key` through `raw` until L1 answers it (the first read fills).
async fn cache(raw: &mut Raw, key: &str) -> String {
    raw.call(&[b"GET", key.as_bytes()]).await;
    get_hit(raw, key).await
}

/// Send a command straight to Redis and expect `+OK`.
async fn redis_ok(redis: &mut Raw, args: &[&[u8]]) {
    let reply = redis.call(args).await;
    assert_eq!(reply, "+OK\r\n", "{:?}", String::from_utf8_lossy(args[0]));
}

/// A field (`id`, `addr` …) of respite's invalidation listener, from
/// Redis's CLIENT LIST; `None` while Redis lists no listener.
async fn listener(redis: &mut Raw, field: &str) -> Option<String> {
    let list = redis.call(&[b"CLIENT", b"LIST"]).await;
    let prefix = format!("{field}=");
    list.lines()
        .find(|l| l.contains(" name=respite:tracking "))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix(&prefix)))
        .map(str::to_owned)
}

/// A read through `raw` that L1 must answer (L1 hits grow, misses do not:
/// an MGET counts a hit or miss per key); its raw reply.
async fn read_hit(raw: &mut Raw, args: &[&[u8]]) -> bytes::Bytes {
    let before = L1Info::read(raw).await;
    raw.cmd(args).await;
    let reply = raw.reply().await.expect("reply");
    let after = L1Info::read(raw).await;
    let what = String::from_utf8_lossy(&args.join(&b' ')).into_owned();
    assert!(
        after.get("l1_hits") > before.get("l1_hits")
            && after.get("l1_misses") == before.get("l1_misses"),
        "{what} was not an L1 hit"
    );
    reply
}

/// Split a command line on spaces.
fn words(line: &str) -> Vec<&[u8]> {
    line.split(' ').map(str::as_bytes).collect()
}

/// respite's id for the client on `raw` (it picks the multiplexed
/// connection: id modulo the pool size).
async fn client_id(raw: &mut Raw) -> u64 {
    let reply = raw.call(&[b"CLIENT", b"ID"]).await;
    reply[1..].trim_end().parse().expect("CLIENT ID")
}

/// Whether nothing has arrived on `raw` yet (without waiting).
fn nothing_yet(raw: &Raw) -> bool {
    let mut b = [0u8; 1];
    matches!(raw.stream.try_read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

// ------------------------------------------------------ randomised coherence

/// splitmix64: small, seedable, and every output well mixed (so seeds
/// taken from one generator start unrelated sequences).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The run's seed: `L1_SEED` to replay one, else from the clock.
fn seed() -> u64 {
    std::env::var("L1_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// A string holding its version (INCR-able).
    Counter,
    /// A string `"<version>:<padding>"`, large enough to make L1 evict.
    Blob,
    /// A hash: field `v` is the version, field `pad` is padding.
    Hash,
}

/// A key's state after one write: the version it holds (`None`: absent),
/// and whether it carries a TTL and so may vanish at any moment.
#[derive(Clone, Copy, Debug)]
struct Step {
    value: Option<u64>,
    may_vanish: bool,
}

/// One key of the model. Writes to a key are serialised (by `write`), so
/// its history is a line: the write with sequence number `n` leaves the key
/// in state `history[n]`, and a value written by write `n` is `n`.
struct Key {
    name: String,
    kind: Kind,
    write: tokio::sync::Mutex<()>,
    history: Mutex<Vec<Step>>,
    /// The last write through respite that was acknowledged.
    acked_via_proxy: AtomicU64,
}

const BLOB_PAD: usize = 10_000;
const HASH_PAD: usize = 2_000;

impl Key {
    fn new(name: String, kind: Kind) -> Self {
        Key {
            name,
            kind,
            write: tokio::sync::Mutex::new(()),
            history: Mutex::new(vec![Step {
                value: None,
                may_vanish: false,
            }]),
            acked_via_proxy: AtomicU64::new(0),
        }
    }

    /// The last state and the next write's sequence number (hold `write`).
    fn peek(&self) -> (Step, u64) {
        let h = self.history.lock().unwrap();
        (h[h.len() - 1], h.len() as u64)
    }

    /// Record the next write's outcome before it is sent (hold `write`).
    fn begin(&self, step: Step) -> u64 {
        let mut h = self.history.lock().unwrap();
        h.push(step);
        h.len() as u64 - 1
    }

    /// Whether a read that saw `seen` is fresh given that write `floor` had
    /// been acknowledged when the read started: some state at or after
    /// `floor` holds `seen` (or, for nil, let the key vanish).
    fn fresh(&self, seen: Option<u64>, floor: u64) -> bool {
        let h = self.history.lock().unwrap();
        h[floor as usize..]
            .iter()
            .any(|s| s.value == seen || (seen.is_none() && s.may_vanish))
    }

    /// The version a read reply holds.
    fn version(&self, raw: Option<&[u8]>) -> Option<u64> {
        let text = std::str::from_utf8(raw?).expect("utf-8 value");
        let digits = text.split(':').next().unwrap_or_default();
        Some(
            digits
                .parse()
                .unwrap_or_else(|_| panic!("{}: bad value {text:.40}", self.name)),
        )
    }

    /// What a SET (or HSET) of version `v` writes.
    fn value(&self, v: u64) -> String {
        match self.kind {
            Kind::Counter | Kind::Hash => v.to_string(),
            Kind::Blob => format!("{v}:{}", "x".repeat(BLOB_PAD)),
        }
    }
}

/// A write the model knows how to apply.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Write {
    Set,
    Incr,
    Del,
    Expire,
}

/// The keys, what went wrong, and counts for the report.
struct Model {
    keys: Vec<Key>,
    violations: Mutex<Vec<String>>,
    violation_count: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    flushdbs: AtomicU64,
}

impl Model {
    fn new() -> Self {
        let mut keys = Vec::new();
        for i in 0..12 {
            keys.push(Key::new(format!("n:{i}"), Kind::Counter));
        }
        for i in 0..4 {
            keys.push(Key::new(format!("b:{i}"), Kind::Blob));
        }
        for i in 0..4 {
            keys.push(Key::new(format!("h:{i}"), Kind::Hash));
        }
        Model {
            keys,
            violations: Mutex::new(Vec::new()),
            violation_count: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            flushdbs: AtomicU64::new(0),
        }
    }

    fn violation(&self, what: String) {
        self.violation_count.fetch_add(1, Ordering::Relaxed);
        let mut v = self.violations.lock().unwrap();
        if v.len() < 10 {
            v.push(what);
        }
    }

    /// Check (a): a read that started after write `floor` was acknowledged
    /// through respite saw it or something newer.
    fn check(&self, key: &Key, seen: Option<u64>, floor: u64, how: &str) {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if !key.fresh(seen, floor) {
            let history = key.history.lock().unwrap();
            let tail = &history[floor as usize..];
            self.violation(format!(
                "{how} {} returned {seen:?}, but write {floor} was acknowledged before the read; states since: {tail:?}",
                key.name
            ));
        }
    }

    /// A random key of a kind `want` accepts: its index (also the order
    /// in which several keys' write locks are taken).
    fn pick(&self, rng: &mut Rng, want: fn(Kind) -> bool) -> usize {
        let fits: Vec<usize> = (0..self.keys.len())
            .filter(|&i| want(self.keys[i].kind))
            .collect();
        fits[rng.below(fits.len())]
    }
}

fn any(_: Kind) -> bool {
    true
}

fn string(kind: Kind) -> bool {
    kind != Kind::Hash
}

fn hash(kind: Kind) -> bool {
    kind == Kind::Hash
}

type Conn = redis::aio::MultiplexedConnection;

async fn q<T: redis::FromRedisValue>(con: &mut Conn, cmd: &redis::Cmd) -> T {
    cmd.query_async(con)
        .await
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Read `key` with a cacheable read (GET, or HGET for a hash): its version.
async fn read_version(con: &mut Conn, key: &Key) -> Option<u64> {
    let reply: Option<Vec<u8>> = match key.kind {
        Kind::Hash => q(con, redis::cmd("HGET").arg(&key.name).arg("v")).await,
        _ => q(con, redis::cmd("GET").arg(&key.name)).await,
    };
    key.version(reply.as_deref())
}

/// Apply `write` to `key` over `con` (respite or Redis), keeping the model
/// in step; the caller holds the key's write lock. Returns the write's
/// sequence number.
async fn apply(con: &mut Conn, key: &Key, write: Write) -> u64 {
    let (last, seq) = key.peek();
    let write = match write {
        // INCR yields the next version only on a counter that holds the
        // last one and cannot expire under it.
        Write::Incr
            if key.kind == Kind::Counter && last.value == Some(seq - 1) && !last.may_vanish =>
        {
            Write::Incr
        }
        Write::Incr => Write::Set,
        w => w,
    };
    let step = match (write, key.kind) {
        (Write::Set | Write::Incr, Kind::Hash) => Step {
            value: Some(seq),
            may_vanish: last.value.is_some() && last.may_vanish,
        },
        (Write::Set | Write::Incr, _) => Step {
            value: Some(seq),
            may_vanish: false,
        },
        (Write::Del, _) => Step {
            value: None,
            may_vanish: false,
        },
        (Write::Expire, _) => Step {
            value: last.value,
            may_vanish: true,
        },
    };
    let seq = key.begin(step);
    let name = &key.name;
    match (write, key.kind) {
        (Write::Set | Write::Incr, Kind::Hash) => {
            let pad = "p".repeat(HASH_PAD);
            let _: i64 = q(
                con,
                redis::cmd("HSET")
                    .arg(name)
                    .arg("v")
                    .arg(seq)
                    .arg("pad")
                    .arg(pad),
            )
            .await;
        }
        (Write::Incr, _) => {
            let v: u64 = q(con, redis::cmd("INCR").arg(name)).await;
            assert_eq!(v, seq, "INCR {name}");
        }
        (Write::Set, _) => {
            let _: () = q(con, redis::cmd("SET").arg(name).arg(key.value(seq))).await;
        }
        (Write::Del, _) => {
            let _: i64 = q(con, redis::cmd("DEL").arg(name)).await;
        }
        (Write::Expire, _) => {
            let _: i64 = q(con, redis::cmd("EXPIRE").arg(name).arg(1)).await;
        }
    }
    seq
}

/// One client through respite: a random mix of reads (each checked for
/// read-your-writes) and writes (each acknowledged into the model).
async fn client(model: Arc<Model>, url: String, mut rng: Rng, ops: usize) {
    let mut con = connect(&url).await;
    let (m, rng) = (&*model, &mut rng);
    for _ in 0..ops {
        match rng.below(100) {
            0..63 => read(m, &mut con, rng).await,
            63..95 => write(m, &mut con, rng).await,
            95..99 => multi_exec(m, &mut con, rng).await,
            _ if rng.below(20) == 0 => flushdb(m, &mut con).await,
            _ => {}
        }
    }
}

/// GET, MGET, HGET or HGETALL, checked for read-your-writes (check (a)).
async fn read(m: &Model, con: &mut Conn, rng: &mut Rng) {
    let (how, picked) = match rng.below(63) {
        0..40 => ("GET", vec![m.pick(rng, string)]),
        40..50 => ("MGET", (0..3).map(|_| m.pick(rng, string)).collect()),
        50..58 => ("HGET", vec![m.pick(rng, hash)]),
        _ => ("HGETALL", vec![m.pick(rng, hash)]),
    };
    let keys: Vec<&Key> = picked.into_iter().map(|i| &m.keys[i]).collect();
    let floors: Vec<u64> = keys
        .iter()
        .map(|k| k.acked_via_proxy.load(Ordering::SeqCst))
        .collect();
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    let replies: Vec<Option<Vec<u8>>> = match how {
        "GET" => vec![q(con, redis::cmd("GET").arg(names[0])).await],
        "MGET" => q(con, redis::cmd("MGET").arg(&names)).await,
        "HGET" => vec![q(con, redis::cmd("HGET").arg(names[0]).arg("v")).await],
        _ => {
            let all: HashMap<String, Vec<u8>> = q(con, redis::cmd("HGETALL").arg(names[0])).await;
            vec![all.get("v").cloned()]
        }
    };
    for ((key, floor), reply) in keys.iter().zip(floors).zip(replies) {
        m.check(key, key.version(reply.as_deref()), floor, how);
    }
}

/// SET/HSET, INCR, DEL or EXPIRE on one key.
async fn write(m: &Model, con: &mut Conn, rng: &mut Rng) {
    let write = match rng.below(32) {
        0..14 => Write::Set,
        14..24 => Write::Incr,
        24..29 => Write::Del,
        _ => Write::Expire,
    };
    let key = &m.keys[m.pick(rng, if write == Write::Incr { string } else { any })];
    let _guard = key.write.lock().await;
    let seq = apply(con, key, write).await;
    key.acked_via_proxy.fetch_max(seq, Ordering::SeqCst);
    m.writes.fetch_add(1, Ordering::Relaxed);
}

/// MULTI / SET / SET / EXEC on two string keys.
async fn multi_exec(m: &Model, con: &mut Conn, rng: &mut Rng) {
    let (a, b) = (m.pick(rng, string), m.pick(rng, string));
    if a == b {
        return;
    }
    let (ka, kb) = (&m.keys[a.min(b)], &m.keys[a.max(b)]);
    let _ga = ka.write.lock().await;
    let _gb = kb.write.lock().await;
    let set = |k: &Key| {
        k.begin(Step {
            value: Some(k.peek().1),
            may_vanish: false,
        })
    };
    let (sa, sb) = (set(ka), set(kb));
    let _: () = redis::pipe()
        .atomic()
        .set(&ka.name, ka.value(sa))
        .set(&kb.name, kb.value(sb))
        .query_async(con)
        .await
        .expect("MULTI/SET/SET/EXEC");
    ka.acked_via_proxy.fetch_max(sa, Ordering::SeqCst);
    kb.acked_via_proxy.fetch_max(sb, Ordering::SeqCst);
    m.writes.fetch_add(1, Ordering::Relaxed);
}

/// FLUSHDB, holding every key's write lock.
async fn flushdb(m: &Model, con: &mut Conn) {
    let mut guards = Vec::new();
    for k in &m.keys {
        guards.push(k.write.lock().await);
    }
    let gone = Step {
        value: None,
        may_vanish: false,
    };
    let seqs: Vec<u64> = m.keys.iter().map(|k| k.begin(gone)).collect();
    let _: () = q(con, &redis::cmd("FLUSHDB")).await;
    for (k, seq) in m.keys.iter().zip(seqs) {
        k.acked_via_proxy.fetch_max(seq, Ordering::SeqCst);
    }
    m.flushdbs.fetch_add(1, Ordering::Relaxed);
}

/// What a direct writer measured: the slowest invalidation, and how many
/// reads after a direct write still saw the old value (L1 had it).
#[derive(Default, Debug)]
struct Lag {
    max: Duration,
    writes: u64,
    stale_polls: u64,
}

/// A writer straight to Redis: cache a key through respite, change it on
/// Redis, then poll through respite until the change shows (check (b)).
async fn direct_writer(
    model: Arc<Model>,
    redis_url: String,
    proxy_url: String,
    mut rng: Rng,
    writes: usize,
) -> Lag {
    let mut direct = connect(&redis_url).await;
    let mut via = connect(&proxy_url).await;
    let mut lag = Lag::default();
    for _ in 0..writes {
        let write = match rng.below(10) {
            0..6 => Write::Set,
            6..9 => Write::Incr,
            _ => Write::Del,
        };
        let key =
            &model.keys[model.pick(&mut rng, if write == Write::Incr { string } else { any })];
        read_version(&mut via, key).await;
        read_version(&mut via, key).await;
        let seq = {
            let _guard = key.write.lock().await;
            apply(&mut direct, key, write).await
        };
        let written = Instant::now();
        loop {
            let seen = read_version(&mut via, key).await;
            if key.fresh(seen, seq) {
                break;
            }
            lag.stale_polls += 1;
            if written.elapsed() > VISIBLE_WITHIN {
                model.violation(format!(
                    "direct write {seq} to {} not visible through respite after {VISIBLE_WITHIN:?} (still {seen:?})",
                    key.name
                ));
                break;
            }
        }
        lag.max = lag.max.max(written.elapsed());
        lag.writes += 1;
    }
    lag
}

/// Check (c): sample `INFO l1` until `done`; returns the samples and the
/// largest l1_bytes seen, failing the model on any sample over budget.
async fn budget_sampler(model: Arc<Model>, mut raw: Raw, done: Arc<AtomicBool>) -> (u64, u64) {
    let (mut samples, mut max) = (0, 0);
    while !done.load(Ordering::Relaxed) {
        let info = L1Info::read(&mut raw).await;
        let (bytes, budget) = (info.get("l1_bytes"), info.get("l1_budget_bytes"));
        if bytes > budget {
            model.violation(format!("l1_bytes {bytes} > l1_budget_bytes {budget}"));
        }
        max = max.max(bytes);
        samples += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (samples, max)
}

/// Check (d): a key SET with PX 50 straight on Redis, read (and so cached)
/// through respite, is nil through respite once 50 ms (and a margin) have
/// passed since Redis acknowledged it. Returns rounds and hits seen.
async fn expiring_key(model: Arc<Model>, redis: Raw, mut raw: Raw, done: Arc<AtomicBool>) -> u64 {
    let mut redis = redis;
    let mut rounds = 0;
    while !done.load(Ordering::Relaxed) {
        let value = format!("px{rounds}");
        redis_ok(&mut redis, &[b"SET", b"px", value.as_bytes(), b"PX", b"50"]).await;
        let acked = Instant::now();
        raw.call(&[b"GET", b"px"]).await;
        raw.call(&[b"GET", b"px"]).await;
        tokio::time::sleep_until((acked + Duration::from_millis(55)).into()).await;
        for _ in 0..3 {
            let reply = raw.call(&[b"GET", b"px"]).await;
            if reply != NIL {
                model.violation(format!(
                    "px served {reply:?} {:?} after Redis acknowledged SET PX 50",
                    acked.elapsed()
                ));
            }
        }
        assert_eq!(redis.call(&[b"PTTL", b"px"]).await, ":-2\r\n");
        rounds += 1;
    }
    rounds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomised_reads_and_writes_are_never_stale() {
    const CLIENTS: usize = 8;
    const OPS: usize = 1500;
    const WRITERS: usize = 2;
    const DIRECT_WRITES: usize = 250;
    let seed = seed();
    println!("seed {seed} (replay with L1_SEED={seed})");
    let (redis, proxy) = start_l1(|c| c.l1.budget_bytes = 64 * 1024).await;
    let model = Arc::new(Model::new());
    let done = Arc::new(AtomicBool::new(false));
    let mut rng = Rng::new(seed);

    let sampler = tokio::spawn(budget_sampler(
        model.clone(),
        proxy.raw().await,
        done.clone(),
    ));
    let expiry = tokio::spawn(expiring_key(
        model.clone(),
        redis.raw().await,
        proxy.raw().await,
        done.clone(),
    ));
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            // Half the clients speak RESP3: their replies are cached apart.
            let url = match i % 2 {
                0 => proxy.url(),
                _ => format!("{}/?protocol=resp3", proxy.url()),
            };
            tokio::spawn(client(model.clone(), url, Rng::new(rng.next()), OPS))
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let r = Rng::new(rng.next());
            tokio::spawn(direct_writer(
                model.clone(),
                redis.url(),
                proxy.url(),
                r,
                DIRECT_WRITES,
            ))
        })
        .collect();
    for c in clients {
        c.await.expect("client task");
    }
    let mut lag = Lag::default();
    for w in writers {
        let l = w.await.expect("writer task");
        lag.max = lag.max.max(l.max);
        lag.writes += l.writes;
        lag.stale_polls += l.stale_polls;
    }
    done.store(true, Ordering::Relaxed);
    let (samples, max_bytes) = sampler.await.expect("sampler");
    let expiry_rounds = expiry.await.expect("expiry task");

    let mut raw = proxy.raw().await;
    let info = L1Info::read(&mut raw).await;
    let (hits, misses) = (info.get("l1_hits"), info.get("l1_misses"));
    println!(
        "{} reads, {} writes and {} FLUSHDBs through respite, {} direct writes in {:?}; L1 hits {hits}, misses {misses}, evictions {}, flushes {}",
        model.reads.load(Ordering::Relaxed),
        model.writes.load(Ordering::Relaxed),
        model.flushdbs.load(Ordering::Relaxed),
        lag.writes,
        started.elapsed(),
        info.get("l1_evictions"),
        info.get("l1_flushes"),
    );
    println!(
        "largest invalidation lag after a direct write: {:?} ({} reads saw the old value); {samples} budget samples, max l1_bytes {max_bytes}; {expiry_rounds} PX 50 rounds",
        lag.max, lag.stale_polls
    );
    let violations = model.violations.lock().unwrap().clone();
    assert!(
        violations.is_empty(),
        "seed {seed}: {} violations, first ones:\n{}",
        model.violation_count.load(Ordering::Relaxed),
        violations.join("\n")
    );
    assert!(hits > 0, "L1 never answered a read: the run proves nothing");
    assert!(
        info.get("l1_evictions") > 0,
        "the budget never made L1 evict"
    );
    assert!(samples > 0 && expiry_rounds > 0);
    assert!(lag.max < VISIBLE_WITHIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_after_a_write_never_joins_a_miss_sent_before_it() {
    // Two pooled connections: A and B use different ones (by id parity).
    let (redis, proxy) = start_l1(|c| c.upstream.pool_size = 2).await;
    // A large value: Redis takes many event-loop turns to send it, so the
    // miss that reads it stays in flight while other commands run.
    let big = vec![b'o'; 32 << 20];
    redis.set("k", &big).await;
    let mut a = proxy.raw().await;
    let a_id = client_id(&mut a).await;
    let mut b = proxy.raw().await;
    while client_id(&mut b).await % 2 == a_id % 2 {
        b = proxy.raw().await;
    }
    // B misses k; its read reaches Redis before A's write.
    b.cmd(&[b"GET", b"k"]).await;
    let mut direct = redis.raw().await;
    let ran = eventually(READY_BOUND, async || {
        let stats = direct.call(&[b"INFO", b"commandstats"]).await;
        stats.contains("cmdstat_get:calls=1,")
    })
    .await;
    assert!(ran, "B's GET never reached Redis");
    assert_eq!(a.call(&[b"SET", b"k", b"new"]).await, "+OK\r\n");
    assert!(
        nothing_yet(&b),
        "B's 32 MiB read finished too soon to test anything"
    );
    // A's own write was acknowledged: A must read it, not B's older read.
    let reply = a.call(&[b"GET", b"k"]).await;
    assert!(
        reply == bulk("new"),
        "read-your-writes broken: GET after SET returned {} bytes",
        reply.len()
    );
    let old = b.reply().await.expect("B's reply");
    assert_eq!(old.len(), big.len() + 13, "B read the old value");
}

// ------------------------------------------------------ the listener, peers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_listener_flushes_l1_until_tracking_is_back() {
    let (redis, proxy) = start_l1(|_| {}).await;
    let mut raw = proxy.raw().await;
    let mut direct = redis.raw().await;
    for k in ["a", "b", "c"] {
        redis_ok(&mut direct, &[b"SET", k.as_bytes(), b"old"]).await;
        cache(&mut raw, k).await;
    }
    let before = L1Info::read(&mut raw).await;
    assert!(before.get("l1_entries") >= 3);

    let id = listener(&mut direct, "id").await.expect("the listener");
    let killed = direct
        .call(&[b"CLIENT", b"KILL", b"ID", id.as_bytes()])
        .await;
    assert_eq!(killed, ":1\r\n");
    // Its invalidation has nowhere to go: only the flush can drop `a`.
    redis_ok(&mut direct, &[b"SET", b"a", b"new"]).await;
    let flushed = eventually(READY_BOUND, async || {
        l1(&mut raw, "l1_flushes").await > before.get("l1_flushes")
    })
    .await;
    assert!(flushed, "L1 was not flushed when its listener was killed");
    assert_eq!(l1(&mut raw, "l1_entries").await, 0);
    assert_eq!(raw.call(&[b"GET", b"a"]).await, bulk("new"));

    proxy.wait_tracking().await;
    let new_id = listener(&mut direct, "id").await;
    assert!(new_id.is_some() && new_id != Some(id), "no new listener");
    // Caching resumes, and invalidations reach the new listener.
    assert_eq!(cache(&mut raw, "b").await, bulk("old"));
    redis_ok(&mut direct, &[b"SET", b"b", b"newer"]).await;
    let seen = eventually(VISIBLE_WITHIN, async || {
        raw.call(&[b"GET", b"b"]).await == bulk("newer")
    })
    .await;
    assert!(
        seen,
        "a direct write after the listener came back never showed"
    );
}

/// A TCP forwarder in front of Redis that can cut a connection silently:
/// Redis sees it close, the client sees nothing (as when a NAT or firewall
/// drops an idle connection). Connections are known by the port Redis sees
/// them from (`addr=` in CLIENT LIST).
struct Forwarder {
    addr: std::net::SocketAddr,
    cuts: Arc<Mutex<HashMap<u16, tokio::sync::oneshot::Sender<()>>>>,
}

impl Forwarder {
    async fn start(redis: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let cuts = Arc::new(Mutex::new(HashMap::new()));
        let table = cuts.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let Ok(mut upstream) = tokio::net::TcpStream::connect(redis).await else {
                    continue;
                };
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let port = upstream.local_addr().expect("addr").port();
                table.lock().unwrap().insert(port, tx);
                tokio::spawn(async move {
                    let cut = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => false,
                        r = rx => r.is_ok(),
                    };
                    if cut {
                        drop(upstream);
                        // Keep the client's side open and silent.
                        std::future::pending::<()>().await;
                    }
                });
            }
        });
        Forwarder { addr, cuts }
    }

    /// Close the connection Redis sees from `port`, on Redis's side only.
    fn cut(&self, port: u16) {
        let tx = self.cuts.lock().unwrap().remove(&port);
        tx.expect("a forwarded connection from that port")
            .send(())
            .expect("cut");
    }
}

/// The listener's connection is cut without a FIN reaching respite; a direct
/// write must still become visible. With a RESP3 reader, Redis's
/// `tracking-redir-broken` push flushes L1 at once; with RESP2 readers only,
/// the listener's heartbeat must notice (3 s deadline).
async fn listener_lost_silently(with_resp3: bool) {
    let redis = RedisServer::start();
    let forwarder = Forwarder::start(redis.addr()).await;
    let mut c = config_for(&redis);
    c.upstream.url = format!("redis://{}", forwarder.addr);
    c.l1.admit_min_reads = 1;
    let proxy = Proxy::start(c).await;
    proxy.wait_tracking().await;
    redis.set("k", b"old").await;
    // A RESP2 and a RESP3 reader: they use different pooled connections.
    let mut readers = vec![("RESP2", proxy.raw().await)];
    if with_resp3 {
        let mut r3 = proxy.raw().await;
        r3.hello3().await;
        readers.push(("RESP3", r3));
    }
    for (_, raw) in readers.iter_mut() {
        assert_eq!(cache(raw, "k").await, bulk("old"));
    }
    let mut direct = redis.raw().await;
    let addr = listener(&mut direct, "addr").await.expect("the listener");
    let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
    forwarder.cut(port.expect("the listener's port"));
    let gone = eventually(READY_BOUND, async || {
        listener(&mut direct, "id").await.is_none()
    })
    .await;
    assert!(gone, "Redis still lists the listener");
    redis_ok(&mut direct, &[b"SET", b"k", b"new"]).await;
    // RESP3 pooled connections hear `tracking-redir-broken` at once; a
    // RESP2-only deployment relies on the listener's heartbeat (3 s deadline).
    let bound = Duration::from_secs(6);
    for (proto, raw) in readers.iter_mut() {
        let seen = eventually(bound, async || {
            raw.call(&[b"GET", b"k"]).await == bulk("new")
        })
        .await;
        assert!(
            seen,
            "{proto}: still served the old value {bound:?} after a direct write"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_lost_silently_is_noticed_through_redir_broken() {
    listener_lost_silently(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_lost_silently_is_noticed_by_its_heartbeat() {
    listener_lost_silently(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_see_each_others_writes() {
    const ROUNDS: usize = 50;
    let redis = RedisServer::start();
    let config = || {
        let mut c = config_for(&redis);
        c.l1.admit_min_reads = 1;
        c
    };
    let (a, b) = (Proxy::start(config()).await, Proxy::start(config()).await);
    a.wait_tracking().await;
    b.wait_tracking().await;
    let (mut ra, mut rb) = (a.raw().await, b.raw().await);
    let (mut first_read, mut slowest) = (0, Duration::ZERO);
    for i in 0..ROUNDS {
        let (old, new) = (format!("old{i}"), format!("new{i}"));
        assert_eq!(ra.call(&[b"SET", b"k", old.as_bytes()]).await, "+OK\r\n");
        let b_has_old = eventually(VISIBLE_WITHIN, async || {
            rb.call(&[b"GET", b"k"]).await == bulk(&old)
        })
        .await;
        assert!(b_has_old);
        assert_eq!(
            get_hit(&mut rb, "k").await,
            bulk(&old),
            "B does not cache k"
        );

        assert_eq!(ra.call(&[b"SET", b"k", new.as_bytes()]).await, "+OK\r\n");
        let written = Instant::now();
        let mut reads = 0;
        let seen = eventually(VISIBLE_WITHIN, async || {
            reads += 1;
            rb.call(&[b"GET", b"k"]).await == bulk(&new)
        })
        .await;
        assert!(
            seen,
            "B still served the old value {VISIBLE_WITHIN:?} after A's write"
        );
        first_read += usize::from(reads == 1);
        slowest = slowest.max(written.elapsed());
    }
    println!(
        "B saw A's write on its first read in {first_read}/{ROUNDS} rounds; slowest {slowest:?}"
    );
    assert!(
        first_read * 2 >= ROUNDS,
        "B usually lagged behind A's writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_client_gets_invalidate_pushes() {
    let (redis, proxy) = start_l1(|_| {}).await;
    redis.set("k", b"v0").await;
    let mut writer = proxy.raw().await;
    // k is in L1: the tracking client's read must be tracked all the same.
    cache(&mut writer, "k").await;
    let mut t = proxy.raw().await;
    t.hello3().await;
    assert_eq!(t.call(&[b"CLIENT", b"TRACKING", b"on"]).await, "+OK\r\n");
    let mut direct = redis.raw().await;
    let invalidate_k = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
    for (i, via) in ["respite", "redis"].into_iter().enumerate() {
        assert_eq!(
            t.call_past(&[b"GET", b"k"], invalidate_k).await,
            bulk(&format!("v{i}"))
        );
        let next = format!("v{}", i + 1);
        let w = if via == "respite" {
            &mut writer
        } else {
            &mut direct
        };
        redis_ok(w, &[b"SET", b"k", next.as_bytes()]).await;
        assert_eq!(t.next().await, invalidate_k, "after a write through {via}");
    }
}

// ------------------------------------------------------ admission and limits

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_admitted_after_admit_min_reads() {
    let (redis, proxy) = start_l1(|c| c.l1.admit_min_reads = 3).await;
    redis.set("k", b"v").await;
    let mut raw = proxy.raw().await;
    for read in 1..=2 {
        assert_eq!(raw.call(&[b"GET", b"k"]).await, bulk("v"));
        assert_eq!(l1(&mut raw, "l1_entries").await, 0, "filled on read {read}");
    }
    assert_eq!(raw.call(&[b"GET", b"k"]).await, bulk("v"));
    assert_eq!(
        l1(&mut raw, "l1_entries").await,
        1,
        "the third read did not fill"
    );
    let info = L1Info::read(&mut raw).await;
    assert_eq!((info.get("l1_hits"), info.get("l1_misses")), (0, 3));
    assert_eq!(get_hit(&mut raw, "k").await, bulk("v"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_and_patterns_keep_keys_out() {
    let (redis, proxy) = start_l1(|c| {
        c.l1.max_value_bytes = 1024;
        c.l1.allow = vec!["user:*".into(), "secret:*".into()];
        c.l1.deny = vec!["secret:*".into()];
    })
    .await;
    let big = "x".repeat(2000);
    for (k, v) in [
        ("user:1", "v"),
        ("user:big", &big),
        ("secret:1", "s"),
        ("other:1", "o"),
    ] {
        redis.set(k, v.as_bytes()).await;
    }
    let mut raw = proxy.raw().await;
    assert_eq!(cache(&mut raw, "user:1").await, bulk("v"));
    let before = L1Info::read(&mut raw).await;
    // Too large, denied (deny wins over allow), not allowed.
    for (k, v) in [("user:big", &big[..]), ("secret:1", "s"), ("other:1", "o")] {
        for _ in 0..3 {
            assert_eq!(raw.call(&[b"GET", k.as_bytes()]).await, bulk(v));
        }
        let now = L1Info::read(&mut raw).await;
        for field in ["l1_hits", "l1_entries"] {
            assert_eq!(
                now.get(field),
                before.get(field),
                "{k} was cached ({field})"
            );
        }
    }
}

// ------------------------------------------------------ lifetimes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_its_key_upstream() {
    let (redis, proxy) = start_l1(|_| {}).await;
    let mut direct = redis.raw().await;
    redis_ok(&mut direct, &[b"SET", b"k", b"v", b"EX", b"1"]).await;
    let mut raw = proxy.raw().await;
    assert_eq!(cache(&mut raw, "k").await, bulk("v"));
    let mut gone_upstream = false;
    let expired = eventually(READY_BOUND, async || {
        let reply = raw.call(&[b"GET", b"k"]).await;
        assert!(
            !gone_upstream || reply == NIL,
            "served {reply:?} after PTTL said -2"
        );
        gone_upstream = direct.call(&[b"PTTL", b"k"]).await == ":-2\r\n";
        reply == NIL
    })
    .await;
    assert!(expired);
    assert_eq!(direct.call(&[b"PTTL", b"k"]).await, ":-2\r\n");
}

/// A script that holds Redis for `ms` milliseconds.
const BUSY: &[u8] = b"local t = redis.call('TIME') local t0 = t[1] * 1000000 + t[2] \
    repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - t0 >= tonumber(ARGV[1]) * 1000 \
    return 1";

/// Give Redis many keys with a TTL: its active expiry then rarely finds an
/// expired key soon (nor tells tracking about it), so nothing but L1's own
/// lifetime stops such a key being served once it expired.
async fn crowd_active_expiry(direct: &mut Raw) {
    let fill = b"for i = 1, 20000 do redis.call('SET', 'filler:' .. i, 'x', 'EX', 3600) end";
    assert_eq!(direct.call(&[b"EVAL", fill, b"0"]).await, NIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_never_outlives_its_key_even_when_the_reply_was_slow() {
    let (redis, proxy) = start_l1(|_| {}).await;
    let mut direct = redis.raw().await;
    crowd_active_expiry(&mut direct).await;
    redis_ok(&mut direct, &[b"SET", b"k", b"v", b"PX", b"200"]).await;
    let acked = Instant::now();
    // One write: the read, then a script that holds Redis (and so the
    // read's reply, PTTL included) for 300 ms.
    let mut raw = proxy.raw().await;
    let mut write = resp(&[b"GET", b"k"]);
    write.extend(resp(&[b"EVAL", BUSY, b"0", b"300"]));
    raw.send(&write).await;
    assert_eq!(raw.next().await, bulk("v"));
    assert!(
        acked.elapsed() >= Duration::from_millis(300),
        "the reply was not held back"
    );
    assert_eq!(raw.next().await, ":1\r\n");
    // k expired upstream 100 ms ago (its PTTL was read 300 ms ago).
    assert_eq!(
        raw.call(&[b"GET", b"k"]).await,
        NIL,
        "served from L1 after it expired upstream"
    );
    assert_eq!(direct.call(&[b"PTTL", b"k"]).await, ":-2\r\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_about_to_expire_is_not_cached_as_if_it_had_no_ttl() {
    let (redis, proxy) = start_l1(|_| {}).await;
    let mut direct = redis.raw().await;
    crowd_active_expiry(&mut direct).await;
    let mut raw = proxy.raw().await;
    // With PX 1, the read often lands in the millisecond the key expires
    // at, where PTTL answers 0.
    for round in 0..50 {
        let value = format!("v{round}");
        redis_ok(&mut direct, &[b"SET", b"k", value.as_bytes(), b"PX", b"1"]).await;
        raw.call(&[b"GET", b"k"]).await;
        tokio::time::sleep(Duration::from_millis(3)).await;
        let reply = raw.call(&[b"GET", b"k"]).await;
        assert_eq!(reply, NIL, "round {round}: served after PX 1 ran out");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_ttl_bounds_an_entry_of_a_key_without_ttl() {
    let (redis, proxy) = start_l1(|c| c.l1.max_ttl_ms = 200).await;
    redis.set("k", b"v").await;
    let mut raw = proxy.raw().await;
    assert_eq!(cache(&mut raw, "k").await, bulk("v"));
    tokio::time::sleep(Duration::from_millis(250)).await;
    let misses = l1(&mut raw, "l1_misses").await;
    assert_eq!(raw.call(&[b"GET", b"k"]).await, bulk("v"));
    assert_eq!(
        l1(&mut raw, "l1_misses").await,
        misses + 1,
        "served past max_ttl_ms"
    );
    assert_eq!(get_hit(&mut raw, "k").await, bulk("v"), "not filled again");
}

// ------------------------------------------------------ without tracking

/// Redis without the CLIENT command: respite cannot track there.
fn redis_without_tracking() -> RedisServer {
    RedisServer::start_with(&["--rename-command", "CLIENT", ""])
}

/// respite in front of `redis`, once it has found tracking unavailable. The
/// listener retries only after `retry_ms`.
async fn start_ttl_only(redis: &RedisServer, ttl_ms: u64, retry_ms: u64) -> Proxy {
    let mut c = config_for(redis);
    c.l1.admit_min_reads = 1;
    c.l1.ttl_only_max_ttl_ms = ttl_ms;
    c.upstream.backoff_min_ms = retry_ms;
    c.upstream.backoff_max_ms = retry_ms;
    let proxy = Proxy::start(c).await;
    let mut raw = proxy.raw().await;
    let off = eventually(READY_BOUND, async || {
        L1Info::read(&mut raw).await.tracking() == "off"
    })
    .await;
    assert!(off, "INFO never said l1_tracking:off");
    proxy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_tracking_l1_falls_back_to_short_ttls() {
    let redis = redis_without_tracking();
    let proxy = start_ttl_only(&redis, 200, 60_000).await;
    let mut raw = proxy.raw().await;
    assert_eq!(raw.call(&[b"PING"]).await, "+PONG\r\n");
    assert_eq!(raw.call(&[b"SET", b"k", b"v1"]).await, "+OK\r\n");
    assert_eq!(cache(&mut raw, "k").await, bulk("v1"));
    let mut direct = redis.raw().await;
    redis_ok(&mut direct, &[b"SET", b"k", b"v2"]).await;
    let written = Instant::now();
    let seen = eventually(READY_BOUND, async || {
        raw.call(&[b"GET", b"k"]).await == bulk("v2")
    })
    .await;
    let lag = written.elapsed();
    assert!(
        seen && lag < Duration::from_millis(300),
        "direct write visible after {lag:?}"
    );
    // Writes through respite are still read back at once.
    assert_eq!(raw.call(&[b"SET", b"k", b"v3"]).await, "+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]).await, bulk("v3"));
    assert_eq!(raw.call(&[b"MULTI"]).await, "+OK\r\n");
    assert_eq!(raw.call(&[b"INCR", b"n"]).await, "+QUEUED\r\n");
    assert_eq!(raw.call(&[b"EXEC"]).await, "*1\r\n:1\r\n");
}

// ------------------------------------------------------ HOTKEYS

/// The integer after `name` in a HOTKEYS reply (RESP2 or RESP3).
fn hotkey_field(reply: &str, name: &str) -> u64 {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    let at = lines
        .iter()
        .position(|l| *l == name || l.strip_prefix('+') == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {reply:?}"));
    lines[at + 1..]
        .iter()
        .find_map(|l| l.strip_prefix(':'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {name} in {reply:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotkeys_lists_the_most_read_key_first() {
    let (redis, proxy) = start_l1(|_| {}).await;
    redis.set("hot", b"h").await;
    redis.set("cold", b"c").await;
    let mut raw = proxy.raw().await;
    for (key, reads) in [("hot", 20), ("cold", 2)] {
        for _ in 0..reads {
            raw.call(&[b"GET", key.as_bytes()]).await;
        }
    }
    let resp2 = raw.call(&[b"HOTKEYS", b"COUNT", b"1"]).await;
    assert!(resp2.starts_with("*1\r\n*8\r\n"), "{resp2:?}");
    assert!(
        resp2.contains("\r\nhot\r\n") && !resp2.contains("cold"),
        "{resp2:?}"
    );
    let (reads, hits, misses) = (
        hotkey_field(&resp2, "reads"),
        hotkey_field(&resp2, "hits"),
        hotkey_field(&resp2, "misses"),
    );
    assert!(
        (17..20).contains(&hits) && misses <= 2 && reads == hits + misses,
        "{resp2:?}"
    );
    raw.hello3().await;
    let resp3 = raw.call(&[b"HOTKEYS", b"COUNT", b"1"]).await;
    assert!(resp3.starts_with("*1\r\n%4\r\n"), "{resp3:?}");
    assert_eq!(hotkey_field(&resp3, "hits"), hits);
    let both = raw.call(&[b"HOTKEYS"]).await;
    let (hot, cold) = (both.find("\r\nhot\r\n"), both.find("\r\ncold\r\n"));
    assert!(hot.is_some() && cold.is_some() && hot < cold, "{both:?}");
}

// ------------------------------------------------------ writes and replies

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_respite_invalidate_before_their_reply() {
    let (redis, proxy) = start_l1(|_| {}).await;
    redis.set("k", b"old").await;
    let mut raw = proxy.raw().await;
    cache(&mut raw, "k").await;
    let mut write = resp(&[b"GET", b"k"]);
    write.extend(resp(&[b"SET", b"k", b"new"]));
    write.extend(resp(&[b"GET", b"k"]));
    raw.send(&write).await;
    assert_eq!(raw.next().await, bulk("old"));
    assert_eq!(raw.next().await, "+OK\r\n");
    assert_eq!(raw.next().await, bulk("new"));

    assert_eq!(cache(&mut raw, "k").await, bulk("new"));
    for (cmd, reply) in [
        (&[&b"MULTI"[..]][..], "+OK\r\n"),
        (&[b"SET", b"k", b"tx"], "+QUEUED\r\n"),
        (&[b"EXEC"], "*1\r\n+OK\r\n"),
        (&[b"GET", b"k"], "$2\r\ntx\r\n"),
    ] {
        assert_eq!(raw.call(cmd).await, reply);
    }

    assert_eq!(cache(&mut raw, "k").await, bulk("tx"));
    assert_eq!(raw.call(&[b"FLUSHDB"]).await, "+OK\r\n");
    assert_eq!(raw.call(&[b"GET", b"k"]).await, NIL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_write_drops_what_it_changed() {
    // No tracking upstream, long TTLs, no listener retries (each would
    // flush L1): only respite's own invalidation can drop a stale entry.
    let redis = redis_without_tracking();
    let proxy = start_ttl_only(&redis, 60_000, 60_000).await;
    let mut raw = proxy.raw().await;
    let mut direct = redis.raw().await;
    // (setup straight on Redis, cached read, write through respite)
    let cases: &[(&[&str], &str, &str)] = &[
        (&["SET w v"], "GET w", "APPEND w x"),
        (&["SET w abc"], "GET w", "SETRANGE w 0 Z"),
        (&["SET w v"], "GET w", "GETDEL w"),
        (&["SET w v"], "GET w", "SET w new GET"),
        (&["SET w 1"], "GET w", "INCRBYFLOAT w 1.5"),
        (&["SET w v", "SET src new"], "GET w", "RENAME src w"),
        (&["SET w v", "SET src new"], "GET w", "COPY src w REPLACE"),
        (&["SET w v"], "GET w", "MSET a 1 w new"),
        (
            &["SET w v"],
            "GET w",
            "EVAL return(redis.call('SET',KEYS[1],'e')) 1 w",
        ),
        (&["SET w v"], "GET w", "EXPIRE w 0"),
        (&["SET w v"], "GET w", "UNLINK x w"),
        (&["SET w v"], "GET w", "MOVE w 1"),
        (
            &["SET a 1", "SET b 2", "SET w v"],
            "GET w",
            "BITOP OR w a b",
        ),
        (
            &["RPUSH w a", "RPUSH src b"],
            "LRANGE w 0 -1",
            "LMOVE src w LEFT RIGHT",
        ),
        (
            &["RPUSH w a", "RPUSH src b"],
            "LRANGE w 0 -1",
            "BLMOVE src w LEFT RIGHT 0",
        ),
        (&["RPUSH w a b"], "LRANGE w 0 -1", "LMPOP 2 x w LEFT"),
        (&["RPUSH w a b"], "LINDEX w 0", "LSET w 0 z"),
        (
            &["RPUSH src 3 1 2", "RPUSH w a"],
            "LRANGE w 0 -1",
            "SORT src STORE w",
        ),
        (
            &["SADD a 1", "SADD b 2", "SADD w x"],
            "SMEMBERS w",
            "SUNIONSTORE w a b",
        ),
        (&["SADD src m", "SADD w x"], "SMEMBERS w", "SMOVE src w m"),
        (&["HSET w f 1"], "HGET w f", "HINCRBY w f 1"),
        (&["HSET w f 1 g 2"], "HGETALL w", "HDEL w g"),
        (&["ZADD w 1 m"], "ZSCORE w m", "ZINCRBY w 2 m"),
        (
            &["ZADD src 1 a", "ZADD w 1 m"],
            "ZRANGE w 0 -1",
            "ZUNIONSTORE w 1 src",
        ),
        (
            &["ZADD src 1 a", "ZADD w 1 m"],
            "ZRANGE w 0 -1",
            "ZRANGESTORE w src 0 -1",
        ),
        (&["ZADD w 1 a 2 b"], "ZRANGE w 0 -1", "ZMPOP 1 w MIN"),
        (&["SET w v"], "GET w", "SWAPDB 0 1"),
    ];
    for (setup, read, write) in cases {
        redis_ok(&mut direct, &[b"FLUSHALL"]).await;
        for cmd in *setup {
            direct.call(&words(cmd)).await;
        }
        raw.call_bytes(&words(read)).await;
        read_hit(&mut raw, &words(read)).await;
        let reply = raw.call(&words(write)).await;
        assert!(!reply.starts_with('-'), "{write}: {reply}");
        let want = direct.call_bytes(&words(read)).await;
        let got = raw.call_bytes(&words(read)).await;
        assert_eq!(
            got, want,
            "after {write:?}, {read:?} through respite differs from Redis"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_replies_are_byte_identical_to_redis() {
    let (redis, proxy) = start_l1(|_| {}).await;
    let mut direct = redis.raw().await;
    for cmd in [
        "SET s v",
        "SET t w",
        "HSET h a 1 b 2",
        "ZADD z 1 a 2.5 b",
        "SADD set x y z",
        "RPUSH l a b",
    ] {
        direct.call(&words(cmd)).await;
    }
    let reads = [
        "GET s",
        "GET missing",
        "HGETALL h",
        "HGETALL missing",
        "HGET h missing",
        "ZRANGE z 0 -1 WITHSCORES",
        "ZSCORE z b",
        "SMEMBERS set",
        "LRANGE l 0 -1",
        "MGET s missing t",
    ];
    for resp3 in [false, true] {
        let mut raw = proxy.raw().await;
        let mut redis_raw = redis.raw().await;
        if resp3 {
            raw.hello3().await;
            redis_raw.hello3().await;
        }
        for read in reads {
            let first = raw.call_bytes(&words(read)).await;
            let cached = read_hit(&mut raw, &words(read)).await;
            let want = redis_raw.call_bytes(&words(read)).await;
            assert_eq!(first, want, "{read} (resp3: {resp3}), first read");
            assert_eq!(cached, want, "{read} (resp3: {resp3}), from L1");
        }
    }
}
