/*
 * fdk-emu's bootstrap: inlined at the top of <head> of every HTML page served under /iframe/,
 * so it runs before any script of the app, whatever `async`/`defer` the page uses.
 *
 * It decides which client the page gets and says so in the console:
 *  - "product": the frame's parent is on another origin (a Freshworks product page opened with
 *    ?dev=true). The product page provides data, events and interface through Freshworks' own
 *    client, so that client is loaded from its published URL, before the app's scripts (as
 *    FDK's page would have it), and fdk-emu's client steps aside.
 *  - "simulator": the parent is fdk-emu's home page (same origin, it defines __fdkEmuHost).
 *  - "standalone": the page is opened on its own.
 * In the last two, `app.initialized()` exists at once and waits for fdk-emu's client, which
 * the page's own <script src="{{{appclient}}}"> loads (or this bootstrap, once the page has
 * loaded, when the page builds the client's URL at run time).
 *
 * The server replaces __FRESHWORKS_CLIENT__ and __CLIENT_PATH__ (as JSON strings).
 */
(function () {
  'use strict';
  if (window.__fdkEmuBoot) return;
  var FRESHWORKS_CLIENT = __FRESHWORKS_CLIENT__;
  var CLIENT_PATH = __CLIENT_PATH__;
  var boot = { mode: 'standalone', parentOrigin: null, freshworksClient: null, waiters: [] };
  window.__fdkEmuBoot = boot;

  if (window.parent !== window) {
    var sameOrigin = false;
    try { sameOrigin = window.parent.location.origin === location.origin; } catch (e) { sameOrigin = false; }
    if (sameOrigin) {
      boot.parentOrigin = location.origin;
      try { if (window.parent.__fdkEmuHost) boot.mode = 'simulator'; } catch (e) { /* standalone */ }
    } else {
      var ancestors = location.ancestorOrigins;
      var origin = ancestors && ancestors.length ? ancestors[0] : '';
      if (!origin && document.referrer) {
        try { origin = new URL(document.referrer).origin; } catch (e) { origin = ''; }
      }
      boot.mode = 'product';
      boot.parentOrigin = origin || 'another origin';
    }
  }

  if (boot.mode === 'product') {
    boot.freshworksClient = { url: FRESHWORKS_CLIENT, state: 'loading' };
    console.info('[fdk-emu] this page runs under the product page ' + boot.parentOrigin +
      ": loading Freshworks' client from " + FRESHWORKS_CLIENT +
      " so that the product page provides data, events and interface; fdk-emu's client steps aside.");
    window.__fdkEmuFreshworksLoaded = function (ok) {
      boot.freshworksClient.state = ok ? 'loaded' : 'failed';
      if (!ok) {
        console.error("[fdk-emu] Freshworks' client could not be loaded from " + FRESHWORKS_CLIENT +
          ' (offline, or blocked by the browser?). The app cannot talk to the product page without it.');
      }
    };
    // document.write keeps Freshworks' client parser-blocking, so it runs before the app's
    // scripts exactly as when the page references it directly.
    document.write('<script src="' + FRESHWORKS_CLIENT.replace(/"/g, '&quot;') +
      '" onload="__fdkEmuFreshworksLoaded(true)" onerror="__fdkEmuFreshworksLoaded(false)"><\/script>');
    return;
  }

  console.info(boot.mode === 'simulator'
    ? "[fdk-emu] this page runs in fdk-emu's product simulator (" + location.origin +
      "/): fdk-emu's client answers the SDK with mock product data."
    : "[fdk-emu] this page is open on its own: fdk-emu's client answers the SDK; open " +
      location.origin + '/ to run it in the product simulator.');

  window.app = {
    __fdkEmuStub: true,
    initialized: function () {
      return new Promise(function (resolve, reject) { boot.waiters.push([resolve, reject]); });
    }
  };

  window.addEventListener('load', function () {
    if (window.__fdkEmuClient) return;
    var s = document.createElement('script');
    s.src = CLIENT_PATH;
    (document.head || document.documentElement).appendChild(s);
  });
})();
