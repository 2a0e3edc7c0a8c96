// The page around an app's own config/iparams.html: the app's page runs in the iframe with
// our client script (/custom_configs/client.js), which exposes window.fdkEmuIparams.
(function () {
  'use strict';
  var frame = document.getElementById('iparams-frame');
  var button = document.getElementById('install-button');
  var status = document.getElementById('install-status');
  function say(text, kind) {
    status.textContent = text;
    status.className = 'notice' + (kind ? ' ' + kind : '');
    status.hidden = false;
  }
  function fit() {
    try {
      var h = frame.contentDocument.documentElement.scrollHeight;
      if (h) frame.style.height = Math.max(420, h + 20) + 'px';
    } catch (e) { /* cross-origin: keep the default height */ }
  }
  frame.addEventListener('load', function () { fit(); setTimeout(fit, 300); });
  button.addEventListener('click', function () {
    var api = frame.contentWindow && frame.contentWindow.fdkEmuIparams;
    if (!api) { say('The installation page has not finished loading.', 'error'); return; }
    button.disabled = true;
    api.install().then(function (r) {
      say(r.message, r.ok ? 'ok' : 'error');
      if (r.ok) document.getElementById('open-app-line').hidden = false;
    }, function (err) {
      say(String(err && err.message || err), 'error');
    }).then(function () { button.disabled = false; });
  });
})();
