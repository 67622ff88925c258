/**
 * The console's static assets: one stylesheet and one small vanilla script, served from the package itself
 * (no CDN, no build step at the user's side; bundled into dist with the code). The Content-Security-Policy
 * allows scripts and styles from the console only, so neither may be inlined in the pages.
 */

/** Keeps the overview live: re-fetches its live region every `data-interval` ms and swaps it in. */
export const CONSOLE_JS = `'use strict';
(function () {
  var live = document.querySelector('[data-live]');
  if (!live) return;
  var interval = Number(live.getAttribute('data-interval')) || 2000;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(live.getAttribute('data-live'), { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return undefined; }
        return response.ok ? response.text() : undefined;
      })
      .then(function (html) {
        if (html !== undefined) {
          live.innerHTML = html;
          live.setAttribute('data-updated', String(Date.now()));
        }
      })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { busy = false; });
  }
  setInterval(refresh, interval);
})();
`;

export const CONSOLE_CSS = `:root { color-scheme: light; --fg: #1b1f24; --muted: #5b6470; --line: #d6dae0; --accent: #0b5cad; --bad: #b42318; --warn: #9a6700; --ok: #1a7f37; --bg: #fff; --soft: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 10; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header { display: flex; align-items: center; gap: 16px; padding: 8px 16px; background: #12263f; color: #fff; flex-wrap: wrap; }
header a { color: #fff; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
header a[aria-current="page"] { background: rgba(255,255,255,.18); font-weight: 600; }
header nav ul { display: flex; gap: 4px; list-style: none; margin: 0; padding: 0; }
.brand { font-weight: 700; }
.who { margin-left: auto; color: #c9d4e3; }
main { padding: 12px 16px 32px; max-width: 1200px; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 20px 0 8px; }
.muted { color: var(--muted); font-weight: normal; }
.flash { background: #e7f3ea; border: 1px solid #a6d5b2; padding: 6px 10px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; background: var(--soft); }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .note { color: var(--muted); font-size: 12px; }
.card.wide { grid-column: span 2; }
.card.alert { border-color: var(--bad); background: #fdecea; }
.card.alert .value { color: var(--bad); }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; }
.chart figcaption { font-size: 12px; }
.chart .axis { stroke: var(--line); stroke-width: 1; }
.chart .line { stroke: var(--accent); stroke-width: 2; }
.chart .dot { fill: var(--accent); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 12px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.error { max-width: 480px; word-break: break-word; }
tr.diff td, tr.diff th { background: #fff4d6; }
.badge { font-size: 11px; background: var(--warn); color: #fff; border-radius: 3px; padding: 0 4px; font-weight: 600; }
button { font: inherit; padding: 4px 10px; border: 1px solid #8c959f; border-radius: 4px; background: #fff; cursor: pointer; }
button:hover { background: var(--soft); }
button.danger { border-color: var(--bad); color: var(--bad); }
form.inline { display: inline; }
.filters { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-bottom: 8px; }
.filters input, .filters select { font: inherit; padding: 3px 6px; }
.bulk { margin: 6px 0; display: flex; gap: 8px; }
.conflict { border: 1px solid var(--line); border-radius: 6px; padding: 4px 12px 12px; margin-bottom: 16px; }
.pick { border: 0; margin: 0; padding: 0; display: flex; gap: 10px; }
.resolve { display: flex; gap: 8px; flex-wrap: wrap; }
.health { font-weight: 600; }
.health.ok { color: var(--ok); }
.health.attention { color: var(--warn); }
.health.problem { color: var(--bad); }
.health.not-attached { color: var(--muted); }
.empty { color: var(--muted); }
code { font-size: 12px; }
`;
