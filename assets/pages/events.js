/* The event simulator (/web/test): pick an event, edit its payload, fire it, see the result,
   the handler's logs, the history and the schedules. Every value from the app is put into the
   page as text (textContent), never as HTML. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var subs = [];

  function status(text, kind) {
    var s = $('ev-status');
    s.hidden = !text;
    s.className = 'notice' + (kind ? ' ' + kind : '');
    s.textContent = text || '';
  }

  function json(r) {
    return r.json().then(function (b) { return { ok: r.ok, status: r.status, body: b }; },
      function () { return { ok: false, status: r.status, body: { message: 'HTTP ' + r.status } }; });
  }

  function current() { return $('ev-select').value; }

  function loadPayload() {
    var ev = current();
    if (!ev) return;
    var sub = subs.filter(function (s) { return s.event === ev; })[0];
    $('ev-where').textContent = sub ? 'Handler ' + sub.handler + ', declared in ' + sub.declared_at : '';
    $('ev-file').textContent = 'server/test_data/' + ev + '.json';
    fetch('/web/events/' + encodeURIComponent(ev)).then(json).then(function (r) {
      if (!r.ok) { status(r.body.message, 'bad'); return; }
      $('ev-payload').value = JSON.stringify(r.body, null, 2);
    });
  }

  function cell(tr, text) {
    var td = document.createElement('td');
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function showResult(f) {
    $('ev-result-card').hidden = false;
    var ok = f.outcome.status === 'ok';
    $('ev-result-line').textContent = f.event + (f.handler ? ' → ' + f.handler : '') + ': ' +
      (ok ? 'succeeded' : 'failed: ' + f.outcome.message) + ' in ' + f.duration_ms + ' ms';
    $('ev-result-line').className = ok ? 'good' : 'bad';
    $('ev-result').textContent = ok ? JSON.stringify(f.outcome.data === undefined ? null : f.outcome.data, null, 2) : f.outcome.message;
    $('ev-logs').textContent = (f.logs || []).map(function (l) { return l.level + ': ' + l.text; }).join('\n') || '(nothing logged)';
  }

  function refresh() {
    return fetch('/_fdk-emu/events/api/state').then(json).then(function (r) {
      if (!r.ok) return;
      var st = r.body;
      var first = subs.length === 0;
      subs = st.subscriptions || [];
      var sel = $('ev-select');
      var keep = sel.value;
      sel.textContent = '';
      subs.forEach(function (s) {
        var o = document.createElement('option');
        o.value = s.event;
        o.textContent = s.event + ' (' + s.kind.replace('_', ' ') + ')';
        sel.appendChild(o);
      });
      if (keep) sel.value = keep;
      $('ev-none').hidden = subs.length > 0;
      if (first && subs.length) loadPayload();
      var rows = $('ev-sched-rows');
      rows.textContent = '';
      var scheds = Array.isArray(st.schedules) ? st.schedules : [];
      $('ev-sched-count').textContent = String(scheds.length);
      $('ev-sched-empty').hidden = scheds.length > 0;
      scheds.forEach(function (s) {
        var tr = document.createElement('tr');
        cell(tr, s.name);
        cell(tr, s.paused ? 'paused' : (s.next_at || ''));
        cell(tr, s.repeat ? 'every ' + s.repeat.frequency + ' ' + s.repeat.time_unit : 'once');
        cell(tr, JSON.stringify(s.data));
        cell(tr, String(s.fired));
        var td = cell(tr, '');
        var b = document.createElement('button');
        b.type = 'button';
        b.textContent = 'Fire now';
        b.setAttribute('data-schedule', s.name);
        b.addEventListener('click', function () {
          fetch('/_fdk-emu/events/api/schedules/' + encodeURIComponent(s.name) + '/fire', { method: 'POST' })
            .then(json).then(function (r) {
              if (r.ok) showResult(r.body); else status(r.body.message, 'bad');
              refresh();
            });
        });
        td.appendChild(b);
        rows.appendChild(tr);
      });
      var hist = $('ev-hist-rows');
      hist.textContent = '';
      var h = st.history || [];
      $('ev-hist-empty').hidden = h.length > 0;
      h.forEach(function (f) {
        var tr = document.createElement('tr');
        cell(tr, new Date(f.at_ms).toLocaleTimeString());
        cell(tr, f.event);
        cell(tr, f.source);
        cell(tr, f.outcome.status === 'ok' ? 'ok' : 'failed: ' + f.outcome.message);
        cell(tr, f.duration_ms + ' ms');
        tr.addEventListener('click', function () { showResult(f); });
        hist.appendChild(tr);
      });
    });
  }

  $('ev-select').addEventListener('change', loadPayload);
  $('ev-fire').addEventListener('click', function () {
    var ev = current();
    if (!ev) return;
    var text = $('ev-payload').value;
    try { JSON.parse(text); } catch (e) { status('The payload is not valid JSON: ' + e.message, 'bad'); return; }
    status('Firing ' + ev + '…');
    $('ev-fire').disabled = true;
    fetch('/web/events/' + encodeURIComponent(ev), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text,
    }).then(json).then(function (r) {
      $('ev-fire').disabled = false;
      if (!r.ok) { status(r.body.message, 'bad'); return; }
      status('');
      showResult(r.body);
      refresh();
    }, function (e) { $('ev-fire').disabled = false; status(String(e), 'bad'); });
  });
  $('ev-reset').addEventListener('click', function () {
    var ev = current();
    fetch('/web/events/reset/' + encodeURIComponent(ev), { method: 'POST' }).then(json).then(function (r) {
      if (r.ok) $('ev-payload').value = JSON.stringify(r.body, null, 2); else status(r.body.message, 'bad');
    });
  });
  refresh();
  setInterval(refresh, 3000);
}());
