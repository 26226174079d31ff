// PyTorch as a peer (never a dependency): find a python3 that imports torch, and time SegAN's D+G step
// in it (bench/peers/segan_torch.py, the same networks, losses and Adam as src/segan/trainer.ts).
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface TorchPython {
  python: string;
  version: string;
  cuda: boolean;
}

/** The first of $PYTHON, python3 and /usr/bin/python3 (Debian's python3-torch) that has torch; else null. */
export function findTorchPython(): TorchPython | null {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of [...new Set(candidates)]) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available())'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (r.status === 0) {
      const [version, cuda] = r.stdout.trim().split(' ');
      return { python, version, cuda: cuda === 'True' };
    }
  }
  return null;
}

export interface TorchStep {
  device: string;
  torch: string;
  tf32: boolean;
  ms: number;
  ms_all: number[];
}

/**
 * One D+G step in PyTorch eager fp32 (median of `reps`), or { error } saying why not. Asynchronous: a
 * blocking spawn while Dawn tears an engine down has crashed the process (a mutex assertion).
 */
export async function torchStep(
  py: TorchPython,
  o: {
    batch: number;
    width: number;
    size: number;
    classes?: number;
    device?: 'cuda' | 'cpu';
    tf32?: boolean;
    reps?: number;
  },
): Promise<TorchStep | { error: string }> {
  const script = fileURLToPath(new URL('./segan_torch.py', import.meta.url));
  const args = [
    script,
    '--batch',
    String(o.batch),
    '--width',
    String(o.width),
    '--size',
    String(o.size),
    '--classes',
    String(o.classes ?? 3),
    '--reps',
    String(o.reps ?? 5),
  ];
  if (o.device) args.push('--device', o.device);
  if (o.tf32) args.push('--tf32');
  const r = await new Promise<{ error: Error | null; stdout: string; stderr: string }>((done) =>
    execFile(py.python, args, { encoding: 'utf8', timeout: 600_000 }, (error, stdout, stderr) =>
      done({ error, stdout, stderr }),
    ),
  );
  if (r.error) return { error: (r.stderr.trim().split('\n').pop() || r.error.message).slice(0, 300) };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchStep;
  } catch {
    return { error: `unreadable output: ${r.stdout.slice(0, 200)}` };
  }
}
