// Starts the real `rbk lsp` exactly as VS Code would: the extension's own server options go
// through the real vscode-languageclient, whose code picks the command and its arguments
// (`lsp --stdio` for TransportKind.stdio) and spawns the process. Over the streams it returns,
// the test does an initialize round trip, opens a document with an error, waits for its
// diagnostic, asks for the quick fix with the cursor at the start of the line, and shuts the
// server down; `rbk lsp` must exit 0. If the server refused the arguments the library adds,
// as it once refused `--stdio`, VS Code users would get no language server at all.
//
//   npm test                        the sources here, against ../../target/debug/rbk
//   node test/server.js DIR         an unpacked .vsix (DIR/extension.js)
//   RBK_BIN=/path/to/rbk            another binary (default: the one `cargo test` built)
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const dir = path.resolve(process.argv[2] || path.join(__dirname, '..'));
const requireHere = Module.createRequire(path.join(dir, 'extension.js'));
const repo = path.resolve(__dirname, '..', '..', '..');
const rbk = path.resolve(process.env.RBK_BIN || path.join(repo, 'target', 'debug', 'rbk'));
if (!fs.existsSync(rbk)) {
  console.error(`${rbk} does not exist: build it first (cargo build), or set RBK_BIN`);
  process.exit(1);
}

const { configured, api } = require('./vscode-stand-in');
configured['rbk.path'] = rbk;

const lsp = requireHere('vscode-languageclient/node');
const jsonrpc = requireHere('vscode-jsonrpc/node');

// The client extension.js makes, kept from starting (start() needs the whole editor); its
// transports are then made by the library's own code.
let made;
class CapturedClient extends lsp.LanguageClient {
  constructor(...args) {
    super(...args);
    made = this;
  }
  async start() {}
  async stop() {}
}
lsp.LanguageClient = CapturedClient;

// Nothing may hang the CI run: a server that never answers fails the test.
const watchdog = setTimeout(() => {
  console.error('rbk lsp did not answer within 120 s');
  process.exit(1);
}, 120_000);

(async () => {
  const extension = requireHere('./extension.js');
  await extension.activate({ subscriptions: [] });
  assert.ok(made, 'activate() creates a language client');

  const transports = await made.createMessageTransports('utf-8');
  const server = made._serverProcess;
  assert.ok(server && server.pid, 'vscode-languageclient spawned a process');
  const spawned = server.spawnargs;
  let stderr = '';
  server.stderr.on('data', (data) => (stderr += data));
  const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
  // A server that dies at once (e.g. on an argument it does not know) fails here, not later.
  const early = exited.then((code) => {
    throw new Error(`\`${spawned.join(' ')}\` exited with ${code} before shutdown:\n${stderr}`);
  });
  early.catch(() => {}); // only awaited while the server must be running

  const connection = jsonrpc.createMessageConnection(transports.reader, transports.writer);
  const diagnostics = new Map();
  const published = [];
  connection.onNotification('textDocument/publishDiagnostics', (params) => {
    diagnostics.set(params.uri, params.diagnostics);
    published.forEach((wake) => wake());
  });
  connection.listen();
  const diagnosticsOf = (uri) =>
    new Promise((resolve) => {
      const look = () => diagnostics.has(uri) && resolve(diagnostics.get(uri));
      published.push(look);
      look();
    });

  const example = path.join(repo, 'examples', 'db_pool_exhaustion.rbk');
  const root = pathToFileURL(path.dirname(example)).href;
  const initialized = await Promise.race([
    connection.sendRequest('initialize', { processId: process.pid, rootUri: root, capabilities: {} }),
    early,
  ]);
  assert.equal(initialized.serverInfo.name, 'rbk');
  assert.ok(initialized.capabilities.codeActionProvider, 'the server offers code actions');
  connection.sendNotification('initialized', {});

  // The example without its approval clause: a destructive step with no gate (E0301).
  const text = fs.readFileSync(example, 'utf8');
  const waiver = /^ *approval none reason .*\n/m;
  assert.match(text, waiver, 'the example waives approval for its destructive step');
  const broken = text.replace(waiver, '');
  const uri = pathToFileURL(path.join(path.dirname(example), 'broken.rbk')).href;
  connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri, languageId: 'rbk', version: 1, text: broken },
  });
  const found = await Promise.race([diagnosticsOf(uri), early]);
  const e0301 = found.find((d) => d.code === 'E0301');
  assert.ok(e0301, `a diagnostic E0301 for the ungated step: ${JSON.stringify(found)}`);

  // Editors ask for code actions where the cursor is: here the start of the step's line.
  const line = e0301.range.start.line;
  const actions = await connection.sendRequest('textDocument/codeAction', {
    textDocument: { uri },
    range: { start: { line, character: 0 }, end: { line, character: 0 } },
    context: { diagnostics: [e0301] },
  });
  assert.ok(
    actions.some((a) => a.title.startsWith('Require approval')),
    `the approval quick fix is offered: ${JSON.stringify(actions)}`
  );

  await connection.sendRequest('shutdown');
  connection.sendNotification('exit');
  assert.equal(await exited, 0, `rbk lsp exits 0 after shutdown and exit:\n${stderr}`);
  connection.dispose();
  clearTimeout(watchdog);
  assert.deepEqual(api.window.errors, []);
  console.log(`${spawned.join(' ')}: initialize, E0301, quick fix, shutdown: ok`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
