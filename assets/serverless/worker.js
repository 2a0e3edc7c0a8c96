/*
 * fdk-emu's Node worker: runs the app's server/server.js as the platform's serverless
 * runtime does, for as long as fdk-emu runs (fdk-emu starts it again when server/ changes).
 *
 * fdk-emu passes this file to `node -e`; it is embedded in the fdk-emu binary.
 *
 * The channel to fdk-emu is fd 0: one end of a Unix socket pair, carrying one JSON message
 * per line in both directions (serverless/protocol.rs lists them). Not stdout: the app and
 * its dependencies write to stdout and stderr as they please, and fdk-emu shows those lines
 * on the terminal. process.stdin is replaced by an empty stream so that no app code reads
 * the channel.
 *
 * What server.js sees, as on the platform: `exports = {fn(args) {…}}` (or module.exports),
 * the globals renderData(error, data), $request.invokeTemplate(name, {context, body,
 * query}), $db, $schedule, generateTargetUrl, console, and a require that loads the app's
 * own modules under server/ and the packages installed in server/node_modules (plus Node's
 * built-in modules). Calls run concurrently; AsyncLocalStorage ties renderData, console and
 * $request to the call they run in, so one long-lived context serves every call.
 *
 * FDK_EMU_MODE=describe loads server.js, reports its exports (or why it does not load) and
 * exits; packages that are not installed are replaced by inert stand-ins, so that
 * `fdk-emu validate` can list the exports before any `npm install`.
 */
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const vm = require('vm');
const Module = require('module');
const { Readable } = require('stream');
const { AsyncLocalStorage } = require('async_hooks');

const ROOT = realpath(process.env.FDK_EMU_APP_ROOT || path.dirname(process.cwd()));
const SERVER_DIR = path.join(ROOT, 'server');
const MODULES_DIR = path.join(SERVER_DIR, 'node_modules');
const DESCRIBE = process.env.FDK_EMU_MODE === 'describe';
delete process.env.FDK_EMU_APP_ROOT;
delete process.env.FDK_EMU_MODE;

const reallyExit = process.exit.bind(process);

function realpath(p) {
  try { return fs.realpathSync(p); } catch (e) { return p; }
}
const als = new AsyncLocalStorage();

// ---------------------------------------------------------------------------------------
// The channel

const channel = new net.Socket({ fd: 0, readable: true, writable: true });
const emptyStdin = new Readable({ read() { this.push(null); } });
try {
  Object.defineProperty(process, 'stdin', { configurable: true, enumerable: true, get: () => emptyStdin });
} catch (e) { /* an older Node: leave it */ }

// fdk-emu went away (it closes its end when it stops or restarts the worker): so do we.
channel.on('end', () => reallyExit(0));
channel.on('close', () => reallyExit(0));
channel.on('error', () => reallyExit(0));

function write(line, then) {
  channel.write(line + '\n', then);
}

function send(msg, then) {
  write(JSON.stringify(msg), then);
}

let buffered = '';
channel.setEncoding('utf8');
channel.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (!line) continue;
    let msg;
    try { msg = JSON.parse(line); } catch (e) {
      report(null, new Error('fdk-emu worker: a message from fdk-emu is not JSON: ' + e.message));
      continue;
    }
    dispatch(msg);
  }
});

// ---------------------------------------------------------------------------------------
// Errors as fdk-emu shows them: name, message, stack, and where in the app's files

function rel(file) {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

function inApp(file) {
  return file.startsWith(SERVER_DIR + path.sep) && !file.startsWith(MODULES_DIR + path.sep);
}

function textOf(value) {
  if (typeof value === 'string') return value;
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch (e) { /* fall through */ }
  return String(value);
}

function describeError(e) {
  const out = { name: 'Error', message: '', stack: '' };
  if (e !== null && typeof e === 'object') {
    out.name = typeof e.name === 'string' ? e.name : 'Error';
    out.message = e.message !== undefined ? textOf(e.message) : textOf(e);
    out.stack = typeof e.stack === 'string' ? e.stack : '';
  } else {
    out.name = 'thrown value';
    out.message = textOf(e);
  }
  // A syntax error names the file and line, then repeats the line with a caret under the
  // column: "/app/server/server.js:3\n    foo(;\n        ^\n\nSyntaxError: …".
  const syntax = /^(\/[^\n]*?):(\d+)\n([^\n]*)\n( *)\^/.exec(out.stack);
  if (syntax && inApp(syntax[1])) {
    out.file = rel(syntax[1]);
    out.line = Number(syntax[2]);
    out.column = syntax[4].length + 1;
    out.stack = out.stack.slice(out.stack.indexOf('\n\n') + 2);
  } else {
    for (const frame of out.stack.split('\n')) {
      const m = /\(?(\/[^():]+):(\d+):(\d+)\)?\s*$/.exec(frame);
      if (m && frame.trim().startsWith('at ') && inApp(m[1])) {
        out.file = rel(m[1]);
        out.line = Number(m[2]);
        out.column = Number(m[3]);
        break;
      }
    }
  }
  // The frames of this worker (node -e) and of Node itself say nothing to the developer.
  out.stack = out.stack
    .split('\n')
    .filter((l) => !(l.trim().startsWith('at ') && /\[eval\]|\(node:|at node:/.test(l)))
    .join('\n')
    .split(ROOT + path.sep).join('');
  return out;
}

// ---------------------------------------------------------------------------------------
// Loading the app's code

const builtins = new Set(Module.builtinModules);
const nodeRequire = Module.createRequire(path.join(SERVER_DIR, 'server.js'));
const appModules = new Map();

function notFound(request, from, why) {
  const e = new Error("Cannot find module '" + request + "' (required by " + rel(from) + '): ' + why);
  e.code = 'MODULE_NOT_FOUND';
  return e;
}

/** A stand-in for a package that is not installed (describe mode only). */
function inert(name) {
  const target = function () {};
  const handler = {
    get: (t, key) => (key === Symbol.toPrimitive ? () => '[' + name + ']' : key === 'then' ? undefined : proxy),
    apply: () => proxy,
    construct: () => proxy,
  };
  const proxy = new Proxy(target, handler);
  return proxy;
}

function resolveAppModule(request, from) {
  const base = path.resolve(path.dirname(from), request);
  for (const file of [base, base + '.js', base + '.json', path.join(base, 'index.js')]) {
    let stat;
    try { stat = fs.statSync(file); } catch (e) { continue; }
    if (!stat.isFile()) continue;
    let real;
    try { real = fs.realpathSync(file); } catch (e) { continue; }
    if (!inApp(real)) {
      throw notFound(request, from, 'the app\'s own modules must live under server/ (not in node_modules, not behind a link out of it)');
    }
    return real;
  }
  throw notFound(request, from, 'no such file under server/ (tried ' + rel(base) + ', .js, .json and /index.js)');
}

function loadPackage(request, from) {
  let resolved;
  try {
    resolved = nodeRequire.resolve(request);
  } catch (e) {
    if (DESCRIBE) return inert(request);
    throw notFound(request, from, 'it is not installed in server/node_modules; declare it in "dependencies" of manifest.json (fdk-emu installs them when they change)');
  }
  if (!resolved.startsWith(MODULES_DIR + path.sep)) {
    if (DESCRIBE) return inert(request);
    throw notFound(request, from, 'it resolves to ' + resolved + ', outside server/node_modules; the platform installs only the dependencies of manifest.json');
  }
  return nodeRequire(request);
}

function makeRequire(from) {
  return function require(request) {
    if (typeof request !== 'string' || !request) {
      throw new TypeError('require: the module name must be a non-empty string');
    }
    if (request.startsWith('./') || request.startsWith('../') || request.startsWith('/')) {
      return loadAppModule(resolveAppModule(request, from));
    }
    if (request.startsWith('node:') || builtins.has(request)) return nodeRequire(request);
    return loadPackage(request, from);
  };
}

/**
 * Runs one file of the app as a function body, as FDK does (`exports = {…}` assigns the
 * module's result). The text is compiled as it is, with `return exports` appended after it,
 * so line and column numbers in errors are the file's own.
 */
function loadAppModule(file) {
  const cached = appModules.get(file);
  if (cached) return cached.exports;
  if (file.endsWith('.json')) {
    const module = { exports: JSON.parse(fs.readFileSync(file, 'utf8')) };
    appModules.set(file, module);
    return module.exports;
  }
  const source = fs.readFileSync(file, 'utf8');
  const fn = vm.compileFunction(source + '\n;return exports;',
    ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  const initial = {};
  const module = { exports: initial, filename: file, id: file };
  appModules.set(file, module);
  try {
    const returned = fn.call(initial, initial, makeRequire(file), module, file, path.dirname(file));
    module.exports = returned !== initial ? returned : module.exports;
  } catch (e) {
    appModules.delete(file);
    throw e;
  }
  return module.exports;
}

// ---------------------------------------------------------------------------------------
// Calls

const calls = new Map();
const callbacks = new Map();
let nextCallback = 0;
let handlers = null;
let draining = false;

function currentCall() {
  const call = als.getStore();
  if (call) return call;
  // A library that queues its callbacks itself can lose the async context; with one call
  // running, it is that one.
  if (calls.size === 1) return calls.values().next().value;
  return null;
}

function log(call, level, text) {
  send({ t: 'log', id: call ? call.id : null, handler: call ? call.handler : null, level, text });
}

function report(call, e) {
  send({ t: 'uncaught', id: call ? call.id : null, handler: call ? call.handler : null, error: describeError(e) });
}

function finish(call, result) {
  call.done = true;
  calls.delete(call.id);
  let line;
  try {
    line = JSON.stringify({ t: 'done', id: call.id, result });
  } catch (e) {
    const what = result.kind === 'data' ? 'data' : 'error';
    line = JSON.stringify({
      t: 'done', id: call.id,
      result: { kind: 'exception', error: describeError(new TypeError('renderData: the ' + what + ' cannot be sent as JSON (' + e.message + ')')) },
    });
  }
  write(line, draining && calls.size === 0 ? () => reallyExit(0) : undefined);
}

function fail(call, e) {
  if (call.done) {
    report(call, e);
    return;
  }
  finish(call, { kind: 'exception', error: describeError(e) });
}

/** FDK's reading of renderData(error, data) (event_handler/framework.js). */
function resultOf(error, data) {
  if (error) {
    const isObject = typeof error === 'object' || typeof error === 'function';
    if (Array.isArray(error) || !isObject || (error.message === undefined && !error.status)) {
      return { kind: 'invalid_error' };
    }
    return { kind: 'error', status: error.status || 500, message: error.message === undefined ? null : error.message };
  }
  return data === undefined ? { kind: 'empty' } : { kind: 'data', data };
}

function renderData(error, data) {
  const call = currentCall();
  if (!call) {
    log(null, 'warn', 'renderData() was called outside of any call (at the top level of a module, or in a callback that lost track of its call); it was ignored');
    return;
  }
  if (call.done) {
    log(call, 'warn', call.cancelled
      ? 'renderData() was called after the call had run out of time; the caller already got the timeout'
      : 'renderData() was called again; only the first call answers');
    return;
  }
  finish(call, resultOf(error, data));
}

function startCall(msg) {
  const payload = msg.payload;
  const call = {
    id: msg.id,
    handler: msg.handler,
    kind: msg.kind,
    isInstall: !!(payload && payload.isInstall),
    done: false,
    cancelled: false,
    // Requests to fdk-emu ($request, $db, $schedule, …) not answered yet.
    pending: 0,
    // The handler returned without a promise and without answering (events only).
    returned: false,
  };
  calls.set(call.id, call);
  const fn = handlers && handlers[msg.handler];
  const isEvent = call.kind !== 'smi';
  als.run(call, () => {
    if (typeof fn !== 'function') {
      fail(call, new TypeError(msg.handler + ' is not a function exported by server/server.js'));
      return;
    }
    try {
      const returned = fn.call(handlers, payload);
      if (returned && typeof returned.then === 'function') {
        // An event handler that is an async function is done when its promise settles (a
        // product event handler need not call renderData).
        returned.then(isEvent ? () => settleEvent(call) : undefined, (e) => fail(call, e));
      } else if (isEvent) {
        call.returned = true;
        whenIdle(call);
      }
    } catch (e) {
      fail(call, e);
    }
  });
}

/** An event handler ended without renderData(): it succeeded, with no data. */
function settleEvent(call) {
  if (!call.done) finish(call, { kind: 'empty' });
}

/**
 * An event handler that returned without a promise and without renderData() is done once
 * what it asked of fdk-emu is answered and the code waiting on those answers has run (the
 * `.then` callbacks run before the next setImmediate).
 */
function whenIdle(call) {
  if (call.done || !call.returned || call.pending > 0) return;
  setImmediate(() => {
    if (!call.done && call.pending === 0) settleEvent(call);
  });
}

function dispatch(msg) {
  switch (msg.t) {
    case 'call':
      startCall(msg);
      break;
    case 'cancel': {
      const call = calls.get(msg.id);
      if (call) {
        call.done = true;
        call.cancelled = true;
        calls.delete(msg.id);
      }
      break;
    }
    case 'reply': {
      const pending = callbacks.get(msg.id);
      if (pending) {
        callbacks.delete(msg.id);
        if (msg.ok) pending.resolve(msg.value);
        else pending.reject(msg.value);
        const call = pending.call;
        if (call) {
          call.pending -= 1;
          whenIdle(call);
        }
      }
      break;
    }
    case 'ping':
      send({ t: 'pong', id: msg.id });
      break;
    case 'drain':
      draining = true;
      if (calls.size === 0) channel.end(() => reallyExit(0));
      break;
    default:
      report(null, new Error('fdk-emu worker: unknown message ' + textOf(msg.t)));
  }
}

// ---------------------------------------------------------------------------------------
// What server.js gets from the platform

/** Asks fdk-emu to do something for the current call; resolves or rejects with its answer. */
function callback(op, args) {
  const call = currentCall();
  return new Promise((resolve, reject) => {
    const id = ++nextCallback;
    let line;
    try {
      line = JSON.stringify({
        t: 'cb', id, call: call ? call.id : null, handler: call ? call.handler : null,
        kind: call ? call.kind : null, op, args,
      });
    } catch (e) {
      reject(new TypeError(op + ': the arguments cannot be sent as JSON (' + e.message + ')'));
      return;
    }
    if (call) call.pending += 1;
    callbacks.set(id, { resolve, reject, call });
    write(line);
  });
}

function refused(status, message) {
  return Promise.reject({ status, message, errorSource: 'APP' });
}

const $request = {
  invokeTemplate(name, options) {
    if (typeof name !== 'string' || !name) {
      return refused(400, '$request.invokeTemplate(name, options): name must be the name of a template of config/requests.json');
    }
    return callback('invokeTemplate', { name, options: options === undefined ? {} : options });
  },
};
for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
  $request[method] = function () {
    return refused(400, method + ' is no longer supported in Request API: call $request.invokeTemplate(name, {context, body, query}) with a template of config/requests.json');
  };
}

function whenInstalled(what, op, args) {
  const call = currentCall();
  if (call && call.isInstall) {
    return refused(400, what + ' is not available while the app is being installed (isInstall is true): the platform gives server.js ' + what + ' once the app is installed');
  }
  return callback(op, args);
}

const $db = {
  set: (key, value, options) => whenInstalled('$db', 'db', { action: 'store', dbKey: key, data: value, options }),
  get: (key) => whenInstalled('$db', 'db', { action: 'fetch', dbKey: key }),
  delete: (key) => whenInstalled('$db', 'db', { action: 'delete', dbKey: key }),
  update: (key, type, attributes, options) => whenInstalled('$db', 'db', { action: 'update', dbKey: key, type, attributes, options }),
};

const $schedule = {};
for (const action of ['create', 'fetch', 'update', 'delete', 'pause', 'resume']) {
  $schedule[action] = (options) => whenInstalled('$schedule', 'schedule', { action, options });
}

function generateTargetUrl(options) {
  return whenInstalled('generateTargetUrl', 'generateTargetUrl', { options });
}

for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = function () {
    log(currentCall(), level, util.formatWithOptions({ colors: false }, ...arguments));
  };
}

Object.assign(globalThis, { renderData, $request, $db, $schedule, generateTargetUrl });

process.exit = function () {
  throw new Error('process.exit() is not available to server.js: the platform runs it, and ends it, itself');
};

process.on('uncaughtException', (e) => {
  const call = currentCall();
  if (call && !call.done) fail(call, e);
  else report(call, e);
});
process.on('unhandledRejection', (e) => {
  const call = currentCall();
  if (call && !call.done) fail(call, e);
  else report(call, e);
});

// ---------------------------------------------------------------------------------------
// Start

(function start() {
  const file = realpath(path.join(SERVER_DIR, 'server.js'));
  const started = process.hrtime.bigint();
  let result;
  try {
    if (!inApp(file)) throw new Error('server/server.js leads out of the server/ folder (a link to ' + file + '); it must be a file of the app');
    result = loadAppModule(file);
  } catch (e) {
    send({ t: 'load_error', error: describeError(e) }, DESCRIBE ? () => reallyExit(0) : undefined);
    return;
  }
  handlers = result !== null && (typeof result === 'object' || typeof result === 'function') ? result : {};
  const exported = Object.keys(handlers).filter((k) => typeof handlers[k] === 'function');
  // The 1.x/2.0 way to subscribe: `events: [{event: 'onTicketCreate', callback: 'handler'}]`
  // in the exports, where later platforms read manifest.json.
  const events = Array.isArray(handlers.events)
    ? handlers.events
      .filter((e) => e && typeof e.event === 'string' && typeof e.callback === 'string')
      .map((e) => ({ event: e.event, callback: e.callback }))
    : [];
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  send({ t: 'ready', exports: exported, events, node: process.version, load_ms: ms }, DESCRIBE ? () => reallyExit(0) : undefined);
})();
