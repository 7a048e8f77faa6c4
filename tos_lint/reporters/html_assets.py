"""The stylesheet and script inlined into every `--format html` report.

Kept as strings (not package data files) so that the report cannot lose
them in a packaging step: the module ships like any other. Neither may
reference anything outside the page (no fonts, images or imports): the
report must open from disk or an e-mail attachment with no network at all,
and its Content-Security-Policy refuses any fetch.
"""
from __future__ import annotations

CSS = """
:root {
  --ink: #1d2939; --muted: #475467; --faint: #667085; --line: #d0d5dd; --soft: #f2f4f7;
  --page: #ffffff; --accent: #1849a9; --fail: #b42318; --fail-bg: #fef3f2; --pass: #067647;
  --pass-bg: #ecfdf3; --info-bg: #f2f4f7; --warn: #93370d; --warn-bg: #fffaeb; --mark: #fde68a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #f7f8fa; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "DejaVu Sans", Arial, sans-serif;
}
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.88em; }
.skip { position: absolute; left: -999px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 24px 48px; }
header.top { background: #101828; color: #fff; }
header.top .wrap { padding-top: 22px; padding-bottom: 18px; }
header.top h1 { margin: 0; font-size: 24px; font-weight: 650; letter-spacing: -0.01em; }
header.top p { margin: 4px 0 0; color: #d0d5dd; font-size: 13.5px; }
.legal {
  margin: 20px 0 0; padding: 10px 14px; border: 1px solid #fec84b; border-left: 5px solid #dc6803;
  background: var(--warn-bg); color: var(--warn); border-radius: 6px; font-size: 14px;
}
.legal strong { text-transform: uppercase; letter-spacing: 0.04em; }
section { margin-top: 28px; }
section > h2 { font-size: 20px; margin: 0 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 18px 0 8px; }
.card { background: var(--page); border: 1px solid var(--line); border-radius: 10px; padding: 18px 20px; }
.lead { color: var(--muted); margin: 0 0 12px; }
.note { color: var(--faint); font-size: 13px; }
.verdict { border-width: 1px; border-left-width: 8px; }
.verdict.fail { border-color: #fda29b; border-left-color: var(--fail); }
.verdict.pass { border-color: #abefc6; border-left-color: var(--pass); }
.verdict.info { border-left-color: var(--faint); }
.pill {
  display: inline-block; padding: 3px 12px; border-radius: 999px; font-weight: 700; font-size: 13px;
  letter-spacing: 0.06em; text-transform: uppercase;
}
.pill.fail { background: var(--fail); color: #fff; }
.pill.pass { background: var(--pass); color: #fff; }
.pill.info { background: #475467; color: #fff; }
.headline { font-size: 19px; line-height: 1.45; margin: 10px 0 8px; font-weight: 600; }
.verdict ul { margin: 8px 0 0; padding-left: 20px; color: var(--muted); }
.verdict li { margin: 3px 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-top: 16px; }
.tile { background: var(--page); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.tile .v { font-size: 24px; font-weight: 700; font-variant-numeric: tabular-nums; display: block; }
.tile .k { font-size: 12.5px; color: var(--muted); }
.tile .s { font-size: 12.5px; color: var(--faint); display: block; }
.tile.bad .v { color: var(--fail); }
nav.toc { margin-top: 18px; font-size: 13.5px; }
nav.toc ol { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; padding: 0; margin: 0; }
.tablewrap { overflow-x: auto; margin: 0 0 14px; }
table { border-collapse: collapse; width: 100%; background: var(--page); font-size: 13.5px; }
caption { text-align: left; font-weight: 600; padding: 0 0 6px; color: var(--muted); caption-side: top; }
th, td { text-align: left; vertical-align: top; padding: 7px 9px; border-bottom: 1px solid #eaecf0; }
thead th { background: var(--soft); font-weight: 600; color: var(--muted); border-bottom: 1px solid var(--line); white-space: nowrap; }
tbody tr:nth-child(even) { background: #fcfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.path { overflow-wrap: anywhere; min-width: 240px; }
.badge {
  display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  white-space: nowrap; border: 1px solid transparent;
}
.c-forbids-competing { background: #fef3f2; color: #b42318; border-color: #fecdca; }
.c-conditional { background: #fffaeb; color: #b54708; border-color: #fedf89; }
.c-permissive { background: #ecfdf3; color: #067647; border-color: #abefc6; }
.c-unverified, .c-generic, .c-input { background: #f2f4f7; color: #344054; border-color: #d0d5dd; }
.s-critical { background: #7a271a; color: #fff; }
.s-high { background: #d92d20; color: #fff; }
.s-medium { background: #f79009; color: #1d2939; }
.s-low { background: #d1e0ff; color: #1d2939; }
.s-info { background: #eaecf0; color: #1d2939; }
.st-fail { color: var(--fail); font-weight: 700; }
.st-review { color: #b54708; font-weight: 600; }
.st-pass { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
@media (max-width: 860px) { .grid2 { grid-template-columns: 1fr; } }
figure { margin: 12px 0 0; }
figcaption { font-size: 13px; color: var(--muted); margin-bottom: 4px; font-weight: 600; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 12px; fill: #344054; font-family: inherit; }
svg.chart .axis { stroke: #98a2b3; stroke-width: 1; }
svg.chart .grid { stroke: #eaecf0; stroke-width: 1; }
.terms { margin-top: 12px; }
.terms h3 { margin-top: 0; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.terms td.doc { min-width: 220px; }
.terms .url { word-break: break-all; }
td.nowrap { white-space: nowrap; }
.snippet { white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12.5px; }
#evidence-table td.ev { min-width: 320px; width: 40%; }
#evidence-table td.rule { min-width: 200px; max-width: 260px; overflow-wrap: anywhere; }
#evidence-table td.where { min-width: 200px; max-width: 250px; }
.snippet mark { background: var(--mark); color: inherit; padding: 0 1px; border-radius: 2px; font-weight: 600; }
.redacted { color: var(--faint); font-style: italic; }
.detail { display: block; color: var(--faint); font-size: 12px; margin-top: 3px; }
.fp { font-size: 11.5px; color: var(--faint); word-break: break-all; }
.controls { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0 10px; font-size: 13.5px; }
.controls input, .controls select { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; }
.controls input { min-width: 240px; }
.probabilistic { border: 2px dashed #7f56d9; background: #f9f5ff; }
.probabilistic .tag { color: #53389e; font-weight: 700; text-transform: uppercase; font-size: 12px; letter-spacing: 0.05em; }
.plain { background: var(--info-bg); border-radius: 8px; padding: 10px 14px; margin: 10px 0; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 13.5px; }
dl.kv dt { color: var(--faint); }
dl.kv dd { margin: 0; word-break: break-all; }
.verify { border-left: 4px solid var(--accent); background: #eff4ff; padding: 10px 14px; border-radius: 6px; margin-top: 14px; }
details > summary { cursor: pointer; color: var(--accent); margin: 8px 0; }
footer { margin-top: 36px; padding-top: 14px; border-top: 1px solid var(--line); color: var(--faint); font-size: 13px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  header.top { background: #fff; color: #000; border-bottom: 2px solid #000; }
  header.top p { color: #333; }
  .wrap { max-width: none; padding: 0; }
  nav.toc, .controls, .skip { display: none; }
  .card, .tile { break-inside: avoid; box-shadow: none; }
  section { break-inside: auto; }
  h2, h3 { break-after: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: #000; text-decoration: none; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 9pt; color: #333; word-break: break-all; }
  .tablewrap { overflow: visible; }
  tr[hidden] { display: table-row !important; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# Progressive enhancement only: the report reads completely without it.
JS = """
(function () {
  'use strict';
  var table = document.getElementById('evidence-table');
  var box = document.getElementById('evidence-filter');
  var sev = document.getElementById('evidence-severity');
  var prov = document.getElementById('evidence-provider');
  var shown = document.getElementById('evidence-shown');
  function apply() {
    if (!table) { return; }
    var text = box ? box.value.toLowerCase() : '';
    var s = sev ? sev.value : '';
    var p = prov ? prov.value : '';
    var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    var visible = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!s || r.getAttribute('data-severity') === s) &&
               (!p || r.getAttribute('data-provider') === p) &&
               (!text || r.textContent.toLowerCase().indexOf(text) !== -1);
      r.hidden = !ok;
      if (ok) { visible++; }
    }
    if (shown) { shown.textContent = String(visible); }
  }
  [box, sev, prov].forEach(function (el) {
    if (el) { el.addEventListener('input', apply); el.addEventListener('change', apply); }
  });
  var controls = document.getElementById('evidence-controls');
  if (controls) { controls.hidden = false; }
  window.addEventListener('beforeprint', function () {
    var all = document.querySelectorAll('details');
    for (var i = 0; i < all.length; i++) { all[i].open = true; }
  });
})();
"""
