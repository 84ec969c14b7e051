//! respite's own clients: the registry behind CLIENT LIST/KILL/INFO, and
//! the CLIENT subcommands respite answers itself.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use dashmap::DashMap;
use tokio_util::sync::CancellationToken;

use super::session::{PinState, Session};
use crate::error::ReplyError;
use crate::protocol::encode::ReplyWriter;
use crate::protocol::Proto;

/// What CLIENT LIST shows about one client, updated by its connection task.
#[derive(Debug)]
pub struct ClientEntry {
    /// Unique, increasing id (CLIENT ID).
    pub id: u64,
    /// Peer address.
    pub addr: SocketAddr,
    /// Our address the client connected to.
    pub laddr: SocketAddr,
    /// When it connected.
    pub created: Instant,
    /// Cancelled to disconnect the client (CLIENT KILL, shutdown).
    pub kill: CancellationToken,
    name: Mutex<Option<Bytes>>,
    lib: Mutex<(String, String)>,
    db: AtomicU32,
    resp: AtomicU8,
    flags: AtomicU8,
    /// Milliseconds since `created` of the last command.
    last_ms: AtomicU64,
    /// Blocking commands (BLPOP …) waiting for their reply.
    blocked: AtomicU32,
    /// Bytes held in the connection's input and output buffers.
    buffers: AtomicU64,
    /// Commands whose replies the connection is waiting for.
    outstanding: AtomicU64,
}

const FLAG_MULTI: u8 = 1;
const FLAG_PUBSUB: u8 = 2;
const FLAG_MONITOR: u8 = 4;
const FLAG_PINNED: u8 = 8;

impl ClientEntry {
    /// Record activity now (for `idle=`).
    pub fn touch(&self) {
        let ms = self.created.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Publish db, protocol and pinned state.
    pub fn update(&self, db: u32, proto: Proto, pin: PinState) {
        self.db.store(db, Ordering::Relaxed);
        self.resp.store(proto.version(), Ordering::Relaxed);
        let mut f = 0;
        if pin.multi {
            f |= FLAG_MULTI;
        }
        if pin.subscribed {
            f |= FLAG_PUBSUB;
        }
        if pin.monitor {
            f |= FLAG_MONITOR;
        }
        if pin.holds() {
            f |= FLAG_PINNED;
        }
        self.flags.store(f, Ordering::Relaxed);
    }

    /// A blocking command was sent (`true`) or answered (`false`).
    pub fn block(&self, on: bool) {
        if on {
            self.blocked.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = self
                .blocked
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// Whether a blocking command is waiting (INFO `blocked_clients`).
    pub fn is_blocked(&self) -> bool {
        self.blocked.load(Ordering::Relaxed) > 0
    }

    /// Publish the connection's buffer sizes (INFO `mem_clients_normal`)
    /// and how many replies it waits for (INFO `upstream_in_flight`).
    pub fn publish(&self, buffers: usize, outstanding: usize) {
        self.buffers.store(buffers as u64, Ordering::Relaxed);
        self.outstanding
            .store(outstanding as u64, Ordering::Relaxed);
    }

    /// Replies the connection waits for, as last published.
    pub fn outstanding(&self) -> u64 {
        self.outstanding.load(Ordering::Relaxed)
    }

    /// Bytes in the connection's buffers, as last published.
    pub fn buffers(&self) -> u64 {
        self.buffers.load(Ordering::Relaxed)
    }

    /// Set or clear the name.
    pub fn set_name(&self, name: Option<Bytes>) {
        if let Ok(mut n) = self.name.lock() {
            *n = name;
        }
    }

    /// The name, if set (CLIENT LIST, the slow log).
    pub fn name(&self) -> Option<Bytes> {
        self.name.lock().ok().and_then(|n| n.clone())
    }

    /// Whether the client is in pub/sub mode (for INFO and CLIENT KILL TYPE).
    pub fn is_pubsub(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & FLAG_PUBSUB != 0
    }

    /// Whether the client holds a dedicated upstream connection's state.
    pub fn is_pinned(&self) -> bool {
        self.flags.load(Ordering::Relaxed) & FLAG_PINNED != 0
    }

    /// One CLIENT LIST line, in Redis's `key=value` format.
    fn line(&self) -> String {
        let name = self
            .name()
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .unwrap_or_default();
        let flags = self.flags.load(Ordering::Relaxed);
        let mut fl = String::new();
        if flags & FLAG_MULTI != 0 {
            fl.push('x');
        }
        if flags & FLAG_PUBSUB != 0 {
            fl.push('P');
        }
        if flags & FLAG_MONITOR != 0 {
            fl.push('O');
        }
        if fl.is_empty() {
            fl.push('N');
        }
        let age = self.created.elapsed();
        let idle_ms = (age.as_millis() as u64).saturating_sub(self.last_ms.load(Ordering::Relaxed));
        let (lib_name, lib_ver) = self.lib.lock().map(|l| l.clone()).unwrap_or_default();
        let mut s = String::new();
        let _ = write!(
            s,
            "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi={} qbuf=0 obl=0 oll=0 omem=0 user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            name,
            age.as_secs(),
            idle_ms / 1000,
            fl,
            self.db.load(Ordering::Relaxed),
            if flags & FLAG_MULTI != 0 { 0 } else { -1 },
            self.resp.load(Ordering::Relaxed),
            lib_name,
            lib_ver,
        );
        s
    }
}

/// The clients as a whole (INFO `# Clients`, `mem_clients_normal`,
/// `upstream_in_flight`, and their metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientSummary {
    /// Clients connected.
    pub connected: usize,
    /// Clients waiting on a blocking command.
    pub blocked: usize,
    /// Clients with subscriptions.
    pub pubsub: usize,
    /// Clients holding a dedicated upstream connection.
    pub pinned: usize,
    /// Bytes in their connections' buffers.
    pub buffers: u64,
    /// Replies they wait for.
    pub outstanding: u64,
}

/// Every connected client, by id.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    clients: DashMap<u64, Arc<ClientEntry>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    /// Register a new connection and return its entry.
    pub fn register(&self, addr: SocketAddr, laddr: SocketAddr) -> Arc<ClientEntry> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(ClientEntry {
            id,
            addr,
            laddr,
            created: Instant::now(),
            kill: CancellationToken::new(),
            name: Mutex::new(None),
            lib: Mutex::new((String::new(), String::new())),
            db: AtomicU32::new(0),
            resp: AtomicU8::new(2),
            flags: AtomicU8::new(0),
            last_ms: AtomicU64::new(0),
            blocked: AtomicU32::new(0),
            buffers: AtomicU64::new(0),
            outstanding: AtomicU64::new(0),
        });
        self.clients.insert(id, entry.clone());
        entry
    }

    /// Remove a connection that closed.
    pub fn unregister(&self, id: u64) {
        self.clients.remove(&id);
    }

    /// How many clients are connected.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is connected.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Snapshot of all entries, ordered by id.
    pub fn entries(&self) -> Vec<Arc<ClientEntry>> {
        let mut v: Vec<_> = self.clients.iter().map(|e| e.value().clone()).collect();
        v.sort_by_key(|e| e.id);
        v
    }

    /// What INFO and the metrics report about the clients as a whole,
    /// counted in one pass without copying the entries.
    pub fn summary(&self) -> ClientSummary {
        let mut s = ClientSummary::default();
        for e in self.clients.iter() {
            s.connected += 1;
            s.blocked += usize::from(e.is_blocked());
            s.pubsub += usize::from(e.is_pubsub());
            s.pinned += usize::from(e.is_pinned());
            s.buffers += e.buffers();
            s.outstanding += e.outstanding();
        }
        s
    }

    /// Disconnect every client (shutdown).
    pub fn kill_all(&self) {
        for e in self.clients.iter() {
            e.value().kill.cancel();
        }
    }
}

/// CLIENT subcommands that respite answers (the rest are routed elsewhere).
pub fn run(
    registry: &ClientRegistry,
    session: &Session,
    argv: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<(), ReplyError> {
    let sub = argv
        .get(1)
        .map(|s| s.to_ascii_uppercase())
        .unwrap_or_default();
    match (sub.as_slice(), argv.len()) {
        (b"ID", 2) => w.int(session.id() as i64),
        (b"GETNAME", 2) => match session.entry.name() {
            Some(n) => w.bulk(&n),
            None => w.null(),
        },
        (b"SETNAME", 3) => {
            session.set_name(valid_name(&argv[2])?);
            w.simple("OK");
        }
        (b"SETINFO", 4) => setinfo(session, &argv[2], &argv[3], w)?,
        (b"INFO", 2) => w.verbatim(&format!("{}\n", session.entry.line())),
        (b"LIST", _) => w.verbatim(&list(registry, &argv[2..])?),
        (b"KILL", _) => kill(registry, session, &argv[2..], w)?,
        (b"UNBLOCK", _) => {
            return Err(ReplyError::invalid(
                "CLIENT UNBLOCK is not supported by respite",
            ))
        }
        _ => {
            let name = String::from_utf8_lossy(&sub).to_lowercase();
            return Err(ReplyError::WrongArity(format!("client|{name}")));
        }
    }
    Ok(())
}

/// Names may not contain spaces or newlines (as in Redis); empty clears.
pub fn valid_name(name: &Bytes) -> Result<Option<Bytes>, ReplyError> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(ReplyError::invalid(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok((!name.is_empty()).then(|| name.clone()))
}

fn setinfo(
    session: &Session,
    attr: &[u8],
    value: &[u8],
    w: &mut ReplyWriter,
) -> Result<(), ReplyError> {
    let value = String::from_utf8_lossy(value).into_owned();
    if value.contains(' ') || value.contains('\n') {
        return Err(ReplyError::invalid(format!(
            "{} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(attr)
        )));
    }
    let mut lib = session
        .entry
        .lib
        .lock()
        .map_err(|_| ReplyError::invalid("client state unavailable"))?;
    match attr.to_ascii_uppercase().as_slice() {
        b"LIB-NAME" => lib.0 = value,
        b"LIB-VER" => lib.1 = value,
        _ => {
            return Err(ReplyError::invalid(format!(
                "Unrecognized option '{}'",
                String::from_utf8_lossy(attr)
            )))
        }
    }
    w.simple("OK");
    Ok(())
}

/// Which clients a CLIENT LIST or CLIENT KILL filter selects.
#[derive(Default)]
struct Filter {
    ids: Option<Vec<u64>>,
    addr: Option<String>,
    laddr: Option<String>,
    pubsub: Option<bool>,
    skipme: bool,
}

impl Filter {
    fn matches(&self, e: &ClientEntry, me: u64) -> bool {
        (!self.skipme || e.id != me)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&e.id))
            && self.addr.as_ref().is_none_or(|a| *a == e.addr.to_string())
            && self
                .laddr
                .as_ref()
                .is_none_or(|a| *a == e.laddr.to_string())
            && self.pubsub.is_none_or(|p| p == e.is_pubsub())
    }
}

fn parse_type(t: &[u8]) -> Result<Option<bool>, ReplyError> {
    match t.to_ascii_lowercase().as_slice() {
        b"normal" => Ok(Some(false)),
        b"pubsub" => Ok(Some(true)),
        b"master" | b"replica" | b"slave" => Ok(Some(false)),
        _ => Err(ReplyError::invalid(format!(
            "Unknown client type '{}'",
            String::from_utf8_lossy(t)
        ))),
    }
}

fn parse_id(b: &[u8]) -> Result<u64, ReplyError> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ReplyError::invalid("client-id should be greater than 0"))
}

fn list(registry: &ClientRegistry, args: &[Bytes]) -> Result<String, ReplyError> {
    let mut f = Filter::default();
    match args {
        [] => {}
        [k, t] if k.eq_ignore_ascii_case(b"TYPE") => f.pubsub = parse_type(t)?,
        [k, ids @ ..] if k.eq_ignore_ascii_case(b"ID") && !ids.is_empty() => {
            f.ids = Some(ids.iter().map(|i| parse_id(i)).collect::<Result<_, _>>()?);
        }
        _ => return Err(ReplyError::invalid("syntax error")),
    }
    let mut s = String::new();
    for e in registry.entries().iter().filter(|e| f.matches(e, 0)) {
        s.push_str(&e.line());
        s.push('\n');
    }
    Ok(s)
}

fn kill(
    registry: &ClientRegistry,
    session: &Session,
    args: &[Bytes],
    w: &mut ReplyWriter,
) -> Result<(), ReplyError> {
    if let [addr] = args {
        // The old form: CLIENT KILL addr:port, +OK or an error.
        let f = Filter {
            addr: Some(String::from_utf8_lossy(addr).into_owned()),
            ..Filter::default()
        };
        return match kill_matching(registry, &f, session.id()) {
            0 => Err(ReplyError::invalid("No such client")),
            _ => {
                w.simple("OK");
                Ok(())
            }
        };
    }
    let mut f = Filter {
        skipme: true,
        ..Filter::default()
    };
    if args.is_empty() || !args.len().is_multiple_of(2) {
        return Err(ReplyError::invalid("syntax error"));
    }
    for pair in args.chunks(2) {
        let (k, v) = (&pair[0], &pair[1]);
        match k.to_ascii_uppercase().as_slice() {
            b"ID" => f.ids = Some(vec![parse_id(v)?]),
            b"ADDR" => f.addr = Some(String::from_utf8_lossy(v).into_owned()),
            b"LADDR" => f.laddr = Some(String::from_utf8_lossy(v).into_owned()),
            b"TYPE" => f.pubsub = parse_type(v)?,
            b"USER" => {}
            b"SKIPME" => {
                f.skipme = match v.to_ascii_lowercase().as_slice() {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err(ReplyError::invalid("syntax error")),
                }
            }
            _ => return Err(ReplyError::invalid("syntax error")),
        }
    }
    w.int(kill_matching(registry, &f, session.id()) as i64);
    Ok(())
}

fn kill_matching(registry: &ClientRegistry, f: &Filter, me: u64) -> usize {
    let victims: Vec<_> = registry
        .entries()
        .into_iter()
        .filter(|e| f.matches(e, me))
        .collect();
    for v in &victims {
        v.kill.cancel();
    }
    victims.len()
}
