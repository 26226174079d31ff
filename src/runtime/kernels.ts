// Kernel registry: WGSL sources from shaders/, specialised by template, compiled once per variant.
//
// A kernel variant is (file, template values). Shapes never enter the key: they travel in uniforms,
// so one pipeline serves every shape. Compile problems are collected asynchronously
// (getCompilationInfo) and thrown at the next sync point with the kernel's name, the message and the
// offending source lines.
import { readShaderFile } from './shader-files.ts';
import { uniformStruct } from './uniforms.ts';
const sourceCache = new Map<string, string>();

/**
 * Text of shaders/<path>.wgsl, with every line `//#include "other/path"` replaced by that file's text
 * (WGSL has no includes; this keeps shared helpers in one file) and every line `//#uniforms NAME` by
 * the struct of the uniform layout NAME (src/runtime/uniforms.ts: declared once, in TypeScript).
 */
export function shaderSource(path: string, depth = 0): string {
  let s = sourceCache.get(path);
  if (s === undefined) {
    if (depth > 4) throw new Error(`shaders/${path}.wgsl: includes nested too deeply`);
    s = readShaderFile(path)
      .replace(/^\/\/#include "([\w/]+)"$/gm, (_, inc: string) => shaderSource(inc, depth + 1))
      .replace(/^\/\/#uniforms (\w+)$/gm, (_, name: string) => uniformStruct(name));
    sourceCache.set(path, s);
  }
  return s;
}

/** Replace every {{KEY}} with defines[KEY]; an unknown key is an error (a typo would compile oddly). */
export function specialise(path: string, source: string, defines: Record<string, string | number>): string {
  return source.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in defines)) throw new Error(`kernel ${path}: template value {{${key}}} was not given`);
    return String(defines[key]);
  });
}

export interface CompiledKernel {
  readonly name: string;
  readonly id: number;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly code: string;
  /** Indices into dispatch()'s buffer list (binding − 1) of the bindings declared read_write. */
  readonly writable: readonly number[];
}

/** The storage bindings a kernel may write: `@binding(n) var<storage, read_write>` → n − 1. */
export function writableBindings(code: string): number[] {
  const out: number[] = [];
  for (const m of code.matchAll(/@binding\(\s*(\d+)\s*\)\s*var\s*<\s*storage\s*,\s*read_write\s*>/g))
    out.push(Number(m[1]) - 1);
  return out;
}

export class KernelCompileError extends Error {
  override name = 'KernelCompileError';
}

export class KernelCache {
  private pipelines = new Map<string, CompiledKernel>();
  private checks: Promise<void>[] = [];
  private firstError: Error | null = null;
  private nextId = 1;

  constructor(private device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /**
   * The pipeline for shaders/<path>.wgsl specialised with `defines`. `name` labels the GPU objects,
   * so Dawn's own validation messages name the kernel too.
   */
  get(path: string, defines: Record<string, string | number> = {}, name = path): CompiledKernel {
    const key = `${path}|${JSON.stringify(defines)}`;
    let k = this.pipelines.get(key);
    if (k) return k;
    k = this.compile(name, specialise(path, shaderSource(path), defines), path, key);
    return k;
  }

  /** Compile WGSL text directly (used by get(); tests use it to exercise the error path). */
  compile(name: string, code: string, path = name, key = `${path}|source:${code}`): CompiledKernel {
    let k = this.pipelines.get(key);
    if (k) return k;
    // A scope of its own: a broken module or pipeline also raises a device error, which must not
    // surface later as an unrelated op's error (or as an uncaptured one when no batch is open).
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code, label: name });
    const pipeline = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: name,
    });
    const layout = pipeline.getBindGroupLayout(0);
    const scope = this.device.popErrorScope().catch(() => null);
    this.checks.push(
      Promise.all([module.getCompilationInfo(), scope]).then(([info, error]) => {
        if (this.firstError) return;
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length) this.firstError = new KernelCompileError(formatCompileErrors(name, path, code, errors));
        // compiled, but the pipeline was refused (a limit of this adapter, the layout, the entry point)
        else if (error)
          this.firstError = new KernelCompileError(
            `kernel '${name}' (shaders/${path}.wgsl): the pipeline ` +
              `could not be created on this adapter:\n${error.message}`,
          );
      }),
    );
    k = { name, id: this.nextId++, pipeline, layout, code, writable: writableBindings(code) };
    this.pipelines.set(key, k);
    return k;
  }

  /** Wait for outstanding compile checks; throw the first compile error found. */
  async check(): Promise<void> {
    if (this.checks.length) {
      const pending = this.checks;
      this.checks = [];
      await Promise.all(pending);
    }
    if (this.firstError) {
      const e = this.firstError;
      this.firstError = null;
      throw e;
    }
  }
}

export function formatCompileErrors(
  name: string,
  path: string,
  code: string,
  messages: readonly GPUCompilationMessage[],
): string {
  const lines = code.split('\n');
  const parts = messages.map((m) => {
    const n = m.lineNum;
    const from = Math.max(1, n - 2);
    const to = Math.min(lines.length, n + 2);
    const excerpt: string[] = [];
    for (let i = from; i <= to; i++) {
      excerpt.push(`${i === n ? '>' : ' '} ${String(i).padStart(4)} | ${lines[i - 1]}`);
      if (i === n && m.linePos > 0) excerpt.push(`         ${' '.repeat(m.linePos - 1)}^`);
    }
    return `  line ${n}:${m.linePos}: ${m.message}\n${excerpt.join('\n')}`;
  });
  return `WGSL compile error in kernel '${name}' (shaders/${path}.wgsl):\n${parts.join('\n')}`;
}
