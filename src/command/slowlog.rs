//! The slow log: a bounded ring of the commands that took longest, with
//! Redis's `SLOWLOG` semantics and reply shapes, answered as `RESPITE
//! SLOWLOG GET [count] | LEN | RESET`.
//!
//! The connection's per-command timing calls [`SlowLog::record`] for every
//! command; a fast command costs one atomic load and a comparison, and the
//! arguments are copied only for a command that is actually logged.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};

use super::client::ClientEntry;
use crate::config::SlowlogConfig;
use crate::error::ReplyError;
use crate::protocol::encode::ReplyWriter;
use crate::protocol::{Limits, RequestParser};

/// Most arguments kept per entry (Redis's `SLOWLOG_ENTRY_MAX_ARGC`); the
/// last kept one then says how many more there were.
pub const MAX_ARGS: usize = 32;
/// Most bytes kept per argument (Redis's `SLOWLOG_ENTRY_MAX_STRING`).
pub const MAX_ARG_BYTES: usize = 128;
/// Entries `SLOWLOG GET` returns without a count, as in Redis.
const DEFAULT_GET: usize = 10;

/// One logged command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Increasing id; never reused, not even after RESET.
    pub id: u64,
    /// When it was logged, in seconds since the Unix epoch.
    pub unix_secs: i64,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// Its arguments, shortened as Redis does.
    pub argv: Vec<Bytes>,
    /// The client's address, `ip:port`.
    pub client_addr: String,
    /// The client's name (`CLIENT SETNAME`), empty when it has none.
    pub client_name: Bytes,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// The slow log. Thresholds change at run time (`slowlog.*` are live).
#[derive(Debug)]
pub struct SlowLog {
    /// µs; negative: log nothing.
    slower_than_us: AtomicI64,
    max_len: AtomicUsize,
    ring: Mutex<Ring>,
}

impl SlowLog {
    /// An empty log with these settings.
    pub fn new(cfg: &SlowlogConfig) -> Self {
        let log = SlowLog {
            slower_than_us: AtomicI64::new(0),
            max_len: AtomicUsize::new(0),
            ring: Mutex::default(),
        };
        log.configure(cfg);
        log
    }

    /// Take new settings; a shorter `max_len` drops the oldest entries now.
    pub fn configure(&self, cfg: &SlowlogConfig) {
        self.slower_than_us.store(cfg.log_slower_than_us, Relaxed);
        self.max_len.store(cfg.max_len, Relaxed);
        let mut ring = self.lock();
        ring.entries.truncate(cfg.max_len);
    }

    /// Whether a command that took `duration_us` belongs in the log.
    #[inline]
    pub fn is_slow(&self, duration_us: u64) -> bool {
        let threshold = self.slower_than_us.load(Relaxed);
        threshold >= 0 && duration_us >= threshold.unsigned_abs()
    }

    /// Log a command that took `duration_us`, if it is slow enough.
    /// `argv` runs only then, so the caller can hand over its arguments
    /// lazily (e.g. `|| req.argv.iter()`); `client` gives address and name.
    #[inline]
    pub fn record<I>(&self, duration_us: u64, argv: impl FnOnce() -> I, client: &ClientEntry)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        if self.is_slow(duration_us) {
            let name = client.name().unwrap_or_default();
            self.push(duration_us, truncate_argv(argv()), client.addr, name);
        }
    }

    /// [`SlowLog::record`] for a caller that kept the request as it was
    /// read (`Request::raw`): it is parsed again only when logged.
    #[inline]
    pub fn record_request(
        &self,
        duration_us: u64,
        raw: impl FnOnce() -> Bytes,
        client: &ClientEntry,
    ) {
        self.record(duration_us, || argv_of(raw()), client);
    }

    fn push(&self, duration_us: u64, argv: Vec<Bytes>, addr: SocketAddr, name: Bytes) {
        let unix_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let max_len = self.max_len.load(Relaxed);
        let mut ring = self.lock();
        let id = ring.next_id;
        ring.next_id += 1;
        ring.entries.push_front(Entry {
            id,
            unix_secs,
            duration_us,
            argv,
            client_addr: addr.to_string(),
            client_name: name,
        });
        ring.entries.truncate(max_len);
    }

    /// The newest `count` entries (all with `None`), newest first.
    pub fn get(&self, count: Option<usize>) -> Vec<Entry> {
        let ring = self.lock();
        let n = count.unwrap_or(usize::MAX);
        ring.entries.iter().take(n).cloned().collect()
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every entry (ids keep increasing).
    pub fn reset(&self) {
        self.lock().entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `SLOWLOG GET [count] | LEN | RESET` (`args` after `SLOWLOG`),
    /// answered in Redis's reply shapes.
    pub fn command(&self, args: &[Bytes], w: &mut ReplyWriter) -> Result<(), ReplyError> {
        let sub = args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default();
        match (sub.as_slice(), args.len()) {
            (b"GET", 1) => self.reply_get(DEFAULT_GET, w),
            (b"GET", 2) => self.reply_get(parse_count(&args[1])?, w),
            (b"LEN", 1) => w.int(self.len() as i64),
            (b"RESET", 1) => {
                self.reset();
                w.simple("OK");
            }
            _ => {
                return Err(ReplyError::invalid(
                    "syntax error, expected RESPITE SLOWLOG GET [count] | LEN | RESET",
                ))
            }
        }
        Ok(())
    }

    fn reply_get(&self, count: usize, w: &mut ReplyWriter) {
        let entries = self.get(Some(count));
        w.array(entries.len());
        for e in entries {
            w.array(6);
            w.int(i64::try_from(e.id).unwrap_or(i64::MAX));
            w.int(e.unix_secs);
            w.int(i64::try_from(e.duration_us).unwrap_or(i64::MAX));
            w.array(e.argv.len());
            for a in &e.argv {
                w.bulk(a);
            }
            w.bulk(e.client_addr.as_bytes());
            w.bulk(&e.client_name);
        }
    }
}

/// `SLOWLOG GET`'s count: -1 for all, as in Redis 7.
fn parse_count(arg: &[u8]) -> Result<usize, ReplyError> {
    let n = std::str::from_utf8(arg)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ReplyError::invalid("value is not an integer or out of range"))?;
    match n {
        -1 => Ok(usize::MAX),
        n => usize::try_from(n)
            .map_err(|_| ReplyError::invalid("count should be greater than or equal to -1")),
    }
}

/// The arguments of a request as read (multibulk or inline); empty if the
/// bytes are not one whole request.
fn argv_of(raw: Bytes) -> Vec<Bytes> {
    // It was accepted once: no limit needs checking again (isize::MAX,
    // because the parser compares lengths as signed integers).
    const ANY: usize = isize::MAX as usize;
    let limits = Limits {
        max_bulk_len: ANY,
        max_multibulk_len: ANY,
        max_inline_len: ANY,
    };
    let mut buf = BytesMut::from(raw);
    match RequestParser::new(limits).parse(&mut buf) {
        Ok(Some(req)) => req.argv,
        _ => Vec::new(),
    }
}

/// Shorten arguments as Redis does: at most [`MAX_ARGS`], the last kept
/// one becoming `... (N more arguments)` when there were more; each at most
/// [`MAX_ARG_BYTES`], followed by `... (N more bytes)` when longer.
pub fn truncate_argv<I>(argv: I) -> Vec<Bytes>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    let mut out = Vec::new();
    let mut extra = 0usize;
    for arg in argv {
        if out.len() < MAX_ARGS {
            out.push(truncate_arg(arg.as_ref()));
        } else {
            extra += 1;
        }
    }
    if extra > 0 {
        // The last kept slot reports itself and everything after it.
        let more = extra + 1;
        if let Some(last) = out.last_mut() {
            *last = Bytes::from(format!("... ({more} more arguments)"));
        }
    }
    out
}

fn truncate_arg(arg: &[u8]) -> Bytes {
    match arg.get(..MAX_ARG_BYTES) {
        Some(head) if arg.len() > MAX_ARG_BYTES => {
            let mut s = head.to_vec();
            let more = arg.len() - MAX_ARG_BYTES;
            s.extend_from_slice(format!("... ({more} more bytes)").as_bytes());
            Bytes::from(s)
        }
        _ => Bytes::copy_from_slice(arg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::ClientRegistry;
    use crate::protocol::{Proto, Request};

    fn cfg(slower_than_us: i64, max_len: usize) -> SlowlogConfig {
        SlowlogConfig {
            log_slower_than_us: slower_than_us,
            max_len,
        }
    }

    fn client() -> std::sync::Arc<ClientEntry> {
        let reg = ClientRegistry::default();
        let addr: SocketAddr = "10.0.0.1:4242".parse().unwrap();
        reg.register(addr, "127.0.0.1:6380".parse().unwrap())
    }

    fn record(log: &SlowLog, us: u64, argv: &[&str]) {
        log.record(us, || argv.iter().map(|a| a.as_bytes()), &client());
    }

    #[test]
    fn threshold_semantics_are_redis_s() {
        let log = SlowLog::new(&cfg(100, 10));
        record(&log, 99, &["fast"]);
        record(&log, 100, &["at"]);
        record(&log, 5000, &["slow"]);
        let names: Vec<_> = log.get(None).iter().map(|e| e.argv[0].clone()).collect();
        assert_eq!(names, vec![Bytes::from("slow"), Bytes::from("at")]);

        log.configure(&cfg(0, 10));
        record(&log, 0, &["everything"]);
        assert_eq!(log.len(), 3);

        log.configure(&cfg(-1, 10));
        record(&log, u64::MAX, &["disabled"]);
        assert_eq!(log.len(), 3);
    }

    #[test]
    fn argv_closure_runs_only_when_logged() {
        let log = SlowLog::new(&cfg(1000, 10));
        let c = client();
        log.record(
            10,
            || -> Vec<&[u8]> { panic!("argv built for a fast command") },
            &c,
        );
        let mut called = false;
        log.record(
            1000,
            || {
                called = true;
                [b"x"]
            },
            &c,
        );
        assert!(called);
    }

    #[test]
    fn ring_is_bounded_newest_first_ids_increase() {
        let log = SlowLog::new(&cfg(0, 3));
        for i in 0..5 {
            record(&log, i, &[&format!("c{i}")]);
        }
        let got = log.get(None);
        let ids: Vec<u64> = got.iter().map(|e| e.id).collect();
        assert_eq!(ids, vec![4, 3, 2]);
        assert_eq!(got[0].duration_us, 4);
        assert_eq!(got[0].client_addr, "10.0.0.1:4242");
        assert_eq!(got[0].client_name, Bytes::new());
        assert!(got[0].unix_secs > 1_600_000_000);
        assert_eq!(log.get(Some(1)).len(), 1);

        log.configure(&cfg(0, 1));
        assert_eq!(
            log.get(None).iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![4]
        );

        log.reset();
        assert!(log.is_empty());
        record(&log, 1, &["after"]);
        assert_eq!(log.get(None)[0].id, 5, "ids are not reused after RESET");

        log.configure(&cfg(0, 0));
        record(&log, 1, &["kept nowhere"]);
        assert!(log.is_empty());
    }

    #[test]
    fn client_name_is_recorded() {
        let log = SlowLog::new(&cfg(0, 3));
        let c = client();
        c.set_name(Some(Bytes::from("worker-1")));
        log.record(5, || [b"GET"], &c);
        assert_eq!(log.get(None)[0].client_name, Bytes::from("worker-1"));
    }

    #[test]
    fn raw_requests_are_parsed_only_when_logged() {
        let log = SlowLog::new(&cfg(100, 5));
        let c = client();
        log.record_request(1, || panic!("parsed for a fast command"), &c);
        let raw = Request::from_args([b"SET".as_ref(), b"k", b"v"]).raw;
        log.record_request(100, || raw, &c);
        log.record_request(100, || Bytes::from_static(b"PING hi\r\n"), &c);
        log.record_request(100, || Bytes::from_static(b"*2\r\n$3"), &c);
        let argvs: Vec<Vec<Bytes>> = log.get(None).into_iter().map(|e| e.argv).collect();
        assert_eq!(
            argvs[2],
            vec![Bytes::from("SET"), Bytes::from("k"), Bytes::from("v")]
        );
        assert_eq!(argvs[1], vec![Bytes::from("PING"), Bytes::from("hi")]);
        assert!(argvs[0].is_empty(), "a partial request logs no arguments");
    }

    #[test]
    fn arguments_are_truncated_like_redis() {
        let long = [b'a'; 200];
        let out = truncate_argv([&long[..]]);
        let mut want = vec![b'a'; 128];
        want.extend_from_slice(b"... (72 more bytes)");
        assert_eq!(out, vec![Bytes::from(want)]);

        let exact = vec![b'b'; 128];
        assert_eq!(
            truncate_argv([&exact[..]]),
            vec![Bytes::from(exact.clone())]
        );

        let args: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        let out = truncate_argv(&args);
        assert_eq!(out.len(), 32);
        assert_eq!(out[30], Bytes::from("30"));
        assert_eq!(out[31], Bytes::from("... (9 more arguments)"));

        let args: Vec<String> = (0..32).map(|i| i.to_string()).collect();
        assert_eq!(truncate_argv(&args).last(), Some(&Bytes::from("31")));
        let args: Vec<String> = (0..33).map(|i| i.to_string()).collect();
        assert_eq!(
            truncate_argv(&args).last(),
            Some(&Bytes::from("... (2 more arguments)"))
        );
    }

    fn run(log: &SlowLog, args: &[&str]) -> Result<String, ReplyError> {
        let mut out = BytesMut::new();
        let mut w = ReplyWriter::new(&mut out, Proto::Resp2);
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::from(a.to_string())).collect();
        log.command(&args, &mut w)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn command_replies_in_redis_shapes() {
        let log = SlowLog::new(&cfg(0, 20));
        for i in 0..12 {
            record(&log, 7, &["SET", &format!("k{i}")]);
        }
        assert_eq!(run(&log, &["LEN"]).unwrap(), ":12\r\n");
        let get = run(&log, &["GET", "1"]).unwrap();
        assert!(get.starts_with("*1\r\n*6\r\n:11\r\n:"), "{get}");
        assert!(
            get.ends_with(
                ":7\r\n*2\r\n$3\r\nSET\r\n$3\r\nk11\r\n$13\r\n10.0.0.1:4242\r\n$0\r\n\r\n"
            ),
            "{get}"
        );
        assert!(run(&log, &["get"]).unwrap().starts_with("*10\r\n"));
        assert!(run(&log, &["GET", "-1"]).unwrap().starts_with("*12\r\n"));
        assert!(run(&log, &["GET", "0"]).unwrap().starts_with("*0\r\n"));
        let e = run(&log, &["GET", "-2"]).unwrap_err();
        assert!(e.to_string().contains("greater than or equal to -1"), "{e}");
        assert!(run(&log, &["GET", "x"]).is_err());
        assert!(run(&log, &["NOPE"]).is_err());
        assert!(run(&log, &["LEN", "1"]).is_err());
        assert_eq!(run(&log, &["RESET"]).unwrap(), "+OK\r\n");
        assert_eq!(run(&log, &["LEN"]).unwrap(), ":0\r\n");
    }
}
