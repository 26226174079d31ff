// Shared benchmark plumbing: benny suites with settings fit for a slow CPU adapter, results as rows
// (ms, GFLOP/s or GB/s, the peer's ms and the ratio), JSON under bench/results/ and a Markdown table.
import b from 'benny';
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface Row {
  suite: string;
  case: string;
  /** Median time per run over benny's samples (ms). */
  ms: number;
  /** Useful work per run, to turn ms into a rate. */
  flops?: number;
  bytes?: number;
  peerMs?: number;
  note?: string;
  /** Operations per run: the table adds the time per operation. */
  perOp?: number;
  /** With several runs of a suite (BENCH_REPEAT): each run's ms and peer ms; `ms` is their median. */
  runsMs?: number[];
  runsPeerMs?: number[];
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const OPTIONS = {
  minSamples: Number(process.env.BENCH_SAMPLES ?? 5),
  maxTime: Number(process.env.BENCH_MAX_TIME ?? 2),
  delay: 0.05,
};

/**
 * Time async cases with benny; returns the median ms per run for each case name (the median of
 * benny's samples: robust to the odd slow run, a GC pause or a busy core, where the mean is not;
 * with two samples it is their mean).
 */
export async function time(
  suite: string,
  cases: Record<string, () => Promise<void>>,
  options: Partial<typeof OPTIONS> = {},
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  await b.suite(
    suite,
    ...Object.entries(cases).map(([name, fn]) => b.add(name, fn, { ...OPTIONS, ...options })),
    b.cycle((result: { name: string; ops: number; details?: { median?: number } }) => {
      const median = result.details?.median;
      out[result.name] = median !== undefined && median > 0 ? 1000 * median : 1000 / result.ops;
    }),
    b.complete(() => undefined),
  );
  return out;
}

export function rate(r: Row): string {
  if (r.flops) return `${(r.flops / r.ms / 1e6).toFixed(2)} GFLOP/s`;
  if (r.bytes) return `${(r.bytes / r.ms / 1e6).toFixed(2)} GB/s`;
  return '';
}

export function peerRate(r: Row): string {
  if (!r.peerMs) return '';
  if (r.flops) return `${(r.flops / r.peerMs / 1e6).toFixed(2)} GFLOP/s`;
  if (r.bytes) return `${(r.bytes / r.peerMs / 1e6).toFixed(2)} GB/s`;
  return '';
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Several runs of one suite merged: each case's median ms (and the peer's) over the runs, keeping
 * every run's figure. On a noisy host (a shared VM: the same code measured ±20 % between runs
 * minutes apart) the median of a few runs is steadier than any one of them.
 */
export function medianOfRuns(runs: Row[][]): Row[] {
  if (runs.length === 1) return runs[0]!;
  return runs[0]!.map((r) => {
    const same = runs
      .map((rs) => rs.find((q) => q.suite === r.suite && q.case === r.case))
      .filter((q): q is Row => !!q);
    const ms = same.map((q) => q.ms);
    const peer = same.map((q) => q.peerMs).filter((v): v is number => v !== undefined);
    return {
      ...r,
      ms: median(ms),
      peerMs: peer.length ? median(peer) : undefined,
      runsMs: ms,
      runsPeerMs: peer.length ? peer : undefined,
    };
  });
}

/** How many times to run a repeatable suite (BENCH_REPEAT, default `fallback`). */
export function repeats(fallback: number): number {
  const n = Number(process.env.BENCH_REPEAT ?? fallback);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_REPEAT must be a whole number ≥ 1, got '${process.env.BENCH_REPEAT}'`);
  return n;
}

function noteOf(r: Row): string | undefined {
  return r.note ?? (r.perOp ? `${((r.ms * 1000) / r.perOp).toFixed(1)} µs per op` : undefined);
}

export function table(rows: Row[]): string {
  const lines = [
    '| suite | case | ms | rate | TF.js ms | TF.js rate | speed-up |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.suite} | ${r.case}${noteOf(r) ? ` (${noteOf(r)})` : ''} | ${r.ms.toFixed(2)} ` +
        `| ${rate(r)} | ${r.peerMs ? r.peerMs.toFixed(2) : '-'} ` +
        `| ${peerRate(r) || '-'} | ${r.peerMs ? `${(r.peerMs / r.ms).toFixed(2)}x` : '-'} |`,
    ),
  ];
  return lines.join('\n');
}

export function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'adapter'
  );
}

/** Write bench/results/<name>-<adapter>.json and replace the marked section of docs/benchmarks.md. */
export function save(name: string, adapter: string, rows: Row[], extra: Record<string, unknown> = {}): string {
  const dir = `${ROOT}bench/results`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/${name}-${slug(adapter)}.json`;
  const payload = {
    name,
    adapter,
    commit: commit(),
    date: new Date().toISOString(),
    ...extra,
    rows: rows.map((r) => ({
      ...r,
      rate: rate(r),
      peerRate: peerRate(r) || undefined,
      speedup: r.peerMs ? r.peerMs / r.ms : undefined,
    })),
  };
  writeFileSync(file, JSON.stringify(payload, null, 2) + '\n');
  const doc = `${ROOT}docs/benchmarks.md`;
  const begin = `<!-- bench:${name}:begin -->`;
  const end = `<!-- bench:${name}:end -->`;
  const runs = rows[0]?.runsMs?.length ?? 1;
  const how =
    runs > 1
      ? ` Each figure is the median of ${runs} runs of the suite ` +
        `(each run: benny's median); every run's figure is in the JSON.`
      : '';
  const section =
    `${begin}\nAdapter: ${adapter}; ` +
    `commit ${payload.commit}; ${payload.date.slice(0, 10)}.${how}\n\n${table(rows)}\n${end}`;
  let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n';
  if (text.includes(begin) && text.includes(end))
    text = text.slice(0, text.indexOf(begin)) + section + text.slice(text.indexOf(end) + end.length);
  else text += `\n## ${name}\n\n${section}\n`;
  writeFileSync(doc, text);
  return file;
}
