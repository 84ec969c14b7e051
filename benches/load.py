#!/usr/bin/env python3
"""Load harness: respite versus a direct Redis, measured in one run.

Method
------
The harness starts its own ``redis-server`` and a ``respite`` in front of it,
each on a free port found by binding port 0 (it never touches a Redis on 6379),
and waits for each with a bounded PING poll. It then drives both with
``redis-benchmark`` (Redis 7.0 tools):

* Every measurement is one ``redis-benchmark`` invocation running ONE test, so
  the server CPU consumed in between can be attributed to that test.
* A *round* runs every workload (test x pipeline depth) against the direct
  Redis and through the proxy, back to back. The order alternates per round
  (round 1 direct->proxy, round 2 proxy->direct, ...) so slow drift (thermal,
  page cache, a noisy neighbour) cancels out.
* Server CPU is read from ``/proc/PID/stat`` (utime + stime, in clock ticks of
  ``1/SC_CLK_TCK`` s, summed over all threads) before and after each run.
  Direct runs cost Redis's CPU; proxy runs cost respite's CPU plus Redis's.
  Dividing by the request count gives CPU microseconds per request. On a
  2-core machine ``redis-benchmark`` itself is usually the bottleneck, so
  throughput alone hides the proxy's overhead; CPU per request does not.
* Reported values are medians over rounds. Ratios (proxy/direct) are computed
  per round, from the paired runs, and then the median is taken.

Suites: ``passthrough`` (SET GET INCR LPUSH HSET MGET at -P 1 and -P 16),
``hot`` (GET and a 10-key MGET over 1000 pre-populated keys, plus a -c 1 GET
latency run), ``all``. See benches/README.md.

The exit status is 0 whenever everything ran, whether or not targets were
met (the output is a report); 1 if a server or redis-benchmark failed; 130 on
Ctrl-C. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

DEFAULT_REQUESTS = 200_000
DEFAULT_ROUNDS = 3
CLIENTS = 50
DEPTHS = (1, 16)
HOT_KEY_COUNT = 1000          # redis-benchmark -r 1000 -> key:000000000000..999
HOT_VALUE = b"xxx"            # the size redis-benchmark uses by default (-d 3)
MGET_KEYS = 10
RAND_KEY = "key:__rand_int__"
LOW_TICKS = 50                # below this, +-1 tick is a >2% error: flag it

STOP_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
BUILD_TIMEOUT_S = 3600.0

CSV_COLUMNS = ("test", "rps", "avg_latency_ms", "min_latency_ms",
               "p50_latency_ms", "p95_latency_ms", "p99_latency_ms",
               "max_latency_ms")


class HarnessError(Exception):
    """Something failed to run; the report would be meaningless."""


# --------------------------------------------------------------------------
# A minimal RESP client: enough for PING, pre-population and a sanity GET.
# --------------------------------------------------------------------------

def resp_encode(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def resp_read(reader: io.BufferedReader):
    """Read one reply. Errors are returned as HarnessError instances."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("connection closed mid-reply")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        return HarnessError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        return None if size < 0 else reader.read(size + 2)[:-2]
    if kind == b"*":
        size = int(body)
        return None if size < 0 else [resp_read(reader) for _ in range(size)]
    raise ConnectionError(f"unexpected RESP reply {line!r}")


def resp_pipeline(port: int, commands: list[tuple], timeout: float = 10.0) -> list:
    """Send all commands in one write, return their replies in order."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(b"".join(resp_encode(*cmd) for cmd in commands))
        with sock.makefile("rb") as reader:
            return [resp_read(reader) for _ in commands]


def answers_ping(port: int) -> bool:
    try:
        return resp_pipeline(port, [("PING",)], timeout=1.0) == [b"PONG"]
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------------------
# Server processes
# --------------------------------------------------------------------------

def free_port() -> int:
    """A port the kernel considers free right now (bind to 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    """utime + stime of a whole process (all threads), in clock ticks.

    Field 2 of /proc/PID/stat is ``(comm)`` and may contain spaces or ')',
    so split after the LAST ')'. What follows starts at field 3 (state), so
    fields 14 and 15 are at indexes 11 and 12.
    """
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
        stat = f.read()
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    " + line for line in text[-lines:]) or "    (empty log)"

    def ensure_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise HarnessError(
                f"{self.name} (pid {self.proc.pid}) exited with status {code}; "
                f"log tail:\n{self.log_tail()}")

    def cpu_ticks(self) -> int:
        self.ensure_alive()
        return cpu_ticks(self.proc.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after STOP_TIMEOUT_S."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s, killing it")
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)


def start_server(name: str, argv: list[str], port: int, log_dir: Path,
                 timeout: float) -> Server:
    """Spawn argv (logging to log_dir) and wait until it answers PING on port.

    Servers get their own session so a terminal Ctrl-C reaches only the
    harness, which then stops them in order.
    """
    log_path = log_dir / f"{name}.log"
    log(f"starting {name}: {shlex.join(argv)}")
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, port, proc, log_path)
    deadline = time.monotonic() + timeout
    while not answers_ping(port):
        server.ensure_alive()
        if time.monotonic() > deadline:
            server.stop()
            raise HarnessError(f"{name} did not answer PING on port {port} "
                               f"within {timeout:g}s; log tail:\n{server.log_tail()}")
        time.sleep(POLL_INTERVAL_S)
    return server


def start_redis(args, log_dir: Path) -> Server:
    port = free_port()
    argv = [args.redis_server, "--port", str(port), "--bind", HOST,
            "--save", "", "--appendonly", "no", "--daemonize", "no"]
    return start_server("redis", argv, port, log_dir, args.startup_timeout)


def respite_binary(args) -> Path:
    """The respite binary to run, building it first if it is missing."""
    binary = Path(args.respite_bin)
    if binary.is_file():
        return binary
    if args.no_build:
        raise HarnessError(f"{binary} does not exist (and --no-build was given)")
    log(f"{binary} is missing: running cargo build --release in {REPO_ROOT}")
    try:
        subprocess.run(["cargo", "build", "--release"], cwd=REPO_ROOT, check=True,
                       timeout=BUILD_TIMEOUT_S, stdout=sys.stderr)
    except (OSError, subprocess.SubprocessError) as err:
        raise HarnessError(f"cargo build --release failed: {err}") from err
    if not binary.is_file():
        raise HarnessError(f"cargo build --release did not produce {binary}")
    return binary


def start_respite(args, redis: Server, log_dir: Path) -> Server:
    port = free_port()
    argv = [str(respite_binary(args)),
            "--listen", f"{HOST}:{port}",
            "--upstream", f"redis://{HOST}:{redis.port}",
            "--admin", "off", *args.respite_arg]
    return start_server("respite", argv, port, log_dir, args.startup_timeout)


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    suite: str
    test: str                  # label in the report
    depth: int                 # -P
    clients: int               # -c
    command: tuple[str, ...]   # "-t x" or "[-r N] CMD ARGS..."
    latency: bool = False      # report p50/p99 in the latency table

    def argv(self, bench: str, port: int | str, requests: int) -> list[str]:
        return [bench, "-h", HOST, "-p", str(port), "-c", str(self.clients),
                "-n", str(requests), "-P", str(self.depth), "-q", "--csv",
                *self.command]


MGET_HOT = ("MGET",) + (RAND_KEY,) * MGET_KEYS


def passthrough_workloads() -> list[Workload]:
    # redis-benchmark 7.0 has no built-in "mget" test (-t silently skips
    # unknown names), so MGET is a custom command. Without -r the
    # placeholder stays literal, exactly like the keys of -t get.
    tests = [(name.upper(), ("-t", name)) for name in ("set", "get", "incr", "lpush", "hset")]
    tests.append((f"MGET({MGET_KEYS})", MGET_HOT))
    return [Workload("passthrough", label, depth, CLIENTS, command)
            for label, command in tests for depth in DEPTHS]


def hot_workloads() -> list[Workload]:
    rand = ("-r", str(HOT_KEY_COUNT))
    tests = [("GET", rand + ("-t", "get")), (f"MGET({MGET_KEYS})", rand + MGET_HOT)]
    workloads = [Workload("hot", label, depth, CLIENTS, command)
                 for label, command in tests for depth in DEPTHS]
    workloads.append(Workload("hot", "GET", 1, 1, rand + ("-t", "get"), latency=True))
    return workloads


SUITES = {"passthrough": passthrough_workloads, "hot": hot_workloads}


def hot_key(i: int) -> str:
    return f"key:{i:012d}"   # what -r substitutes for __rand_int__


def populate_hot_keys(servers: dict[str, Server]) -> None:
    """SET the hot key space through each server, then read a key back.

    Through respite too: it checks the proxy's write and read paths before
    measuring, and a stand-in "proxy" with its own store gets the keys.
    """
    for server in servers.values():
        try:
            replies = resp_pipeline(server.port, [("SET", hot_key(i), HOT_VALUE)
                                                  for i in range(HOT_KEY_COUNT)])
            replies += resp_pipeline(server.port, [("GET", hot_key(HOT_KEY_COUNT - 1))])
        except (OSError, ValueError) as err:
            raise HarnessError(f"pre-populating hot keys via {server.name} failed: {err}") from err
        if replies != [b"OK"] * HOT_KEY_COUNT + [HOT_VALUE]:
            bad = [r for r in replies if r not in (b"OK", HOT_VALUE)]
            raise HarnessError(f"pre-populating hot keys via {server.name} failed: {bad[:3]}")


# --------------------------------------------------------------------------
# One measured redis-benchmark run
# --------------------------------------------------------------------------

@dataclass
class Run:
    suite: str
    test: str
    depth: int
    clients: int
    latency: bool
    round: int
    target: str                # "direct" or "proxy"
    argv: list[str]
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    wall_s: float
    cpu_ticks: dict[str, int]  # per server, over this run
    client_cpu_s: float        # redis-benchmark's own user+sys CPU
    warnings: list[str] = field(default_factory=list)

    def cpu_us_per_req(self, *names: str) -> float:
        ticks = sum(self.cpu_ticks[name] for name in names)
        return ticks / CLK_TCK * 1e6 / self.requests

    def server_ticks(self) -> int:
        return sum(self.cpu_ticks[name] for name in server_names(self.target))


def server_names(target: str) -> tuple[str, ...]:
    """The processes whose CPU a request to `target` costs."""
    return ("redis",) if target == "direct" else ("respite", "redis")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_csv(stdout: str) -> dict[str, str]:
    """The single data row of `redis-benchmark --csv` output."""
    rows = list(csv.reader(io.StringIO(stdout)))
    rows = [row for row in rows if row]
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        raise HarnessError(f"unexpected redis-benchmark CSV header: {rows[:1]}")
    if len(rows) != 2:
        raise HarnessError(f"expected exactly one result row, got {len(rows) - 1}: "
                           f"{stdout.strip()!r}")
    return dict(zip(CSV_COLUMNS, rows[1]))


def run_watched(argv: list[str], servers: dict[str, Server], timeout: float) -> tuple[int, str, str]:
    """Run argv to completion, failing early if a server dies meanwhile.

    redis-benchmark can hang rather than exit when its server goes away, so
    the servers are polled while it runs, and the whole run is bounded.
    Returns (status, stdout, stderr).
    """
    deadline = time.monotonic() + timeout
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=POLL_INTERVAL_S * 10)
                return proc.returncode, stdout, stderr
            except subprocess.TimeoutExpired:
                check_servers(servers)
                if time.monotonic() > deadline:
                    raise HarnessError(f"timed out after {timeout:g}s: {shlex.join(argv)}")
    finally:
        if proc.poll() is None:   # error, timeout or Ctrl-C: do not leave it behind
            proc.kill()
            proc.communicate()


def run_benchmark(args, workload: Workload, target: str, round_no: int,
                  servers: dict[str, Server]) -> Run:
    port = servers["redis" if target == "direct" else "respite"].port
    argv = workload.argv(args.redis_benchmark, port, args.requests)
    before = {name: server.cpu_ticks() for name, server in servers.items()}
    client_before = children_cpu_s()
    start = time.monotonic()
    status, stdout, stderr_text = run_watched(argv, servers, args.run_timeout)
    wall = time.monotonic() - start
    client_cpu = children_cpu_s() - client_before
    after = {name: server.cpu_ticks() for name, server in servers.items()}  # checks liveness
    stderr = [line for line in stderr_text.splitlines() if line.strip()]
    if status != 0 or any("error" in line.lower() for line in stderr):
        raise HarnessError(f"redis-benchmark failed (status {status}): {shlex.join(argv)}\n    "
                           + "\n    ".join(stderr or ["(no stderr)"]))
    row = parse_csv(stdout)
    return Run(suite=workload.suite, test=workload.test, depth=workload.depth,
               clients=workload.clients, latency=workload.latency, round=round_no,
               target=target, argv=argv, requests=args.requests,
               rps=float(row["rps"]), p50_ms=float(row["p50_latency_ms"]),
               p99_ms=float(row["p99_latency_ms"]), wall_s=wall,
               cpu_ticks={name: after[name] - before[name] for name in servers},
               client_cpu_s=client_cpu, warnings=stderr)


def check_servers(servers: dict[str, Server]) -> None:
    for server in servers.values():
        server.ensure_alive()


def target_order(round_no: int) -> tuple[str, str]:
    """Round 1 direct->proxy, round 2 proxy->direct, ... (1-based rounds)."""
    return ("direct", "proxy") if round_no % 2 == 1 else ("proxy", "direct")


def run_suites(args, workloads: list[Workload], servers: dict[str, Server]) -> list[Run]:
    runs = []
    total = args.rounds * len(workloads) * 2
    for round_no in range(1, args.rounds + 1):
        for workload in workloads:
            for target in target_order(round_no):
                run = run_benchmark(args, workload, target, round_no, servers)
                runs.append(run)
                log(f"[{len(runs)}/{total}] round {round_no} {workload.suite} "
                    f"{workload.test} -c {workload.clients} -P {workload.depth} "
                    f"{target}: {run.rps:,.0f} rps, server CPU "
                    f"{run.cpu_us_per_req(*server_names(target)):.2f} us/req")
    return runs


# --------------------------------------------------------------------------
# Aggregation and targets
# --------------------------------------------------------------------------

def ratio(num: float, den: float) -> float:
    return num / den if den and math.isfinite(den) and math.isfinite(num) else math.nan


def median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


def pair_metrics(direct: Run, proxy: Run) -> dict[str, float]:
    """Metrics of one round's direct/proxy pair for one workload."""
    redis_direct = direct.cpu_us_per_req("redis")
    proxy_total = proxy.cpu_us_per_req("respite", "redis")
    respite_only = proxy.cpu_us_per_req("respite")
    return {
        "direct_rps": direct.rps,
        "proxy_rps": proxy.rps,
        "rps_ratio": ratio(proxy.rps, direct.rps),
        "direct_cpu_us": redis_direct,
        "proxy_cpu_us": proxy_total,
        "respite_cpu_us": respite_only,
        "cpu_ratio": ratio(proxy_total, redis_direct),
        "respite_cpu_ratio": ratio(respite_only, redis_direct),
        "direct_p50_ms": direct.p50_ms,
        "proxy_p50_ms": proxy.p50_ms,
        "direct_p99_ms": direct.p99_ms,
        "proxy_p99_ms": proxy.p99_ms,
        "min_ticks": min(direct.server_ticks(), proxy.server_ticks()),
    }


@dataclass(frozen=True)
class Target:
    metric: str
    op: str        # ">=" or "<="
    bound: float

    def verdict(self, value: float) -> str:
        """"ok", "MISS", or "n/a" when the value could not be measured."""
        if not math.isfinite(value):
            return "n/a"
        met = value >= self.bound if self.op == ">=" else value <= self.bound
        return "ok" if met else "MISS"


def targets_for(workload_key: tuple) -> list[Target]:
    suite, _test, depth, _clients, latency = workload_key
    if latency:
        return []
    if suite == "passthrough":
        return [Target("rps_ratio", ">=", 0.9 if depth == 1 else 0.8),
                Target("cpu_ratio", "<=", 1.3)]
    # hot: at least as fast as Redis, and respite's CPU per request no more
    # than Redis's for the same request sent directly.
    return [Target("rps_ratio", ">=", 1.0), Target("respite_cpu_ratio", "<=", 1.0)]


@dataclass
class Row:
    suite: str
    test: str
    depth: int
    clients: int
    latency: bool
    rounds: int
    medians: dict[str, float]
    targets: list[Target]

    def verdicts(self) -> list[tuple[Target, float, str]]:
        return [(t, self.medians[t.metric], t.verdict(self.medians[t.metric]))
                for t in self.targets]


def summarize(runs: list[Run]) -> list[Row]:
    """Median (over rounds) of each pair metric, per workload, in run order."""
    pairs: dict[tuple, dict[int, dict[str, Run]]] = {}
    for run in runs:
        key = (run.suite, run.test, run.depth, run.clients, run.latency)
        pairs.setdefault(key, {}).setdefault(run.round, {})[run.target] = run
    rows = []
    for key, by_round in pairs.items():
        per_round = [pair_metrics(p["direct"], p["proxy"]) for p in by_round.values()]
        medians = {m: median([r[m] for r in per_round]) for m in per_round[0]}
        medians["min_ticks"] = min(r["min_ticks"] for r in per_round)
        rows.append(Row(*key, rounds=len(per_round), medians=medians, targets=targets_for(key)))
    return rows


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def fmt(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "n/a"


def fmt_checked(row: Row, metric: str, prefix: str = "") -> str:
    """A value followed, if it has a target, by e.g. [ok >=0.9] or [MISS >=0.9]."""
    text = prefix + fmt(row.medians[metric], ".2f")
    for target, _value, verdict in row.verdicts():
        if target.metric == metric:
            text += f" [{verdict} {target.op}{target.bound:g}]"
    return text


def throughput_table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    headers = ["test", "-P", "direct rps", "proxy rps", "proxy/direct",
               "redis us/req (direct)", "respite+redis us/req", "respite us/req",
               "CPU (respite+redis)/redis", "CPU respite/redis"]
    body = []
    for row in rows:
        m = row.medians
        low = "~" if m["min_ticks"] < LOW_TICKS else ""
        body.append([row.test, str(row.depth), fmt(m["direct_rps"], ",.0f"),
                     fmt(m["proxy_rps"], ",.0f"), fmt_checked(row, "rps_ratio"),
                     low + fmt(m["direct_cpu_us"], ".2f"), low + fmt(m["proxy_cpu_us"], ".2f"),
                     low + fmt(m["respite_cpu_us"], ".2f"), fmt_checked(row, "cpu_ratio", low),
                     fmt_checked(row, "respite_cpu_ratio", low)])
    return headers, body


def latency_table(rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    headers = ["test", "-c", "-P", "direct p50 ms", "proxy p50 ms",
               "direct p99 ms", "proxy p99 ms", "direct rps", "proxy rps"]
    body = [[row.test, str(row.clients), str(row.depth)]
            + [fmt(row.medians[m], ".3f") for m in
               ("direct_p50_ms", "proxy_p50_ms", "direct_p99_ms", "proxy_p99_ms")]
            + [fmt(row.medians[m], ",.0f") for m in ("direct_rps", "proxy_rps")]
            for row in rows]
    return headers, body


def render_table(headers: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:   # escape "~" so GitHub does not read it as strikethrough
        body = [[cell.replace("~", "\\~") for cell in cells] for cells in body]
        lines = ["| " + " | ".join(headers) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(cells[i]) for cells in [headers] + body) for i in range(len(headers))]
    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(c) for c in body])


def heading(text: str, markdown: bool) -> str:
    return f"### {text}" if markdown else f"{text}\n{'=' * len(text)}"


def report(args, meta: dict, workloads: list[Workload], rows: list[Row]) -> str:
    md = args.markdown
    out = [heading("respite vs direct Redis (redis-benchmark)", md), ""]
    facts = [f"nproc: {meta['nproc']}", f"rounds: {meta['rounds']} (median reported; "
             "ratios are medians of per-round paired ratios)",
             f"requests per run (-n): {meta['requests']}", f"CLK_TCK: {CLK_TCK}",
             f"redis: {meta['redis_version']}", f"respite: {meta['respite_cmd']}",
             f"PORT = {meta['redis_port']} (direct Redis) or {meta['respite_port']} (respite)"]
    out += [("- " if md else "  ") + fact for fact in facts]
    out += ["", "redis-benchmark command lines (one per test; direct and proxy differ only in PORT):", ""]
    commands = [shlex.join(w.argv(args.redis_benchmark, "PORT", args.requests)) for w in workloads]
    out += (["```"] + commands + ["```"]) if md else ["  " + c for c in commands]
    for suite in dict.fromkeys(row.suite for row in rows):
        suite_rows = [r for r in rows if r.suite == suite]
        out += ["", heading(f"suite: {suite}", md), ""]
        out.append(render_table(*throughput_table([r for r in suite_rows if not r.latency]), md))
        latency_rows = [r for r in suite_rows if r.latency]
        if latency_rows:
            out += ["", "Latency (GET, one client, hot keys):", ""]
            out.append(render_table(*latency_table(latency_rows), md))
    out += ["", *notes(rows, md)]
    return "\n".join(out)


def notes(rows: list[Row], markdown: bool) -> list[str]:
    verdicts = [(row, t, v, verdict) for row in rows for t, v, verdict in row.verdicts()]
    met = sum(verdict == "ok" for *_, verdict in verdicts)
    lines = [f"Targets met: {met}/{len(verdicts)}"]
    lines += [f"{'- ' if markdown else '  '}{verdict} {row.suite} {row.test} -P {row.depth}: "
              f"{t.metric} {fmt(v, '.2f')} (target {t.op}{t.bound:g})"
              for row, t, v, verdict in verdicts if verdict != "ok"]
    lines.append("")
    lines.append("us/req = server utime+stime (from /proc/PID/stat) over the run / requests. "
                 f"'~' marks rows where some run measured fewer than {LOW_TICKS} clock ticks "
                 f"({LOW_TICKS / CLK_TCK:g}s) of server CPU: +-1 tick is then a >2% error; "
                 "raise --requests for precision.")
    return lines


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def log(message: str) -> None:
    print(f"load.py: {message}", file=sys.stderr, flush=True)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare respite with a direct Redis using redis-benchmark "
                    "(throughput and server CPU per request).")
    parser.add_argument("--suite", choices=["passthrough", "hot", "all"], default="passthrough")
    parser.add_argument("--requests", "-n", type=positive_int, default=DEFAULT_REQUESTS,
                        help=f"requests per redis-benchmark run (default {DEFAULT_REQUESTS})")
    parser.add_argument("--rounds", type=positive_int, default=DEFAULT_ROUNDS,
                        help=f"alternating direct/proxy rounds (default {DEFAULT_ROUNDS})")
    parser.add_argument("--respite-bin", default=str(REPO_ROOT / "target/release/respite"),
                        help="respite binary (default target/release/respite; built if missing)")
    parser.add_argument("--no-build", action="store_true",
                        help="fail instead of running cargo build --release if the binary is missing")
    parser.add_argument("--respite-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for respite, repeatable; write --respite-arg=--flag "
                             "for values starting with -")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", metavar="FILE", help="write raw per-round results to FILE")
    parser.add_argument("--redis-server", default="redis-server")
    parser.add_argument("--redis-benchmark", default="redis-benchmark")
    parser.add_argument("--startup-timeout", type=float, default=15.0,
                        help="seconds to wait for each server to answer PING (default 15)")
    parser.add_argument("--run-timeout", type=float, default=600.0,
                        help="seconds one redis-benchmark run may take (default 600)")
    return parser.parse_args(argv)


def redis_version(args) -> str:
    try:
        out = subprocess.run([args.redis_server, "--version"], capture_output=True,
                             text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise HarnessError(f"cannot run {args.redis_server}: {err}") from err
    return out.strip()


def selected_workloads(suite: str) -> list[Workload]:
    names = list(SUITES) if suite == "all" else [suite]
    return [w for name in names for w in SUITES[name]()]


def write_json(path: str, meta: dict, runs: list[Run], rows: list[Row]) -> None:
    def clean(value):   # JSON has no NaN/inf
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    data = {"meta": meta, "runs": [asdict(r) for r in runs], "summary": [asdict(r) for r in rows]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(clean(data), f, indent=2)
        f.write("\n")


def benchmark(args) -> None:
    workloads = selected_workloads(args.suite)
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory(prefix="respite-load-") as log_dir:
        try:
            servers["redis"] = start_redis(args, Path(log_dir))
            servers["respite"] = start_respite(args, servers["redis"], Path(log_dir))
            if any(w.suite == "hot" for w in workloads):
                populate_hot_keys(servers)
            meta = {"nproc": os.cpu_count(), "rounds": args.rounds, "requests": args.requests,
                    "clk_tck": CLK_TCK, "suite": args.suite,
                    "redis_version": redis_version(args),
                    "respite_cmd": shlex.join(servers["respite"].proc.args),
                    "redis_port": servers["redis"].port, "respite_port": servers["respite"].port,
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            runs = run_suites(args, workloads, servers)
            check_servers(servers)
        finally:
            for name in ("respite", "redis"):
                if name in servers:
                    servers[name].stop()
    rows = summarize(runs)
    if args.json:
        write_json(args.json, meta, runs, rows)
        log(f"raw results written to {args.json}")
    warnings = sorted({w for run in runs for w in run.warnings})
    for warning in warnings:
        log(f"redis-benchmark said: {warning}")
    print(report(args, meta, workloads, rows))


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
        log(f"interrupted ({err or 'SIGINT'}); servers stopped")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
