//! Configuration for respite: the typed settings every other module reads,
//! their documented defaults, and the layering that produces the effective
//! configuration.
//!
//! Layers, lowest precedence first:
//!
//! 1. built-in defaults ([`Config::default`], mirrored key by key in
//!    `conf/respite.toml`);
//! 2. the TOML file given with `--config`;
//! 3. the environment variables the original Python deployment used
//!    (`REDIS_URL`, `REDIS_PASSWORD`, `REDIS_DB`, `REDIS_MAX_CONNECTIONS`,
//!    `REDIS_TIMEOUT`);
//! 4. command-line flags (applied by [`crate::cli`]).
//!
//! Every failure names what is wrong — the dotted TOML key, the environment
//! variable or the flag — so an operator can fix it without reading code, and
//! respite refuses to start rather than run with a half-understood setting.
//! Durations are plain integers whose names end in `_ms` or `_secs`.

use std::collections::HashSet;
use std::net::{Ipv6Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub mod live;
pub mod materials;

use serde::{Deserialize, Serialize};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;

/// Environment variable overriding `upstream.url`.
pub const ENV_REDIS_URL: &str = "REDIS_URL";
/// Environment variable overriding `upstream.password`.
pub const ENV_REDIS_PASSWORD: &str = "REDIS_PASSWORD";
/// Environment variable overriding `upstream.db`.
pub const ENV_REDIS_DB: &str = "REDIS_DB";
/// Environment variable overriding `upstream.max_connections`.
pub const ENV_REDIS_MAX_CONNECTIONS: &str = "REDIS_MAX_CONNECTIONS";
/// Environment variable (seconds, fractions allowed) overriding both
/// `upstream.connect_timeout_ms` and `upstream.command_timeout_ms`.
pub const ENV_REDIS_TIMEOUT: &str = "REDIS_TIMEOUT";

/// What `--print-config` shows instead of a non-empty password.
pub const MASKED_PASSWORD: &str = "***";

/// Highest logical database number accepted anywhere (file, URL, env).
pub const MAX_DB: u32 = 65_535;

/// Longest duration any `_ms` key may hold (one year). Keeps later
/// `Instant + Duration` arithmetic far away from overflow.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 60 * 60 * 1000;

/// Longest duration any `_secs` key may hold (one year).
pub const MAX_DURATION_SECS: u64 = MAX_DURATION_MS / 1000;

/// Upper bound for `server.worker_threads`; beyond this is a typo, not a plan.
pub const MAX_WORKER_THREADS: usize = 1024;

/// The shape of a valid upstream URL, repeated in error messages.
const URL_SHAPE: &str = "expected redis://[user[:password]@]host[:port][/db]";

/// The complete, effective configuration.
///
/// Every section has a default, so a file only needs the keys it changes;
/// unknown keys are rejected so typos do not pass silently.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Client-facing listener and process-level settings.
    pub server: ServerConfig,
    /// Protocol and buffering limits that protect respite from clients.
    pub limits: LimitsConfig,
    /// Where the real Redis is and how respite talks to it.
    pub upstream: UpstreamConfig,
    /// Client authentication (empty = no AUTH required).
    pub auth: AuthConfig,
    /// The in-process cache of hot replies.
    pub l1: L1Config,
    /// Logging verbosity and format.
    pub log: LogConfig,
    /// The materials catalogue: its commands, cache tiers and stores.
    pub materials: materials::MaterialsConfig,
    /// Which commands the slow log keeps, and how many.
    pub slowlog: SlowlogConfig,
}

/// `[server]`: the listener clients connect to and process-wide knobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address clients connect to, as `IP:PORT`.
    pub listen: String,
    /// Metrics/health HTTP address as `IP:PORT`; `"off"` or `""` disables it.
    pub admin: String,
    /// Maximum simultaneous client connections (Redis `maxclients`).
    pub maxclients: usize,
    /// Close clients idle this long; 0 = never (Redis `timeout`).
    pub idle_timeout_secs: u64,
    /// On SIGTERM/SIGINT, how long in-flight replies get to reach clients.
    pub shutdown_grace_ms: u64,
    /// Runtime worker threads; 0 = one fewer than the CPU cores (at least 1).
    pub worker_threads: usize,
    /// TCP keepalive interval on client sockets; 0 = off.
    pub tcp_keepalive_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:6380".to_string(),
            admin: "127.0.0.1:9121".to_string(),
            maxclients: 10_000,
            idle_timeout_secs: 0,
            shutdown_grace_ms: 5_000,
            worker_threads: 0,
            tcp_keepalive_secs: 300,
        }
    }
}

impl ServerConfig {
    /// The client listener address, parsed. Valid after [`Config::validate`].
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        parse_socket_addr(&self.listen).map_err(|reason| invalid("server.listen", reason))
    }

    /// The admin HTTP address, or `None` when the admin port is disabled.
    pub fn admin_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        parse_admin_addr(&self.admin).map_err(|reason| invalid("server.admin", reason))
    }
}

/// `[limits]`: bounds that keep one misbehaving client from hurting others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest bulk string accepted in a request (Redis `proto-max-bulk-len`).
    pub max_bulk_len: usize,
    /// Most elements accepted in one multibulk request.
    pub max_multibulk_len: usize,
    /// Longest inline (telnet-style) command line, in bytes.
    pub max_inline_len: usize,
    /// Commands in flight per client; when full, respite stops reading that socket.
    pub max_inflight: usize,
    /// Reply bytes allowed to queue for a normal client that does not read;
    /// over it the client is disconnected.
    pub output_buffer_limit: usize,
    /// Same, for clients in pub/sub or MONITOR mode.
    pub pubsub_output_buffer_limit: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_bulk_len: 536_870_912,
            max_multibulk_len: 1_048_576,
            max_inline_len: 65_536,
            max_inflight: 1_024,
            output_buffer_limit: 1_073_741_824,
            pubsub_output_buffer_limit: 33_554_432,
        }
    }
}

/// `[upstream]`: the Redis server respite proxies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `redis://[user[:password]@]host[:port][/db]`; `rediss://` (TLS) is not supported yet.
    pub url: String,
    /// Overrides the URL's user when non-empty.
    pub username: String,
    /// Overrides the URL's password when non-empty.
    pub password: String,
    /// Logical database; see [`Config::upstream_target`] for how it combines with the URL.
    pub db: u32,
    /// Multiplexed upstream connections per protocol (1..=64).
    pub pool_size: usize,
    /// Cap on pinned (dedicated) upstream connections.
    pub max_connections: usize,
    /// Time allowed to establish an upstream connection.
    pub connect_timeout_ms: u64,
    /// Time allowed for one upstream reply; 0 = none. Never applies to blocking commands.
    pub command_timeout_ms: u64,
    /// First reconnect delay after an upstream failure.
    pub backoff_min_ms: u64,
    /// Largest reconnect delay (the backoff grows up to this).
    pub backoff_max_ms: u64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            url: "redis://127.0.0.1:6379".to_string(),
            username: String::new(),
            password: String::new(),
            db: 0,
            pool_size: 2,
            max_connections: 1_000,
            connect_timeout_ms: 5_000,
            command_timeout_ms: 5_000,
            backoff_min_ms: 50,
            backoff_max_ms: 5_000,
        }
    }
}

/// `[auth]`: who may talk to respite. No users means no AUTH is required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted users (TOML: `[[auth.users]]` blocks).
    pub users: Vec<UserConfig>,
}

/// One client user. The name `default` is what the one-argument
/// `AUTH password` form checks, as in Redis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// User name as given to `AUTH name password`.
    pub name: String,
    /// The user's password (plain text; keep the file's permissions tight).
    pub password: String,
}

/// `[log]`: how respite reports what it is doing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: a level (`info`) or `level,target=level,...`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// `[l1]`: the in-process cache of replies to hot reads, kept coherent by
/// Redis's client tracking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Config {
    /// Serve cacheable reads from process memory (false = pass-through only).
    pub enabled: bool,
    /// Byte budget for cached replies, entry overhead included.
    pub budget_bytes: u64,
    /// Replies larger than this are never cached.
    pub max_value_bytes: usize,
    /// No entry outlives this, whatever the key's TTL upstream.
    pub max_ttl_ms: u64,
    /// The cap instead when the upstream has no client tracking (entries
    /// are then only as fresh as this).
    pub ttl_only_max_ttl_ms: u64,
    /// Reads of a key (in the frequency sketch's window) before a miss may
    /// fill L1; 1 admits every key on its first miss.
    pub admit_min_reads: u32,
    /// Glob patterns of keys that may be cached; empty = every key.
    pub allow: Vec<String>,
    /// Glob patterns of keys never cached; they win over `allow`.
    pub deny: Vec<String>,
    /// How often to measure invalidation lag with a probe key (0 = never;
    /// the probe writes one short-lived key of its own upstream).
    pub lag_probe_interval_ms: u64,
}

impl Default for L1Config {
    fn default() -> Self {
        L1Config {
            enabled: true,
            budget_bytes: 64 * 1024 * 1024,
            max_value_bytes: 512 * 1024,
            max_ttl_ms: 60_000,
            ttl_only_max_ttl_ms: 1_000,
            admit_min_reads: 2,
            allow: Vec::new(),
            deny: Vec::new(),
            lag_probe_interval_ms: 0,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
        }
    }
}

/// `[slowlog]`: commands slower than a threshold are kept in a bounded
/// log (`RESPITE SLOWLOG`), with Redis's `slowlog-*` semantics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlowlogConfig {
    /// Log commands that take at least this many microseconds; negative
    /// disables the log, 0 logs every command. Default 10000 (10 ms).
    pub log_slower_than_us: i64,
    /// Entries kept; the oldest go first. Default 128, at most
    /// [`MAX_SLOWLOG_LEN`].
    pub max_len: usize,
}

impl Default for SlowlogConfig {
    fn default() -> Self {
        SlowlogConfig {
            log_slower_than_us: 10_000,
            max_len: 128,
        }
    }
}

/// Largest `slowlog.max_len`: an entry may hold about 4 KiB of arguments,
/// so this bounds the log near 400 MiB even in the worst case.
pub const MAX_SLOWLOG_LEN: usize = 100_000;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Resolved upstream address, parsed once from url + overrides, so the
/// upstream module never re-parses strings.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamTarget {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port (6379 when the URL has none).
    pub port: u16,
    /// User for `AUTH user password`, if any.
    pub username: Option<String>,
    /// Password for `AUTH`, if any.
    pub password: Option<String>,
    /// Logical database to `SELECT` (0 needs no `SELECT`).
    pub db: u32,
}

/// Why the configuration could not be produced. Each variant names the
/// file, key, variable or flag at fault; `Display` is ready for stderr.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("config error: cannot read {path}: {source}")]
    Io {
        /// The file that was asked for.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The TOML did not parse or did not fit the schema (unknown key, wrong
    /// type); the message carries the dotted key and the line.
    #[error("config error: {0}")]
    Parse(String),
    /// A key parsed but its value is not acceptable.
    #[error("config error: {key}: {reason}")]
    Invalid {
        /// Dotted TOML key, e.g. `upstream.pool_size`.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// An environment variable override is not acceptable.
    #[error("config error: {var}: {reason}")]
    Env {
        /// The variable's name, e.g. `REDIS_DB`.
        var: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A command-line flag's value is not acceptable.
    #[error("config error: {flag}: {reason}")]
    Flag {
        /// The flag, e.g. `--listen`.
        flag: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The configuration could not be rendered as TOML.
    #[error("config error: cannot render configuration as TOML: {0}")]
    Render(String),
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

fn env_error(var: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Env {
        var: var.to_string(),
        reason: reason.into(),
    }
}

impl Config {
    /// Parse TOML text (file contents) on top of the defaults. Does not
    /// validate values (see [`Config::validate`]); errors name the dotted
    /// key and its line.
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        parse_toml(s, None)
    }

    /// Load: defaults, then file (if given), then env overrides read via the
    /// provided lookup fn (so tests can inject env without touching the
    /// process env), then validate.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let cfg = Config::load_unvalidated(file, env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Defaults, file and env layers without the final validation, for
    /// callers that stack further overrides (flags) and validate once at the
    /// end — so a flag can fix a bad file value instead of being preempted.
    pub fn load_unvalidated(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
                parse_toml(&text, Some(path))?
            }
            None => Config::default(),
        };
        cfg.apply_env(env)?;
        Ok(cfg)
    }

    /// Apply the legacy environment overrides. Empty or blank variables
    /// count as unset (common in container manifests). Each value is checked
    /// here so an error names the variable, not the key it feeds.
    pub fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let get = |var: &str| env(var).filter(|v| !v.trim().is_empty());

        if let Some(url) = get(ENV_REDIS_URL) {
            parse_redis_url(&url).map_err(|reason| env_error(ENV_REDIS_URL, reason))?;
            self.upstream.url = url;
        }
        if let Some(password) = get(ENV_REDIS_PASSWORD) {
            self.upstream.password = password;
        }
        if let Some(db) = get(ENV_REDIS_DB) {
            self.upstream.db = parse_db(db.trim()).ok_or_else(|| {
                env_error(
                    ENV_REDIS_DB,
                    format!("expected an integer 0..={MAX_DB}, got {db:?}"),
                )
            })?;
        }
        if let Some(max) = get(ENV_REDIS_MAX_CONNECTIONS) {
            self.upstream.max_connections = max
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    env_error(
                        ENV_REDIS_MAX_CONNECTIONS,
                        format!("expected a positive integer, got {max:?}"),
                    )
                })?;
        }
        if let Some(timeout) = get(ENV_REDIS_TIMEOUT) {
            let ms = parse_timeout_secs(timeout.trim()).ok_or_else(|| {
                env_error(
                    ENV_REDIS_TIMEOUT,
                    format!(
                        "expected seconds greater than 0 and at most {MAX_DURATION_SECS} \
                         (fractions allowed, e.g. 2.5), got {timeout:?}"
                    ),
                )
            })?;
            self.upstream.connect_timeout_ms = ms;
            self.upstream.command_timeout_ms = ms;
        }
        Ok(())
    }

    /// Validate ranges and parseability so the rest of respite can trust the
    /// values. The first problem found is returned, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        self.server.listen_addr()?;
        self.server.admin_addr()?;
        at_least("server.maxclients", s.maxclients, 1)?;
        max_secs("server.idle_timeout_secs", s.idle_timeout_secs)?;
        max_ms("server.shutdown_grace_ms", s.shutdown_grace_ms)?;
        if s.worker_threads > MAX_WORKER_THREADS {
            return Err(invalid(
                "server.worker_threads",
                format!(
                    "must be between 0 (one per core) and {MAX_WORKER_THREADS}, got {}",
                    s.worker_threads
                ),
            ));
        }
        max_secs("server.tcp_keepalive_secs", s.tcp_keepalive_secs)?;

        let l = &self.limits;
        at_least("limits.max_bulk_len", l.max_bulk_len, 1)?;
        at_least("limits.max_multibulk_len", l.max_multibulk_len, 1)?;
        at_least("limits.max_inline_len", l.max_inline_len, 1)?;
        at_least("limits.max_inflight", l.max_inflight, 1)?;
        at_least("limits.output_buffer_limit", l.output_buffer_limit, 1)?;
        at_least(
            "limits.pubsub_output_buffer_limit",
            l.pubsub_output_buffer_limit,
            1,
        )?;

        let u = &self.upstream;
        if u.db > MAX_DB {
            return Err(invalid(
                "upstream.db",
                format!("must be between 0 and {MAX_DB}, got {}", u.db),
            ));
        }
        if !(1..=64).contains(&u.pool_size) {
            return Err(invalid(
                "upstream.pool_size",
                format!("must be between 1 and 64, got {}", u.pool_size),
            ));
        }
        at_least("upstream.max_connections", u.max_connections, 1)?;
        if u.connect_timeout_ms == 0 {
            return Err(invalid(
                "upstream.connect_timeout_ms",
                "must be at least 1 (connecting always has a deadline)",
            ));
        }
        max_ms("upstream.connect_timeout_ms", u.connect_timeout_ms)?;
        max_ms("upstream.command_timeout_ms", u.command_timeout_ms)?;
        if u.backoff_min_ms == 0 {
            return Err(invalid(
                "upstream.backoff_min_ms",
                "must be at least 1 (0 would reconnect in a tight loop)",
            ));
        }
        max_ms("upstream.backoff_min_ms", u.backoff_min_ms)?;
        max_ms("upstream.backoff_max_ms", u.backoff_max_ms)?;
        if u.backoff_min_ms > u.backoff_max_ms {
            return Err(invalid(
                "upstream.backoff_min_ms",
                format!(
                    "must not exceed upstream.backoff_max_ms ({}), got {}",
                    u.backoff_max_ms, u.backoff_min_ms
                ),
            ));
        }
        // Parses the URL and checks the credential combination.
        self.upstream_target()?;

        let mut seen = HashSet::new();
        for (i, user) in self.auth.users.iter().enumerate() {
            let key = format!("auth.users[{i}].name");
            if user.name.is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
            if user
                .name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(
                    key,
                    format!(
                        "must not contain whitespace or control characters, got {:?}",
                        user.name
                    ),
                ));
            }
            if !seen.insert(user.name.as_str()) {
                return Err(invalid(key, format!("duplicate user {:?}", user.name)));
            }
            if user.password.is_empty() {
                return Err(invalid(
                    format!("auth.users[{i}].password"),
                    "must not be empty (users without a password are not supported)",
                ));
            }
        }

        check_log_level(&self.log.level).map_err(|reason| invalid("log.level", reason))?;

        let c = &self.l1;
        max_ms("l1.max_ttl_ms", c.max_ttl_ms)?;
        max_ms("l1.ttl_only_max_ttl_ms", c.ttl_only_max_ttl_ms)?;
        max_ms("l1.lag_probe_interval_ms", c.lag_probe_interval_ms)?;
        at_least("l1.admit_min_reads", c.admit_min_reads as usize, 1)?;
        if c.admit_min_reads > 15 {
            return Err(invalid(
                "l1.admit_min_reads",
                format!(
                    "must be between 1 and 15 (the sketch counts to 15), got {}",
                    c.admit_min_reads
                ),
            ));
        }
        for (i, p) in c.allow.iter().chain(&c.deny).enumerate() {
            if p.is_empty() {
                let list = if i < c.allow.len() { "allow" } else { "deny" };
                return Err(invalid(format!("l1.{list}"), "patterns must not be empty"));
            }
        }
        if self.slowlog.max_len > MAX_SLOWLOG_LEN {
            return Err(invalid(
                "slowlog.max_len",
                format!(
                    "must be at most {MAX_SLOWLOG_LEN}, got {}",
                    self.slowlog.max_len
                ),
            ));
        }
        self.materials.validate()
    }

    /// Effective upstream target: URL parsed; when upstream.username/password
    /// are non-empty they override the URL's. The URL's `/db` is used if
    /// present and `upstream.db == 0`, else `upstream.db`. A username without
    /// any password is rejected, since Redis `AUTH` needs both.
    pub fn upstream_target(&self) -> Result<UpstreamTarget, ConfigError> {
        let u = &self.upstream;
        let parsed = parse_redis_url(&u.url).map_err(|reason| invalid("upstream.url", reason))?;
        let username = if u.username.is_empty() {
            parsed.username
        } else {
            Some(u.username.clone())
        };
        let password = if u.password.is_empty() {
            parsed.password
        } else {
            Some(u.password.clone())
        };
        let db = match parsed.db {
            Some(url_db) if u.db == 0 => url_db,
            _ => u.db,
        };
        if username.is_some() && password.is_none() {
            return Err(invalid(
                "upstream.password",
                "a username is set (upstream.username or the URL) but no password; \
                 Redis AUTH needs both",
            ));
        }
        Ok(UpstreamTarget {
            host: parsed.host,
            port: parsed.port,
            username,
            password,
            db,
        })
    }

    /// Render as TOML (for `--print-config` and `RESPITE CONFIG GET`).
    /// Secrets — non-empty passwords in `upstream.password`, in the user
    /// info of `upstream.url` and `materials.relational.url`, in
    /// `auth.users`, and `materials.vector.api_key` — are shown as `***`,
    /// so the output is safe to paste into a ticket; it still parses with
    /// [`Config::from_toml_str`].
    pub fn to_toml_string(&self) -> Result<String, ConfigError> {
        self.masked().to_toml_string_unmasked()
    }

    /// Render as TOML with every secret as it is: what `RESPITE CONFIG
    /// REWRITE` writes, so the file still works when read back.
    pub fn to_toml_string_unmasked(&self) -> Result<String, ConfigError> {
        toml::to_string(self).map_err(|e| ConfigError::Render(e.to_string()))
    }

    /// A copy with every secret replaced by `***` (see [`Config::to_toml_string`]).
    pub fn masked(&self) -> Config {
        let mut shown = self.clone();
        shown.upstream.url = mask_url_password(&shown.upstream.url);
        mask(&mut shown.upstream.password);
        for user in &mut shown.auth.users {
            mask(&mut user.password);
        }
        let m = &mut shown.materials;
        m.relational.url = mask_url_password(&m.relational.url);
        mask(&mut m.vector.api_key);
        shown
    }
}

/// Replace a non-empty secret with `***`.
fn mask(secret: &mut String) {
    if !secret.is_empty() {
        *secret = MASKED_PASSWORD.to_string();
    }
}

fn at_least(key: &str, value: usize, min: usize) -> Result<(), ConfigError> {
    if value < min {
        return Err(invalid(key, format!("must be at least {min}, got {value}")));
    }
    Ok(())
}

fn max_ms(key: &str, value: u64) -> Result<(), ConfigError> {
    if value > MAX_DURATION_MS {
        return Err(invalid(
            key,
            format!("must be at most {MAX_DURATION_MS} (one year), got {value}"),
        ));
    }
    Ok(())
}

fn max_secs(key: &str, value: u64) -> Result<(), ConfigError> {
    if value > MAX_DURATION_SECS {
        return Err(invalid(
            key,
            format!("must be at most {MAX_DURATION_SECS} (one year), got {value}"),
        ));
    }
    Ok(())
}

/// Parse TOML into a [`Config`]; `origin` (the file) prefixes messages.
fn parse_toml(text: &str, origin: Option<&Path>) -> Result<Config, ConfigError> {
    toml::from_str::<Config>(text).map_err(|err| {
        let detail = describe_toml_error(text, &err);
        match origin {
            Some(path) => ConfigError::Parse(format!("{}: {detail}", path.display())),
            None => ConfigError::Parse(detail),
        }
    })
}

/// One-line description of a TOML error: `dotted.key: message (line L, column C)`.
/// toml's own message names the field but not its section, so the key path
/// is recovered from the error's byte span.
fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        return message.to_string();
    };
    let (line, column) = line_column(text, span.start);
    match key_path_at(text, span.start) {
        Some(key) => format!("{key}: {message} (line {line}, column {column})"),
        None => format!("{message} (line {line}, column {column})"),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The dotted key (`server.listen`, `auth.users[0].name`) whose key or value
/// covers byte `offset`, found by re-parsing the document with spans.
fn key_path_at(text: &str, offset: usize) -> Option<String> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    let mut best = Vec::new();
    walk_table(doc.get_ref(), offset, &mut path, &mut best);
    if best.is_empty() {
        return None;
    }
    let mut out = String::new();
    for segment in best {
        if !out.is_empty() && !segment.starts_with('[') {
            out.push('.');
        }
        out.push_str(&segment);
    }
    Some(out)
}

fn covers(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end
}

fn walk_table(
    table: &toml::de::DeTable<'_>,
    offset: usize,
    path: &mut Vec<String>,
    best: &mut Vec<String>,
) {
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if (covers(&key.span(), offset) || covers(&value.span(), offset)) && path.len() > best.len()
        {
            best.clone_from(path);
        }
        walk_value(value.get_ref(), offset, path, best);
        path.pop();
    }
}

fn walk_value(
    value: &toml::de::DeValue<'_>,
    offset: usize,
    path: &mut Vec<String>,
    best: &mut Vec<String>,
) {
    match value {
        toml::de::DeValue::Table(table) => walk_table(table, offset, path, best),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                if covers(&item.span(), offset) && path.len() > best.len() {
                    best.clone_from(path);
                }
                walk_value(item.get_ref(), offset, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `IP:PORT` (port 0 allowed: the OS picks one, handy in tests).
pub(crate) fn parse_socket_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .map_err(|_| format!("expected IP:PORT such as 127.0.0.1:6380, got {s:?}"))
}

/// Admin address: `IP:PORT`, or `"off"`/`""` for disabled.
pub(crate) fn parse_admin_addr(s: &str) -> Result<Option<SocketAddr>, String> {
    if s.is_empty() || s.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    s.parse::<SocketAddr>().map(Some).map_err(|_| {
        format!("expected IP:PORT such as 127.0.0.1:9121, or \"off\" to disable, got {s:?}")
    })
}

fn parse_db(s: &str) -> Option<u32> {
    s.parse::<u32>().ok().filter(|db| *db <= MAX_DB)
}

/// Seconds (fractions allowed) to whole milliseconds, at least 1.
fn parse_timeout_secs(s: &str) -> Option<u64> {
    let secs = s.parse::<f64>().ok()?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_DURATION_SECS as f64 {
        return None;
    }
    // In range by the check above, so the cast cannot saturate.
    Some(((secs * 1000.0).round() as u64).max(1))
}

/// A `redis://` URL taken apart. Error strings never echo the URL, which
/// may carry a password.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedUrl {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) db: Option<u32>,
}

/// Parse `redis://[user[:password]@]host[:port][/db]`. User and password may
/// be percent-encoded (`%40` for `@`); IPv6 hosts go in brackets.
pub(crate) fn parse_redis_url(url: &str) -> Result<ParsedUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(URL_SHAPE.to_string());
    };
    match scheme.to_ascii_lowercase().as_str() {
        "redis" => {}
        "rediss" => {
            return Err(
                "TLS not supported yet (rediss://); use redis:// to a plain-TCP port".into(),
            )
        }
        "unix" | "redis+unix" => {
            return Err(format!(
                "unix sockets not supported yet ({scheme}://); {URL_SHAPE}"
            ))
        }
        _ => return Err(format!("unsupported scheme {scheme:?}; {URL_SHAPE}")),
    }

    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    if tail.contains(['?', '#']) {
        return Err(
            "query parameters and fragments are not supported; use the upstream.* keys instead"
                .into(),
        );
    }

    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((userinfo, hostport)) => (Some(userinfo), hostport),
        None => (None, authority),
    };
    let (username, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, pass) = match info.split_once(':') {
                Some((user, pass)) => (user, Some(pass)),
                None => (info, None),
            };
            let user = percent_decode(user)?;
            let pass = pass.map(percent_decode).transpose()?;
            (
                Some(user).filter(|u| !u.is_empty()),
                pass.filter(|p| !p.is_empty()),
            )
        }
    };

    let (host, port) = split_host_port(hostport)?;

    let db = match tail.strip_prefix('/') {
        None | Some("") => None,
        Some(db) => Some(parse_db(db).ok_or_else(|| {
            format!("invalid database {db:?} in the URL path (expected an integer 0..={MAX_DB})")
        })?),
    };

    Ok(ParsedUrl {
        host,
        port,
        username,
        password,
        db,
    })
}

fn split_host_port(hostport: &str) -> Result<(String, u16), String> {
    const DEFAULT_PORT: u16 = 6379;
    let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
        let Some((inner, after)) = bracketed.split_once(']') else {
            return Err(format!("unclosed '[' in IPv6 host; {URL_SHAPE}"));
        };
        if inner.parse::<Ipv6Addr>().is_err() {
            return Err(format!("invalid IPv6 address {inner:?}"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Err(format!("unexpected text after the IPv6 host; {URL_SHAPE}")),
            },
        };
        (inner.to_string(), port)
    } else {
        let (host, port) = match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        };
        if host.is_empty() {
            return Err(format!("missing host; {URL_SHAPE}"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(format!(
                "invalid host {host:?} (letters, digits, '-', '.', '_'; IPv6 in [brackets])"
            ));
        }
        (host.to_string(), port)
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("invalid port {p:?} (expected 1..=65535)"))?,
    };
    Ok((host, port))
}

fn percent_decode(s: &str) -> Result<String, String> {
    const BAD: &str = "invalid percent-encoding in the URL's user info";
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(BAD)?;
            let byte = u8::from_str_radix(hex, 16).map_err(|_| BAD)?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the URL's user info is not valid UTF-8 once decoded".into())
}

/// Replace a non-empty password in a URL's user info with `***`.
fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, hostport)) = authority.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, pass)) if !pass.is_empty() => {
            format!("{scheme}://{user}:{MASKED_PASSWORD}@{hostport}{tail}")
        }
        _ => url.to_string(),
    }
}

/// Accept a tracing filter made of plain levels and `target=level`
/// directives. `EnvFilter` on its own treats any bare word as a target name,
/// so a typo like `loud` would silently log nothing useful; here a bare word
/// must be a level.
fn check_log_level(level: &str) -> Result<(), String> {
    const EXPECTED: &str =
        "expected a level (off, error, warn, info, debug, trace) or directives like \"info,respite=debug\"";
    if level.trim().is_empty() {
        return Err(format!("must not be empty; {EXPECTED}"));
    }
    for directive in level.split(',') {
        let directive = directive.trim();
        let level_part = match directive.rsplit_once('=') {
            Some((_, lvl)) => lvl,
            None => directive,
        };
        if LevelFilter::from_str(level_part.trim()).is_err() {
            return Err(format!("{EXPECTED}, got {level:?}"));
        }
    }
    EnvFilter::try_new(level)
        .map(|_| ())
        .map_err(|e| format!("{EXPECTED}, got {level:?} ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The documented defaults file, kept honest by `doc_file_equals_defaults`.
    const DOC_FILE: &str = include_str!("../conf/respite.toml");

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn err_text(r: Result<impl std::fmt::Debug, ConfigError>) -> String {
        r.expect_err("expected an error").to_string()
    }

    fn parse_and_validate(toml: &str) -> Result<Config, ConfigError> {
        let cfg = Config::from_toml_str(toml)?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn defaults_match_documentation() {
        let c = Config::default();
        assert_eq!(c.server.listen, "127.0.0.1:6380");
        assert_eq!(c.server.admin, "127.0.0.1:9121");
        assert_eq!(c.server.maxclients, 10_000);
        assert_eq!(c.server.idle_timeout_secs, 0);
        assert_eq!(c.server.shutdown_grace_ms, 5_000);
        assert_eq!(c.server.worker_threads, 0);
        assert_eq!(c.server.tcp_keepalive_secs, 300);
        assert_eq!(c.limits.max_bulk_len, 512 * 1024 * 1024);
        assert_eq!(c.limits.max_multibulk_len, 1024 * 1024);
        assert_eq!(c.limits.max_inline_len, 64 * 1024);
        assert_eq!(c.limits.max_inflight, 1024);
        assert_eq!(c.limits.output_buffer_limit, 1024 * 1024 * 1024);
        assert_eq!(c.limits.pubsub_output_buffer_limit, 32 * 1024 * 1024);
        assert_eq!(c.upstream.url, "redis://127.0.0.1:6379");
        assert_eq!(c.upstream.username, "");
        assert_eq!(c.upstream.password, "");
        assert_eq!(c.upstream.db, 0);
        assert_eq!(c.upstream.pool_size, 2);
        assert_eq!(c.upstream.max_connections, 1000);
        assert_eq!(c.upstream.connect_timeout_ms, 5000);
        assert_eq!(c.upstream.command_timeout_ms, 5000);
        assert_eq!(c.upstream.backoff_min_ms, 50);
        assert_eq!(c.upstream.backoff_max_ms, 5000);
        assert!(c.auth.users.is_empty());
        assert_eq!(c.log.level, "info");
        assert_eq!(c.log.format, LogFormat::Text);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn doc_file_equals_defaults() {
        let parsed = Config::from_toml_str(DOC_FILE).expect("conf/respite.toml parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn doc_file_mentions_every_key() {
        // Every key of the rendered defaults appears uncommented in the doc file.
        let rendered = Config::default().to_toml_string().expect("renders");
        for line in rendered.lines() {
            if let Some((key, _)) = line.split_once('=') {
                let key = key.trim();
                assert!(
                    DOC_FILE
                        .lines()
                        .any(|l| l.trim_start().starts_with(&format!("{key} "))),
                    "conf/respite.toml lacks key {key}"
                );
            }
        }
    }

    #[test]
    fn empty_file_is_defaults() {
        assert_eq!(Config::from_toml_str("").ok(), Some(Config::default()));
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let cfg = Config::from_toml_str("[upstream]\npool_size = 4\n").ok();
        let mut expected = Config::default();
        expected.upstream.pool_size = 4;
        assert_eq!(cfg, Some(expected));
    }

    #[test]
    fn unknown_key_in_each_section_rejected() {
        for section in ["server", "limits", "upstream", "auth", "log"] {
            let text = format!("# comment\n[{section}]\nbogus_key = 1\n");
            let msg = err_text(Config::from_toml_str(&text));
            assert!(
                msg.contains(&format!("{section}.bogus_key")),
                "message should name the dotted key: {msg}"
            );
            assert!(msg.contains("unknown field"), "{msg}");
            assert!(msg.contains("line 3"), "{msg}");
        }
    }

    #[test]
    fn unknown_top_level_key_and_section_rejected() {
        let msg = err_text(Config::from_toml_str("bogus = true\n"));
        assert!(msg.contains("bogus: unknown field `bogus`"), "{msg}");
        let msg = err_text(Config::from_toml_str("[servr]\nlisten = \"x\"\n"));
        assert!(msg.contains("servr"), "{msg}");
    }

    #[test]
    fn unknown_key_in_user_rejected() {
        let text = "[[auth.users]]\nname = \"a\"\npassword = \"b\"\nrole = \"admin\"\n";
        let msg = err_text(Config::from_toml_str(text));
        assert!(msg.contains("auth.users[0].role"), "{msg}");
    }

    #[test]
    fn wrong_type_names_key() {
        let msg = err_text(Config::from_toml_str("[upstream]\npool_size = \"two\"\n"));
        assert!(
            msg.starts_with("config error: upstream.pool_size: "),
            "{msg}"
        );
        let msg = err_text(Config::from_toml_str("[limits]\nmax_inflight = -1\n"));
        assert!(msg.contains("limits.max_inflight"), "{msg}");
        let msg = err_text(Config::from_toml_str("[log]\nformat = \"xml\"\n"));
        assert!(msg.contains("log.format"), "{msg}");
    }

    #[test]
    fn syntax_error_reports_line() {
        let msg = err_text(Config::from_toml_str("[server]\nlisten = \n"));
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let cases = [
            ("[server]\nlisten = \"nope\"\n", "server.listen"),
            ("[server]\nadmin = \"nope\"\n", "server.admin"),
            ("[server]\nmaxclients = 0\n", "server.maxclients"),
            ("[server]\nworker_threads = 100000\n", "server.worker_threads"),
            ("[limits]\nmax_inflight = 0\n", "limits.max_inflight"),
            ("[limits]\nmax_bulk_len = 0\n", "limits.max_bulk_len"),
            ("[upstream]\nurl = \"http://x\"\n", "upstream.url"),
            ("[upstream]\nconnect_timeout_ms = 0\n", "upstream.connect_timeout_ms"),
            (
                "[upstream]\ncommand_timeout_ms = 99999999999999\n",
                "upstream.command_timeout_ms",
            ),
            (
                "[upstream]\nbackoff_min_ms = 6000\nbackoff_max_ms = 5000\n",
                "upstream.backoff_min_ms",
            ),
            ("[upstream]\ndb = 70000\n", "upstream.db"),
            ("[log]\nlevel = \"loud??\"\n", "log.level"),
            ("[log]\nlevel = \"\"\n", "log.level"),
            ("[log]\nlevel = \"info,respite=loud\"\n", "log.level"),
            (
                "[[auth.users]]\nname = \"\"\npassword = \"p\"\n",
                "auth.users[0].name",
            ),
            (
                "[[auth.users]]\nname = \"a\"\npassword = \"\"\n",
                "auth.users[0].password",
            ),
            (
                "[[auth.users]]\nname = \"a\"\npassword = \"p\"\n[[auth.users]]\nname = \"a\"\npassword = \"q\"\n",
                "auth.users[1].name",
            ),
        ];
        for (text, key) in cases {
            let msg = err_text(parse_and_validate(text));
            assert!(
                msg.starts_with(&format!("config error: {key}: ")),
                "{text:?} -> {msg}"
            );
        }
    }

    #[test]
    fn pool_size_message_is_exact() {
        let msg = err_text(parse_and_validate("[upstream]\npool_size = 0\n"));
        assert_eq!(
            msg,
            "config error: upstream.pool_size: must be between 1 and 64, got 0"
        );
        assert!(parse_and_validate("[upstream]\npool_size = 64\n").is_ok());
        assert!(parse_and_validate("[upstream]\npool_size = 65\n").is_err());
    }

    #[test]
    fn good_values_accepted() {
        let text = r#"
            [server]
            listen = "[::1]:0"
            admin = "off"
            [log]
            level = "warn,respite=debug,respite::upstream=trace"
            format = "json"
            [[auth.users]]
            name = "default"
            password = "s3cret"
        "#;
        let cfg = parse_and_validate(text).expect("valid config");
        assert_eq!(cfg.log.format, LogFormat::Json);
        assert_eq!(cfg.server.admin_addr().expect("admin"), None);
        assert_eq!(cfg.auth.users.len(), 1);
        let mut c = Config::default();
        c.server.admin = String::new();
        assert_eq!(c.server.admin_addr().expect("admin"), None);
        assert_eq!(
            c.server.listen_addr().expect("listen"),
            SocketAddr::from(([127, 0, 0, 1], 6380))
        );
    }

    #[test]
    fn precedence_file_then_env() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("respite.toml");
        let file = "[server]\nlisten = \"127.0.0.1:7000\"\n[upstream]\nurl = \"redis://file-host:7001\"\npool_size = 3\nmax_connections = 10\n";
        std::fs::write(&path, file).expect("write config");

        let cfg = Config::load(Some(&path), &no_env).expect("file loads");
        assert_eq!(cfg.server.listen, "127.0.0.1:7000");
        assert_eq!(cfg.upstream.url, "redis://file-host:7001");
        assert_eq!(cfg.upstream.max_connections, 10);

        let env = env_of(&[
            ("REDIS_URL", "redis://env-host:7002"),
            ("REDIS_MAX_CONNECTIONS", "20"),
        ]);
        let cfg = Config::load(Some(&path), &env).expect("file + env load");
        assert_eq!(cfg.upstream.url, "redis://env-host:7002");
        assert_eq!(cfg.upstream.max_connections, 20);
        // Untouched by env: the file still wins over defaults.
        assert_eq!(cfg.upstream.pool_size, 3);
        assert_eq!(cfg.server.listen, "127.0.0.1:7000");
    }

    #[test]
    fn missing_file_names_path() {
        let msg = err_text(Config::load(
            Some(Path::new("/nonexistent/respite-test.toml")),
            &no_env,
        ));
        assert!(
            msg.starts_with("config error: cannot read /nonexistent/respite-test.toml: "),
            "{msg}"
        );
    }

    #[test]
    fn file_parse_error_names_file_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "[upstream]\npoolsize = 2\n").expect("write config");
        let msg = err_text(Config::load(Some(&path), &no_env));
        assert!(
            msg.contains("bad.toml: upstream.poolsize: unknown field"),
            "{msg}"
        );
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn env_url_with_password_and_db() {
        let env = env_of(&[("REDIS_URL", "redis://:pa%40ss@cache.internal:6390/4")]);
        let target = Config::load(None, &env)
            .and_then(|c| c.upstream_target())
            .expect("target");
        assert_eq!(
            target,
            UpstreamTarget {
                host: "cache.internal".into(),
                port: 6390,
                username: None,
                password: Some("pa@ss".into()),
                db: 4,
            }
        );
    }

    #[test]
    fn env_password_db_override_url() {
        let env = env_of(&[
            ("REDIS_URL", "redis://bob:urlpw@h/4"),
            ("REDIS_PASSWORD", "envpw"),
            ("REDIS_DB", "7"),
        ]);
        let target = Config::load(None, &env)
            .and_then(|c| c.upstream_target())
            .expect("target");
        assert_eq!(
            target,
            UpstreamTarget {
                host: "h".into(),
                port: 6379,
                username: Some("bob".into()),
                password: Some("envpw".into()),
                db: 7,
            }
        );
    }

    #[test]
    fn db_rule_url_used_only_when_db_key_is_zero() {
        let mut c = Config::default();
        c.upstream.url = "redis://h:1/3".into();
        assert_eq!(c.upstream_target().map(|t| t.db).ok(), Some(3));
        c.upstream.db = 5;
        assert_eq!(c.upstream_target().map(|t| t.db).ok(), Some(5));
        c.upstream.url = "redis://h:1".into();
        assert_eq!(c.upstream_target().map(|t| t.db).ok(), Some(5));
        c.upstream.db = 0;
        assert_eq!(c.upstream_target().map(|t| t.db).ok(), Some(0));
    }

    #[test]
    fn username_key_overrides_url_user() {
        let mut c = Config::default();
        c.upstream.url = "redis://alice:pw@h".into();
        c.upstream.username = "carol".into();
        let t = c.upstream_target().expect("target");
        assert_eq!(t.username.as_deref(), Some("carol"));
        assert_eq!(t.password.as_deref(), Some("pw"));
    }

    #[test]
    fn username_without_password_rejected() {
        let mut c = Config::default();
        c.upstream.url = "redis://alice@h".into();
        let msg = err_text(c.validate());
        assert!(
            msg.starts_with("config error: upstream.password: "),
            "{msg}"
        );
    }

    #[test]
    fn env_timeout_fractional_seconds() {
        let env = env_of(&[("REDIS_TIMEOUT", "2.5")]);
        let cfg = Config::load(None, &env).expect("loads");
        assert_eq!(cfg.upstream.connect_timeout_ms, 2500);
        assert_eq!(cfg.upstream.command_timeout_ms, 2500);
        let cfg = Config::load(None, &env_of(&[("REDIS_TIMEOUT", "3")])).expect("loads");
        assert_eq!(cfg.upstream.connect_timeout_ms, 3000);
        for bad in ["0", "-1", "abc", "NaN", "inf", "1e300"] {
            let msg = err_text(Config::load(None, &env_of(&[("REDIS_TIMEOUT", bad)])));
            assert!(msg.starts_with("config error: REDIS_TIMEOUT: "), "{msg}");
        }
    }

    #[test]
    fn bad_env_names_the_variable() {
        let msg = err_text(Config::load(None, &env_of(&[("REDIS_DB", "x")])));
        assert_eq!(
            msg,
            "config error: REDIS_DB: expected an integer 0..=65535, got \"x\""
        );
        let msg = err_text(Config::load(None, &env_of(&[("REDIS_DB", "70000")])));
        assert!(msg.starts_with("config error: REDIS_DB: "), "{msg}");
        let msg = err_text(Config::load(
            None,
            &env_of(&[("REDIS_MAX_CONNECTIONS", "0")]),
        ));
        assert!(
            msg.starts_with("config error: REDIS_MAX_CONNECTIONS: "),
            "{msg}"
        );
        let msg = err_text(Config::load(
            None,
            &env_of(&[("REDIS_URL", "redis://:hunter2@h:notaport")]),
        ));
        assert!(msg.starts_with("config error: REDIS_URL: "), "{msg}");
        assert!(
            !msg.contains("hunter2"),
            "URL errors must not echo secrets: {msg}"
        );
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let env = env_of(&[("REDIS_DB", ""), ("REDIS_URL", "  "), ("REDIS_TIMEOUT", "")]);
        assert_eq!(Config::load(None, &env).ok(), Some(Config::default()));
    }

    #[test]
    fn rediss_rejected_clearly() {
        let mut c = Config::default();
        c.upstream.url = "rediss://secure:6380".into();
        let msg = err_text(c.validate());
        assert!(msg.starts_with("config error: upstream.url: "), "{msg}");
        assert!(msg.contains("TLS not supported yet"), "{msg}");
        let msg = err_text(Config::load(
            None,
            &env_of(&[("REDIS_URL", "rediss://secure:6380")]),
        ));
        assert!(
            msg.contains("REDIS_URL") && msg.contains("TLS not supported yet"),
            "{msg}"
        );
    }

    #[test]
    fn url_parsing_variants() {
        let ok = |u: &str| parse_redis_url(u).ok();
        assert_eq!(
            ok("redis://h"),
            Some(ParsedUrl {
                host: "h".into(),
                port: 6379,
                username: None,
                password: None,
                db: None
            })
        );
        assert_eq!(ok("REDIS://h:1/").map(|p| (p.port, p.db)), Some((1, None)));
        assert_eq!(
            ok("redis://[::1]:7000/2").map(|p| (p.host, p.port, p.db)),
            Some(("::1".into(), 7000, Some(2)))
        );
        assert_eq!(
            ok("redis://u:p:q@h").map(|p| (p.username, p.password)),
            Some((Some("u".into()), Some("p:q".into())))
        );
        assert_eq!(
            ok("redis://:p@ss@h").map(|p| (p.password, p.host)),
            Some((Some("p@ss".into()), "h".into()))
        );
        for bad in [
            "",
            "h:6379",
            "http://h",
            "unix:///tmp/redis.sock",
            "redis://",
            "redis://:6379",
            "redis://h:0",
            "redis://h:70000",
            "redis://h/x",
            "redis://h/0?timeout=1",
            "redis://[::1",
            "redis://[zz]:1",
            "redis://h st",
            "redis://:%zz@h",
        ] {
            assert!(parse_redis_url(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn print_config_masks_and_round_trips() {
        let mut cfg = Config::default();
        cfg.server.listen = "0.0.0.0:6381".into();
        cfg.upstream.url = "redis://bob:urlsecret@h:1/2".into();
        cfg.upstream.password = "keysecret".into();
        cfg.log.format = LogFormat::Json;
        cfg.auth.users.push(UserConfig {
            name: "default".into(),
            password: "usersecret".into(),
        });
        let text = cfg.to_toml_string().expect("renders");
        for secret in ["urlsecret", "keysecret", "usersecret"] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
        let back = Config::from_toml_str(&text).expect("printed config parses");
        let mut expected = cfg.clone();
        expected.upstream.url = "redis://bob:***@h:1/2".into();
        expected.upstream.password = MASKED_PASSWORD.into();
        expected.auth.users[0].password = MASKED_PASSWORD.into();
        assert_eq!(back, expected);
    }

    #[test]
    fn print_config_defaults_round_trip_exactly() {
        let text = Config::default().to_toml_string().expect("renders");
        assert_eq!(
            Config::from_toml_str(&text).ok(),
            Some(Config::default()),
            "{text}"
        );
    }

    #[test]
    fn empty_passwords_are_not_masked() {
        let text = Config::default().to_toml_string().expect("renders");
        assert!(text.contains("password = \"\""), "{text}");
        assert!(!text.contains(MASKED_PASSWORD), "{text}");
    }
}
