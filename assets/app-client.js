/*
 * fdk-emu's app client: what {{{appclient}}} loads in the app's pages.
 *
 * `app.initialized()` resolves to a client like the one of the Freshworks platform:
 *   client.request.invokeTemplate(name, {context, body, query, cache, ttl})
 *   client.request.invoke(name, params)  a function of server/server.js (SMI)
 *   client.iparams.get([key])            non-secure installation parameters
 *   client.interface.trigger('reAuthorize', {integration})   agent-level OAuth in a popup
 *   client.instance.context()            {location, module, product, data}
 *   client.events.on('app.activated', cb)
 * invokeTemplate posts to /dprouter (MKP-ROUTE: proxy) and resolves with FDK's envelope
 * {status, headers, response, attempts}; it rejects with the envelope when status >= 400.
 */
(function () {
  'use strict';
  if (window.app && window.app.__fdkEmu) return;

  var params = new URLSearchParams(location.search);
  var configPromise = null;

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

  // client.request.invoke(name, params): runs the function `name` of server/server.js (SMI)
  // through /dprouter (MKP-ROUTE: smi). Resolves with {requestID, response}; rejects with
  // {requestID, status, message, errorSource}, as the platform's client does.
  function invoke(name, params) {
    return fetch('/dprouter', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'MKP-ROUTE': 'smi' },
      body: JSON.stringify({ action: 'invoke', methodName: name, methodParams: params || {} })
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok && body && !body.errorSource) return body;
        if (body && typeof body === 'object') throw body;
        throw { status: r.status, message: 'fdk-emu answered HTTP ' + r.status, errorSource: 'PLATFORM' };
      });
    }, function (e) {
      throw { status: 502, message: 'fdk-emu could not be reached (is it still running?): ' + e, errorSource: 'PLATFORM' };
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
      (o.type === 'danger' || o.type === 'error' ? '#c82124' : o.type === 'success' ? '#00795b' : '#12344d');
    (document.body || document.documentElement).appendChild(el);
    setTimeout(function () { el.remove(); }, 4000);
  }

  var client = {
    request: {
      invokeTemplate: invokeTemplate,
      invoke: invoke
    },
    iparams: {
      get: function (key) {
        return getJSON('/iframe/api').then(function (api) {
          var all = api.configs || {};
          if (key === undefined) return all;
          var one = {};
          one[key] = all[key];
          return one;
        });
      }
    },
    interface: {
      trigger: function (action, opts) {
        if (action === 'reAuthorize') return reAuthorize(opts);
        if (action === 'showNotify') { notify(opts); return Promise.resolve({}); }
        console.info('[fdk-emu] interface.trigger(' + JSON.stringify(action) + ') is not emulated locally');
        return Promise.resolve({});
      }
    },
    instance: {
      context: function () {
        return Promise.resolve({
          location: params.get('location') || 'full_page_app',
          module: params.get('module') || undefined,
          product: params.get('module') || undefined,
          data: {}
        });
      },
      resize: function () { return Promise.resolve({}); },
      close: function () { return Promise.resolve({}); }
    },
    events: {
      on: function (name, cb) {
        // Only app.activated fires here: without a product page no other event happens.
        if (name === 'app.activated') setTimeout(function () { cb({}); }, 0);
      }
    },
    data: {
      get: function (name) {
        return Promise.reject(platformError(404,
          "client.data.get('" + name + "') needs a product page: fdk-emu does not emulate product data; open the app in the product with ?dev=true"));
      }
    }
  };

  var ready = null;
  window.app = {
    __fdkEmu: true,
    initialized: function () {
      if (!ready) {
        ready = new Promise(function (resolve) {
          if (document.readyState === 'loading') {
            document.addEventListener('DOMContentLoaded', function () { resolve(client); });
          } else {
            resolve(client);
          }
        });
      }
      return ready;
    }
  };
})();
