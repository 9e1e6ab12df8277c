// second-hand's page script: refresh each panel (and each row of the fleet overview) while the
// page is visible, keep the age labels counting, keep the overview's rows worst first, and say
// so in a panel when second-hand itself cannot be reached. No inline handlers and no eval, so
// the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  var refreshMs = Number(document.body.dataset.refreshMs) || 10000;
  var timers = {};

  function visible() {
    return document.visibilityState === 'visible';
  }

  // Every element that reloads itself (a panel, an overview row) has data-panel and an id.
  function refreshable() {
    return document.querySelectorAll('[data-panel][id]');
  }

  function refresh(id) {
    var el = document.getElementById(id);
    if (el) htmx.trigger(el, 'panel-refresh');
  }

  // The server says when to ask again: at the next multiple of the refresh interval on its
  // clock. Every open page then asks at the same moments and they share one read of chronyd.
  function schedule(id, delay) {
    window.clearTimeout(timers[id]);
    timers[id] = window.setTimeout(function () {
      delete timers[id];
      if (visible()) refresh(id);
    }, Math.max(delay, 250));
  }

  document.addEventListener('visibilitychange', function () {
    refreshable().forEach(function (el) {
      if (visible()) {
        refresh(el.id); // at once, then on schedule again
      } else {
        window.clearTimeout(timers[el.id]);
        delete timers[el.id];
      }
    });
  });

  // Ages: the server says how old the data was when it sent it; count on from when it arrived.
  function ago(ms) {
    var s = Math.floor(ms / 1000);
    if (s < 1) return 'now';
    if (s < 120) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 120) return m + ' min';
    var h = Math.floor(m / 60);
    if (h < 48) return h + ' h';
    return Math.floor(h / 24) + ' d';
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll('[data-age-ms]').forEach(function (el) {
      var age = Number(el.dataset.ageMs) + (now - Number(el.dataset.arrived || now));
      var word = el.dataset.word || 'updated';
      var text = age < 1000 ? word + ' just now' : word + ' ' + ago(age) + ' ago';
      if (el.dataset.stale) text += ' · ' + el.dataset.stale;
      if (el.textContent !== text) el.textContent = text;
    });
  }

  // The overview: rows worst first (by rank, then by maximum clock error, largest first, then
  // by name), as the server orders them, and the count of synchronised hosts in the header.
  function compareRows(a, b) {
    var ra = Number(a.dataset.rank), rb = Number(b.dataset.rank);
    if (ra !== rb) return ra - rb;
    var ea = Number(a.dataset.error), eb = Number(b.dataset.error);
    if (ea !== eb) return eb - ea;
    return a.dataset.host < b.dataset.host ? -1 : a.dataset.host > b.dataset.host ? 1 : 0;
  }

  function sortFleet() {
    var body = document.getElementById('fleet-rows');
    if (!body) return;
    var rows = Array.prototype.slice.call(body.children);
    var sorted = rows.slice().sort(compareRows);
    var moved = sorted.some(function (row, i) { return row !== rows[i]; });
    if (moved) {
      var focused = document.activeElement;
      sorted.forEach(function (row) { body.appendChild(row); });
      // Moving a row takes the focus from what is in it; give it back.
      if (focused && focused !== document.activeElement && body.contains(focused)) focused.focus();
    }
    var count = document.getElementById('fleet-count');
    if (!count) return;
    var known = rows.filter(function (row) { return row.dataset.status !== 'checking'; }).length;
    var synced = rows.filter(function (row) { return row.dataset.status === 'synchronised'; }).length;
    var text = known < rows.length ? 'checking ' + rows.length + ' hosts…' :
      synced + ' of ' + rows.length + ' hosts synchronised';
    if (count.textContent !== text) count.textContent = text;
  }

  // A fragment arrived: note when, and plan its next reload.
  function arrived(el) {
    var age = el.querySelector('[data-age-ms]');
    if (age) age.dataset.arrived = String(performance.now());
    schedule(el.id, Number(el.dataset.nextMs) || refreshMs);
  }

  // A fragment replaces its whole element; htmx settles on the new element.
  document.body.addEventListener('htmx:afterSettle', function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.dataset && elt.dataset.panel && elt.id) arrived(elt);
    sortFleet();
    tick();
  });

  // second-hand itself is unreachable (restarting, network down): the panel keeps its last
  // data, says why it is getting old, and tries again after one refresh interval.
  function unreachable(evt) {
    var elt = evt.detail.elt;
    var p = elt && elt.closest ? elt.closest('[data-panel][id]') : null;
    if (!p) return;
    var age = p.querySelector('[data-age-ms]');
    if (age) {
      age.dataset.stale = 'second-hand is not answering';
    } else {
      var status = p.querySelector('.age, .pending');
      if (status) status.textContent = 'second-hand is not answering';
    }
    p.classList.add('is-stale');
    schedule(p.id, refreshMs);
    tick();
  }
  document.body.addEventListener('htmx:sendError', unreachable);
  document.body.addEventListener('htmx:responseError', unreachable);
  document.body.addEventListener('htmx:timeout', unreachable);

  window.setInterval(tick, 1000);
})();
