// `segan inspect --data DIR [--json]`: what is in a BraTS data folder and what is wrong with it.
// Exit code 0 when every case is complete and consistent, 1 when there is any problem, 2 on bad usage.
import path from 'node:path';
import type { Values } from './options.ts';
import { inspectDataDir, type InspectReport, type VolumeReport } from '../data/inspect.ts';

export interface InspectIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIO: InspectIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

function fmtNum(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(1) : x.toPrecision(4);
}

function fmtCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

function valuesCell(v: VolumeReport): string {
  if (!v.ok) return `ERROR: ${v.error}`;
  if (v.labelCounts)
    return Object.entries(v.labelCounts)
      .map(([l, n]) => `${l}:${fmtCount(n)}`)
      .join(' ');
  return `${fmtNum(v.min)}..${fmtNum(v.max)}${v.scaled ? ` (scl ${fmtNum(v.sclSlope)})` : ''}`;
}

/** The report as an aligned text table plus the problem list. */
export function formatReport(r: InspectReport): string {
  const head = ['case', 'vol', 'shape', 'dtype', 'voxel mm', 'orient', 'range / labels'];
  const rows: string[][] = [];
  for (const c of r.cases)
    c.volumes.forEach((v, i) =>
      rows.push([
        i === 0 ? c.id : '',
        v.kind,
        v.shape ? v.shape.join('×') : '-',
        v.datatype ?? '-',
        v.voxelSize ? v.voxelSize.map(fmtNum).join('×') : '-',
        v.orientation ?? '-',
        valuesCell(v),
      ]),
    );
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  const line = (cells: string[]): string =>
    cells.map((c, k) => (k < cells.length - 1 ? c.padEnd(widths[k]) : c)).join('  ');
  const rule = line(widths.map((w, k) => '-'.repeat(k < widths.length - 1 ? w : Math.min(w, 40))));
  const out: string[] = [`${r.dataDir}: ${r.cases.length} case(s)`, '', line(head), rule, ...rows.map(line)];
  const notes = r.cases.flatMap((c) => c.notes.map((n) => `${c.id}: ${n}`));
  if (notes.length) out.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  out.push('', r.problems.length ? `${r.problems.length} problem(s):` : 'no problems');
  for (const p of r.problems) out.push(`  ${p}`);
  return out.join('\n') + '\n';
}

export async function inspectCommand(flags: Values, io: InspectIO = defaultIO): Promise<number> {
  const dir = path.resolve(String(flags.data));
  let report: InspectReport;
  try {
    report = await inspectDataDir(dir, {
      onCase:
        flags.json || io !== defaultIO || !process.stderr.isTTY
          ? undefined
          : (c, i, n) => io.err(`\r${i + 1}/${n} ${c.id}`.padEnd(60) + (i + 1 === n ? '\r'.padEnd(61) + '\r' : '')),
    });
  } catch (e) {
    io.err(`segan inspect: --data ${flags.data}: ${(e as Error).message}\n`);
    return 1;
  }
  io.out(flags.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.ok ? 0 : 1;
}
