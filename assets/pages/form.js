// Browser-side checks of the setup forms. The server checks the same rules again (with the
// same messages), so this is a convenience, not the guard.
(function () {
  'use strict';
  var form = document.querySelector('form[data-validate]');
  if (!form) return;
  var MSG = {
    required: 'This field is required.',
    email: 'Enter a valid email address, e.g. name@example.com.',
    phone_number: 'Enter a 10-digit phone number, e.g. 5551234567 or 555-123-4567.',
    url: 'Enter a full URL starting with http:// or https://.',
    number: 'Enter a number.',
    date: 'Enter a date as yyyy-mm-dd.',
    domain: 'Enter a domain name, e.g. yourcompany.freshdesk.com.',
    pattern: 'The value does not match the expected format.'
  };
  var BUILTIN = {
    email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    phone_number: /^(\d{10}|\d{3}-\d{3}-\d{4})$/,
    number: /^-?\d+(\.\d+)?$/,
    date: /^\d{4}-\d{2}-\d{2}$/,
    domain: /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i
  };
  function inputs(div) { return div.querySelectorAll('input, select, textarea'); }
  function values(div) {
    var out = [];
    inputs(div).forEach(function (el) {
      if ((el.type === 'checkbox' || el.type === 'radio')) { if (el.checked) out.push(el.value); }
      else if (el.value.trim() !== '') out.push(el.value.trim());
    });
    return out;
  }
  function isUrl(v) {
    try { var u = new URL(v); return (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host; }
    catch (e) { return false; }
  }
  function check(div) {
    if (div.hidden) return '';
    // Set by iparams-events.js: the app's own change handler found the value wrong.
    if (div.dataset.eventError) return div.dataset.eventError;
    if (div.dataset.eventPending) return 'Still checking this value; try again in a moment.';
    var type = div.dataset.type, vals = values(div);
    if (type === 'checkbox') return '';
    if (vals.length === 0) {
      if (div.dataset.required === 'true' && div.dataset.secureSet !== 'true') return MSG.required;
      return '';
    }
    var v = vals[0];
    // A domain under the product's domain: the subdomain, or the whole domain or URL.
    if (type === 'domain' && div.dataset.suffix) {
      var suffix = div.dataset.suffix;
      var host = v.toLowerCase().replace(/^https?:\/\//, '').split(/[\/?#]/)[0].replace(/\.+$/, '');
      if (host.slice(-suffix.length) === suffix) host = host.slice(0, -suffix.length);
      return /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(host) ? '' : div.dataset.suffixMessage;
    }
    if (div.dataset.patterns) {
      var pats = [];
      try { pats = JSON.parse(div.dataset.patterns); } catch (e) { pats = []; }
      var ok = pats.some(function (p) { try { return new RegExp(p).test(v); } catch (e) { return true; } });
      if (!ok) return div.dataset.patternMessage || MSG.pattern;
      return '';
    }
    if (type === 'url') return isUrl(v) ? '' : MSG.url;
    if (type === 'date' && BUILTIN.date.test(v)) {
      var d = new Date(v + 'T00:00:00Z');
      return (!isNaN(d) && d.toISOString().slice(0, 10) === v) ? '' : MSG.date;
    }
    if (BUILTIN[type] && !BUILTIN[type].test(v)) return MSG[type];
    return '';
  }
  function show(div, msg) {
    var p = div.querySelector('.error');
    div.classList.toggle('invalid', !!msg);
    inputs(div).forEach(function (el) {
      if (msg) el.setAttribute('aria-invalid', 'true'); else el.removeAttribute('aria-invalid');
    });
    if (p) { p.textContent = msg; p.hidden = !msg; }
  }
  var fields = form.querySelectorAll('.field[data-field]');
  // The options each choice field has now (change handlers may have replaced the file's),
  // so that the server accepts what the user could choose: `__options`, as JSON.
  function pageOptions() {
    var out = {};
    fields.forEach(function (div) {
      var type = div.dataset.type;
      if (type !== 'dropdown' && type !== 'radio' && type !== 'multiselect') return;
      var els = div.querySelectorAll(type === 'dropdown' ? 'select option' : 'input');
      out[div.dataset.field] = Array.prototype.map.call(els, function (el) { return el.value; })
        .filter(function (v) { return v !== ''; });
    });
    var input = form.querySelector('input[name="__options"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = '__options';
      form.appendChild(input);
    }
    input.value = JSON.stringify(out);
  }
  form.addEventListener('submit', function (e) {
    var first = null;
    fields.forEach(function (div) {
      var msg = check(div);
      show(div, msg);
      if (msg && !first) first = div;
    });
    if (first) {
      e.preventDefault();
      var el = inputs(first)[0];
      if (el) el.focus();
      return;
    }
    if (form.hasAttribute('data-page-options')) pageOptions();
  });
  fields.forEach(function (div) {
    div.addEventListener('change', function () { if (div.classList.contains('invalid')) show(div, check(div)); });
    div.addEventListener('input', function () { if (div.classList.contains('invalid')) show(div, check(div)); });
  });
})();
