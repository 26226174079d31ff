// Bad input, end to end: for each item of the reliability list (truncated gzip, wrong magic, dimensions that
// overflow or disagree with the data, unsupported datatype, modalities of different shapes, a missing
// modality file, unexpected labels, a non-NIfTI file, ...) a tiny BraTS-layout case is written with
// writeNifti and then corrupted, and
//   (a) readNifti / loadCase fail with an error naming the file and saying what is wrong;
//   (b) `segan inspect --data DIR` exits 1 and prints the problem (naming the file where the data layer does);
//   (c) `segan predict` fails with the same error before writing its output (no --out file, nothing in the
//       slice cache), while the same command on a good case does write it (so (c) is not vacuous).
// Plus: a missing data folder is a clear error with a non-zero exit for `segan train` and `segan inspect`.
// The commands run as the user runs them: `node bin/segan.mjs ...` from the repository root.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCase } from '../../src/data/brats.ts';
import { inspectDataDir } from '../../src/data/inspect.ts';
import { NiftiError, readNifti, writeNifti } from '../../src/data/nifti.ts';
import { tempDir, writeSyntheticCase } from './helpers.ts';
import { run } from '../helpers/spawn.ts';
import { argv } from '../helpers/argv.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SEGAN = path.join(REPO, 'bin', 'segan.mjs');
const SHAPE: [number, number, number] = [12, 10, 8];

const tmp = tempDir('bad-input');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/segan.mjs ...args` from the repository root. */
async function segan(args: string[], timeoutMs = 90_000): Promise<Run> {
  // awaited, not spawnSync: a blocked worker can lose its RPC with vitest
  const r = await run(process.execPath, [SEGAN, ...args], { cwd: REPO, timeout: timeoutMs, env: process.env });
  if (r.signal) throw new Error(`segan ${args[0]} was killed (${r.signal}) after ${timeoutMs} ms`);
  // lavapipe prints two harmless "Warning: maxDynamic... artificially reduced" lines when an engine starts
  const stderr = r.stderr.replace(/^Warning: maxDynamic.*\n/gm, '');
  return { code: r.status, stdout: r.stdout, stderr };
}

// ---------------------------------------------------------------------------------------------------
// Corruptions.

const vol = (dir: string, id: string, suffix: string, ext = '.nii.gz') => path.join(dir, `${id}_${suffix}${ext}`);

/** Decompresses a .nii.gz, lets `edit` change the bytes, writes it back (gzipped unless `to` is a .nii). */
function editNifti(file: string, edit: (b: Buffer) => Buffer | void, to = file): void {
  const b = zlib.gunzipSync(fs.readFileSync(file));
  const out = edit(b) ?? b;
  if (to !== file) fs.rmSync(file);
  fs.writeFileSync(to, to.endsWith('.gz') ? zlib.gzipSync(out) : out);
}

interface BadInput {
  name: string;
  /** Corrupts case `id` in `dir`; returns the file that is wrong (for a missing file: the one expected). */
  make: (dir: string, id: string) => Promise<string> | string;
  /** readNifti on that file: the error it must give, or 'loads' (the file is fine on its own), or 'absent'. */
  read: RegExp | 'loads' | 'absent';
  /** loadCase on the case folder: the error (which must also name the file), or 'loads'. */
  load: RegExp | 'loads';
  /** The problem `segan inspect` must print for the case. */
  inspect: RegExp;
  /** Whether inspect's problem line names the file itself (else it names the case and the modality). */
  inspectNamesFile: boolean;
}

const BAD: BadInput[] = [
  {
    name: 'truncated gzip',
    make: (dir, id) => {
      const f = vol(dir, id, 't1ce');
      const b = fs.readFileSync(f);
      fs.writeFileSync(f, b.subarray(0, Math.floor(b.length * 0.6)));
      return f;
    },
    read: /gzip data is truncated/,
    load: /gzip data is truncated/,
    inspect: /unreadable t1c: .*: gzip data is truncated/,
    inspectNamesFile: true,
  },
  {
    name: 'corrupt gzip (deflate data damaged)',
    make: (dir, id) => {
      const f = vol(dir, id, 't2');
      const b = fs.readFileSync(f);
      for (let i = 30; i < 60; i++) b[i] ^= 0xa5;
      fs.writeFileSync(f, b);
      return f;
    },
    read: /gzip data is (corrupt|truncated)/,
    load: /gzip data is (corrupt|truncated)/,
    inspect: /unreadable t2: .*: gzip data is (corrupt|truncated)/,
    inspectNamesFile: true,
  },
  {
    name: 'wrong magic',
    make: (dir, id) => {
      const f = vol(dir, id, 't2');
      editNifti(f, (b) => void b.write('n+7\0', 344, 'latin1'));
      return f;
    },
    read: /wrong NIfTI-1 magic "n\+7\\x00"/,
    load: /wrong NIfTI-1 magic/,
    inspect: /unreadable t2: .*: wrong NIfTI-1 magic/,
    inspectNamesFile: true,
  },
  {
    name: 'dimensions over the voxel limit (32767³)',
    make: (dir, id) => {
      const f = vol(dir, id, 'flair');
      editNifti(f, (b) => [1, 2, 3].forEach((k) => b.writeInt16LE(32767, 40 + 2 * k)));
      return f;
    },
    read: /volume of 32767×32767×32767 = \d+ voxels exceeds the limit of 268435456 voxels/,
    load: /exceeds the limit of 268435456 voxels/,
    inspect: /unreadable flair: .*: volume of 32767×32767×32767 = \d+ voxels exceeds the limit/,
    inspectNamesFile: true,
  },
  {
    name: 'dimensions whose product overflows (7-D, 2^53 and beyond)',
    make: (dir, id) => {
      const f = vol(dir, id, 'flair');
      editNifti(f, (b) => {
        b.writeInt16LE(7, 40);
        for (let k = 4; k <= 7; k++) b.writeInt16LE(32767, 40 + 2 * k);
      });
      return f;
    },
    read: /dims 12×10×8×32767×32767×32767×32767 overflow/,
    load: /overflow/,
    inspect: /unreadable flair: .*: dims 12×10×8×32767×32767×32767×32767 overflow/,
    inspectNamesFile: true,
  },
  {
    name: 'negative dimension',
    make: (dir, id) => {
      const f = vol(dir, id, 't1ce');
      editNifti(f, (b) => void b.writeInt16LE(-10, 44));
      return f;
    },
    read: /invalid dim\[2\] = -10 \(must be a positive integer\)/,
    load: /invalid dim\[2\] = -10/,
    inspect: /unreadable t1c: .*: invalid dim\[2\] = -10/,
    inspectNamesFile: true,
  },
  {
    name: 'dimensions larger than the data',
    make: (dir, id) => {
      const f = vol(dir, id, 't1ce');
      editNifti(f, (b) => void b.writeInt16LE(16, 46));
      return f;
    },
    read: new RegExp(
      /truncated: the header declares 12×10×16 int16 \(4192 bytes with the header\) /.source +
        /but the decompressed data ends after 2272 bytes/.source,
    ),
    load: /truncated: the header declares 12×10×16 int16/,
    inspect: /unreadable t1c: .*: truncated: the header declares 12×10×16 int16/,
    inspectNamesFile: true,
  },
  {
    name: 'dimensions smaller than the data (.nii with bytes left over)',
    make: (dir, id) => {
      const f = vol(dir, id, 'flair');
      const to = vol(dir, id, 'flair', '.nii');
      editNifti(f, (b) => void b.writeInt16LE(7, 46), to);
      return to;
    },
    read: 'loads', // with a warning: "240 bytes after the image data (dims may be wrong)"
    load: /shape 12×10×7 differs from 12×10×8 of Bad_\w+_t1ce\.nii\.gz/,
    inspect: /shape mismatch: flair \(Bad_\w+_flair\.nii(\.gz)?\) is 12×10×7, Bad_\w+_t1\.nii\.gz is 12×10×8/,
    inspectNamesFile: false,
  },
  {
    name: 'unsupported datatype (complex64)',
    make: (dir, id) => {
      const f = vol(dir, id, 't2');
      editNifti(f, (b) => {
        b.writeInt16LE(32, 70);
        b.writeInt16LE(64, 72);
      });
      return f;
    },
    read: /unsupported datatype 32 \(complex64\); supported: uint8, int16/,
    load: /unsupported datatype 32 \(complex64\)/,
    inspect: /unreadable t2: .*: unsupported datatype 32 \(complex64\)/,
    inspectNamesFile: true,
  },
  {
    name: 'modalities of different shapes',
    make: async (dir, id) => {
      const other = await writeSyntheticCase(path.join(tmp, 'other-shape'), id, { shape: [12, 10, 9], seed: 5 });
      const f = vol(dir, id, 'flair');
      fs.copyFileSync(vol(other.dir, id, 'flair'), f);
      return f;
    },
    read: 'loads',
    load: /shape 12×10×9 differs from 12×10×8 of Bad_\w+_t1ce\.nii\.gz/,
    inspect: /shape mismatch: flair \(Bad_\w+_flair\.nii(\.gz)?\) is 12×10×9, Bad_\w+_t1\.nii\.gz is 12×10×8/,
    inspectNamesFile: false,
  },
  {
    name: 'missing modality file',
    make: (dir, id) => {
      const f = vol(dir, id, 't2');
      fs.rmSync(f);
      return f;
    },
    read: 'absent',
    load: /case Bad_\w+ has no t2 volume/,
    inspect: /missing t2 volume/,
    inspectNamesFile: false,
  },
  {
    name: 'label map with an unexpected label (5)',
    make: (dir, id) => {
      const f = vol(dir, id, 'seg');
      editNifti(f, (b) => {
        let n = 0;
        for (let i = 352; i < b.length && n < 10; i++) if (b[i] === 2) ((b[i] = 5), n++);
        if (n === 0) throw new Error('synthetic seg has no label 2');
      });
      return f;
    },
    read: 'loads',
    // loadCase accepts any integer label 0..255 (regions simply ignore 5); inspect is where it is caught
    load: 'loads',
    inspect: /unexpected label\(s\) 5 in seg \(Bad_\w+_seg\.nii\.gz; expected 0, 1, 2, 4 for brats2018 data\)/,
    inspectNamesFile: false,
  },
  {
    name: 'label map with non-integer labels',
    make: async (dir, id) => {
      const f = vol(dir, id, 'seg');
      const v = await readNifti(f);
      const data = Float32Array.from(v.data);
      data[data.findIndex((x) => x === 2)] = 2.5;
      await writeNifti(f, data, { like: v, datatype: 'float32' });
      return f;
    },
    read: 'loads',
    load: /segmentation voxel \d+ = 2\.5 is not an integer label in 0\.\.255/,
    inspect: /seg is not a label map: .*: segmentation voxel \d+ = 2\.5 is not an integer label/,
    inspectNamesFile: true,
  },
  {
    name: 'non-NIfTI file (a PNG named _t1ce.nii.gz)',
    make: (dir, id) => {
      const f = vol(dir, id, 't1ce');
      fs.writeFileSync(
        f,
        Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(600, 7)]),
      );
      return f;
    },
    read: new RegExp(
      /not a NIfTI file: the header size field is .* expected 348 \(NIfTI-1\) or 540 /.source +
        /\(NIfTI-2\); first bytes "\\x89PNG/.source,
    ),
    load: /not a NIfTI file/,
    inspect: /unreadable t1c: .*: not a NIfTI file/,
    inspectNamesFile: true,
  },
  {
    name: 'empty file',
    make: (dir, id) => {
      const f = vol(dir, id, 'flair');
      fs.writeFileSync(f, Buffer.alloc(0));
      return f;
    },
    read: /not a NIfTI file: only 0 bytes/,
    load: /not a NIfTI file: only 0 bytes/,
    inspect: /unreadable flair: .*: not a NIfTI file: only 0 bytes/,
    inspectNamesFile: true,
  },
];

interface Built {
  bad: BadInput;
  /** Folder holding only this case (what --data gets). */
  root: string;
  /** The case folder. */
  dir: string;
  id: string;
  file: string;
}

const built: Built[] = [];
let checkpoint = '';

beforeAll(async () => {
  for (const [k, bad] of BAD.entries()) {
    const id = `Bad_${k}`;
    const root = path.join(tmp, `case-${k}`);
    const { dir } = await writeSyntheticCase(root, id, { shape: SHAPE, seed: 10 + k });
    const file = await bad.make(dir, id);
    built.push({ bad, root, dir, id, file });
  }
}, 60_000);

// ---------------------------------------------------------------------------------------------------
// (a) the data layer

describe('bad input: readNifti and loadCase name the file and what is wrong', () => {
  for (const [k, bad] of BAD.entries()) {
    it(bad.name, async () => {
      const { dir, file, id } = built[k];
      if (bad.read === 'absent') expect(fs.existsSync(file)).toBe(false);
      else {
        const r = await readNifti(file).then(
          (v) => v,
          (e: unknown) => e,
        );
        if (bad.read === 'loads') expect(r, `${file} should load on its own`).not.toBeInstanceOf(Error);
        else {
          expect(r).toBeInstanceOf(NiftiError);
          const e = r as NiftiError;
          expect(e.file).toBe(file);
          expect(e.message.startsWith(`${file}: `)).toBe(true);
          expect(e.message).toMatch(bad.read);
        }
      }
      const c = await loadCase(dir).then(
        (v) => v,
        (e: unknown) => e,
      );
      if (bad.load === 'loads') {
        expect(c, 'loadCase should succeed').not.toBeInstanceOf(Error);
        return;
      }
      expect(c).toBeInstanceOf(Error);
      const msg = (c as Error).message;
      // a file that exists is named by its path; a missing one by the case folder, the case and the modality
      if (bad.read === 'absent') expect(msg.startsWith(`${dir}: case ${id} has no`)).toBe(true);
      else {
        expect(c).toBeInstanceOf(NiftiError);
        expect(msg.startsWith(`${file}: `)).toBe(true);
      }
      expect(msg).toMatch(bad.load);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// (b) segan inspect

describe('bad input: `segan inspect --data DIR` exits 1 and prints the problem', () => {
  for (const [k, bad] of BAD.entries()) {
    it(bad.name, async () => {
      const { root, id, file } = built[k];
      const r = await segan(['inspect', '--data', root]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/\n1 problem\(s\):\n/); // exactly the one problem made here
      const problems = r.stdout.slice(r.stdout.lastIndexOf('problem(s):'));
      const line = problems.split('\n').find((l) => l.trim().startsWith(`${id}: `) && bad.inspect.test(l));
      expect(line, `no problem line matching ${bad.inspect} in:\n${r.stdout}`).toBeDefined();
      // a missing modality is reported per case and modality (there is no file to name); shape
      // mismatches and unexpected labels name the file's base name
      if (bad.inspectNamesFile) expect(line).toContain(file);
    });
  }

  for (const [k, bad] of BAD.entries()) {
    it(`${bad.name}: the inspect report (what --json prints) has the problem and every volume's file`, async () => {
      const { root, file } = built[k];
      const rep = await inspectDataDir(root);
      expect(rep.ok).toBe(false);
      expect(rep.problems).toHaveLength(1);
      expect(rep.problems.some((p) => bad.inspect.test(p))).toBe(true);
      if (bad.read !== 'absent') expect(rep.cases[0].volumes.map((v) => v.file)).toContain(file);
    });
  }

  it('a missing data folder: a bad --data, exit 2 before anything runs', async () => {
    const missing = '/nonexistent';
    expect(fs.existsSync(missing)).toBe(false);
    const r = await segan(['inspect', '--data', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('segan inspect: --data /nonexistent does not exist\n');
    expect(r.stdout).toBe('');
  });

  it('a folder without BraTS cases: exit 1 and says so', async () => {
    const empty = path.join(tmp, 'no-cases');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'notes.txt'), 'nothing here');
    const r = await segan(['inspect', '--data', empty]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no BraTS cases found/);
  });
});

// ---------------------------------------------------------------------------------------------------
// (c) no partial output

describe('bad input: nothing is written when the data is bad', () => {
  beforeAll(async () => {
    // a tiny SegAN checkpoint (width 1/16, 16×16 crops of a 16×16×8 volume crop), made on this machine's WebGPU
    // adapter
    const { createEngine } = await import('../../src/index.ts');
    const { makeConfig } = await import('../../src/segan/config.ts');
    const { SeganModel } = await import('../../src/segan/model.ts');
    const { saveCheckpoint } = await import('../../src/segan/checkpoint.ts');
    const engine = await createEngine({ seed: 1 });
    try {
      const config = makeConfig({
        model: { inChannels: 3, classes: 3, width: 1 / 16, skip: 'add', slope: 0.2, seed: 3 },
        size: 16,
        batch: 2,
        volumeCrop: [16, 16, 8],
      });
      const model = new SeganModel(engine, config);
      checkpoint = path.join(tmp, 'tiny.safetensors');
      await saveCheckpoint(checkpoint, model, null, config, { epoch: 0, stepInEpoch: 0, globalStep: 0 });
      model.dispose();
    } finally {
      await engine.close();
    }
  }, 60_000);

  const predict = async (caseDir: string, tag: string) => {
    const out = path.join(tmp, `pred-${tag}`, 'seg.nii.gz');
    const cache = path.join(tmp, `cache-${tag}`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const r = await segan(['predict', '--checkpoint', checkpoint, '--case', caseDir, '--out', out, '--cache', cache]);
    const cached = fs.existsSync(cache) ? fs.readdirSync(cache) : [];
    return { r, out, outDir: fs.readdirSync(path.dirname(out)), cached };
  };

  it('control: `segan predict` on a good case writes its output', async () => {
    // predict opens the case's parent folder as a dataset and needs a training case besides the one predicted
    const root = path.join(tmp, 'good');
    await writeSyntheticCase(root, 'Good_1', { shape: SHAPE, seed: 1 });
    await writeSyntheticCase(root, 'Good_2', { shape: SHAPE, seed: 2 });
    const { r, out, cached } = await predict(path.join(root, 'Good_1'), 'good');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*seg\.nii\.gz: 960 voxels/);
    const v = await readNifti(out);
    expect(v.shape).toEqual(SHAPE);
    expect(cached.some((f) => f.endsWith('.bin'))).toBe(true);
  });

  for (const [k, bad] of BAD.entries()) {
    if (bad.load === 'loads') continue; // nothing for predict to refuse
    it(`${bad.name}: \`segan predict\` fails naming the file and writes nothing`, async () => {
      const { dir, file, id } = built[k];
      const { r, out, outDir, cached } = await predict(dir, String(k));
      expect(r.code).toBe(1);
      const err = r.stderr.trim();
      expect(err.startsWith(`segan predict: --case ${dir}: `), err).toBe(true);
      expect(err).not.toContain('\n');
      if (bad.read === 'absent') expect(err).toContain(`${dir}: case ${id} has no t2 volume`);
      else expect(err).toContain(`${file}: `);
      expect(err).toMatch(bad.load);
      expect(fs.existsSync(out)).toBe(false);
      expect(outDir).toEqual([]); // no temporary file left either
      expect(cached.filter((f) => f !== 'index.json')).toEqual([]); // no preprocessed slices of the bad case
      if (cached.includes('index.json'))
        expect(fs.readFileSync(path.join(tmp, `cache-${k}`, 'index.json'), 'utf8')).not.toContain(id);
    });
  }

  it('`segan train --data /nonexistent`: a bad --data, exit 2 before anything starts', async () => {
    const runs = path.join(tmp, 'runs');
    const r = await segan(['train', '--data', '/nonexistent', '--runs', runs, '--run', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('segan train: --data /nonexistent does not exist\n');
    expect(fs.existsSync(runs)).toBe(false);
  });

  it(
    '`segan train` on a case with a missing modality: ' + 'fails naming the case, writes no config or checkpoint',
    async () => {
      const k = BAD.findIndex((b) => b.name === 'missing modality file');
      const { root, dir, id } = built[k];
      const runs = path.join(tmp, 'runs-bad');
      const r = await segan(argv`train --data ${root} --runs ${runs} --run r --epochs 1 --width 0.0625 --size 16
        --crop 16x16x8 --cache ${path.join(tmp, 'cache-train')}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^segan train: --data ${root}: .*${dir}: case ${id} has no t2 volume\n$`));
      // the run folder is made only once the run has started
      expect(fs.existsSync(runs)).toBe(false);
    },
  );
});
