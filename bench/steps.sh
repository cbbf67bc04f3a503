#!/usr/bin/env bash
# Benchmark, not a test: CI does not run it. Per-step overhead of `rbk run`, timed in one run:
#   (a) a 1,000-step runbook of cheap steps (A) against the same runbook with 0 steps (B),
#       journalled to a SQLite file (--store FILE.db),
#   (b) the same pair with --store memory (in-memory SQLite: nothing is kept),
#   (c) ansible-playbook with 100 ansible.builtin.debug tasks on localhost (A) against the same
#       play with 1 task (B),
#   (d) rbk check of the 1,000-step runbook (A) against the 0-step one (B): how much of (a)
#       and (b) is reading and checking the file rather than running it,
# and prints the figures. Results are recorded in BENCHMARKS.md.
#
#   bench/steps.sh
#
# Per-step overhead = (wall(A) - wall(B)) / 1000 for rbk; per task = (wall(A) - wall(B)) / 99
# for Ansible. Subtracting the baseline removes process start-up, the store's opening and the
# run's own start and end; what is left also includes reading and checking each step (see (d)).
#
# Environment:
#   RUNS=20            timed runs of each rbk command, after one warm-up
#   ANSIBLE_RUNS=10    timed runs of each ansible-playbook command, after one warm-up
#   BENCH_TIMER=CMD    a timing command taking `-n RUNS [--warmup N] [--timeout S] [--vs 'B'] -- A`
#                      and printing rows `A wall s MIN MEDIAN MAX` and `B wall s ...`; without it
#                      each command runs under /usr/bin/time, A and B in turn, and the script
#                      prints min/median/max itself, of the per-step figure pair by pair too.
#
# Every command's output goes to /dev/null (through `sh -c 'exec ... >/dev/null 2>&1'`, the
# same for A and B, so the shell's start-up cancels out): a terminal or a pipe read by the
# timer would add its own cost per line. rbk runs with --format json (one line per event).
#
# Everything it makes (the generated files, the SQLite journals, a venv with ansible-core from
# PyPI unless bench/run.sh's ansible-lint venv already has it, Ansible's temporary
# directories) is under bench/work/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work
OUT=$WORK/steps
RUNS=${RUNS:-20}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-10}
mkdir -p "$WORK"

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- compiler interpreter src stdlib Cargo.toml Cargo.lock || echo ' (with uncommitted changes to the compiler, interpreter, binary or stdlib)')"
echo "load: $(uptime)"

echo "== ansible-playbook"
# bench/run.sh's venv has ansible-core (ansible-lint depends on it): reuse it when present.
if [ -x "$WORK/venv/bin/ansible-playbook" ]; then
  VENV=$WORK/venv
else
  VENV=$WORK/venv-ansible
  if [ ! -x "$VENV/bin/ansible-playbook" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check ansible-core
  fi
fi
export PATH="$VENV/bin:$PATH"
export ANSIBLE_HOME="$WORK/ansible-home" ANSIBLE_LOCAL_TEMP="$WORK/ansible-tmp"
export ANSIBLE_REMOTE_TEMP="$WORK/ansible-tmp" XDG_CACHE_HOME="$WORK/cache"
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PIP_NO_INDEX=1
mkdir -p "$ANSIBLE_HOME" "$ANSIBLE_LOCAL_TEMP" "$XDG_CACHE_HOME"
ansible-playbook --version | head -1
echo "python: $(python3 --version 2>&1) ($(command -v python3))"

echo "== build"
cargo build --release --quiet
RBK=$ROOT/target/release/rbk

echo "== generate"
python3 bench/gen_steps.py "$OUT"
"$RBK" check --deny warnings "$OUT/rbk"
for f in steps_1000 steps_0; do
  "$RBK" run "$OUT/rbk/$f.rbk" --store memory --format json >"$OUT/$f.out"
  tail -1 "$OUT/$f.out"
done
grep -o '"event":"[a-z_]*"' "$OUT/steps_1000.out" | sort | uniq -c | sed 's/^/journal events in one 1000-step run: /'
for f in debug_100 debug_1; do
  (cd "$OUT/ansible" && ansible-playbook -i inventory.ini "$f.yml" >"$OUT/$f.out" 2>&1)
  grep -E '^localhost +:' "$OUT/$f.out"
done
# One journal file for each runbook, kept across runs (as a real store is); fresh each call.
rm -f "$OUT"/*.db "$OUT"/*.db-wal "$OUT"/*.db-shm

rbk_run() { # FILE STORE
  echo "sh -c 'exec $RBK run $OUT/rbk/$1.rbk --store $2 --format json >/dev/null 2>&1'"
}
ansible_run() { # PLAYBOOK
  echo "sh -c 'cd $OUT/ansible && exec ansible-playbook -i inventory.ini $1.yml >/dev/null 2>&1'"
}
rbk_check() { # FILE
  echo "sh -c 'exec $RBK check $OUT/rbk/$1.rbk >/dev/null 2>&1'"
}

# Per-unit figure from the timer's rows: (median A - median B) / UNITS.
per_unit() { # LOG UNITS
  python3 - "$1" "$2" <<'EOF'
import re, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r"^(A|B) (wall|cpu) s\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
    if m:
        rows[(m.group(1), m.group(2))] = [float(x) for x in m.groups()[2:]]
units = int(sys.argv[2])
for kind in ("wall", "cpu"):
    if ("A", kind) in rows and ("B", kind) in rows:
        a, b = rows[("A", kind)], rows[("B", kind)]
        print(f"  per unit ({units}), {kind}: (median A - median B) / {units} = "
              f"{(a[1] - b[1]) / units * 1e6:.1f} µs")
EOF
}

# Fallback timer: A and B in turn, RUNS pairs after one warm-up pair, under /usr/bin/time.
time_pairs() { # RUNS UNITS A B
  local runs=$1 units=$2 a=$3 b=$4
  local log="$WORK/time.$$"
  rm -f "$log"
  for ((i = 0; i <= runs; i++)); do
    for which in A B; do
      local cmd=$a
      [ "$which" = B ] && cmd=$b
      if ((i == 0)); then
        eval "$cmd" || true
      else
        printf '%s ' "$which" >>"$log"
        eval "/usr/bin/time -a -o '$log' -f '%e %U %S %M' $cmd" || true
      fi
    done
  done
  python3 - "$log" "$units" <<'EOF'
import statistics, sys
rows = {"A": [], "B": []}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) == 5 and parts[0] in rows:
        rows[parts[0]].append([float(x) for x in parts[1:]])
units = int(sys.argv[2])
def show(name, col):
    print(f"  {name:16} min {min(col):10.4f}  median {statistics.median(col):10.4f}  max {max(col):10.4f}")
for which in ("A", "B"):
    r = rows[which]
    show(f"{which} wall s", [x[0] for x in r])
    show(f"{which} cpu s", [x[1] + x[2] for x in r])
    show(f"{which} peak KiB", [x[3] for x in r])
pairs = list(zip(rows["A"], rows["B"]))
show(f"per unit µs wall", [(a[0] - b[0]) / units * 1e6 for a, b in pairs])
show(f"per unit µs cpu", [((a[1] + a[2]) - (b[1] + b[2])) / units * 1e6 for a, b in pairs])
EOF
  rm -f "$log"
}

bench_pair() { # TITLE RUNS UNITS TIMEOUT A B
  local title=$1 runs=$2 units=$3 timeout=$4 a=$5 b=$6
  echo "== $title"
  echo "A: $a"
  echo "B: $b"
  if [ -n "${BENCH_TIMER:-}" ]; then
    local log="$WORK/timer.$$"
    # The timer splits each command as a shell does; A is given as its words.
    eval "\"\$BENCH_TIMER\" -n \"\$runs\" --warmup 1 --timeout \"\$timeout\" --vs \"\$b\" -- $a" | tee "$log"
    per_unit "$log" "$units"
    rm -f "$log"
  else
    time_pairs "$runs" "$units" "$a" "$b"
  fi
}

echo "load before timing: $(uptime)"
bench_pair "(a) rbk run, SQLite journal: 1000 steps (A) vs 0 steps (B)" "$RUNS" 1000 300 \
  "$(rbk_run steps_1000 "$OUT/steps_1000.db")" "$(rbk_run steps_0 "$OUT/steps_0.db")"
bench_pair "(b) rbk run, --store memory: 1000 steps (A) vs 0 steps (B)" "$RUNS" 1000 300 \
  "$(rbk_run steps_1000 memory)" "$(rbk_run steps_0 memory)"
bench_pair "(c) ansible-playbook: 100 debug tasks (A) vs 1 task (B)" "$ANSIBLE_RUNS" 99 600 \
  "$(ansible_run debug_100)" "$(ansible_run debug_1)"
bench_pair "(d) rbk check: 1000 steps (A) vs 0 steps (B)" "$RUNS" 1000 300 \
  "$(rbk_check steps_1000)" "$(rbk_check steps_0)"
echo "load after timing: $(uptime)"

echo "== journals"
python3 - "$OUT/steps_1000.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = db.execute("SELECT count(*) FROM rbk_runs").fetchone()[0]
events = db.execute("SELECT count(*) FROM rbk_events").fetchone()[0]
print(f"{sys.argv[1]}: {runs} runs, {events} events ({events / max(runs, 1):.0f} a run)")
EOF
