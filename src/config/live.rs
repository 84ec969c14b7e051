//! The configuration while respite runs: the values in force now, which
//! keys may change without a restart, and the three ways they change —
//! `RESPITE CONFIG SET`, a reload of the configuration file (SIGHUP), and
//! `RESPITE CONFIG REWRITE`, which writes them back to that file.
//!
//! Keys are the dotted TOML paths of [`Config`] (`l1.budget_bytes`). A
//! change is worked out on the TOML form of the running configuration, so
//! a value is parsed and range-checked exactly as it would be in the file,
//! and [`Config::validate`] has the last word. This module only decides
//! what the configuration becomes; pushing new values into the parts that
//! use them (L1, the catalogue, the slow log, the log filter) is the
//! caller's `apply` closure, run while the change holds the lock, so two
//! changes never interleave.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use toml::{Table, Value};

use super::{Config, ConfigError};

/// Keys that change while respite runs; every other key needs a restart.
/// README.md says when each takes effect (a unit test keeps it in step).
pub const LIVE_KEYS: &[&str] = &[
    "l1.budget_bytes",
    "l1.max_value_bytes",
    "l1.max_ttl_ms",
    "l1.admit_min_reads",
    "materials.search_ttl_secs",
    "materials.material_ttl_secs",
    "materials.health_ttl_secs",
    "log.level",
    "limits.max_bulk_len",
    "limits.max_multibulk_len",
    "limits.max_inline_len",
    "limits.max_inflight",
    "limits.output_buffer_limit",
    "limits.pubsub_output_buffer_limit",
    "slowlog.log_slower_than_us",
    "slowlog.max_len",
];

/// Whether `key` can change without a restart.
pub fn is_live(key: &str) -> bool {
    LIVE_KEYS.contains(&key)
}

/// Where the running configuration came from, so that it can be read
/// again (a reload) and written back (REWRITE).
pub struct Origin {
    file: PathBuf,
    resolve: Box<dyn Fn() -> Result<Config, ConfigError> + Send + Sync>,
}

impl Origin {
    /// `file` is the `--config` file; `resolve` produces the configuration
    /// from all its layers again (defaults, that file, the environment,
    /// flags), unvalidated.
    pub fn new(
        file: PathBuf,
        resolve: impl Fn() -> Result<Config, ConfigError> + Send + Sync + 'static,
    ) -> Self {
        Origin {
            file,
            resolve: Box::new(resolve),
        }
    }

    /// The configuration file.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

impl std::fmt::Debug for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Origin").field("file", &self.file).finish()
    }
}

/// Why a change to the running configuration was refused. Nothing
/// changes when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No such key.
    #[error("unknown configuration key '{0}'")]
    UnknownKey(String),
    /// The key exists but is read only at start.
    #[error("'{0}' cannot change while respite runs: it needs a restart")]
    NeedsRestart(String),
    /// The same key twice in one SET.
    #[error("'{0}' is given more than once")]
    Duplicate(String),
    /// The value does not parse or is out of range.
    #[error("invalid value for '{key}': {reason}")]
    BadValue {
        /// The dotted key.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The operation needs the `--config` file and respite has none.
    #[error("respite was started without --config: there is no file to {0}")]
    NoFile(&'static str),
    /// The configuration file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Reading the file again failed (parse error, bad value, unreadable).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What a reload changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reloaded {
    /// Live keys whose new value is now in force.
    pub applied: Vec<String>,
    /// Keys that changed in the file but need a restart; not applied.
    pub needs_restart: Vec<String>,
}

/// The configuration in force, and where it came from.
pub struct LiveConfig {
    current: RwLock<Arc<Config>>,
    origin: Option<Origin>,
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl LiveConfig {
    /// Start from the validated `config`; `origin` is where it came from
    /// (`None`: no file, so no reload and no REWRITE).
    pub fn new(config: Config, origin: Option<Origin>) -> Self {
        LiveConfig {
            current: RwLock::new(Arc::new(config)),
            origin,
        }
    }

    /// The configuration in force now (a snapshot; later changes do not
    /// alter it).
    pub fn current(&self) -> Arc<Config> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The `--config` file, if respite was started with one.
    pub fn file(&self) -> Option<&Path> {
        self.origin.as_ref().map(Origin::file)
    }

    /// Every key and its value as text, secrets masked, in key order.
    pub fn entries(&self) -> Result<Vec<(String, String)>, LiveError> {
        let doc = to_doc(&self.current().masked())?;
        Ok(leaves(&doc)
            .into_iter()
            .map(|(key, value)| (key, display(value)))
            .collect())
    }

    /// Set live keys to the values given (text, as in the file), all or
    /// none. `apply(old, new)` pushes the new values into the components
    /// before they are in force.
    pub fn set(
        &self,
        pairs: &[(&str, &str)],
        apply: impl FnOnce(&Config, &Config),
    ) -> Result<(), LiveError> {
        let mut current = self.lock();
        let mut doc = to_doc(&current)?;
        let mut seen = HashSet::new();
        for (key, _) in pairs {
            if !seen.insert(*key) {
                return Err(LiveError::Duplicate(key.to_string()));
            }
            check_settable(&mut doc, key)?;
        }
        for (key, text) in pairs {
            let slot = leaf_mut(&mut doc, key).ok_or_else(|| unknown(key))?;
            *slot = parse_like(slot, text).map_err(|reason| bad_value(key, reason))?;
            // Deserialise after each key, so a type error names its key.
            from_doc(doc.clone()).map_err(|reason| bad_value(key, reason))?;
        }
        let next = from_doc(doc).map_err(|reason| LiveError::Config(ConfigError::Parse(reason)))?;
        install(&mut current, next, apply)
    }

    /// Read the configuration file again (with the environment and flags
    /// on top, as at start) and put its live keys in force. A file that
    /// does not parse or validate changes nothing; restart-only keys that
    /// differ are reported, not applied.
    pub fn reload(&self, apply: impl FnOnce(&Config, &Config)) -> Result<Reloaded, LiveError> {
        let origin = self.origin.as_ref().ok_or(LiveError::NoFile("reload"))?;
        let fresh = (origin.resolve)()?;
        fresh.validate()?;
        let mut current = self.lock();
        let mut doc = to_doc(&current)?;
        let old = leaves(&doc)
            .into_iter()
            .map(|(k, v)| (k, v.clone()))
            .collect::<BTreeMap<_, _>>();
        let fresh_doc = to_doc(&fresh)?;
        let mut report = Reloaded::default();
        for (key, value) in leaves(&fresh_doc) {
            if old.get(&key) == Some(value) {
                continue;
            }
            match leaf_mut(&mut doc, &key) {
                Some(slot) if is_live(&key) => {
                    *slot = value.clone();
                    report.applied.push(key);
                }
                _ => report.needs_restart.push(key),
            }
        }
        let next = from_doc(doc).map_err(|reason| LiveError::Config(ConfigError::Parse(reason)))?;
        install(&mut current, next, apply)?;
        Ok(report)
    }

    /// Write the configuration in force to the `--config` file (secrets
    /// included, so it works when read back), replacing it atomically.
    /// Returns the file written.
    pub fn rewrite(&self) -> Result<PathBuf, LiveError> {
        let origin = self.origin.as_ref().ok_or(LiveError::NoFile("rewrite"))?;
        let body = self.current().to_toml_string_unmasked()?;
        let path = std::fs::canonicalize(origin.file()).unwrap_or_else(|_| origin.file().into());
        let text = format!("{REWRITE_HEADER}{body}");
        replace_file(&path, text.as_bytes()).map_err(|source| LiveError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    fn lock(&self) -> RwLockWriteGuard<'_, Arc<Config>> {
        self.current.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The first lines of a file written by REWRITE.
const REWRITE_HEADER: &str = "# Written by RESPITE CONFIG REWRITE: every key with the value \
respite was running with.\n# conf/respite.toml documents what each key means.\n\n";

/// Validate `next`, let `apply` push it into the components, then put it
/// in force.
fn install(
    current: &mut Arc<Config>,
    next: Config,
    apply: impl FnOnce(&Config, &Config),
) -> Result<(), LiveError> {
    next.validate().map_err(|e| match e {
        ConfigError::Invalid { key, reason } => LiveError::BadValue { key, reason },
        other => LiveError::Config(other),
    })?;
    apply(current, &next);
    *current = Arc::new(next);
    Ok(())
}

/// The key exists and is live.
fn check_settable(doc: &mut Table, key: &str) -> Result<(), LiveError> {
    if leaf_mut(doc, key).is_none() {
        return Err(unknown(key));
    }
    if !is_live(key) {
        return Err(LiveError::NeedsRestart(key.to_string()));
    }
    Ok(())
}

fn unknown(key: &str) -> LiveError {
    LiveError::UnknownKey(key.to_string())
}

fn bad_value(key: &str, reason: String) -> LiveError {
    LiveError::BadValue {
        key: key.to_string(),
        reason,
    }
}

fn to_doc(config: &Config) -> Result<Table, ConfigError> {
    match Value::try_from(config) {
        Ok(Value::Table(t)) => Ok(t),
        Ok(_) => Err(ConfigError::Render("not a table".into())),
        Err(e) => Err(ConfigError::Render(e.to_string())),
    }
}

fn from_doc(doc: Table) -> Result<Config, String> {
    Value::Table(doc)
        .try_into::<Config>()
        .map_err(|e| e.message().trim().to_string())
}

/// Every leaf (a value that is not a table) with its dotted key, in key
/// order. Arrays are leaves: `auth.users` is one key.
fn leaves(doc: &Table) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    collect(doc, "", &mut out);
    out
}

fn collect<'a>(table: &'a Table, prefix: &str, out: &mut Vec<(String, &'a Value)>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Table(inner) => collect(inner, &key, out),
            leaf => out.push((key, leaf)),
        }
    }
}

/// The leaf at a dotted key.
fn leaf_mut<'a>(doc: &'a mut Table, key: &str) -> Option<&'a mut Value> {
    let mut parts = key.split('.');
    let mut slot = doc.get_mut(parts.next()?)?;
    for part in parts {
        slot = slot.as_table_mut()?.get_mut(part)?;
    }
    (!slot.is_table()).then_some(slot)
}

/// A value as text: strings bare, everything else as TOML writes it.
fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Parse `text` as a value of the same TOML type as `like`.
fn parse_like(like: &Value, text: &str) -> Result<Value, String> {
    let t = text.trim();
    match like {
        Value::String(_) => Ok(Value::String(text.to_string())),
        Value::Integer(_) => t
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("expected an integer, got {text:?}")),
        Value::Boolean(_) => match t.to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Value::Boolean(true)),
            "false" | "no" => Ok(Value::Boolean(false)),
            _ => Err(format!("expected true or false, got {text:?}")),
        },
        _ => Err("this key cannot be set from text".into()),
    }
}

/// Replace `path` with `bytes` atomically (a temporary file in the same
/// directory, then a rename), keeping the old file's permissions.
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".rewrite.tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> LiveConfig {
        LiveConfig::new(Config::default(), None)
    }

    fn value(l: &LiveConfig, key: &str) -> String {
        let entries = l.entries().expect("entries");
        entries
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no key {key}"))
    }

    #[test]
    fn every_live_key_exists() {
        let keys: Vec<String> = live().entries().unwrap().into_iter().map(|e| e.0).collect();
        for key in LIVE_KEYS {
            assert!(keys.iter().any(|k| k == key), "{key} is not a config key");
        }
    }

    #[test]
    fn entries_cover_every_key_and_mask_secrets() {
        let mut c = Config::default();
        c.upstream.password = "s3cret".into();
        c.materials.vector.api_key = "k3y".into();
        c.materials.relational.url = "postgres://u:pw@h/db".into();
        let l = LiveConfig::new(c, None);
        let entries = l.entries().unwrap();
        assert!(entries.len() > 50, "{entries:?}");
        let text = format!("{entries:?}");
        for secret in ["s3cret", "k3y", ":pw@"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert_eq!(value(&l, "l1.budget_bytes"), "67108864");
        assert_eq!(value(&l, "log.level"), "info");
        assert_eq!(value(&l, "l1.enabled"), "true");
        assert_eq!(value(&l, "l1.allow"), "[]");
        assert_eq!(value(&l, "auth.users"), "[]");
        assert_eq!(value(&l, "slowlog.log_slower_than_us"), "10000");
    }

    #[test]
    fn set_applies_live_keys() {
        let l = live();
        let mut seen = None;
        l.set(
            &[("l1.budget_bytes", "1000"), ("log.level", "debug")],
            |old, new| seen = Some((old.l1.budget_bytes, new.l1.budget_bytes)),
        )
        .unwrap();
        assert_eq!(seen, Some((64 * 1024 * 1024, 1000)));
        let now = l.current();
        assert_eq!(now.l1.budget_bytes, 1000);
        assert_eq!(now.log.level, "debug");
    }

    #[test]
    fn set_refusals_change_nothing() {
        let l = live();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("upstream.pool_size", "4")], "needs a restart"),
            (
                &[("l1.budget_bytes", "5"), ("server.listen", "x")],
                "needs a restart",
            ),
            (&[("no.such", "1")], "unknown configuration key 'no.such'"),
            (&[("l1", "1")], "unknown configuration key 'l1'"),
            (&[("l1.budget_bytes", "lots")], "expected an integer"),
            (&[("l1.budget_bytes", "-1")], "l1.budget_bytes"),
            (
                &[("l1.admit_min_reads", "99999999999")],
                "l1.admit_min_reads",
            ),
            (
                &[("l1.max_ttl_ms", "5"), ("l1.admit_min_reads", "16")],
                "between 1 and 15",
            ),
            (&[("log.level", "loud")], "log.level"),
            (&[("slowlog.max_len", "100001")], "at most 100000"),
            (
                &[("l1.max_ttl_ms", "1"), ("l1.max_ttl_ms", "2")],
                "more than once",
            ),
        ];
        for (pairs, expect) in cases {
            let err = l
                .set(pairs, |_, _| panic!("applied {pairs:?}"))
                .unwrap_err();
            assert!(err.to_string().contains(expect), "{pairs:?}: {err}");
        }
        assert_eq!(*l.current(), Config::default());
    }

    #[test]
    fn negative_slowlog_threshold_is_accepted() {
        let l = live();
        l.set(&[("slowlog.log_slower_than_us", "-1")], |_, _| {})
            .unwrap();
        assert_eq!(l.current().slowlog.log_slower_than_us, -1);
    }

    fn with_file(text: &str) -> (tempfile::TempDir, LiveConfig) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("respite.toml");
        std::fs::write(&path, text).unwrap();
        let start = Config::load(Some(&path), &|_| None).unwrap();
        let p = path.clone();
        let origin = Origin::new(path, move || Config::load_unvalidated(Some(&p), &|_| None));
        (dir, LiveConfig::new(start, Some(origin)))
    }

    #[test]
    fn reload_applies_live_and_reports_restart_keys() {
        let (dir, l) = with_file("[l1]\nmax_ttl_ms = 100\n");
        let path = dir.path().join("respite.toml");
        std::fs::write(&path, "[l1]\nmax_ttl_ms = 200\n[upstream]\npool_size = 3\n").unwrap();
        let mut applied = None;
        let report = l
            .reload(|_, new| applied = Some(new.l1.max_ttl_ms))
            .unwrap();
        assert_eq!(report.applied, vec!["l1.max_ttl_ms".to_string()]);
        assert_eq!(report.needs_restart, vec!["upstream.pool_size".to_string()]);
        assert_eq!(applied, Some(200));
        assert_eq!(l.current().l1.max_ttl_ms, 200);
        assert_eq!(l.current().upstream.pool_size, 2);
    }

    #[test]
    fn reload_of_a_bad_file_keeps_everything() {
        let (dir, l) = with_file("[l1]\nmax_ttl_ms = 100\n");
        let path = dir.path().join("respite.toml");
        let before = l.current();
        for bad in [
            "[l1\n",
            "[l1]\nmax_ttl_ms = 200\nadmit_min_reads = 0\n",
            "[l1]\nnope = 1\n",
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(l.reload(|_, _| panic!("applied")).is_err(), "{bad}");
            assert_eq!(l.current(), before);
        }
    }

    #[test]
    fn reload_and_rewrite_need_a_file() {
        let l = live();
        assert!(matches!(l.reload(|_, _| {}), Err(LiveError::NoFile(_))));
        assert!(matches!(l.rewrite(), Err(LiveError::NoFile(_))));
    }

    #[test]
    fn rewrite_round_trips_with_secrets() {
        let (dir, l) = with_file("[upstream]\npassword = \"pw\"\n");
        l.set(&[("l1.max_ttl_ms", "1234")], |_, _| {}).unwrap();
        let written = l.rewrite().unwrap();
        let text = std::fs::read_to_string(&written).unwrap();
        let back = Config::from_toml_str(&text).unwrap();
        assert_eq!(back, *l.current());
        assert_eq!(back.upstream.password, "pw");
        assert_eq!(back.l1.max_ttl_ms, 1234);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file left behind");
    }

    #[test]
    fn readme_lists_every_key_as_live_or_restart() {
        const README: &str = include_str!("../../README.md");
        let table: Vec<&str> = README
            .lines()
            .skip_while(|l| !l.starts_with("### Live and restart-only keys"))
            .skip(1)
            .take_while(|l| !l.starts_with('#'))
            .filter(|l| l.starts_with('|'))
            .collect();
        for (key, _) in live().entries().unwrap() {
            let row = table
                .iter()
                .find(|l| l.contains(&format!("`{key}`")))
                .unwrap_or_else(|| panic!("README's key table lacks `{key}`"));
            let kind = row.split('|').nth(2).map(str::trim);
            let want = if is_live(&key) { "live" } else { "restart" };
            assert_eq!(kind, Some(want), "README row for {key}: {row}");
        }
    }
}
