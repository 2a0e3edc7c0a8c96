// Field events of config/iparams.json on the generated installation page, as FDK's form:
// a field with "events": [{"change": "fn"}] calls the top-level function fn(newValue) of
// config/assets/iparams.js when its value changes. A returned non-empty string, or a
// rejected promise, is shown as the field's error and keeps the form from being submitted
// until the next change clears it. The functions use the globals `utils.get(name)`,
// `utils.set(name, {value, visible, disabled, required, hint, label, values})` (`options`
// works as `values`: apps use both; the page sends the options back with the form) and
// `client` (client.request.invokeTemplate, client.iparams.get), as in FDK.
(function () {
  'use strict';
  var form = document.querySelector('form[data-validate]');
  if (!form) return;
  function field(name) { return form.querySelector('.field[data-field="' + CSS.escape(name) + '"]'); }
  function inputs(div) { return div.querySelectorAll('input, select, textarea'); }
  function valueOf(div) {
    var type = div.dataset.type, els = inputs(div);
    if (type === 'checkbox') return !!(els[0] && els[0].checked);
    if (type === 'multiselect') {
      return Array.prototype.filter.call(els, function (e) { return e.checked; }).map(function (e) { return e.value; });
    }
    if (type === 'radio') {
      var on = Array.prototype.filter.call(els, function (e) { return e.checked; })[0];
      return on ? on.value : '';
    }
    return els[0] ? els[0].value : '';
  }
  function setValue(div, v) {
    var type = div.dataset.type, els = inputs(div);
    Array.prototype.forEach.call(els, function (e) {
      if (type === 'checkbox') e.checked = !!v;
      else if (type === 'multiselect') e.checked = Array.isArray(v) && v.indexOf(e.value) >= 0;
      else if (type === 'radio') e.checked = e.value === String(v);
      else e.value = v === undefined || v === null ? '' : String(v);
    });
  }
  function setChoices(div, values) {
    if (!Array.isArray(values)) return;
    var list = values.map(String);
    var select = div.querySelector('select');
    if (select) {
      var keep = select.value;
      Array.prototype.slice.call(select.options).forEach(function (o) { if (o.value !== '') o.remove(); });
      list.forEach(function (v) {
        var o = document.createElement('option');
        o.value = o.textContent = v;
        select.appendChild(o);
      });
      if (list.indexOf(keep) >= 0) select.value = keep;
      return;
    }
    // Radio buttons and multiselect checkboxes: one labelled input per option; what was
    // chosen and is still offered stays chosen.
    var set = div.querySelector('fieldset');
    if (!set) return;
    var old = set.querySelectorAll('label.choice');
    var kind = div.dataset.type === 'radio' ? 'radio' : 'checkbox';
    var chosen = Array.prototype.filter.call(set.querySelectorAll('input'), function (e) { return e.checked; })
      .map(function (e) { return e.value; });
    Array.prototype.forEach.call(old, function (l) { l.remove(); });
    list.forEach(function (v) {
      var label = document.createElement('label');
      label.className = 'choice';
      var input = document.createElement('input');
      input.type = kind;
      input.name = div.dataset.field;
      input.value = v;
      input.checked = chosen.indexOf(v) >= 0;
      label.appendChild(input);
      label.appendChild(document.createTextNode(' ' + v));
      set.appendChild(label);
    });
  }
  function showError(div, msg) {
    if (msg) div.dataset.eventError = msg; else delete div.dataset.eventError;
    var p = div.querySelector('.error');
    div.classList.toggle('invalid', !!msg);
    if (p) { p.textContent = msg || ''; p.hidden = !msg; }
  }
  window.utils = {
    get: function (name) { var div = field(name); return div ? valueOf(div) : undefined; },
    set: function (name, o) {
      var div = field(name);
      if (!div || !o) return;
      if ('value' in o) setValue(div, o.value);
      if ('values' in o) setChoices(div, o.values);
      else if ('options' in o) setChoices(div, o.options);
      if ('visible' in o) div.hidden = !o.visible;
      if ('disabled' in o) Array.prototype.forEach.call(inputs(div), function (e) { e.disabled = !!o.disabled; });
      if ('required' in o) { if (o.required) div.dataset.required = 'true'; else delete div.dataset.required; }
      if ('hint' in o) {
        var help = div.querySelector('.help') || div.querySelector('[id$="-help"]');
        if (help) { help.textContent = o.hint; help.hidden = !o.hint; help.classList.add('help'); }
      }
      if ('label' in o) {
        var label = div.querySelector('label, legend');
        if (label && label.firstChild) label.firstChild.textContent = o.label + ' ';
      }
    }
  };
  if (window.app && window.app.initialized) {
    window.app.initialized().then(function (c) { window.client = c; });
  }
  function run(div, fn) {
    var f = window[fn];
    if (typeof f !== 'function') {
      showError(div, 'config/assets/iparams.js does not define the function ' + fn + '() named in the events of this field.');
      return;
    }
    div.dataset.eventPending = 'true';
    var token = {};
    div.eventToken = token;
    var done = function (msg) {
      if (div.eventToken !== token) return; // a later change answered first
      delete div.dataset.eventPending;
      showError(div, msg);
    };
    var result;
    try { result = f(valueOf(div)); } catch (e) { done(String(e && e.message || e)); return; }
    Promise.resolve(result).then(function (r) {
      done(typeof r === 'string' ? r : '');
    }, function (e) {
      done(typeof e === 'string' ? e : String(e && (e.message || e.response) || e || 'Invalid value.'));
    });
  }
  form.querySelectorAll('.field[data-events]').forEach(function (div) {
    var names = [];
    try { names = JSON.parse(div.dataset.events); } catch (e) { names = []; }
    div.addEventListener('change', function () { names.forEach(function (fn) { run(div, fn); }); });
  });
})();
