#!/usr/bin/env bash
# The extension in a real VS Code: installs code-server (VS Code in the browser) from npm,
# installs the packaged .vsix into it, opens an example with an ungated destructive step in
# Chromium and checks what a user sees: the E0301 diagnostic, a hover, and the quick fix that
# adds the approval clause (the diagnostic then goes away). Screenshots of each go to
# docs/images/ (docs/editor.md shows them).
#
# NOT run by CI: it installs a few hundred npm packages and builds native modules, which takes
# minutes. CI runs test/server.js instead, which starts `rbk lsp` through the real
# vscode-languageclient. Run this by hand after changing the extension or the server's
# protocol handling:
#
#   editors/vscode/test/code-server.sh
#
# Needs: node 20 and npm, a C++ toolchain and node headers under /usr (Debian's nodejs),
# Debian's chromium and ripgrep (`apt-get install -y chromium ripgrep`), python3 with venv.
# Works offline from npm's point of view: no install scripts run (they download prebuilt
# binaries); native modules are rebuilt with node-gyp against /usr, and ripgrep is Debian's.
#
# Environment: RBK_CODE_SERVER_DIR (default target/code-server) holds everything installed;
# RBK_BIN (default target/debug/rbk, built if missing); RBK_VSIX (default target/rbk.vsix,
# packaged if missing); RBK_CODE_SERVER_PORT (default 18080); RBK_SCREENSHOTS (default
# docs/images).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
work=${RBK_CODE_SERVER_DIR:-$repo/target/code-server}
rbk=${RBK_BIN:-$repo/target/debug/rbk}
vsix=${RBK_VSIX:-$repo/target/rbk.vsix}
port=${RBK_CODE_SERVER_PORT:-18080}
shots=${RBK_SCREENSHOTS:-$repo/docs/images}
version=4.100.3
node_gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"

say() { printf '== %s\n' "$*"; }

for tool in node npm chromium rg python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (see the header of $0)" >&2; exit 2; }
done
mkdir -p "$work"

# 1. code-server and VS Code's own dependencies, without install scripts.
server="$work/node_modules/code-server"
if [ ! -f "$server/package.json" ]; then
  say "npm install code-server@$version"
  (cd "$work" && npm install --ignore-scripts --no-audit --no-fund "code-server@$version")
fi
vscode="$server/lib/vscode"
if [ ! -d "$vscode/node_modules" ]; then
  say "npm install in lib/vscode and lib/vscode/extensions"
  (cd "$vscode" && npm install --ignore-scripts --omit=dev --no-audit --no-fund)
  (cd "$vscode/extensions" && npm install --ignore-scripts --omit=dev --no-audit --no-fund)
fi
# What code-server's postinstall.sh does besides installing.
ln -sfn node_modules "$vscode/node_modules.asar"
ln -sfn code-server-linux.sh "$vscode/bin/remote-cli/code-server"
ln -sfn browser-linux.sh "$vscode/bin/helpers/browser.sh"

# 2. Native modules, built against the system's node headers.
rebuild() { # DIR [node-gyp options]
  local dir=$1
  shift
  say "node-gyp rebuild $(basename "$dir")"
  (cd "$dir" && node "$node_gyp" rebuild --nodedir=/usr "$@" >"$work/node-gyp.log" 2>&1) ||
    { tail -30 "$work/node-gyp.log" >&2; exit 1; }
}
argon2="$work/node_modules/argon2"
[ -f "$argon2/lib/binding/napi-v3/argon2.node" ] ||
  rebuild "$argon2" --module_name=argon2 --module_path="$argon2/lib/binding/napi-v3" --napi_build_version=3
for module in @parcel/watcher @vscode/spdlog node-pty native-watchdog @vscode/deviceid; do
  dir="$vscode/node_modules/$module"
  ls "$dir"/build/Release/*.node >/dev/null 2>&1 || rebuild "$dir"
done
# kerberos (proxy authentication) needs libkrb5's headers; VS Code runs without it.

# 3. ripgrep: Debian's binary where @vscode/ripgrep would have downloaded one.
mkdir -p "$vscode/node_modules/@vscode/ripgrep/bin"
cp "$(command -v rg)" "$vscode/node_modules/@vscode/ripgrep/bin/rg"

# 4. The binary and the .vsix.
if [ ! -x "$rbk" ]; then
  say "cargo build"
  (cd "$repo" && cargo build --bin rbk)
fi
if [ ! -f "$vsix" ]; then
  say "vsce package"
  (cd "$repo/editors/vscode" && npm ci --no-audit --no-fund &&
    npx --no-install vsce package --allow-missing-repository --out "$vsix" </dev/null)
fi
code_server() {
  node "$server/out/node/entry.js" --user-data-dir "$work/user-data" \
    --extensions-dir "$work/extensions" "$@"
}
say "install $(basename "$vsix")"
code_server --install-extension "$vsix" --force

# 5. A workspace: the examples, one with its approval clause removed; settings that point
# the extension at the binary and keep first-run screens out of the way.
workspace="$work/workspace"
rm -rf "$workspace"
mkdir -p "$workspace" "$work/user-data/User"
cp "$repo"/examples/*.rbk "$repo"/examples/rbk.toml "$workspace/"
grep -v '^ *approval none reason' "$repo/examples/db_pool_exhaustion.rbk" >"$workspace/ungated.rbk"
cat >"$work/user-data/User/settings.json" <<EOF
{
  "rbk.path": "$rbk",
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.tips.enabled": false,
  "workbench.welcomePage.walkthroughs.openOnInstall": false,
  "telemetry.telemetryLevel": "off",
  "editor.minimap.enabled": false,
  "window.commandCenter": false,
  "chat.commandCenter.enabled": false,
  "update.mode": "none"
}
EOF

# 6. Serve it and drive it from Chromium.
log="$work/code-server.log"
say "code-server on 127.0.0.1:$port (log: $log)"
# In a process group of its own: code-server forks, and all of it must stop with this script.
setsid node "$server/out/node/entry.js" --user-data-dir "$work/user-data" \
  --extensions-dir "$work/extensions" --auth none --bind-addr "127.0.0.1:$port" \
  --disable-telemetry --disable-update-check --disable-workspace-trust \
  --disable-getting-started-override "$workspace" >"$log" 2>&1 &
server_pid=$!
trap 'kill -- "-$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  grep -q "HTTP server listening" "$log" && break
  sleep 1
done
grep -q "HTTP server listening" "$log" || { cat "$log" >&2; exit 1; }

venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
  say "python venv with playwright (driving Debian's chromium; no browser download)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet playwright
fi
mkdir -p "$shots"
say "checking in Chromium"
"$venv/bin/python" "$here/code_server_check.py" \
  --url "http://127.0.0.1:$port/?folder=$workspace" --shots "$shots" --chromium "$(command -v chromium)"
say "ok: screenshots in $shots"
