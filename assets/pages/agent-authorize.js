// The Authorize buttons of the home page's agent-level OAuth panel: the popup flow of
// client.interface.trigger('reAuthorize'), started from the page. The tokens the popup posts
// back (only from this server's origin) are kept where the app client looks for them,
// `fdk-emu:tokens:<app>:<integration>` in localStorage.
(function () {
  'use strict';
  var panel = document.getElementById('agent-integrations');
  if (!panel) return;
  var app = panel.dataset.app;
  function key(integration) { return 'fdk-emu:tokens:' + app + ':' + integration; }
  function storage() { try { return window.localStorage; } catch (e) { return null; } }
  function state(integration) {
    return panel.querySelector('[data-state="' + CSS.escape(integration) + '"]');
  }
  function show(integration, text, ok) {
    var el = state(integration);
    if (!el) return;
    el.textContent = text;
    el.classList.toggle('ok', !!ok);
  }
  var s = storage();
  panel.querySelectorAll('button[data-integration]').forEach(function (button) {
    var integration = button.dataset.integration;
    if (s && s.getItem(key(integration))) show(integration, 'Authorized in this browser', true);
    button.addEventListener('click', function () {
      var popup = window.open('/auth/index?integration=' + encodeURIComponent(integration),
        'fdk-emu-oauth', 'width=640,height=760');
      if (!popup) { show(integration, 'The browser blocked the popup: allow popups for this page.'); return; }
      show(integration, 'Waiting for the authorization in the popup…');
    });
  });
  window.addEventListener('message', function (ev) {
    if (ev.origin !== location.origin) return;
    var d = ev.data;
    if (!d || d.type !== 'agent_oauth_handshake' || !state(d.integration || '')) return;
    if (d.error) { show(d.integration, 'Failed: ' + (d.error.message || String(d.error))); return; }
    if (d.tokens && s) s.setItem(key(d.integration), JSON.stringify(d.tokens));
    show(d.integration, 'Authorized in this browser (just now)', true);
  });
})();
