// The table of what `segan` checks before it does anything, generated from the command table, for
// docs/reliability.md (test/cli/docs.test.ts keeps the page equal to this).
import { COMMANDS } from './commands.ts';
import { allowed } from './options.ts';
import { ENV_VARS } from '../device/env.ts';

export function checksTable(): string {
  const rows = ['| command | option | accepts | default |', '|---|---|---|---|'];
  for (const c of COMMANDS) {
    for (const o of c.options) {
      const dflt = o.required
        ? 'required'
        : (o.defaultText ??
          (o.default === undefined ? '—' : Array.isArray(o.default) ? o.default.join('x') : String(o.default)));
      rows.push(`| ${c.name} | \`--${o.name}\` | ${o.type === 'flag' ? 'no value' : allowed(o)} | ${dflt} |`);
    }
  }
  rows.push('', '| variable | accepts |', '|---|---|');
  for (const v of ENV_VARS) rows.push(`| \`${v.name}\` | ${v.accepts} |`);
  return rows.join('\n') + '\n';
}
