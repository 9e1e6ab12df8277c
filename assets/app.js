// second-hand's page script: refresh each panel while the page is visible, keep the age labels
// counting, and say so in a panel when second-hand itself cannot be reached. No inline
// handlers and no eval, so the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  var refreshMs = Number(document.body.dataset.refreshMs) || 10000;
  var timers = {};

  function visible() {
    return document.visibilityState === 'visible';
  }

  function panel(id) {
    return document.getElementById('panel-' + id);
  }

  function refresh(id) {
    var p = panel(id);
    if (p) htmx.trigger(p, 'panel-refresh');
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
    document.querySelectorAll('[data-panel]').forEach(function (p) {
      var id = p.dataset.panel;
      if (visible()) {
        refresh(id); // at once, then on schedule again
      } else {
        window.clearTimeout(timers[id]);
        delete timers[id];
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

  // A panel arrived: note when, and plan its next reload.
  function arrived(p) {
    var age = p.querySelector('[data-age-ms]');
    if (age) age.dataset.arrived = String(performance.now());
    schedule(p.dataset.panel, Number(p.dataset.nextMs) || refreshMs);
  }

  // A panel's fragment replaces the whole panel; htmx settles on the new element.
  document.body.addEventListener('htmx:afterSettle', function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.dataset && elt.dataset.panel) arrived(elt);
    tick();
  });

  // second-hand itself is unreachable (restarting, network down): the panel keeps its last
  // data, says why it is getting old, and tries again after one refresh interval.
  function unreachable(evt) {
    var elt = evt.detail.elt;
    var p = elt && elt.closest ? elt.closest('[data-panel]') : null;
    if (!p) return;
    var age = p.querySelector('[data-age-ms]');
    if (age) {
      age.dataset.stale = 'second-hand is not answering';
    } else {
      var status = p.querySelector('.age');
      if (status) status.textContent = 'second-hand is not answering';
    }
    p.classList.add('is-stale');
    schedule(p.dataset.panel, refreshMs);
    tick();
  }
  document.body.addEventListener('htmx:sendError', unreachable);
  document.body.addEventListener('htmx:responseError', unreachable);
  document.body.addEventListener('htmx:timeout', unreachable);

  window.setInterval(tick, 1000);
})();
