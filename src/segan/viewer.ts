// The volume viewer shared by `segan eval`'s report.html and `segan serve`'s page: axial, coronal and
// sagittal planes with a slice slider each, a modality select, the ground truth or the prediction over
// the image in BraTS colours with a legend and an opacity control, and click-to-jump between planes.
// It is page script (plain JavaScript in a string), so that the report stays one self-contained file.

/** A volume's values windowed to its [0.5, 99.5] percentiles (of the non-zero voxels) as 0..255. */
export function toBytes(data: ArrayLike<number>): Uint8Array {
  const nz: number[] = [];
  const step = Math.max(1, Math.floor(data.length / 200000));
  for (let i = 0; i < data.length; i += step) if (data[i] !== 0) nz.push(data[i]);
  nz.sort((a, b) => a - b);
  const lo = nz.length ? nz[Math.floor(0.005 * (nz.length - 1))] : 0;
  const hi = nz.length ? nz[Math.ceil(0.995 * (nz.length - 1))] : 1;
  const out = new Uint8Array(data.length);
  const scale = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < data.length; i++)
    out[i] = data[i] === 0 ? 0 : Math.max(1, Math.min(255, Math.round((data[i] - lo) * scale)));
  return out;
}

/** Text safe inside HTML (element content and quoted attributes). */
export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON safe inside <script>: no "</script" can close the element early. */
export const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

export const VIEWER_CSS =
  '.planes{display:flex;gap:12px;flex-wrap:wrap}' +
  `.plane{display:flex;flex-direction:column;gap:4px}
canvas{image-rendering:pixelated;background:#000;cursor:crosshair}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}`;

/** The viewer's controls and canvases (ids: modality, overlay, opacity, axial/coronal/sagittal, slice-*). */
export function viewerControlsHtml(hasTruth: boolean): string {
  const options =
    '<option value="prediction">prediction</option>' +
    (hasTruth ? '<option value="truth">ground truth</option>' : '') +
    '<option value="none">none</option>';
  const legend =
    '<span style="background:#e41a1c"></span>1 necrotic / non-enhancing core' +
    '<span style="background:#4daf4a"></span>2 oedema' +
    '<span style="background:#ffd92f"></span>4 enhancing';
  const plane = (name: string) =>
    `<div class="plane"><b>${name}</b><canvas id="${name}"></canvas>` +
    `<input id="slice-${name}" type="range" min="0" value="0"></div>`;
  return `<div class="controls">modality <select id="modality"></select>
overlay <select id="overlay">${options}</select>
opacity <input id="opacity" type="range" min="0" max="100" value="50">
<span class="legend">${legend}</span></div>
<div class="planes">
${plane('axial')}
${plane('coronal')}
${plane('sagittal')}
</div>`;
}

/**
 * Defines `dawngradViewer({ shape, spacing, modalities: [{ name, data }], truth, prediction })` on the
 * page: volumes of uint8 in the grid [X, Y, Z] (x fastest), modalities windowed to 0..255 (toBytes).
 */
export const VIEWER_SCRIPT = `
window.dawngradViewer = async (data) => {
  const vols = data.modalities, truth = data.truth, pred = data.prediction;
  const [X, Y, Z] = data.shape;
  const [sx, sy, sz] = data.spacing;
  // start at the tumour's centre (the truth's, else the prediction's), so that all three planes cut it
  const centre = (lab) => {
    if (!lab) return null;
    let n = 0, cx = 0, cy = 0, cz = 0;
    for (let i = 0; i < lab.length; i++) if (lab[i]) { n++; cx += i % X; cy += Math.floor(i / X) % Y; cz += Math.floor(i / (X * Y)); }
    return n ? [Math.round(cx / n), Math.round(cy / n), Math.round(cz / n)] : null;
  };
  const pos = centre(truth) || centre(pred) || [X >> 1, Y >> 1, Z >> 1];
  const colours = { 1: [228, 26, 28], 2: [77, 175, 74], 4: [255, 217, 47], 3: [228, 26, 28] };
  const sel = document.getElementById('modality');
  vols.forEach((v, i) => sel.add(new Option(v.name, String(i))));
  sel.value = String(vols.length - 1);
  // plane → (columns axis, rows axis, fixed axis); rows drawn top-down with the axis reversed so that
  // anterior / superior is up for BraTS's LPS-like grids
  const planes = { axial: [0, 1, 2], coronal: [0, 2, 1], sagittal: [1, 2, 0] };
  const dims = [X, Y, Z];
  const mm = [sx, sy, sz];
  const draw = (name) => {
    const [cu, cv, cf] = planes[name];
    const W = dims[cu], H = dims[cv];
    const canvas = document.getElementById(name);
    if (canvas.width !== W) { canvas.width = W; canvas.height = H; canvas.style.width = Math.round(W * mm[cu] * 1.6) + 'px'; canvas.style.height = Math.round(H * mm[cv] * 1.6) + 'px'; }
    const ctx = canvas.getContext('2d');
    const img = ctx.createImageData(W, H);
    const vol = vols[Number(sel.value)].data;
    const over = document.getElementById('overlay').value;
    const lab = over === 'truth' ? truth : over === 'prediction' ? pred : null;
    const a = Number(document.getElementById('opacity').value) / 100;
    const p = [0, 0, 0];
    p[cf] = pos[cf];
    for (let r = 0; r < H; r++) {
      p[cv] = name === 'axial' ? r : H - 1 - r;
      for (let c = 0; c < W; c++) {
        p[cu] = c;
        const i = p[0] + X * (p[1] + Y * p[2]);
        const g = vol[i];
        let rgb = [g, g, g];
        const l = lab ? lab[i] : 0;
        if (l && colours[l]) rgb = rgb.map((x, k) => Math.round((1 - a) * x + a * colours[l][k]));
        const o = 4 * (r * W + c);
        img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
  };
  const all = () => { for (const n of Object.keys(planes)) draw(n); };
  for (const [name, [cu, cv, cf]] of Object.entries(planes)) {
    const s = document.getElementById('slice-' + name);
    s.max = String(dims[cf] - 1);
    s.value = String(pos[cf]);
    s.addEventListener('input', () => { pos[cf] = Number(s.value); draw(name); });
    document.getElementById(name).addEventListener('click', (ev) => {
      const c = ev.target.getBoundingClientRect();
      const u = Math.floor(((ev.clientX - c.left) / c.width) * dims[cu]);
      const r = Math.floor(((ev.clientY - c.top) / c.height) * dims[cv]);
      pos[cu] = Math.min(dims[cu] - 1, Math.max(0, u));
      pos[cv] = Math.min(dims[cv] - 1, Math.max(0, name === 'axial' ? r : dims[cv] - 1 - r));
      for (const [n2, [, , f2]] of Object.entries(planes)) document.getElementById('slice-' + n2).value = String(pos[f2]);
      all();
    });
  }
  for (const id of ['modality', 'overlay', 'opacity']) document.getElementById(id).addEventListener('input', all);
  all();
};
`;
