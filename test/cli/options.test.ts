// Bad command lines, refused up front: every option of every command (from the command table itself)
// with values that are negative, zero, fractional where integers are required, non-numeric, out of
// set, empty or huge. Each must exit 2 with one line that names the command and the option, no stack
// trace, no new or changed file, in well under a second. Then a seeded property-based fuzz of random
// argument vectors with the same assertions, and the environment variables. No GPU is opened here:
// every check runs before the engine.
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { allowed, parseCommand, UsageError, type CommandSpec, type OptionSpec } from '../../src/cli/options.ts';
import { parseCommandLine, run } from '../../src/cli/run.ts';
import { checkEnvironment, ENV_VARS } from '../../src/device/env.ts';
import { tempDir, writeSyntheticCase } from '../data/helpers.ts';
import { argv } from '../helpers/argv.ts';

const tmp = tempDir('cli-options');
const data = path.join(tmp, 'data');
const caseDir = path.join(data, 'Case_1');
const ckpt = path.join(tmp, 'model.safetensors');
const aFile = path.join(tmp, 'a-file.txt');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await writeSyntheticCase(data, 'Case_1', { shape: [8, 7, 6] });
  await writeSyntheticCase(data, 'Case_2', { shape: [8, 7, 6] });
  fs.writeFileSync(ckpt, 'not loaded: every check here fails before a checkpoint is read');
  fs.writeFileSync(aFile, 'x');
});

/** Every file under the sandbox and the repository's runs/ folder, with size and mtime. */
function snapshot(): string {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return out.push(`${d} absent`);
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(tmp);
  walk(path.resolve('runs'));
  walk(path.join(process.env.XDG_CACHE_HOME ?? '/nonexistent', 'dawngrad'));
  return out.sort().join('\n');
}

/** Values that a valid run of the command needs besides the option under test. */
function requiredArgs(spec: CommandSpec, except: string): string[] {
  const valid: Record<string, string> = {
    data,
    checkpoint: ckpt,
    case: caseDir,
    out: spec.name === 'predict' ? path.join(tmp, 'o.nii.gz') : path.join(tmp, 'out'),
  };
  return spec.options.filter((o) => o.required && o.name !== except).flatMap((o) => [`--${o.name}`, valid[o.name]]);
}

/** Bad values for an option, derived from its declaration. */
function badValues(o: OptionSpec): string[] {
  const common = ['', 'abc', 'NaN', 'Infinity', '1e400'];
  switch (o.type) {
    case 'int': {
      const v = [...common, '1.5', '0x10', ' 3', '3 ', '1e12', String(2 ** 53)];
      if (o.min !== undefined) v.push(String(o.min - 1), '-1');
      if (o.max !== undefined) v.push(String(o.max + (o.multipleOf ?? 1)));
      if (o.multipleOf) v.push(String((o.min ?? 0) + 1));
      return v;
    }
    case 'number': {
      const v = [...common, '1e308', '--', '0x1', '1,5'];
      if (o.above !== undefined) v.push(String(o.above), String(o.above - 1));
      if (o.min !== undefined) v.push(String(o.min - 1), String(o.min / 2 - 1));
      if (o.max !== undefined) v.push(String(o.max * 2 + 1));
      return v;
    }
    case 'enum':
      return [
        '',
        'nope',
        o.values![0].toUpperCase() === o.values![0] ? 'zzz' : o.values![0].toUpperCase(),
        `${o.values![0]} `,
        '2.0',
      ];
    case 'shape':
      return ['', '10x10', 'axbxc', '0x0x0', '-1x2x3', '1.5x2x3', '99999999x99999999x99999999', '10x10x10x10', 'x'];
    case 'list':
      return ['', ',', 'a,,b', 'a,a'];
    case 'string': {
      const v = [''];
      if (o.pattern) v.push('../escape', 'a/b', 'x'.repeat(300), o.name === 'out' ? 'labels.txt' : '.');
      if (o.path === 'dir') v.push(path.join(tmp, 'no-such-folder'), aFile);
      if (o.path === 'file') v.push(path.join(tmp, 'no-such-file'), tmp);
      return v;
    }
    case 'flag':
      return [];
  }
}

interface Result {
  code: number;
  out: string;
  err: string;
  ms: number;
}

async function segan(argv: string[]): Promise<Result> {
  let out = '';
  let err = '';
  const t0 = performance.now();
  const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err, ms: performance.now() - t0 };
}

function expectRefused(r: Result, cmd: string, option: string | null, what: string): void {
  const ctx = `${what}\n${r.err}`;
  expect(r.code, ctx).toBe(2);
  expect(r.out, ctx).toBe('');
  expect(r.err.endsWith('\n') && r.err.indexOf('\n') === r.err.length - 1, `one line: ${ctx}`).toBe(true);
  expect(r.err, ctx).toMatch(new RegExp(`^segan ${cmd}: `));
  if (option) expect(r.err, ctx).toContain(`--${option}`);
  expect(r.err, ctx).not.toMatch(/\n\s+at |Error:|undefined|\[object/);
}

const runnable = COMMANDS.filter((c) => c.name !== 'help');

describe('every option of every command, with bad values', () => {
  for (const spec of runnable) {
    it(`segan ${spec.name}: every bad value exits 2 naming the option, before any side effect`, async () => {
      const before = snapshot();
      let cases = 0;
      let slowest = 0;
      for (const o of spec.options) {
        for (const bad of badValues(o)) {
          const argv = [spec.name, ...requiredArgs(spec, o.name), `--${o.name}`, bad];
          const r = await segan(argv);
          expectRefused(r, spec.name, o.name, argv.join(' '));
          // the message says what is allowed (or, for paths, what is wrong with this one)
          if (!o.path || o.type !== 'string')
            expect(r.err, argv.join(' ')).toContain(bad === '' ? "(got '')" : `(got ${bad})`);
          slowest = Math.max(slowest, r.ms);
          cases++;
        }
        if (o.type === 'flag') {
          const r = await segan([spec.name, ...requiredArgs(spec, o.name), `--${o.name}=1`]);
          expectRefused(r, spec.name, o.name, `--${o.name}=1`);
          cases++;
        } else {
          // the option given without its value, at the end and before another option
          expectRefused(
            await segan([spec.name, ...requiredArgs(spec, o.name), `--${o.name}`]),
            spec.name,
            o.name,
            `--${o.name} (no value)`,
          );
          expectRefused(await segan([spec.name, `--${o.name}`, '--help']), spec.name, o.name, `--${o.name} --help`);
          cases += 2;
        }
      }
      for (const o of spec.options.filter((x) => x.required)) {
        expectRefused(
          await segan([spec.name, ...requiredArgs(spec, o.name)]),
          spec.name,
          o.name,
          `without --${o.name}`,
        );
      }
      expectRefused(await segan([spec.name, '--no-such-option', '1']), spec.name, 'no-such-option', 'unknown option');
      expectRefused(await segan([spec.name, 'stray']), spec.name, null, 'stray word');
      if (spec.options.length) {
        const o = spec.options.find((x) => x.type === 'flag') ?? spec.options[0];
        const v = o.type === 'flag' ? [] : [o.name === 'data' || o.name === 'case' ? data : '1'];
        expectRefused(
          await segan([spec.name, ...requiredArgs(spec, o.name), `--${o.name}`, ...v, `--${o.name}`, ...v]),
          spec.name,
          o.name,
          'given twice',
        );
      }
      expect(snapshot()).toBe(before);
      expect(slowest, `slowest check ${slowest.toFixed(0)} ms`).toBeLessThan(1000);
      console.log(`segan ${spec.name}: ${cases} bad values refused, slowest ${slowest.toFixed(1)} ms`);
    });
  }

  it(
    'a typo is answered with the option it resembles; ' + 'help lists every option with its range and default',
    async () => {
      expect((await segan(['train', '--widht', '2'])).err).toBe(
        "segan train: unknown option --widht (did you mean --width?); see 'segan help train'\n",
      );
      expect((await segan(['trian'])).err).toMatch(/^segan: unknown command 'trian' \(did you mean 'train'\?\)/);
      expect((await segan(['help', 'nope'])).code).toBe(2);
      for (const spec of COMMANDS) {
        const r = await segan(['help', spec.name]);
        expect(r.code).toBe(0);
        for (const o of spec.options) {
          expect(r.out).toContain(`--${o.name}`);
          if (o.type !== 'flag') expect(r.out).toContain(allowed(o));
          if (o.default !== undefined && o.type !== 'flag')
            expect(r.out).toContain(`default ${Array.isArray(o.default) ? o.default.join('x') : o.default}`);
        }
        if (spec.name !== 'help') expect((await segan([spec.name, '--help'])).out).toBe(r.out);
      }
      const overview = (await segan(['help'])).out;
      for (const spec of COMMANDS) expect(overview).toContain(`  ${spec.name}`);
      for (const v of ENV_VARS) expect(overview).toContain(v.name);
    },
  );

  it("the issue's examples, word for word", async () => {
    const t = (argv: string[]) => segan(argv).then((r) => r.err.trim());
    expect(await t(['train', '--data', data, '--width', '-1'])).toBe(
      'segan train: --width must be a number from 0.015625 to 8 (got -1)',
    );
    expect(await t(['train', '--data', data, '--width', '0'])).toBe(
      'segan train: --width must be a number from 0.015625 to 8 (got 0)',
    );
    expect(await t(['train', '--data', data, '--epochs', '-3'])).toBe(
      'segan train: --epochs must be an integer from 1 to 100000 (got -3)',
    );
    expect(await t(['train', '--data', data, '--lr', '0'])).toBe(
      'segan train: --lr must be a number > 0 and ≤ 1 (got 0)',
    );
    expect(await t(['train', '--data', data, '--max-steps', '0'])).toMatch(
      /^segan train: --max-steps must be an integer from 1 to/,
    );
    expect(await t(['train', '--data', data, '--checkpoint-every', '0'])).toMatch(
      /^segan train: --checkpoint-every must be an integer from 1/,
    );
    expect(await t(['synth', '--out', path.join(tmp, 's'), '--cases', '0'])).toBe(
      'segan synth: --cases must be an integer from 1 to 1000 (got 0)',
    );
    expect(await t(['eval', '--data', data, '--checkpoint', ckpt, '--batch', '0'])).toBe(
      'segan eval: --batch must be an integer from 1 to 1024 (got 0)',
    );
    expect(await t(['train', '--data', data, '--clamp', '-0.1'])).toBe(
      'segan train: --clamp must be a number > 0 and ≤ 100 (got -0.1)',
    );
    expect(await t(['train', '--data', data, '--classes', '2'])).toBe(
      'segan train: --classes must be one of 1, 3 (got 2)',
    );
    expect(await t(['train', '--data', data, '--skip', 'nope'])).toBe(
      'segan train: --skip must be one of add, concat (got nope)',
    );
    expect(await t(['train', '--data', data, '--crop', '10x10x10'])).toBe(
      'segan train: --crop 10x10x10 must be at least --size 160 in-plane (W and H ≥ 160)',
    );
    expect(await t(['train', '--data', data, '--val-cases', 'NoSuchCase'])).toBe(
      `segan train: --val-cases names a case not in ${data}: NoSuchCase (found: Case_1, Case_2)`,
    );
    expect(await t(['train', '--data', data, '--val-cases', 'Case_1,Case_2'])).toMatch(
      /--val-cases names every case .* leave at least one for training/,
    );
    expect(await t(['train', '--data', data, '--run', '../x'])).toMatch(
      /^segan train: --run must be a single folder name/,
    );
    expect(await t(['eval', '--data', data, '--checkpoint', ckpt, '--cases', 'Case_9'])).toMatch(
      /^segan eval: --cases names a case not in/,
    );
  });

  it('tiny settings stay valid (parsed, not run)', async () => {
    const { values } = await parseCommandLine(argv`train --data ${data} --width 0.0625 --size 32 --crop 40x40x16
      --batch 2 --max-steps 2`);
    expect([values.width, values.size, values.crop, values.batch, values['max-steps'], values.epochs]).toEqual([
      0.0625,
      32,
      [40, 40, 16],
      2,
      2,
      10,
    ]);
    expect(
      (await parseCommandLine(['synth', '--out', path.join(tmp, 's'), '--shape', '48x48x24'])).values.shape,
    ).toEqual([48, 48, 24]);
    expect((await parseCommandLine(['train', '--data', data, '--width=-1'].slice(0, 3))).values.data).toBe(data);
  });
});

describe('environment variables', () => {
  it(
    'a bad DAWNGRAD_* value exits 2 naming the variable ' + 'before anything opens; an unknown one is a warning',
    async () => {
      const cases: [string, string][] = [
        ['DAWNGRAD_BACKEND', 'vulkn'],
        ['DAWNGRAD_MEMORY_LIMIT', 'lots'],
        ['DAWNGRAD_MEMORY_LIMIT', '-5GiB'],
        ['DAWNGRAD_CACHE_MAX', '0'],
        ['DAWNGRAD_MATMUL', 'fast'],
        ['DAWNGRAD_PROFILE', 'yes'],
        ['DAWNGRAD_POLL', 'busy'],
      ];
      const before = snapshot();
      for (const [k, v] of cases) {
        const old = process.env[k];
        process.env[k] = v;
        try {
          const r = await segan(['info']);
          expect(r.code, `${k}=${v}`).toBe(2);
          expect(r.err).toBe(
            `segan info: ${k} must be ${ENV_VARS.find((x) => x.name === k)!.accepts} (got '${v}'); fix or unset it\n`,
          );
        } finally {
          if (old === undefined) delete process.env[k];
          else process.env[k] = old;
        }
      }
      expect(snapshot()).toBe(before);
      expect(checkEnvironment({ DAWNGRAD_BAKEND: 'vulkan' }).warnings[0]).toMatch(
        /^DAWNGRAD_BAKEND is not a dawngrad setting and is ignored/,
      );
      expect(checkEnvironment({ DAWNGRAD_FUZZ_SEED: '1', DAWNGRAD_MEMORY_LIMIT: '6GiB' })).toEqual({
        errors: [],
        warnings: [],
      });
    },
  );
});

describe('fuzz: random argument vectors', () => {
  const names = runnable.flatMap((c) => c.options.map((o) => `--${o.name}`));
  const token = fc.oneof(
    fc.constantFrom(...names, '--help', '--', '-x', '--=', '---a'),
    fc.constantFrom(data, caseDir, ckpt, aFile, path.join(tmp, 'nowhere'), '../up', ''),
    fc.integer({ min: -5, max: 5000 }).map(String),
    fc.double({ noNaN: false }).map(String),
    fc
      .tuple(fc.integer({ min: -2, max: 300 }), fc.integer({ min: -2, max: 300 }), fc.integer({ min: -2, max: 300 }))
      .map((t) => t.join('x')),
    fc.constantFrom(
      'add',
      'concat',
      'code',
      'paper',
      'stop',
      'skip',
      '1',
      '3',
      'Case_1',
      'Case_1,Case_2',
      'info',
      'clear',
      'x.nii.gz',
    ),
    fc.string({ maxLength: 12 }),
  );
  const argv = fc
    .tuple(fc.constantFrom(...runnable.map((c) => c.name)), fc.array(token, { maxLength: 10 }))
    .map(([c, rest]) => [c, ...rest]);

  it(
    '400 vectors (seed 20261207): either accepted with every ' +
      'value in range, or refused with one line and exit 2; no files',
    async () => {
      const before = snapshot();
      let accepted = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(argv, async (args) => {
          let values: Awaited<ReturnType<typeof parseCommandLine>> | null = null;
          try {
            values = await parseCommandLine(args);
          } catch (e) {
            // only UsageError, with one line that names the command; the CLI then exits 2 with it
            expect(e).toBeInstanceOf(UsageError);
            const msg = (e as Error).message;
            expect(msg).toMatch(/^segan [\w-]+: /);
            expect(msg).not.toContain('\n');
            const r = await segan(args);
            expectRefused(r, args[0], null, args.join(' '));
            refused++;
            return;
          }
          accepted++;
          if (values.values.help) return;
          // accepted: every given value is in its declared range (parse it again from its canonical text)
          const spec = values.spec;
          for (const name of values.values.given) {
            const o = spec.options.find((x) => x.name === name)!;
            const v = values.values[name];
            if (o.type === 'flag') expect(v).toBe(true);
            else {
              const text = Array.isArray(v) ? v.join(o.type === 'shape' ? 'x' : ',') : String(v);
              await expect(
                parseCommand({ ...spec, options: [o], check: undefined }, [`--${name}`, text]),
              ).resolves.toBeTruthy();
            }
          }
        }),
        { seed: 20261207, numRuns: 400 },
      );
      expect(snapshot()).toBe(before);
      console.log(`fuzz: ${accepted} accepted, ${refused} refused`);
      expect(refused).toBeGreaterThan(200);
    },
    120_000,
  );
});

describe('switches: --NAME on, --no-NAME off', () => {
  const spec = (options: OptionSpec[]): CommandSpec => ({ name: 'x', summary: 'x', options });
  it('--no-NAME turns a switch off; given twice is refused', async () => {
    const s = spec([{ name: 'flip', type: 'flag', help: 'h' }]);
    expect((await parseCommand(s, ['--no-flip'])).flip).toBe(false);
    expect((await parseCommand(s, ['--flip'])).flip).toBe(true);
    await expect(parseCommand(s, ['--flip', '--no-flip'])).rejects.toThrow(/--flip is given twice/);
  });
  it("a flag declared as no-X (the benchmarks' --no-tfjs, --no-torch) is that flag, not a negation", async () => {
    const s = spec([
      { name: 'no-tfjs', type: 'flag', help: 'h' },
      { name: 'reps', type: 'int', min: 1, help: 'h' },
    ]);
    const v = await parseCommand(s, ['--no-tfjs', '--reps', '2']);
    expect([v['no-tfjs'], v.reps]).toEqual([true, 2]);
  });
});
