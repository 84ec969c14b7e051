#!/usr/bin/env python3
"""Generate the command rows of src/command/table.rs from a live Redis.

The proxy's command table (arity, flags, group, key specs, subcommands) is a
set of protocol facts. Rather than typing ~370 rows by hand, this script asks
a running Redis for them with the read-only introspection commands
`COMMAND` and `COMMAND DOCS` (only the `group` field of the docs is used; no
doc text is emitted) and prints Rust rows, one per command.

Usage:
    scripts/gen-command-table.py [--host 127.0.0.1] [--port 6379]
        [--write src/command/table.rs]

Without --write the generated block is printed to stdout. With --write the
block between the `// BEGIN GENERATED` and `// END GENERATED` markers of the
given file is replaced in place (the block lives inside `mod rows` and is
indented accordingly). Its tables are `#[rustfmt::skip]` so that each command
stays on one line; `cargo fmt` leaves them alone.

Things Redis does not expose and that are therefore maintained here:
  * KEYS_FALLBACK: which commands have a native "getkeys" procedure in Redis
    (used when the key specs are incomplete, unknown, carry variable flags, or
    fail on the given argv). The Rust side emulates those procedures.
  * EXTRA_FLAGS: deliberate, documented additions to Redis's flags.
  * RESPITE_COMMANDS: respite's own commands, which Redis does not know;
    they join the same table (group "respite") so arity and lookup work
    the same way for them.
"""

import argparse
import socket
import sys

# Commands with a native key-extraction procedure in Redis 7.0, and the
# variant of it. See `KeysFallback` in table.rs.
KEYS_FALLBACK = {
    "sort": "Sort",
    "sort_ro": "SortRo",
    "migrate": "Migrate",
    "set": "Set",
    "bitfield": "Bitfield",
    "georadius": "Georadius",
    "georadiusbymember": "Georadius",
    "xread": "Xread",
    "xreadgroup": "Xread",
    # (store-key offset, numkeys offset, first-key offset), 0 = no store key
    "zunionstore": "Numkeys { store: 1, count: 2, first: 3 }",
    "zinterstore": "Numkeys { store: 1, count: 2, first: 3 }",
    "zdiffstore": "Numkeys { store: 1, count: 2, first: 3 }",
    "zunion": "Numkeys { store: 0, count: 1, first: 2 }",
    "zinter": "Numkeys { store: 0, count: 1, first: 2 }",
    "zdiff": "Numkeys { store: 0, count: 1, first: 2 }",
    "zintercard": "Numkeys { store: 0, count: 1, first: 2 }",
    "sintercard": "Numkeys { store: 0, count: 1, first: 2 }",
    "lmpop": "Numkeys { store: 0, count: 1, first: 2 }",
    "zmpop": "Numkeys { store: 0, count: 1, first: 2 }",
    "blmpop": "Numkeys { store: 0, count: 2, first: 3 }",
    "bzmpop": "Numkeys { store: 0, count: 2, first: 3 }",
    "eval": "Numkeys { store: 0, count: 2, first: 3 }",
    "evalsha": "Numkeys { store: 0, count: 2, first: 3 }",
    "eval_ro": "Numkeys { store: 0, count: 2, first: 3 }",
    "evalsha_ro": "Numkeys { store: 0, count: 2, first: 3 }",
    "fcall": "Numkeys { store: 0, count: 2, first: 3 }",
    "fcall_ro": "Numkeys { store: 0, count: 2, first: 3 }",
}

# WAIT holds the client until replicas acknowledge (or the timeout passes),
# so for the proxy it is a blocking command even though Redis 7.0 does not
# flag it (later Redis versions do).
EXTRA_FLAGS = {"wait": ["blocking"]}

# respite's own commands, in COMMAND's shape: name, arity, flags, first key,
# last key, step, ACL categories, tips, key specs, subcommands. They take no
# Redis keys (the catalogue derives its cache keys itself).
RESPITE_COMMANDS = [
    ["hotkeys", -1, ["readonly", "fast"], 0, 0, 0, [], [], [], []],
    ["msearch", -2, ["readonly"], 0, 0, 0, [], [], [], []],
    ["mget.material", -2, ["readonly"], 0, 0, 0, [], [], [], []],
    ["mset.material", -2, ["write", "denyoom"], 0, 0, 0, [], [], [], []],
    ["mdel.material", -2, ["write"], 0, 0, 0, [], [], [], []],
    ["minvalidate", 2, ["write"], 0, 0, 0, [], [], [], []],
    ["mwarm", -1, [], 0, 0, 0, [], [], [], []],
    ["health", -1, ["loading", "stale", "fast"], 0, 0, 0, [], [], [], []],
    ["stats", -1, ["loading", "stale"], 0, 0, 0, [], [], [], []],
    ["respite", -2, ["admin", "loading", "stale"], 0, 0, 0, [], [], [], []],
]

# Redis flag / tip name -> the token our const parser in table.rs accepts.
KNOWN_FLAGS = {
    "write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
    "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
    "no_auth", "may_replicate", "no_mandatory_keys", "no_async_loading",
    "no_multi", "movablekeys", "allow_busy",
}
KNOWN_TIPS = {"nondeterministic_output", "nondeterministic_output_order"}
KNOWN_KEY_FLAGS = {
    "RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
    "not_key", "incomplete", "variable_flags",
}
GROUPS = {
    "generic": "Generic", "string": "String", "list": "List", "set": "Set",
    "sorted-set": "SortedSet", "hash": "Hash", "pubsub": "PubSub",
    "transactions": "Transactions", "connection": "Connection",
    "server": "Server", "scripting": "Scripting",
    "hyperloglog": "HyperLogLog", "cluster": "Cluster",
    "sentinel": "Sentinel", "geo": "Geo", "stream": "Stream",
    "bitmap": "Bitmap", "module": "Module", "respite": "Respite",
}


class Resp:
    """Minimal RESP2 client: enough for COMMAND and COMMAND DOCS."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.rd = self.sock.makefile("rb")

    def call(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.rd.readline()
        if not line.endswith(b"\r\n"):
            raise RuntimeError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.rd.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("unexpected RESP type %r" % line)


def pairs(flat):
    """RESP2 renders maps as flat [k, v, k, v, ...] arrays."""
    return dict(zip(flat[0::2], flat[1::2]))


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_spec(raw):
    spec = pairs(raw)
    flags = spec["flags"]
    for f in flags:
        if f not in KNOWN_KEY_FLAGS:
            sys.exit("unknown key spec flag %r" % f)
    bs = pairs(spec["begin_search"])
    bs_spec = pairs(bs["spec"])
    if bs["type"] == "index":
        begin = "idx(%d)" % bs_spec["index"]
    elif bs["type"] == "keyword":
        begin = "kw(%s, %d)" % (rust_str(bs_spec["keyword"]), bs_spec["startfrom"])
    elif bs["type"] == "unknown":
        begin = "BS_UNKNOWN"
    else:
        sys.exit("unknown begin_search type %r" % bs["type"])
    fk = pairs(spec["find_keys"])
    fk_spec = pairs(fk["spec"])
    if fk["type"] == "range":
        find = "range(%d, %d, %d)" % (
            fk_spec["lastkey"], fk_spec["keystep"], fk_spec["limit"])
    elif fk["type"] == "keynum":
        find = "keynum(%d, %d, %d)" % (
            fk_spec["keynumidx"], fk_spec["firstkey"], fk_spec["keystep"])
    elif fk["type"] == "unknown":
        find = "FK_UNKNOWN"
    else:
        sys.exit("unknown find_keys type %r" % fk["type"])
    return "ks(%s, %s, %s)" % (rust_str(" ".join(flags)), begin, find)


def const_name(container):
    return container.upper().replace("-", "_") + "_SUBCOMMANDS"


def row(info, group, subs_const):
    name, arity, flags, _first, _last, _step, _acl, tips, specs, _subs = info[:10]
    words = list(flags)
    for f in words:
        if f not in KNOWN_FLAGS:
            sys.exit("unknown command flag %r on %s" % (f, name))
    words += [t for t in tips if t in KNOWN_TIPS]
    words += [f for f in EXTRA_FLAGS.get(name, []) if f not in words]
    if group not in GROUPS:
        sys.exit("unknown group %r on %s" % (group, name))
    specs_rs = "&[" + ", ".join(key_spec(s) for s in specs) + "]"
    subs_rs = "&" + subs_const if subs_const else "NO_SUBCOMMANDS"
    text = "c(%s, %d, %s, %s, %s, %s)" % (
        rust_str(name), arity, rust_str(" ".join(words)), GROUPS[group],
        specs_rs, subs_rs)
    fallback = KEYS_FALLBACK.get(name)
    if fallback:
        text += ".keys_fallback(KeysFallback::%s)" % fallback
    return text + ","


def generate(host, port):
    r = Resp(host, port)
    version = pairs(
        [x for line in r.call("INFO", "server").splitlines() if ":" in line
         for x in line.split(":", 1)])["redis_version"]
    infos = sorted(r.call("COMMAND") + RESPITE_COMMANDS,
                   key=lambda c: c[0].encode())
    docs = pairs(r.call("COMMAND", "DOCS"))
    for own in RESPITE_COMMANDS:
        docs[own[0]] = ["group", "respite"]
    out = []
    out.append("// @generated by scripts/gen-command-table.py from Redis %s"
               " (COMMAND, COMMAND DOCS)." % version)
    out.append("// Do not edit by hand: change the script and re-run it.")
    top = []
    sub_blocks = []
    total_subs = 0
    for info in infos:
        name = info[0]
        doc = pairs(docs[name])
        subs = sorted(info[9] or [], key=lambda c: c[0].encode())
        subs_const = const_name(name) if subs else None
        top.append("    " + row(info, doc["group"], subs_const))
        if subs:
            sub_docs = pairs(doc.get("subcommands") or [])
            lines = ["#[rustfmt::skip]",
                     "static %s: [CommandSpec; %d] = [" % (subs_const, len(subs))]
            for s in subs:
                sdoc = pairs(sub_docs[s[0]])
                lines.append("    " + row(s, sdoc["group"], None))
                total_subs += 1
            lines.append("];")
            sub_blocks.append("\n".join(lines))
    missing = set(KEYS_FALLBACK) - {i[0] for i in infos}
    if missing:
        sys.exit("KEYS_FALLBACK names unknown commands: %s" % sorted(missing))
    out.append("")
    out.append("/// Number of subcommands over all containers.")
    out.append("pub(super) const SUBCOMMAND_COUNT: usize = %d;" % total_subs)
    out.append("")
    out.append("#[rustfmt::skip]")
    out.append("pub(super) static COMMANDS: [CommandSpec; %d] = [" % len(infos))
    out.extend(top)
    out.append("];")
    for block in sub_blocks:
        out.append("")
        out.append(block)
    # The block sits inside `mod rows { ... }` in table.rs: indent it.
    text = "\n".join(out)
    return "".join(("    " + l if l else l) + "\n" for l in text.split("\n"))


BEGIN = "    // BEGIN GENERATED\n"
END = "    // END GENERATED\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--write", metavar="FILE",
                    help="replace the generated block of FILE in place")
    args = ap.parse_args()
    block = generate(args.host, args.port)
    if not args.write:
        sys.stdout.write(block)
        return
    with open(args.write) as f:
        text = f.read()
    start = text.find(BEGIN)
    end = text.find(END)
    if start < 0 or end < start:
        sys.exit("%s: markers %r / %r not found" % (args.write, BEGIN, END))
    text = text[:start + len(BEGIN)] + block + text[end:]
    with open(args.write, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
