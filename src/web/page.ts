// The HTML of `segan serve`: the list of cases, and a case's page (the app script, the viewer, the
// case's file URLs and the inference options). Page-side code is app.ts (built by build.ts) and the
// viewer (segan/viewer.ts).
import { escapeHtml, scriptJson, VIEWER_CSS, VIEWER_SCRIPT, viewerControlsHtml } from '../segan/viewer.ts';
import type { PageCase } from './app.ts';

/** A small icon (so that the browser's favicon request does not fail). */
export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" ' +
  'cy="8" r="7" fill="#333"/><circle cx="9" cy="7" r="3" fill="#ffd92f"/></svg>';

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
${VIEWER_CSS}
#status.error{color:#a00;font-weight:600}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}
</style></head><body>
${body}
</body></html>
`;
}

export function indexPage(o: { checkpoint: string; cases: { id: string; hasSeg: boolean }[] }): string {
  const items = o.cases.map(
    (c) =>
      `<li><a ` +
      `href="/?case=${encodeURIComponent(c.id)}">${escapeHtml(c.id)}</a>${c.hasSeg ? '' : ' (no segmentation)'}</li>`,
  );
  return shell(
    'dawngrad: SegAN in the browser',
    `<h1>SegAN in the browser</h1>
<p>Choose a case: this page will fetch its MRI volumes and the checkpoint ` +
      `<code>${escapeHtml(o.checkpoint)}</code> and segment it on this computer's GPU with WebGPU.</p>
<ul id="cases">${items.join('')}</ul>`,
  );
}

export function casePage(c: PageCase, checkpointName: string): string {
  return shell(
    `dawngrad: ${c.id}`,
    `<h1>${escapeHtml(c.id)}</h1>
<p><a href="/">all cases</a></p>
<dl><dt>status</dt><dd id="status">loading</dd>
<dt>checkpoint</dt><dd><code>${escapeHtml(checkpointName)}</code></dd>
<dt>adapter</dt><dd id="adapter">–</dd>
<dt>inference</dt><dd id="time">–</dd>
<dt>Dice</dt><dd id="dice">–</dd></dl>
${viewerControlsHtml(c.seg !== null)}
<script type="application/json" id="dawngrad-case">${scriptJson(c)}</script>
<script>${VIEWER_SCRIPT}</script>
<script type="module" src="/app.js"></script>`,
  );
}
