// A stand-in for the `vscode` module, which only exists inside VS Code: enough of the API for
// extension.js and vscode-languageclient to load and run outside it. Requiring this file makes
// every later `require('vscode')` (vscode-languageclient requires it too) return the stand-in.
'use strict';

const Module = require('node:module');

const configured = {};
const disposable = { dispose() {} };

// Any other member of the API (classes vscode-languageclient extends at load time, enums) is
// an empty class whose own members are again such classes.
function anything() {
  return new Proxy(class {}, {
    get: (target, key) => (key in target ? target[key] : (target[key] = anything())),
  });
}
// The few classes vscode-languageclient's constructor uses as more than a name.
class EventEmitter {
  constructor() {
    this.listeners = new Set();
    this.event = (listener) => {
      this.listeners.add(listener);
      return { dispose: () => this.listeners.delete(listener) };
    };
  }
  fire(value) {
    this.listeners.forEach((listener) => listener(value));
  }
  dispose() {
    this.listeners.clear();
  }
}
class Disposable {
  constructor(callOnDispose) {
    this.dispose = callOnDispose || (() => {});
  }
  static from(...disposables) {
    return new Disposable(() => disposables.forEach((d) => d && d.dispose && d.dispose()));
  }
}
const output = {
  text: '',
  append(text) {
    this.text += text;
  },
  appendLine(text) {
    this.text += `${text}\n`;
  },
  clear() {},
  show() {},
  hide() {},
  dispose() {},
};
const api = {
  // The VS Code of code-server 4.100.3; vscode-languageclient checks it is recent enough.
  version: '1.100.3',
  EventEmitter,
  Disposable,
  workspace: {
    getConfiguration: (section) => ({ get: (key) => configured[`${section}.${key}`] }),
    onDidChangeConfiguration: () => disposable,
  },
  window: {
    errors: [],
    /** Everything the client wrote to its output channel (the server's stderr among it). */
    output,
    createOutputChannel: () => output,
    showErrorMessage(message) {
      this.errors.push(message);
    },
  },
};
// In the namespaces (workspace, window, languages, …) an unknown member is a function that
// registers nothing: `onDidOpenTextDocument(listener)` returns a disposable.
function namespace(known) {
  return new Proxy(known, {
    get: (target, key) => (key in target ? target[key] : () => disposable),
  });
}
for (const name of ['workspace', 'window', 'languages', 'commands', 'env', 'extensions', 'notebooks']) {
  api[name] = namespace(api[name] || {});
}
const vscode = new Proxy(api, {
  get: (target, key) => (key in target ? target[key] : (target[key] = anything())),
});

const load = Module._load;
Module._load = function (request, parent, isMain) {
  return request === 'vscode' ? vscode : load.call(this, request, parent, isMain);
};

module.exports = {
  /** The settings `getConfiguration(section).get(key)` answers, keyed `section.key`. */
  configured,
  /** The stand-in's own members, for checking what the extension did (e.g. `window.errors`). */
  api,
};
