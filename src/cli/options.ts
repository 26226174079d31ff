// Command-line options as data: each option is declared once (type, range, default, meaning) and that
// declaration drives parsing (node:util parseArgs), validation, the error messages and `segan help`.
// Every check here is pure or read-only (a stat, a directory listing): nothing runs before it that
// could leave a trace, so a bad value costs the user one line and exit status 2.
import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

export type OptionType = 'int' | 'number' | 'string' | 'enum' | 'shape' | 'list' | 'flag';

export interface OptionSpec {
  /** The long name, without the leading dashes. */
  name: string;
  type: OptionType;
  /** Placeholder for the value in help: N, DIR, FILE, ... */
  meta?: string;
  help: string;
  /** The value when the option is absent (also shown in help). */
  default?: string | number | boolean | number[];
  /** How help shows a default that is computed (e.g. "the preset's", "a timestamp name"). */
  defaultText?: string;
  required?: boolean;
  /** int / number / each shape entry: the smallest value allowed. */
  min?: number;
  /** number: values must be greater than this (an open lower bound). */
  above?: number;
  max?: number;
  /** int: the value must be a multiple of this. */
  multipleOf?: number;
  /** enum: the values allowed (for ints too, e.g. classes 1 or 3). */
  values?: readonly string[];
  /** string: the pattern a value must match, and how to say it. */
  pattern?: RegExp;
  patternText?: string;
  /** Paths: 'dir' and 'file' must exist as such; 'out' may exist or be created later. */
  path?: 'dir' | 'file' | 'out';
  /** shape: how many integers, joined by 'x' (WxHxD). */
  dims?: number;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Extra lines of help after the options. */
  details?: string;
  options: OptionSpec[];
  /** Positional words (e.g. `segan cache clear`): name, allowed values, whether required. */
  positionals?: { name: string; values?: readonly string[]; required?: boolean; help: string }[];
  /** Checks that need several options or a look at the disk; throw UsageError. */
  check?: (v: Values) => void | Promise<void>;
}

export type Value = string | number | boolean | number[] | string[];
export type Values = Record<string, Value | undefined> & { _: string[] };

/** A bad command line: exit status 2, one line naming the option, the value and what is allowed. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
const fmt = (n: number) => (Math.abs(n) >= 1e6 && Number.isInteger(Math.log2(n)) ? `2^${Math.log2(n)}` : String(n));

/** What an option accepts, in words ("an integer ≥ 1", "one of code, paper", ...). */
export function allowed(o: OptionSpec): string {
  const range = (lo?: number, hi?: number, open?: number) => {
    if (open !== undefined && hi !== undefined) return ` > ${fmt(open)} and ≤ ${fmt(hi)}`;
    if (open !== undefined) return ` > ${fmt(open)}`;
    if (lo !== undefined && hi !== undefined) return ` from ${fmt(lo)} to ${fmt(hi)}`;
    if (lo !== undefined) return ` ≥ ${fmt(lo)}`;
    if (hi !== undefined) return ` ≤ ${fmt(hi)}`;
    return '';
  };
  switch (o.type) {
    case 'int':
      return o.multipleOf ? `a multiple of ${o.multipleOf}${range(o.min, o.max)}` : `an integer${range(o.min, o.max)}`;
    case 'number':
      return `a number${range(o.min, o.max, o.above)}`;
    case 'enum':
      return `one of ${o.values!.join(', ')}`;
    case 'shape':
      return `${['W', 'H', 'D', 'T'].slice(0, o.dims ?? 3).join('x')}, integers${range(o.min, o.max)}`;
    case 'list':
      return `a comma-separated list of ${o.meta === 'IDS' ? 'case IDs' : 'names'}`;
    case 'flag':
      return 'no value';
    case 'string':
      if (o.patternText) return o.patternText;
      return o.path === 'dir'
        ? 'an existing folder'
        : o.path === 'file'
          ? 'an existing file'
          : o.path === 'out'
            ? 'a path to write to'
            : 'a non-empty value';
  }
}

const show = (raw: string) => (raw === '' ? "''" : raw);

/** Parse and check one option's raw text; throws UsageError naming the option. */
export function parseValue(cmd: string, o: OptionSpec, raw: string): Value {
  const bad = (): never => {
    throw new UsageError(`segan ${cmd}: --${o.name} must be ${allowed(o)} (got ${show(raw)})`);
  };
  const inRange = (n: number) =>
    (o.min === undefined || n >= o.min) &&
    (o.max === undefined || n <= o.max) &&
    (o.above === undefined || n > o.above);
  switch (o.type) {
    case 'int': {
      if (!NUMBER.test(raw)) bad();
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || !inRange(n) || (o.multipleOf && n % o.multipleOf !== 0)) bad();
      return n;
    }
    case 'number': {
      if (!NUMBER.test(raw)) bad();
      const n = Number(raw);
      if (!Number.isFinite(n) || !inRange(n)) bad();
      return n;
    }
    case 'enum':
      if (!o.values!.includes(raw)) bad();
      return /^\d+$/.test(raw) ? Number(raw) : raw;
    case 'shape': {
      const parts = raw.split(/[x,]/);
      if (parts.length !== (o.dims ?? 3) || parts.some((p) => !/^\d+$/.test(p))) bad();
      const ns = parts.map(Number);
      if (ns.some((n) => !Number.isSafeInteger(n) || !inRange(n))) bad();
      return ns;
    }
    case 'list': {
      const items = raw.split(',').map((s) => s.trim());
      if (items.some((s) => s === '')) bad();
      if (new Set(items).size !== items.length)
        throw new UsageError(
          `segan ${cmd}: --${o.name} names ${items.find((s, i) => items.indexOf(s) !== i)} twice (got ${raw})`,
        );
      return items;
    }
    case 'string': {
      if (raw === '' || (o.pattern && !o.pattern.test(raw))) bad();
      if (o.path === 'dir' || o.path === 'file') {
        if (!existsSync(raw)) throw new UsageError(`segan ${cmd}: --${o.name} ${raw} does not exist`);
        const isDir = statSync(raw).isDirectory();
        if (o.path === 'dir' && !isDir)
          throw new UsageError(`segan ${cmd}: --${o.name} ${raw} is a file; it must be a folder`);
        if (o.path === 'file' && isDir)
          throw new UsageError(`segan ${cmd}: --${o.name} ${raw} is a folder; it must be a file`);
      }
      return raw;
    }
    case 'flag':
      return true;
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/** The closest of `names` to `word`, when it is close enough to be a likely typo. */
export function suggest(word: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const n of names) {
    const dist = editDistance(word, n);
    if (dist < bestD) [best, bestD] = [n, dist];
  }
  return best !== null && bestD <= (word.length >= 4 ? 2 : 1) ? best : null;
}

/**
 * Parse a command's arguments against its spec: the tokens through node:util parseArgs (strict), then
 * every value through parseValue, then defaults, then the command's own cross-checks. Throws
 * UsageError; returns the values with `given` listing the options that were on the command line.
 */
export async function parseCommand(
  spec: CommandSpec,
  argv: readonly string[],
): Promise<Values & { given: Set<string> }> {
  const cmd = spec.name;
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const seeHelp = `; see 'segan help ${cmd}'`;
  // `--width -1`: parseArgs treats a value that starts with '-' as ambiguous; join it to its option so
  // the range check, not the tokenizer, answers (with the option's name and what it allows).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const o = a.startsWith('--') && !a.includes('=') ? byName.get(a.slice(2)) : undefined;
    if (o && o.type !== 'flag') {
      const next = argv[i + 1];
      if (
        next === undefined ||
        (next.startsWith('--') && (byName.has(next.slice(2).split('=')[0]) || next === '--help'))
      ) {
        throw new UsageError(`segan ${cmd}: --${o.name} needs a value: ${allowed(o)}`);
      }
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries([
        ...spec.options.map((o) => [o.name, { type: o.type === 'flag' ? 'boolean' : 'string' }] as const),
        ['help', { type: 'boolean', short: 'h' }],
      ]),
      allowPositionals: !!spec.positionals?.length,
      // --no-NAME turns a switch off: the way to leave out what a preset turns on (--preset cpu --no-flip)
      // (not where a spec declares a flag named no-X itself, as the benchmarks' --no-tfjs)
      allowNegative: !spec.options.some((o) => o.name.startsWith('no-')),
      strict: true,
      tokens: true,
    });
  } catch (e) {
    const msg = (e as Error).message;
    const code = (e as { code?: string }).code;
    const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(msg);
    if (unknown) {
      const name = unknown[1].replace(/^-+/, '');
      const near = suggest(
        name,
        spec.options.map((o) => o.name),
      );
      throw new UsageError(
        `segan ${cmd}: unknown option ${unknown[1]}${near ? ` (did you mean --${near}?)` : ''}${seeHelp}`,
      );
    }
    const missing = /Option '(?:-\w, )?--([\w-]+) <value>' argument missing/.exec(msg);
    if (missing && byName.has(missing[1]))
      throw new UsageError(`segan ${cmd}: --${missing[1]} needs a value: ${allowed(byName.get(missing[1])!)}`);
    const flagValue = /Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(msg);
    if (flagValue) throw new UsageError(`segan ${cmd}: --${flagValue[1]} takes no value${seeHelp}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const word = /'([^']*)'/.exec(msg)?.[1] ?? '';
      throw new UsageError(`segan ${cmd}: unexpected argument '${word}' (options start with --)${seeHelp}`);
    }
    throw new UsageError(`segan ${cmd}: ${msg.split('\n')[0]}`);
  }
  const out = { _: [] as string[], given: new Set<string>() } as Values & { given: Set<string> };
  if (parsed.values.help) {
    out.help = true;
    return out;
  }
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (out.given.has(t.name)) throw new UsageError(`segan ${cmd}: --${t.name} is given twice; give it once`);
    out.given.add(t.name);
  }
  // the values given first (a bad one is the more useful message), then what is missing
  for (const t of parsed.tokens ?? []) {
    if (t.kind === 'option' && t.name !== 'help')
      out[t.name] =
        byName.get(t.name)!.type === 'flag'
          ? t.rawName !== `--no-${t.name}`
          : parseValue(cmd, byName.get(t.name)!, String(t.value));
  }
  for (const o of spec.options) {
    if (out[o.name] !== undefined) continue;
    if (o.required) throw new UsageError(`segan ${cmd}: --${o.name} ${o.meta ?? 'VALUE'} is required (${o.help})`);
    if (o.default !== undefined) out[o.name] = o.default;
  }
  const positionals = parsed.positionals;
  const ps = spec.positionals ?? [];
  if (positionals.length > ps.length)
    throw new UsageError(`segan ${cmd}: unexpected argument '${positionals[ps.length]}'${seeHelp}`);
  ps.forEach((p, i) => {
    const w = positionals[i];
    if (w === undefined) {
      if (p.required)
        throw new UsageError(`segan ${cmd}: say ${p.values ? p.values.join(' or ') : p.name.toUpperCase()}${seeHelp}`);
      return;
    }
    if (p.values && !p.values.includes(w)) {
      const near = suggest(w, p.values);
      throw new UsageError(
        `segan ${cmd}: ${p.name} must be one of ${p.values.join(', ')} ` +
          `(got ${show(w)})${near ? `; did you mean ${near}?` : ''}`,
      );
    }
    out._.push(w);
  });
  await spec.check?.(out);
  return out;
}

/** `segan help <command>`: usage, then every option with what it accepts and its default. */
export function commandHelp(spec: CommandSpec): string {
  const ps = (spec.positionals ?? [])
    .map((p) =>
      p.required
        ? ` ${p.values?.join('|') ?? p.name.toUpperCase()}`
        : ` [${p.values?.join('|') ?? p.name.toUpperCase()}]`,
    )
    .join('');
  const req = spec.options
    .filter((o) => o.required)
    .map((o) => ` --${o.name} ${o.meta ?? 'VALUE'}`)
    .join('');
  const lines = [
    `segan ${spec.name}${ps}${req}${spec.options.some((o) => !o.required) ? ' [options]' : ''}`,
    '',
    spec.summary,
    '',
  ];
  for (const p of spec.positionals ?? [])
    lines.push(`  ${(p.values?.join('|') ?? p.name.toUpperCase()).padEnd(26)} ${p.help}`);
  if (spec.positionals?.length) lines.push('');
  lines.push('Options:');
  for (const o of spec.options) {
    const head = `  --${o.name}${o.type === 'flag' ? '' : ` ${o.meta ?? 'VALUE'}`}`;
    const dflt =
      o.defaultText ??
      (o.default === undefined ? null : Array.isArray(o.default) ? o.default.join('x') : String(o.default));
    const what = `${o.help}${o.required ? ' (required)' : ''}`;
    const accepts =
      o.type === 'flag'
        ? o.default === true
          ? `on unless --no-${o.name}`
          : ''
        : `${allowed(o)}${dflt !== null ? `; default ${dflt}` : ''}`;
    lines.push(head.length > 27 ? `${head}\n${' '.repeat(29)}${what}` : `${head.padEnd(28)} ${what}`);
    if (accepts) lines.push(`${' '.repeat(29)}${accepts}`);
  }
  lines.push(`  --help, -h                 this text`);
  if (spec.details) lines.push('', spec.details.trimEnd());
  return lines.join('\n') + '\n';
}
