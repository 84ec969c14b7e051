//! Per-client state that commands read and change: protocol, db, name,
//! authentication, and the connection state that pins a client upstream.

use std::sync::Arc;

use bytes::Bytes;

use super::cache::WriteEffect;
use super::client::ClientEntry;
use crate::protocol::Proto;

/// Connection state held on the client's dedicated upstream connection.
/// While any of it is held, every forwarded command goes there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PinState {
    /// Inside MULTI … EXEC/DISCARD.
    pub multi: bool,
    /// Keys are WATCHed.
    pub watch: bool,
    /// SUBSCRIBE, PSUBSCRIBE or SSUBSCRIBE was sent (kept until RESET).
    pub subscribed: bool,
    /// MONITOR was sent.
    pub monitor: bool,
    /// CLIENT TRACKING/CACHING/REPLY/NO-EVICT/NO-TOUCH changed the connection.
    pub client_state: bool,
    /// The client's db differs from the configured one.
    pub other_db: bool,
}

impl PinState {
    /// Whether any state lives on the dedicated connection.
    pub fn holds(&self) -> bool {
        self.multi
            || self.watch
            || self.subscribed
            || self.monitor
            || self.client_state
            || self.other_db
    }
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    /// The client's entry in the registry (id, name, flags for CLIENT LIST).
    pub entry: Arc<ClientEntry>,
    /// RESP version in use.
    pub proto: Proto,
    /// Selected db.
    pub db: u32,
    /// Whether the client may run commands (always true with no users configured).
    pub authenticated: bool,
    /// Connection state that pins the client.
    pub pin: PinState,
    /// A MULTI could not reach upstream: commands until EXEC/DISCARD are
    /// refused and EXEC aborts, as Redis does after a queueing error.
    pub multi_failed: bool,
    /// Whether replies stream from the dedicated connection without being
    /// matched to commands (RESP2 pub/sub, MONITOR, CLIENT REPLY).
    pub streaming: bool,
    /// What the writes queued in MULTI will do to L1 when EXEC runs them.
    pub multi_effect: WriteEffect,
    /// `CLIENT TRACKING on`, handled by respite (RESP3, default mode).
    pub client_tracking: bool,
    /// Where invalidation pushes for this client go (its connection).
    pub push_tx: Option<tokio::sync::mpsc::UnboundedSender<bytes::Bytes>>,
    /// Catalogue commands of this client still running: while any is, a
    /// later one may not answer from L1 (it could overtake a write).
    pub materials_pending: usize,
    /// The command being dispatched (for per-command counters); `None` for
    /// a name the table does not know, or once it was counted as rejected.
    pub cmd: Option<super::table::CmdId>,
}

impl Session {
    /// A new session on the configured db.
    pub fn new(entry: Arc<ClientEntry>, db: u32, authenticated: bool) -> Self {
        Session {
            entry,
            proto: Proto::Resp2,
            db,
            authenticated,
            pin: PinState::default(),
            multi_failed: false,
            streaming: false,
            multi_effect: WriteEffect::None,
            client_tracking: false,
            push_tx: None,
            materials_pending: 0,
            cmd: None,
        }
    }

    /// The client id.
    pub fn id(&self) -> u64 {
        self.entry.id
    }

    /// Back to a fresh session, as RESET does.
    pub fn reset(&mut self, db: u32, authenticated: bool) {
        self.proto = Proto::Resp2;
        self.db = db;
        self.authenticated = authenticated;
        self.pin = PinState::default();
        self.multi_failed = false;
        self.streaming = false;
        self.multi_effect = WriteEffect::None;
        self.client_tracking = false;
        self.entry.set_name(None);
        self.sync_entry();
    }

    /// Publish what CLIENT LIST shows.
    pub fn sync_entry(&self) {
        self.entry.update(self.db, self.proto, self.pin);
    }

    /// Set the client name (CLIENT SETNAME, HELLO SETNAME).
    pub fn set_name(&self, name: Option<Bytes>) {
        self.entry.set_name(name);
    }
}
