//! Connection commands and connection state: PING, ECHO, QUIT, HELLO, AUTH,
//! SELECT, RESET, CLIENT, INFO, RESPITE, and the commands that pin a client to a
//! dedicated upstream connection (MULTI/EXEC/WATCH, pub/sub, MONITOR …).

use bytes::Bytes;

use super::session::Session;
use super::table::CommandSpec;
use super::{
    admin, client, forward, health, info, is_subscription, materials, on_pinned, pin, stats,
    subscription, Ctx, Expect, Outcome,
};
use crate::error::ReplyError;
use crate::protocol::encode::ReplyWriter;
use crate::protocol::Proto;

/// Carry out `name` (upper case) for this session.
pub fn run(
    ctx: &Ctx,
    s: &mut Session,
    name: &[u8],
    spec: Option<&CommandSpec>,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let pinned = s.pin.holds();
    let outcome = match name {
        b"PING" if !pinned => ping(argv, w)?,
        b"ECHO" if !pinned => {
            w.bulk(argv.get(1).map(|b| b.as_ref()).unwrap_or_default());
            Outcome::Replied
        }
        b"QUIT" => {
            w.simple("OK");
            Outcome::Quit
        }
        b"HELLO" => hello(ctx, s, argv, w)?,
        b"AUTH" => auth(ctx, s, argv, w)?,
        b"RESET" => {
            ctx.cache.clients.unregister(s.id());
            s.reset(ctx.upstream.db(), !ctx.auth_required());
            w.set_proto(Proto::Resp2);
            w.simple("RESET");
            Outcome::Reset
        }
        b"SELECT" => select(ctx, s, argv, w)?,
        // Inside MULTI Redis queues everything (+QUEUED) and runs it at EXEC.
        b"INFO" | b"CLIENT" if s.pin.multi => pinned_forward(s),
        b"INFO"
            if argv
                .get(1)
                .is_some_and(|a| a.eq_ignore_ascii_case(info::UPSTREAM_SERVER)) =>
        {
            info::upstream_server(s, argv)
        }
        b"HEALTH" if !s.pin.multi => health::run(argv, s.proto)?,
        b"STATS" if !s.pin.multi => stats::run(ctx, argv, s.proto)?,
        b"INFO" => {
            info::run(ctx, argv.get(1..).unwrap_or_default(), w);
            Outcome::Replied
        }
        b"CLIENT" => client_command(ctx, s, spec, argv, w)?,
        b"HOTKEYS" => hotkeys(ctx, argv, w)?,
        // Inside MULTI it goes to Redis, which refuses it (EXEC aborts).
        b"RESPITE" if !s.pin.multi => admin::run(ctx, argv, w)?,
        _ if !s.pin.multi && materials::is_catalogue(name) => {
            materials::run(ctx, s, name, argv, w)?
        }
        b"MULTI" => {
            s.pin.multi = true;
            pin(s, false)
        }
        b"EXEC" | b"DISCARD" => end_multi(s, name, w)?,
        b"WATCH" => {
            s.pin.watch = true;
            pin(s, false)
        }
        b"UNWATCH" if !pinned => {
            w.simple("OK");
            Outcome::Replied
        }
        b"UNWATCH" => {
            s.pin.watch = false;
            pinned_forward(s)
        }
        b"MONITOR" => {
            s.pin.monitor = true;
            pin(s, true)
        }
        _ if is_subscription(spec, name) => subscription(s),
        _ => forward(ctx, s, spec, argv),
    };
    Ok(outcome)
}

/// Forward on the dedicated connection (whose state the command ends).
fn pinned_forward(s: &mut Session) -> Outcome {
    on_pinned(s, Expect::One)
}

/// `HOTKEYS [COUNT n]`: the keys in L1 with the most reads (default 10),
/// each a map of key, reads, hits and misses.
fn hotkeys(ctx: &Ctx, argv: &[Bytes], w: &mut ReplyWriter) -> Result<Outcome, ReplyError> {
    let n = match argv {
        [_] => 10,
        [_, opt, n] if opt.eq_ignore_ascii_case(b"COUNT") => std::str::from_utf8(n)
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| ReplyError::invalid("COUNT must be a positive integer"))?,
        _ => {
            return Err(ReplyError::invalid(
                "syntax error, expected HOTKEYS [COUNT n]",
            ))
        }
    };
    let keys = ctx.cache.l1.hotkeys(n.min(10_000));
    w.array(keys.len());
    for k in keys {
        w.map(4);
        w.key("key");
        w.bulk(&k.key);
        w.key("reads");
        w.int(k.reads as i64);
        w.key("hits");
        w.int(k.hits as i64);
        w.key("misses");
        w.int(k.misses as i64);
    }
    Ok(Outcome::Replied)
}

fn ping(argv: &[Bytes], w: &mut ReplyWriter) -> Result<Outcome, ReplyError> {
    match argv {
        [_] => w.simple("PONG"),
        [_, msg] => w.bulk(msg),
        _ => return Err(ReplyError::WrongArity("ping".into())),
    }
    Ok(Outcome::Replied)
}

fn end_multi(s: &mut Session, name: &[u8], w: &mut ReplyWriter) -> Result<Outcome, ReplyError> {
    let exec = name == b"EXEC";
    if s.multi_failed {
        s.multi_failed = false;
        s.pin.multi = false;
        s.pin.watch = false;
        s.sync_entry();
        if exec {
            w.error("EXECABORT Transaction discarded because of previous errors.");
        } else {
            w.simple("OK");
        }
        return Ok(Outcome::Replied);
    }
    if !s.pin.multi {
        let what = if exec { "EXEC" } else { "DISCARD" };
        return Err(ReplyError::invalid(format!("{what} without MULTI")));
    }
    s.pin.multi = false;
    s.pin.watch = false;
    // The queued writes happen now (or never): EXEC's reply drops their keys.
    let queued = std::mem::take(&mut s.multi_effect);
    let mut outcome = pinned_forward(s);
    if let (true, Outcome::Forward { effect, .. }) = (exec, &mut outcome) {
        *effect = queued;
    }
    Ok(outcome)
}

fn select(
    ctx: &Ctx,
    s: &mut Session,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    if s.pin.multi {
        // Only queued: it may never run (DISCARD, an aborted EXEC), so stay
        // on the dedicated connection, whichever db it ends up on.
        s.pin.other_db = true;
        return Ok(pinned_forward(s));
    }
    let db = argv
        .get(1)
        .and_then(|a| std::str::from_utf8(a).ok())
        .and_then(|a| a.parse::<u32>().ok())
        .ok_or_else(|| ReplyError::invalid("value is not an integer or out of range"))?;
    let default = ctx.upstream.db();
    let was_pinned = s.pin.holds();
    s.db = db;
    s.pin.other_db = db != default;
    if was_pinned {
        return Ok(pinned_forward(s));
    }
    if db == default {
        w.simple("OK");
        return Ok(Outcome::Replied);
    }
    Ok(pin(s, false))
}

fn client_command(
    ctx: &Ctx,
    s: &mut Session,
    spec: Option<&CommandSpec>,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let sub = argv
        .get(1)
        .map(|a| a.to_ascii_uppercase())
        .unwrap_or_default();
    match sub.as_slice() {
        b"ID" | b"GETNAME" | b"SETNAME" | b"SETINFO" | b"INFO" | b"LIST" | b"KILL" | b"UNBLOCK" => {
            client::run(&ctx.clients, s, argv, w)?;
            Ok(Outcome::Replied)
        }
        b"TRACKING" if local_tracking(ctx, s, argv) => tracking_switch(ctx, s, argv, w),
        b"CACHING" | b"GETREDIR" | b"TRACKINGINFO" if s.client_tracking => tracking_query(&sub, w),
        b"TRACKING" | b"CACHING" | b"NO-EVICT" | b"NO-TOUCH" => {
            s.pin.client_state = true;
            Ok(pin(s, false))
        }
        b"REPLY" => {
            s.pin.client_state = true;
            Ok(pin(s, true))
        }
        _ => Ok(forward(ctx, s, spec, argv)),
    }
}

/// Whether respite itself can track this client: `CLIENT TRACKING on|off`
/// with no options, in RESP3, with L1 and upstream tracking working, and no
/// connection state (other forms use a dedicated connection's tracking).
fn local_tracking(ctx: &Ctx, s: &Session, argv: &[Bytes]) -> bool {
    let [_, _, mode] = argv else {
        return false;
    };
    let on_off = mode.eq_ignore_ascii_case(b"on") || mode.eq_ignore_ascii_case(b"off");
    on_off
        && s.proto == Proto::Resp3
        && ctx.cache.enabled
        && ctx.cache.tracking().mode() != crate::upstream::TrackingMode::Off
        && !s.pin.holds()
}

fn tracking_switch(
    ctx: &Ctx,
    s: &mut Session,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let on = argv.get(2).is_some_and(|m| m.eq_ignore_ascii_case(b"on"));
    match (&s.push_tx, on) {
        (Some(tx), true) => ctx.cache.clients.register(s.id(), tx.clone()),
        (None, true) => {
            return Err(ReplyError::invalid(
                "client tracking is not available on this connection",
            ))
        }
        (_, false) => ctx.cache.clients.unregister(s.id()),
    }
    s.client_tracking = on;
    w.simple("OK");
    Ok(Outcome::Replied)
}

/// CLIENT CACHING/GETREDIR/TRACKINGINFO for a client respite tracks.
fn tracking_query(sub: &[u8], w: &mut ReplyWriter) -> Result<Outcome, ReplyError> {
    match sub {
        b"CACHING" => {
            return Err(ReplyError::invalid(
                "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
            ))
        }
        b"GETREDIR" => w.int(0),
        _ => {
            w.map(3);
            w.key("flags");
            w.array(1);
            w.simple("on");
            w.key("redirect");
            w.int(0);
            w.key("prefixes");
            w.array(0);
        }
    }
    Ok(Outcome::Replied)
}

fn auth(
    ctx: &Ctx,
    s: &mut Session,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let (user, pass) = match argv {
        [_, _] if !ctx.auth_required() => {
            return Err(ReplyError::invalid(
                "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
            ))
        }
        [_, pass] => (&b"default"[..], pass),
        [_, user, pass] => (user.as_ref(), pass),
        _ => return Err(ReplyError::invalid("syntax error")),
    };
    check_password(ctx, user, pass)?;
    s.authenticated = true;
    w.simple("OK");
    Ok(Outcome::Replied)
}

/// Check a user's password without leaking where it differs through timing.
fn check_password(ctx: &Ctx, user: &[u8], pass: &[u8]) -> Result<(), ReplyError> {
    // With no users configured, `default` is Redis's `nopass` user: any
    // password is accepted for it, and other users do not exist.
    if !ctx.auth_required() && user == b"default" {
        return Ok(());
    }
    let found = ctx
        .config
        .auth
        .users
        .iter()
        .find(|u| u.name.as_bytes() == user);
    let ok = found.is_some_and(|u| constant_time_eq(u.password.as_bytes(), pass));
    if ok {
        Ok(())
    } else {
        Err(ReplyError::WrongPass)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hello(
    ctx: &Ctx,
    s: &mut Session,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<Outcome, ReplyError> {
    let mut proto = s.proto;
    if let Some(v) = argv.get(1) {
        proto = match std::str::from_utf8(v)
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
        {
            Some(2) => Proto::Resp2,
            Some(3) => Proto::Resp3,
            Some(_) => return Err(ReplyError::NoProto),
            None => {
                return Err(ReplyError::invalid(
                    "Protocol version is not an integer or out of range",
                ))
            }
        };
    }
    let opts = hello_options(argv.get(2..).unwrap_or_default())?;
    if let Some((user, pass)) = opts.auth {
        check_password(ctx, user, pass)?;
        s.authenticated = true;
    }
    if !s.authenticated {
        return Err(ReplyError::HelloNoAuth);
    }
    if proto != s.proto && s.pin.holds() {
        return Err(ReplyError::invalid(
            "respite cannot switch protocol while a transaction, subscription or other connection state is held",
        ));
    }
    if let Some(name) = opts.setname {
        s.set_name(client::valid_name(name)?);
    }
    let changed = proto != s.proto;
    s.proto = proto;
    s.sync_entry();
    w.set_proto(proto);
    hello_reply(s, w);
    Ok(if changed {
        Outcome::ProtoChanged
    } else {
        Outcome::Replied
    })
}

#[derive(Default)]
struct HelloOptions<'a> {
    auth: Option<(&'a [u8], &'a [u8])>,
    setname: Option<&'a Bytes>,
}

fn hello_options(mut args: &[Bytes]) -> Result<HelloOptions<'_>, ReplyError> {
    let mut opts = HelloOptions::default();
    while let Some(opt) = args.first() {
        match (opt.to_ascii_uppercase().as_slice(), args) {
            (b"AUTH", [_, user, pass, ..]) => {
                opts.auth = Some((user, pass));
                args = &args[3..];
            }
            (b"SETNAME", [_, name, ..]) => {
                opts.setname = Some(name);
                args = &args[2..];
            }
            _ => {
                return Err(ReplyError::invalid(format!(
                    "Syntax error in HELLO option '{}'",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    Ok(opts)
}

fn hello_reply(s: &Session, w: &mut ReplyWriter) {
    w.map(7);
    w.key("server");
    w.bulk(b"redis");
    w.key("version");
    w.bulk(super::REDIS_COMPAT_VERSION.as_bytes());
    w.key("proto");
    w.int(i64::from(s.proto.version()));
    w.key("id");
    w.int(s.id() as i64);
    w.key("mode");
    w.bulk(b"standalone");
    w.key("role");
    w.bulk(b"master");
    w.key("modules");
    w.array(0);
}
