// Phantom rendering: samples a Description on a voxel grid into the modalities, labels and tissue map.
import { MODALITIES, Tissue } from './synth-types.ts';
import type { Modality, Phantom, TissueName, Vec3 } from './synth-types.ts';
import { xorshift32 } from './rng.ts';
import { gaussians, seedHash } from './synth-random.ts';
import { Oriented, WaveField, rowTerm, smoothstep } from './synth-geometry.ts';
import { TumourField } from './synth-tumour.ts';
import type { Description } from './synth-anatomy.ts';

// Tissue slots of the brain mixing vector (fractions that sum to 1).
const F_CSF = 0;
const F_GM = 1;
const F_WM = 2;
const F_OED = 3;
const F_ENH = 4;
const F_NEC = 5;
const MIX_ORDER: readonly TissueName[] = ['csf', 'gm', 'wm', 'oedema', 'enhancing', 'necrotic'];

interface RenderSettings {
  seed: number;
  shape: Vec3;
  spacing: Vec3;
  origin: Vec3;
  sigma: number;
  biasAmp: number;
  skullStrip: boolean;
  quantize: boolean;
}

/**
 * Rician magnitude noise |v + σ(n₁ + i·n₂)|: two normals from the table G, picked by the halves of one 32-bit
 * draw.
 */
function rician(v: number, sigma: number, G: Float64Array, draw: number): number {
  const a = v + sigma * G[draw & 0xffff];
  const b = sigma * G[(draw >>> 16) & 0xffff];
  return Math.sqrt(a * a + b * b);
}

/**
 * Renders a Description on a grid, one x-row at a time. Kept as a class with a small per-row method (rather
 * than one big loop nest) so V8 optimises it early and keeps its types stable.
 */
class Renderer {
  readonly t1: Float32Array;
  readonly t1c: Float32Array;
  readonly t2: Float32Array;
  readonly flair: Float32Array;
  readonly seg: Uint8Array;
  readonly tissue: Uint8Array;
  readonly counts = new Float64Array(5);

  private readonly xs: Float64Array;
  private readonly tex: WaveField;
  private readonly gyri: WaveField;
  private readonly biasX: Float64Array[];
  private readonly biasRow = new Float64Array(4);
  private readonly vents: Oriented[];
  private readonly greys: Oriented[];
  private readonly tumours: TumourField;
  private readonly mixI: Float64Array; // [modality * 6 + slot]
  private readonly outerI: Float64Array; // scalp (0..3), skull (4..7), CSF (8..11)
  private readonly frac = new Float64Array(6);
  private readonly gauss: Float64Array;
  private rs: number;
  private cls = 0;
  private hetero = 1;

  constructor(
    private readonly d: Description,
    private readonly s: RenderSettings,
  ) {
    const [X, Y, Z] = s.shape;
    const n = X * Y * Z;
    this.t1 = new Float32Array(n);
    this.t1c = new Float32Array(n);
    this.t2 = new Float32Array(n);
    this.flair = new Float32Array(n);
    this.seg = new Uint8Array(n);
    this.tissue = new Uint8Array(n);
    this.xs = Float64Array.from({ length: X }, (_, i) => s.origin[0] + i * s.spacing[0]);
    this.tex = new WaveField(d.texture, this.xs);
    this.gyri = new WaveField(d.gyri, this.xs);
    // Bias field: a product of three smooth 1-D factors per modality; the x factor is tabulated.
    this.biasX = MODALITIES.map((_, m) => {
      const b = d.bias[m][0];
      return Float64Array.from(this.xs, (x) => 1 + s.biasAmp * b.amp * Math.sin(b.w * (x - 120) + b.phase));
    });
    this.vents = d.ventricles.map((v) => new Oriented(v.c, v.radii, v.rot));
    this.greys = d.deepGrey.map((v) => new Oriented(v.c, v.radii, v.rot));
    this.tumours = new TumourField(d, this.xs);
    this.mixI = new Float64Array(24);
    for (let m = 0; m < 4; m++) for (let t = 0; t < 6; t++) this.mixI[m * 6 + t] = d.intensity[MIX_ORDER[t]][m];
    this.outerI = new Float64Array(12);
    for (let m = 0; m < 4; m++) {
      this.outerI[m] = d.intensity.scalp[m];
      this.outerI[4 + m] = d.intensity.skull[m];
      this.outerI[8 + m] = d.intensity.csf[m];
    }
    this.gauss = gaussians();
    this.rs = seedHash(s.seed, 4) | 1; // xorshift32 state for the noise
  }

  run(): void {
    const [, Y, Z] = this.s.shape;
    for (let z = 0; z < Z; z++) for (let y = 0; y < Y; y++) this.row(y, z);
    const c = this.counts;
    c[0] = this.seg.length - c[1] - c[2] - c[4];
  }

  private row(y: number, z: number): void {
    const d = this.d;
    const { origin, spacing, skullStrip, sigma, quantize, biasAmp } = this.s;
    const X = this.s.shape[0];
    const wz = origin[2] + z * spacing[2];
    const wy = origin[1] + y * spacing[1];
    const head = skullStrip ? d.skullInner : d.head;
    const hRow = rowTerm(head, wy, wz);
    if (hRow >= 1) return;
    const hcx = head.c[0];
    const half = head.r[0] * Math.sqrt(1 - hRow);
    const x0 = origin[0];
    const sx = spacing[0];
    const iLo = Math.max(0, Math.ceil((hcx - half - x0) / sx));
    const iHi = Math.min(X - 1, Math.floor((hcx + half - x0) / sx));
    if (iHi < iLo) return;

    const skORow = skullStrip ? -Infinity : rowTerm(d.skullOuter, wy, wz);
    const skIRow = skullStrip ? -Infinity : rowTerm(d.skullInner, wy, wz);
    const invSkO = 1 / (d.skullOuter.r[0] * d.skullOuter.r[0]);
    const invSkI = 1 / (d.skullInner.r[0] * d.skullInner.r[0]);
    const brRow = rowTerm(d.brain, wy, wz);
    const invBrain = 1 / (d.brain.r[0] * d.brain.r[0]);
    let tumour = false;
    if (brRow < 1) {
      this.tex.setRow(wy, wz);
      this.gyri.setRow(wy, wz);
      for (let k = 0; k < this.vents.length; k++) this.vents[k].setRow(wy, wz, 1.3);
      for (let k = 0; k < this.greys.length; k++) this.greys[k].setRow(wy, wz, 1.3);
      tumour = this.tumours.setRow(wy, wz);
    }
    const br = this.biasRow;
    for (let m = 0; m < 4; m++) {
      const by = d.bias[m][1];
      const bz = d.bias[m][2];
      br[m] =
        (1 + biasAmp * by.amp * Math.sin(by.w * (wy - 120) + by.phase)) *
        (1 + biasAmp * bz.amp * Math.sin(bz.w * (wz - 77.5) + bz.phase));
    }
    const br0 = br[0];
    const br1 = br[1];
    const br2 = br[2];
    const br3 = br[3];
    const bx0 = this.biasX[0];
    const bx1 = this.biasX[1];
    const bx2 = this.biasX[2];
    const bx3 = this.biasX[3];
    const xs = this.xs;
    const I = this.mixI;
    const O = this.outerI;
    const f = this.frac;
    const G = this.gauss;
    const t1 = this.t1;
    const t1c = this.t1c;
    const t2 = this.t2;
    const flair = this.flair;
    const seg = this.seg;
    const tissue = this.tissue;
    const counts = this.counts;
    let rs = this.rs;
    const rowBase = X * (y + this.s.shape[1] * z);

    for (let i = iLo; i <= iHi; i++) {
      const wx = xs[i];
      const dx = wx - hcx;
      const dx2 = dx * dx;
      let v0 = 0;
      let v1 = 0;
      let v2 = 0;
      let v3 = 0;
      let label = 0;
      let cls = 0;
      let o = -1;
      if (dx2 * invSkO + skORow >= 1) {
        o = 0;
        cls = Tissue.Scalp;
      } else if (dx2 * invSkI + skIRow >= 1) {
        o = 4;
        cls = Tissue.Skull;
      } else {
        const r2 = dx2 * invBrain + brRow;
        if (r2 >= 1) {
          o = 8;
          cls = Tissue.CSF;
        } else {
          label = this.brain(i, wx, dx, r2, tumour);
          cls = this.cls;
          const h = this.hetero;
          const f0 = f[0],
            f1 = f[1],
            f2 = f[2],
            f3 = f[3],
            f4 = f[4],
            f5 = f[5];
          v0 = (f0 * I[0] + f1 * I[1] + f2 * I[2] + f3 * I[3] + f4 * I[4] + f5 * I[5]) * h;
          v1 = (f0 * I[6] + f1 * I[7] + f2 * I[8] + f3 * I[9] + f4 * I[10] + f5 * I[11]) * h;
          v2 = (f0 * I[12] + f1 * I[13] + f2 * I[14] + f3 * I[15] + f4 * I[16] + f5 * I[17]) * h;
          v3 = (f0 * I[18] + f1 * I[19] + f2 * I[20] + f3 * I[21] + f4 * I[22] + f5 * I[23]) * h;
        }
      }
      if (o >= 0) {
        v0 = O[o];
        v1 = O[o + 1];
        v2 = O[o + 2];
        v3 = O[o + 3];
      }
      v0 *= bx0[i] * br0;
      v1 *= bx1[i] * br1;
      v2 *= bx2[i] * br2;
      v3 *= bx3[i] * br3;
      if (sigma > 0) {
        rs = xorshift32(rs);
        v0 = rician(v0, sigma, G, rs);
        rs = xorshift32(rs);
        v1 = rician(v1, sigma, G, rs);
        rs = xorshift32(rs);
        v2 = rician(v2, sigma, G, rs);
        rs = xorshift32(rs);
        v3 = rician(v3, sigma, G, rs);
      }
      if (quantize) {
        // Head voxels stay ≥ 1 so that "non-zero" keeps meaning "head", as in scanner data.
        // (v + 0.5) | 0 is Math.round for 0 ≤ v < 2³¹, and faster.
        v0 = (v0 + 0.5) | 0 || 1;
        v1 = (v1 + 0.5) | 0 || 1;
        v2 = (v2 + 0.5) | 0 || 1;
        v3 = (v3 + 0.5) | 0 || 1;
      }
      const idx = rowBase + i;
      t1[idx] = v0;
      t1c[idx] = v1;
      t2[idx] = v2;
      flair[idx] = v3;
      seg[idx] = label;
      tissue[idx] = cls;
      counts[label]++;
    }
    this.rs = rs;
  }

  /**
   * One brain voxel (inside the brain envelope, r2 < 1): fills this.frac (tissue fractions), this.cls and
   * this.hetero, and returns the BRATS label.
   */
  private brain(i: number, wx: number, dx: number, r2: number, tumourRow: boolean): number {
    const f = this.frac;
    const t = this.tex.at(i);
    // Sulci: the surface function is pushed outwards by gyri noise near the surface.
    const sfc = r2 > 0.7 ? r2 + 0.035 * (this.gyri.at(i) + 1) : r2;
    let csf = smoothstep(0.9, 0.95, sfc);
    const adx = dx < 0 ? -dx : dx;
    if (adx < 1.6 && sfc > 0.5) csf = Math.max(csf, 1 - smoothstep(0.6, 1.6, adx)); // midline fissure
    let vent = 0;
    for (let k = 0; k < this.vents.length; k++) {
      const v = this.vents[k];
      if (wx >= v.lo && wx <= v.hi) vent = Math.max(vent, 1 - smoothstep(0.85, 1.15, v.q(wx)));
    }
    let deep = 0;
    for (let k = 0; k < this.greys.length; k++) {
      const g = this.greys[k];
      if (wx >= g.lo && wx <= g.hi) deep = Math.max(deep, 1 - smoothstep(0.75, 1.25, g.q(wx)));
    }
    if (vent > csf) csf = vent;
    // Cortical ribbon: 0 at the pial surface, growing inwards; the texture lets white-matter fingers reach
    // into the gyri and grey matter dip deeper elsewhere.
    const depth = 0.9 - sfc + 0.05 * t;
    const gmCortex = 1 - smoothstep(0.08, 0.15, depth);
    let gm = Math.max(gmCortex, deep * 0.9) * (1 - csf);
    let wm = 1 - csf - gm;
    let h = 1 + 0.03 * t;
    let label = 0;
    let oe = 0;
    let en = 0;
    let ne = 0;
    if (tumourRow) {
      const tum = this.tumours;
      label = tum.at(i, wx);
      const total = tum.total;
      if (total > 0) {
        ne = tum.necrosis;
        en = tum.core - ne;
        oe = total - tum.core;
        const keep = 1 - total;
        csf *= keep;
        gm *= keep;
        wm *= keep;
        h += 0.06 * tum.noise * total;
      }
    }
    f[F_CSF] = csf;
    f[F_GM] = gm;
    f[F_WM] = wm;
    f[F_OED] = oe;
    f[F_ENH] = en;
    f[F_NEC] = ne;
    this.hetero = h;
    if (label !== 0) this.cls = Tissue.Tumour;
    else if (csf >= gm && csf >= wm) this.cls = vent >= 0.5 ? Tissue.Ventricle : Tissue.CSF;
    else this.cls = gm > wm ? Tissue.GreyMatter : Tissue.WhiteMatter;
    return label;
  }
}

export function render(d: Description, s: RenderSettings): Phantom {
  const r = new Renderer(d, s);
  r.run();
  const intensities = {} as Record<TissueName, Record<Modality, number>>;
  for (const name of Object.keys(d.intensity) as TissueName[]) {
    const v = d.intensity[name];
    intensities[name] = { t1: v[0], t1c: v[1], t2: v[2], flair: v[3] };
  }
  const { origin, spacing } = s;
  const toVoxel = (p: Vec3): Vec3 => [
    (p[0] - origin[0]) / spacing[0],
    (p[1] - origin[1]) / spacing[1],
    (p[2] - origin[2]) / spacing[2],
  ];
  return {
    images: { t1: r.t1, t1c: r.t1c, t2: r.t2, flair: r.flair },
    seg: r.seg,
    tissue: r.tissue,
    shape: [...s.shape],
    spacing: [...spacing],
    origin: [...origin],
    info: {
      seed: s.seed,
      tumours: d.blobs.map((b) => ({
        centre: [...b.centre],
        centreVoxel: toVoxel(b.centre),
        coreRadius: b.coreRadius,
        oedemaFactor: b.oedemaFactor,
        necrosisFraction: b.necrosisFraction,
        small: b.small,
      })),
      labelCounts: { 0: r.counts[0], 1: r.counts[1], 2: r.counts[2], 4: r.counts[4] },
      intensities,
    },
  };
}
