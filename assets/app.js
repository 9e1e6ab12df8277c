// second-hand's page script: refresh the panels while the page is visible, keep their age
// labels counting, and say so in a panel when second-hand itself cannot be reached. No inline
// handlers and no eval, so the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  var refreshMs = Number(document.body.dataset.refreshMs) || 10000;
  var timer = null;

  function panels() {
    return document.querySelectorAll('[data-panel]');
  }

  function refreshAll() {
    panels().forEach(function (p) {
      htmx.trigger(p, 'panel-refresh');
    });
  }

  function start() {
    stop();
    timer = window.setInterval(function () {
      if (document.visibilityState === 'visible') {
        refreshAll();
      }
    }, refreshMs);
  }

  function stop() {
    if (timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') {
      refreshAll();
      start();
    } else {
      stop();
    }
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

  function stamp(root) {
    root.querySelectorAll('[data-age-ms]').forEach(function (el) {
      el.dataset.arrived = String(performance.now());
    });
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

  document.body.addEventListener('htmx:afterSettle', function (evt) {
    var panel = evt.detail.elt && evt.detail.elt.closest ? evt.detail.elt.closest('[data-panel]') : null;
    stamp(panel ? panel.parentNode : document);
    tick();
  });

  // second-hand itself is unreachable (restarting, network down): the panel keeps its last
  // data and says why it is getting old.
  function unreachable(evt) {
    var elt = evt.detail.elt;
    var panel = elt && elt.closest ? elt.closest('[data-panel]') : null;
    if (!panel) return;
    var age = panel.querySelector('[data-age-ms]');
    if (age) {
      age.dataset.stale = 'second-hand is not answering';
    } else {
      var status = panel.querySelector('.age');
      if (status) status.textContent = 'second-hand is not answering';
    }
    panel.classList.add('is-stale');
    tick();
  }
  document.body.addEventListener('htmx:sendError', unreachable);
  document.body.addEventListener('htmx:responseError', unreachable);
  document.body.addEventListener('htmx:timeout', unreachable);

  stamp(document);
  window.setInterval(tick, 1000);
  start();
})();
