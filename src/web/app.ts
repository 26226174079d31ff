// The served page's script (built for the browser by build.ts): segments one case on the user's own GPU
// with navigator.gpu, using the same engine, model and inference code as `segan predict`. The page
// (page.ts) names the case's files and the inference options in a JSON block; this script fetches the
// NIfTI files and the checkpoint, runs the segmentor, shows the viewer and the Dice, and keeps
//   window.dawngrad = { status, labels, dice }
// for automation: status 'loading' → … → 'done' or 'error: …'; labels the predicted BraTS labels in the
// input's grid (the voxels and order of the file `segan predict` writes); dice per region, or null.
import { createEngine, type Engine } from '../tensor/engine.ts';
import '../autograd/graph.ts';
import { provideFile } from '../data/nifti-bytes-browser.ts';
import { loadCase, type BratsCase, type Layout, type Modality } from '../data/brats.ts';
import { fromCanonical } from '../data/orientation.ts';
import { checkpointFromBytes, restore } from '../segan/checkpoint.ts';
import { SeganModel } from '../segan/model.ts';
import { predictLoadedCase, scoreCase, type CaseInference } from '../segan/infer.ts';
import { REGIONS } from '../segan/metrics.ts';
import { toBytes } from '../segan/viewer.ts';

/** What page.ts puts in <script id="dawngrad-case">. */
export interface PageCase {
  id: string;
  layout: Layout;
  modalities: Modality[];
  /** URL of each modality's file, and of the segmentation (or null). */
  files: Partial<Record<Modality, string>>;
  seg: string | null;
  checkpoint: string;
  inference: CaseInference;
}

interface Automation {
  status: string;
  labels: Uint8Array | null;
  dice: Partial<Record<'whole' | 'core' | 'enhancing', number>> | null;
  adapter?: string;
  seconds?: number;
}

// The page's DOM, as far as this script uses it (the project compiles without the DOM library).
declare const document: {
  getElementById(id: string): { textContent: string | null; classList: { add(c: string): void } } | null;
};
declare const navigator: { gpu?: unknown };

const state: Automation = { status: 'loading', labels: null, dice: null };
(globalThis as unknown as { dawngrad: Automation }).dawngrad = state;

const $ = (id: string) => document.getElementById(id)!;
const say = (s: string) => {
  state.status = s;
  $('status').textContent = s;
};

async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function main(): Promise<void> {
  const page = JSON.parse($('dawngrad-case').textContent!) as PageCase;
  if (!navigator.gpu)
    throw new Error(
      'this browser offers no WebGPU (navigator.gpu is missing): use ' +
        'Chrome or Edge 113+, or start Chromium with --enable-unsafe-webgpu',
    );
  say('loading: fetching the MRI volumes and the checkpoint');
  const urls = [...page.modalities.map((m) => page.files[m]!), ...(page.seg ? [page.seg] : [])];
  const [ckptBytes, ...fileBytes] = await Promise.all([fetchBytes(page.checkpoint), ...urls.map(fetchBytes)]);
  urls.forEach((u, i) => provideFile(u, fileBytes[i]));
  const bc: BratsCase = {
    id: page.id,
    dir: '',
    group: '',
    layout: page.layout,
    files: page.files,
    seg: page.seg,
    other: [],
    problems: [],
  } as BratsCase;
  const loaded = await loadCase(bc, { modalities: page.modalities });
  const ckpt = checkpointFromBytes(ckptBytes, page.checkpoint, { verify: false }); // the server verified the file
  say('loading: opening WebGPU');
  let engine: Engine;
  try {
    engine = await createEngine({ tune: 'off' }); // tuning keeps its choices in a file; a page has none
  } catch (e) {
    throw new Error(`WebGPU could not start: ${(e as Error).message}`);
  }
  state.adapter = [engine.adapter.vendor, engine.adapter.architecture, engine.adapter.description]
    .filter(Boolean)
    .join(' ');
  $('adapter').textContent = state.adapter || 'unnamed adapter';
  const model = new SeganModel(engine, ckpt.config);
  restore(ckpt, model, null);
  say(`running: segmenting ${loaded.shape[2]} slices on the GPU`);
  const t0 = performance.now();
  const pred = await predictLoadedCase(engine, model.S, loaded, ckpt.config, ckpt.config.batch, page.inference);
  state.seconds = (performance.now() - t0) / 1000;
  const truth = loaded.seg ? fromCanonical(loaded.seg, loaded.transform) : null;
  if (truth) {
    const s = scoreCase(page.id, pred.labels, truth, ckpt.config.model.classes, page.layout === 'brats2023');
    state.dice = Object.fromEntries(REGIONS.filter((r) => s.regions[r]).map((r) => [r, s.regions[r]!.dice]));
    $('dice').textContent = Object.entries(state.dice)
      .map(([r, d]) => `${r} ${d.toFixed(3)}`)
      .join(' · ');
  } else $('dice').textContent = 'no segmentation in this case: no Dice';
  $('time').textContent = `${state.seconds.toFixed(1)} s`;
  model.dispose();
  await engine.close();
  const modalities = loaded.images.map((img, m) => ({
    name: page.modalities[m],
    data: toBytes(fromCanonical(img, loaded.transform)),
  }));
  const viewer = (globalThis as unknown as { dawngradViewer: (d: unknown) => Promise<void> }).dawngradViewer;
  await viewer({ shape: pred.shape, spacing: loaded.reference.voxelSize, modalities, truth, prediction: pred.labels });
  state.labels = pred.labels;
  say('done');
}

main().catch((e) => {
  say(`error: ${(e as Error).message ?? String(e)}`);
  $('status').classList.add('error');
});
