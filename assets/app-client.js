/*
 * fdk-emu's app client: what {{{appclient}}} (and Freshworks' fixed client URLs) load in the
 * app's pages. `app.initialized()` resolves to a client with the platform's front-end SDK:
 *
 *   client.data.get(name)                       mock product data (home page simulator)
 *   client.events.on(name, cb, {intercept})     app.activated/deactivated, product events
 *   client.interface.trigger(action, options)   showNotify, showModal, showDialog, showConfirm,
 *                                               show/hide/enable/disable/setValue/setOptions/
 *                                               click/open*, reAuthorize
 *   client.instance.context/get/send/receive/resize/close
 *   client.request.invokeTemplate(name, opts)   MKP-ROUTE proxy
 *   client.request.invoke(method, params)       MKP-ROUTE smi
 *   client.db.set/get/update/delete             MKP-ROUTE db
 *   client.iparams.get([key])                   non-secure installation parameters
 *   client.request.get/post/put/patch/delete    reject: platform 2.3+ uses request templates
 *
 * Where the page runs was decided by the bootstrap (assets/app-boot.js), inlined at the top of
 * the page: under a real product page this script does nothing (Freshworks' client serves the
 * page); in fdk-emu's home page it asks the page (the "host", assets/pages/simulator.js) for
 * product data, interface actions and other instances over postMessage, and reports every
 * SDK call there for the activity panel; on its own it answers what needs no product.
 */
(function () {
  'use strict';
  if (window.__fdkEmuClient) return;
  var boot = window.__fdkEmuBoot || null;
  if (boot && boot.mode === 'product') {
    console.info("[fdk-emu] fdk-emu's client is not used under the product page " + boot.parentOrigin +
      ": Freshworks' client serves this page.");
    return;
  }
  window.__fdkEmuClient = true;

  var params = new URLSearchParams(location.search);
  var configPromise = null;
  var mode = boot ? boot.mode : (function () {
    try { return window.parent !== window && window.parent.__fdkEmuHost ? 'simulator' : 'standalone'; } catch (e) { return 'standalone'; }
  })();

  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error(url + ' answered ' + r.status);
      return r.json();
    });
  }

  function config() {
    if (!configPromise) {
      configPromise = getJSON('/_fdk-emu/app/config.json').catch(function (e) {
        configPromise = null;
        throw e;
      });
    }
    return configPromise;
  }

  /** A JSON copy: what crosses to the host page, and what the app gets back. */
  function clone(v) {
    if (v === undefined) return undefined;
    try { return JSON.parse(JSON.stringify(v)); } catch (e) { return String(v); }
  }

  function rejection(status, message) {
    return { status: status, message: message };
  }

  var HOME_HINT = ' This page is open on its own, without a product around it: open ' + location.origin +
    "/ to run it in fdk-emu's product simulator.";

  // ---- the link to the home page (simulator) -----------------------------------------------

  var self = null;          // this instance, as the host registered it
  var active = false;       // whether the location is shown (app.activated)
  var seq = 0;
  var pending = {};
  var handlers = {};        // event name -> [{cb, intercept}]
  var receivers = [];       // instance.receive callbacks
  var activatedSeen = [];   // app.activated handlers already called for the current activation

  function toHost(msg) {
    msg.fdkEmu = 1;
    try { window.parent.postMessage(msg, location.origin); } catch (e) { /* host gone */ }
  }

  function hostCall(method, args) {
    if (mode !== 'simulator') {
      return Promise.reject(rejection(400, method + ' needs a product page.' + HOME_HINT));
    }
    return new Promise(function (resolve, reject) {
      var id = ++seq;
      pending[id] = [resolve, reject];
      toHost({ type: 'call', id: id, method: method, args: clone(args) });
    });
  }

  /** Reports a call and its outcome to the activity panel; returns the promise unchanged. */
  function track(method, args, promise) {
    if (mode !== 'simulator') return promise;
    var id = 'a' + (++seq);
    var started = Date.now();
    toHost({ type: 'activity', phase: 'start', id: id, method: method, args: clone(args) });
    promise.then(function (value) {
      toHost({ type: 'activity', phase: 'end', id: id, ok: true, value: clone(value), ms: Date.now() - started });
    }, function (error) {
      toHost({ type: 'activity', phase: 'end', id: id, ok: false, value: clone(error), ms: Date.now() - started });
    });
    return promise;
  }

  function eventObject(name, data, decide) {
    var decided = false;
    function once(result, message) {
      if (decided) return;
      decided = true;
      if (decide) decide(result, message);
    }
    return {
      type: name,
      helper: {
        getData: function () { return clone(data) || {}; },
        done: function () { once('done'); },
        fail: function (message) { once('fail', message === undefined ? '' : String(message)); }
      }
    };
  }

  function callHandler(h, ev) {
    try {
      h.cb(ev);
      return true;
    } catch (e) {
      console.error('[fdk-emu] the handler of ' + ev.type + ' threw:', e);
      return false;
    }
  }

  function activate() {
    active = true;
    activatedSeen = [];
    (handlers['app.activated'] || []).forEach(function (h) {
      activatedSeen.push(h);
      callHandler(h, eventObject('app.activated', {}));
    });
  }

  function onHostMessage(ev) {
    if (ev.source !== window.parent || ev.origin !== location.origin) return;
    var d = ev.data;
    if (!d || d.fdkEmu !== 1) return;
    if (d.type === 'reply') {
      var p = pending[d.id];
      if (!p) return;
      delete pending[d.id];
      if (d.ok) p[0](d.value); else p[1](d.value);
    } else if (d.type === 'event') {
      var list = (handlers[d.name] || []).slice();
      if (d.name === 'app.activated') {
        activate();
        toHost({ type: 'eventResult', eventId: d.eventId, result: list.length ? 'handled' : 'unhandled', handlers: list.length });
        return;
      }
      if (d.name === 'app.deactivated') active = false;
      var intercept = list.filter(function (h) { return h.intercept; });
      var answered = false;
      var decide = function (result, message) {
        answered = true;
        toHost({ type: 'eventResult', eventId: d.eventId, result: result, message: message, handlers: list.length });
      };
      list.forEach(function (h) {
        callHandler(h, eventObject(d.name, d.data, h.intercept ? decide : null));
      });
      if (!intercept.length && !answered) {
        toHost({ type: 'eventResult', eventId: d.eventId, result: list.length ? 'handled' : 'unhandled', handlers: list.length });
      }
    } else if (d.type === 'receive') {
      receivers.slice().forEach(function (cb) {
        try {
          cb({ type: 'instance.receive', helper: { getData: function () { return { senderId: d.senderId, message: clone(d.message) }; } } });
        } catch (e) {
          console.error('[fdk-emu] the instance.receive callback threw:', e);
        }
      });
    }
  }

  /** Registers with the host; resolves once the host has answered (or at once, standalone). */
  function connect() {
    if (mode !== 'simulator') return Promise.resolve();
    window.addEventListener('message', onHostMessage);
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        console.warn("[fdk-emu] the home page did not answer: running without the product simulator.");
        mode = 'standalone';
        resolve();
      }, 5000);
      pending.hello = [function (welcome) {
        clearTimeout(timer);
        self = welcome.instance;
        if (welcome.active) active = true;
        resolve();
      }, function () {}];
      toHost({ type: 'call', id: 'hello', method: 'hello', args: [{ path: location.pathname, query: location.search }] });
    });
  }

  // ---- server routes ---------------------------------------------------------------------

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function tokensKey(cfg, integration) {
    return 'fdk-emu:tokens:' + cfg.app + ':' + integration;
  }

  function loadTokens(cfg, integration) {
    var s = storage();
    if (!s) return null;
    try { return JSON.parse(s.getItem(tokensKey(cfg, integration)) || 'null'); } catch (e) { return null; }
  }

  function saveTokens(cfg, integration, tokens) {
    var s = storage();
    if (s && tokens) s.setItem(tokensKey(cfg, integration), JSON.stringify(tokens));
  }

  /** invokeTemplate's rejections have the shape of its envelope. */
  function platformError(status, message) {
    return { status: status, headers: {}, response: message, attempts: 0, errorSource: 'PLATFORM' };
  }

  function dprouter(route, body) {
    return fetch('/dprouter', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'MKP-ROUTE': route },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (payload) {
        if (r.ok && payload) return payload;
        var msg = payload && payload.message ? payload.message : 'fdk-emu answered HTTP ' + r.status;
        throw platformError(r.status, msg);
      });
    }, function (e) {
      throw platformError(502, 'fdk-emu could not be reached (is it still running?): ' + e);
    });
  }

  function cacheKey(cfg, name, o) {
    return 'fdk-emu:cache:' + cfg.app + ':' + name + ':' +
      JSON.stringify([o.context || null, o.body === undefined ? null : o.body, o.query || null]);
  }

  function invokeTemplate(name, options) {
    var o = options || {};
    return config().then(function (cfg) {
      var s = storage();
      var key = o.cache ? cacheKey(cfg, name, o) : null;
      if (key && s) {
        try {
          var hit = JSON.parse(s.getItem(key) || 'null');
          if (hit && hit.expires > Date.now()) return hit.envelope;
        } catch (e) { /* a broken entry is a miss */ }
      }
      var integration = (cfg.agentTemplates || {})[name];
      var send = function () {
        var payload = { action: 'invokeTemplate', templateName: name, data: {} };
        if (o.context !== undefined) payload.data.context = o.context;
        if (o.body !== undefined) payload.data.body = o.body;
        if (o.query !== undefined) payload.data.query = o.query;
        if (integration) {
          var t = loadTokens(cfg, integration);
          if (t) payload.tokens = t;
        }
        return dprouter('proxy', payload);
      };
      return send().then(function (env) {
        // Agent-level token refused: refresh it once with the refresh token, then resend.
        var t = integration ? loadTokens(cfg, integration) : null;
        if (env.status === 401 && env.errorSource === 'APP' && t && t.refresh_token) {
          return dprouter('oauth', { action: 'refresh', integration: integration, tokens: t })
            .then(function (r) {
              if (r && r.tokens) {
                saveTokens(cfg, integration, r.tokens);
                return send();
              }
              return env;
            }, function () { return env; });
        }
        return env;
      }).then(function (env) {
        if (env.status >= 400) throw env;
        if (key && s) {
          var ttl = typeof o.ttl === 'number' && o.ttl > 0 ? o.ttl : 60000;
          try { s.setItem(key, JSON.stringify({ expires: Date.now() + ttl, envelope: env })); } catch (e) { /* full */ }
        }
        return env;
      });
    });
  }

  function reAuthorize(opts) {
    return config().then(function (cfg) {
      var list = cfg.integrations || [];
      var wanted = opts && opts.integration;
      var agent = list.filter(function (i) { return i.type === 'agent'; })[0];
      var integration = wanted || (agent && agent.name) || (list[0] && list[0].name);
      if (!integration) throw platformError(400, 'reAuthorize: the app has no OAuth integration (config/oauth_config.json)');
      var popup = window.open('/auth/index?integration=' + encodeURIComponent(integration),
        'fdk-emu-oauth', 'width=640,height=760');
      if (!popup) throw platformError(400, 'reAuthorize: the browser blocked the popup; allow popups for this page');
      return new Promise(function (resolve, reject) {
        var timer = null;
        function done() {
          window.removeEventListener('message', onMessage);
          if (timer) clearInterval(timer);
        }
        function onMessage(ev) {
          if (ev.origin !== location.origin) return; // only our own callback page
          var d = ev.data;
          if (!d || d.type !== 'agent_oauth_handshake') return;
          if (d.integration && d.integration !== integration) return;
          done();
          if (d.error) return reject(platformError(401, d.error.message || String(d.error)));
          if (d.tokens) saveTokens(cfg, integration, d.tokens);
          resolve({ integration: integration });
        }
        window.addEventListener('message', onMessage);
        timer = setInterval(function () {
          if (popup.closed) {
            done();
            // Account-level handshakes store the tokens server-side and may not post back.
            resolve({ integration: integration, closed: true });
          }
        }, 500);
      });
    });
  }

  function notify(opts) {
    var o = opts || {};
    var el = document.createElement('div');
    el.setAttribute('role', 'status');
    el.setAttribute('data-fdk-emu-notify', o.type || 'info');
    el.textContent = (o.title ? o.title + ': ' : '') + (o.message || '');
    el.style.cssText = 'position:fixed;right:12px;bottom:12px;z-index:2147483647;padding:8px 12px;' +
      'border-radius:4px;font:13px system-ui,sans-serif;color:#fff;background:' +
      (o.type === 'danger' || o.type === 'alert' ? '#c82124' : o.type === 'success' ? '#00795b' : '#12344d');
    (document.body || document.documentElement).appendChild(el);
    setTimeout(function () { el.remove(); }, 4000);
  }

  /**
   * POSTs to /dprouter and answers {status, body} whatever the status. The frame's module goes
   * along (`?module=`), so the call sees that product's keys, as in production.
   */
  function route(name, body) {
    var module = params.get('module');
    return fetch('/dprouter' + (module ? '?module=' + encodeURIComponent(module) : ''), {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'MKP-ROUTE': name },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (payload) {
        return { status: r.status, body: payload };
      });
    }, function (e) {
      throw rejection(502, 'fdk-emu could not be reached (is it still running?): ' + e);
    });
  }

  /**
   * A call on a route that may not be served yet (db, smi): a clear rejection naming what is
   * missing instead of FDK's bare "Route not allowed".
   */
  function routeCall(name, what, body) {
    return config().then(function (cfg) {
      if (cfg.routes && cfg.routes.indexOf(name) < 0) {
        throw rejection(501, what + ': this fdk-emu does not serve the ' + name + " route (MKP-ROUTE: " + name +
          ') yet, so ' + what.split('(')[0] + ' cannot run here.');
      }
      return route(name, body).then(function (res) {
        var b = res.body;
        if (res.status === 404 && b && b.message === 'Route not allowed') {
          throw rejection(404, what + ': fdk-emu refused the ' + name + ' route ("Route not allowed"). ' +
            'FDK allows it only once the app is installed: finish the settings at ' + location.origin + '/custom_configs first.');
        }
        return res;
      });
    });
  }

  function dbKey(method, key) {
    if (typeof key !== 'string' || key === '') {
      return rejection(400, 'client.db.' + method + ': the key must be a non-empty string, not ' + JSON.stringify(key));
    }
    return null;
  }

  function dbCall(method, key, body) {
    var bad = dbKey(method, key);
    if (bad) return Promise.reject(bad);
    body.dbKey = key;
    return routeCall('db', 'client.db.' + method + '(' + JSON.stringify(key) + ')', body).then(function (res) {
      if (res.status >= 400 || (res.body && typeof res.body.status === 'number' && res.body.status >= 400 && res.body.message)) {
        throw res.body || rejection(res.status, 'the db route answered HTTP ' + res.status);
      }
      return res.body;
    });
  }

  function smi(methodName, methodParams) {
    if (typeof methodName !== 'string' || methodName === '') {
      return Promise.reject(rejection(400, 'client.request.invoke: the first argument must be the name of a function exported by server/server.js'));
    }
    var body = { action: 'invoke', methodName: methodName, methodParams: methodParams === undefined ? {} : methodParams };
    return routeCall('smi', 'client.request.invoke(' + JSON.stringify(methodName) + ')', body).then(function (res) {
      var b = res.body || rejection(res.status, 'the smi route answered HTTP ' + res.status + ' without a body');
      if (res.status >= 400 || b.errorSource || (typeof b.status === 'number' && b.status >= 400)) throw b;
      return b;
    });
  }

  function legacy(method) {
    return function () {
      return track('request.' + method.split('.').pop(), Array.prototype.slice.call(arguments), Promise.reject(rejection(400, method + ' is no longer supported in Request API: from platform 2.3 on, ' +
        'declare the request as a template in config/requests.json (and list it under "requests" in manifest.json), ' +
        "then call client.request.invokeTemplate('<template name>', {context, body, query}). " +
        'See the migration guide: https://developers.freshworks.com/docs/app-sdk/v3.0/common/advanced-interfaces/request-method/')));
    };
  }

  var LEGACY = ['get', 'post', 'put', 'patch', 'delete'];

  var client = {
    request: {
      invokeTemplate: function (name, options) {
        return track('request.invokeTemplate', [name, options], invokeTemplate(name, options));
      },
      invoke: function (methodName, methodParams) {
        return track('request.invoke', [methodName, methodParams], smi(methodName, methodParams));
      }
    },
    db: {
      set: function (key, value, options) {
        var body = { action: 'store', data: value };
        if (options !== undefined) body.options = options;
        return track('db.set', [key, value, options], dbCall('set', key, body));
      },
      get: function (key) {
        return track('db.get', [key], dbCall('get', key, { action: 'fetch' }));
      },
      update: function (key, type, attributes) {
        return track('db.update', [key, type, attributes], dbCall('update', key, { action: 'update', type: type, attributes: attributes }));
      },
      delete: function (key) {
        return track('db.delete', [key], dbCall('delete', key, { action: 'delete' }));
      }
    },
    iparams: {
      get: function (key) {
        var p = getJSON('/iframe/api').then(function (api) {
          var all = api.configs || {};
          if (key === undefined) return all;
          var one = {};
          one[key] = all[key];
          return one;
        });
        return track('iparams.get', key === undefined ? [] : [key], p);
      }
    },
    data: {
      get: function (name) {
        return track('data.get', [name], hostCall('data.get', [name]).then(clone));
      }
    },
    events: {
      on: function (name, cb, options) {
        var intercept = !!(options && options.intercept);
        if (typeof name !== 'string' || typeof cb !== 'function') {
          console.error('[fdk-emu] client.events.on(name, callback[, {intercept}]) needs an event name and a function');
          return;
        }
        (handlers[name] = handlers[name] || []).push({ cb: cb, intercept: intercept });
        track('events.on', intercept ? [name, { intercept: true }] : [name], Promise.resolve(undefined));
        if (mode === 'simulator') toHost({ type: 'on', event: name, intercept: intercept });
        if (name === 'app.activated' && (active || mode !== 'simulator')) {
          var h = handlers[name][handlers[name].length - 1];
          setTimeout(function () {
            if (activatedSeen.indexOf(h) >= 0) return;
            activatedSeen.push(h);
            callHandler(h, eventObject('app.activated', {}));
          }, 0);
        }
      }
    },
    interface: {
      trigger: function (action, options) {
        var p;
        if (action === 'reAuthorize') {
          p = reAuthorize(options);
        } else if (mode !== 'simulator' && action === 'showNotify') {
          notify(options);
          p = Promise.resolve({ message: 'success' });
        } else {
          p = hostCall('interface.trigger', [action, options]);
        }
        return track('interface.trigger', [action, options], p);
      }
    },
    instance: {
      context: function () {
        var p = mode === 'simulator'
          ? hostCall('instance.context', [])
          : Promise.resolve({
            instanceId: '1',
            location: params.get('location') || 'full_page_app',
            module: params.get('module') || undefined,
            product: params.get('module') || undefined,
            data: {}
          });
        return track('instance.context', [], p);
      },
      get: function () {
        return track('instance.get', [], hostCall('instance.get', []));
      },
      send: function (options) {
        return track('instance.send', [options], hostCall('instance.send', [options]));
      },
      receive: function (cb) {
        if (typeof cb !== 'function') {
          console.error('[fdk-emu] client.instance.receive(callback) needs a function');
          return;
        }
        receivers.push(cb);
        track('instance.receive', [], Promise.resolve(undefined));
      },
      resize: function (options) {
        return track('instance.resize', [options], mode === 'simulator' ? hostCall('instance.resize', [options]) : Promise.resolve({}));
      },
      close: function () {
        return track('instance.close', [], mode === 'simulator' ? hostCall('instance.close', []) : Promise.resolve({}));
      }
    }
  };
  LEGACY.forEach(function (m) { client.request[m] = legacy('client.request.' + m); });

  var ready = null;
  function initialized() {
    if (!ready) {
      ready = new Promise(function (resolve) {
        if (document.readyState === 'loading') {
          document.addEventListener('DOMContentLoaded', function () { resolve(); });
        } else {
          resolve();
        }
      }).then(connect).then(function () { return client; });
    }
    return ready;
  }

  window.app = { __fdkEmu: true, initialized: initialized };
  // Calls made on the bootstrap's stub before this script ran.
  (boot ? boot.waiters.splice(0) : []).forEach(function (w) { initialized().then(w[0], w[1]); });
})();
