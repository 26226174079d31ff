#!/usr/bin/env node
// Lines of code stay within 120 characters (issue 17). Prettier breaks code at printWidth 120 but leaves comments,
// string and template literals and regexes alone; this check catches those. Plain Node, no dependencies:
//   node scripts/check-line-length.mjs        prints file:line: N characters (max 120) per offender, exit 1 if any
// A line is measured in characters (Unicode code points), as prettier measures its width.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const PATTERNS = ['src/*.ts', 'test/*.ts', 'bench/*.ts', 'scripts/*.ts', 'scripts/*.mjs', 'bin/*.mjs'];

// Lines allowed to stay longer, each rule with its reason.
const ALLOWED = [
  {
    // VIEWER_SCRIPT is browser JavaScript inside a template literal, served byte for byte: splitting these lines
    // would change the page's script or cut a statement into string pieces.
    file: 'src/segan/viewer.ts',
    allows: (line) =>
      [
        'for (let i = 0; i < lab.length; i++) if (lab[i]) {',
        'if (canvas.width !== W) { canvas.width = W;',
        'for (const [n2, [, , f2]] of Object.entries(planes))',
      ].some((start) => line.trimStart().startsWith(start)),
  },
  {
    // The op table: each row's doc comment is one line with an example (test/api.test.ts checks that), so that
    // the row reads as one entry: `/** what it does. `example` */` directly above `export const name = ...`.
    file: 'src/ops/table.ts',
    allows: (line, next) => /^\/\*\* .* \*\/$/.test(line) && next.startsWith('export const '),
  },
];

const files = execFileSync('git', ['ls-files', '-z', '--', ...PATTERNS], { encoding: 'utf8' })
  .split('\0')
  .filter(Boolean);

let offenders = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // deleted in the working tree but not yet in the index
  }
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    const n = [...line].length;
    if (n <= MAX) continue;
    if (ALLOWED.some((a) => a.file === file && a.allows(line, lines[i + 1] ?? ''))) continue;
    console.log(`${file}:${i + 1}: ${n} characters (max ${MAX})`);
    offenders++;
  }
}
if (offenders) {
  console.log(
    `${offenders} line${offenders === 1 ? '' : 's'} longer than ${MAX} characters: ` +
      'rewrap the comment, or split the string into concatenated pieces',
  );
  process.exit(1);
}
