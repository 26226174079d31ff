// `segan eval`'s report.html: one self-contained file (opens from file://, no server, no network)
// with the scores table and, for one case, a viewer: axial, coronal and sagittal planes with a slice
// slider each, a modality select, the ground truth or the prediction over the image in BraTS colours
// with a legend and an opacity control, and click-to-jump between planes.
//
// The viewer's volumes are embedded compactly: each modality windowed to its 0.5–99.5th percentile as
// uint8, the label maps as uint8, cropped to the box that holds the brain (any non-zero voxel), each
// gzip-compressed and base64-encoded; the page inflates them with DecompressionStream. A BraTS case
// takes about 5–8 MB.
import { gzipSync } from 'node:zlib';
import { REGIONS, summarize, type CaseScores } from './metrics.ts';
import { escapeHtml, scriptJson, toBytes, VIEWER_CSS, VIEWER_SCRIPT, viewerControlsHtml } from './viewer.ts';

export { toBytes } from './viewer.ts';

export interface ReportVolume {
  caseId: string;
  /** The case's grid [X, Y, Z] (x fastest) and voxel spacing in mm. */
  shape: [number, number, number];
  spacing: [number, number, number];
  /** One volume per modality, in the grid. */
  modalities: { name: string; data: ArrayLike<number> }[];
  truth: Uint8Array | null;
  prediction: Uint8Array;
}

/** The box [lo, hi] (inclusive, per axis) holding every non-zero voxel of any of the volumes. */
function box(
  vols: ArrayLike<number>[],
  shape: [number, number, number],
): { lo: number[]; size: [number, number, number] } {
  const [X, Y] = shape;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-1, -1, -1];
  for (const v of vols)
    for (let i = 0; i < v.length; i++) {
      if (v[i] === 0) continue;
      const p = [i % X, Math.floor(i / X) % Y, Math.floor(i / (X * Y))];
      for (let a = 0; a < 3; a++) {
        if (p[a] < lo[a]) lo[a] = p[a];
        if (p[a] > hi[a]) hi[a] = p[a];
      }
    }
  if (hi[0] < 0) return { lo: [0, 0, 0], size: [...shape] };
  return { lo, size: [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1] };
}

function cropBytes(
  v: Uint8Array,
  shape: [number, number, number],
  lo: number[],
  size: [number, number, number],
): Uint8Array {
  const [X, Y] = shape;
  const [sx, sy, sz] = size;
  const out = new Uint8Array(sx * sy * sz);
  for (let z = 0; z < sz; z++)
    for (let y = 0; y < sy; y++) {
      const from = lo[0] + X * (lo[1] + y + Y * (lo[2] + z));
      out.set(v.subarray(from, from + sx), sx * (y + sy * z));
    }
  return out;
}

const b64gz = (a: Uint8Array) => gzipSync(a, { level: 9 }).toString('base64');

/** The scores table (per case and region: Dice, HD95, precision, sensitivity; then mean and median). */
function scoresTableHtml(cases: CaseScores[]): string {
  const regions = REGIONS.filter((r) => cases.some((c) => c.regions[r]));
  const top = regions.map((r) => `<th colspan="4">${r}</th>`).join('');
  const sub = regions.map(() => '<th>Dice</th><th>HD95 mm</th><th>prec</th><th>sens</th>').join('');
  const head = `<tr><th rowspan="2">case</th>${top}</tr><tr>${sub}</tr>`;
  const cell = (v: number | undefined, mm = false) =>
    `<td>${v === undefined ? '–' : mm ? v.toFixed(1) : v.toFixed(3)}</td>`;
  const rows = cases.map(
    (c) =>
      `<tr><td class="case">${escapeHtml(c.case)}</td>${regions
        .map((r) => {
          const s = c.regions[r];
          return cell(s?.dice) + cell(s?.hd95, true) + cell(s?.precision) + cell(s?.sensitivity);
        })
        .join('')}</tr>`,
  );
  const sums = summarize(cases);
  const metrics = ['dice', 'hd95', 'precision', 'sensitivity'] as const;
  const stat = (label: string, key: 'mean' | 'median') => {
    const cells = regions.map((r) =>
      metrics.map((m) => cell(sums.find((s) => s.region === r && s.metric === m)?.[key], m === 'hd95')).join(''),
    );
    return `<tr class="sum"><td>${label}</td>${cells.join('')}</tr>`;
  };
  const body = `${rows.join('')}${stat('mean', 'mean')}${stat('median', 'median')}`;
  return `<table id="scores"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** The whole page. */
export function reportHtml(o: {
  title: string;
  checkpoint: string;
  cases: CaseScores[];
  viewer: ReportVolume | null;
}): string {
  const v = o.viewer;
  let payload: unknown = null;
  if (v) {
    const bytes = v.modalities.map((m) => ({ name: m.name, data: toBytes(m.data) }));
    const b = box([...bytes.map((m) => m.data), ...(v.truth ? [v.truth] : []), v.prediction], v.shape);
    payload = {
      caseId: v.caseId,
      shape: b.size,
      spacing: v.spacing,
      modalities: bytes.map((m) => ({ name: m.name, gz: b64gz(cropBytes(m.data, v.shape, b.lo, b.size)) })),
      truth: v.truth ? b64gz(cropBytes(v.truth, v.shape, b.lo, b.size)) : null,
      prediction: b64gz(cropBytes(v.prediction, v.shape, b.lo, b.size)),
    };
  }
  const n = o.cases.length;
  const scored =
    `${n} case${n === 1 ? '' : 's'}, scored in 3-D in each case's own grid ` +
    '(HD95 in mm; BraTS conventions for empty regions).';
  const scores = { checkpoint: o.checkpoint, cases: o.cases, summary: summarize(o.cases) };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(o.title)}</title>
<link rel="icon" href="data:,">
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.case,th{text-align:left}tr.sum td{font-weight:600;background:#f4f4f4}
${VIEWER_CSS}
#status{color:#a00}
</style></head><body>
<h1>${escapeHtml(o.title)}</h1>
<p>checkpoint <code>${escapeHtml(o.checkpoint)}</code>; ${scored}</p>
${scoresTableHtml(o.cases)}
${
  v
    ? `<h2>Case ${escapeHtml(v.caseId)}</h2>
${viewerControlsHtml(v.truth !== null)}
<p id="status"></p>`
    : ''
}
<script>${VIEWER_SCRIPT}</script>
<script type="application/json" id="scores-json">${scriptJson(scores)}</script>
<script type="application/json" id="volume-json">${scriptJson(payload)}</script>
<script>
(async () => {
  const data = JSON.parse(document.getElementById('volume-json').textContent);
  if (!data) return;
  const status = document.getElementById('status');
  const inflate = async (b64) => {
    const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  };
  let vols, truth, pred;
  try {
    vols = await Promise.all(data.modalities.map(async (m) => ({ name: m.name, data: await inflate(m.gz) })));
    truth = data.truth ? await inflate(data.truth) : null;
    pred = await inflate(data.prediction);
  } catch (e) {
    status.textContent = 'this browser cannot unpack the embedded volumes (' + e.message + ')';
    return;
  }
  await dawngradViewer({ shape: data.shape, spacing: data.spacing, modalities: vols, truth, prediction: pred });
  window.dawngradReport = { ready: true };
})();
</script>
</body></html>
`;
}
