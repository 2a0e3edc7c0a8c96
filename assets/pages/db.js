/* The data viewer (/_fdk-emu/db): lists the app's keys, shows one, edits or deletes it.
   Every value is put into the page as text (textContent), never as HTML. */
(function () {
  'use strict';
  var API = '/_fdk-emu/db/api/';
  var $ = function (id) { return document.getElementById(id); };
  var keys = [];
  var current = null; // {scope, key}
  var editing = false;

  function status(text, kind) {
    var s = $('kv-status');
    s.hidden = !text;
    s.className = 'notice' + (kind ? ' ' + kind : '');
    s.textContent = text || '';
  }

  function when(ms) {
    return ms ? new Date(ms).toLocaleString() : '';
  }

  function expires(ms) {
    if (!ms) return 'never';
    var left = Math.round((ms - Date.now()) / 1000);
    return left > 0 ? 'in ' + left + ' s' : 'now';
  }

  function errorText(body, fallback) {
    if (!body) return fallback;
    return body.message + (body.detail ? ' — ' + body.detail : '');
  }

  function query(scope, key) {
    return 'scope=' + encodeURIComponent(scope) + '&key=' + encodeURIComponent(key);
  }

  function cell(tr, text, cls, code) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    if (code) {
      var c = document.createElement('code');
      c.textContent = text;
      td.appendChild(c);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }

  function render() {
    var filter = $('kv-filter').value.trim().toLowerCase();
    var rows = $('kv-rows');
    rows.textContent = '';
    var shown = keys.filter(function (k) {
      return !filter || k.key.toLowerCase().indexOf(filter) >= 0 || k.scope.toLowerCase().indexOf(filter) >= 0;
    });
    shown.forEach(function (k) {
      var tr = document.createElement('tr');
      tr.dataset.scope = k.scope;
      tr.dataset.key = k.key;
      cell(tr, k.scope);
      cell(tr, k.key, 'key', true);
      var text = JSON.stringify(k.value);
      cell(tr, text.length > 160 ? text.slice(0, 160) + '…' : text, 'value', true).title = text;
      cell(tr, when(k.updated_at));
      cell(tr, expires(k.expires_at));
      var td = cell(tr, '', 'actions');
      var view = document.createElement('button');
      view.type = 'button';
      view.className = 'view';
      view.textContent = 'View';
      view.addEventListener('click', function () { open(k.scope, k.key); });
      td.appendChild(view);
      rows.appendChild(tr);
    });
    $('kv-count').textContent = String(keys.length);
    $('kv-empty').hidden = keys.length > 0;
    $('kv-table').hidden = keys.length === 0;
  }

  function find(scope, key) {
    for (var i = 0; i < keys.length; i++) {
      if (keys[i].scope === scope && keys[i].key === key) return keys[i];
    }
    return null;
  }

  function showDetail() {
    var k = current && find(current.scope, current.key);
    var panel = $('kv-detail');
    if (!k) {
      if (current && !editing) {
        panel.hidden = true;
        current = null;
      }
      return;
    }
    panel.hidden = false;
    $('kv-detail-key').textContent = k.key;
    $('kv-detail-scope').textContent = k.scope;
    $('kv-view').textContent = JSON.stringify(k.value, null, 2);
    $('kv-view').hidden = editing;
    $('kv-edit').hidden = !editing;
    $('kv-edit-btn').hidden = editing;
    $('kv-save').hidden = !editing;
    $('kv-cancel').hidden = !editing;
  }

  function load() {
    return fetch(API + 'keys', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        keys = body.keys || [];
        render();
        showDetail();
        document.body.dataset.loaded = String(Date.now());
      }, function (e) {
        status('The keys could not be read: ' + e, 'error');
      });
  }

  function open(scope, key) {
    current = { scope: scope, key: key };
    editing = false;
    resetDelete();
    status('');
    showDetail();
  }

  function resetDelete() {
    var d = $('kv-delete');
    d.dataset.armed = '';
    d.textContent = 'Delete';
  }

  function send(method, body) {
    return fetch(API + 'key?' + query(current.scope, current.key), {
      method: method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        if (!r.ok) throw new Error(errorText(b, 'HTTP ' + r.status));
        return b;
      });
    });
  }

  $('kv-edit-btn').addEventListener('click', function () {
    var k = current && find(current.scope, current.key);
    if (!k) return;
    editing = true;
    $('kv-text').value = JSON.stringify(k.value, null, 2);
    showDetail();
    $('kv-text').focus();
  });

  $('kv-cancel').addEventListener('click', function () {
    editing = false;
    status('');
    showDetail();
  });

  $('kv-save').addEventListener('click', function () {
    var text = $('kv-text').value;
    try {
      JSON.parse(text);
    } catch (e) {
      status('The value is not valid JSON: ' + e.message, 'error');
      return;
    }
    send('PUT', text).then(function () {
      editing = false;
      status('Saved ' + current.key + '.', 'ok');
      return load();
    }, function (e) {
      status('Not saved: ' + e.message, 'error');
    });
  });

  $('kv-delete').addEventListener('click', function () {
    var d = $('kv-delete');
    if (!d.dataset.armed) {
      d.dataset.armed = '1';
      d.textContent = 'Delete ' + current.key + '?';
      return;
    }
    var gone = current.key;
    send('DELETE').then(function () {
      editing = false;
      current = null;
      resetDelete();
      $('kv-detail').hidden = true;
      status('Deleted ' + gone + '.', 'ok');
      return load();
    }, function (e) {
      resetDelete();
      status('Not deleted: ' + e.message, 'error');
    });
  });

  $('kv-close').addEventListener('click', function () {
    current = null;
    editing = false;
    $('kv-detail').hidden = true;
  });

  $('kv-filter').addEventListener('input', render);
  $('kv-reload').addEventListener('click', load);

  // Keep the list current while the app runs (expired keys drop out); not while editing.
  setInterval(function () {
    if (!document.hidden && !editing) load();
  }, 3000);
  // `?scope=…&key=…` (the home page's links) opens that key once the list is in.
  var wanted = new URLSearchParams(location.search);
  load().then(function () {
    if (wanted.get('scope') && wanted.get('key')) open(wanted.get('scope'), wanted.get('key'));
  });
})();
