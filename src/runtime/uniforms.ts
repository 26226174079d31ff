// Named uniform layouts: each kernel family's uniform block is declared once, as data (field names,
// WGSL types and what each field means). A layout emits its WGSL struct, which the kernel cache pastes
// where a shader says `//#uniforms NAME`, and packs values by field name with WGSL's alignment rules
// (4-byte scalars, 16-byte vec4u and arrays of them, a struct size rounded up to 16). So no shader
// copies a struct, no launcher counts positions, and a missing or misspelt field is an error.

export type ScalarType = 'u32' | 'i32' | 'f32';
/** A scalar, a vec4u, an array of `n` vec4u (n may be a template value, e.g. 'MASK_VEC4S'), or another layout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type FieldType = ScalarType | 'vec4u' | { vec4u: number | string } | { struct: UniformLayout<any> };

export interface FieldSpec {
  type: FieldType;
  /** What the field means (emitted as a comment beside it in the WGSL). */
  doc?: string;
}

type Spec = Record<string, FieldType | FieldSpec>;
type ValueOf<T> = T extends ScalarType | { type: ScalarType }
  ? number
  : T extends { struct: UniformLayout<infer C> } | { type: { struct: UniformLayout<infer C> } }
    ? UniformValues<C>
    : readonly number[];
/** Values for every field of a layout (arrays may be shorter than the field: the rest is 0). */
export type UniformValues<S extends Spec> = { [K in keyof S]: ValueOf<S[K]> };

interface Field {
  name: string;
  type: FieldType;
  doc?: string;
  /** Offset in 4-byte words. */
  offset: number;
}

const registry = new Map<string, UniformLayout<Spec>>();

export class UniformLayout<S extends Spec> {
  readonly fields: readonly Field[];
  /** Size of the block in 4-byte words (an array sized by a template value counts as 1 vec4u: see sizeFor). */
  readonly words: number;
  private readonly maxArray = 1;

  constructor(
    readonly name: string,
    readonly spec: S,
  ) {
    let offset = 0;
    const fields: Field[] = [];
    for (const [fname, f] of Object.entries(spec)) {
      const { type, doc } = typeof f === 'string' || !('type' in f) ? { type: f as FieldType, doc: undefined } : f;
      const align = type === 'u32' || type === 'i32' || type === 'f32' ? 1 : 4;
      offset = Math.ceil(offset / align) * align;
      fields.push({ name: fname, type, doc, offset });
      if (align === 1) offset += 1;
      else if (typeof type === 'object' && 'struct' in type) offset += type.struct.words;
      else offset += 4 * (typeof type === 'object' ? (typeof type.vec4u === 'number' ? type.vec4u : this.maxArray) : 1);
    }
    this.fields = fields;
    this.words = Math.ceil(offset / 4) * 4;
  }

  /** The WGSL struct, one field a line with its meaning. */
  wgsl(): string {
    const wtype = (t: FieldType) =>
      typeof t !== 'object'
        ? t
        : 'struct' in t
          ? t.struct.name
          : `array<vec4u, ${typeof t.vec4u === 'number' ? t.vec4u : `{{${t.vec4u}}}`}>`;
    const lines = this.fields.map((f) => {
      // a struct member's successor must start 16-byte aligned in the uniform address space: say its size
      const size = typeof f.type === 'object' && 'struct' in f.type ? `@size(${4 * f.type.struct.words}) ` : '';
      const decl = `  ${size}${f.name}: ${wtype(f.type)},`;
      return f.doc ? `${decl.padEnd(40)} // ${f.doc}` : decl;
    });
    return (
      `// ${this.name}: declared once in TypeScript, defineUniforms('${this.name}', ` +
      `…) (src/runtime/uniforms.ts)\nstruct ${this.name} {\n${lines.join('\n')}\n}`
    );
  }

  /** The block's words for these values (every field named; u32 values wrap like >>> 0). */
  pack(values: UniformValues<S>, arrayLength?: number): Uint32Array {
    const words = arrayLength === undefined ? this.words : this.sizeFor(arrayLength);
    const out = new Uint32Array(words);
    this.packInto(out, 0, values as Record<string, unknown>);
    return out;
  }

  private packInto(out: Uint32Array, base: number, values: Record<string, unknown>): void {
    const words = out.length;
    const f32 = new Float32Array(out.buffer);
    const i32 = new Int32Array(out.buffer);
    const given = values as Record<string, number | readonly number[] | Record<string, unknown> | undefined>;
    for (const k of Object.keys(given))
      if (!this.fields.some((f) => f.name === k)) throw new Error(`uniforms ${this.name}: no field '${k}'`);
    for (const f of this.fields) {
      const v = given[f.name];
      if (v === undefined) throw new Error(`uniforms ${this.name}: field '${f.name}' was not given`);
      const at = base + f.offset;
      if (f.type === 'u32') out[at] = (v as number) >>> 0;
      else if (f.type === 'i32') i32[at] = v as number;
      else if (f.type === 'f32') f32[at] = v as number;
      else if (typeof f.type === 'object' && 'struct' in f.type)
        f.type.struct.packInto(out, at, v as Record<string, unknown>);
      else {
        const a = v as readonly number[];
        const room = f.type === 'vec4u' ? 4 : typeof f.type.vec4u === 'number' ? 4 * f.type.vec4u : words - at;
        if (a.length > room)
          throw new Error(`uniforms ${this.name}: field '${f.name}' holds at most ${room} values, got ${a.length}`);
        for (let i = 0; i < a.length; i++) out[at + i] = a[i] >>> 0;
      }
    }
  }

  /** Words for a block whose last field is an array of `n` vec4u sized by a template value. */
  sizeFor(n: number): number {
    const last = this.fields[this.fields.length - 1];
    return typeof last.type === 'object' && 'vec4u' in last.type && typeof last.type.vec4u !== 'number'
      ? last.offset + 4 * n
      : this.words;
  }
}

/** Declare (once) the uniform block NAME; shaders get its struct with a `//#uniforms NAME` line. */
export function defineUniforms<S extends Spec>(name: string, spec: S): UniformLayout<S> {
  if (registry.has(name)) throw new Error(`uniforms ${name} is declared twice`);
  const layout = new UniformLayout(name, spec);
  registry.set(name, layout as unknown as UniformLayout<Spec>);
  return layout;
}

/** The struct text for `//#uniforms NAME` (the kernel cache calls this). */
export function uniformStruct(name: string): string {
  const l = registry.get(name);
  if (!l) throw new Error(`//#uniforms ${name}: no layout of that name is declared (defineUniforms)`);
  return l.wgsl();
}

/** Every declared layout (tests check each against WGSL's own layout rules on the device). */
export function uniformLayouts(): UniformLayout<Spec>[] {
  return [...registry.values()];
}
