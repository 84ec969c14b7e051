#!/usr/bin/env python3
"""Materials catalogue benchmark: MSEARCH and MGET.MATERIAL through respite,
served from L1 (hit) and from the stores (miss), in one run.

Method
------
The harness builds a private, complete deployment and tears it down again:

* its own Postgres database ``respite_bench_<pid>`` on 127.0.0.1:5432 (user
  ``postgres``, created and dropped with ``psql``; ``--keep-db NAME`` reuses or
  keeps a seeded one instead, together with the qdrant-edge directory under
  ``--data-dir``, so repeated runs need not reseed);
* its own ``redis-server`` on a free port (as ``load.py``: bind to port 0),
  which is respite's upstream and therefore the catalogue's L2;
* a config file in a temporary directory: admin endpoint off, no demo seeding
  on start, the Postgres database above as relational store and an embedded
  qdrant-edge directory as vector store;
* ``respite seed --count N --batch 1000`` (timed: records/s), skipped when the
  database and vector directory already hold the catalogue;
* ``respite serve`` on a free port, waited for by PING and then by polling
  ``MGET.MATERIAL probe`` (bounded) until it stops answering "not open".

Workloads, each as its own run (so respite's INFO counters before/after a run
belong to that run), repeated for ``--rounds`` rounds; medians are reported:

* ``MSEARCH <query> LIMIT 10`` hit: a fixed query, warmed first so L1 holds it.
  ``redis-benchmark -c 1`` (latency) and ``-c 16`` (throughput).
* ``MSEARCH`` miss: the query contains redis-benchmark's ``__rand_int__``
  placeholder and ``-r 100000000``, so every request is a new query that
  misses L1 and L2 and goes to the embedder, the vector store and Postgres.
  ``-c 1`` and ``-c 16``, ``--miss-requests`` requests.
* ``MGET.MATERIAL`` of 1 and of 10 ids, hit: fixed ids (m-000001...), warmed.
  ``-c 1`` and ``-c 16``.
* ``MGET(10)``: plain ``MGET`` of 10 keys through respite, hit in L1 (the
  values are the L2 JSON of the 10 materials above, so the bytes moved are
  comparable): the baseline for ``MGET.MATERIAL(10)``.
* ``MGET.MATERIAL`` of 1 and of 10 ids, miss: ids never read before (a seeded
  random permutation of the catalogue minus the hit ids, each id used once).
  redis-benchmark cannot send a different valid id per request, so a small
  RESP client in Python sends them over one connection and times each request
  with ``time.perf_counter_ns`` (p50/p99, requests/s). Its own overhead (tens
  of microseconds) is included; the same client also measures the hit case
  (``python`` rows) so the two can be compared like for like. Before each miss
  run the harness checks on the private Redis that none of the run's ids has
  an L2 key (any read through respite would have written one).

Every run records respite's ``INFO l1`` / ``INFO materials`` counters before
and after; the report shows the L1 hit rate and store reads per request of
each workload, which confirms what tier actually answered.

Targets (ratios computed per round from the paired runs, then the median):

* MSEARCH miss p50 / hit p50 (``-c 1``) >= 100, and the same on throughput:
  hit rps / miss rps (``-c 16``) >= 100;
* MGET.MATERIAL(10) hit p50 / MGET(10) hit p50 (``-c 1``) <= 1.5, and
  MGET(10) rps / MGET.MATERIAL(10) rps (``-c 16``) <= 1.5.

Helpers (free ports, server start/stop, RESP, redis-benchmark CSV parsing,
tables) come from ``benches/load.py``. The exit status is 0 whenever
everything ran, whether or not targets were met; 1 if something failed; 130
on Ctrl-C or SIGTERM (after cleaning up). Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True   # no benches/__pycache__ in the work tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402  (benches/load.py: the shared harness helpers)
from load import HOST, HarnessError, Server  # noqa: E402

REPO_ROOT = load.REPO_ROOT
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"

DEFAULT_COUNT = 100_000
DEFAULT_REQUESTS = 20_000
DEFAULT_MISS_REQUESTS = 2_000
DEFAULT_ROUNDS = 3
SEED_BATCH = 1000
CLIENTS = (1, 16)
RAND_RANGE = 100_000_000
PREFIX = "rag_materials:"           # [materials] prefix (the default)
MGET_KEY = "bench:mget:{}"
WARM_READS = 5                       # > [l1] admit_min_reads (2)
HIT_IDS = 10
MARKER = "seeded.json"               # in --data-dir: what was seeded there

LATENCY_TARGET = 100.0               # MSEARCH miss/hit
MGET_TARGET = 1.5                    # MGET.MATERIAL(10) / MGET(10)


def log(message: str) -> None:
    print(f"materials.py: {message}", file=sys.stderr, flush=True)


load.log = log   # load's helpers (start_server, ...) log through this


def material_id(n: int) -> str:
    return f"m-{n:06d}"              # src/materials/seed.rs: ids m-000001 ...


# --------------------------------------------------------------------------
# Postgres (through psql)
# --------------------------------------------------------------------------

def psql(args, sql: str, db: str = "postgres", timeout: float = 120.0) -> str:
    argv = [args.psql, "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db,
            "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError) as err:
        raise HarnessError(f"psql failed: {err}") from err
    if done.returncode != 0:
        raise HarnessError(f"psql {sql!r} on {db}: {done.stderr.strip()}")
    return done.stdout.strip()


def db_exists(args, name: str) -> bool:
    return psql(args, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def create_db(args, name: str) -> None:
    log(f"creating Postgres database {name}")
    psql(args, f'CREATE DATABASE "{name}"')


def drop_db(args, name: str) -> None:
    log(f"dropping Postgres database {name}")
    psql(args, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def db_rows(args, name: str) -> int:
    """Rows in the materials table, 0 when it does not exist yet."""
    if psql(args, "SELECT to_regclass('public.materials') IS NOT NULL", db=name) != "t":
        return 0
    return int(psql(args, "SELECT count(*) FROM materials", db=name))


def db_has_ids(args, name: str, ids: list[str]) -> bool:
    quoted = ", ".join(f"'{i}'" for i in ids)
    got = psql(args, f"SELECT count(*) FROM materials WHERE id IN ({quoted})", db=name)
    return int(got) == len(set(ids))


# --------------------------------------------------------------------------
# The deployment
# --------------------------------------------------------------------------

def write_config(path: Path, redis_port: int, db: str, vectors: Path,
                 store_timeout_ms: int | None = None) -> None:
    """respite's config; `store_timeout_ms` overrides [materials] timeout_ms."""
    timeout = "" if store_timeout_ms is None else f"timeout_ms = {store_timeout_ms}\n"
    text = f"""# written by benches/materials.py
[server]
admin = "off"

[upstream]
url = "redis://{HOST}:{redis_port}"

[materials]
seed_on_empty = 0
{timeout}
[materials.relational]
url = "postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}"

[materials.vector]
backend = "edge"
path = {json.dumps(str(vectors))}
"""
    path.write_text(text, encoding="utf-8")


def respite_binary(args) -> Path:
    binary = Path(args.respite_bin)
    if not binary.is_absolute():
        binary = Path.cwd() / binary
    if not binary.is_file():
        raise HarnessError(f"{binary} does not exist: build it (cargo build --release) "
                           "or pass --respite-bin")
    return binary


def needs_seeding(args, db: str, data_dir: Path) -> str:
    """Why seeding is needed ('' when the catalogue is already there)."""
    rows = db_rows(args, db)
    if rows < args.count:
        return f"database {db} has {rows} rows"
    if not db_has_ids(args, db, [material_id(1), material_id(args.count)]):
        return f"database {db} lacks {material_id(1)} or {material_id(args.count)}"
    try:
        marker = json.loads((data_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{data_dir / MARKER} is missing (vector store not known to be seeded)"
    if marker.get("db") != db or int(marker.get("count", 0)) < args.count:
        return f"{data_dir / MARKER} says {marker}, not db={db} count>={args.count}"
    return ""


def seed(args, binary: Path, config: Path, db: str, log_dir: Path) -> dict:
    """Run `respite seed`; return what it did (for the report)."""
    argv = [str(binary), "seed", "--count", str(args.count), "--batch", str(SEED_BATCH),
            "--config", str(config)]
    log(f"seeding: {shlex.join(argv)}")
    log_path = log_dir / "seed.log"
    started = time.monotonic()
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        next_report = started + 15
        while True:
            try:
                status = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > started + args.seed_timeout:
                raise HarnessError(f"respite seed took over {args.seed_timeout:g}s")
            if time.monotonic() > next_report:
                next_report += 15
                try:
                    rows = db_rows(args, db)
                except HarnessError:
                    rows = -1
                log(f"seeding: {rows} rows after {time.monotonic() - started:.0f}s")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    elapsed = time.monotonic() - started
    output = ANSI.sub("", log_path.read_text(errors="replace"))
    if status != 0:
        raise HarnessError(f"respite seed exited with {status}:\n{output[-2000:]}")
    match = re.search(r"seed: (\d+) written, (\d+) rejected", output)
    written = int(match.group(1)) if match else args.count
    if written != args.count:
        raise HarnessError(f"respite seed wrote {written} of {args.count}:\n{output[-2000:]}")
    log(f"seeded {written} materials in {elapsed:.1f}s ({written / elapsed:,.0f} records/s)")
    for problem in log_problems(log_path):
        log(f"respite seed logged: {problem}")
    return {"seeded": True, "records": written, "seconds": elapsed,
            "records_per_s": written / elapsed, "log_problems": log_problems(log_path),
            "output": output.strip()[-500:]}


ANSI = re.compile(r"\x1b\[[0-9;]*m")
LEVEL = re.compile(r"\s(WARN|ERROR)\s+(.*)")


def log_problems(path: Path) -> list[str]:
    """Distinct WARN/ERROR messages of a log (colour codes stripped), with counts."""
    try:
        text = ANSI.sub("", path.read_text(errors="replace"))
    except OSError:
        return []
    counts: dict[str, int] = {}
    for line in text.splitlines():
        match = LEVEL.search(line)
        if match:
            message = f"{match.group(1)} {match.group(2)}"
            counts[message] = counts.get(message, 0) + 1
    return [f"{n}x {message}" for message, n in counts.items()][:50]


def start_respite(args, binary: Path, config: Path, log_dir: Path) -> Server:
    port = load.free_port()
    argv = [str(binary), "serve", "--config", str(config), "--listen", f"{HOST}:{port}"]
    return load.start_server("respite", argv, port, log_dir, args.startup_timeout)


def call(port: int, *cmd: str, timeout: float = 30.0):
    return load.resp_pipeline(port, [cmd], timeout=timeout)[0]


def wait_catalogue_open(args, respite: Server) -> float:
    """Poll MGET.MATERIAL probe until the stores are open; seconds waited."""
    started = time.monotonic()
    while True:
        respite.ensure_alive()
        reply = call(respite.port, "MGET.MATERIAL", "probe")
        if not isinstance(reply, HarnessError):
            return time.monotonic() - started
        if "not open" not in str(reply):
            raise HarnessError(f"MGET.MATERIAL probe answered: {reply}")
        if time.monotonic() - started > args.open_timeout:
            raise HarnessError(f"the catalogue did not open within {args.open_timeout:g}s: "
                               f"{reply}; log tail:\n{respite.log_tail()}")
        time.sleep(0.2)


def check_reply(what: str, reply) -> None:
    if isinstance(reply, HarnessError):
        raise HarnessError(f"{what} answered an error: {reply}")


def info_counters(port: int) -> dict[str, int]:
    """Numeric fields of respite's INFO l1 and INFO materials, and each
    command's calls and usec from INFO commandstats (as cmd_<name>_calls,
    cmd_<name>_usec)."""
    text = call(port, "INFO", "l1", "materials", "commandstats")
    check_reply("INFO", text)
    out = {}
    for line in text.decode(errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if key.startswith("cmdstat_"):
            fields = dict(kv.split("=", 1) for kv in value.split(",") if "=" in kv)
            name = key.removeprefix("cmdstat_")
            for f in ("calls", "usec"):
                if fields.get(f, "").isdigit():
                    out[f"cmd_{name}_{f}"] = int(fields[f])
        elif sep and value.strip().isdigit():
            out[key] = int(value)
    return out


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Bench:
    key: str                        # stable name, used in JSON
    label: str                      # row label
    client: str                     # "redis-benchmark" or "python"
    miss: bool
    command: tuple[str, ...] = ()   # redis-benchmark: [-r N] CMD ARGS...
    ids_per_request: int = 0        # python: MGET.MATERIAL width

    def argv(self, bench: str, port: int | str, clients: int, requests: int) -> list[str]:
        return [bench, "-h", HOST, "-p", str(port), "-c", str(clients), "-n", str(requests),
                "-P", "1", "-q", "--csv", *self.command]


def benches(args) -> list[Bench]:
    hit1 = (material_id(1),)
    hit10 = tuple(material_id(i) for i in range(1, HIT_IDS + 1))
    return [
        # respite answers PING itself: the loopback round trip every reply
        # pays, measured in the same run, so hit latencies can be read
        # against it.
        Bench("ping_floor", "PING (round-trip floor)", "redis-benchmark", False, ("PING",)),
        Bench("msearch_hit", "MSEARCH hit", "redis-benchmark", False,
              ("MSEARCH", args.query, "LIMIT", "10")),
        Bench("mget_material_1_hit", "MGET.MATERIAL(1) hit", "redis-benchmark", False,
              ("MGET.MATERIAL", *hit1)),
        Bench("mget_material_10_hit", "MGET.MATERIAL(10) hit", "redis-benchmark", False,
              ("MGET.MATERIAL", *hit10)),
        Bench("mget_10_hit", "MGET(10) hit (plain keys)", "redis-benchmark", False,
              ("MGET", *(MGET_KEY.format(i) for i in range(HIT_IDS)))),
        Bench("py_mget_material_1_hit", "MGET.MATERIAL(1) hit [python]", "python", False,
              ids_per_request=1),
        Bench("py_mget_material_10_hit", "MGET.MATERIAL(10) hit [python]", "python", False,
              ids_per_request=10),
        Bench("py_mget_material_1_miss", "MGET.MATERIAL(1) miss [python]", "python", True,
              ids_per_request=1),
        Bench("py_mget_material_10_miss", "MGET.MATERIAL(10) miss [python]", "python", True,
              ids_per_request=10),
        Bench("msearch_miss", "MSEARCH miss", "redis-benchmark", True,
              ("-r", str(RAND_RANGE), "MSEARCH", args.miss_query, "LIMIT", "10")),
    ]


@dataclass
class Run:
    bench: str
    label: str
    client: str
    clients: int
    round: int
    argv: list[str]
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    wall_s: float
    counters: dict[str, int]        # respite INFO deltas over the run
    warnings: list[str] = field(default_factory=list)

    def l1_hit_rate(self) -> float:
        hits, misses = self.counters.get("l1_hits", 0), self.counters.get("l1_misses", 0)
        return hits / (hits + misses) if hits + misses else math.nan

    def store_reads_per_req(self) -> float:
        return self.counters.get("materials_store_reads", 0) / self.requests

    def service_us(self) -> float:
        """respite's own time per command (INFO commandstats usec/calls over
        the run: from reading the request to its reply being ready)."""
        name = "mget.material" if self.client == "python" else command_name(self.argv)
        calls = self.counters.get(f"cmd_{name}_calls", 0)
        usec = self.counters.get(f"cmd_{name}_usec", 0)
        return usec / calls if calls else math.nan


def command_name(argv: list[str]) -> str:
    """The command a redis-benchmark argv runs (after --csv and any -r N)."""
    rest = argv[argv.index("--csv") + 1:] if "--csv" in argv else []
    if rest[:1] == ["-r"]:
        rest = rest[2:]
    return rest[0].lower() if rest else ""


def counter_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after
            if k.startswith(("l1_", "materials_", "cmd_"))}


def run_redis_benchmark(args, bench: Bench, clients: int, requests: int, round_no: int,
                        servers: dict[str, Server]) -> Run:
    port = servers["respite"].port
    argv = bench.argv(args.redis_benchmark, port, clients, requests)
    before = info_counters(port)
    started = time.monotonic()
    status, stdout, stderr_text = load.run_watched(argv, servers, args.run_timeout)
    wall = time.monotonic() - started
    load.check_servers(servers)
    after = info_counters(port)
    stderr = [line for line in stderr_text.splitlines() if line.strip()]
    if status != 0 or any("error" in line.lower() for line in stderr):
        raise HarnessError(f"redis-benchmark failed (status {status}): {shlex.join(argv)}\n    "
                           + "\n    ".join(stderr or ["(no stderr)"])
                           + f"\n  respite log tail:\n{servers['respite'].log_tail()}")
    row = load.parse_csv(stdout)
    return Run(bench=bench.key, label=bench.label, client=bench.client, clients=clients,
               round=round_no, argv=argv, requests=requests, rps=float(row["rps"]),
               p50_ms=float(row["p50_latency_ms"]), p99_ms=float(row["p99_latency_ms"]),
               wall_s=wall, counters=counter_delta(before, after), warnings=stderr)


def percentile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    rank = max(1, math.ceil(q * len(sorted_ns)))
    return sorted_ns[rank - 1] / 1e6


_CRLF = b"\r\n"
_LINE_TYPES = frozenset(b"+-:,#_(")      # one line each
_BULK_TYPES = frozenset(b"$=!")          # length line + payload
_AGG_TYPES = frozenset(b"*~>")           # n elements (maps "%" and "|" have 2n)


def resp_skip(buf: bytes, pos: int) -> int:
    """End of the RESP value starting at `pos`, or -1 if `buf` holds only part of it.

    Walks the structure without building objects: load.resp_read builds
    Python objects for every field and costs ~0.5 ms on a 10-material reply,
    which would swamp the latency measured by the Python client.
    """
    nl = buf.find(_CRLF, pos)
    if nl < 0:
        return -1
    kind = buf[pos]
    if kind in _LINE_TYPES:
        return nl + 2
    n = int(buf[pos + 1:nl])
    if kind in _BULK_TYPES:
        end = nl + 2 if n < 0 else nl + 4 + n
        return end if end <= len(buf) else -1
    if kind == ord("%") or kind == ord("|"):
        n *= 2
    elif kind not in _AGG_TYPES:
        raise HarnessError(f"unexpected RESP type byte {chr(kind)!r}")
    pos = nl + 2
    for _ in range(max(n, 0)):
        pos = resp_skip(buf, pos)
        if pos < 0:
            return -1
    return pos


def top_level_elements(buf: bytes) -> list[bytes]:
    """The first line of each element of a complete top-level array reply."""
    nl = buf.find(_CRLF)
    if buf[:1] != b"*":
        raise HarnessError(f"expected an array reply, got {bytes(buf[:200])!r}")
    heads, pos = [], nl + 2
    for _ in range(int(buf[1:nl])):
        heads.append(bytes(buf[pos:buf.find(_CRLF, pos)]))
        pos = resp_skip(buf, pos)
    return heads


def run_python(args, bench: Bench, id_lists: list[list[str]], round_no: int,
               servers: dict[str, Server]) -> Run:
    """One request per id list over a single connection, timed one by one.

    A request is timed from just before sendall to the moment its whole
    reply has arrived (the reply's structure is walked, not decoded; the
    elements are checked for nil/errors after the clock stops).
    """
    port = servers["respite"].port
    before = info_counters(port)
    requests = [load.resp_encode("MGET.MATERIAL", *ids) for ids in id_lists]
    times = []
    with socket.create_connection((HOST, port), timeout=args.request_timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        recv = sock.recv
        wall_start = time.perf_counter_ns()
        for ids, request in zip(id_lists, requests):
            t0 = time.perf_counter_ns()
            sock.sendall(request)
            buf = recv(1 << 16)
            while resp_skip(buf, 0) != len(buf):
                chunk = recv(1 << 16)
                if not chunk:
                    raise HarnessError("respite closed the connection")
                buf += chunk
            times.append(time.perf_counter_ns() - t0)
            heads = top_level_elements(buf)
            if len(heads) != len(ids) or any(h in (b"$-1", b"*-1", b"_") or h[:1] == b"-"
                                             for h in heads):
                raise HarnessError(f"MGET.MATERIAL {' '.join(ids)} answered "
                                   f"{bytes(buf[:300])!r}")
        wall_ns = time.perf_counter_ns() - wall_start
    load.check_servers(servers)
    after = info_counters(port)
    times.sort()
    return Run(bench=bench.key, label=bench.label, client="python", clients=1, round=round_no,
               argv=[], requests=len(id_lists), rps=len(id_lists) / (wall_ns / 1e9),
               p50_ms=percentile(times, 0.50), p99_ms=percentile(times, 0.99),
               wall_s=wall_ns / 1e9, counters=counter_delta(before, after))


# --------------------------------------------------------------------------
# Preparation
# --------------------------------------------------------------------------

def warm(args, servers: dict[str, Server], bench_list: list[Bench]) -> dict:
    """Fill L1 for the hit workloads and set the plain MGET keys."""
    proxy, redis = servers["respite"].port, servers["redis"].port
    hit10 = [material_id(i) for i in range(1, HIT_IDS + 1)]
    for bench in bench_list:
        if bench.client == "redis-benchmark" and not bench.miss and bench.command[0] != "MGET":
            for _ in range(WARM_READS):
                reply = call(proxy, *bench.command)
                check_reply(bench.command[0], reply)
            if not reply or (isinstance(reply, list) and None in reply):
                raise HarnessError(f"{shlex.join(bench.command)} answered {str(reply)[:300]}: "
                                   "is the catalogue seeded?")
    # The plain MGET baseline moves the same bytes: each key holds the L2
    # JSON of one hit material.
    stored = call(redis, "MGET", *(PREFIX + "material:" + i for i in hit10))
    check_reply("MGET (L2 keys)", stored)
    values = [v if v else b"x" * 512 for v in stored]
    if not all(stored):
        log("warning: some hit materials have no L2 copy; MGET baseline uses 512-byte values")
    pairs = [x for i, v in enumerate(values) for x in (MGET_KEY.format(i), v)]
    check_reply("MSET", call(redis, "MSET", *pairs))
    mget = next(b for b in bench_list if b.key == "mget_10_hit")
    for _ in range(WARM_READS):
        check_reply("MGET", call(proxy, *mget.command))
    search = next(b for b in bench_list if b.key == "msearch_hit")
    hits = call(proxy, *search.command)
    return {"msearch_hit_results": len(hits),
            "material_json_bytes": [len(v) for v in values]}


def miss_plan(args, rounds: int) -> tuple[list[list[str]], int]:
    """A permutation of never-read ids, cut into per-round pools; requests per run."""
    pool = [material_id(i) for i in range(HIT_IDS + 1, args.count + 1)]
    random.Random(args.shuffle_seed).shuffle(pool)
    per_round = len(pool) // rounds
    requests = min(args.miss_requests, per_round // 11)   # 1 + 10 ids per request pair
    if requests < 10:
        raise HarnessError(f"--count {args.count} is too small for {rounds} rounds of "
                           "MGET.MATERIAL misses")
    if requests < args.miss_requests:
        log(f"MGET.MATERIAL miss runs limited to {requests} requests by the catalogue size "
            f"({args.count} materials, {rounds} rounds, each id read once)")
    return [pool[r * per_round:(r + 1) * per_round] for r in range(rounds)], requests


def assert_unread(redis_port: int, ids: list[str]) -> None:
    """No id of `ids` has an L2 key, so nothing read it through respite."""
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        n = call(redis_port, "EXISTS", *(PREFIX + "material:" + i for i in chunk))
        check_reply("EXISTS", n)
        if n:
            raise HarnessError(f"{n} of the miss ids already have an L2 copy: "
                               "something read them before the miss run")


# --------------------------------------------------------------------------
# Rounds
# --------------------------------------------------------------------------

def run_rounds(args, servers: dict[str, Server], bench_list: list[Bench]) -> tuple[list[Run], int]:
    pools, miss_n = miss_plan(args, args.rounds)
    hit1 = [[material_id(1)]]
    hit10 = [[material_id(i) for i in range(1, HIT_IDS + 1)]]
    runs: list[Run] = []

    def record(run: Run) -> None:
        runs.append(run)
        log(f"round {run.round} {run.label} -c {run.clients}: p50 {run.p50_ms:.3f} ms, "
            f"p99 {run.p99_ms:.3f} ms, {run.rps:,.0f} rps, L1 hit "
            f"{fmt_pct(run.l1_hit_rate())}, store reads/req {run.store_reads_per_req():.2f}")

    for round_no in range(1, args.rounds + 1):
        pool = pools[round_no - 1]
        miss1 = [[i] for i in pool[:miss_n]]
        miss10 = [pool[miss_n + 10 * k: miss_n + 10 * (k + 1)] for k in range(miss_n)]
        for bench in bench_list:
            if bench.client == "redis-benchmark":
                n = args.miss_requests if bench.miss else args.requests
                for clients in CLIENTS:
                    record(run_redis_benchmark(args, bench, clients, n, round_no, servers))
                continue
            if bench.miss:
                lists = miss1 if bench.ids_per_request == 1 else miss10
                assert_unread(servers["redis"].port, [i for ids in lists for i in ids])
            else:
                lists = (hit1 if bench.ids_per_request == 1 else hit10) * miss_n
            record(run_python(args, bench, lists, round_no, servers))
    return runs, miss_n


# --------------------------------------------------------------------------
# Summary and report
# --------------------------------------------------------------------------

def fmt_pct(value: float) -> str:
    return f"{value * 100:.0f}%" if math.isfinite(value) else "n/a"


def medians_by(runs: list[Run]) -> dict[tuple[str, int], dict[str, float]]:
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.bench, run.clients), []).append(run)
    return {key: {"p50_ms": load.median([r.p50_ms for r in rs]),
                  "p99_ms": load.median([r.p99_ms for r in rs]),
                  "rps": load.median([r.rps for r in rs]),
                  "l1_hit_rate": load.median([r.l1_hit_rate() for r in rs]),
                  "store_reads_per_req": load.median([r.store_reads_per_req() for r in rs]),
                  "service_us": load.median([r.service_us() for r in rs]),
                  "requests": rs[0].requests, "rounds": len(rs)}
            for key, rs in groups.items()}


@dataclass
class Ratio:
    name: str
    op: str
    bound: float
    per_round: list[float]

    @property
    def value(self) -> float:
        return load.median(self.per_round)

    def verdict(self) -> str:
        v = self.value
        if not math.isfinite(v):
            return "n/a"
        if self.op == "info":
            return "-"
        return "PASS" if (v >= self.bound if self.op == ">=" else v <= self.bound) else "MISS"


def measure(run: Run, metric: str) -> float:
    """A field of `run`, or the value of its method of that name."""
    value = getattr(run, metric)
    return value() if callable(value) else value


def ratios(runs: list[Run]) -> list[Ratio]:
    by = {(r.bench, r.clients, r.round): r for r in runs}
    rounds = sorted({r.round for r in runs})

    def per_round(num: tuple[str, int], den: tuple[str, int], metric: str) -> list[float]:
        out = []
        for rnd in rounds:
            a, b = by.get((*num, rnd)), by.get((*den, rnd))
            if a and b:
                out.append(load.ratio(measure(a, metric), measure(b, metric)))
        return out

    return [
        Ratio("MSEARCH miss p50 / hit p50 (-c 1)", ">=", LATENCY_TARGET,
              per_round(("msearch_miss", 1), ("msearch_hit", 1), "p50_ms")),
        Ratio("MSEARCH miss / hit, respite's own time per request (-c 1)", "info", math.nan,
              per_round(("msearch_miss", 1), ("msearch_hit", 1), "service_us")),
        Ratio("MSEARCH hit p50 / PING p50 (-c 1)", "info", math.nan,
              per_round(("msearch_hit", 1), ("ping_floor", 1), "p50_ms")),
        Ratio("MSEARCH hit rps / miss rps (-c 16)", "info", math.nan,
              per_round(("msearch_hit", 16), ("msearch_miss", 16), "rps")),
        Ratio("MGET.MATERIAL(10) hit p50 / MGET(10) hit p50 (-c 1)", "<=", MGET_TARGET,
              per_round(("mget_material_10_hit", 1), ("mget_10_hit", 1), "p50_ms")),
        Ratio("MGET(10) hit rps / MGET.MATERIAL(10) hit rps (-c 16)", "info", math.nan,
              per_round(("mget_10_hit", 16), ("mget_material_10_hit", 16), "rps")),
    ]


def results_table(bench_list: list[Bench], med: dict) -> tuple[list[str], list[list[str]]]:
    headers = ["workload", "client", "requests", "p50 ms (c1)", "p99 ms (c1)", "rps (c1)",
               "p50 ms (c16)", "p99 ms (c16)", "rps (c16)", "L1 hit", "store reads/req",
               "respite us/req (c1)"]
    body = []
    for bench in bench_list:
        c1, c16 = med.get((bench.key, 1)), med.get((bench.key, 16))
        if c1 is None:
            continue
        cells = [bench.label, bench.client, f"{c1['requests']:,}",
                 load.fmt(c1["p50_ms"], ".3f"), load.fmt(c1["p99_ms"], ".3f"),
                 load.fmt(c1["rps"], ",.0f")]
        if c16:
            cells += [load.fmt(c16["p50_ms"], ".3f"), load.fmt(c16["p99_ms"], ".3f"),
                      load.fmt(c16["rps"], ",.0f")]
        else:
            cells += ["-", "-", "-"]
        cells += [fmt_pct(c1["l1_hit_rate"]), load.fmt(c1["store_reads_per_req"], ".2f"),
                  load.fmt(c1["service_us"], ".1f")]
        body.append(cells)
    return headers, body


def report(args, meta: dict, bench_list: list[Bench], runs: list[Run],
           ratio_list: list[Ratio]) -> str:
    md = args.markdown
    bullet = "- " if md else "  "
    out = [load.heading("respite materials catalogue benchmark", md), "",
           "Command:", ""]
    out += (["```", meta["command"], "```"] if md else ["  " + meta["command"]])
    seed_info = meta["seeding"]
    if seed_info.get("seeded"):
        seeding = (f"{seed_info['records']:,} records in {seed_info['seconds']:.1f}s "
                   f"({seed_info['records_per_s']:,.0f} records/s, batch {SEED_BATCH})")
    else:
        seeding = "not needed (reused --keep-db database and --data-dir vectors)"
    facts = [f"respite: {meta['respite_cmd']}",
             f"respite binary: {meta['respite_bin']} (modified {meta['respite_bin_mtime']}), "
             f"tree {meta['git']}",
             f"catalogue: {meta['db_rows']:,} materials, Postgres database {meta['db']} "
             f"+ qdrant-edge {meta['vectors']}",
             f"seeding: {seeding}",
             f"catalogue open after {meta['open_wait_s']:.1f}s",
             f"nproc: {meta['nproc']}; load average at start: {meta['loadavg']}",
             f"redis: {meta['redis_version']}",
             f"rounds: {meta['rounds']} (medians reported; ratios are medians of per-round "
             "ratios)",
             f"requests per run: hits {meta['requests']:,}, MSEARCH miss "
             f"{meta['miss_requests']:,}, MGET.MATERIAL miss/[python] "
             f"{meta['python_requests']:,}"]
    out += ["", *[bullet + f for f in facts], "",
            "redis-benchmark command lines (-c 1 and -c 16; PORT = respite):", ""]
    cmds = [shlex.join(b.argv(args.redis_benchmark, "PORT", 16,
                              args.miss_requests if b.miss else args.requests))
            for b in bench_list if b.client == "redis-benchmark"]
    out += (["```", *cmds, "```"] if md else ["  " + c for c in cmds])
    out += ["", load.render_table(*results_table(bench_list, medians_by(runs)), md), ""]
    out += [load.heading("ratios (targets from issue 4; the others for reading)", md), ""]
    headers = ["ratio", "value", "target", "verdict", "per round"]
    body = [[r.name, load.fmt(r.value, ".2f"),
             "-" if r.op == "info" else f"{r.op} {r.bound:g}", r.verdict(),
             " ".join(load.fmt(v, ".2f") for v in r.per_round)] for r in ratio_list]
    out += [load.render_table(headers, body, md), ""]
    notes = [
        "p50/p99 in milliseconds; rps = requests per second. c1 = one connection "
        "(latency), c16 = 16 connections (throughput); -P 1 throughout.",
        "[python] rows: one connection, a Python RESP client timing each request with "
        "perf_counter_ns; its own overhead (tens of microseconds per request, more for "
        "10-material replies, whose structure it walks) is included, so compare them with "
        "the [python] hit rows, not with redis-benchmark rows.",
        "L1 hit = respite INFO l1_hits/(l1_hits+l1_misses) over the -c 1 run (an MSEARCH "
        "miss shows 50%: its search-generation lookup is an L1 hit, the query a miss); "
        "store reads/req = INFO materials_store_reads per request (a search costs 2: "
        "vector search + record fetch), 0 when no request reached the stores.",
        "MGET(10) keys hold the same JSON as the 10 MGET.MATERIAL ids' L2 copies.",
    ]
    out += [bullet + n for n in notes]
    problems = meta["respite_log_problems"] + meta["seeding"].get("log_problems", [])
    if problems:
        out += ["", "respite logged (distinct WARN/ERROR messages, serve then seed):", ""]
        out += [bullet + p for p in problems]
    return "\n".join(out)


def write_json(path: str, meta: dict, runs: list[Run], bench_list: list[Bench],
               ratio_list: list[Ratio]) -> None:
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    med = medians_by(runs)
    data = {"meta": meta, "runs": [asdict(r) for r in runs],
            "summary": [{"bench": k[0], "clients": k[1], **v} for k, v in med.items()],
            "ratios": [{"name": r.name, "op": r.op, "bound": r.bound, "value": r.value,
                        "verdict": r.verdict(), "per_round": r.per_round} for r in ratio_list]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(clean(data), f, indent=2, ensure_ascii=False)
        f.write("\n")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (uncommitted changes)' if dirty else ''}"


def benchmark(args) -> None:
    bench_list = benches(args)
    binary = respite_binary(args)
    servers: dict[str, Server] = {}
    keep = args.keep_db is not None
    db = args.keep_db if keep else f"respite_bench_{os.getpid()}"
    created = False
    tmp = Path(tempfile.mkdtemp(prefix="respite-materials-"))
    try:
        if keep:
            data_dir = Path(args.data_dir).resolve()
            data_dir.mkdir(parents=True, exist_ok=True)
            if not db_exists(args, db):
                create_db(args, db)
        else:
            data_dir = tmp
            if db_exists(args, db):
                raise HarnessError(f"database {db} already exists")
            create_db(args, db)
            created = True
        vectors = data_dir / "vectors"
        servers["redis"] = load.start_redis(args, tmp)
        config = tmp / "respite.toml"
        write_config(config, servers["redis"].port, db, vectors)
        seed_config = tmp / "seed.toml"
        write_config(seed_config, servers["redis"].port, db, vectors, args.seed_store_timeout_ms)
        why = needs_seeding(args, db, data_dir)
        if why:
            log(f"seeding needed: {why}")
            (data_dir / MARKER).unlink(missing_ok=True)
            seeding = seed(args, binary, seed_config, db, tmp)
            (data_dir / MARKER).write_text(json.dumps({"db": db, "count": args.count}) + "\n",
                                           encoding="utf-8")
        else:
            log(f"database {db} and {vectors} already hold {args.count} materials: not seeding")
            seeding = {"seeded": False}
        rows = db_rows(args, db)
        servers["respite"] = start_respite(args, binary, config, tmp)
        open_wait = wait_catalogue_open(args, servers["respite"])
        log(f"catalogue open after {open_wait:.1f}s")
        warmed = warm(args, servers, bench_list)
        meta = {"command": shlex.join(["python3", *sys.argv]),
                "respite_cmd": shlex.join(servers["respite"].proc.args),
                "respite_bin": str(binary),
                "respite_bin_mtime": time.strftime("%Y-%m-%d %H:%M",
                                                   time.localtime(binary.stat().st_mtime)),
                "git": git_state(), "db": db, "db_rows": rows, "vectors": str(vectors),
                "count": args.count, "seeding": seeding, "open_wait_s": open_wait,
                "nproc": os.cpu_count(), "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                "redis_version": load.redis_version(args), "rounds": args.rounds,
                "requests": args.requests, "miss_requests": args.miss_requests,
                "warm": warmed, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        runs, python_n = run_rounds(args, servers, bench_list)
        meta["python_requests"] = python_n
        load.check_servers(servers)
        meta["respite_log_problems"] = log_problems(servers["respite"].log_path)
    finally:
        for name in ("respite", "redis"):
            if name in servers:
                servers[name].stop()
        if created:
            try:
                drop_db(args, db)
            except HarnessError as err:
                log(f"could not drop database {db}: {err}")
        shutil.rmtree(tmp, ignore_errors=True)
    ratio_list = ratios(runs)
    if args.json:
        write_json(args.json, meta, runs, bench_list, ratio_list)
        log(f"raw results written to {args.json}")
    for warning in sorted({w for run in runs for w in run.warnings}):
        log(f"redis-benchmark said: {warning}")
    for line in meta["respite_log_problems"]:
        log(f"respite logged: {line}")
    print(report(args, meta, bench_list, runs, ratio_list))


def positive_int(text: str) -> int:
    return load.positive_int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark respite's materials catalogue (MSEARCH, MGET.MATERIAL) "
                    "from L1 and from the stores, against a private Redis and Postgres "
                    "database.")
    parser.add_argument("--count", type=positive_int, default=DEFAULT_COUNT,
                        help=f"materials to seed (default {DEFAULT_COUNT})")
    parser.add_argument("--requests", "-n", type=positive_int, default=DEFAULT_REQUESTS,
                        help=f"requests per hit run (default {DEFAULT_REQUESTS})")
    parser.add_argument("--miss-requests", type=positive_int, default=DEFAULT_MISS_REQUESTS,
                        help=f"requests per miss run (default {DEFAULT_MISS_REQUESTS}; "
                             "MGET.MATERIAL misses are also capped by --count)")
    parser.add_argument("--rounds", type=positive_int, default=DEFAULT_ROUNDS,
                        help=f"rounds (default {DEFAULT_ROUNDS}); medians are reported")
    parser.add_argument("--respite-bin",
                        default=os.environ.get("RESPITE_BIN")
                        or str(REPO_ROOT / "target/release/respite"),
                        help="respite binary (default $RESPITE_BIN, else "
                             "target/release/respite)")
    parser.add_argument("--keep-db", metavar="NAME",
                        help="use (create if missing) and keep Postgres database NAME; "
                             "seeds only if it lacks the catalogue; needs --data-dir")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="with --keep-db: where the qdrant-edge vectors persist")
    parser.add_argument("--query", default="цемент м500",
                        help="the MSEARCH hit query (default %(default)r)")
    parser.add_argument("--miss-query", default="цемент __rand_int__",
                        help="the MSEARCH miss query, with __rand_int__ (default %(default)r)")
    parser.add_argument("--shuffle-seed", type=int, default=1,
                        help="seed of the miss-id permutation (default 1)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", metavar="FILE", help="write every run and the medians")
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--redis-benchmark", default="redis-benchmark")
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--startup-timeout", type=float, default=30.0,
                        help="seconds for each server to answer PING (default 30)")
    parser.add_argument("--open-timeout", type=float, default=300.0,
                        help="seconds for the catalogue to open (default 300)")
    parser.add_argument("--seed-timeout", type=float, default=7200.0,
                        help="seconds respite seed may take (default 7200)")
    parser.add_argument("--seed-store-timeout-ms", type=positive_int, default=300_000,
                        help="[materials] timeout_ms for respite seed only (default 300000; "
                             "qdrant-edge upserts can exceed the 5000 ms default while it "
                             "reorganises segments, failing whole batches); serving keeps "
                             "the default")
    parser.add_argument("--run-timeout", type=float, default=900.0,
                        help="seconds one redis-benchmark run may take (default 900)")
    parser.add_argument("--request-timeout", type=float, default=30.0,
                        help="seconds one Python-client request may take (default 30)")
    args = parser.parse_args(argv)
    if (args.keep_db is None) != (args.data_dir is None):
        parser.error("--keep-db and --data-dir go together")
    if args.keep_db is not None and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", args.keep_db):
        parser.error("--keep-db: use a plain lower-case name ([a-z_][a-z0-9_]*)")
    if "__rand_int__" not in args.miss_query:
        parser.error("--miss-query must contain __rand_int__")
    if args.count <= HIT_IDS:
        parser.error(f"--count must be more than {HIT_IDS}")
    return args


def raise_interrupt(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)   # run the finally: blocks
    try:
        benchmark(args)
    except HarnessError as err:
        log(f"FAILED: {err}")
        return 1
    except KeyboardInterrupt as err:
        log(f"interrupted ({err or 'SIGINT'}); cleaned up")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
