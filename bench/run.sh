#!/usr/bin/env bash
# Benchmark, not a test: CI does not run it. Times, in one run:
#   (a) rbk check on a generated workspace of 500 runbooks (~100,000 lines),
#   (b) rbk check on one of its files,
#   (c) ansible-lint on the equivalent playbooks (one task per rbk step and statement),
# and prints the figures. Results are recorded in BENCHMARKS.md.
#
#   bench/run.sh
#
# Environment:
#   COUNT=500          runbooks (and playbooks) to generate
#   RUNS=10            timed runs of (a) and (b), after one warm-up
#   ANSIBLE_RUNS=1     timed runs of (c) paired with (a); one ansible-lint run takes minutes
#   BENCH_TIMER=CMD    a timing command taking `-n RUNS [--warmup N] [--timeout S] [--vs 'B'] -- A`;
#                      without it each command runs under /usr/bin/time and the script prints
#                      min/median/max of wall, user and sys seconds and of peak memory itself.
#
# Everything it makes (the venv with ansible-lint from PyPI, the generated files, Ansible's
# temporary and cache directories) is under bench/work/, which git ignores. ansible-lint runs
# offline (--offline, and `offline: true` in the generated .ansible-lint) with the
# `production` profile.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work
COUNT=${COUNT:-500}
RUNS=${RUNS:-10}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-1}
mkdir -p "$WORK"

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- compiler src stdlib Cargo.toml Cargo.lock || echo ' (with uncommitted changes to the compiler)')"

echo "== ansible-lint"
if [ ! -x "$WORK/venv/bin/ansible-lint" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check ansible-lint
fi
export PATH="$WORK/venv/bin:$PATH"
export ANSIBLE_HOME="$WORK/ansible-home" ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp"
export ANSIBLE_REMOTE_TEMP="$WORK/ansible-tmp" XDG_CACHE_HOME="$WORK/cache"
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PIP_NO_INDEX=1
mkdir -p "$ANSIBLE_HOME" "$ANSIBLE_LOCAL_TEMP" "$XDG_CACHE_HOME"
ansible-lint --version 2>/dev/null | head -1

echo "== build"
cargo build --release --quiet
RBK=target/release/rbk

echo "== generate"
python3 bench/gen_workspace.py "$WORK" --count "$COUNT"
ONE=$(find bench/work/rbk -name 'rb_0000.rbk')
echo "single file: $ONE ($(wc -l <"$ONE") lines)"
# The benchmark is only meaningful on valid input: every generated file must check clean.
if ! "$RBK" check --deny warnings bench/work/rbk >"$WORK/rbk-check.out" 2>&1; then
  echo "the generated workspace does not check clean:" >&2
  tail -40 "$WORK/rbk-check.out" >&2
  exit 1
fi
tail -1 "$WORK/rbk-check.out"

LINT_OUT="$WORK/ansible-lint.out"
rm -f "$LINT_OUT"
LINT="sh -c 'cd bench/work/ansible && exec ansible-lint --offline playbooks >>$LINT_OUT 2>&1'"

# Fallback timer: RUNS runs of one command under /usr/bin/time, after one warm-up.
time_runs() {
  local runs=$1 warmup=$2
  shift 2
  local log="$WORK/time.$$"
  rm -f "$log"
  for ((i = 0; i < warmup + runs; i++)); do
    if ((i < warmup)); then
      "$@" >/dev/null 2>&1 || true
    else
      /usr/bin/time -a -o "$log" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || true
    fi
  done
  python3 - "$log" <<'EOF'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip() and l[0].isdigit()]
for i, name in enumerate(["wall s", "user s", "sys s", "peak KiB"]):
    col = [r[i] for r in rows]
    print(f"  {name:9} min {min(col):10.3f}  median {statistics.median(col):10.3f}  max {max(col):10.3f}")
EOF
  rm -f "$log"
}

echo "== (a) rbk check on the workspace ($COUNT files)"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$RUNS" -- "$RBK" check bench/work/rbk
else
  time_runs "$RUNS" 1 "$RBK" check bench/work/rbk
fi

echo "== (b) rbk check on one file"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$RUNS" -- "$RBK" check "$ONE"
else
  time_runs "$RUNS" 1 "$RBK" check "$ONE"
fi

echo "== (c) rbk check on the workspace (A) vs ansible-lint on the playbooks (B)"
if [ -n "${BENCH_TIMER:-}" ]; then
  "$BENCH_TIMER" -n "$ANSIBLE_RUNS" --warmup 0 --timeout 3600 --vs "$LINT" -- "$RBK" check bench/work/rbk
else
  time_runs "$ANSIBLE_RUNS" 0 sh -c "cd bench/work/ansible && exec ansible-lint --offline playbooks >>$LINT_OUT 2>&1"
fi
echo "ansible-lint verdict: $(grep -E '^(Passed|Failed):' "$LINT_OUT" | tail -1)"

echo "== counts"
cat "$WORK/counts.json"
