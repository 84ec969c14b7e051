#!/usr/bin/env bash
# One redis-benchmark test through respite with a given worker-thread count,
# printing throughput and the server CPU per request of respite and Redis
# (utime+stime from /proc). For tuning server.worker_threads; the full
# comparison against direct Redis is benches/load.py.
#
# usage: benches/workers.sh WORKERS TEST PIPELINE [REQUESTS]
#   e.g. benches/workers.sh 1 get 1   (WORKERS 0 = respite's default)
set -euo pipefail
workers=$1 test=$2 pipeline=$3 requests=${4:-300000}
bin=${RESPITE_BIN:-target/release/respite}
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return; sleep 0.05; done; echo "no PING on $1" >&2; exit 1; }
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

redis_port=$(free_port) proxy_port=$(free_port) conf=$(mktemp)
redis-server --port "$redis_port" --save "" --appendonly no >/dev/null 2>&1 & redis_pid=$!
trap 'kill $redis_pid ${proxy_pid:-} 2>/dev/null; rm -f "$conf"' EXIT
wait_ping "$redis_port"
printf '[server]\nworker_threads = %s\nadmin = "off"\n' "$workers" > "$conf"
"$bin" --config "$conf" --listen "127.0.0.1:$proxy_port" --upstream "redis://127.0.0.1:$redis_port" >/dev/null 2>&1 & proxy_pid=$!
wait_ping "$proxy_port"
redis-benchmark -p "$proxy_port" -t "$test" -n 20000 -c 50 -P "$pipeline" -q >/dev/null 2>&1   # warm-up
r0=$(ticks $redis_pid) p0=$(ticks $proxy_pid)
rps=$(redis-benchmark -p "$proxy_port" -t "$test" -n "$requests" -c 50 -P "$pipeline" --csv | tail -1 | cut -d, -f2 | tr -d '"')
r1=$(ticks $redis_pid) p1=$(ticks $proxy_pid)
hz=$(getconf CLK_TCK)
python3 -c "
n=$requests; hz=$hz
print(f'workers=$workers test=$test P=$pipeline rps=$rps respite_us/req={($p1-$p0)/hz*1e6/n:.2f} redis_us/req={($r1-$r0)/hz*1e6/n:.2f}')"
