#!/usr/bin/env bash
# Benchmark, not a test: CI does not run it. `rbk serve` (release build) on SQLite and on
# PostgreSQL:
#   (a) alert POST -> first step started, p50/p99, one alert at a time (bench/serve_bench.py latency)
#   (b) a storm of distinct alerts in payloads of 50, then the same payloads again: alerts
#       accepted per second, lost alerts, duplicate starts (bench/serve_bench.py storm)
# Results are recorded in BENCHMARKS.md.
#
#   bench/serve_bench.sh
#
# Environment:
#   COUNT=500        timed alerts for (a)
#   ALERTS=10000     distinct alerts for (b)
#   SENDERS=4        concurrent senders for (b)
#   WORKERS=4        rbk serve --workers
#   PG=postgres://postgres@127.0.0.1:5432   the PostgreSQL server; a fresh database per measure
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-500}
ALERTS=${ALERTS:-10000}
SENDERS=${SENDERS:-4}
WORKERS=${WORKERS:-4}
PG=${PG:-postgres://postgres@127.0.0.1:5432}

cargo build --release --quiet
RBK=$PWD/target/release/rbk

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "postgres: $(psql "$PG/postgres" -tAc 'show server_version') (synchronous_commit=$(psql "$PG/postgres" -tAc 'show synchronous_commit'), fsync=$(psql "$PG/postgres" -tAc 'show fsync'))"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- server interpreter src || echo ' (with uncommitted changes)')"

fresh_db() {
  local name="rbk_bench_serve_$1_$$"
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
  psql "$PG/postgres" -qc "CREATE DATABASE $name" >/dev/null
  echo "$PG/$name"
}
drop_db() {
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS ${1##*/} WITH (FORCE)" >/dev/null
}

echo "== (a) alert POST -> first step started"
python3 bench/serve_bench.py latency --rbk "$RBK" --store sqlite --count "$COUNT" --workers "$WORKERS"
url=$(fresh_db latency)
python3 bench/serve_bench.py latency --rbk "$RBK" --store "$url" --count "$COUNT" --workers "$WORKERS"
drop_db "$url"

echo "== (b) storm: $ALERTS distinct alerts, 50 per payload, $SENDERS senders"
python3 bench/serve_bench.py storm --rbk "$RBK" --store sqlite --alerts "$ALERTS" --senders "$SENDERS" --workers "$WORKERS"
url=$(fresh_db storm)
python3 bench/serve_bench.py storm --rbk "$RBK" --store "$url" --alerts "$ALERTS" --senders "$SENDERS" --workers "$WORKERS"
drop_db "$url"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
