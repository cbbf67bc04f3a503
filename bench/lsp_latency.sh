#!/usr/bin/env bash
# Benchmark, not a test: CI does not run it. Latency of `rbk lsp` under a real client (pygls's
# LanguageClient) on a ~5,000-line file: diagnostics after a one-character edit, completion
# after `pg.`, hover on an action call; p50/p99/max in ms. In the same run, as peers: the same
# server on the 57-line seed runbook, and yaml-language-server on the same runbooks written as
# an Ansible playbook (with ansible-lint's playbook schema). Results are in BENCHMARKS.md.
#
#   bench/lsp_latency.sh
#
# Environment:
#   ITERATIONS=200   timed rounds of each measurement, after WARMUP=10 untimed ones
#   LINES=5000       lines of the generated .rbk file (at least)
#   PEER=1           0 skips the yaml-language-server case
#
# Needs python3 (venv, pip) and, for the peer, node and npm. Installs from the registries:
# the pinned client of editors/lsp-client-test/requirements.txt into
# <target>/lsp-client-venv (the environment tests/lsp_client.rs uses, same stamp), and
# yaml-language-server 1.25.0 plus ansible-lint 26.10.1's wheel (for its schema only) under
# bench/work/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/work
TARGET=${CARGO_TARGET_DIR:-target}
ITERATIONS=${ITERATIONS:-200}
WARMUP=${WARMUP:-10}
LINES=${LINES:-5000}
PEER=${PEER:-1}
mkdir -p "$WORK" "$TARGET"

echo "== machine"
echo "cores: $(nproc); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- compiler lsp src stdlib Cargo.toml Cargo.lock || echo ' (with uncommitted changes)')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== build"
cargo build --release --quiet --bin rbk
RBK=$TARGET/release/rbk

echo "== client"
VENV=$TARGET/lsp-client-venv
REQ=editors/lsp-client-test/requirements.txt
(
  # The same environment and stamp as tests/lsp_client.rs, under the same lock.
  exec 9>"$TARGET/lsp-client-venv.lock"
  flock 9
  if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQ" "$VENV/rbk-requirements.txt"; then
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$REQ"
    cp "$REQ" "$VENV/rbk-requirements.txt"
  fi
)
"$VENV/bin/python" -c 'import importlib.metadata as m; print("pygls", m.version("pygls"), "lsprotocol", m.version("lsprotocol"))'

PEER_ARGS=()
if [ "$PEER" = 1 ]; then
  echo "== peer: yaml-language-server"
  PEER_DIR=$WORK/peer
  mkdir -p "$PEER_DIR"
  if [ ! -x "$PEER_DIR/node_modules/.bin/yaml-language-server" ]; then
    printf '{ "name": "rbk-bench-peer", "private": true, "dependencies": { "yaml-language-server": "1.25.0" } }\n' \
      >"$PEER_DIR/package.json"
    (cd "$PEER_DIR" && npm install --no-audit --no-fund --silent)
  fi
  if [ ! -f "$PEER_DIR/playbook.json" ]; then
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$PEER_DIR/dl" ansible-lint==26.10.1
    python3 - "$PEER_DIR" <<'EOF'
import glob, sys, zipfile
peer = sys.argv[1]
wheel = glob.glob(f"{peer}/dl/ansible_lint-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(f"{peer}/playbook.json", "wb") as out:
    out.write(z.read("ansiblelint/schemas/playbook.json"))
EOF
  fi
  echo "node $(node --version), yaml-language-server $(node -p "require('$PEER_DIR/node_modules/yaml-language-server/package.json').version"), schema: ansible-lint 26.10.1 playbook.json"
  PEER_ARGS=(--yaml-server "node $PEER_DIR/node_modules/yaml-language-server/bin/yaml-language-server --stdio"
             --yaml-schema "$PEER_DIR/playbook.json")
fi

echo "== generate"
python3 bench/gen_lsp_file.py "$WORK/lsp" --lines "$LINES"
# Only meaningful on valid input: the generated runbooks must check clean.
"$RBK" check --deny warnings "$WORK/lsp"

echo "== latency (ms), $ITERATIONS rounds each after $WARMUP warm-up rounds"
"$VENV/bin/python" bench/lsp_latency.py --rbk "$RBK" --dir "$WORK/lsp" \
  --iterations "$ITERATIONS" --warmup "$WARMUP" "${PEER_ARGS[@]}"

# For reading (a): the same file through `rbk check`, one whole process each time (start,
# read, check, print), i.e. one full check of the file plus a process start.
echo "== reference: rbk check on runbooks.rbk, whole process, 20 runs after 1 warm-up (ms)"
python3 - "$RBK" "$WORK/lsp/runbooks.rbk" <<'EOF'
import subprocess, sys, time
runs = []
for i in range(21):
    start = time.perf_counter_ns()
    subprocess.run([sys.argv[1], "check", sys.argv[2]], check=True, stdout=subprocess.DEVNULL)
    if i:
        runs.append((time.perf_counter_ns() - start) / 1e6)
runs.sort()
print(f"  rbk check    p50 {runs[len(runs) // 2 - 1]:8.2f}  min {runs[0]:8.2f}  "
      f"max {runs[-1]:8.2f}  (n={len(runs)})  ms")
EOF
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
