// Minimal flag parsing: --name value, --flag; unknown flags are errors that list the known ones.
export function parseFlags(argv: string[], spec: Record<string, 'string' | 'number' | 'boolean'>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const name = a.slice(2);
    const kind = spec[name];
    if (!kind) throw new Error(`unknown option '${a}'; known: ${Object.keys(spec).map((k) => `--${k}`).join(', ')}`);
    if (kind === 'boolean') {
      out[name] = true;
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new Error(`option '${a}' needs a value`);
    if (kind === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`option '${a}' needs a number, got '${v}'`);
      out[name] = n;
    } else out[name] = v;
  }
  return out;
}
