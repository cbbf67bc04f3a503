// Loads extension.js with its real dependencies and a stand-in for the `vscode` module (which
// only exists inside VS Code), then checks what activate() hands to vscode-languageclient:
// `<rbk.path> lsp` over stdio for documents of language `rbk`.
//
//   npm test                       the sources here
//   node test/smoke.js DIR         an unpacked .vsix (DIR/extension.js, DIR/package.json): its
//                                  bundled node_modules alone must be enough
'use strict';

const assert = require('node:assert/strict');
const Module = require('node:module');
const path = require('node:path');

const dir = path.resolve(process.argv[2] || path.join(__dirname, '..'));
// Modules are resolved from the extension's directory, as VS Code would.
const requireHere = Module.createRequire(path.join(dir, 'extension.js'));

const { configured, api } = require('./vscode-stand-in');
configured['rbk.path'] = '/opt/rbk/bin/rbk';

// The real module resolves and loads: the require graph of extension.js is complete.
const lsp = requireHere('vscode-languageclient/node');
assert.equal(typeof lsp.LanguageClient, 'function', 'vscode-languageclient/node exports LanguageClient');
assert.equal(typeof lsp.TransportKind.stdio, 'number', 'vscode-languageclient/node exports TransportKind');

// Record the client extension.js builds instead of starting a server.
const made = [];
class RecordingClient {
  constructor(id, name, serverOptions, clientOptions) {
    made.push({ id, name, serverOptions, clientOptions, started: false, stopped: false });
  }
  async start() {
    made[made.length - 1].started = true;
  }
  async stop() {
    made[made.length - 1].stopped = true;
  }
}
lsp.LanguageClient = RecordingClient;

const extension = requireHere('./extension.js');
const manifest = requireHere('./package.json');

(async () => {
  assert.equal(path.resolve(dir, manifest.main), path.join(dir, 'extension.js'), 'package.json main');
  const context = { subscriptions: [] };
  await extension.activate(context);
  assert.equal(made.length, 1, 'activate() creates one language client');
  const [client] = made;
  assert.equal(client.id, 'rbk');
  assert.ok(client.started, 'activate() starts the client');
  for (const kind of ['run', 'debug']) {
    assert.deepEqual(client.serverOptions[kind], {
      command: '/opt/rbk/bin/rbk',
      args: ['lsp'],
      transport: lsp.TransportKind.stdio,
    });
  }
  assert.deepEqual(client.clientOptions.documentSelector, [{ language: 'rbk' }]);
  const languages = manifest.contributes.languages.map((l) => l.id);
  assert.ok(languages.includes('rbk'), 'package.json contributes the rbk language');
  assert.equal(context.subscriptions.length, 1, 'the configuration listener is disposed with the extension');
  await extension.deactivate();
  assert.ok(client.stopped, 'deactivate() stops the client');
  assert.deepEqual(api.window.errors, []);
  const version = requireHere('vscode-languageclient/package.json').version;
  console.log(`${path.join(dir, 'extension.js')}: ok (vscode-languageclient ${version})`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
