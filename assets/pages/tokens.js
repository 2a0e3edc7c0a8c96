// The token panel's clocks: the expiry of each token counts down, and the last refresh says
// how long ago it was. The server gives Unix seconds; this machine's clock is the server's.
(function () {
  'use strict';
  function span(s) {
    s = Math.abs(s);
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }
  function at(t) { return new Date(t * 1000).toLocaleTimeString([], { hour12: false }); }
  function tick() {
    var now = Math.floor(Date.now() / 1000);
    document.querySelectorAll('[data-expires-at]').forEach(function (e) {
      var t = Number(e.getAttribute('data-expires-at'));
      var left = t - now;
      e.textContent = left > 0 ? 'in ' + span(left) + ' (at ' + at(t) + ')' : 'expired ' + span(left) + ' ago (at ' + at(t) + ')';
      e.classList.toggle('bad', left <= 0);
    });
    document.querySelectorAll('.last-refresh[data-at]').forEach(function (e) {
      if (!e.dataset.outcome) e.dataset.outcome = e.textContent;
      var t = Number(e.getAttribute('data-at'));
      e.textContent = e.dataset.outcome + ', ' + span(now - t) + ' ago (at ' + at(t) + ')';
    });
  }
  tick();
  setInterval(tick, 1000);
})();
