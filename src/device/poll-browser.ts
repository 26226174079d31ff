// The browser twin of poll.ts: a browser pumps WebGPU's events itself, so there is nothing to wrap and
// nothing to predict. Same exports, no effects.
export const pollSettings = { predict: false };
export function installPolling(): void {}
export function uninstallPolling(): void {}
export function beginWait(_key?: string, _since?: number): void {}
export function endWait(): void {}
export function expectedWait(_key: string): number {
  return 0;
}
export function resetWaitHistory(): void {}
