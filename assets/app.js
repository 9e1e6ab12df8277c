// second-hand's page script: refresh each panel (and each row of the fleet overview) while the
// page is visible, keep the age labels counting, keep the overview's rows worst first, put the
// worst diagnosis on the tab (title and icon), and say so in a panel when second-hand itself
// cannot be reached. No inline handlers and no eval, so
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

  // The tab shows the worst diagnosis: its symbol and word in the title, its icon. The server
  // names the icons (data-icon-STATE on the body) and writes the host page's title
  // (data-title of the diagnosis block); the overview's is made here as the server makes it.
  function setIcon(state) {
    var link = document.getElementById('favicon');
    var href = document.body.dataset['icon' + state.charAt(0).toUpperCase() + state.slice(1)];
    if (link && href && link.getAttribute('href') !== href) link.setAttribute('href', href);
  }
  var ranks = {failing: 0, warning: 1, unknown: 2, ok: 3};
  var marks = {failing: '✕', warning: '!', unknown: '?', ok: '✓'};
  function fleetTitle(rows) {
    var worst = 'ok', n = 0;
    rows.forEach(function (row) {
      var st = row.dataset.state || 'unknown';
      if (ranks[st] < ranks[worst]) { worst = st; n = 1; } else if (st === worst) { n++; }
    });
    setIcon(worst);
    if (worst === 'unknown') return '? checking ' + rows.length + ' hosts · second-hand';
    return marks[worst] + ' ' + n + ' of ' + rows.length + ' ' + worst + ' · second-hand';
  }

  function sortFleet() {
    var body = document.getElementById('fleet-rows');
    var engine = document.getElementById('panel-engine');
    // A host's page: its title and icon are its diagnosis', not an overview's.
    if (!body && !engine) return;
    var rows = body ? Array.prototype.slice.call(body.children) : [];
    var sorted = rows.slice().sort(compareRows);
    var moved = sorted.some(function (row, i) { return row !== rows[i]; });
    if (moved) {
      var focused = document.activeElement;
      sorted.forEach(function (row) { body.appendChild(row); });
      // Moving a row takes the focus from what is in it; give it back.
      if (focused && focused !== document.activeElement && body.contains(focused)) focused.focus();
    }
    // The hosts of a time-series engine come sorted in their own panel, all at once; they
    // count too, once they have come.
    var more = document.getElementById('engine-rows');
    if (more) rows = rows.concat(Array.prototype.slice.call(more.children));
    var title = fleetTitle(rows);
    if (document.title !== title) document.title = title;
    var count = document.getElementById('fleet-count');
    if (!count) return;
    var known = rows.filter(function (row) { return row.dataset.status !== 'checking'; }).length;
    var synced = rows.filter(function (row) { return row.dataset.status === 'synchronised'; }).length;
    var text = engine && !engine.querySelector('[data-age-ms]') ? 'checking hosts…' :
      known < rows.length ? 'checking ' + rows.length + ' hosts…' :
      synced + ' of ' + rows.length + ' hosts synchronised';
    if (count.textContent !== text) count.textContent = text;
  }

  // Screen readers hear what changed, politely and in one line: a panel that fails or comes
  // back, the clock's status when it changes; not every refresh of every value.
  var summaries = {};
  function summaryOf(el) {
    // A panel kept stale while chronyd does not answer says nothing new: the diagnosis says it.
    if (el.classList.contains('is-stale') || el.dataset.failed === 'not-answering') return summaries[el.id] || '';
    var diag = el.querySelector('[data-field=diagnosis-state]');
    if (diag) {
      var head = el.querySelector('[data-field=headline]');
      return diag.textContent.trim() + (head ? ': ' + head.textContent.trim() : '');
    }
    var err = el.querySelector('[role=alert] .error-title');
    if (err) return err.textContent.trim();
    var s = el.querySelector('[data-field=synchronised]');
    return s ? s.textContent.trim() : '';
  }
  function announce(text) {
    var a = document.getElementById('announcer');
    if (a) a.textContent = text;
  }

  // A fragment arrived: note when, and plan its next reload.
  function arrived(el) {
    var age = el.querySelector('[data-age-ms]');
    if (age) age.dataset.arrived = String(performance.now());
    schedule(el.id, Number(el.dataset.nextMs) || refreshMs);
    if (el.dataset.title && document.title !== el.dataset.title) document.title = el.dataset.title;
    if (el.dataset.title && el.dataset.state) setIcon(el.dataset.state);
    var now = summaryOf(el), before = summaries[el.id];
    summaries[el.id] = now;
    if (before !== undefined && before !== now) {
      var title = el.querySelector('h2, h3, th[scope=row]');
      announce((title ? title.textContent.trim() + ': ' : '') + (now || 'back to normal'));
    }
  }

  // Charts: the server draws them; pointing at one (or focusing it and using the arrow keys)
  // shows a column's time and values, read back from the drawing and the chart's scale.
  function fmtSeconds(v) {
    var a = Math.abs(v), unit = 's', scale = 1;
    if (a < 999.5e-9) { unit = 'ns'; scale = 1e9; } else if (a < 999.5e-6) { unit = 'µs'; scale = 1e6; } else if (a < 999.5e-3) { unit = 'ms'; scale = 1e3; }
    var x = a * scale;
    var s = unit === 'ns' ? x.toFixed(0) : x < 9.995 ? x.toFixed(2) : x < 99.95 ? x.toFixed(1) : x.toFixed(0);
    return (v < 0 ? '-' : '+') + s + ' ' + unit;
  }
  // Signed where the chart's values can be negative (data-signed), as the server prints them;
  // rates, shares and counts (the serving charts) are never negative.
  function fmt(v, unit, signed) {
    if (unit === '/s') return v.toPrecision(3) + ' /s';
    if (unit === '%') return v.toFixed(1) + ' %';
    if (unit === '') return v.toFixed(0);
    var s = unit === 'ppm' ? (v < 0 ? '' : '+') + v.toFixed(3) + ' ppm' : fmtSeconds(v);
    return signed || v < 0 ? s : s.replace(/^\+/, '');
  }
  function utc(ms) { return new Date(ms).toISOString().slice(0, 16).replace('T', ' '); }

  // columnsOf reads drawn paths back into cols: for each column, the top and bottom of what is
  // drawn (panels' pathWriter writes its first point absolute, the others relative; a block of
  // columns that span the scale is drawn across them with H).
  function columnsOf(path, cols) {
    cols = cols || {};
    var x = 0, y = 0, x0 = 0, y0 = 0, re = /([MmLlHhVvZz])([^MmLlHhVvZz]*)/g, m;
    function mark(at) {
      if (!cols[at]) cols[at] = {top: y, bottom: y};
      cols[at].top = Math.min(cols[at].top, y); cols[at].bottom = Math.max(cols[at].bottom, y);
    }
    while (path && (m = re.exec(path.getAttribute('d') || ''))) {
      var n = (m[2].match(/-?[\d.]+/g) || []).map(Number), c = m[1];
      if (c === 'Z' || c === 'z') { x = x0; y = y0; continue; }
      if (c === 'H' || c === 'h') {
        var to = c === 'H' ? n[0] : x + n[0];
        for (var i = Math.min(x, to); i <= Math.max(x, to); i++) mark(i);
        x = to;
        continue;
      }
      if (c === 'V') { y = n[0]; } else if (c === 'v') { y += n[0]; }
      else if (c === 'M' || c === 'L') { x = n[0]; y = n[1]; } else { x += n[0]; y += n[1]; }
      if (c === 'M' || c === 'm') { x0 = x; y0 = y; }
      mark(x);
    }
    return cols;
  }

  function setupChart(fig) {
    var svg = fig.querySelector('svg.chart-svg');
    if (!svg || svg.dataset.ready) return;
    svg.dataset.ready = '1';
    var d = fig.dataset, n = Number(d.cols), h = Number(d.h), lo = Number(d.min), hi = Number(d.max);
    var from = Number(d.from), to = Number(d.to), signed = d.signed === 'true';
    var value = function (y) { return hi - y / h * (hi - lo); };
    var lines = Array.prototype.map.call(svg.querySelectorAll('path.line'), function (p) {
      var group = p.closest('g.series');
      return {name: p.dataset.name, cols: columnsOf(group && group.querySelector('path.solid'), columnsOf(p)), group: group};
    });
    var band = svg.querySelector('path.band'), bandCols = band ? columnsOf(band) : null;
    var cursor = svg.querySelector('path.cursor'), out = fig.querySelector('.readout');
    var current = -1;
    function show(c) {
      current = Math.max(0, Math.min(n - 1, c));
      cursor.setAttribute('d', 'M' + (current + 0.5) + ' 0V' + h);
      cursor.classList.add('on');
      var t0 = from + (to - from) * current / n, t1 = from + (to - from) * (current + 1) / n;
      var parts = [];
      lines.forEach(function (l) {
        var col = l.cols[current];
        if (!col || (l.group && l.group.classList.contains('off'))) return;
        var a = fmt(value(col.top), d.unit, signed), b = fmt(value(col.bottom), d.unit, signed);
        parts.push(l.name + ' ' + (a === b ? a : b + ' to ' + a));
      });
      if (bandCols && bandCols[current + 1]) parts.push('max error ±' + fmt(value(bandCols[current + 1].top), d.unit, false));
      out.textContent = utc(t0) + '–' + utc(t1).slice(11) + ' UTC: ' + (parts.length ? parts.join('; ') : 'nothing recorded');
      // Next to the column: on its right in the left half, on its left in the right half.
      var x = (current + 0.5) / n;
      out.classList.toggle('left', x > 0.5);
      out.style.left = (x * 100) + '%';
      out.classList.add('on');
    }
    function hide() { cursor.classList.remove('on'); out.classList.remove('on'); }
    svg.addEventListener('pointermove', function (e) {
      var r = svg.getBoundingClientRect();
      show(Math.floor((e.clientX - r.left) / r.width * n));
    });
    svg.addEventListener('pointerleave', function () { if (document.activeElement !== svg) hide(); });
    svg.addEventListener('keydown', function (e) {
      var step = {ArrowLeft: -1, ArrowRight: 1, PageUp: -n / 10, PageDown: n / 10}[e.key];
      if (e.key === 'Home') show(0);
      else if (e.key === 'End') show(n - 1);
      else if (step) show(Math.round((current < 0 ? n - 1 : current) + step));
      else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') moveChart(svg, e.key === 'ArrowDown' ? 1 : -1);
      else return;
      e.preventDefault();
    });
    svg.addEventListener('focus', function () { if (current < 0) show(n - 1); else show(current); });
    svg.addEventListener('blur', hide);
  }

  // The charts are one stop of the keyboard's: up and down go to the chart above or below.
  function moveChart(svg, by) {
    var all = Array.prototype.slice.call(document.querySelectorAll('.charts svg.chart-svg'));
    var next = all[all.indexOf(svg) + by];
    if (!next) return;
    all.forEach(function (c) { c.setAttribute('tabindex', c === next ? '0' : '-1'); });
    next.focus();
  }

  // A toolbar (the history's range and scale, the sources shown in a chart), a table's sources
  // and a panel's labels with a tooltip ([data-roving]: the selector of its items) are one stop
  // of the keyboard's: the arrows, Home and End go from one of its items to the next.
  function rovingItems(group) {
    return Array.prototype.slice.call(group.querySelectorAll(group.dataset.roving || 'button, a[href]'))
      .filter(function (it) { return it.offsetParent !== null; });
  }
  function rovingGroup(el) {
    var group = el.closest && el.closest('[data-roving]');
    while (group && !el.matches(group.dataset.roving || 'button, a[href]')) {
      group = group.parentElement && group.parentElement.closest('[data-roving]');
    }
    return group;
  }
  document.addEventListener('keydown', function (e) {
    var group = rovingGroup(e.target);
    if (!group) return;
    var items = rovingItems(group);
    var i = items.indexOf(e.target);
    if (i < 0) return;
    var j = {ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: items.length - 1}[e.key];
    if (j === undefined) return;
    j = (j + items.length) % items.length;
    items.forEach(function (it, k) { it.setAttribute('tabindex', k === j ? '0' : '-1'); });
    items[j].focus();
    e.preventDefault();
  });
  // A group whose items all come with tabindex -1 (a panel's labels) gets its stop here: the
  // item that had the focus before a refresh, or the first.
  function setupRoving(root) {
    var groups = Array.prototype.slice.call(root.querySelectorAll('[data-roving]'));
    if (root.matches('[data-roving]')) groups.push(root);
    groups.forEach(function (group) {
      var items = rovingItems(group);
      if (!items.length || items.some(function (it) { return it.getAttribute('tabindex') === '0'; })) return;
      items[Math.max(items.indexOf(document.activeElement), 0)].setAttribute('tabindex', '0');
    });
  }

  // A label's tooltip shows on hover and on the keyboard's focus; Escape hides it until the
  // focus moves (WCAG 1.4.13).
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && e.target.classList && e.target.classList.contains('has-tip')) {
      e.target.classList.add('tip-off');
      e.preventDefault();
    }
  });
  document.addEventListener('focusout', function (e) {
    if (e.target.classList && e.target.classList.contains('tip-off')) e.target.classList.remove('tip-off');
  });

  // A chart's legend shows or hides a source's offsets (those chronyd does not use start
  // hidden); the choice is kept when the panel refreshes.
  var shown = {};
  function showSeries(t, on) {
    t.setAttribute('aria-pressed', on ? 'true' : 'false');
    var fig = t.closest('figure');
    var g = fig && fig.querySelector('g.series[data-series="' + t.dataset.series + '"]');
    if (g) g.classList.toggle('off', !on);
  }
  document.addEventListener('click', function (e) {
    var t = e.target.closest && e.target.closest('.series-toggle');
    if (!t) return;
    var on = t.getAttribute('aria-pressed') !== 'true';
    shown[t.closest('figure').dataset.chart + '/' + t.dataset.name] = on;
    showSeries(t, on);
  });
  function keepShown(root) {
    root.querySelectorAll('.series-toggle').forEach(function (t) {
      var on = shown[t.closest('figure').dataset.chart + '/' + t.dataset.name];
      if (on !== undefined) showSeries(t, on);
    });
  }

  function setupCharts(root) {
    (root || document).querySelectorAll('figure.chart').forEach(setupChart);
  }

  // A source's detail: its name in the sources or statistics table is a button that opens the
  // detail in the row under it, and closes it on a second click; the detail's own close button
  // closes it too. The row is kept as it is when the panel around it refreshes (hx-preserve).
  function detailToggle(row) {
    return document.querySelector('[aria-controls="' + row.id + '"]');
  }
  function closeDetail(row) {
    window.clearTimeout(timers[row.id]);
    row.hidden = true;
    row.firstElementChild.replaceChildren();
    var t = detailToggle(row);
    if (t) { t.setAttribute('aria-expanded', 'false'); t.focus(); }
  }
  document.addEventListener('click', function (e) {
    // A finding's link to a source: open the source's detail under its row, and go there.
    var open = e.target.closest('[data-open-detail]');
    if (open) {
      var target = document.getElementById(open.dataset.openDetail);
      var toggle = target && detailToggle(target);
      if (!toggle) return; // the sources panel is not there yet: the link goes to the row
      e.preventDefault();
      if (target.hidden) toggle.click();
      toggle.scrollIntoView({block: 'center'});
      toggle.focus({preventScroll: true});
      return;
    }
    var close = e.target.closest('[data-close-detail]');
    if (close) {
      var open = close.closest('tr.detail-row');
      if (open) closeDetail(open);
      return;
    }
    var t = e.target.closest('[data-detail]');
    if (!t) return;
    var row = document.getElementById(t.getAttribute('aria-controls'));
    if (!row) return;
    if (!row.hidden) { closeDetail(row); return; }
    row.hidden = false;
    t.setAttribute('aria-expanded', 'true');
    row.firstElementChild.replaceChildren(Object.assign(document.createElement('p'), {className: 'loading', textContent: 'Loading…'}));
    htmx.ajax('GET', t.dataset.detail, {target: row.firstElementChild, swap: 'innerHTML'});
  });
  // A refreshed panel comes with its toggles closed; the rows it kept say which are open.
  function syncToggles(root) {
    root.querySelectorAll('[data-detail]').forEach(function (t) {
      var row = document.getElementById(t.getAttribute('aria-controls'));
      t.setAttribute('aria-expanded', row && !row.hidden ? 'true' : 'false');
    });
  }

  // A folded part that changes with its panel (what the diagnosis could not check) stays open
  // across the panel's refresh if it was open (the legends, which never change, are kept
  // whole by hx-preserve).
  var openDetails = [];
  document.body.addEventListener('htmx:beforeSwap', function (evt) {
    var t = evt.detail.target;
    openDetails = t && t.querySelectorAll ? Array.prototype.map.call(t.querySelectorAll('details[open][id]:not([hx-preserve])'), function (d) { return d.id; }) : [];
    // The engine's hosts (a thousand rows) are replaced by the new ones in this same task, with
    // nothing drawn between: take the old rows out at once. Left to htmx, every element of
    // them gets an event of its own as it is cleaned up, and every row's id has its attributes
    // copied to the new row and back, seconds of work at each refresh of a thousand rows.
    if (evt.detail.shouldSwap && t && t.id === 'panel-engine') {
      var rows = document.getElementById('engine-rows');
      if (rows) rows.replaceChildren();
    }
  });

  // A fragment replaces its whole element; htmx settles on the new element (a detail is
  // swapped into its row's cell).
  document.body.addEventListener('htmx:afterSettle', function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.matches && elt.matches('tr.detail-row > td')) elt = elt.firstElementChild;
    openDetails.forEach(function (id) { var d = document.getElementById(id); if (d) d.open = true; });
    openDetails = [];
    if (elt && elt.dataset && elt.dataset.panel && elt.id) arrived(elt);
    if (elt && elt.querySelectorAll) syncToggles(elt);
    if (elt && elt.querySelectorAll) { keepShown(elt); setupCharts(elt); setupRoving(elt); }
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

  setupRoving(document.body);
  window.setInterval(tick, 1000);
})();
