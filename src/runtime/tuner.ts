// Autotuning: which tile configuration a tiled kernel family uses for one shape on one adapter.
//
// An op asks choose(family, shape, fallback, bench). With a choice on record (this run or the cache
// file) it gets that; otherwise it gets the policy's fallback and, when tuning is on, the request is
// queued: ops are recorded synchronously, so timing cannot happen inside them. The queue is worked
// off at the next sync point (Runtime.read / flush call tunePending) or up front (`segan tune`,
// Engine.tune): each candidate runs a few times on scratch buffers of the shape, timed by GPU
// timestamps when the adapter has them (else by the wall clock of a flush), and the fastest is kept.
//
// Choices persist per adapter (vendor, architecture, device, description: Dawn puts the driver in
// the description, so a driver update re-tunes) in one JSON file under the user's cache folder. A
// corrupt or foreign file is ignored with one warning and rewritten; it never stops a run.
// DAWNGRAD_TUNE=off never times (fallbacks only: bitwise repeatable), force re-times every shape.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdapterReport } from '../device/gpu.ts';
import { envValue, userCacheDir } from '../device/env.ts';

export type TuneMode = 'on' | 'off' | 'force';

/** A tile configuration of the tiled GEMM kernels (conv and matmul) (shaders/gemm/tile_core.wgsl). */
export interface TileConfig {
  /** Threads along the rows (output channels) and the columns (pixels or taps) of a workgroup. */
  wgM: number;
  wgN: number;
  /** Outputs per thread along rows and columns. */
  tm: number;
  tn: number;
  /** Inner-dimension step staged in workgroup memory. */
  tk: number;
  /** Workgroup-memory buffers: 1 (two barriers per step) or 2 (double-buffered, one barrier). */
  bufs: number;
}

/** What the tuner needs to time one shape: candidates, and a run of one of them on scratch buffers. */
export interface TuneBench {
  candidates: readonly TileConfig[];
  /** Allocate inputs of the shape; the returned run(c) records one dispatch (or a few) with config c. */
  setup(): { run(c: TileConfig): void; dispose(): void };
}

export interface TuneResult {
  key: string;
  choice: TileConfig;
  /** Median time of each candidate in ms (Infinity: it failed). */
  times: { config: TileConfig; ms: number }[];
}

/** Hooks into the runtime the tuner times with (kept narrow: the runtime owns the device). */
export interface TuneClock {
  /** Submit and wait for everything recorded. */
  flush(): Promise<void>;
  /** GPU times (ms) of the dispatches recorded inside fn, or null without timestamp queries. */
  timeDispatches(fn: () => void): Promise<number[] | null>;
}

const FILE_VERSION = 2;

export function tileName(c: TileConfig): string {
  return (
    `${c.wgM * c.tm}x${c.wgN * c.tn} (threads ${c.wgM}x${c.wgN}, ${c.tm}x${c.tn} ` +
    `each, k-step ${c.tk}${c.bufs === 2 ? ', double-buffered' : ''})`
  );
}

/** The template values of shaders/gemm/tile_core.wgsl for a tile. */
export function tileTemplate(c: TileConfig): Record<string, number> {
  return { WG_M: c.wgM, WG_N: c.wgN, TM: c.tm, TN: c.tn, TK: c.tk, BUFS: c.bufs };
}

/** "64x64/4x4/k16" (+ "/db" when double-buffered): output tile, outputs per thread, k-step. */
export function tileShort(c: TileConfig): string {
  return `${c.wgM * c.tm}x${c.wgN * c.tn}/${c.tm}x${c.tn}/k${c.tk}${c.bufs === 2 ? '/db' : ''}`;
}

/** The adapter's identity for the cache: what changes when the hardware or driver does. */
export function adapterKey(r: AdapterReport): string {
  return createHash('sha256')
    .update(JSON.stringify([r.vendor, r.architecture, r.device, r.description, r.backend]))
    .digest('hex')
    .slice(0, 16);
}

export function defaultTuneFile(r: AdapterReport, env: Record<string, string | undefined> = process.env): string {
  return (
    envValue<string>('DAWNGRAD_TUNE_CACHE', env) ?? path.join(userCacheDir(env), 'tuning', `${adapterKey(r)}.json`)
  );
}

export class Tuner {
  readonly mode: TuneMode;
  private fileName: string | undefined;
  private choices = new Map<string, TileConfig>();
  private pending = new Map<string, TuneBench>();
  private loaded = false;
  private busy = false;
  /** Warnings given (a corrupt cache, an unwritable folder), each also printed once to stderr. */
  readonly warnings: string[] = [];

  constructor(
    readonly report: AdapterReport,
    mode?: TuneMode,
    file?: string,
  ) {
    this.fileName = file;
    this.mode = mode ?? envValue<TuneMode>('DAWNGRAD_TUNE') ?? (report.isSoftware ? 'off' : 'on');
  }

  /** The tuning cache file (found on first use: the browser build has no file system and never tunes). */
  get file(): string {
    return (this.fileName ??= defaultTuneFile(this.report));
  }

  /** The configuration for a shape: the recorded choice, else the fallback (queued for timing). */
  choose(family: string, shape: string, fallback: TileConfig, bench: TuneBench): TileConfig {
    if (this.mode === 'off') return fallback;
    this.load();
    const key = `${family}|${shape}`;
    const c = this.choices.get(key);
    if (c) return c;
    if (!this.pending.has(key)) this.pending.set(key, bench);
    return fallback;
  }

  /** What is recorded (for `segan tune` and tests). */
  get recorded(): ReadonlyMap<string, TileConfig> {
    this.load();
    return this.choices;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Time every queued shape's candidates and keep the fastest (saved to the cache file). Re-entrant
   * calls (a flush inside tuning) return at once.
   */
  async tunePending(
    clock: TuneClock,
    progress?: (done: number, total: number, r: TuneResult) => void,
  ): Promise<TuneResult[]> {
    if (this.busy || this.pending.size === 0 || this.mode === 'off') return [];
    this.busy = true;
    const results: TuneResult[] = [];
    try {
      const jobs = [...this.pending];
      this.pending.clear();
      for (const [key, bench] of jobs) {
        const r = await timeCandidates(key, bench, clock);
        this.choices.set(key, r.choice);
        results.push(r);
        progress?.(results.length, jobs.length, r);
      }
      this.save();
    } finally {
      this.busy = false;
    }
    return results;
  }

  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    if (this.mode === 'force') return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // no cache yet
    }
    try {
      const j = JSON.parse(text) as { version?: unknown; adapter?: unknown; choices?: unknown };
      if (j.version !== FILE_VERSION) throw new Error(`version ${String(j.version)}, expected ${FILE_VERSION}`);
      if (j.adapter !== adapterKey(this.report)) throw new Error('written for another adapter or driver');
      if (typeof j.choices !== 'object' || j.choices === null) throw new Error('no choices');
      for (const [k, v] of Object.entries(j.choices)) {
        if (!isTileConfig(v)) throw new Error(`a malformed entry (${k})`);
        this.choices.set(k, v);
      }
    } catch (e) {
      this.choices.clear();
      this.warn(
        `the tuning cache ${this.file} is unusable (${(e as Error).message}): ` +
          `ignored, kernels are re-timed and the file rewritten`,
      );
    }
  }

  private save(): void {
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      const body = {
        version: FILE_VERSION,
        adapter: adapterKey(this.report),
        description: this.report.description,
        choices: Object.fromEntries(this.choices),
      };
      writeFileSync(tmp, `${JSON.stringify(body, null, 1)}\n`);
      renameSync(tmp, this.file);
    } catch (e) {
      this.warn(
        `could not write the tuning cache ${this.file} (${(e as Error).message}): choices are kept for this run only`,
      );
    }
  }

  private warn(message: string): void {
    if (this.warnings.includes(message)) return;
    this.warnings.push(message);
    console.warn(`warning: ${message}`);
  }
}

export function isTileConfig(v: unknown): v is TileConfig {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    ['wgM', 'wgN', 'tm', 'tn', 'tk'].every(
      (k) => Number.isInteger(o[k]) && (o[k] as number) >= 1 && (o[k] as number) <= 1024,
    ) &&
    (o.bufs === 1 || o.bufs === 2)
  );
}

const REPS = 5;

async function timeCandidates(key: string, bench: TuneBench, clock: TuneClock): Promise<TuneResult> {
  const env = bench.setup();
  const times: { config: TileConfig; ms: number }[] = [];
  try {
    for (const config of bench.candidates) {
      let ms = Infinity;
      try {
        env.run(config); // warm-up: compiles the variant
        await clock.flush();
        const gpu = await clock.timeDispatches(() => {
          for (let i = 0; i < REPS; i++) env.run(config);
        });
        if (gpu && gpu.length >= REPS) {
          // several dispatches per run: group them per rep
          const per = gpu.length / REPS;
          const reps = Array.from({ length: REPS }, (_, i) =>
            gpu.slice(i * per, (i + 1) * per).reduce((a, b) => a + b, 0),
          );
          ms = median(reps);
        } else {
          const walls: number[] = [];
          for (let i = 0; i < REPS; i++) {
            const t0 = performance.now();
            env.run(config);
            await clock.flush();
            walls.push(performance.now() - t0);
          }
          ms = median(walls);
        }
      } catch {
        ms = Infinity; // e.g. a pipeline this adapter refuses: never chosen
      }
      times.push({ config, ms });
    }
  } finally {
    env.dispose();
  }
  const best = times.reduce((a, b) => (b.ms < a.ms ? b : a));
  if (!Number.isFinite(best.ms)) throw new Error(`tuning ${key}: no candidate ran`);
  return { key, choice: best.config, times };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
