// docs/reliability.md's table of command-line checks is generated from the declarations: keep it equal.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { checksTable } from '../../src/cli/checks-table.ts';

it('docs/reliability.md lists exactly what src/cli/commands.ts and src/device/env.ts declare', () => {
  const doc = readFileSync(new URL('../../docs/reliability.md', import.meta.url), 'utf8');
  const m = /<!-- checks-table:begin -->\n([\s\S]*?)<!-- checks-table:end -->/.exec(doc);
  expect(m, 'the table markers are missing').not.toBeNull();
  expect(
    m![1],
    "regenerate it: npx tsx -e \"import('./src/cli/checks-table.ts').then((m) " +
      '=> process.stdout.write(m.checksTable()))"',
  ).toBe(checksTable());
});
