/*
 * fdk-emu's product simulator: the "host" side of the home page. It plays the product around
 * the app's frames, as the product page does in production:
 *  - frames each location of the manifest as in its product (sidebar, full page, CTI dock,
 *    background, top navigation, editor) and keeps the registry of instances;
 *  - answers the app client's calls (assets/app-client.js) that belong to the product:
 *    data.get from the mock data, interface.trigger (toasts, modals, dialogs, confirm boxes,
 *    product elements), instance.context/get/send/resize/close;
 *  - fires app.activated/app.deactivated and the product events of each location, with a
 *    payload the developer edits, and shows what an intercepting app decided;
 *  - lists every SDK call the app makes in the activity panel (the client reports them).
 * Messages travel by postMessage between this page and its frames, on this origin only.
 * Nothing here loads anything from outside the machine.
 */
(function () {
  'use strict';
  window.__fdkEmuHost = { version: 1 };

  var cfgEl = document.getElementById('fdk-emu-sim');
  var cfg = cfgEl ? JSON.parse(cfgEl.textContent) : { locations: [], products: {} };
  var productEl = document.getElementById('sim-product');
  var activityEl = document.getElementById('fdk-emu-activity');
  var elementsEl = document.getElementById('sim-elements');
  var mockEl = document.getElementById('sim-mock');
  var toastsEl = document.getElementById('sim-toasts');

  var NOTIFY_TYPES = ['info', 'success', 'warning', 'danger', 'alert'];
  var ELEMENT_ACTIONS = ['show', 'hide', 'enable', 'disable', 'setValue', 'setOptions'];
  var NAVIGATION_ACTIONS = ['click', 'openTicket', 'openContact', 'openRequester', 'openCompany',
    'openDeal', 'openUrl', 'openSalesAccount', 'openLead'];
  var MAX_HEIGHT = 700;
  var EVENT_TIMEOUT_MS = 10000;

  var instances = [];
  var nextInstanceId = 1;
  var nextEventId = 1;
  var pendingEvents = {};
  var elements = {};

  // ---- helpers --------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'class') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }

  function clone(v) {
    return v === undefined ? undefined : JSON.parse(JSON.stringify(v));
  }

  function short(v, max) {
    var s;
    try { s = v === undefined ? '' : JSON.stringify(v); } catch (e) { s = String(v); }
    if (s === undefined) s = String(v);
    return s.length > max ? s.slice(0, max - 1) + '…' : s;
  }

  function rejection(status, message) {
    return { status: status, message: message };
  }

  function storageKey(product) {
    return 'fdk-emu:mock:' + cfg.app + ':' + product;
  }

  // ---- mock data ------------------------------------------------------------------------

  var products = {};
  Object.keys(cfg.products || {}).forEach(function (key) {
    var p = cfg.products[key];
    var data = clone(p.mock.data || {});
    var edited = null;
    try { edited = JSON.parse(sessionStorage.getItem(storageKey(key)) || 'null'); } catch (e) { edited = null; }
    products[key] = {
      key: key,
      title: p.mock.product || key,
      defaults: clone(p.mock.data || {}),
      data: edited || data,
      edited: !!edited,
      everywhere: p.mock.everywhere || [],
      pages: p.mock.pages || [],
      file: p.file,
      override: p.override,
      error: p.error
    };
  });

  function pageOf(product, placeholder) {
    var p = products[product];
    if (!p) return null;
    for (var i = 0; i < p.pages.length; i++) {
      var page = p.pages[i];
      var hit = (page.match || []).some(function (m) {
        return placeholder === m || placeholder.indexOf(m) === 0;
      });
      if (hit) return page;
    }
    return null;
  }

  function namesAt(product, placeholder) {
    var p = products[product];
    if (!p) return [];
    var page = pageOf(product, placeholder);
    return p.everywhere.concat(page ? page.data || [] : []);
  }

  // ---- instances and frames -------------------------------------------------------------

  function byWindow(win) {
    for (var i = 0; i < instances.length; i++) {
      if (instances[i].frame && instances[i].frame.contentWindow === win) return instances[i];
    }
    return null;
  }

  function byId(id) {
    for (var i = 0; i < instances.length; i++) if (instances[i].instanceId === id) return instances[i];
    return null;
  }

  function newInstance(props) {
    var inst = {
      instanceId: String(nextInstanceId++),
      handlers: {},
      active: true
    };
    Object.keys(props).forEach(function (k) { inst[k] = props[k]; });
    instances.push(inst);
    return inst;
  }

  function context(inst) {
    if (inst.modal) {
      return {
        instanceId: inst.instanceId,
        location: 'modal',
        parentId: inst.parentId,
        modalData: clone(inst.modalData),
        data: clone(inst.modalData),
        product: inst.product,
        module: inst.module
      };
    }
    return {
      instanceId: inst.instanceId,
      location: inst.placeholder,
      module: inst.module,
      product: inst.product,
      data: {}
    };
  }

  function post(inst, msg) {
    msg.fdkEmu = 1;
    if (inst.frame && inst.frame.contentWindow) inst.frame.contentWindow.postMessage(msg, location.origin);
  }

  function label(inst) {
    return inst.modal ? 'modal ' + inst.instanceId + ' (from ' + inst.parentPlaceholder + ')' : inst.placeholder;
  }

  function frameFor(loc, inst) {
    var f = el('iframe', {
      title: loc.placeholder,
      'data-location': loc.placeholder,
      'data-instance': inst.instanceId,
      class: 'sim-frame sim-frame-' + loc.frame,
      src: loc.src
    });
    return f;
  }

  function summary(product, placeholder) {
    var page = pageOf(product, placeholder);
    var p = products[product];
    if (!page || !p) return (p ? p.title : product) + ' · ' + placeholder;
    var first = (page.data || [])[0];
    var obj = first && p.data[first];
    var text = '';
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      var id = obj.display_id || obj.id || obj.conversation_id;
      text = (id ? '#' + id + ' ' : '') + (obj.subject || obj.name || obj.display_name || '');
    }
    return p.title + ' · ' + page.title + (text ? ' — ' + text : '');
  }

  function buildLocation(loc) {
    var inst = newInstance({
      placeholder: loc.placeholder,
      module: loc.module,
      product: loc.product,
      frameKind: loc.frame,
      loc: loc
    });
    var frame = frameFor(loc, inst);
    inst.frame = frame;
    var slot;
    if (loc.frame === 'sidebar') {
      slot = el('div', { class: 'sim-page' }, [
        el('div', { class: 'sim-main' }, [
          el('p', { class: 'sim-crumb', text: summary(loc.product, loc.placeholder) }),
          el('div', { class: 'sim-lines' }, [el('span'), el('span'), el('span')])
        ]),
        el('div', { class: 'sim-sidebar' }, [el('p', { class: 'sim-widget-title', text: cfg.app }), frame])
      ]);
    } else if (loc.frame === 'cti') {
      slot = el('div', { class: 'sim-page sim-cti-page' }, [
        el('p', { class: 'sim-crumb', text: summary(loc.product, loc.placeholder) }),
        el('div', { class: 'sim-cti' }, [frame])
      ]);
    } else if (loc.frame === 'background') {
      slot = el('div', { class: 'sim-page' }, [
        el('p', { class: 'muted', text: 'A background app: it runs on the page without being shown.' }),
        frame
      ]);
    } else if (loc.frame === 'top_navigation') {
      slot = el('div', { class: 'sim-page' }, [
        el('div', { class: 'sim-topnav' }, [el('span', { class: 'sim-topnav-icon', text: '◆ ' + cfg.app })]),
        el('div', { class: 'sim-dropdown' }, [frame])
      ]);
    } else if (loc.frame === 'editor') {
      slot = el('div', { class: 'sim-page' }, [
        el('div', { class: 'sim-editor' }, [el('p', { class: 'muted', text: 'Reply editor' }), frame])
      ]);
    } else {
      slot = el('div', { class: 'sim-page sim-full' }, [frame]);
    }
    inst.slot = slot;

    var toggle = el('button', { type: 'button', class: 'small', 'data-toggle': loc.placeholder, text: 'Hide' });
    toggle.addEventListener('click', function () {
      setActive(inst, !inst.active);
      toggle.textContent = inst.active ? 'Hide' : 'Show';
    });
    inst.toggle = toggle;

    var card = el('section', { class: 'sim-location', 'data-location': loc.placeholder }, [
      el('h3', {}, [
        document.createTextNode(loc.placeholder + ' '),
        el('small', { text: '(' + loc.module + ' · ' + (products[loc.product] ? products[loc.product].title : loc.product) + ')' }),
        document.createTextNode(' '),
        loc.frame === 'background' ? null : toggle
      ]),
      slot,
      eventsBox(inst)
    ]);
    productEl.appendChild(card);
  }

  function setActive(inst, on) {
    if (inst.active === on) return;
    inst.active = on;
    inst.slot.hidden = !on;
    fireEvent(inst, on ? 'app.activated' : 'app.deactivated', {}, false);
  }

  // ---- events ---------------------------------------------------------------------------

  function eventsBox(inst) {
    var page = pageOf(inst.product, inst.placeholder);
    var list = (page && page.events) || [];
    var select = el('select', { 'aria-label': 'Event', class: 'sim-event-name' });
    list.forEach(function (ev) {
      select.appendChild(el('option', { value: ev.name, text: ev.name + (ev.intercept ? ' (intercept)' : '') }));
    });
    select.appendChild(el('option', { value: '__custom', text: 'Another event…' }));
    var custom = el('input', { type: 'text', class: 'sim-event-custom', placeholder: 'event name', hidden: '' });
    var payload = el('textarea', { class: 'sim-event-payload', rows: '3', 'aria-label': 'Event payload (JSON)' });
    var interceptBox = el('input', { type: 'checkbox', class: 'sim-event-intercept' });
    var fire = el('button', { type: 'button', class: 'small primary sim-event-fire', text: 'Fire' });
    var result = el('p', { class: 'sim-event-result', role: 'status' });
    var handlersEl = el('p', { class: 'sim-handlers muted', text: 'The app listens to: nothing yet.' });
    inst.handlersEl = handlersEl;

    function chosen() {
      return list.filter(function (e) { return e.name === select.value; })[0] || null;
    }
    function refill() {
      var ev = chosen();
      custom.hidden = !!ev;
      payload.value = JSON.stringify(ev ? ev.payload || {} : {}, null, 2);
      interceptBox.checked = !!(ev && ev.intercept);
    }
    select.addEventListener('change', refill);
    refill();
    fire.addEventListener('click', function () {
      var name = select.value === '__custom' ? custom.value.trim() : select.value;
      if (!name) { result.textContent = 'Name the event to fire.'; return; }
      var data;
      try { data = JSON.parse(payload.value || '{}'); } catch (e) {
        result.textContent = 'The payload is not valid JSON: ' + e.message;
        result.setAttribute('data-outcome', 'invalid');
        return;
      }
      result.textContent = 'Fired ' + name + '…';
      result.setAttribute('data-outcome', 'pending');
      fireEvent(inst, name, data, interceptBox.checked).then(function (r) {
        result.textContent = r.text;
        result.setAttribute('data-outcome', r.outcome);
      });
    });
    return el('details', { class: 'sim-events', open: '' }, [
      el('summary', { text: 'Events' }),
      handlersEl,
      el('div', { class: 'sim-event-row' }, [select, custom]),
      payload,
      el('label', { class: 'choice' }, [interceptBox, document.createTextNode(' intercept (the app allows or blocks it)')]),
      el('div', {}, [fire]),
      result
    ]);
  }

  function showHandlers(inst) {
    var names = Object.keys(inst.handlers);
    if (!inst.handlersEl) return;
    inst.handlersEl.textContent = 'The app listens to: ' + (names.length
      ? names.map(function (n) { return n + (inst.handlers[n] ? ' (intercept)' : ''); }).join(', ')
      : 'nothing yet') + '.';
  }

  /** Sends an event to an instance; resolves with what the app did about it. */
  function fireEvent(inst, name, data, intercept) {
    var eventId = nextEventId++;
    var entry = addActivity(inst, 'event', name, [data], true);
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        delete pendingEvents[eventId];
        var text = intercept
          ? name + ': the app neither allowed nor blocked it within 10 s (event.helper.done() or fail() was not called)'
          : name + ': the app did not answer';
        finishActivity(entry, false, text, EVENT_TIMEOUT_MS);
        resolve({ outcome: 'timeout', text: text });
      }, EVENT_TIMEOUT_MS);
      var started = Date.now();
      pendingEvents[eventId] = function (r) {
        clearTimeout(timer);
        delete pendingEvents[eventId];
        var outcome = r.result;
        var text;
        if (outcome === 'done') text = name + ': the app allowed it (event.helper.done())';
        else if (outcome === 'fail') text = name + ': the app blocked it (event.helper.fail)' + (r.message ? ': ' + r.message : '');
        else if (outcome === 'handled') text = name + ': handled by ' + r.handlers + ' handler(s)';
        else text = name + ': the app has no handler for it';
        finishActivity(entry, outcome !== 'fail', text, Date.now() - started);
        resolve({ outcome: outcome, text: text });
      };
      post(inst, { type: 'event', eventId: eventId, name: name, data: clone(data), intercept: !!intercept });
    });
  }

  // ---- the activity panel ---------------------------------------------------------------

  var activityById = {};

  function addActivity(inst, kind, method, args, pending) {
    var li = el('li', {
      'data-method': method,
      'data-kind': kind,
      'data-location': inst ? label(inst) : '',
      'data-state': pending ? 'pending' : 'ok'
    });
    var time = new Date().toTimeString().slice(0, 8);
    li.appendChild(el('span', { class: 'sim-time', text: time }));
    li.appendChild(el('span', { class: 'sim-where', text: inst ? label(inst) : '' }));
    li.appendChild(el('code', { class: 'sim-call', text: (kind === 'event' ? '⚡ ' : '') + method + '(' + short(args || [], 300).replace(/^\[|\]$/g, '') + ')' }));
    var res = el('span', { class: 'sim-result', text: pending ? '…' : '' });
    li.appendChild(res);
    activityEl.appendChild(li);
    activityEl.scrollTop = activityEl.scrollHeight;
    return { li: li, res: res };
  }

  function finishActivity(entry, ok, value, ms) {
    entry.li.setAttribute('data-state', ok ? 'ok' : 'error');
    var status = value && typeof value === 'object' && typeof value.status === 'number' ? ' ' + value.status : '';
    entry.res.textContent = (ok ? '→' : '✗') + status + ' ' + (typeof value === 'string' ? value : short(value, 400)) +
      (typeof ms === 'number' ? ' · ' + ms + ' ms' : '');
  }

  document.getElementById('sim-activity-clear').addEventListener('click', function () {
    activityEl.textContent = '';
  });

  // ---- product elements (interface actions) ---------------------------------------------

  function recordElement(action, opts, inst) {
    var id = String(opts.id);
    var state = elements[id] = elements[id] || { id: id };
    if (action === 'show') state.visible = true;
    if (action === 'hide') state.visible = false;
    if (action === 'enable') state.enabled = true;
    if (action === 'disable') state.enabled = false;
    if (action === 'setValue') state.value = opts.value;
    if (action === 'setOptions') state.options = opts.value;
    if (NAVIGATION_ACTIONS.indexOf(action) >= 0) state.last = action + (opts.value !== undefined ? ' ' + short(opts.value, 80) : '');
    state.by = label(inst);
    renderElements();
  }

  function renderElements() {
    elementsEl.textContent = '';
    Object.keys(elements).forEach(function (id) {
      var s = elements[id];
      var parts = [];
      if (s.visible !== undefined) parts.push(s.visible ? 'shown' : 'hidden');
      if (s.enabled !== undefined) parts.push(s.enabled ? 'enabled' : 'disabled');
      if (s.value !== undefined) parts.push('value ' + short(s.value, 80));
      if (s.options !== undefined) parts.push('options ' + short(s.options, 80));
      if (s.last) parts.push(s.last);
      elementsEl.appendChild(el('li', { 'data-element': id }, [
        el('code', { text: id }), document.createTextNode(': ' + parts.join(', ') + ' (by ' + s.by + ')')
      ]));
    });
  }

  // ---- toasts, modals, confirm boxes ----------------------------------------------------

  function toast(opts) {
    var t = el('div', { class: 'sim-toast', 'data-type': opts.type, role: 'status' }, [
      opts.title ? el('strong', { text: String(opts.title).slice(0, 30) + ' ' }) : null,
      el('span', { text: String(opts.message).slice(0, 100) })
    ]);
    toastsEl.appendChild(t);
    setTimeout(function () { t.remove(); }, 8000);
  }

  function templateSrc(template) {
    var path = String(template).replace(/^\.\//, '').replace(/^\/+/, '');
    return '/iframe/' + path;
  }

  function openModal(parent, kind, opts) {
    var inst = newInstance({
      modal: kind,
      placeholder: 'modal',
      parentId: parent.instanceId,
      parentPlaceholder: parent.modal ? parent.parentPlaceholder : parent.placeholder,
      module: parent.module,
      product: parent.product,
      modalData: opts.data
    });
    var frame = el('iframe', {
      title: opts.title || 'Modal dialog',
      class: 'sim-modal-frame',
      'data-location': 'modal',
      'data-instance': inst.instanceId,
      src: templateSrc(opts.template)
    });
    inst.frame = frame;
    var close = el('button', { type: 'button', class: 'sim-modal-close', 'aria-label': 'Close', text: '×' });
    var box = el('div', { class: 'sim-modal sim-' + kind, role: 'dialog', 'aria-modal': 'true', 'data-instance': inst.instanceId }, [
      el('header', {}, [el('h2', { text: String(opts.title || 'Modal dialog').slice(0, 30) }), close]),
      frame
    ]);
    var backdrop = el('div', { class: 'sim-backdrop' + (opts.nobackdrop ? ' sim-nobackdrop' : '') }, [box]);
    inst.backdrop = backdrop;
    close.addEventListener('click', function () { closeModal(inst); });
    document.body.appendChild(backdrop);
    return inst;
  }

  function closeModal(inst) {
    if (inst.backdrop) inst.backdrop.remove();
    instances = instances.filter(function (i) { return i !== inst; });
    addActivity(inst, 'host', 'modal closed', [], false);
  }

  function confirmBox(opts) {
    return new Promise(function (resolve) {
      var save = opts.saveLabel || 'Save';
      var cancel = opts.cancelLabel || 'Cancel';
      var saveBtn = el('button', { type: 'button', class: 'primary', 'data-answer': 'save', text: save });
      var cancelBtn = el('button', { type: 'button', 'data-answer': 'cancel', text: cancel });
      var box = el('div', { class: 'sim-modal sim-confirm', role: 'alertdialog', 'aria-modal': 'true' }, [
        el('header', {}, [el('h2', { text: String(opts.title || 'Confirm').slice(0, 30) })]),
        el('p', { text: String(opts.message).slice(0, 100) }),
        el('div', { class: 'actions' }, [saveBtn, cancelBtn])
      ]);
      var backdrop = el('div', { class: 'sim-backdrop' }, [box]);
      function answer(labelText) {
        backdrop.remove();
        resolve({ message: labelText });
      }
      saveBtn.addEventListener('click', function () { answer(save); });
      cancelBtn.addEventListener('click', function () { answer(cancel); });
      document.body.appendChild(backdrop);
      saveBtn.focus();
    });
  }

  // ---- the calls ------------------------------------------------------------------------

  var SUCCESS = { message: 'success' };

  function dataGet(inst, name) {
    var p = products[inst.product];
    if (typeof name !== 'string' || !name) {
      throw rejection(400, "client.data.get(name) needs the name of a data object, e.g. 'loggedInUser'");
    }
    var placeholder = inst.modal ? inst.parentPlaceholder : inst.placeholder;
    var here = namesAt(inst.product, placeholder);
    if (!p || !Object.prototype.hasOwnProperty.call(p.data, name)) {
      throw rejection(404, "Invalid data: '" + name + "' is not a data object of " + (p ? p.title : inst.product) +
        '. At ' + placeholder + ' the app can read: ' + here.join(', ') + '.');
    }
    if (here.indexOf(name) < 0) {
      throw rejection(400, "'" + name + "' is not available at " + placeholder + ' in ' + p.title +
        '. There the app can read: ' + here.join(', ') + '.');
    }
    var out = {};
    out[name] = clone(p.data[name]);
    return out;
  }

  function trigger(inst, action, opts) {
    var o = opts || {};
    if (typeof action !== 'string') throw rejection(400, 'client.interface.trigger(action, options) needs the action\'s name');
    if (action === 'showNotify') {
      if (NOTIFY_TYPES.indexOf(o.type) < 0) {
        throw rejection(400, 'showNotify: "type" must be one of ' + NOTIFY_TYPES.join(', ') + ', not ' + JSON.stringify(o.type));
      }
      if (o.message === undefined || o.message === '') throw rejection(400, 'showNotify: "message" is mandatory');
      toast(o);
      return SUCCESS;
    }
    if (action === 'showModal' || action === 'showDialog') {
      if (!o.template) throw rejection(400, action + ': "template" (the path of its HTML file in app/) is mandatory');
      openModal(inst, action === 'showModal' ? 'modal' : 'dialog', o);
      return SUCCESS;
    }
    if (action === 'showConfirm') {
      if (o.message === undefined || o.message === '') throw rejection(400, 'showConfirm: "message" is mandatory');
      return confirmBox(o);
    }
    if (ELEMENT_ACTIONS.indexOf(action) >= 0 || NAVIGATION_ACTIONS.indexOf(action) >= 0) {
      if (o.id === undefined || o.id === '') throw rejection(400, action + ': "id" (the product element) is mandatory');
      recordElement(action, o, inst);
      return SUCCESS;
    }
    throw rejection(400, "interface.trigger: '" + action + "' is not an interface action fdk-emu knows (" +
      ['showNotify', 'showModal', 'showDialog', 'showConfirm'].concat(ELEMENT_ACTIONS, NAVIGATION_ACTIONS).join(', ') + ', reAuthorize)');
  }

  function activeInstances() {
    return instances.filter(function (i) { return i.active; }).map(function (i) {
      var row = { instanceId: i.instanceId, location: i.modal ? 'modal' : i.placeholder };
      if (i.modal) row.parentId = i.parentId;
      return row;
    });
  }

  function send(inst, o) {
    if (!o || o.message === undefined) throw rejection(400, 'instance.send: "message" is mandatory');
    var targets;
    if (Array.isArray(o.receiver)) {
      targets = o.receiver.map(function (id) {
        var t = byId(String(id));
        if (!t || !t.active) {
          throw rejection(400, "instance.send: no active instance '" + id + "'; active: " +
            activeInstances().map(function (r) { return r.instanceId + ' (' + r.location + ')'; }).join(', '));
        }
        return t;
      });
    } else if (inst.modal) {
      targets = [byId(inst.parentId)].filter(Boolean);
    } else {
      targets = instances.filter(function (i) { return i !== inst && i.active; });
    }
    targets.forEach(function (t) {
      post(t, { type: 'receive', senderId: inst.instanceId, message: clone(o.message) });
    });
    return SUCCESS;
  }

  function resize(inst, o) {
    var h = o && o.height;
    var px = typeof h === 'number' ? h : parseInt(String(h || ''), 10);
    if (!isFinite(px) || px <= 0) throw rejection(400, 'instance.resize: "height" must be a length such as "400px", not ' + JSON.stringify(h));
    px = Math.min(px, MAX_HEIGHT);
    if (inst.frame) inst.frame.style.height = px + 'px';
    return SUCCESS;
  }

  function close(inst) {
    if (inst.modal) closeModal(inst);
    else {
      setActive(inst, false);
      if (inst.toggle) inst.toggle.textContent = 'Show';
    }
    return SUCCESS;
  }

  function handle(inst, method, args) {
    switch (method) {
      case 'hello':
        inst.handlers = {};
        showHandlers(inst);
        return { instance: context(inst), active: inst.active };
      case 'data.get': return dataGet(inst, args[0]);
      case 'interface.trigger': return trigger(inst, args[0], args[1]);
      case 'instance.context': return context(inst);
      case 'instance.get': return activeInstances();
      case 'instance.send': return send(inst, args[0]);
      case 'instance.resize': return resize(inst, args[0]);
      case 'instance.close': return close(inst);
      default: throw rejection(400, 'fdk-emu\'s simulator does not know ' + method);
    }
  }

  window.addEventListener('message', function (ev) {
    if (ev.origin !== location.origin) return;
    var d = ev.data;
    if (!d || d.fdkEmu !== 1) return;
    var inst = byWindow(ev.source);
    if (!inst) return;
    if (d.type === 'call') {
      Promise.resolve().then(function () { return handle(inst, d.method, d.args || []); }).then(function (value) {
        post(inst, { type: 'reply', id: d.id, ok: true, value: clone(value) });
      }, function (error) {
        var e = error instanceof Error ? rejection(500, 'fdk-emu\'s simulator failed: ' + error.message) : error;
        post(inst, { type: 'reply', id: d.id, ok: false, value: e });
      });
    } else if (d.type === 'activity') {
      if (d.phase === 'start') activityById[d.id] = addActivity(inst, 'sdk', d.method, d.args, true);
      else if (activityById[d.id]) {
        finishActivity(activityById[d.id], d.ok, d.value, d.ms);
        delete activityById[d.id];
      }
    } else if (d.type === 'on') {
      inst.handlers[d.event] = !!d.intercept;
      showHandlers(inst);
    } else if (d.type === 'eventResult') {
      var pending = pendingEvents[d.eventId];
      if (pending) pending(d);
    }
  });

  // ---- the mock data editor -------------------------------------------------------------

  function buildMockEditor() {
    var keys = Object.keys(products);
    if (!keys.length) return;
    var productSel = el('select', { 'aria-label': 'Product', id: 'sim-mock-product' });
    keys.forEach(function (k) { productSel.appendChild(el('option', { value: k, text: products[k].title })); });
    var nameSel = el('select', { 'aria-label': 'Data object', id: 'sim-mock-name' });
    var text = el('textarea', { id: 'sim-mock-json', rows: '12', 'aria-label': 'Mock data (JSON)', spellcheck: 'false' });
    var apply = el('button', { type: 'button', class: 'small primary', id: 'sim-mock-apply', text: 'Apply' });
    var reset = el('button', { type: 'button', class: 'small', id: 'sim-mock-reset', text: 'Reset to file' });
    var status = el('p', { class: 'help', id: 'sim-mock-status', role: 'status' });
    var source = el('p', { class: 'help', id: 'sim-mock-source' });

    function current() { return products[productSel.value]; }
    function fillNames() {
      var p = current();
      nameSel.textContent = '';
      Object.keys(p.data).forEach(function (n) { nameSel.appendChild(el('option', { value: n, text: n })); });
      fillText();
      source.textContent = 'From ' + (p.file ? 'the defaults merged with ' + p.file : 'the defaults; override them in ' + p.override) +
        (p.edited ? ', edited in this tab' : '') + '.' + (p.error ? ' ' + p.error : '');
      if (p.error) source.className = 'help bad';
    }
    function fillText() {
      text.value = JSON.stringify(current().data[nameSel.value], null, 2);
    }
    productSel.addEventListener('change', fillNames);
    nameSel.addEventListener('change', function () { fillText(); status.textContent = ''; });
    apply.addEventListener('click', function () {
      var p = current();
      try {
        p.data[nameSel.value] = JSON.parse(text.value);
      } catch (e) {
        status.textContent = 'Not applied: the JSON is not valid (' + e.message + ').';
        status.className = 'help bad';
        return;
      }
      p.edited = true;
      try { sessionStorage.setItem(storageKey(p.key), JSON.stringify(p.data)); } catch (e) { /* full */ }
      status.textContent = 'Applied: client.data.get(\'' + nameSel.value + '\') answers the new value.';
      status.className = 'help ok';
      addActivity(null, 'host', 'mock data edited', [nameSel.value], false);
    });
    reset.addEventListener('click', function () {
      var p = current();
      p.data = clone(p.defaults);
      p.edited = false;
      try { sessionStorage.removeItem(storageKey(p.key)); } catch (e) { /* none */ }
      fillNames();
      status.textContent = 'Back to the values of the file.';
      status.className = 'help';
    });
    mockEl.appendChild(el('div', { class: 'sim-event-row' }, [keys.length > 1 ? productSel : null, nameSel]));
    if (keys.length === 1) productSel.value = keys[0];
    mockEl.appendChild(text);
    mockEl.appendChild(el('div', { class: 'actions' }, [apply, reset]));
    mockEl.appendChild(status);
    mockEl.appendChild(source);
    fillNames();
  }

  (cfg.locations || []).forEach(buildLocation);
  buildMockEditor();
})();
