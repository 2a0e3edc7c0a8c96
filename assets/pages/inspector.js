// The request inspector: lists the kept calls, adds new ones as the server pushes them
// (server-sent events), filters by kind, name and status, and shows one call in full.
// Every value is put on the page as text (textContent), never as HTML.
(function () {
  'use strict';
  var tbody = document.querySelector('#calls tbody');
  var empty = document.getElementById('empty');
  var detail = document.getElementById('detail');
  var live = document.getElementById('live');
  var filters = {
    kind: document.getElementById('f-kind'),
    name: document.getElementById('f-name'),
    status: document.getElementById('f-status')
  };
  var summaries = {};
  var shown = null;
  var lastId = 0;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function summaryOf(r) {
    var req = r.request || {};
    return {
      id: r.id, kind: r.kind, name: r.name, caller: r.caller, at: r.at, duration_ms: r.duration_ms,
      status: r.status, ok: r.ok, error_source: r.error_source, method: req.method, url: req.url,
      attempts: (r.attempts || []).length, refreshed: (r.refreshes || []).length > 0
    };
  }

  function matches(s) {
    var k = filters.kind.value, n = filters.name.value, st = filters.status.value;
    if (k && s.kind !== k) return false;
    if (n && s.name !== n) return false;
    if (st === 'ok') return s.ok;
    if (st === 'error') return !s.ok;
    if (/^[1-5]xx$/.test(st)) return Math.floor(s.status / 100) === Number(st[0]);
    return true;
  }

  function ensureName(name) {
    var opts = filters.name.options;
    for (var i = 0; i < opts.length; i++) if (opts[i].value === name) return;
    filters.name.appendChild(el('option', { value: name }, name));
  }

  function time(ms) {
    var d = new Date(ms);
    return d.toLocaleTimeString([], { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
  }

  function addRow(s) {
    if (summaries[s.id]) return;
    summaries[s.id] = s;
    ensureName(s.name);
    var tr = el('tr', { 'data-id': s.id, 'data-kind': s.kind, 'data-name': s.name, tabindex: '0',
      class: s.ok ? 'ok' : 'failed' });
    tr.appendChild(el('td', {}, s.id));
    tr.appendChild(el('td', {}, time(s.at)));
    tr.appendChild(el('td', {}, s.kind));
    var name = el('td', { class: 'name' }, s.name);
    if (s.refreshed) name.appendChild(el('span', { class: 'badge', title: 'a token refresh happened' }, 'refresh'));
    tr.appendChild(name);
    tr.appendChild(el('td', { class: 'status' }, s.status + (s.error_source ? ' ' + s.error_source : '')));
    tr.appendChild(el('td', { class: 'url' }, s.method ? s.method + ' ' + (s.url || '') : ''));
    tr.appendChild(el('td', { class: 'num' }, s.duration_ms.toFixed(1)));
    tr.hidden = !matches(s);
    tr.addEventListener('click', function () { show(s.id); });
    tr.addEventListener('keydown', function (e) { if (e.key === 'Enter') show(s.id); });
    tbody.insertBefore(tr, tbody.firstChild);
    if (s.id > lastId) lastId = s.id;
    refreshEmpty();
  }

  function refreshEmpty() {
    var any = Array.prototype.some.call(tbody.rows, function (r) { return !r.hidden; });
    empty.hidden = any;
  }

  function applyFilters() {
    Array.prototype.forEach.call(tbody.rows, function (tr) {
      tr.hidden = !matches(summaries[tr.getAttribute('data-id')]);
    });
    refreshEmpty();
  }

  function table(cls, heads, rows) {
    var t = el('table', { class: cls });
    var head = el('tr');
    heads.forEach(function (h) { head.appendChild(el('th', {}, h)); });
    t.appendChild(el('thead')).appendChild(head);
    var body = t.appendChild(el('tbody'));
    rows.forEach(function (cells) {
      var tr = el('tr');
      cells.forEach(function (c) { tr.appendChild(el('td', {}, c)); });
      body.appendChild(tr);
    });
    return t;
  }

  function bodyBlock(b, cls) {
    if (!b) return el('p', { class: 'empty' }, 'no body');
    var text = b.text;
    try { if (text && /^[\[{]/.test(text.trim()) && !b.truncated) text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* as sent */ }
    var wrap = el('div', { class: cls });
    wrap.appendChild(el('pre', {}, text));
    if (b.truncated) wrap.appendChild(el('p', { class: 'help' }, 'Only the first ' + b.text.length + ' of ' + b.size + ' bytes are kept.'));
    return wrap;
  }

  function section(title, cls) {
    var s = el('section', { class: cls });
    s.appendChild(el('h3', {}, title));
    detail.appendChild(s);
    return s;
  }

  function render(r) {
    detail.textContent = '';
    detail.hidden = false;
    var h = el('h2', {}, '#' + r.id + ' ' + r.name);
    detail.appendChild(h);
    detail.appendChild(el('p', { class: 'meta' },
      r.kind + ' · status ' + r.status + (r.error_source ? ' (' + r.error_source + ')' : '') +
      ' · ' + r.duration_ms.toFixed(1) + ' ms · ' + new Date(r.at).toLocaleString() +
      (r.caller ? ' · from the ' + r.caller : '')));
    if (r.error) detail.appendChild(el('p', { class: 'notice error' }, r.error));
    if (r.request) {
      var req = section('Request', 'request');
      if (r.request.url) req.appendChild(el('p', { class: 'line' }, (r.request.method || '') + ' ' + r.request.url));
      if (r.request.headers.length) req.appendChild(table('headers', ['Header', 'Value'], r.request.headers));
      if (r.request.body) req.appendChild(bodyBlock(r.request.body, 'body'));
      var curl = el('div', { class: 'curl' });
      var btn = el('button', { type: 'button', class: 'secondary', id: 'copy-curl' }, 'Copy as curl');
      var pre = el('pre', { id: 'curl', hidden: '' });
      btn.addEventListener('click', function () {
        fetch('/_fdk-emu/inspector/records/' + r.id).then(function (res) { return res.json(); }).then(function (full) {
          pre.textContent = full.curl || '(this call has no request to copy)';
          pre.hidden = false;
          if (navigator.clipboard && full.curl) {
            navigator.clipboard.writeText(full.curl).then(function () { btn.textContent = 'Copied (secrets stay ****)'; },
              function () { btn.textContent = 'Select the command below to copy it'; });
          }
        });
      });
      curl.appendChild(btn);
      curl.appendChild(pre);
      req.appendChild(curl);
    }
    if (r.substitutions.length) {
      section('Substitutions', 'substitutions').appendChild(table('subs', ['Field', 'Variable', 'From', 'Value'],
        r.substitutions.map(function (s) {
          return [s.field, s.variable, s.source.replace('_', ' '), s.value === null ? '(not set)' : s.value];
        })));
    }
    if (r.attempts.length) {
      section('Attempts', 'attempts').appendChild(table('tries', ['#', 'Started (ms)', 'Took (ms)', 'Outcome'],
        r.attempts.map(function (a) {
          return [a.number, a.start_ms.toFixed(1), a.duration_ms.toFixed(1), a.status !== null ? 'HTTP ' + a.status : a.error];
        })));
    }
    if (r.refreshes.length) {
      section('Token refresh', 'refreshes').appendChild(table('refresh', ['Integration', 'Why', 'Outcome', 'Took (ms)'],
        r.refreshes.map(function (f) {
          var why = f.trigger === 'unauthorized' ? 'the API answered 401' : 'the token was expiring';
          if (f.shared) why += ' (started by another call)';
          return [f.integration, why, f.ok ? 'refreshed' : 'failed: ' + f.error, f.duration_ms.toFixed(1)];
        })));
    }
    if (r.response) {
      var resp = section('Upstream answer', 'response');
      resp.appendChild(el('p', { class: 'line response-status' }, 'HTTP ' + r.response.status));
      if (r.response.headers.length) resp.appendChild(table('headers', ['Header', 'Value'], r.response.headers));
      resp.appendChild(bodyBlock(r.response.body, 'body'));
    }
    if (r.result) section('What the app got', 'result').appendChild(bodyBlock(r.result, 'envelope'));
  }

  function show(id) {
    shown = id;
    Array.prototype.forEach.call(tbody.rows, function (tr) {
      tr.classList.toggle('selected', tr.getAttribute('data-id') === String(id));
    });
    fetch('/_fdk-emu/inspector/records/' + id).then(function (res) {
      if (!res.ok) throw new Error('call ' + id + ' is no longer kept');
      return res.json();
    }).then(function (r) { if (shown === id) render(r); }, function (e) {
      detail.hidden = false;
      detail.textContent = e.message;
    });
  }

  function connect() {
    var es = new EventSource('/_fdk-emu/inspector/stream?after=' + lastId);
    es.addEventListener('open', function () { live.textContent = 'live'; live.className = 'live on'; });
    es.addEventListener('error', function () { live.textContent = 'reconnecting…'; live.className = 'live'; });
    es.addEventListener('record', function (e) {
      var r = JSON.parse(e.data);
      addRow(summaryOf(r));
    });
  }

  [filters.kind, filters.name, filters.status].forEach(function (s) { s.addEventListener('change', applyFilters); });
  document.getElementById('clear').addEventListener('click', function () {
    fetch('/_fdk-emu/inspector/clear', { method: 'POST' }).then(function () {
      tbody.textContent = '';
      summaries = {};
      detail.hidden = true;
      refreshEmpty();
    });
  });

  fetch('/_fdk-emu/inspector/records').then(function (res) { return res.json(); }).then(function (list) {
    list.records.forEach(addRow);
    if (list.last_id > lastId) lastId = list.last_id;
    refreshEmpty();
    connect();
  }, function () { live.textContent = 'the server does not answer'; });
})();
