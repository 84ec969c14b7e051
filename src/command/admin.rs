//! `RESPITE`: respite's own administration command — the live
//! configuration (`CONFIG GET | SET | REWRITE`), the slow log (`SLOWLOG`)
//! and `HELP` — and how a configuration change, from `CONFIG SET` or a
//! reload of the file (SIGHUP), reaches the parts that use it.
//!
//! Plain `CONFIG` is Redis's and is forwarded like any other command.

use bytes::Bytes;

use super::{Ctx, Outcome};
use crate::cache::glob_match;
use crate::config::live::{LiveError, Reloaded};
use crate::config::{Config, LimitsConfig};
use crate::error::ReplyError;
use crate::protocol::encode::ReplyWriter;

/// `RESPITE HELP`, one line a reply element (as Redis's HELP replies).
const HELP: &[&str] = &[
    "RESPITE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONFIG GET <pattern> [<pattern> ...]",
    "    Return the configuration keys matching the glob patterns, with their values.",
    "CONFIG SET <key> <value> [<key> <value> ...]",
    "    Change live keys, all or none. Keys that need a restart are refused.",
    "CONFIG REWRITE",
    "    Write the running configuration to the file respite was started with.",
    "SLOWLOG GET [<count>]",
    "    Return the newest <count> slow log entries (default 10, -1 for all).",
    "SLOWLOG LEN",
    "    Return how many entries the slow log holds.",
    "SLOWLOG RESET",
    "    Empty the slow log.",
    "HELP",
    "    Print this help.",
];

/// Carry out `RESPITE …` (`argv` includes the command name).
pub fn run(ctx: &Ctx, argv: &[Bytes], w: &mut ReplyWriter) -> Result<Outcome, ReplyError> {
    let sub = argv
        .get(1)
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_default();
    let rest = argv.get(2..).unwrap_or_default();
    match sub.as_slice() {
        b"HELP" if rest.is_empty() => help(w),
        b"CONFIG" => config(ctx, rest, w)?,
        b"SLOWLOG" => ctx.slowlog.command(rest, w)?,
        _ => {
            return Err(ReplyError::invalid(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try RESPITE HELP.",
                String::from_utf8_lossy(argv.get(1).map_or(&b""[..], |a| a))
            )))
        }
    }
    Ok(Outcome::Replied)
}

fn help(w: &mut ReplyWriter) {
    w.array(HELP.len());
    for line in HELP {
        w.simple(line);
    }
}

fn config(ctx: &Ctx, args: &[Bytes], w: &mut ReplyWriter) -> Result<(), ReplyError> {
    let sub = args
        .first()
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_default();
    let rest = args.get(1..).unwrap_or_default();
    match sub.as_slice() {
        b"GET" if !rest.is_empty() => config_get(ctx, rest, w),
        b"SET" if !rest.is_empty() && rest.len() % 2 == 0 => config_set(ctx, rest, w),
        b"REWRITE" if rest.is_empty() => config_rewrite(ctx, w),
        _ => Err(ReplyError::invalid(
            "syntax error, expected RESPITE CONFIG GET <pattern> [<pattern> ...] | \
             SET <key> <value> [<key> <value> ...] | REWRITE",
        )),
    }
}

/// Key/value pairs of every key matching a pattern: a map in RESP3, a flat
/// array in RESP2 (as Redis's CONFIG GET). Patterns match case-insensitively.
fn config_get(ctx: &Ctx, patterns: &[Bytes], w: &mut ReplyWriter) -> Result<(), ReplyError> {
    let patterns: Vec<Vec<u8>> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
    let entries = ctx.live.entries().map_err(|e| failed("GET", &e))?;
    let matching: Vec<_> = entries
        .into_iter()
        .filter(|(key, _)| patterns.iter().any(|p| glob_match(p, key.as_bytes())))
        .collect();
    w.map(matching.len());
    for (key, value) in matching {
        w.bulk(key.as_bytes());
        w.bulk(value.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &Ctx, args: &[Bytes], w: &mut ReplyWriter) -> Result<(), ReplyError> {
    let pairs = args
        .chunks_exact(2)
        .map(|kv| Ok((text(&kv[0])?, text(&kv[1])?)))
        .collect::<Result<Vec<_>, ReplyError>>()?;
    ctx.live
        .set(&pairs, |old, new| apply(ctx, old, new))
        .map_err(|e| failed("SET", &e))?;
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    tracing::info!(?keys, "configuration changed by RESPITE CONFIG SET");
    w.simple("OK");
    Ok(())
}

fn config_rewrite(ctx: &Ctx, w: &mut ReplyWriter) -> Result<(), ReplyError> {
    let path = ctx.live.rewrite().map_err(|e| failed("REWRITE", &e))?;
    tracing::info!(file = %path.display(), "configuration written by RESPITE CONFIG REWRITE");
    w.simple("OK");
    Ok(())
}

fn text(b: &Bytes) -> Result<&str, ReplyError> {
    std::str::from_utf8(b).map_err(|_| {
        ReplyError::invalid("RESPITE CONFIG SET failed: keys and values must be UTF-8")
    })
}

fn failed(what: &str, e: &LiveError) -> ReplyError {
    ReplyError::invalid(format!("RESPITE CONFIG {what} failed: {e}"))
}

/// Push the live keys of `new` into the parts that read them. Limits are
/// not pushed: each new connection takes them from [`Ctx::limits`].
pub fn apply(ctx: &Ctx, old: &Config, new: &Config) {
    if ctx.cache.enabled {
        let (l1, c) = (&ctx.cache.l1, &new.l1);
        l1.set_budget(c.budget_bytes);
        l1.set_max_value_bytes(c.max_value_bytes);
        l1.set_max_ttl(std::time::Duration::from_millis(c.max_ttl_ms));
        l1.set_admit_min_reads(c.admit_min_reads);
    }
    ctx.materials.ttls.set(&new.materials);
    ctx.slowlog.configure(&new.slowlog);
    if old.log.level != new.log.level {
        if let Some(Err(e)) = ctx.log.as_ref().map(|l| l.set_level(&new.log.level)) {
            tracing::warn!(error = %e, "log.level not changed");
        }
    }
}

impl Ctx {
    /// Read the configuration file again and put its live keys in force
    /// (SIGHUP). Restart-only keys that changed are logged as needing a
    /// restart; a file that does not parse or validate changes nothing and
    /// the reason is logged.
    pub fn reload(&self) -> Result<Reloaded, LiveError> {
        let result = self.live.reload(|old, new| apply(self, old, new));
        match &result {
            Ok(r) => {
                for key in &r.needs_restart {
                    tracing::warn!(key = %key, "changed in the configuration file but needs a restart; not applied");
                }
                tracing::info!(applied = ?r.applied, "configuration reloaded");
            }
            Err(e) => {
                tracing::warn!(error = %e, "configuration reload failed; the running configuration is unchanged");
            }
        }
        result
    }

    /// The limits a new connection runs under: the live `limits.*` as they
    /// are when it connects (a change does not reach connections already open).
    pub fn limits(&self) -> LimitsConfig {
        self.live.current().limits.clone()
    }
}
