// What the GPU reports, and when it is thrown. WebGPU reports errors asynchronously: each command batch
// records inside two error scopes (out of memory, validation), popped after its submit; errors outside
// any scope (an upload, a buffer) arrive as 'uncapturederror' events; a lost device resolves
// device.lost. All of them are collected here and thrown at the next sync point (check()), as a
// GpuError naming the op where Dawn's message allows, or a GpuOutOfMemoryError.
import { GpuOutOfMemoryError } from './pool.ts';

export class GpuError extends Error {
  override name = 'GpuError';
}

/** Prefix of a collected message that is an out-of-memory error (thrown as GpuOutOfMemoryError). */
const OOM_MARK = '\u0000oom:';

function isOutOfMemory(error: GPUError): boolean {
  const ctor = (globalThis as { GPUOutOfMemoryError?: abstract new (...a: never[]) => GPUError }).GPUOutOfMemoryError;
  return (ctor !== undefined && error instanceof ctor) || error.constructor?.name === 'GPUOutOfMemoryError';
}

function outOfMemoryError(marked: string): GpuOutOfMemoryError {
  return new GpuOutOfMemoryError({ kind: 'device', message: marked.slice(OOM_MARK.length) });
}

export class DeviceErrors {
  private scopeChecks: Promise<string | null>[] = [];
  private uncaptured: string | null = null;
  /** Why the device was lost ("reason: message"), or null while it works. */
  lostMessage: string | null = null;

  constructor(
    private readonly device: GPUDevice,
    /** A loss after close() is the close itself, not an error. */
    isClosed: () => boolean,
  ) {
    device.addEventListener('uncapturederror', (ev) => {
      ev.preventDefault();
      const error = (ev as GPUUncapturedErrorEvent).error;
      if (!this.uncaptured) this.uncaptured = isOutOfMemory(error) ? `${OOM_MARK}${error.message}` : error.message;
    });
    void device.lost.then((info) => {
      if (!isClosed()) this.lostMessage = `${info.reason ?? 'unknown'}: ${info.message}`;
    });
  }

  /** Throw if the device is gone or closed; called before recording any work. */
  assertUsable(op: string, closed: boolean): void {
    if (closed) throw new GpuError(`${op}: the engine is closed`);
    if (this.lostMessage)
      throw new GpuError(
        `${op}: the GPU device was lost (${this.lostMessage}). Create a new engine; saved checkpoints are unaffected.`,
      );
  }

  /**
   * Open a command batch's two scopes: the device's out-of-memory errors (buffers created while
   * recording) and validation errors; popped in reverse order after the submit (popBatchScopes).
   */
  pushBatchScopes(): void {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
  }

  /** After a batch's submit: pop its scopes; what they caught is thrown by the next check(). */
  popBatchScopes(ops: string[]): void {
    this.scopeChecks.push(this.popScopes(ops));
  }

  /** Balance the scopes of a batch that is dropped unsubmitted. */
  dropBatchScopes(): void {
    void this.device.popErrorScope().catch(() => undefined);
    void this.device.popErrorScope().catch(() => undefined);
  }

  /** Pop the batch's out-of-memory and validation scopes: the error's message (out of memory marked), or null. */
  private async popScopes(ops: string[]): Promise<string | null> {
    // a lost device may reject the pops: check() then reports the loss itself
    const [oom, validation] = await Promise.all([
      this.device.popErrorScope().catch(() => null),
      this.device.popErrorScope().catch(() => null),
    ]);
    const context = `\n(while running ops: ${ops.join(', ')})`;
    if (oom) return `${OOM_MARK}${oom.message}${context}`;
    if (!validation) return null;
    const op = culpritOp(validation.message, ops);
    return `GPU validation error${op ? ` in op '${op}'` : ''}: ${validation.message}${context}`;
  }

  /** Throw the first error the GPU reported so far (batch scopes, then uncaptured, then a lost device). */
  async check(): Promise<void> {
    if (this.scopeChecks.length) {
      const checks = this.scopeChecks;
      this.scopeChecks = [];
      const msgs = (await Promise.all(checks)).filter((m): m is string => !!m);
      const oom = msgs.find((m) => m.startsWith(OOM_MARK));
      if (oom) throw outOfMemoryError(oom);
      if (msgs.length) throw new GpuError(msgs[0]!);
    }
    if (this.uncaptured) {
      const m = this.uncaptured;
      this.uncaptured = null;
      if (m.startsWith(OOM_MARK)) throw outOfMemoryError(m);
      // outside a batch's scopes (an upload, a buffer): the object's label is the op that made it
      const label = dawnLabels(m)[0];
      throw new GpuError(`GPU error${label ? ` in '${label}'` : ''}: ${m}`);
    }
    if (this.lostMessage) throw new GpuError(`the GPU device was lost (${this.lostMessage})`);
  }
}

/** The labels of the objects a Dawn message names ([BindGroup "add"], [ComputePipeline "sum.serial"]). */
function dawnLabels(message: string): string[] {
  return [...message.matchAll(/\[\w+ "+([^"\]]+)"+\]/g)].map((m) => m[1]!);
}

/** Which of a batch's ops a validation message is about: the first label that is one of them (a
 *  kernel's label is `op.variant`). Null when the message names none. */
export function culpritOp(message: string, ops: readonly string[]): string | null {
  for (const label of dawnLabels(message)) {
    const op = ops.find((o) => label === o || label.startsWith(`${o}.`));
    if (op) return op;
  }
  return null;
}
