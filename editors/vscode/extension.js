// VS Code client for the rbk language server: starts `rbk lsp` over stdio.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration('rbk').get('path') || 'rbk';
  const executable = { command, args: ['lsp'], transport: TransportKind.stdio };
  return { run: executable, debug: executable };
}

async function startClient() {
  client = new LanguageClient('rbk', 'rbk language server', serverOptions(), {
    documentSelector: [{ language: 'rbk' }],
  });
  try {
    await client.start();
  } catch (err) {
    const path = vscode.workspace.getConfiguration('rbk').get('path');
    vscode.window.showErrorMessage(
      `rbk: could not start \`${path} lsp\` (${err && err.message ? err.message : err}). ` +
        'Set "rbk.path" to the rbk binary.'
    );
  }
}

async function stopClient() {
  if (client) {
    const running = client;
    client = undefined;
    try {
      await running.stop();
    } catch (_) {
      // The server may already be gone (e.g. it failed to start).
    }
  }
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('rbk.path')) {
        await stopClient();
        await startClient();
      }
    })
  );
  await startClient();
}

function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };
