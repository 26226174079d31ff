// The tumours of a phantom on the voxel grid: which blobs reach a row, and per voxel the hard BRATS
// label and the soft tissue weights that the images blend (synth-render.ts).
import type { Description } from './synth-anatomy.ts';
import { Oriented, WaveField, clamp2, smoothstep } from './synth-geometry.ts';

// Tumour shape constants (normalised radius units).
const CORE_PERTURB = 0.14; // amplitude of the core radius perturbation per unit noise
const OED_PERTURB = 0.18; // amplitude of the oedema radius perturbation per unit noise
const DELTA = 0.06; // soft-edge half-width of the tumour shells in the images (labels are hard)

export class TumourField {
  /** Soft weights of the last at(): total ⊇ core ⊇ necrosis, in [0, 1]. */
  total = 0;
  core = 0;
  necrosis = 0;
  /** The core noise at the last at() voxel (clamped to ±2; it varies the tumour's intensity). */
  noise = 0;

  private readonly blobs: { parts: Oriented[]; qMax: number; oedemaFactor: number; necrosis: number }[];
  private readonly coreNoise: WaveField;
  private readonly oedNoise: WaveField;

  /** `xs`: the world x of each voxel column. */
  constructor(d: Description, xs: Float64Array) {
    this.coreNoise = new WaveField(d.coreNoise, xs);
    this.oedNoise = new WaveField(d.oedemaNoise, xs);
    // The radius perturbations are clamped to ±2, so a voxel can only be tumour where
    // r ≤ (1 + DELTA)·F / (1 − 2·OED_PERTURB): rows and x-ranges outside that grown ellipsoid are skipped.
    this.blobs = d.blobs.map((b) => ({
      parts: b.parts.map((p) => new Oriented(p.c, p.radii, p.rot)),
      qMax: (((1 + DELTA) * b.oedemaFactor) / (1 - 2 * OED_PERTURB)) ** 2,
      oedemaFactor: b.oedemaFactor,
      necrosis: b.necrosisFraction,
    }));
  }

  /** Prepares the row at (wy, wz); false when no blob reaches it (then at() must not be called). */
  setRow(wy: number, wz: number): boolean {
    let tumour = false;
    for (let b = 0; b < this.blobs.length; b++) {
      const blob = this.blobs[b];
      for (let p = 0; p < blob.parts.length; p++) {
        const part = blob.parts[p];
        part.setRow(wy, wz, blob.qMax);
        if (part.hi >= part.lo) tumour = true;
      }
    }
    if (tumour) {
      this.coreNoise.setRow(wy, wz);
      this.oedNoise.setRow(wy, wz);
    }
    return tumour;
  }

  /**
   * Tumour at voxel i (x = wx) of the current row: per blob, the smallest normalised radius over its parts,
   * perturbed by two noise fields (core and oedema). Sets the soft weights total ⊇ core ⊇ necrosis and
   * returns the hard label (1 beats 4 beats 2 where blobs overlap).
   */
  at(i: number, wx: number): number {
    let bestCore = 0;
    let bestNec = 0;
    let bestOed = 0;
    let cn = 0;
    let on = 0;
    let evaluated = false;
    let label = 0;
    for (let b = 0; b < this.blobs.length; b++) {
      const blob = this.blobs[b];
      let q = Infinity;
      for (let p = 0; p < blob.parts.length; p++) {
        const part = blob.parts[p];
        if (wx >= part.lo && wx <= part.hi) {
          const qp = part.q(wx);
          if (qp < q) q = qp;
        }
      }
      if (q === Infinity) continue;
      if (!evaluated) {
        cn = clamp2(this.coreNoise.at(i));
        on = clamp2(this.oedNoise.at(i));
        evaluated = true;
      }
      const r = Math.sqrt(q);
      const rc = r * (1 + CORE_PERTURB * cn);
      const ro = (r * (1 + OED_PERTURB * on)) / blob.oedemaFactor;
      const nf = blob.necrosis;
      const wCore = 1 - smoothstep(1 - DELTA, 1 + DELTA, rc);
      const wNec = 1 - smoothstep(nf - DELTA, nf + DELTA, rc);
      const wOed = 1 - smoothstep(1 - DELTA, 1 + DELTA, ro);
      if (wCore > bestCore) bestCore = wCore;
      if (wNec > bestNec) bestNec = wNec;
      if (wOed > bestOed) bestOed = wOed;
      const lab = rc < nf ? 1 : rc < 1 ? 4 : ro < 1 ? 2 : 0;
      if (lab === 1 || (lab === 4 && label !== 1) || (lab === 2 && label === 0)) label = lab;
    }
    this.necrosis = bestNec;
    this.core = Math.max(bestCore, bestNec);
    this.total = Math.max(bestOed, this.core);
    this.noise = cn;
    return label;
  }
}
