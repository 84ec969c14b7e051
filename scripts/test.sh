#!/usr/bin/env bash
# Runs every respite test on a fresh machine of our kind.
#
# It first makes the machine ready: redis-server and redis-cli on PATH
# (installed from Debian's packages when missing), and Postgres reachable
# on 127.0.0.1:5432 (started with pg_ctlcluster when it is installed but
# down). The tests start their own redis-server on free ports and never
# touch the shared one on 6379.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

ensure_redis() {
    if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
        return
    fi
    log "installing redis-server and redis-tools from the distribution"
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
        echo "redis-server/redis-cli missing and cannot be installed here (need root and apt-get)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
}

ensure_postgres() {
    if ! command -v pg_isready >/dev/null; then
        echo "pg_isready not found: the catalogue tests need Postgres on 127.0.0.1:5432" >&2
        exit 1
    fi
    if pg_isready -q -h 127.0.0.1 -p 5432; then
        return
    fi
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        log "starting Postgres"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 50); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return
        sleep 0.2
    done
    echo "Postgres is not reachable on 127.0.0.1:5432: the catalogue tests need it" >&2
    exit 1
}

ensure_redis
ensure_postgres
log "redis-server: $(redis-server --version | cut -d' ' -f3)"
if [ -n "${RESPITE_TEST_QDRANT_URL:-}" ]; then
    log "Qdrant server contract tests: against $RESPITE_TEST_QDRANT_URL"
else
    log "Qdrant server contract tests: SKIPPED (set RESPITE_TEST_QDRANT_URL to a Qdrant gRPC address to run them)"
fi
log "running the test suite"
cargo test --all-features "$@"
