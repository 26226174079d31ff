// Globals that Node code in the browser bundle names (esbuild's `inject`): Buffer from the `buffer`
// package (NIfTI headers are parsed with Buffer's readers), and a `process` with an empty environment
// (DAWNGRAD_* variables do not exist in a page).
export { Buffer } from 'buffer';
export const process = {
  env: {} as Record<string, string | undefined>,
  platform: 'browser',
  pid: 0,
  stderr: { write: (s: string) => (console.warn(s), true) },
};
