// The training plan's newer parts from the command line: patient-level cross-validation (foldSplits:
// every case validated exactly once, deterministic by seed, nnU-Net's layout; `segan train --folds N
// --fold K`: splits.json, the fold's validation cases, --val-cases winning, bad combinations refused
// in one line before anything is written) and the augmentation flags (recorded in the run's plan,
// changed one by one on resume).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldSplits } from '../../src/data/case-split.ts';
import { writeSyntheticCases } from '../../src/segan/synth-cases.ts';
import { argv } from '../helpers/argv.ts';
import { seganIn } from '../helpers/trained.ts';

describe('foldSplits', () => {
  const ids = Array.from({ length: 11 }, (_, i) => `Case_${String(i).padStart(2, '0')}`);
  it('validates every case in exactly one fold, trains on the rest, sizes differ by at most one', () => {
    const s = foldSplits(ids, 5, 3);
    expect(s).toHaveLength(5);
    expect(s.flatMap((f) => f.val).sort()).toEqual(ids);
    for (const f of s) {
      expect([...f.train, ...f.val].sort()).toEqual(ids);
      expect(f.val.some((v) => f.train.includes(v))).toBe(false);
      expect([2, 3]).toContain(f.val.length);
    }
  });
  it('is deterministic for a seed, independent of the input order, and differs between seeds', () => {
    expect(foldSplits([...ids].reverse(), 5, 3)).toEqual(foldSplits(ids, 5, 3));
    expect(foldSplits(ids, 5, 4)).not.toEqual(foldSplits(ids, 5, 3));
  });
  it('refuses fewer cases than folds, and fewer than 2 folds', () => {
    expect(() => foldSplits(ids.slice(0, 3), 5)).toThrow(/5 folds need at least 5 cases, found 3/);
    expect(() => foldSplits(ids, 1)).toThrow(/folds must be an integer ≥ 2/);
  });
});

/** A temp folder: data/ with synthetic cases (written before the block's tests), runs/, and segan run there. */
function workspace(name: string, cases: { cases: number; seed: number; shape: [number, number, number] }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `dawngrad-${name}-`));
  const data = path.join(tmp, 'data');
  const runs = path.join(tmp, 'runs');
  beforeAll(async () => {
    await writeSyntheticCases(data, cases);
  }, 60_000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  return { tmp, data, runs, segan: seganIn(tmp) };
}

describe('segan train --folds N --fold K', () => {
  const { data, runs, segan } = workspace('folds', { cases: 5, seed: 9, shape: [48, 48, 24] });
  const tiny = argv`--data ${data} --runs ${runs} --width 0.0625 --size 32 --crop 40x40x16 --classes 1 --batch 4
    --max-steps 1`;

  it('writes splits.json (nnU-Net layout) and validates on fold K', async () => {
    const r = await segan(['train', ...tiny, '--run', 'f2', '--folds', '5', '--fold', '2']);
    expect(r.status, r.stderr).toBe(0);
    const splits = JSON.parse(fs.readFileSync(path.join(runs, 'f2', 'splits.json'), 'utf8')) as {
      train: string[];
      val: string[];
    }[];
    const ids = fs.readdirSync(data).sort();
    expect(splits).toEqual(foldSplits(ids, 5, 666 /* the default seed */));
    const config = JSON.parse(fs.readFileSync(path.join(runs, 'f2', 'config.json'), 'utf8'));
    expect(config.data.val).toEqual(splits[2].val);
    expect(config.run.folds).toEqual({ n: 5, k: 2 });
    expect(r.stdout).toContain(
      `cross-validation fold 2 of 5 (cases split by seed 666): validating on ${splits[2].val.join(', ')}`,
    );
  }, 180_000);

  it('--val-cases wins over the folds', async () => {
    const r = await segan(['train', ...tiny, '--run', 'vc', '--folds', '5', '--fold', '0', '--val-cases', 'Synth_001']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(runs, 'vc', 'config.json'), 'utf8')).data.val).toEqual(['Synth_001']);
    expect(fs.existsSync(path.join(runs, 'vc', 'splits.json'))).toBe(false);
    expect(r.stdout).toContain('--val-cases decides the validation cases: --folds/--fold are ignored');
  }, 180_000);

  it('augmentation flags go into the run plan; on resume one of them changes and the rest stay', async () => {
    const r = await segan(argv`train ${tiny} --run aug --tumour-crops 0.5 --rotate 10 --checkpoint-every 1`);
    expect(r.status, r.stderr).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(runs, 'aug', 'config.json'), 'utf8'));
    expect(cfg.run.augment).toEqual({ tumourCrops: 0.5, rotate: 10, scale: 0, intensity: 0 });
    const again = await segan(argv`train --resume ${path.join(runs, 'aug', 'checkpoints', 'latest.safetensors')}
      --scale 0.1 --max-steps 1`);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('changed on the command line: --scale 0.1 (was 0)');
    const after = JSON.parse(fs.readFileSync(path.join(runs, 'aug', 'config.json'), 'utf8'));
    expect(after.run.augment).toEqual({ tumourCrops: 0.5, rotate: 10, scale: 0.1, intensity: 0 });
  }, 180_000);

  it('--max-minutes: the whole command ends within its budget, with a checkpoint, metrics and exit 0', async () => {
    const t0 = Date.now();
    const r = await segan(argv`train ${tiny.filter((a, i) => a !== '--max-steps' && tiny[i - 1] !== '--max-steps')}
      --run budget --epochs 1000 --max-minutes 0.3`);
    const wall = (Date.now() - t0) / 1000;
    console.log(`--max-minutes 0.3: the command took ${wall.toFixed(1)} s`);
    expect(r.status, r.stderr).toBe(0);
    expect(wall).toBeLessThanOrEqual(18);
    expect(wall).toBeGreaterThan(10); // it used the budget, not a fraction of it
    expect(r.stdout).toMatch(/stopped within the --max-minutes 0\.3 budget/);
    // the budget's extra sync points (every 8 steps) print nothing: a line per --log-every (10) steps, epoch end, stop
    const logged = [...r.stdout.matchAll(/^epoch \d+ step (\d+)\/\d+ .* ETA (.*)$/gm)];
    expect(logged.length).toBeGreaterThan(0);
    const validated = new Set([...r.stdout.matchAll(/^validation at step (\d+)/gm)].map((m) => m[1]));
    for (const [i, [, step, eta]] of logged.entries()) {
      if (i < logged.length - 1 && !validated.has(step)) expect(Number(step) % 10, `a line at step ${step}`).toBe(0);
      expect(eta).toMatch(/^\d+s \(budget\)$/); // --epochs 1000 would take longer than the budget
    }
    expect(fs.existsSync(path.join(runs, 'budget', 'checkpoints', 'latest.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(runs, 'budget', 'metrics.jsonl'), 'utf8')).toMatch(/"type":"step"/);
  }, 120_000);

  it('--max-steps: the progress lines count to where this command stops, not to the last epoch', async () => {
    const r = await segan(argv`train ${tiny.filter((a, i) => a !== '--max-steps' && tiny[i - 1] !== '--max-steps')}
      --run steps --epochs 1000 --max-steps 6 --log-every 2`);
    expect(r.status, r.stderr).toBe(0);
    const totals = [...r.stdout.matchAll(/^epoch \d+ step \d+\/(\d+) /gm)].map((m) => Number(m[1]));
    expect(totals.length).toBeGreaterThan(0);
    expect(new Set(totals)).toEqual(new Set([6]));
  }, 120_000);

  it.each([
    [['--folds', '5', '--fold', '5'], 'segan train: --fold 5 must be below --folds 5 (folds are numbered 0 … 4)'],
    [['--fold', '1'], 'segan train: --fold needs --folds N too (cross-validation: fold K of N)'],
    [['--folds', '3'], 'segan train: --folds needs --fold K too (cross-validation: fold K of N)'],
    [['--folds', '6', '--fold', '0'], `segan train: --folds 6 needs at least 6 cases; ${data} has 5`],
    [['--folds', '1', '--fold', '0'], 'segan train: --folds must be an integer from 2 to 100 (got 1)'],
    [['--max-minutes', '0'], 'segan train: --max-minutes must be a number > 0 and ≤ 1000000 (got 0)'],
  ])(
    'refuses %j in one line, before anything is written',
    async (args, message) => {
      const r = await segan(['train', ...tiny, '--run', 'bad', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toBe(`${message}\n`);
      expect(fs.existsSync(path.join(runs, 'bad'))).toBe(false);
    },
    60_000,
  );
});

describe('segan train --preset cpu and --modalities', () => {
  const { tmp, data, runs, segan } = workspace('recipe', { cases: 3, seed: 4, shape: [40, 40, 16] });
  const plan = async (args: string[]) => {
    const { parseCommandLine } = await import('../../src/cli/run.ts');
    const { planTraining } = await import('../../src/cli/train-plan.ts');
    const { values } = await parseCommandLine(['train', '--data', data, '--runs', runs, ...args]);
    return planTraining(values);
  };

  it("the cpu preset brings its recipe; an option given explicitly wins; code's optimizer", async () => {
    const p = await plan(['--preset', 'cpu']);
    expect(p.config.model.width).toBe(0.125);
    expect(p.config.epochs).toBe(200);
    expect([p.plan.flip, p.plan.augment.tumourCrops, p.plan.valEvery]).toEqual([true, 0.5, null]);
    expect([p.config.optimizer, p.config.lr, p.config.lambdaDice]).toEqual(['adam', 2e-4, 1]);
    const q = await plan(['--preset', 'cpu', '--width', '0.25', '--tumour-crops', '0', '--val-every', '50']);
    expect([q.config.model.width, q.plan.augment.tumourCrops, q.plan.valEvery, q.plan.flip]).toEqual([
      0.25,
      0,
      50,
      true,
    ]);
    const n = await plan(['--preset', 'cpu', '--no-flip']);
    expect([n.plan.flip, n.config.model.width]).toEqual([false, 0.125]);
    const c = await plan(['--preset', 'code']);
    expect([c.config.model.width, c.plan.flip, c.plan.augment.tumourCrops, c.plan.valEvery]).toEqual([
      1,
      false,
      0,
      null,
    ]);
  });

  it("--modalities sets the input channels in order (aliases allowed); the default is the paper's three", async () => {
    const p = await plan(['--modalities', 't1,t1ce,T2,t2f']);
    expect(p.config.modalities).toEqual(['t1', 't1c', 't2', 'flair']);
    expect(p.config.model.inChannels).toBe(4);
    const d = await plan([]);
    expect(d.config.modalities).toEqual(['t1c', 't2', 'flair']);
    expect(d.config.model.inChannels).toBe(3);
  });

  it.each([
    [['--modalities', 't1,pd'], /^segan train: --modalities: unknown modality 'pd'; known: t1, t1c, t2, flair/],
    [['--modalities', 't1c,t1ce'], /^segan train: --modalities names t1c twice \(t1c,t1ce\); give each modality once$/],
    [['--max-minutes', '0'], /^segan train: --max-minutes /],
    [['--flip', '--no-flip'], /^segan train: --flip is given twice; give it once$/],
    [['--no-width'], /^segan train: unknown option --no-width/],
    [['--max-minutes', '-5'], /^segan train: --max-minutes /],
  ])(
    'refuses %j in one line, exit 2',
    async (args, want) => {
      const r = await segan(['train', '--data', data, '--runs', runs, ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(want);
      expect(fs.existsSync(runs)).toBe(false);
    },
    60_000,
  );

  it('a four-modality model trains, and eval and predict read the modalities from its checkpoint', async () => {
    const r = await segan(argv`train --data ${data} --runs ${runs} --run m4 --modalities t1,t1c,t2,flair
      --width 0.0625 --size 32 --crop 32x32x16 --batch 4 --val-cases Synth_003 --max-steps 2`);
    expect(r.status, r.stderr).toBe(0);
    const ckpt = path.join(runs, 'm4', 'checkpoints', 'latest.safetensors');
    const { loadCheckpoint } = await import('../../src/segan/checkpoint.ts');
    const c = loadCheckpoint(ckpt);
    expect([c.config.modalities, c.config.model.inChannels]).toEqual([['t1', 't1c', 't2', 'flair'], 4]);
    const e = await segan(argv`eval --data ${data} --checkpoint ${ckpt} --cases Synth_003
      --out ${path.join(tmp, 'ev')}`);
    expect(e.status, e.stderr).toBe(0);
    const p = await segan(argv`predict --checkpoint ${ckpt} --case ${path.join(data, 'Synth_002')}
      --out ${path.join(tmp, 'p.nii.gz')}`);
    expect(p.status, p.stderr).toBe(0);
  }, 180_000);

  it('--normalise median: the checkpoint keeps it, eval preprocesses with it, a resume cannot change it', async () => {
    const cache = path.join(tmp, 'cache-median');
    const r = await segan(argv`train --data ${data} --runs ${runs} --run med --normalise median --cache ${cache}
      --width 0.0625 --size 32 --crop 32x32x16 --batch 4 --val-cases Synth_003 --max-steps 2`);
    expect(r.status, r.stderr).toBe(0);
    const ckpt = path.join(runs, 'med', 'checkpoints', 'latest.safetensors');
    const { loadCheckpoint } = await import('../../src/segan/checkpoint.ts');
    expect(loadCheckpoint(ckpt).config.normalise).toBe('median');
    const evalCache = path.join(tmp, 'cache-median-eval');
    const e = await segan(argv`eval --data ${data} --checkpoint ${ckpt} --cases Synth_003 --cache ${evalCache}
      --out ${path.join(tmp, 'ev-med')}`);
    expect(e.status, e.stderr).toBe(0);
    // every cached volume was mapped by the median rule: 0 → 0 (a percentile mapping starts above 0)
    for (const dir of [cache, evalCache]) {
      const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
      const entries = Object.values(index.entries) as { stats: { lowValue: number; highValue: number }[] }[];
      expect(entries.length).toBeGreaterThan(0);
      for (const s of entries.flatMap((x) => x.stats)) expect([s.lowValue, s.highValue > 0]).toEqual([0, true]);
    }
    const again = await segan(argv`train --resume ${ckpt} --normalise percentile --max-steps 1`);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^segan train: --normalise percentile cannot change when /);
  }, 180_000);
});

describe('segan train --ema D: a moving average of the segmentor that validation and inference use', () => {
  const { tmp, data, runs, segan } = workspace('ema', { cases: 3, seed: 5, shape: [40, 40, 16] });
  const tiny = argv`--data ${data} --runs ${runs} --ema 0.9 --width 0.0625 --size 32 --crop 32x32x16 --batch 4
    --val-cases Synth_003`;

  it('checkpoints keep it (avgS.*), a resume continues it bitwise and cannot change it, eval loads it', async () => {
    const straight = await segan(['train', ...tiny, '--run', 'straight', '--max-steps', '3', '--val-every', '3']);
    expect(straight.status, straight.stderr).toBe(0);
    const first = await segan(['train', ...tiny, '--run', 'split', '--max-steps', '2']);
    expect(first.status, first.stderr).toBe(0);
    const resumed = await segan(
      argv`train --resume ${path.join(runs, 'split', 'checkpoints', 'latest.safetensors')} --max-steps 1`,
    );
    expect(resumed.status, resumed.stderr).toBe(0);
    const { loadCheckpoint, restore } = await import('../../src/segan/checkpoint.ts');
    const a = loadCheckpoint(path.join(runs, 'straight', 'checkpoints', 'latest.safetensors'));
    const b = loadCheckpoint(path.join(runs, 'split', 'checkpoints', 'latest.safetensors'));
    expect([a.config.ema, a.average?.updates, b.average?.updates]).toEqual([0.9, 3, 3]);
    const avgNames = [...a.tensors.keys()].filter((n) => n.startsWith('avgS.'));
    // every segmentor tensor, parameters and running statistics
    expect(avgNames.map((n) => n.slice(3))).toEqual([...a.tensors.keys()].filter((n) => n.startsWith('S.')));
    expect(avgNames.some((n) => n.endsWith('running_mean'))).toBe(true);
    for (const n of avgNames) expect(b.tensors.get(n)!.data, n).toEqual(a.tensors.get(n)!.data);
    // the average is not the last step's weights (else this test could not tell them apart)
    const w = avgNames.find((n) => n.endsWith('.weight'))!;
    expect(a.tensors.get(w)!.data).not.toEqual(a.tensors.get(w.slice(3))!.data);
    // inference (restore without a trainer) puts the average into the segmentor
    const { createEngine } = await import('../../src/index.ts');
    const { SeganModel } = await import('../../src/segan/model.ts');
    const engine = await createEngine();
    try {
      const model = new SeganModel(engine, a.config);
      restore(a, model, null);
      for (const [name, t] of model.S.stateDict())
        expect(await t.toArray(), name).toEqual(a.tensors.get(`avgS.${name}`)!.data);
      model.dispose();
    } finally {
      await engine.close();
    }
    // validation scored the average: eval of best.safetensors as validation sees it gives its numbers
    const metrics = fs
      .readFileSync(path.join(runs, 'straight', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n');
    const val = metrics
      .map((l) => JSON.parse(l))
      .filter((m) => m.type === 'val')
      .at(-1) as { dice: number[] };
    const out = path.join(tmp, 'ev-ema');
    const best = path.join(runs, 'straight', 'checkpoints', 'best.safetensors');
    const e = await segan(argv`eval --data ${data} --checkpoint ${best}
      --cases Synth_003 --out ${out} --extent crop --no-tta --no-postprocess --batch 4`);
    expect(e.status, e.stderr).toBe(0);
    const scores = JSON.parse(fs.readFileSync(path.join(out, 'scores.json'), 'utf8'));
    expect(scores.cases[0].regions.whole.dice).toBeCloseTo(val.dice[0], 6);
    const again = await segan(argv`train --resume ${path.join(runs, 'split', 'checkpoints', 'latest.safetensors')}
      --ema 0.5 --max-steps 1`);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/^segan train: --ema 0.5 cannot change when /);
  }, 240_000);
});
