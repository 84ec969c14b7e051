//! Test fixtures: a private redis-server per test on a free port, respite
//! running in-process on port 0, and a raw RESP client for byte-level checks.
//!
//! Nothing here sleeps to wait for readiness: every wait polls with a bound.

#![allow(dead_code)]

pub mod prometheus;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use respite::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any readiness wait may take before the test fails.
pub const READY_BOUND: Duration = Duration::from_secs(10);

/// A port nobody listens on right now (bind 0, read it, release it).
pub fn free_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind port 0");
    l.local_addr().expect("local addr").port()
}

/// A redis-server of our own, killed when dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl RedisServer {
    /// Start a fresh server with no persistence on a free port.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Start with extra `redis-server` arguments (e.g. `["--requirepass", "x"]`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_on_with(free_port(), extra)
    }

    /// Start on a given port (e.g. one respite was already pointed at).
    pub fn start_on(port: u16) -> Self {
        Self::start_on_with(port, &[])
    }

    fn start_on_with(port: u16, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = RedisServer {
            child: None,
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test.sh installs it)");
        self.child = Some(child);
        wait_for_ping(self.addr());
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill the server (SIGKILL) and wait for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on the same port after [`kill`](Self::kill).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Hold every client of this server for `ms` (CLIENT PAUSE … ALL).
    pub async fn pause(&self, ms: u64) {
        let mut d = self.direct().await;
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(ms)
            .arg("ALL")
            .query_async(&mut d)
            .await
            .expect("CLIENT PAUSE");
    }

    /// SET straight on this server (bypassing respite).
    pub async fn set(&self, key: &str, value: &[u8]) {
        let mut d = self.direct().await;
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg(value)
            .query_async(&mut d)
            .await
            .expect("SET");
    }

    /// A plain redis-rs client straight to this server (bypassing respite).
    pub async fn direct(&self) -> redis::aio::MultiplexedConnection {
        connect(&self.url()).await
    }

    /// A raw RESP connection straight to this server (bypassing respite).
    pub async fn raw(&self) -> Raw {
        Raw::connect(self.addr()).await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Poll PING until it answers, within [`READY_BOUND`].
pub fn wait_for_ping(addr: SocketAddr) {
    use std::io::{Read, Write};
    let deadline = Instant::now() + READY_BOUND;
    loop {
        if let Ok(mut s) = std::net::TcpStream::connect(addr) {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 7];
            // A server started with `--requirepass` answers -NOAUTH: it is up too.
            let up = |b: &[u8; 7]| b == b"+PONG\r\n" || b == b"-NOAUTH";
            if s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && up(&buf) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{addr} did not answer PING within {READY_BOUND:?}"
        );
        std::thread::yield_now();
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Defaults pointed at `upstream`, on port 0, admin port off.
fn base_config(upstream: &str) -> Config {
    let mut c = Config::default();
    c.upstream.url = upstream.to_string();
    c.server.admin = "off".into();
    c.server.listen = "127.0.0.1:0".into();
    c.server.shutdown_grace_ms = 2000;
    c
}

/// A config pointing at `redis`, with the admin port off.
pub fn config_for(redis: &RedisServer) -> Config {
    let mut c = base_config(&redis.url());
    // Tests of the catalogue turn it on with their own stores
    // (`materials_config`); elsewhere it would open ./data.
    c.materials.enabled = false;
    c
}

/// A config with the catalogue on: its SQLite file and qdrant-edge
/// directory under `dir`, no demo seed.
pub fn materials_config(redis_url: &str, dir: &std::path::Path) -> Config {
    let mut c = base_config(redis_url);
    c.materials.relational.url = format!("sqlite://{}", dir.join("materials.db").display());
    c.materials.vector.path = dir.join("vectors").display().to_string();
    c.materials.seed_on_empty = 0;
    // Tests run qdrant-edge unoptimised (debug) on a loaded 2-core machine,
    // where one small upsert has been seen to take over 5 s.
    c.materials.timeout_ms = 30_000;
    c
}

/// A Postgres database of this test's own on the machine's server, dropped
/// when this is dropped.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

fn psql(sql: &str) -> Result<(), String> {
    let host = std::env::var("RESPITE_TEST_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into());
    let out = Command::new("psql")
        .args([
            "-h",
            &host,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl PgDatabase {
    /// Create a database with a unique name.
    pub fn create() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("respite_test_{}_{nanos}", std::process::id());
        psql(&format!("CREATE DATABASE {name}")).expect("create the test database");
        let host = std::env::var("RESPITE_TEST_PG_HOST").unwrap_or_else(|_| "127.0.0.1".into());
        let url = format!("postgres://postgres@{host}:5432/{name}");
        PgDatabase { name, url }
    }

    /// Refuse new connections and end the open ones: the store is down.
    pub fn take_down(&self) {
        psql(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS false",
            self.name
        ))
        .expect("alter");
        psql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ))
        .expect("terminate");
    }

    /// Accept connections again.
    pub fn bring_up(&self) {
        psql(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ))
        .expect("alter");
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// respite running in-process; shut down when dropped or by [`stop`](Self::stop).
pub struct Proxy {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), respite::StartError>>>,
}

impl Proxy {
    /// Wait until respite's invalidation listener is up (`l1_tracking:on`):
    /// before that, reads are correct but never fill L1.
    pub async fn wait_tracking(&self) {
        let mut raw = self.raw().await;
        let on = eventually(READY_BOUND, async || {
            raw.call(&[b"INFO", b"l1"]).await.contains("l1_tracking:on")
        })
        .await;
        assert!(on, "L1 tracking did not come up within {READY_BOUND:?}");
    }

    /// Start respite with `config` on 127.0.0.1:0.
    pub async fn start(config: Config) -> Self {
        Self::start_with_admin(config, None).await
    }

    /// Start respite with its admin port on `admin` (bound by the caller,
    /// typically to port 0, so no other process can take it meanwhile).
    pub async fn start_with_admin(config: Config, admin: Option<TcpListener>) -> Self {
        Self::start_full(config, admin, respite::RunOptions::default()).await
    }

    /// Start respite with `options` (a configuration origin, reloads).
    pub async fn start_full(
        config: Config,
        admin: Option<TcpListener>,
        options: respite::RunOptions,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(respite::run_full(
            config,
            listener,
            admin,
            options,
            async move {
                let _ = rx.await;
            },
        ));
        Proxy {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// A redis-rs client through respite.
    pub async fn client(&self) -> redis::aio::MultiplexedConnection {
        connect(&self.url()).await
    }

    /// A raw RESP connection through respite.
    pub async fn raw(&self) -> Raw {
        Raw::connect(self.addr).await
    }

    /// Begin graceful shutdown without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Shut down and wait until `run` returns (bounded).
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            let r = tokio::time::timeout(READY_BOUND, task).await;
            assert!(r.is_ok(), "respite did not stop within {READY_BOUND:?}");
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.begin_shutdown();
    }
}

/// A redis-rs multiplexed connection, retried within the bound.
pub async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).expect("client");
    let deadline = Instant::now() + READY_BOUND;
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(c) => return c,
            Err(e) => assert!(Instant::now() < deadline, "connect {url}: {e}"),
        }
        tokio::task::yield_now().await;
    }
}

/// Poll `cond` until true, within `bound`.
pub async fn eventually(bound: Duration, mut cond: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if cond().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

/// A numeric field from an INFO text (respite's or Redis's).
pub fn info_value(text: &str, field: &str) -> Option<u64> {
    let prefix = format!("{field}:");
    text.split("\r\n")
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// A numeric field from respite's `INFO section`, read over `raw`.
pub async fn info_field(raw: &mut Raw, section: &str, field: &str) -> u64 {
    let text = raw.call(&[b"INFO", section.as_bytes()]).await;
    info_value(&text, field)
        .unwrap_or_else(|| panic!("INFO {section} has no numeric {field}: {text}"))
}

/// A bulk string reply, as text.
pub fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// One command encoded as a RESP multibulk.
pub fn resp(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A private Redis and respite in front of it, configured by `tweak`.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> (RedisServer, Proxy) {
    let redis = RedisServer::start();
    let mut config = config_for(&redis);
    tweak(&mut config);
    let proxy = Proxy::start(config).await;
    (redis, proxy)
}

/// A raw RESP client: send bytes, read whole replies (framed by an
/// independent decoder, [`frame_len`]).
pub struct Raw {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Raw {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Raw {
            stream,
            buf: BytesMut::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Encode and send one command.
    pub async fn cmd(&mut self, args: &[&[u8]]) {
        self.send(&resp(args)).await;
    }

    /// The next reply as text; panics if the connection closed instead.
    pub async fn next(&mut self) -> String {
        let r = self
            .reply()
            .await
            .expect("a reply, not a closed connection");
        String::from_utf8_lossy(&r).into_owned()
    }

    /// Read one complete reply's raw bytes, within the bound; `None` if the
    /// connection closed first.
    pub async fn reply(&mut self) -> Option<Bytes> {
        let deadline = tokio::time::Instant::now() + READY_BOUND;
        loop {
            match frame_len(&self.buf) {
                Ok(Some(len)) => return Some(self.buf.split_to(len).freeze()),
                Ok(None) => {}
                Err(e) => panic!(
                    "undecodable reply {:?}: {e}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await;
            match read.expect("reply within bound") {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Send a command and return its reply as text (lossy) for assertions.
    pub async fn call(&mut self, args: &[&[u8]]) -> String {
        self.cmd(args).await;
        let r = self.reply().await.expect("a reply");
        String::from_utf8_lossy(&r).into_owned()
    }

    /// The next reply as text, passing over repeats of the invalidation
    /// `push`. respite learns of a write through it twice (from the write's
    /// reply and from Redis's push); when Redis's push arrives after the
    /// client read the key again, the client is told again (after that
    /// read's reply). The tracking contract allows such a repeat; any other
    /// reply is returned.
    pub async fn next_past(&mut self, push: &str) -> String {
        loop {
            let r = self.next().await;
            if r != push {
                return r;
            }
        }
    }

    /// Send a command and return its reply, passing over repeats of `push`
    /// (see [`Raw::next_past`]).
    pub async fn call_past(&mut self, args: &[&[u8]], push: &str) -> String {
        self.cmd(args).await;
        self.next_past(push).await
    }

    /// Send a command and return its reply's raw bytes.
    pub async fn call_bytes(&mut self, args: &[&[u8]]) -> Bytes {
        self.cmd(args).await;
        self.reply().await.expect("a reply")
    }

    /// Switch to RESP3 (`HELLO 3`; the reply, a map, is checked and dropped).
    pub async fn hello3(&mut self) {
        let reply = self.call(&[b"HELLO", b"3"]).await;
        assert!(reply.starts_with('%'), "HELLO 3: {reply}");
    }

    /// Whether the peer closed the connection (reads EOF within the bound).
    pub async fn closed(&mut self) -> bool {
        let deadline = tokio::time::Instant::now() + READY_BOUND;
        loop {
            let mut b = [0u8; 1024];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut b)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// The length of the first complete RESP2 or RESP3 frame in `buf`, `None`
/// while incomplete. Our own framing: redis-protocol's decoders reject some
/// valid replies (RESP2 `*-1`, RESP3 sets of maps as in COMMAND INFO).
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    frame_end(buf, 0)
}

fn frame_end(buf: &[u8], at: usize) -> Result<Option<usize>, String> {
    let Some(nl) = buf
        .get(at..)
        .and_then(|b| b.windows(2).position(|w| w == b"\r\n"))
    else {
        return Ok(None);
    };
    let (kind, head, next) = (buf[at], &buf[at + 1..at + nl], at + nl + 2);
    let len = || -> Result<i64, String> {
        std::str::from_utf8(head)
            .ok()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(head)))
    };
    match kind {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Ok(Some(next)),
        b'$' | b'!' | b'=' => match usize::try_from(len()?) {
            Err(_) => Ok(Some(next)),
            Ok(n) => Ok((buf.len() >= next + n + 2).then_some(next + n + 2)),
        },
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let Ok(n) = usize::try_from(len()?) else {
                return Ok(Some(next));
            };
            let elements = if matches!(kind, b'%' | b'|') {
                2 * n
            } else {
                n
            };
            let mut end = next;
            for _ in 0..elements {
                match frame_end(buf, end)? {
                    Some(e) => end = e,
                    None => return Ok(None),
                }
            }
            // An attribute is followed by the reply it describes.
            if kind == b'|' {
                return frame_end(buf, end);
            }
            Ok(Some(end))
        }
        other => Err(format!("unknown frame type {:?}", other as char)),
    }
}

/// Path of a binary built by cargo for integration tests.
pub fn respite_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_respite"))
}

/// The real `respite` binary as a child process, killed when dropped.
/// stderr goes to a file so a chatty log can never block the child.
pub struct RespiteProcess {
    pub child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl RespiteProcess {
    /// Serve on a free port in front of `upstream_url`, admin off, with an
    /// optional config file body; returns once PING answers.
    pub fn spawn(upstream_url: &str, config_toml: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut cmd = respite_command();
        cmd.args([
            "--listen",
            &addr.to_string(),
            "--upstream",
            upstream_url,
            "--admin",
            "off",
        ]);
        if let Some(toml) = config_toml {
            let path = dir.path().join("respite.toml");
            std::fs::write(&path, toml).expect("write config");
            cmd.arg("--config").arg(path);
        }
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("stderr file");
        // Relative paths (the catalogue's ./data) land in the tempdir.
        let child = cmd
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn respite");
        let p = RespiteProcess { child, addr, dir };
        wait_for_ping(addr);
        p
    }

    /// Send `sig` (e.g. `libc::SIGTERM`) to the process.
    pub fn signal(&self, sig: i32) {
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid has no memory-safety concerns.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
    }

    /// The exit status, if the process exits within `bound`.
    pub fn wait_exit(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// The `--config` file it was started with (when it was given one).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("respite.toml")
    }
}

impl Drop for RespiteProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `respite` command with the upstream environment overrides cleared,
/// so the developer's environment cannot change what a test sees.
pub fn respite_command() -> Command {
    let mut cmd = Command::new(respite_bin());
    for var in [
        "REDIS_URL",
        "REDIS_PASSWORD",
        "REDIS_DB",
        "REDIS_MAX_CONNECTIONS",
        "REDIS_TIMEOUT",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// GET `path` on the admin port; returns the status line and the body.
pub async fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port))
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
pub async fn with_admin(config: Config) -> (Proxy, u16) {
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
    let port = admin.local_addr().expect("admin addr").port();
    (Proxy::start_with_admin(config, Some(admin)).await, port)
}

/// `/metrics` on the admin port, parsed strictly (see [`prometheus`]).
pub async fn scrape(port: u16) -> (String, prometheus::Scrape) {
    let (status, body) = http_get(port, "/metrics").await;
    assert_eq!(status, "HTTP/1.0 200 OK");
    let parsed = prometheus::parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    (body, parsed)
}

/// Poll until the catalogue's stores are open (bounded).
pub async fn wait_open(raw: &mut Raw) {
    let open = eventually(READY_BOUND, async || {
        !raw.call(&[b"MGET.MATERIAL", b"probe"])
            .await
            .contains("not open")
    })
    .await;
    assert!(open, "the catalogue did not open within {READY_BOUND:?}");
}

/// A private Redis and respite with the catalogue on (SQLite and
/// qdrant-edge under a tempdir, opened) and its admin port.
pub struct CatalogueRig {
    pub redis: RedisServer,
    pub proxy: Proxy,
    pub admin: u16,
    dir: tempfile::TempDir,
}

impl CatalogueRig {
    /// Start, and wait until tracking is on and the stores are open.
    pub async fn start() -> Self {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = materials_config(&redis.url(), dir.path());
        let (proxy, admin) = with_admin(config).await;
        proxy.wait_tracking().await;
        wait_open(&mut proxy.raw().await).await;
        CatalogueRig {
            redis,
            proxy,
            admin,
            dir,
        }
    }

    /// Stop respite before the stores' directory goes away.
    pub async fn stop(self) {
        self.proxy.stop().await;
    }
}
