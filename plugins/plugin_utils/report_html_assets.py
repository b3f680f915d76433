# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report's only stylesheet and script, and the Content-Security-Policy that admits just them.

Both are constants, so their SHA-256 hashes are known and the page's CSP allows nothing else: no other
script (inline or not, no event-handler attribute, no javascript: URL), no style attribute, no network.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px 20px;color:#1d2430}
h1{margin:0 0 6px;font-size:22px}
h2{border-bottom:2px solid #dde3ea;padding-bottom:3px;margin:22px 0 8px;font-size:18px}
h4{margin:10px 0 4px} .meta{color:#556;margin:4px 0} code{font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;table-layout:fixed}
th,td{border:1px solid #dde3ea;padding:3px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
th{background:#f3f6f9}
.c-id{width:16%} .c-title{width:18%} .c-status{width:8%} .c-exp{width:16%} .c-act{width:14%} .c-src{width:8.5%}
.findings{font-size:13px} .findings small{display:block;color:#556}
.findings td:first-child{white-space:nowrap}
.f-time{width:13.5%} .f-client{width:9%} .f-req{width:16%} .f-query{width:18%} .f-agent{width:13%} .f-status{width:5%}
.f-where{width:14.5%} .f-ind{width:11%}
#verdict{border-radius:6px;padding:10px 14px;margin:8px 0;border:2px solid}
#verdict.passed{background:#e6f4ea;border-color:#2e7d32} #verdict.failed{background:#fbdcdc;border-color:#b3261e}
#verdict strong{font-size:20px;margin-right:10px} #verdict ul{margin:6px 0 0;padding:0;list-style:none}
#verdict li{display:inline-block;margin-right:18px} #verdict li b{font-size:16px}
.badge{display:inline-block;border-radius:10px;padding:0 7px;border:1px solid #ccd;background:#fff;font-size:12px}
button.badge{cursor:pointer;padding:1px 8px} .badge b{margin-left:4px}
.compliant{background:#e6f4ea} .fixed{background:#d6ecff} .drift{background:#fff1d6}
.failed{background:#fbdcdc} .manual{background:#efe6fb} .deferred{background:#eee}
.not_applicable{background:#f6f6f6;color:#666} button.off{opacity:.35}
.state{display:inline-block;border-radius:4px;padding:0 6px;font-size:12px;font-weight:bold;border:1px solid}
.state.unreachable,.state.failed{background:#b3261e;color:#fff;border-color:#b3261e}
.state.drift{background:#fff1d6;border-color:#c77700} .state.audit-only{background:#ece9f3;border-color:#7a6f93}
.state.ok{background:#e6f4ea;border-color:#2e7d32} .state.review{background:#efe6fb;border-color:#6a3fb0}
.src{font-family:monospace;font-size:12px;white-space:nowrap} .error{color:#a11;margin:4px 0}
#filters{margin:10px 0} tr.hidden{display:none} td.num{text-align:right}
details.host{border:1px solid #dde3ea;border-radius:4px;margin:6px 0;padding:4px 8px}
details.host>summary{cursor:pointer;padding:2px 0} details.host>summary small{color:#556;margin-left:6px}
details.folded>summary{cursor:pointer;color:#345;margin:2px 0 8px}
details.family{margin:2px 0 2px 4px} details.family>summary{cursor:pointer;font-weight:600;margin:4px 0}
table.controls{font-size:13px}
#overview-box{max-height:70vh;overflow:auto;border:1px solid #dde3ea}
#overview{margin:0} #overview th{position:sticky;top:0;cursor:pointer;user-select:none}
#overview th[aria-sort=ascending]::after{content:" \\25B2"} #overview th[aria-sort=descending]::after{content:" \\25BC"}
#overview td,#overview th{padding:2px 6px} #overview th{font-size:12px;overflow-wrap:normal}
#overview small{display:block;color:#a11}
.o-host{width:17%} .o-where{width:12%} .o-state{width:9%}
.tools{margin:6px 0} .tools input{width:24em;padding:3px 6px} .tools span{color:#556;margin-left:8px}
#trend svg{max-width:100%;height:auto} #trend text{font-size:11px;fill:#556}
.t-axis{stroke:#99a} .t-now{fill:none;stroke:#1d2430;stroke-dasharray:3 2}
.t-drift{fill:#e0952b;background:#e0952b} .t-audit_only_drift{fill:#a99fc0;background:#a99fc0}
.t-failed{fill:#b3261e;background:#b3261e}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
#sources li{margin:2px 0} #sources b{font-family:monospace} :target{outline:2px solid #e0952b}
@media print{body{margin:0;font-size:11px} #filters,.tools{display:none} #overview-box{max-height:none}
tr.hidden{display:none} details.host{break-inside:avoid}}
"""

SCRIPT = """
(function () {
  'use strict';
  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }
  // Status buttons hide or show control rows; report.html#status=drift,failed preselects.
  var off = {};
  function applyStatus() {
    each('tr.ctl', function (r) { r.classList.toggle('hidden', !!off[r.getAttribute('data-status')]); });
    each('#filters button', function (b) { b.classList.toggle('off', !!off[b.getAttribute('data-filter')]); });
  }
  each('#filters button', function (b) {
    b.addEventListener('click', function () {
      var s = b.getAttribute('data-filter');
      off[s] = !off[s];
      applyStatus();
    });
  });
  var wanted = /status=([a-z_,]+)/.exec(location.hash);
  if (wanted) {
    var keep = wanted[1].split(',');
    each('#filters button', function (b) { var s = b.getAttribute('data-filter'); off[s] = keep.indexOf(s) < 0; });
    applyStatus();
  }
  // A large report carries each host's rows as JSON (controls-data): they become a table when the host
  // is opened, built with textContent only (the text is data, never markup).
  var STATUSES = ['compliant', 'drift', 'fixed', 'failed', 'not_applicable', 'manual', 'deferred'];
  var FOLDED = ['fixed', 'compliant', 'not_applicable'];
  var COLS = [['c-id', 'control'], ['c-title', 'title'], ['c-status', 'status'], ['c-exp', 'expected'],
    ['c-act', 'actual'], ['c-src', 'vendor requirement'], ['c-msg', 'message']];
  var rowsByHost = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function controlsTable(rows) {
    var table = el('table', 'controls'), cols = el('colgroup'), head = el('tr'), thead = el('thead');
    var body = el('tbody');
    COLS.forEach(function (c) { cols.appendChild(el('col', c[0])); head.appendChild(el('th', '', c[1])); });
    thead.appendChild(head);
    rows.forEach(function (c) {
      var s = STATUSES.indexOf(c[2]) >= 0 ? c[2] : 'unknown', tr = el('tr', 'ctl ' + s), cell = el('td');
      var sources = el('td');
      tr.setAttribute('data-status', s);
      cell.appendChild(el('code', '', c[0]));
      tr.appendChild(cell);
      tr.appendChild(el('td', '', c[1]));
      cell = el('td');
      cell.appendChild(el('span', 'badge ' + s, s));
      tr.appendChild(cell);
      tr.appendChild(el('td', '', c[3]));
      tr.appendChild(el('td', '', c[4]));
      c[5].forEach(function (ident, i) {
        var a = el('a', 'src', ident);
        a.setAttribute('href', '#src-' + ident);
        if (i) { sources.appendChild(document.createTextNode(' ')); }
        sources.appendChild(a);
      });
      tr.appendChild(sources);
      tr.appendChild(el('td', '', c[6]));
      if (off[s]) { tr.classList.add('hidden'); }
      body.appendChild(tr);
    });
    table.appendChild(cols);
    table.appendChild(thead);
    table.appendChild(body);
    return table;
  }
  function build(host) {
    var spot = host.querySelector('div.lazy'), name = host.getAttribute('data-host');
    if (!spot) { return; }
    if (rowsByHost === null) { rowsByHost = JSON.parse(document.getElementById('controls-data').textContent); }
    var strings = rowsByHost.strings, hosts = rowsByHost.hosts, frag = document.createDocumentFragment();
    var groups = Object.prototype.hasOwnProperty.call(hosts, name) ? hosts[name] : [];
    function text(i) { return strings[i]; }
    function row(r) { return [text(r[0]), text(r[1]), text(r[2]), text(r[3]), text(r[4]), r[5].map(text), text(r[6])]; }
    groups.forEach(function (g) {  // [summary, open, problem rows, folded rows]: as report_html_controls.families
      var family = el('details', 'family'), problems = g[2].map(row), folded = g[3].map(row);
      if (g[1]) { family.setAttribute('open', ''); }
      family.appendChild(el('summary', '', text(g[0])));
      if (problems.length) { family.appendChild(controlsTable(problems)); }
      if (folded.length && problems.length) {
        var counts = {}, words = [], inner = el('details', 'folded');
        folded.forEach(function (c) { counts[c[2]] = (counts[c[2]] || 0) + 1; });
        FOLDED.forEach(function (s) { if (counts[s]) { words.push(counts[s] + ' ' + s.replace('_', ' ')); } });
        inner.appendChild(el('summary', '', words.join(', ') + ' (show)'));
        inner.appendChild(controlsTable(folded));
        family.appendChild(inner);
      } else if (folded.length) {
        family.appendChild(controlsTable(folded));
      }
      frag.appendChild(family);
    });
    spot.parentNode.replaceChild(frag, spot);
  }
  document.addEventListener('toggle', function (e) {
    var d = e.target;
    if (d.open && d.classList && d.classList.contains('host')) { build(d); }
  }, true);
  // A link to a host (or into a folded table) opens the sections around its target.
  function openTarget() {
    var id = location.hash.slice(1), el = null;
    try { el = id && document.getElementById(decodeURIComponent(id)); } catch (e) { el = null; }
    for (; el; el = el.parentElement) { if (el.tagName === 'DETAILS') { el.open = true; } }
  }
  window.addEventListener('hashchange', openTarget);
  openTarget();
  window.addEventListener('beforeprint', function () {  // toggle events come too late for the printout
    each('details.host', build);
    each('details', function (d) { d.open = true; });
  });
  // The vendor text of an SRC link, as a tooltip, from its one footnote.
  document.addEventListener('mouseover', function (e) {
    var a = e.target;
    if (!a || a.className !== 'src' || a.title) { return; }
    var note = document.getElementById(a.getAttribute('href').slice(1));
    if (note) { a.title = note.textContent; }
  });
  // Hosts overview: filter by text and state (the host sections follow), sort by any column.
  var table = document.getElementById('overview');
  if (!table) { return; }
  var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows), heads = table.tHead.rows[0].cells;
  var text = document.getElementById('host-filter'), state = document.getElementById('state-filter');
  var shown = document.getElementById('hosts-shown'), sections = {};
  each('details.host', function (d) { sections[d.getAttribute('data-host')] = d; });
  function filter() {
    var q = text.value.trim().toLowerCase(), s = state.value, n = 0;
    rows.forEach(function (r) {
      var ok = (!q || r.getAttribute('data-search').indexOf(q) >= 0) &&
        (!s || r.getAttribute('data-state') === s || (s === 'problem' && r.getAttribute('data-problem') === '1'));
      var section = sections[r.getAttribute('data-host')];
      r.hidden = !ok;
      if (section) { section.hidden = !ok; }
      n += ok ? 1 : 0;
    });
    each('section.group', function (g) { g.hidden = !g.querySelector('details.host:not([hidden])'); });
    shown.textContent = n + ' of ' + rows.length + ' hosts shown';
  }
  text.addEventListener('input', filter);
  state.addEventListener('change', filter);
  Array.prototype.forEach.call(heads, function (th, i) {
    th.tabIndex = 0;  // sortable from the keyboard too
    th.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); th.click(); }
    });
    th.addEventListener('click', function () {
      var num = th.getAttribute('data-type') === 'num', now = th.getAttribute('aria-sort');
      var dir = now ? (now === 'ascending' ? -1 : 1) : (num ? -1 : 1);
      function key(r) {
        var cell = r.cells[i], v = cell.getAttribute('data-sort');
        if (v === null) { v = cell.textContent; }
        return num ? (parseFloat(v) || 0) : v.toLowerCase();
      }
      var keyed = rows.map(function (r, n) { return [key(r), n, r]; });
      keyed.sort(function (a, b) { return a[0] < b[0] ? -dir : (a[0] > b[0] ? dir : a[1] - b[1]); });
      rows = keyed.map(function (k) { return k[2]; });
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
      var frag = document.createDocumentFragment();
      rows.forEach(function (r) { frag.appendChild(r); });
      body.appendChild(frag);
    });
  });
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# Everything the page may load or run: its own <style> and <script> (by hash), nothing from anywhere.
CSP = (f"default-src 'none'; script-src {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; "
       "base-uri 'none'; form-action 'none'")
