#!/usr/bin/env bash
# Benchmark, not a test: CI does not run it. The seed runbook end to end against a real
# PostgreSQL server with idle sessions to end, side by side with psql running the same SQL
# statements in one session. Results are recorded in BENCHMARKS.md.
#
#   bench/seed_vs_psql.sh
#
# Measured, RUNS pairs, the two sides in turn (odd pairs rbk first, even pairs psql first):
#   (a) ORDERS_DATABASE_URL=$URL target/release/rbk run examples/db_pool_exhaustion.rbk \
#         --input idle_for=2s --store memory --as bench
#   (b) PGSSLMODE=disable PGGSSENCMODE=disable \
#         psql -X -q -At -v ON_ERROR_STOP=1 -v idle_ms=2000 -d $URL -f bench/seed_statements.sql
# Ending sessions is destructive, so every timed command gets SESSIONS fresh ones. For each
# command the script (1) opens them (bench/idle_sessions.py: one process, one socket each,
# `SELECT 1` once, then silent), (2) waits AGE seconds so they have been idle longer than
# idle_for, checks that the server lists all of them as idle for longer than that, and (3)
# times only the command: $EPOCHREALTIME (bash's own clock, no `date` process) just before and
# just after it for wall time, and bash's `time` keyword (the finished child's rusage) for
# user and sys. Then it checks the outcome (exit 0; rbk: `run succeeded` and `kill`
# succeeded; psql: one `t` per session; both: none of the sessions is left) and closes the
# holder. Steps (1), (2) and the checks are not timed. It prints min/median/max per side and
# the rbk/psql ratio, pair by pair.
#
# Also, without sessions to end (nothing destructive, so an outside timer can repeat them):
#   (c) the same two commands against a database with no idle sessions, paired,
#   (d) target/release/rbk check examples/db_pool_exhaustion.rbk: process start-up, reading
#       and checking the runbook and the standard library, no database,
#   (e) psql connecting and quitting (-c '\q'): its start-up plus connection set-up,
#   (f) if strace is installed, one traced `rbk run` of (c): when it connects, when the server
#       has accepted it, when it sends its last statement, when it exits (strace slows each
#       system call: read these as shares, not times).
#
# Slack and PagerDuty are not configured (SLACK_WEBHOOK_URL and PAGERDUTY_ROUTING_KEY are
# unset): the runbook's closing `notify slack.post(...)` fails at once without a network call,
# which the runbook treats as not fatal; nothing escalates, so PagerDuty is never called.
# rbk's URL has no sslmode, so it speaks plain TCP; psql gets PGSSLMODE=disable and
# PGGSSENCMODE=disable to do the same (with libpq's default `prefer` it would negotiate TLS
# where the server offers it). psql is the
# server's own binary ($(pg_config --bindir)/psql), not Debian's perl wrapper in /usr/bin.
#
# Environment:
#   RUNS=15            measured pairs of (a)/(b), and timed runs of (c), (d), (e)
#   SESSIONS=50        idle sessions opened before each command of (a)/(b)
#   AGE=3              seconds to let them age, with idle_for=2s
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres   a server that trusts PGUSER (no password)
#   BENCH_DB=rbk_bench a throwaway database: dropped (WITH (FORCE)) and created at the start,
#                      dropped at the end
#   BENCH_TIMER=CMD    a timing command taking `-n RUNS [--warmup N] [--vs 'B'] -- A`, for (c),
#                      (d), (e); without it they are timed like (a)/(b), after one warm-up.
#
# The runbook only sees sessions of BENCH_DB, but its pool usage is server-wide: the script
# stops if other clients already use so much of max_connections that the runbook's verify
# (pool usage below 70% after the kill) could fail.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work/seed_vs_psql
RUNS=${RUNS:-15}
SESSIONS=${SESSIONS:-50}
AGE=${AGE:-3}
IDLE_FOR=2s
IDLE_MS=2000
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
DB=${BENCH_DB:-rbk_bench}
APP=rbk-bench-idle
URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB"
PSQL=${PSQL:-$(pg_config --bindir)/psql}
RBK=target/release/rbk
mkdir -p "$WORK"
unset SLACK_WEBHOOK_URL PAGERDUTY_ROUTING_KEY
export NO_COLOR=1

HOLDER_PID=
FIFO=$WORK/holder.fifo
# libpq (psql) without TLS or GSSAPI encryption, like rbk with a URL that has no sslmode.
export PGSSLMODE=disable PGGSSENCMODE=disable
admin() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "postgresql://$PGUSER@$PGHOST:$PGPORT/postgres" "$@"; }
in_db() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$URL" "$@"; }

close_holder() {
  exec 4>&- 2>/dev/null || true
  if [ -n "$HOLDER_PID" ]; then
    wait "$HOLDER_PID" 2>/dev/null || true
    HOLDER_PID=
  fi
  rm -f "$FIFO"
}
cleanup() {
  if [ -n "$HOLDER_PID" ]; then kill "$HOLDER_PID" 2>/dev/null || true; fi
  close_holder
  admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT

# Opens SESSIONS idle sessions in one background process that holds them until fd 4 closes.
open_sessions() {
  rm -f "$FIFO" "$WORK/holder.out"
  mkfifo "$FIFO"
  python3 bench/idle_sessions.py --host "$PGHOST" --port "$PGPORT" --user "$PGUSER" \
    --dbname "$DB" --count "$SESSIONS" --application "$APP" <"$FIFO" >"$WORK/holder.out" &
  HOLDER_PID=$!
  exec 4>"$FIFO"
  for ((w = 0; w < 300; w++)); do
    grep -q '^ready' "$WORK/holder.out" 2>/dev/null && return 0
    kill -0 "$HOLDER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the idle sessions could not be opened" >&2
  exit 1
}

# Sessions of ours the runbook would see as idle for longer than idle_for; all of ours.
aged_sessions() {
  in_db -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP' AND state = 'idle'
            AND state_change < clock_timestamp() - interval '$IDLE_MS milliseconds'"
}
our_sessions() { in_db -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP'"; }

export ORDERS_DATABASE_URL=$URL
RBK_CMD=("$RBK" run examples/db_pool_exhaustion.rbk
  --input "idle_for=$IDLE_FOR" --store memory --as bench)
PSQL_BASE=("$PSQL" -X -q -At -v ON_ERROR_STOP=1 -v "idle_ms=$IDLE_MS" -d "$URL")
PSQL_CMD=("${PSQL_BASE[@]}" -f bench/seed_statements.sql)

# timed SIDE LOG: runs the side's command once; prints `wall_ms user_s sys_s`.
timed() {
  local side=$1 log=$2 t0 t1 tf=$WORK/time.out
  local -a cmd
  if [ "$side" = rbk ]; then cmd=("${RBK_CMD[@]}"); else cmd=("${PSQL_CMD[@]}"); fi
  local TIMEFORMAT='%3U %3S'
  t0=$EPOCHREALTIME
  { time "${cmd[@]}" >"$log" 2>&1; } 2>"$tf" || {
    echo "$side failed; its output:" >&2
    cat "$log" >&2
    exit 1
  }
  t1=$EPOCHREALTIME
  python3 -c 'import sys; print(f"{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.1f}", open(sys.argv[3]).read().strip())' \
    "$t0" "$t1" "$tf"
}

# One measured command of (a)/(b): fresh sessions, aged, timed, checked.
iteration() {
  local side=$1 pair=$2 log=$WORK/$1.$2.log figures aged left
  open_sessions
  sleep "$AGE"
  aged=$(aged_sessions)
  if [ "$aged" != "$SESSIONS" ]; then
    echo "only $aged of $SESSIONS sessions are idle for longer than $IDLE_FOR" >&2
    exit 1
  fi
  figures=$(timed "$side" "$log")
  left=$(our_sessions)
  if [ "$side" = rbk ]; then
    grep -q '^run succeeded' "$log" && grep -q '✓ kill' "$log" || {
      echo "the run did not succeed:" >&2
      cat "$log" >&2
      exit 1
    }
  elif [ "$(grep -c '^t$' "$log")" != "$SESSIONS" ]; then
    echo "psql did not end $SESSIONS sessions:" >&2
    cat "$log" >&2
    exit 1
  fi
  if [ "$left" != 0 ]; then
    echo "$side left $left of the sessions alive" >&2
    exit 1
  fi
  close_holder
  echo "$pair $side $figures" >>"$WORK/pairs.txt"
  echo "  pair $pair $side: $figures (wall ms, user s, sys s)"
}

summarize() {
  python3 - "$1" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
by = {}
for pair, side, wall, user, sys_ in rows:
    by.setdefault(side, {})[int(pair)] = (float(wall), float(user) + float(sys_))
def line(name, col, fmt):
    print(f"  {name:16} min {fmt(min(col)):>9}  median {fmt(statistics.median(col)):>9}  max {fmt(max(col)):>9}")
for side in ("rbk", "psql"):
    runs = list(by[side].values())
    print(f"{side} ({len(runs)} runs)")
    line("wall ms", [w for w, _ in runs], lambda v: f"{v:.1f}")
    line("cpu s", [c for _, c in runs], lambda v: f"{v:.3f}")
pairs = sorted(set(by["rbk"]) & set(by["psql"]))
print(f"pair by pair ({len(pairs)} pairs)")
line("rbk/psql wall", [by["rbk"][p][0] / by["psql"][p][0] for p in pairs], lambda v: f"{v:.4f}")
line("rbk-psql ms", [by["rbk"][p][0] - by["psql"][p][0] for p in pairs], lambda v: f"{v:.1f}")
ratio = statistics.median(w for w, _ in by["rbk"].values()) / statistics.median(w for w, _ in by["psql"].values())
print(f"ratio of the medians (wall): {ratio:.4f}")
EOF
}

# Fallback for (c), (d), (e): one warm-up, then RUNS timed runs, A and B in turn.
fallback_runs() {
  local name=$1
  shift
  rm -f "$WORK/$name.txt"
  for ((i = 0; i <= RUNS; i++)); do
    local f
    f=$(timed_cmd "$@")
    if ((i > 0)); then echo "$i $name $f" >>"$WORK/$name.txt"; fi
  done
  python3 - "$WORK/$name.txt" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for i, name in ((2, "wall ms"), (3, "user s"), (4, "sys s")):
    col = [float(r[i]) for r in rows]
    print(f"  {name:9} min {min(col):9.3f}  median {statistics.median(col):9.3f}  max {max(col):9.3f}")
EOF
}
timed_cmd() {
  local t0 t1 tf=$WORK/time.out TIMEFORMAT='%3U %3S'
  t0=$EPOCHREALTIME
  { time "$@" >/dev/null 2>&1; } 2>"$tf" || true
  t1=$EPOCHREALTIME
  python3 -c 'import sys; print(f"{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.1f}", open(sys.argv[3]).read().strip())' \
    "$t0" "$t1" "$tf"
}

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load: $(uptime)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- compiler interpreter src stdlib Cargo.toml Cargo.lock || echo ' (with uncommitted changes under compiler/, interpreter/, src/ or stdlib/)')"
echo "psql: $("$PSQL" --version)"

echo "== build"
cargo build --release --quiet

echo "== database $DB"
echo "server: $(admin -c 'SHOW server_version')"
admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
admin -c "CREATE DATABASE $DB"
read -r used usable < <(admin -F ' ' -c "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
  current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
  - coalesce(current_setting('reserved_connections', true)::int, 0)")
echo "client backends now (this query's included): $used of $usable usable"
if ((used + 1 >= usable * 60 / 100 || used + SESSIONS + 2 > usable)); then
  echo "the server is too busy for this benchmark: the runbook's verify could fail" >&2
  exit 1
fi

echo "== (a) rbk run vs (b) psql, $RUNS pairs, $SESSIONS idle sessions each, idle_for=$IDLE_FOR, aged ${AGE}s"
rm -f "$WORK/pairs.txt"
for ((p = 1; p <= RUNS; p++)); do
  if ((p % 2)); then
    iteration rbk "$p"
    iteration psql "$p"
  else
    iteration psql "$p"
    iteration rbk "$p"
  fi
done
summarize "$WORK/pairs.txt"
echo "last rbk run's output:"
sed -E 's/sessions: \[\{.*\}\]/sessions: [...]/' "$WORK/rbk.$RUNS.log" | sed 's/^/  /'
echo "psql's per-statement times, one extra run (\\timing, not counted above):"
open_sessions
sleep "$AGE"
"${PSQL_BASE[@]}" -c '\timing on' -f bench/seed_statements.sql 2>&1 | python3 -c '
import re, statistics, sys
times = [float(m.group(1)) for m in re.finditer(r"^Time: ([0-9.]+) ms", sys.stdin.read(), re.M)]
# pool_usage, version, prepare, the idle-sessions query | the executes | 3 x pool_usage
execs = times[4:-3]
print(f"  {len(times)} timed statements, {sum(times):.1f} ms in all; the {len(execs)} EXECUTE rbk_terminate: "
      f"min {min(execs):.1f} median {statistics.median(execs):.1f} max {max(execs):.1f} ms, "
      f"{sum(execs):.1f} ms in all; the other {len(times) - len(execs)}: {sum(times) - sum(execs):.1f} ms")'
close_holder

echo "== (c) the same two commands with no idle sessions in $DB (A = rbk run, B = psql)"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$RUNS" \
    --vs "sh -c 'exec ${PSQL_CMD[*]} >/dev/null 2>&1'" -- \
    sh -c "exec ${RBK_CMD[*]} >/dev/null 2>&1"
else
  rm -f "$WORK/empty.txt"
  for ((i = 0; i <= RUNS; i++)); do
    a=$(timed_cmd "${RBK_CMD[@]}")
    b=$(timed_cmd "${PSQL_CMD[@]}")
    if ((i > 0)); then
      echo "$i rbk $a" >>"$WORK/empty.txt"
      echo "$i psql $b" >>"$WORK/empty.txt"
    fi
  done
  summarize "$WORK/empty.txt"
fi

echo "== (d) $RBK check examples/db_pool_exhaustion.rbk"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$RUNS" -- "$RBK" check examples/db_pool_exhaustion.rbk
else
  fallback_runs check "$RBK" check examples/db_pool_exhaustion.rbk
fi

echo "== (e) psql connecting and quitting"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$RUNS" -- "$PSQL" -X -q -d "$URL" -c '\q'
else
  fallback_runs connect "$PSQL" -X -q -d "$URL" -c '\q'
fi

if command -v strace >/dev/null; then
  echo "== (f) one traced rbk run with no idle sessions (strace -f -ttt; slower than untraced)"
  strace -f -ttt -e trace=execve,connect,sendto,recvfrom,exit_group -o "$WORK/rbk.strace" \
    "${RBK_CMD[@]}" >/dev/null 2>&1 || true
  python3 - "$WORK/rbk.strace" "$PGPORT" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
t = lambda l: float(l.split()[1])
start = next(t(l) for l in lines if ' execve("target/release/rbk"' in l)
conn = next(l for l in lines if " connect(" in l and f"htons({sys.argv[2]})" in l)
fd = re.search(r"connect\((\d+),", conn).group(1)
ready = next(t(l) for l in lines if f" recvfrom({fd}," in l and t(l) > t(conn))
last = max(t(l) for l in lines if f" sendto({fd}," in l)
end = max(t(l) for l in lines if "exit_group" in l or "+++ exited" in l)
sends = sum(1 for l in lines if f" sendto({fd}," in l)
ms = lambda a, b: f"{(b - a) * 1000:6.1f} ms"
print(f"  start-up, checking, store, interpreter until connect(): {ms(start, t(conn))}")
print(f"  connect() until the server's first answer (auth, ready): {ms(t(conn), ready)}")
print(f"  first answer until the last statement sent ({sends} sends): {ms(ready, last)}")
print(f"  last statement sent until exit:                          {ms(last, end)}")
print(f"  total:                                                   {ms(start, end)}")
EOF
fi

echo "== clean-up"
cleanup
trap - EXIT
echo "database $DB dropped; session holders still running: $(pgrep -fc "idle_sessions.py .*--dbname $DB" || true)"
