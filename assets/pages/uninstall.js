/* The home page's Uninstall button: fires onAppUninstall and clears the installation
   parameters (a failing handler keeps the app installed and says why). */
(function () {
  'use strict';
  var b = document.getElementById('uninstall');
  if (!b) return;
  b.addEventListener('click', function () {
    b.disabled = true;
    var out = document.getElementById('uninstall-result');
    fetch('/_fdk-emu/events/api/uninstall', { method: 'POST' })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        out.hidden = false;
        out.textContent = j.message;
        b.disabled = false;
        if (j.status === 200) setTimeout(function () { location.reload(); }, 800);
      }, function (e) { out.hidden = false; out.textContent = String(e); b.disabled = false; });
  });
}());
