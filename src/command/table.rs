//! The proxy's single command table: one row per Redis command.
//!
//! Every request goes through [`lookup`] to find its [`CommandSpec`], which
//! the proxy then uses to
//!
//! * reject wrong argument counts locally ([`CommandSpec::arity_ok`]), as
//!   Redis would, without a round trip;
//! * find the keys a command touches ([`CommandSpec::key_indices`]), which
//!   drives cache lookups and, for writes, cache invalidation — so it must
//!   agree exactly with Redis's own `COMMAND GETKEYS`, movable-keys commands
//!   included;
//! * classify routing and caching by [`Flags`] (read-only vs. write, blocking,
//!   pub/sub, admin, ...) and per-family stats by [`Group`].
//!
//! The rows are facts of the Redis 7.0 protocol (arity, flags, key specs,
//! subcommands) and are generated from a live server's `COMMAND` and
//! `COMMAND DOCS` by `scripts/gen-command-table.py`; see the block between the
//! `BEGIN GENERATED` / `END GENERATED` markers. Key extraction interprets the
//! key specs the way Redis does and, where Redis falls back to a hand-written
//! per-command procedure (SORT, MIGRATE, SET, ...), emulates that procedure.

use std::ops::BitOr;

use bytes::Bytes;

// ---------------------------------------------------------------------------
// Command flags
// ---------------------------------------------------------------------------

/// Bit flags of a command (our own subset, derived from Redis's flags).
///
/// The proxy routes and caches by these: e.g. only `READONLY` commands are
/// cacheable, `WRITE` commands invalidate, `BLOCKING`/`PUBSUB`/`NO_MULTI`
/// commands need a dedicated upstream connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Flags(u32);

impl Flags {
    /// No flag set.
    pub const EMPTY: Flags = Flags(0);
    /// Redis `readonly`: reads data only (candidate for caching).
    pub const READONLY: Flags = Flags(1 << 0);
    /// Redis `write`: may modify data (invalidates cached keys).
    pub const WRITE: Flags = Flags(1 << 1);
    /// Redis `blocking`: may block the client. XREAD/XREADGROUP only block
    /// with a BLOCK option (see [`CommandSpec::blocks`]). WAIT is added by
    /// our generator although Redis 7.0 does not flag it.
    pub const BLOCKING: Flags = Flags(1 << 2);
    /// Redis `pubsub`: pub/sub related (subscriptions need their own connection).
    pub const PUBSUB: Flags = Flags(1 << 3);
    /// Redis `admin`: administrative command.
    pub const ADMIN: Flags = Flags(1 << 4);
    /// Redis `noscript`: not allowed from scripts.
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    /// Redis `fast`: O(1) or O(log N) command.
    pub const FAST: Flags = Flags(1 << 6);
    /// Redis `movablekeys`: key positions depend on the arguments.
    pub const MOVABLE_KEYS: Flags = Flags(1 << 7);
    /// Redis `no_multi`: not allowed inside MULTI.
    pub const NO_MULTI: Flags = Flags(1 << 8);
    /// Redis `loading`: allowed while the database is loading.
    pub const LOADING: Flags = Flags(1 << 9);
    /// Redis `stale`: allowed on a replica with stale data.
    pub const STALE: Flags = Flags(1 << 10);
    /// Redis `denyoom`: refused when out of memory (may grow memory use).
    pub const DENYOOM: Flags = Flags(1 << 11);
    /// Redis `skip_monitor`: not propagated to MONITOR.
    pub const SKIP_MONITOR: Flags = Flags(1 << 12);
    /// Redis `skip_slowlog`: not recorded in the slow log.
    pub const SKIP_SLOWLOG: Flags = Flags(1 << 13);
    /// Redis `asking`: allowed on an importing slot after ASKING.
    pub const ASKING: Flags = Flags(1 << 14);
    /// Redis `no_auth`: allowed before authentication.
    pub const NO_AUTH: Flags = Flags(1 << 15);
    /// Redis `may_replicate`: may be replicated even if not a write.
    pub const MAY_REPLICATE: Flags = Flags(1 << 16);
    /// Redis `no_mandatory_keys`: may legitimately have zero keys.
    pub const NO_MANDATORY_KEYS: Flags = Flags(1 << 17);
    /// Redis `no_async_loading`: refused during async loading.
    pub const NO_ASYNC_LOADING: Flags = Flags(1 << 18);
    /// Redis `allow_busy`: allowed while a script is busy.
    pub const ALLOW_BUSY: Flags = Flags(1 << 19);
    /// Redis tip `nondeterministic_output`: the reply may differ between
    /// identical calls (e.g. RANDOMKEY, TIME): never cache.
    pub const NONDETERMINISTIC_OUTPUT: Flags = Flags(1 << 20);
    /// Redis tip `nondeterministic_output_order`: the reply's elements may
    /// come in any order (e.g. SMEMBERS).
    pub const NONDETERMINISTIC_OUTPUT_ORDER: Flags = Flags(1 << 21);

    /// Flag names as written in the generated table (Redis's spelling).
    const NAMES: [(&'static str, Flags); 22] = [
        ("readonly", Flags::READONLY),
        ("write", Flags::WRITE),
        ("blocking", Flags::BLOCKING),
        ("pubsub", Flags::PUBSUB),
        ("admin", Flags::ADMIN),
        ("noscript", Flags::NOSCRIPT),
        ("fast", Flags::FAST),
        ("movablekeys", Flags::MOVABLE_KEYS),
        ("no_multi", Flags::NO_MULTI),
        ("loading", Flags::LOADING),
        ("stale", Flags::STALE),
        ("denyoom", Flags::DENYOOM),
        ("skip_monitor", Flags::SKIP_MONITOR),
        ("skip_slowlog", Flags::SKIP_SLOWLOG),
        ("asking", Flags::ASKING),
        ("no_auth", Flags::NO_AUTH),
        ("may_replicate", Flags::MAY_REPLICATE),
        ("no_mandatory_keys", Flags::NO_MANDATORY_KEYS),
        ("no_async_loading", Flags::NO_ASYNC_LOADING),
        ("allow_busy", Flags::ALLOW_BUSY),
        ("nondeterministic_output", Flags::NONDETERMINISTIC_OUTPUT),
        (
            "nondeterministic_output_order",
            Flags::NONDETERMINISTIC_OUTPUT_ORDER,
        ),
    ];

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags together (const-usable `|`).
    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// True when at least one flag of `other` is set in `self`.
    pub const fn intersects(self, other: Flags) -> bool {
        self.0 & other.0 != 0
    }

    /// The raw bits (for compact storage or metrics labels).
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Parses a space-separated list of flag names at compile time; an
    /// unknown name fails the build (the table is const-evaluated).
    const fn parse(s: &str) -> Flags {
        let b = s.as_bytes();
        let mut bits = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] == b' ' {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            let mut n = 0;
            let mut found = false;
            while n < Flags::NAMES.len() {
                if word_is(b, start, i, Flags::NAMES[n].0) {
                    bits |= Flags::NAMES[n].1 .0;
                    found = true;
                }
                n += 1;
            }
            if !found {
                panic!("unknown command flag in the command table");
            }
        }
        Flags(bits)
    }
}

impl BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        self.union(rhs)
    }
}

/// Compile-time helper: is `b[start..end]` equal to `word`?
const fn word_is(b: &[u8], start: usize, end: usize, word: &str) -> bool {
    let w = word.as_bytes();
    if end - start != w.len() {
        return false;
    }
    let mut i = 0;
    while i < w.len() {
        if b[start + i] != w[i] {
            return false;
        }
        i += 1;
    }
    true
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

/// Redis command group (as in `COMMAND DOCS`), used for per-family stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// Keyspace commands (DEL, EXPIRE, SCAN, ...).
    Generic,
    /// String commands.
    String,
    /// List commands.
    List,
    /// Set commands.
    Set,
    /// Sorted set commands.
    SortedSet,
    /// Hash commands.
    Hash,
    /// Pub/sub commands.
    PubSub,
    /// MULTI/EXEC/WATCH.
    Transactions,
    /// Connection commands (AUTH, CLIENT, HELLO, ...).
    Connection,
    /// Server commands (CONFIG, INFO, ...).
    Server,
    /// Scripting and functions.
    Scripting,
    /// HyperLogLog commands.
    HyperLogLog,
    /// Cluster commands.
    Cluster,
    /// Sentinel commands (none in a plain Redis server's table).
    Sentinel,
    /// Geo commands.
    Geo,
    /// Stream commands.
    Stream,
    /// Bitmap commands.
    Bitmap,
    /// Module commands (none: modules are not part of this table).
    Module,
    /// respite's own commands (HOTKEYS, the materials catalogue).
    Respite,
}

impl Group {
    /// Every group in declaration order (`ALL[g as usize] == g`), so tables
    /// kept per family (latency histograms) are plain arrays.
    pub const ALL: [Group; 19] = [
        Group::Generic,
        Group::String,
        Group::List,
        Group::Set,
        Group::SortedSet,
        Group::Hash,
        Group::PubSub,
        Group::Transactions,
        Group::Connection,
        Group::Server,
        Group::Scripting,
        Group::HyperLogLog,
        Group::Cluster,
        Group::Sentinel,
        Group::Geo,
        Group::Stream,
        Group::Bitmap,
        Group::Module,
        Group::Respite,
    ];

    /// Redis's name of the group (`COMMAND DOCS` spelling, e.g. "sorted-set"),
    /// stable enough to be a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Group::Generic => "generic",
            Group::String => "string",
            Group::List => "list",
            Group::Set => "set",
            Group::SortedSet => "sorted-set",
            Group::Hash => "hash",
            Group::PubSub => "pubsub",
            Group::Transactions => "transactions",
            Group::Connection => "connection",
            Group::Server => "server",
            Group::Scripting => "scripting",
            Group::HyperLogLog => "hyperloglog",
            Group::Cluster => "cluster",
            Group::Sentinel => "sentinel",
            Group::Geo => "geo",
            Group::Stream => "stream",
            Group::Bitmap => "bitmap",
            Group::Module => "module",
            Group::Respite => "respite",
        }
    }
}

// ---------------------------------------------------------------------------
// Key specs
// ---------------------------------------------------------------------------

/// Flags of a key spec (Redis 7 key-spec flags): how the command uses the
/// keys the spec finds. Invalidation needs them to tell which keys a write
/// actually modifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KeyFlags(u16);

impl KeyFlags {
    /// No flag set.
    pub const EMPTY: KeyFlags = KeyFlags(0);
    /// `RO`: read-only access to the key.
    pub const RO: KeyFlags = KeyFlags(1 << 0);
    /// `RW`: read-write access to the key.
    pub const RW: KeyFlags = KeyFlags(1 << 1);
    /// `OW`: the key is overwritten.
    pub const OW: KeyFlags = KeyFlags(1 << 2);
    /// `RM`: the key is removed.
    pub const RM: KeyFlags = KeyFlags(1 << 3);
    /// `access`: the key's value is returned or used.
    pub const ACCESS: KeyFlags = KeyFlags(1 << 4);
    /// `update`: the value is updated.
    pub const UPDATE: KeyFlags = KeyFlags(1 << 5);
    /// `insert`: data is added to the value.
    pub const INSERT: KeyFlags = KeyFlags(1 << 6);
    /// `delete`: data is deleted from the value.
    pub const DELETE: KeyFlags = KeyFlags(1 << 7);
    /// `not_key`: the argument is not a key (e.g. a shard channel) but
    /// hashes like one; skipped by key extraction, as Redis does.
    pub const NOT_KEY: KeyFlags = KeyFlags(1 << 8);
    /// `incomplete`: the spec may miss keys; Redis falls back to a
    /// per-command procedure.
    pub const INCOMPLETE: KeyFlags = KeyFlags(1 << 9);
    /// `variable_flags`: the actual flags depend on the arguments.
    pub const VARIABLE_FLAGS: KeyFlags = KeyFlags(1 << 10);

    const NAMES: [(&'static str, KeyFlags); 11] = [
        ("RO", KeyFlags::RO),
        ("RW", KeyFlags::RW),
        ("OW", KeyFlags::OW),
        ("RM", KeyFlags::RM),
        ("access", KeyFlags::ACCESS),
        ("update", KeyFlags::UPDATE),
        ("insert", KeyFlags::INSERT),
        ("delete", KeyFlags::DELETE),
        ("not_key", KeyFlags::NOT_KEY),
        ("incomplete", KeyFlags::INCOMPLETE),
        ("variable_flags", KeyFlags::VARIABLE_FLAGS),
    ];

    /// True when every flag of `other` is set in `self`.
    pub const fn contains(self, other: KeyFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags together (const-usable `|`).
    pub const fn union(self, other: KeyFlags) -> KeyFlags {
        KeyFlags(self.0 | other.0)
    }

    /// True when at least one flag of `other` is set in `self`.
    pub const fn intersects(self, other: KeyFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// True when the command may change or remove the key's value
    /// (`RW`, `OW` or `RM`): the key must be invalidated.
    pub const fn modifies(self) -> bool {
        self.intersects(KeyFlags(KeyFlags::RW.0 | KeyFlags::OW.0 | KeyFlags::RM.0))
    }

    /// The raw bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Compile-time parser of the table's space-separated flag names.
    const fn parse(s: &str) -> KeyFlags {
        let b = s.as_bytes();
        let mut bits = 0;
        let mut i = 0;
        while i < b.len() {
            if b[i] == b' ' {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            let mut n = 0;
            let mut found = false;
            while n < KeyFlags::NAMES.len() {
                if word_is(b, start, i, KeyFlags::NAMES[n].0) {
                    bits |= KeyFlags::NAMES[n].1 .0;
                    found = true;
                }
                n += 1;
            }
            if !found {
                panic!("unknown key spec flag in the command table");
            }
        }
        KeyFlags(bits)
    }
}

impl BitOr for KeyFlags {
    type Output = KeyFlags;
    fn bitor(self, rhs: KeyFlags) -> KeyFlags {
        self.union(rhs)
    }
}

/// Where the search for a spec's keys starts (Redis 7 `begin_search`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeginSearch {
    /// Keys start at this argv index.
    Index(i16),
    /// Keys start right after the first argument equal (case-insensitively)
    /// to `keyword`, searching from argv index `start_from` forwards, or,
    /// when negative, from `argc + start_from` backwards.
    Keyword {
        /// The keyword, e.g. "STREAMS".
        keyword: &'static str,
        /// First index searched; negative counts from the end.
        start_from: i16,
    },
    /// Keys cannot be found from the spec (e.g. SORT's BY/GET/STORE).
    Unknown,
}

/// How the spec's keys are laid out from the start (Redis 7 `find_keys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys from the start up to `last_key` (relative to the start when not
    /// negative; from the end of argv when negative), every `step` arguments.
    /// With a `limit` and `last_key == -1`, only `1/limit` of the remaining
    /// arguments are keys (XREAD's keys-then-IDs layout).
    Range {
        /// Last key, relative to the start (>= 0) or to argc (< 0).
        last_key: i16,
        /// Distance between keys.
        step: u16,
        /// Divisor of the remaining arguments (0 = none).
        limit: u16,
    },
    /// The number of keys is the integer at `start + key_num_idx`; the first
    /// key is at `start + first_key`, then every `step` arguments.
    KeyNum {
        /// Offset of the numkeys argument from the start.
        key_num_idx: i16,
        /// Offset of the first key from the start.
        first_key: i16,
        /// Distance between keys.
        step: u16,
    },
    /// Layout not describable by a spec.
    Unknown,
}

/// One Redis 7 key spec: a begin search, a find-keys rule, and the flags of
/// the keys found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySpec {
    /// Where to start looking.
    pub begin: BeginSearch,
    /// How keys are laid out from there.
    pub find: FindKeys,
    /// How the command uses these keys.
    pub flags: KeyFlags,
}

/// Per-command key extraction procedure Redis uses instead of (or when) the
/// key specs fail; we emulate each to match `COMMAND GETKEYS` exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeysFallback {
    None,
    Sort,
    SortRo,
    Migrate,
    Set,
    Bitfield,
    Georadius,
    Xread,
    /// `[store-key] numkeys key...` layouts: offsets of the store key (0 =
    /// none), of numkeys and of the first key.
    Numkeys {
        store: u8,
        count: u8,
        first: u8,
    },
}

// ---------------------------------------------------------------------------
// Command specs
// ---------------------------------------------------------------------------

/// One command (or subcommand) of the table.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lowercase Redis name: "get", or "client|setname" for a subcommand.
    pub name: &'static str,
    /// Redis convention: > 0 exact argc (name included), < 0 at least -arity.
    pub arity: i16,
    /// Command flags.
    pub flags: Flags,
    /// Command group.
    pub group: Group,
    /// Key specs, in Redis's order (which is also GETKEYS's output order).
    pub key_specs: &'static [KeySpec],
    /// Subcommands, sorted by name; empty unless a container (CLIENT, ...).
    pub subcommands: &'static [CommandSpec],
    keys_fallback: KeysFallback,
}

/// Longest command or subcommand name we look up; longer names are unknown
/// (the longest Redis 7.0 name is 21 bytes).
const MAX_NAME_LEN: usize = 32;

impl CommandSpec {
    /// Arity check as Redis does it (argv includes the command name), so the
    /// proxy can answer arity errors itself.
    pub fn arity_ok(&self, argc: usize) -> bool {
        match usize::try_from(self.arity) {
            Ok(exact) => argc == exact,
            Err(_) => argc >= usize::from(self.arity.unsigned_abs()),
        }
    }

    /// True when `argv` would block the connection: BLOCKING commands
    /// always, except XREAD/XREADGROUP which only block when a BLOCK option
    /// (case-insensitive) comes before STREAMS. Blocking requests must not
    /// share a multiplexed upstream connection.
    pub fn blocks(&self, argv: &[Bytes]) -> bool {
        if !self.flags.contains(Flags::BLOCKING) {
            return false;
        }
        match self.name {
            "xread" => xread_blocks(argv, false),
            "xreadgroup" => xread_blocks(argv, true),
            _ => true,
        }
    }

    /// True for container commands (CLIENT, CONFIG, ...).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// Indices into `argv` of the keys, per the key specs, exactly as Redis's
    /// `COMMAND GETKEYS` returns them (same order, duplicates kept). `out` is
    /// cleared first. For malformed argv the result is what Redis would give
    /// (often nothing); it never indexes out of bounds.
    pub fn key_indices(&self, argv: &[Bytes], out: &mut Vec<usize>) {
        out.clear();
        self.collect_keys(argv, out);
    }

    /// Like [`key_indices`](Self::key_indices), with the flags of each key
    /// (e.g. SET's key is `RW|ACCESS|UPDATE` with GET, `OW|UPDATE` without),
    /// so invalidation can tell read keys from modified ones.
    pub fn keys_with_flags(&self, argv: &[Bytes], out: &mut Vec<(usize, KeyFlags)>) {
        out.clear();
        self.collect_keys(argv, out);
    }

    /// Redis's strategy: prefer the key specs when there is at least one real
    /// (not `not_key`) spec and none has variable flags; if the specs fail
    /// on this argv (unknown, incomplete, out of range), use the
    /// per-command procedure if there is one, else report no keys.
    fn collect_keys<S: KeySink>(&self, argv: &[Bytes], out: &mut S) {
        let mut has_keyspec = false;
        let mut has_varflags = false;
        for spec in self.key_specs {
            has_keyspec |= !spec.flags.contains(KeyFlags::NOT_KEY);
            has_varflags |= spec.flags.contains(KeyFlags::VARIABLE_FLAGS);
        }
        if has_keyspec && !has_varflags {
            let start = out.count();
            if self.keys_from_specs(argv, out) {
                return;
            }
            out.truncate_to(start);
        }
        self.keys_from_fallback(argv, out);
    }

    /// Interprets the key specs; false means "invalid for this argv" (the
    /// caller discards any partial output, as Redis does).
    fn keys_from_specs<S: KeySink>(&self, argv: &[Bytes], out: &mut S) -> bool {
        let argc = argv.len() as i64;
        for spec in self.key_specs {
            if spec.flags.contains(KeyFlags::NOT_KEY) {
                continue;
            }
            let first = match spec.begin {
                BeginSearch::Index(i) => i64::from(i),
                BeginSearch::Keyword {
                    keyword,
                    start_from,
                } => match find_keyword(argv, keyword, start_from) {
                    Some(first) => first,
                    // No keyword, no keys from this spec: not an error.
                    None => continue,
                },
                BeginSearch::Unknown => return false,
            };
            let (first, last, step) = match spec.find {
                FindKeys::Range {
                    last_key,
                    step,
                    limit,
                } => {
                    let last_key = i64::from(last_key);
                    let last = if last_key >= 0 {
                        first + last_key
                    } else if limit == 0 {
                        argc + last_key
                    } else {
                        // C division: truncates toward zero, like Rust's.
                        first + ((argc - first) / i64::from(limit) + last_key)
                    };
                    (first, last, step)
                }
                FindKeys::KeyNum {
                    key_num_idx,
                    first_key,
                    step,
                } => {
                    let Some(arg) = arg_at(argv, first + i64::from(key_num_idx)) else {
                        return false;
                    };
                    let Some(numkeys) = parse_string2ll_nonneg(arg) else {
                        return false;
                    };
                    let first = first + i64::from(first_key);
                    // Redis narrows numkeys to a C int here.
                    (first, first + i64::from(numkeys as i32) - 1, step)
                }
                FindKeys::Unknown => return false,
            };
            if first < 1 || last >= argc || last < first || first >= argc {
                return false;
            }
            let step = i64::from(step.max(1));
            let mut i = first;
            while i <= last {
                out.push_key(i as usize, spec.flags);
                i += step;
            }
            if spec.flags.contains(KeyFlags::INCOMPLETE) {
                return false;
            }
        }
        true
    }

    /// Emulation of Redis's per-command key procedures.
    fn keys_from_fallback<S: KeySink>(&self, argv: &[Bytes], out: &mut S) {
        let argc = argv.len();
        let push = |out: &mut S, pos: usize, flags: KeyFlags| {
            if pos < argc {
                out.push_key(pos, flags);
            }
        };
        match self.keys_fallback {
            KeysFallback::None => {}
            KeysFallback::SortRo => push(out, 1, KeyFlags::RO | KeyFlags::ACCESS),
            KeysFallback::Sort => {
                push(out, 1, KeyFlags::RO | KeyFlags::ACCESS);
                // Skip the arguments of LIMIT/GET/BY; the last STORE wins.
                let mut store = None;
                let mut i = 2;
                while i < argc {
                    let arg = &argv[i];
                    if c_eq(arg, "limit") {
                        i += 2;
                    } else if c_eq(arg, "store") && i + 1 < argc {
                        store = Some(i + 1);
                    } else if c_eq(arg, "get") || c_eq(arg, "by") {
                        i += 1;
                    }
                    i += 1;
                }
                if let Some(pos) = store {
                    push(out, pos, KeyFlags::OW | KeyFlags::UPDATE);
                }
            }
            KeysFallback::Migrate => {
                // MIGRATE host port key|"" db timeout [COPY] [REPLACE]
                //   [AUTH pw | AUTH2 user pw] [KEYS key...]
                let mut first = 3;
                let mut num = 1;
                let mut i = 6;
                while i < argc {
                    let arg = &argv[i];
                    if c_eq(arg, "keys") {
                        if argv.get(3).is_some_and(|key| key.is_empty()) {
                            first = i + 1;
                            num = argc - first;
                        } else {
                            num = 0;
                        }
                        break;
                    } else if c_eq(arg, "auth") {
                        i += 1;
                    } else if c_eq(arg, "auth2") {
                        i += 2;
                    }
                    i += 1;
                }
                let flags = KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::DELETE;
                for pos in first..first + num {
                    push(out, pos, flags);
                }
            }
            KeysFallback::Set => {
                let get = argv.iter().skip(3).any(|a| c_eq(a, "get"));
                let flags = if get {
                    KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
                } else {
                    KeyFlags::OW | KeyFlags::UPDATE
                };
                push(out, 1, flags);
            }
            KeysFallback::Bitfield => {
                // Read-only unless a SET/INCRBY (or a syntax error) shows up.
                let mut readonly = true;
                let mut i = 2;
                while i < argc {
                    let remaining = argc - i - 1;
                    let arg = &argv[i];
                    if c_eq(arg, "get") && remaining >= 2 {
                        i += 2;
                    } else if (c_eq(arg, "set") || c_eq(arg, "incrby")) && remaining >= 3 {
                        readonly = false;
                        break;
                    } else if c_eq(arg, "overflow") && remaining >= 1 {
                        i += 1;
                    } else {
                        readonly = false;
                        break;
                    }
                    i += 1;
                }
                let flags = if readonly {
                    KeyFlags::RO | KeyFlags::ACCESS
                } else {
                    KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
                };
                push(out, 1, flags);
            }
            KeysFallback::Georadius => {
                let mut stored = None;
                let mut i = 5;
                while i < argc {
                    let arg = &argv[i];
                    if (c_eq(arg, "store") || c_eq(arg, "storedist")) && i + 1 < argc {
                        stored = Some(i + 1);
                        i += 1;
                    }
                    i += 1;
                }
                push(out, 1, self.spec_flags(0));
                if let Some(pos) = stored {
                    push(out, pos, KeyFlags::OW | KeyFlags::UPDATE);
                }
            }
            KeysFallback::Xread => {
                let mut streams = None;
                let mut i = 1;
                while i < argc {
                    let arg = &argv[i];
                    if c_eq(arg, "block") || c_eq(arg, "count") {
                        i += 1;
                    } else if c_eq(arg, "group") {
                        i += 2;
                    } else if c_eq(arg, "noack") {
                        // No argument to skip.
                    } else if c_eq(arg, "streams") {
                        streams = Some(i);
                        break;
                    } else {
                        break;
                    }
                    i += 1;
                }
                let Some(pos) = streams else { return };
                let num = argc - pos - 1;
                if num == 0 || !num.is_multiple_of(2) {
                    return;
                }
                let flags = self.spec_flags(0);
                for key in pos + 1..argc - num / 2 {
                    push(out, key, flags);
                }
            }
            KeysFallback::Numkeys {
                store,
                count,
                first,
            } => {
                let (store, count, first) =
                    (usize::from(store), usize::from(count), usize::from(first));
                let num = argv.get(count).map_or(0, |a| c_atoi(a));
                let Ok(num) = usize::try_from(num) else {
                    return;
                };
                if num < 1 || num > argc.saturating_sub(first) || first > argc {
                    return;
                }
                let flags = self.spec_flags(self.key_specs.len().saturating_sub(1));
                for pos in first..first + num {
                    push(out, pos, flags);
                }
                if store != 0 {
                    push(out, store, self.spec_flags(0));
                }
            }
        }
    }

    fn spec_flags(&self, i: usize) -> KeyFlags {
        self.key_specs.get(i).map_or(KeyFlags::EMPTY, |s| s.flags)
    }

    /// Sets the key procedure (used by the generated table only).
    const fn keys_fallback(mut self, fallback: KeysFallback) -> CommandSpec {
        self.keys_fallback = fallback;
        self
    }
}

/// Where [`CommandSpec::key_indices`] writes; lets the same extraction code
/// fill either plain indices or (index, flags) pairs without allocating.
trait KeySink {
    fn count(&self) -> usize;
    fn truncate_to(&mut self, len: usize);
    fn push_key(&mut self, pos: usize, flags: KeyFlags);
}

impl KeySink for Vec<usize> {
    fn count(&self) -> usize {
        self.len()
    }
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
    fn push_key(&mut self, pos: usize, _flags: KeyFlags) {
        self.push(pos);
    }
}

impl KeySink for Vec<(usize, KeyFlags)> {
    fn count(&self) -> usize {
        self.len()
    }
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
    fn push_key(&mut self, pos: usize, flags: KeyFlags) {
        self.push((pos, flags));
    }
}

/// `argv[i]` when `i` is in range.
fn arg_at(argv: &[Bytes], i: i64) -> Option<&Bytes> {
    usize::try_from(i).ok().and_then(|i| argv.get(i))
}

/// Redis's keyword begin-search: forwards from `start_from` (the last
/// argument is never a keyword, a key must follow it), or backwards from
/// `argc + start_from` down to index 2. Returns the index after the keyword.
fn find_keyword(argv: &[Bytes], keyword: &str, start_from: i16) -> Option<i64> {
    let argc = argv.len() as i64;
    let start = i64::from(start_from);
    let hit = |i: i64| arg_at(argv, i).is_some_and(|a| c_eq(a, keyword));
    if start > 0 {
        (start..argc - 1).find(|&i| hit(i)).map(|i| i + 1)
    } else {
        (2..=(argc + start).min(argc - 1))
            .rev()
            .find(|&i| hit(i))
            .map(|i| i + 1)
    }
}

/// C `strcasecmp(arg, word) == 0` on a NUL-terminated Redis string: the
/// argument ends at its first NUL byte. `word` is ASCII.
fn c_eq(arg: &[u8], word: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `string2ll` restricted to what key specs accept (numkeys >= 0):
/// "0" or a decimal without sign, leading zeros or spaces, fitting an i64.
fn parse_string2ll_nonneg(arg: &[u8]) -> Option<i64> {
    if arg == b"0" {
        return Some(0);
    }
    match arg.first() {
        Some(b'1'..=b'9') if arg.len() < 21 => {}
        _ => return None,
    }
    let mut value: i64 = 0;
    for &b in arg {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(value)
}

/// glibc `atoi`: `(int) strtol(s, NULL, 10)` — leading whitespace, optional
/// sign, digits up to the first non-digit (or NUL), saturating at the i64
/// bounds, then truncated to 32 bits.
fn c_atoi(arg: &[u8]) -> i32 {
    let mut i = 0;
    while i < arg.len() && matches!(arg[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let negative = match arg.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut magnitude: i128 = 0;
    while let Some(d) = arg.get(i).filter(|b| b.is_ascii_digit()) {
        magnitude = (magnitude * 10 + i128::from(d - b'0')).min(i128::from(u64::MAX));
        i += 1;
    }
    let value = if negative { -magnitude } else { magnitude };
    let value = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    value as i32
}

/// XREAD/XREADGROUP option parsing, as Redis does before blocking: BLOCK
/// (with an argument) before STREAMS means the call may block.
fn xread_blocks(argv: &[Bytes], group: bool) -> bool {
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        let arg = &argv[i];
        if c_eq(arg, "block") && more >= 1 {
            return true;
        } else if (c_eq(arg, "count") && more >= 1) || (group && c_eq(arg, "noack")) {
            i += usize::from(c_eq(arg, "count"));
        } else if group && c_eq(arg, "group") && more >= 2 {
            i += 2;
        } else {
            // STREAMS, or a syntax error: the call will not block.
            return false;
        }
        i += 1;
    }
    false
}

// ---------------------------------------------------------------------------
// Lookup
// ---------------------------------------------------------------------------

/// Look a command up by argv, case-insensitively, without allocating. For
/// container commands, when `argv[1]` names a known subcommand, returns the
/// subcommand's spec (whose arity/key specs are the subcommand's, as Redis
/// does); when argv has no subcommand or it is unknown, returns the
/// container spec.
pub fn lookup(argv: &[Bytes]) -> Option<&'static CommandSpec> {
    lookup_id(argv).map(|(_, spec)| spec)
}

/// The spec for argv whose name is the top-level command `top`.
fn resolve(top: usize, argv: &[Bytes]) -> Option<&'static CommandSpec> {
    let cmd = COMMANDS.get(top)?;
    if cmd.subcommands.is_empty() {
        return Some(cmd);
    }
    match argv.get(1) {
        Some(sub) => Some(find_sub(top, cmd, sub).unwrap_or(cmd)),
        None => Some(cmd),
    }
}

/// A top-level command's position in the table: a dense id for counters
/// kept per command (INFO's `# Commandstats`).
pub type CmdId = u16;

/// [`lookup`], also giving the top-level command's [`CmdId`] (a
/// subcommand counts under its container, as `cmdstat_client` does).
pub fn lookup_id(argv: &[Bytes]) -> Option<(CmdId, &'static CommandSpec)> {
    let top = find_top(argv.first()?)?;
    Some((top as CmdId, resolve(top, argv)?))
}

/// The top-level command with this id.
pub fn by_id(id: CmdId) -> Option<&'static CommandSpec> {
    COMMANDS.get(usize::from(id))
}

/// Look up by the command name alone (top-level), case-insensitive.
pub fn lookup_name(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMANDS.get(find_top(name)?)
}

// Lookup is on the hot path of every request. Instead of comparing strings
// along a binary search, the name is loaded once into four little-endian u64
// words (names are at most 32 bytes), lowercased eight bytes at a time,
// hashed into an open-addressing index built at compile time from the table,
// and compared word-wise with the candidate's precomputed words.

/// A name as four zero-padded little-endian words, lowercased.
type NameWords = [u64; 4];

/// log2 of the top-level index size (240 commands in 512 slots).
const TOP_BITS: u32 = 9;
/// log2 of the subcommand index size (126 subcommands in 256 slots).
const SUB_BITS: u32 = 8;
const EMPTY_SLOT: u8 = u8::MAX;

/// Slot → index into `COMMANDS`.
static TOP_INDEX: [u8; 1 << TOP_BITS] = build_top_index(&COMMANDS, &TOP_WORDS);
/// `COMMANDS[i].name` as words.
static TOP_WORDS: [NameWords; COMMANDS.len()] = build_top_words(&COMMANDS);
/// Every subcommand: (index of its container in `COMMANDS`, index in the
/// container's `subcommands`, words of the part after '|').
static SUBS: [(u8, u8, NameWords); SUBCOMMAND_COUNT] = build_subs(&COMMANDS);
/// Slot → index into `SUBS`.
static SUB_INDEX: [u8; 1 << SUB_BITS] = build_sub_index(&SUBS);

/// Compile-time [`name_words`] (byte by byte).
const fn const_name_words(name: &[u8]) -> NameWords {
    assert!(name.len() <= MAX_NAME_LEN);
    let mut words = [0u64; 4];
    let mut i = 0;
    while i < name.len() {
        words[i / 8] |= (name[i].to_ascii_lowercase() as u64) << ((i % 8) * 8);
        i += 1;
    }
    words
}

/// `name` ASCII-lowercased as words; None when longer than [`MAX_NAME_LEN`].
#[inline]
fn name_words(name: &[u8]) -> Option<NameWords> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    let (chunks, rest) = name.as_chunks::<8>();
    let mut tail = 0u64;
    for (k, &b) in rest.iter().enumerate() {
        tail |= u64::from(b) << (8 * k);
    }
    let word = |k: usize| match chunks.get(k) {
        Some(chunk) => u64::from_le_bytes(*chunk),
        None if k == chunks.len() => tail,
        None => 0,
    };
    Some([
        lowercase_word(word(0)),
        lowercase_word(word(1)),
        lowercase_word(word(2)),
        lowercase_word(word(3)),
    ])
}

/// ASCII-lowercases the eight bytes of `w` at once (SWAR): bytes in
/// 'A'..='Z' get their 0x20 bit set, all others are unchanged.
#[inline]
fn lowercase_word(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    // High bit of each byte: low7 >= 'A', resp. low7 > 'Z' (no carries:
    // 0x7f + 0x3f < 0x100).
    let ge_a = low7 + ONES * (0x80 - u64::from(b'A'));
    let gt_z = low7 + ONES * (0x80 - u64::from(b'Z') - 1);
    let upper = ge_a & !gt_z & !w & HIGH;
    w | (upper >> 2)
}

/// Index slot of a name; `seed` separates the subcommands of different
/// containers. The four products are independent, so this is a few cycles.
const fn home_slot(words: &NameWords, len: usize, seed: u64, bits: u32) -> usize {
    let h = words[0].wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ words[1].wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ words[2].wrapping_mul(0x1656_67b1_9e37_79f9)
        ^ words[3].wrapping_mul(0x27d4_eb2f_1656_67c5)
        ^ seed.wrapping_mul(0xff51_afd7_ed55_8ccd)
        ^ len as u64;
    ((h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) >> (64 - bits)) as usize
}

const fn build_top_words(cmds: &[CommandSpec]) -> [NameWords; COMMANDS.len()] {
    let mut words = [[0; 4]; COMMANDS.len()];
    let mut i = 0;
    while i < cmds.len() {
        words[i] = const_name_words(cmds[i].name.as_bytes());
        i += 1;
    }
    words
}

const fn build_top_index(cmds: &[CommandSpec], words: &[NameWords]) -> [u8; 1 << TOP_BITS] {
    let mut index = [EMPTY_SLOT; 1 << TOP_BITS];
    // At most half full: probe sequences stay short and always end.
    assert!(2 * cmds.len() <= index.len() && cmds.len() < EMPTY_SLOT as usize);
    let mut i = 0;
    while i < cmds.len() {
        let mut slot = home_slot(&words[i], cmds[i].name.len(), 0, TOP_BITS);
        while index[slot] != EMPTY_SLOT {
            slot = (slot + 1) % index.len();
        }
        index[slot] = i as u8;
        i += 1;
    }
    index
}

const fn build_subs(cmds: &[CommandSpec]) -> [(u8, u8, NameWords); SUBCOMMAND_COUNT] {
    let mut subs = [(0, 0, [0; 4]); SUBCOMMAND_COUNT];
    let mut n = 0;
    let mut top = 0;
    while top < cmds.len() {
        let list = cmds[top].subcommands;
        let mut j = 0;
        while j < list.len() {
            // "container|sub" → "sub"
            let (_, name) = list[j].name.as_bytes().split_at(cmds[top].name.len() + 1);
            assert!(top < 256 && j < 256);
            subs[n] = (top as u8, j as u8, const_name_words(name));
            n += 1;
            j += 1;
        }
        top += 1;
    }
    assert!(n == SUBCOMMAND_COUNT);
    subs
}

const fn build_sub_index(subs: &[(u8, u8, NameWords)]) -> [u8; 1 << SUB_BITS] {
    let mut index = [EMPTY_SLOT; 1 << SUB_BITS];
    assert!(2 * subs.len() <= index.len() && subs.len() < EMPTY_SLOT as usize);
    let mut n = 0;
    while n < subs.len() {
        let (top, j, words) = subs[n];
        let len = COMMANDS[top as usize].subcommands[j as usize].name.len()
            - COMMANDS[top as usize].name.len()
            - 1;
        let mut slot = home_slot(&words, len, top as u64 + 1, SUB_BITS);
        while index[slot] != EMPTY_SLOT {
            slot = (slot + 1) % index.len();
        }
        index[slot] = n as u8;
        n += 1;
    }
    index
}

/// Index into `COMMANDS` of the top-level command `name`.
#[inline]
fn find_top(name: &[u8]) -> Option<usize> {
    let words = name_words(name)?;
    let mut slot = home_slot(&words, name.len(), 0, TOP_BITS);
    // An empty slot ends every probe sequence (the index is at most half
    // full); the bound only guards against the impossible.
    for _ in 0..TOP_INDEX.len() {
        let i = *TOP_INDEX.get(slot)?;
        if i == EMPTY_SLOT {
            return None;
        }
        let i = usize::from(i);
        // Equal words and length: equal names (words are zero-padded).
        if *TOP_WORDS.get(i)? == words && COMMANDS.get(i)?.name.len() == name.len() {
            return Some(i);
        }
        slot = (slot + 1) % TOP_INDEX.len();
    }
    None
}

/// The subcommand `name` of `cmd`, which is `COMMANDS[top]`.
#[inline]
fn find_sub(top: usize, cmd: &'static CommandSpec, name: &[u8]) -> Option<&'static CommandSpec> {
    let words = name_words(name)?;
    let mut slot = home_slot(&words, name.len(), top as u64 + 1, SUB_BITS);
    for _ in 0..SUB_INDEX.len() {
        let n = *SUB_INDEX.get(slot)?;
        if n == EMPTY_SLOT {
            return None;
        }
        let (sub_top, j, sub_words) = SUBS.get(usize::from(n))?;
        if usize::from(*sub_top) == top && *sub_words == words {
            let sub = cmd.subcommands.get(usize::from(*j))?;
            if sub.name.len() == cmd.name.len() + 1 + name.len() {
                return Some(sub);
            }
        }
        slot = (slot + 1) % SUB_INDEX.len();
    }
    None
}

/// All top-level commands, sorted by name (for tests / COMMAND COUNT-like uses).
pub fn all() -> &'static [CommandSpec] {
    &COMMANDS
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

use rows::COMMANDS;
use rows::SUBCOMMAND_COUNT;

/// The generated rows and the const helpers they are written with; a module
/// of its own so the group names can be used bare without shadowing `String`.
mod rows {
    use super::Group::*;
    use super::{
        BeginSearch, CommandSpec, FindKeys, Flags, Group, KeyFlags, KeySpec, KeysFallback,
    };

    const NO_SUBCOMMANDS: &[CommandSpec] = &[];
    const BS_UNKNOWN: BeginSearch = BeginSearch::Unknown;
    const FK_UNKNOWN: FindKeys = FindKeys::Unknown;

    /// A row: name, arity, flags (Redis names), group, key specs, subcommands.
    const fn c(
        name: &'static str,
        arity: i16,
        flags: &str,
        group: Group,
        key_specs: &'static [KeySpec],
        subcommands: &'static [CommandSpec],
    ) -> CommandSpec {
        CommandSpec {
            name,
            arity,
            flags: Flags::parse(flags),
            group,
            key_specs,
            subcommands,
            keys_fallback: KeysFallback::None,
        }
    }

    /// A key spec: flags (Redis names), begin search, find keys.
    const fn ks(flags: &str, begin: BeginSearch, find: FindKeys) -> KeySpec {
        KeySpec {
            begin,
            find,
            flags: KeyFlags::parse(flags),
        }
    }

    const fn idx(i: i16) -> BeginSearch {
        BeginSearch::Index(i)
    }

    const fn kw(keyword: &'static str, start_from: i16) -> BeginSearch {
        BeginSearch::Keyword {
            keyword,
            start_from,
        }
    }

    const fn range(last_key: i16, step: u16, limit: u16) -> FindKeys {
        FindKeys::Range {
            last_key,
            step,
            limit,
        }
    }

    const fn keynum(key_num_idx: i16, first_key: i16, step: u16) -> FindKeys {
        FindKeys::KeyNum {
            key_num_idx,
            first_key,
            step,
        }
    }

    // BEGIN GENERATED
    // @generated by scripts/gen-command-table.py from Redis 7.0.15 (COMMAND, COMMAND DOCS).
    // Do not edit by hand: change the script and re-run it.

    /// Number of subcommands over all containers.
    pub(super) const SUBCOMMAND_COUNT: usize = 126;

    #[rustfmt::skip]
    pub(super) static COMMANDS: [CommandSpec; 250] = [
        c("acl", -2, "", Server, &[], &ACL_SUBCOMMANDS),
        c("append", 3, "write denyoom fast", String, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("asking", 1, "fast", Cluster, &[], NO_SUBCOMMANDS),
        c("auth", -2, "noscript loading stale fast no_auth allow_busy", Connection, &[], NO_SUBCOMMANDS),
        c("bgrewriteaof", 1, "admin noscript no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("bgsave", -1, "admin noscript no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("bitcount", -2, "readonly", Bitmap, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("bitfield", -2, "write denyoom", Bitmap, &[ks("RW access update variable_flags", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Bitfield),
        c("bitfield_ro", -2, "readonly fast", Bitmap, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("bitop", -4, "write denyoom", Bitmap, &[ks("OW update", idx(2), range(0, 1, 0)), ks("RO access", idx(3), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("bitpos", -3, "readonly", Bitmap, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("blmove", 6, "write denyoom noscript blocking", List, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("blmpop", -5, "write blocking movablekeys", List, &[ks("RW access delete", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("blpop", -3, "write noscript blocking", List, &[ks("RW access delete", idx(1), range(-2, 1, 0))], NO_SUBCOMMANDS),
        c("brpop", -3, "write noscript blocking", List, &[ks("RW access delete", idx(1), range(-2, 1, 0))], NO_SUBCOMMANDS),
        c("brpoplpush", 4, "write denyoom noscript blocking", List, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("bzmpop", -5, "write blocking movablekeys", SortedSet, &[ks("RW access delete", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("bzpopmax", -3, "write noscript blocking fast", SortedSet, &[ks("RW access delete", idx(1), range(-2, 1, 0))], NO_SUBCOMMANDS),
        c("bzpopmin", -3, "write noscript blocking fast", SortedSet, &[ks("RW access delete", idx(1), range(-2, 1, 0))], NO_SUBCOMMANDS),
        c("client", -2, "", Connection, &[], &CLIENT_SUBCOMMANDS),
        c("cluster", -2, "", Cluster, &[], &CLUSTER_SUBCOMMANDS),
        c("command", -1, "loading stale nondeterministic_output_order", Server, &[], &COMMAND_SUBCOMMANDS),
        c("config", -2, "", Server, &[], &CONFIG_SUBCOMMANDS),
        c("copy", -3, "write denyoom", Generic, &[ks("RO access", idx(1), range(0, 1, 0)), ks("OW update", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("dbsize", 1, "readonly fast", Server, &[], NO_SUBCOMMANDS),
        c("debug", -2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("decr", 2, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("decrby", 3, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("del", -2, "write", Generic, &[ks("RM delete", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("discard", 1, "noscript loading stale fast allow_busy", Transactions, &[], NO_SUBCOMMANDS),
        c("dump", 2, "readonly nondeterministic_output", Generic, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("echo", 2, "loading stale fast", Connection, &[], NO_SUBCOMMANDS),
        c("eval", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RW access update", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("eval_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("evalsha", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RW access update", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("evalsha_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("exec", 1, "noscript loading stale skip_slowlog", Transactions, &[], NO_SUBCOMMANDS),
        c("exists", -2, "readonly fast", Generic, &[ks("RO", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("expire", -3, "write fast", Generic, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("expireat", -3, "write fast", Generic, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("expiretime", 2, "readonly fast", Generic, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("failover", -1, "admin noscript stale", Server, &[], NO_SUBCOMMANDS),
        c("fcall", -3, "noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RW access update", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("fcall_ro", -3, "readonly noscript stale skip_monitor no_mandatory_keys movablekeys", Scripting, &[ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 2, first: 3 }),
        c("flushall", -1, "write", Server, &[], NO_SUBCOMMANDS),
        c("flushdb", -1, "write", Server, &[], NO_SUBCOMMANDS),
        c("function", -2, "", Scripting, &[], &FUNCTION_SUBCOMMANDS),
        c("geoadd", -5, "write denyoom", Geo, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("geodist", -4, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("geohash", -2, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("geopos", -2, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("georadius", -6, "write denyoom movablekeys", Geo, &[ks("RO access", idx(1), range(0, 1, 0)), ks("OW update", kw("STORE", 6), range(0, 1, 0)), ks("OW update", kw("STOREDIST", 6), range(0, 1, 0))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Georadius),
        c("georadius_ro", -6, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("georadiusbymember", -5, "write denyoom movablekeys", Geo, &[ks("RO access", idx(1), range(0, 1, 0)), ks("OW update", kw("STORE", 5), range(0, 1, 0)), ks("OW update", kw("STOREDIST", 5), range(0, 1, 0))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Georadius),
        c("georadiusbymember_ro", -5, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("geosearch", -7, "readonly", Geo, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("geosearchstore", -8, "write denyoom", Geo, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("get", 2, "readonly fast", String, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("getbit", 3, "readonly fast", Bitmap, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("getdel", 2, "write fast", String, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("getex", -2, "write fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("getrange", 4, "readonly", String, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("getset", 3, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hdel", -3, "write fast", Hash, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("health", -1, "loading stale fast", Respite, &[], NO_SUBCOMMANDS),
        c("hello", -1, "noscript loading stale fast no_auth allow_busy", Connection, &[], NO_SUBCOMMANDS),
        c("hexists", 3, "readonly fast", Hash, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hget", 3, "readonly fast", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hgetall", 2, "readonly nondeterministic_output_order", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hincrby", 4, "write denyoom fast", Hash, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hincrbyfloat", 4, "write denyoom fast", Hash, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hkeys", 2, "readonly nondeterministic_output_order", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hlen", 2, "readonly fast", Hash, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hmget", -3, "readonly fast", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hmset", -4, "write denyoom fast", Hash, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hotkeys", -1, "readonly fast", Respite, &[], NO_SUBCOMMANDS),
        c("hrandfield", -2, "readonly nondeterministic_output", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hscan", -3, "readonly nondeterministic_output", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hset", -4, "write denyoom fast", Hash, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hsetnx", 4, "write denyoom fast", Hash, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hstrlen", 3, "readonly fast", Hash, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("hvals", 2, "readonly nondeterministic_output_order", Hash, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("incr", 2, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("incrby", 3, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("incrbyfloat", 3, "write denyoom fast", String, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("info", -1, "loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("keys", 2, "readonly nondeterministic_output_order", Generic, &[], NO_SUBCOMMANDS),
        c("lastsave", 1, "loading stale fast nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency", -2, "", Server, &[], &LATENCY_SUBCOMMANDS),
        c("lcs", -3, "readonly", String, &[ks("RO access", idx(1), range(1, 1, 0))], NO_SUBCOMMANDS),
        c("lindex", 3, "readonly", List, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("linsert", 5, "write denyoom", List, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("llen", 2, "readonly fast", List, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lmove", 5, "write denyoom", List, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lmpop", -4, "write movablekeys", List, &[ks("RW access delete", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("lolwut", -1, "readonly fast", Server, &[], NO_SUBCOMMANDS),
        c("lpop", -2, "write fast", List, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lpos", -3, "readonly", List, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lpush", -3, "write denyoom fast", List, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lpushx", -3, "write denyoom fast", List, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lrange", 4, "readonly", List, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lrem", 4, "write", List, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("lset", 4, "write denyoom", List, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("ltrim", 4, "write", List, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("mdel.material", -2, "write", Respite, &[], NO_SUBCOMMANDS),
        c("memory", -2, "", Server, &[], &MEMORY_SUBCOMMANDS),
        c("mget", -2, "readonly fast", String, &[ks("RO access", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("mget.material", -2, "readonly", Respite, &[], NO_SUBCOMMANDS),
        c("migrate", -6, "write movablekeys nondeterministic_output", Generic, &[ks("RW access delete", idx(3), range(0, 1, 0)), ks("RW access delete incomplete", kw("KEYS", -2), range(-1, 1, 0))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Migrate),
        c("minvalidate", 2, "write", Respite, &[], NO_SUBCOMMANDS),
        c("module", -2, "", Server, &[], &MODULE_SUBCOMMANDS),
        c("monitor", 1, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("move", 3, "write fast", Generic, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("msearch", -2, "readonly", Respite, &[], NO_SUBCOMMANDS),
        c("mset", -3, "write denyoom", String, &[ks("OW update", idx(1), range(-1, 2, 0))], NO_SUBCOMMANDS),
        c("mset.material", -2, "write denyoom", Respite, &[], NO_SUBCOMMANDS),
        c("msetnx", -3, "write denyoom", String, &[ks("OW insert", idx(1), range(-1, 2, 0))], NO_SUBCOMMANDS),
        c("multi", 1, "noscript loading stale fast allow_busy", Transactions, &[], NO_SUBCOMMANDS),
        c("mwarm", -1, "", Respite, &[], NO_SUBCOMMANDS),
        c("object", -2, "", Generic, &[], &OBJECT_SUBCOMMANDS),
        c("persist", 2, "write fast", Generic, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pexpire", -3, "write fast", Generic, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pexpireat", -3, "write fast", Generic, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pexpiretime", 2, "readonly fast", Generic, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pfadd", -2, "write denyoom fast", HyperLogLog, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pfcount", -2, "readonly", HyperLogLog, &[ks("RW access", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("pfdebug", 3, "write denyoom admin", HyperLogLog, &[ks("RW access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("pfmerge", -2, "write denyoom", HyperLogLog, &[ks("RW access insert", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("pfselftest", 1, "admin", HyperLogLog, &[], NO_SUBCOMMANDS),
        c("ping", -1, "fast", Connection, &[], NO_SUBCOMMANDS),
        c("psetex", 4, "write denyoom", String, &[ks("OW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("psubscribe", -2, "pubsub noscript loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("psync", -3, "admin noscript no_async_loading no_multi", Server, &[], NO_SUBCOMMANDS),
        c("pttl", 2, "readonly fast nondeterministic_output", Generic, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("publish", 3, "pubsub loading stale fast", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub", -2, "", PubSub, &[], &PUBSUB_SUBCOMMANDS),
        c("punsubscribe", -1, "pubsub noscript loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("quit", -1, "noscript loading stale fast no_auth allow_busy", Connection, &[], NO_SUBCOMMANDS),
        c("randomkey", 1, "readonly nondeterministic_output", Generic, &[], NO_SUBCOMMANDS),
        c("readonly", 1, "loading stale fast", Cluster, &[], NO_SUBCOMMANDS),
        c("readwrite", 1, "loading stale fast", Cluster, &[], NO_SUBCOMMANDS),
        c("rename", 3, "write", Generic, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("OW update", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("renamenx", 3, "write fast", Generic, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("OW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("replconf", -1, "admin noscript loading stale allow_busy", Server, &[], NO_SUBCOMMANDS),
        c("replicaof", 3, "admin noscript stale no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("reset", 1, "noscript loading stale fast no_auth allow_busy", Connection, &[], NO_SUBCOMMANDS),
        c("respite", -2, "admin loading stale", Respite, &[], NO_SUBCOMMANDS),
        c("restore", -4, "write denyoom", Generic, &[ks("OW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("restore-asking", -4, "write denyoom asking", Server, &[ks("OW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("role", 1, "noscript loading stale fast", Server, &[], NO_SUBCOMMANDS),
        c("rpop", -2, "write fast", List, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("rpoplpush", 3, "write denyoom", List, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("rpush", -3, "write denyoom fast", List, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("rpushx", -3, "write denyoom fast", List, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("sadd", -3, "write denyoom fast", Set, &[ks("RW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("save", 1, "admin noscript no_async_loading no_multi", Server, &[], NO_SUBCOMMANDS),
        c("scan", -2, "readonly nondeterministic_output", Generic, &[], NO_SUBCOMMANDS),
        c("scard", 2, "readonly fast", Set, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("script", -2, "", Scripting, &[], &SCRIPT_SUBCOMMANDS),
        c("sdiff", -2, "readonly nondeterministic_output_order", Set, &[ks("RO access", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("sdiffstore", -3, "write denyoom", Set, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("select", 2, "loading stale fast", Connection, &[], NO_SUBCOMMANDS),
        c("set", -3, "write denyoom", String, &[ks("RW access update variable_flags", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Set),
        c("setbit", 4, "write denyoom", Bitmap, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("setex", 4, "write denyoom", String, &[ks("OW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("setnx", 3, "write denyoom fast", String, &[ks("OW insert", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("setrange", 4, "write denyoom", String, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("shutdown", -1, "admin noscript loading stale no_multi allow_busy", Server, &[], NO_SUBCOMMANDS),
        c("sinter", -2, "readonly nondeterministic_output_order", Set, &[ks("RO access", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("sintercard", -3, "readonly movablekeys", Set, &[ks("RO access", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("sinterstore", -3, "write denyoom", Set, &[ks("RW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("sismember", 3, "readonly fast", Set, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("slaveof", 3, "admin noscript stale no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("slowlog", -2, "", Server, &[], &SLOWLOG_SUBCOMMANDS),
        c("smembers", 2, "readonly nondeterministic_output_order", Set, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("smismember", -3, "readonly fast", Set, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("smove", 4, "write fast", Set, &[ks("RW access delete", idx(1), range(0, 1, 0)), ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("sort", -2, "write denyoom movablekeys", Generic, &[ks("RO access", idx(1), range(0, 1, 0)), ks("RO access", BS_UNKNOWN, FK_UNKNOWN), ks("OW update", BS_UNKNOWN, FK_UNKNOWN)], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Sort),
        c("sort_ro", -2, "readonly movablekeys", Generic, &[ks("RO access", idx(1), range(0, 1, 0)), ks("RO access", BS_UNKNOWN, FK_UNKNOWN)], NO_SUBCOMMANDS).keys_fallback(KeysFallback::SortRo),
        c("spop", -2, "write fast nondeterministic_output", Set, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("spublish", 3, "pubsub loading stale fast", PubSub, &[ks("not_key", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("srandmember", -2, "readonly nondeterministic_output", Set, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("srem", -3, "write fast", Set, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("sscan", -3, "readonly nondeterministic_output", Set, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("ssubscribe", -2, "pubsub noscript loading stale", PubSub, &[ks("not_key", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("stats", -1, "loading stale", Respite, &[], NO_SUBCOMMANDS),
        c("strlen", 2, "readonly fast", String, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("subscribe", -2, "pubsub noscript loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("substr", 4, "readonly", String, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("sunion", -2, "readonly nondeterministic_output_order", Set, &[ks("RO access", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("sunionstore", -3, "write denyoom", Set, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("sunsubscribe", -1, "pubsub noscript loading stale", PubSub, &[ks("not_key", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("swapdb", 3, "write fast", Server, &[], NO_SUBCOMMANDS),
        c("sync", 1, "admin noscript no_async_loading no_multi", Server, &[], NO_SUBCOMMANDS),
        c("time", 1, "loading stale fast nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("touch", -2, "readonly fast", Generic, &[ks("RO", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("ttl", 2, "readonly fast nondeterministic_output", Generic, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("type", 2, "readonly fast", Generic, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("unlink", -2, "write fast", Generic, &[ks("RM delete", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("unsubscribe", -1, "pubsub noscript loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("unwatch", 1, "noscript loading stale fast allow_busy", Transactions, &[], NO_SUBCOMMANDS),
        c("wait", 3, "noscript blocking", Generic, &[], NO_SUBCOMMANDS),
        c("watch", -2, "noscript loading stale fast allow_busy", Transactions, &[ks("RO", idx(1), range(-1, 1, 0))], NO_SUBCOMMANDS),
        c("xack", -4, "write fast", Stream, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xadd", -5, "write denyoom fast nondeterministic_output", Stream, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xautoclaim", -6, "write fast nondeterministic_output", Stream, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xclaim", -6, "write fast nondeterministic_output", Stream, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xdel", -3, "write fast", Stream, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xgroup", -2, "", Stream, &[], &XGROUP_SUBCOMMANDS),
        c("xinfo", -2, "", Stream, &[], &XINFO_SUBCOMMANDS),
        c("xlen", 2, "readonly fast", Stream, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xpending", -3, "readonly nondeterministic_output", Stream, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xrange", -4, "readonly", Stream, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xread", -4, "readonly blocking movablekeys", Stream, &[ks("RO access", kw("STREAMS", 1), range(-1, 1, 2))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Xread),
        c("xreadgroup", -7, "write blocking movablekeys", Stream, &[ks("RO access", kw("STREAMS", 4), range(-1, 1, 2))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Xread),
        c("xrevrange", -4, "readonly", Stream, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xsetid", -3, "write denyoom fast", Stream, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xtrim", -4, "write nondeterministic_output", Stream, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zadd", -4, "write denyoom fast", SortedSet, &[ks("RW update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zcard", 2, "readonly fast", SortedSet, &[ks("RO", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zcount", 4, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zdiff", -3, "readonly movablekeys", SortedSet, &[ks("RO access", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("zdiffstore", -4, "write denyoom movablekeys", SortedSet, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 1, count: 2, first: 3 }),
        c("zincrby", 4, "write denyoom fast", SortedSet, &[ks("RW access update", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zinter", -3, "readonly movablekeys", SortedSet, &[ks("RO access", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("zintercard", -3, "readonly movablekeys", SortedSet, &[ks("RO access", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("zinterstore", -4, "write denyoom movablekeys", SortedSet, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 1, count: 2, first: 3 }),
        c("zlexcount", 4, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zmpop", -4, "write movablekeys", SortedSet, &[ks("RW access delete", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("zmscore", -3, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zpopmax", -2, "write fast", SortedSet, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zpopmin", -2, "write fast", SortedSet, &[ks("RW access delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrandmember", -2, "readonly nondeterministic_output", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrange", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrangebylex", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrangebyscore", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrangestore", -5, "write denyoom", SortedSet, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrank", 3, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrem", -3, "write fast", SortedSet, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zremrangebylex", 4, "write", SortedSet, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zremrangebyrank", 4, "write", SortedSet, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zremrangebyscore", 4, "write", SortedSet, &[ks("RW delete", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrevrange", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrevrangebylex", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrevrangebyscore", -4, "readonly", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zrevrank", 3, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zscan", -3, "readonly nondeterministic_output", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zscore", 3, "readonly fast", SortedSet, &[ks("RO access", idx(1), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("zunion", -3, "readonly movablekeys", SortedSet, &[ks("RO access", idx(1), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 0, count: 1, first: 2 }),
        c("zunionstore", -4, "write denyoom movablekeys", SortedSet, &[ks("OW update", idx(1), range(0, 1, 0)), ks("RO access", idx(2), keynum(0, 1, 1))], NO_SUBCOMMANDS).keys_fallback(KeysFallback::Numkeys { store: 1, count: 2, first: 3 }),
    ];

    #[rustfmt::skip]
    static ACL_SUBCOMMANDS: [CommandSpec; 13] = [
        c("acl|cat", -2, "noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|deluser", -3, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|dryrun", -4, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|genpass", -2, "noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|getuser", 3, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|list", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|load", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|log", -2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|save", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|setuser", -3, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|users", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("acl|whoami", 2, "noscript loading stale", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static CLIENT_SUBCOMMANDS: [CommandSpec; 16] = [
        c("client|caching", 3, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|getname", 2, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|getredir", 2, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|help", 2, "loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|id", 2, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|info", 2, "noscript loading stale nondeterministic_output", Connection, &[], NO_SUBCOMMANDS),
        c("client|kill", -3, "admin noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|list", -2, "admin noscript loading stale nondeterministic_output", Connection, &[], NO_SUBCOMMANDS),
        c("client|no-evict", 3, "admin noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|pause", -3, "admin noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|reply", 3, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|setname", 3, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|tracking", -3, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|trackinginfo", 2, "noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|unblock", -3, "admin noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
        c("client|unpause", 2, "admin noscript loading stale", Connection, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static CLUSTER_SUBCOMMANDS: [CommandSpec; 27] = [
        c("cluster|addslots", -3, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|addslotsrange", -4, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|bumpepoch", 2, "admin stale no_async_loading nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|count-failure-reports", 3, "admin stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|countkeysinslot", 3, "stale", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|delslots", -3, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|delslotsrange", -4, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|failover", -2, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|flushslots", 2, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|forget", 3, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|getkeysinslot", 4, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|help", 2, "loading stale", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|info", 2, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|keyslot", 3, "stale", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|links", 2, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|meet", -4, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|myid", 2, "stale", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|nodes", 2, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|replicas", 3, "admin stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|replicate", 3, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|reset", -2, "admin noscript stale", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|saveconfig", 2, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|set-config-epoch", 3, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|setslot", -4, "admin stale no_async_loading", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|shards", 2, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|slaves", 3, "admin stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
        c("cluster|slots", 2, "stale nondeterministic_output", Cluster, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static COMMAND_SUBCOMMANDS: [CommandSpec; 7] = [
        c("command|count", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("command|docs", -2, "loading stale nondeterministic_output_order", Server, &[], NO_SUBCOMMANDS),
        c("command|getkeys", -4, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("command|getkeysandflags", -4, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("command|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("command|info", -2, "loading stale nondeterministic_output_order", Server, &[], NO_SUBCOMMANDS),
        c("command|list", -2, "loading stale nondeterministic_output_order", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static CONFIG_SUBCOMMANDS: [CommandSpec; 5] = [
        c("config|get", -3, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("config|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("config|resetstat", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("config|rewrite", 2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
        c("config|set", -4, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static FUNCTION_SUBCOMMANDS: [CommandSpec; 9] = [
        c("function|delete", 3, "write noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("function|dump", 2, "noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("function|flush", -2, "write noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("function|help", 2, "loading stale", Scripting, &[], NO_SUBCOMMANDS),
        c("function|kill", 2, "noscript allow_busy", Scripting, &[], NO_SUBCOMMANDS),
        c("function|list", -2, "noscript nondeterministic_output_order", Scripting, &[], NO_SUBCOMMANDS),
        c("function|load", -3, "write denyoom noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("function|restore", -3, "write denyoom noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("function|stats", 2, "noscript allow_busy nondeterministic_output", Scripting, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static LATENCY_SUBCOMMANDS: [CommandSpec; 7] = [
        c("latency|doctor", 2, "admin noscript loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency|graph", 3, "admin noscript loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("latency|histogram", -2, "admin noscript loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency|history", 3, "admin noscript loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency|latest", 2, "admin noscript loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("latency|reset", -2, "admin noscript loading stale", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static MEMORY_SUBCOMMANDS: [CommandSpec; 6] = [
        c("memory|doctor", 2, "nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("memory|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("memory|malloc-stats", 2, "nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("memory|purge", 2, "", Server, &[], NO_SUBCOMMANDS),
        c("memory|stats", 2, "nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("memory|usage", -3, "readonly", Server, &[ks("RO", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static MODULE_SUBCOMMANDS: [CommandSpec; 5] = [
        c("module|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("module|list", 2, "admin noscript nondeterministic_output_order", Server, &[], NO_SUBCOMMANDS),
        c("module|load", -3, "admin noscript no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("module|loadex", -3, "admin noscript no_async_loading", Server, &[], NO_SUBCOMMANDS),
        c("module|unload", 3, "admin noscript no_async_loading", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static OBJECT_SUBCOMMANDS: [CommandSpec; 5] = [
        c("object|encoding", 3, "readonly nondeterministic_output", Generic, &[ks("RO", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("object|freq", 3, "readonly nondeterministic_output", Generic, &[ks("RO", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("object|help", 2, "loading stale", Generic, &[], NO_SUBCOMMANDS),
        c("object|idletime", 3, "readonly nondeterministic_output", Generic, &[ks("RO", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("object|refcount", 3, "readonly nondeterministic_output", Generic, &[ks("RO", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static PUBSUB_SUBCOMMANDS: [CommandSpec; 6] = [
        c("pubsub|channels", -2, "pubsub loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub|help", 2, "loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub|numpat", 2, "pubsub loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub|numsub", -2, "pubsub loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub|shardchannels", -2, "pubsub loading stale", PubSub, &[], NO_SUBCOMMANDS),
        c("pubsub|shardnumsub", -2, "pubsub loading stale", PubSub, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static SCRIPT_SUBCOMMANDS: [CommandSpec; 6] = [
        c("script|debug", 3, "noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("script|exists", -3, "noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("script|flush", -2, "noscript", Scripting, &[], NO_SUBCOMMANDS),
        c("script|help", 2, "loading stale", Scripting, &[], NO_SUBCOMMANDS),
        c("script|kill", 2, "noscript allow_busy", Scripting, &[], NO_SUBCOMMANDS),
        c("script|load", 3, "noscript stale", Scripting, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static SLOWLOG_SUBCOMMANDS: [CommandSpec; 4] = [
        c("slowlog|get", -2, "admin loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("slowlog|help", 2, "loading stale", Server, &[], NO_SUBCOMMANDS),
        c("slowlog|len", 2, "admin loading stale nondeterministic_output", Server, &[], NO_SUBCOMMANDS),
        c("slowlog|reset", 2, "admin loading stale", Server, &[], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static XGROUP_SUBCOMMANDS: [CommandSpec; 6] = [
        c("xgroup|create", -5, "write denyoom", Stream, &[ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xgroup|createconsumer", 5, "write denyoom", Stream, &[ks("RW insert", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xgroup|delconsumer", 5, "write", Stream, &[ks("RW delete", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xgroup|destroy", 4, "write", Stream, &[ks("RW delete", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xgroup|help", 2, "loading stale", Stream, &[], NO_SUBCOMMANDS),
        c("xgroup|setid", -5, "write", Stream, &[ks("RW update", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
    ];

    #[rustfmt::skip]
    static XINFO_SUBCOMMANDS: [CommandSpec; 4] = [
        c("xinfo|consumers", 4, "readonly nondeterministic_output", Stream, &[ks("RO access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xinfo|groups", 3, "readonly", Stream, &[ks("RO access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
        c("xinfo|help", 2, "loading stale", Stream, &[], NO_SUBCOMMANDS),
        c("xinfo|stream", -3, "readonly", Stream, &[ks("RO access", idx(2), range(0, 1, 0))], NO_SUBCOMMANDS),
    ];
    // END GENERATED
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a test command line on spaces; `""` stands for an empty argument.
    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|a| {
                if a == "\"\"" {
                    Bytes::new()
                } else {
                    Bytes::copy_from_slice(a.as_bytes())
                }
            })
            .collect()
    }

    fn spec(line: &str) -> &'static CommandSpec {
        match lookup(&argv(line)) {
            Some(spec) => spec,
            None => panic!("no command for {line:?}"),
        }
    }

    /// The part of a subcommand's name after "container|".
    fn sub_suffix(sub: &CommandSpec, skip: usize) -> &[u8] {
        sub.name.as_bytes().get(skip..).unwrap_or(&[])
    }

    fn keys(line: &str) -> Vec<usize> {
        let mut out = vec![99];
        spec(line).key_indices(&argv(line), &mut out);
        out
    }

    #[test]
    fn lookup_is_case_insensitive() {
        for name in ["get", "GET", "GeT"] {
            assert_eq!(spec(name).name, "get");
            assert_eq!(lookup_name(name.as_bytes()).map(|c| c.name), Some("get"));
        }
        assert_eq!(
            spec("GEORADIUSBYMEMBER_RO k m 1 km").name,
            "georadiusbymember_ro"
        );
    }

    #[test]
    fn lookup_unknown_is_none() {
        assert!(lookup(&argv("nosuchcommand a b")).is_none());
        assert!(lookup(&[]).is_none());
        assert!(lookup_name(b"").is_none());
        assert!(lookup_name(&[b'a'; 33]).is_none());
        assert!(lookup_name(&[b'a'; 1000]).is_none());
        assert!(lookup_name("gét".as_bytes()).is_none());
        // Subcommands are not top-level names.
        assert!(lookup_name(b"client|setname").is_none());
    }

    #[test]
    fn lookup_resolves_subcommands() {
        assert_eq!(spec("CLIENT SETNAME x").name, "client|setname");
        assert_eq!(spec("client SetName x").arity, 3);
        assert_eq!(spec("CLIENT").name, "client");
        assert_eq!(spec("CLIENT nosuchsub").name, "client");
        assert_eq!(spec("config get maxmemory").name, "config|get");
        assert_eq!(
            spec("CLUSTER COUNT-FAILURE-REPORTS n").name,
            "cluster|count-failure-reports"
        );
        assert_eq!(spec("xinfo STREAM k").name, "xinfo|stream");
        // Non-containers ignore argv[1].
        assert_eq!(spec("get setname").name, "get");
    }

    #[test]
    fn arity() {
        let get = spec("get");
        assert!(!get.arity_ok(1));
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
        let mget = spec("mget");
        assert!(!mget.arity_ok(1));
        assert!(mget.arity_ok(2));
        assert!(mget.arity_ok(100));
        let set = spec("set");
        assert!(!set.arity_ok(2));
        assert!(set.arity_ok(3));
        assert!(set.arity_ok(7));
        assert!(!spec("CLIENT SETNAME").arity_ok(2));
        assert!(spec("CLIENT SETNAME x").arity_ok(3));
        assert!(!spec("CLIENT").arity_ok(1));
    }

    #[test]
    fn blocking() {
        let blocks = |line: &str| spec(line).blocks(&argv(line));
        assert!(blocks("BLPOP a b 0"));
        assert!(blocks("blmove a b LEFT RIGHT 0"));
        assert!(blocks("bzmpop 0 1 z MIN"));
        assert!(blocks("WAIT 1 0"));
        assert!(!blocks("GET k"));
        assert!(!blocks("LPOP k"));
        assert!(!blocks("XREAD STREAMS s 0"));
        assert!(!blocks("XREAD COUNT 1 STREAMS s 0"));
        assert!(blocks("XREAD BLOCK 0 STREAMS s 0"));
        assert!(blocks("xread count 1 block 100 streams s 0"));
        // BLOCK after STREAMS is a key or an ID, not the option.
        assert!(!blocks("XREAD STREAMS BLOCK 0"));
        assert!(!blocks("XREADGROUP GROUP g c STREAMS s >"));
        assert!(blocks("XREADGROUP GROUP g c BLOCK 0 STREAMS s >"));
        // A group or consumer named BLOCK is not the option.
        assert!(!blocks("XREADGROUP GROUP BLOCK BLOCK STREAMS s >"));
        assert!(blocks("xreadgroup group g c noack block 5 streams s >"));
    }

    /// Expected indices checked against Redis 7.0.15 `COMMAND GETKEYS`.
    #[test]
    fn key_indices_match_redis() {
        let cases: &[(&str, &[usize])] = &[
            ("get k", &[1]),
            ("set k v", &[1]),
            ("set k v EX 10 GET", &[1]),
            ("mget a b c", &[1, 2, 3]),
            ("mset a 1 b 2", &[1, 3]),
            ("msetnx a 1 b 2", &[1, 3]),
            ("del a b c", &[1, 2, 3]),
            ("rename a b", &[1, 2]),
            ("copy a b", &[1, 2]),
            ("lmove a b LEFT RIGHT", &[1, 2]),
            ("blmove a b LEFT RIGHT 0", &[1, 2]),
            ("blpop a b 0", &[1, 2]),
            ("brpoplpush a b 0", &[1, 2]),
            ("lmpop 2 a b LEFT", &[2, 3]),
            ("blmpop 0 2 a b LEFT COUNT 1", &[3, 4]),
            ("zadd z 1 m", &[1]),
            ("zunionstore dst 2 a b WEIGHTS 1 2", &[1, 3, 4]),
            ("zinterstore dst 1 a", &[1, 3]),
            ("zunion 2 a b WITHSCORES", &[2, 3]),
            ("zintercard 2 a b LIMIT 1", &[2, 3]),
            ("sintercard 3 a b c", &[2, 3, 4]),
            ("zmpop 1 z MIN", &[2]),
            ("bzmpop 0 1 z MAX", &[3]),
            ("bzpopmin a b 0", &[1, 2]),
            ("zrangestore dst src 0 -1", &[1, 2]),
            ("eval script 2 k1 k2 a1", &[3, 4]),
            ("evalsha sha 0 a1", &[]),
            ("fcall fn 1 k a", &[3]),
            ("xread COUNT 1 STREAMS s1 s2 0 0", &[4, 5]),
            ("xread BLOCK 0 STREAMS s 0", &[4]),
            ("xreadgroup GROUP g c STREAMS s 0", &[5]),
            (
                "xreadgroup GROUP g c COUNT 1 NOACK STREAMS s1 s2 > >",
                &[8, 9],
            ),
            ("xadd s * f v", &[1]),
            ("xgroup create k g $", &[2]),
            ("xinfo stream k", &[2]),
            ("xclaim s g c 0 1-0", &[1]),
            ("sort k STORE d", &[1, 3]),
            ("sort k BY w_* GET o_* LIMIT 0 10 STORE d", &[1, 10]),
            ("sort_ro k BY w_*", &[1]),
            ("migrate host 6379 k 0 5000", &[3]),
            (
                "migrate host 6379 \"\" 0 5000 COPY REPLACE KEYS a b c",
                &[9, 10, 11],
            ),
            ("georadius k 0 0 1 km STORE d", &[1, 7]),
            ("georadiusbymember k m 1 km STOREDIST d", &[1, 6]),
            ("geosearchstore dst src FROMMEMBER m BYRADIUS 1 km", &[1, 2]),
            ("object encoding k", &[2]),
            ("memory usage k", &[2]),
            ("debug object k", &[]),
            ("bitop AND d a b", &[2, 3, 4]),
            ("bitfield k GET u8 0", &[1]),
            ("pfmerge d a b", &[1, 2, 3]),
            ("pfcount a b", &[1, 2]),
            ("smove a b m", &[1, 2]),
            ("touch a b", &[1, 2]),
            ("exists a b", &[1, 2]),
            ("watch a b", &[1, 2]),
            ("lcs a b", &[1, 2]),
            ("setrange k 0 v", &[1]),
            ("hset h f v", &[1]),
            ("GET K", &[1]),
            ("ping", &[]),
        ];
        for (line, expected) in cases {
            assert_eq!(keys(line), *expected, "{line}");
        }
    }

    /// Odd and malformed argv where Redis's answer comes from its quirks
    /// (spec order, fallback procedures, atoi, int truncation); checked
    /// against Redis 7.0.15 `COMMAND GETKEYS`.
    #[test]
    fn key_indices_match_redis_quirks() {
        let cases: &[(&str, &[usize])] = &[
            // Spec order, not argument order.
            ("georadius k 0 0 1 km STOREDIST b STORE a", &[1, 9, 7]),
            // Keyword search never looks at the last argument.
            ("georadius k 0 0 1 km STORE", &[1]),
            // Spec fails on "2x", the fallback's atoi reads 2, store key last.
            ("zunionstore d 2x a b", &[3, 4, 1]),
            // numkeys is narrowed to a C int: 4294967298 -> 2.
            ("zunionstore d 4294967298 a b", &[1, 3, 4]),
            ("eval s +2 k1 k2", &[3, 4]),
            ("eval s 3 k1 k2", &[]),
            ("zunionstore d 3 a b", &[]),
            // SORT: the last STORE wins, and STORE's key is scanned too.
            ("sort k STORE store x", &[1, 4]),
            ("migrate h p \"\" 0 5 AUTH KEYS KEYS a b", &[9, 10]),
            ("migrate h p k 0 5 KEYS a", &[]),
            ("xreadgroup STREAMS s1 s2 id1 id2 STREAMS v", &[2, 3, 4]),
            ("xread STREAMS STREAMS streams 0 0", &[2, 3]),
            ("xread STREAMS s1 s2 s3 0 0", &[2, 3]),
            ("xread COUNT 1 STREAMS s", &[]),
            // The spec fails (STREAMS right before the end), XREAD's own
            // option parser finds the first STREAMS.
            ("xreadgroup NOACK STREAMS a b c d STREAMS v", &[3, 4, 5]),
            ("xreadgroup COUNT STREAMS a b c d STREAMS v", &[]),
            // Shard channels are `not_key` specs: no keys.
            ("spublish ch msg", &[]),
            ("ssubscribe a b", &[]),
        ];
        for (line, expected) in cases {
            assert_eq!(keys(line), *expected, "{line}");
        }
    }

    #[test]
    fn keys_with_flags_tell_reads_from_writes() {
        let mut out = Vec::new();
        let line = "set k v";
        spec(line).keys_with_flags(&argv(line), &mut out);
        assert_eq!(out, [(1, KeyFlags::OW | KeyFlags::UPDATE)]);
        let line = "set k v GET";
        spec(line).keys_with_flags(&argv(line), &mut out);
        assert_eq!(
            out,
            [(1, KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE)]
        );
        let line = "sort k STORE d";
        spec(line).keys_with_flags(&argv(line), &mut out);
        assert_eq!(
            out,
            [
                (1, KeyFlags::RO | KeyFlags::ACCESS),
                (3, KeyFlags::OW | KeyFlags::UPDATE)
            ]
        );
        assert!(!out[0].1.modifies());
        assert!(out[1].1.modifies());
        let line = "bitfield k GET u8 0";
        spec(line).keys_with_flags(&argv(line), &mut out);
        assert_eq!(out, [(1, KeyFlags::RO | KeyFlags::ACCESS)]);
        let line = "bitfield k INCRBY u8 0 1";
        spec(line).keys_with_flags(&argv(line), &mut out);
        assert!(out[0].1.modifies());
        let line = "bitop AND d a b";
        spec(line).keys_with_flags(&argv(line), &mut out);
        let modified: Vec<usize> = out.iter().filter(|k| k.1.modifies()).map(|k| k.0).collect();
        assert_eq!(modified, [2]);
    }

    #[test]
    fn flags_and_groups() {
        let get = spec("get k");
        assert!(get.flags.contains(Flags::READONLY | Flags::FAST));
        assert!(!get.flags.contains(Flags::WRITE));
        assert_eq!(get.group, Group::String);
        assert_eq!(spec("zadd z 1 m").group.as_str(), "sorted-set");
        assert!(spec("eval s 0").flags.contains(Flags::MOVABLE_KEYS));
        assert!(spec("subscribe c").flags.contains(Flags::PUBSUB));
        assert!(spec("save").flags.contains(Flags::NO_MULTI));
        assert!(spec("config set a b").flags.contains(Flags::ADMIN));
        assert!(spec("randomkey")
            .flags
            .contains(Flags::NONDETERMINISTIC_OUTPUT));
        assert_eq!(
            Flags::READONLY.union(Flags::WRITE),
            Flags::READONLY | Flags::WRITE
        );
        assert_eq!(
            spec("xread STREAMS s 0").key_specs,
            &[KeySpec {
                begin: BeginSearch::Keyword {
                    keyword: "STREAMS",
                    start_from: 1
                },
                find: FindKeys::Range {
                    last_key: -1,
                    step: 1,
                    limit: 2
                },
                flags: KeyFlags::RO | KeyFlags::ACCESS,
            }]
        );
    }

    #[test]
    fn every_group_is_listed_at_its_own_index() {
        for (i, g) in Group::ALL.iter().enumerate() {
            assert_eq!(*g as usize, i, "{}", g.as_str());
        }
        for spec in all() {
            assert_eq!(Group::ALL[spec.group as usize], spec.group);
        }
    }

    #[test]
    fn respite_commands_are_in_the_table() {
        for (name, arity) in [
            ("msearch", -2),
            ("mget.material", -2),
            ("mset.material", -2),
            ("mdel.material", -2),
            ("minvalidate", 2),
            ("mwarm", -1),
            ("hotkeys", -1),
            ("health", -1),
            ("stats", -1),
            ("respite", -2),
        ] {
            let spec = lookup_name(name.to_uppercase().as_bytes()).expect(name);
            assert_eq!(
                (spec.name, spec.arity, spec.group),
                (name, arity, Group::Respite)
            );
        }
        assert!(lookup_name(b"MGET.MATERIA").is_none());
    }

    #[test]
    fn table_is_sorted_unique_and_complete() {
        let top = all();
        let own = top.iter().filter(|c| c.group == Group::Respite).count();
        assert_eq!(
            own, 10,
            "respite's own: HOTKEYS, HEALTH, STATS, RESPITE and the six catalogue commands"
        );
        assert_eq!(top.len() - own, 240, "Redis 7.0 has 240 top-level commands");
        let mut subs = 0;
        for pair in top.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} !< {}",
                pair[0].name,
                pair[1].name
            );
        }
        for cmd in top {
            assert!(cmd.name.len() <= MAX_NAME_LEN);
            assert!(!cmd.name.contains('|'));
            assert_eq!(cmd.name, cmd.name.to_ascii_lowercase());
            assert!(cmd.arity != 0, "{}", cmd.name);
            assert!(std::ptr::eq(
                lookup_name(cmd.name.to_uppercase().as_bytes()).unwrap(),
                cmd
            ));
            let skip = cmd.name.len() + 1;
            for pair in cmd.subcommands.windows(2) {
                assert!(sub_suffix(&pair[0], skip) < sub_suffix(&pair[1], skip));
            }
            for sub in cmd.subcommands {
                subs += 1;
                let (parent, child) = sub.name.split_once('|').unwrap();
                assert_eq!(parent, cmd.name);
                assert!(child.len() <= MAX_NAME_LEN);
                assert!(sub.subcommands.is_empty());
                let found = lookup(&[Bytes::from(cmd.name), Bytes::from(child.to_uppercase())]);
                assert!(std::ptr::eq(found.unwrap(), sub), "{}", sub.name);
            }
        }
        assert_eq!(subs, SUBCOMMAND_COUNT);
        assert_eq!(subs, 126, "Redis 7.0 has 126 subcommands");
        for name in [
            "get",
            "set",
            "xautoclaim",
            "lmpop",
            "function",
            "zmpop",
            "zintercard",
        ] {
            assert!(lookup_name(name.as_bytes()).is_some(), "{name}");
        }
    }

    /// No argv, however malformed, may panic or yield an out-of-range index.
    #[test]
    fn key_extraction_is_total() {
        let vocab = [
            "",
            "0",
            "1",
            "2",
            "3",
            "-1",
            "2x",
            "99999999999",
            "STREAMS",
            "STORE",
            "KEYS",
            "BLOCK",
            "GROUP",
            "COUNT",
            "LIMIT",
            "GET",
            "BY",
            "AUTH2",
            "a",
            "b",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut out = Vec::new();
        let mut specs: Vec<&CommandSpec> = all().iter().collect();
        specs.extend(all().iter().flat_map(|c| c.subcommands.iter()));
        for cmd in specs {
            let words: Vec<&str> = cmd.name.split('|').collect();
            for len in 0..10 {
                for _ in 0..20 {
                    let mut argv: Vec<Bytes> = words.iter().map(|w| Bytes::from(*w)).collect();
                    while argv.len() < len {
                        argv.push(Bytes::from(vocab[(next() % vocab.len() as u64) as usize]));
                    }
                    argv.truncate(len);
                    cmd.key_indices(&argv, &mut out);
                    assert!(out.iter().all(|&i| i < argv.len() && i > 0), "{}", cmd.name);
                    let _ = cmd.blocks(&argv);
                    let _ = lookup(&argv);
                }
            }
        }
    }

    #[test]
    fn name_hashing_is_case_insensitive_and_exact() {
        // SWAR lowercasing agrees with the byte-wise one for every byte value
        // at every position.
        for b in 0..=255u8 {
            for k in 0..8 {
                let w = u64::from(b) << (8 * k) | 0x4142_4344_4546_4748 & !(0xff << (8 * k));
                let expect = u64::from_le_bytes(w.to_le_bytes().map(|x| x.to_ascii_lowercase()));
                assert_eq!(lowercase_word(w), expect, "byte {b:#x} at {k}");
            }
        }
        // Runtime words equal compile-time words, whatever the case.
        let mut names: Vec<&str> = all().iter().map(|c| c.name).collect();
        names.extend(
            all()
                .iter()
                .flat_map(|c| c.subcommands.iter().filter_map(|s| s.name.split_once('|')))
                .map(|(_, s)| s),
        );
        names.push("abcdefghijklmnopqrstuvwxyz012345");
        for name in names {
            let upper = name.to_ascii_uppercase();
            assert_eq!(
                name_words(upper.as_bytes()),
                Some(const_name_words(name.as_bytes()))
            );
        }
        assert_eq!(name_words(&[b'x'; 33]), None);
        // Trailing NULs make the same words: the length check must reject.
        assert!(lookup_name(b"get\0").is_none());
        assert!(lookup(&argv("client setname\0 x")).is_some_and(|c| c.name == "client"));
    }

    #[test]
    fn c_semantics_helpers() {
        assert_eq!(c_atoi(b" +12x"), 12);
        assert_eq!(c_atoi(b"-3"), -3);
        assert_eq!(c_atoi(b"x"), 0);
        assert_eq!(c_atoi(b"4294967298"), 2);
        assert_eq!(c_atoi(b"99999999999999999999999"), -1);
        assert_eq!(parse_string2ll_nonneg(b"0"), Some(0));
        assert_eq!(parse_string2ll_nonneg(b"12"), Some(12));
        for bad in [
            &b""[..],
            b"01",
            b"+1",
            b"-1",
            b" 1",
            b"1x",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_string2ll_nonneg(bad), None);
        }
        assert!(c_eq(b"STORE", "store"));
        assert!(c_eq(b"get\0junk", "get"));
        assert!(!c_eq(b"gets", "get"));
    }

    /// Cross-checks key extraction against a live Redis 7.0 `COMMAND GETKEYS`
    /// on many generated argv's for every command. Read-only for the server.
    /// Run: `RESPITE_LIVE_REDIS=127.0.0.1:6379 cargo test -- --ignored live`.
    #[test]
    #[ignore = "needs a live Redis 7.0 (RESPITE_LIVE_REDIS, default 127.0.0.1:6379)"]
    fn live_redis_getkeys_agrees() {
        use std::io::{BufRead, BufReader, Write};
        use std::net::TcpStream;

        fn read_reply(r: &mut impl BufRead) -> Option<Vec<Vec<u8>>> {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let n: usize = match line.as_bytes()[0] {
                b'-' => return None,
                b'*' => line[1..].trim_end().parse().unwrap(),
                _ => panic!("unexpected reply {line:?}"),
            };
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                line.clear();
                r.read_line(&mut line).unwrap();
                let len: usize = line[1..].trim_end().parse().unwrap();
                let mut buf = vec![0; len + 2];
                r.read_exact(&mut buf).unwrap();
                buf.truncate(len);
                items.push(buf);
            }
            Some(items)
        }

        let addr = std::env::var("RESPITE_LIVE_REDIS").unwrap_or_else(|_| "127.0.0.1:6379".into());
        let mut conn = TcpStream::connect(addr).unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let vocab = [
            "",
            "0",
            "1",
            "2",
            "3",
            "1",
            "2",
            "-1",
            "02",
            "+1",
            "2x",
            "4294967298",
            "STREAMS",
            "STORE",
            "STOREDIST",
            "KEYS",
            "BLOCK",
            "COUNT",
            "GROUP",
            "NOACK",
            "LIMIT",
            "GET",
            "BY",
            "AUTH",
            "AUTH2",
            "COPY",
            "SET",
            "INCRBY",
            "OVERFLOW",
            "streams",
            "store",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Redis does not know respite's own commands.
        let mut specs: Vec<&CommandSpec> = all()
            .iter()
            .filter(|c| !c.is_container() && c.group != Group::Respite)
            .collect();
        specs.extend(all().iter().flat_map(|c| c.subcommands.iter()));
        let (mut checked, mut unique) = (0, 0);
        let mut out = Vec::new();
        for cmd in specs {
            // Argument-dependent key positions get many more tries.
            let movable =
                cmd.keys_fallback != KeysFallback::None || cmd.flags.contains(Flags::MOVABLE_KEYS);
            for _ in 0..if movable { 3000 } else { 100 } {
                let min = cmd.arity.unsigned_abs() as usize;
                let len = if cmd.arity > 0 {
                    min
                } else {
                    min + (next() % 12) as usize
                };
                let mut argv: Vec<Bytes> = cmd.name.split('|').map(Bytes::from).collect();
                while argv.len() < len {
                    if next() % 3 != 0 {
                        argv.push(Bytes::from(vocab[(next() % vocab.len() as u64) as usize]));
                    } else {
                        unique += 1;
                        argv.push(Bytes::from(format!("k{unique}")));
                    }
                }
                if argv.len() < 2 {
                    continue; // COMMAND GETKEYS needs at least one argument
                }
                let mut req = format!("*{}\r\n$7\r\nCOMMAND\r\n$7\r\nGETKEYS\r\n", argv.len() + 2)
                    .into_bytes();
                for a in &argv {
                    req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                    req.extend_from_slice(a);
                    req.extend_from_slice(b"\r\n");
                }
                conn.write_all(&req).unwrap();
                let theirs = read_reply(&mut reader).unwrap_or_default();
                let found = lookup(&argv).unwrap();
                found.key_indices(&argv, &mut out);
                let ours: Vec<Vec<u8>> = out.iter().map(|&i| argv[i].to_vec()).collect();
                let line: Vec<_> = argv.iter().map(|a| String::from_utf8_lossy(a)).collect();
                assert_eq!(ours, theirs, "{line:?}");
                checked += 1;
            }
        }
        assert!(checked > 100_000, "checked {checked}");
    }
}
