// fdk-emu's client script for config/iparams.html (what {{{appclient}}} points to on the
// installation page). On load it hands the stored values to the page's getConfigs(configs);
// on Install it runs validate() when the page defines it, then stores what postConfigs()
// returns, as FDK's installation page does. client.request.invokeTemplate is there too: a
// settings page typically checks an API key before it lets the user install, passing the
// typed values as `context` (nothing is stored yet); so is client.request.invoke, a function
// of server/server.js (which sees isInstall: true until the settings are stored).
(function () {
  'use strict';
  var stored = null;
  // The last legacy request call (client.request.get/post/…) and its message: a validate()
  // written for platform 2.2 often swallows the rejection and returns false, and the user
  // should read why rather than a bare "Validation failed.".
  var legacyUsed = null;
  // The wording of the app client's rejection (assets/app-client.js).
  function legacy(method) {
    return function () {
      var message = 'client.request.' + method + ' is no longer supported in Request API: from platform 2.3 on, ' +
        'declare the request as a template in config/requests.json (and list it under "requests" in manifest.json), ' +
        "then call client.request.invokeTemplate('<template name>', {context, body, query}). " +
        'See the migration guide: https://developers.freshworks.com/docs/app-sdk/v3.0/common/advanced-interfaces/request-method/';
      legacyUsed = message;
      console.error('fdk-emu: ' + message);
      return Promise.reject({ status: 400, message: message });
    };
  }
  function call(name, args) {
    var fn = window[name];
    if (typeof fn !== 'function') return Promise.reject(new Error('The page does not define ' + name + '().'));
    try { return Promise.resolve(fn.apply(window, args || [])); }
    catch (e) { return Promise.reject(e); }
  }
  function load() {
    return fetch('/custom_configs/fetch', { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        stored = body.customIParams || {};
        if (typeof window.getConfigs === 'function' && Object.keys(stored).length) {
          return call('getConfigs', [stored]);
        }
      })
      .catch(function (e) { console.error('fdk-emu: loading the stored configs failed:', e); });
  }
  function install() {
    legacyUsed = null;
    var validated = typeof window.validate === 'function'
      ? call('validate').catch(function (e) {
          throw new Error("Error occurred while calling method: 'validate' - " + (e && e.message || e));
        })
      : Promise.resolve(true);
    return validated.then(function (ok) {
      if (ok === false) return { ok: false, message: legacyUsed ? 'Validation failed: ' + legacyUsed : 'Validation failed.' };
      return call('postConfigs').catch(function (e) {
        throw new Error("Error occurred while calling method: 'postConfigs' - " + (e && e.message || e));
      }).then(function (configs) {
        return fetch('/custom_configs/store', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(configs)
        }).then(function (r) {
          if (r.ok) return { ok: true, message: 'App installation parameters have been successfully stored. You can now proceed to test the app.' };
          return r.json().then(function (b) {
            return { ok: false, message: 'Failed to store installation parameters: ' + (b.message || r.status) };
          }, function () { return { ok: false, message: 'Failed to store installation parameters (' + r.status + ').' }; });
        });
      });
    });
  }
  // As the app's client: resolves with FDK's envelope, rejects with it when status >= 400.
  function invokeTemplate(name, options) {
    var o = options || {};
    var payload = { action: 'invokeTemplate', templateName: name, data: {} };
    if (o.context !== undefined) payload.data.context = o.context;
    if (o.body !== undefined) payload.data.body = o.body;
    if (o.query !== undefined) payload.data.query = o.query;
    var failed = function (status, message) {
      return { status: status, headers: {}, response: message, attempts: 0, errorSource: 'PLATFORM' };
    };
    return fetch('/dprouter', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'MKP-ROUTE': 'proxy' },
      body: JSON.stringify(payload)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (env) {
        if (!r.ok || !env) throw failed(r.status, (env && env.message) || 'fdk-emu answered HTTP ' + r.status);
        if (env.status >= 400) throw env;
        return env;
      });
    }, function (e) {
      throw failed(502, 'fdk-emu could not be reached (is it still running?): ' + e);
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

  var client = {
    request: {
      invokeTemplate: invokeTemplate,
      invoke: invoke,
      get: legacy('get'),
      post: legacy('post'),
      put: legacy('put'),
      patch: legacy('patch'),
      delete: legacy('delete')
    },
    iparams: {
      get: function () { return Promise.resolve(stored || {}); },
      apply: function () { return install(); }
    }
  };
  window.app = window.app || {
    initialized: function () { return ready.then(function () { return client; }); }
  };
  window.fdkEmuIparams = { install: install, reload: load };
  var ready = new Promise(function (resolve) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve);
    else resolve();
  }).then(load);
})();
