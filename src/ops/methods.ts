// The Tensor methods, derived from the public op table (table.ts): every row declared with method()
// becomes x.NAME(...rest) = NAME(x, ...rest), attached to Tensor.prototype when this module loads
// (tensor/ is below ops/ and imports no op), and typed by a mapped type over the table, so an editor
// shows each row's doc comment on the method too.
import { Tensor } from '../tensor/tensor.ts';
import type { Method } from './table.ts';
import * as table from './table.ts';

type Table = typeof table;
/** A row's function without its first argument (the tensor the method is called on). */
type MethodOf<F> = F extends (self: never, ...rest: infer R) => infer T ? (...rest: R) => T : never;
/** x.NAME(...) for every method row of the table; a homomorphic mapped type keeps the rows' doc comments. */
export type TableMethods = { [K in keyof Table as Table[K] extends Method<unknown> ? K : never]: MethodOf<Table[K]> };

// Every method row takes the tensor first; one that does not names itself in a type error here.
type NotTakingATensorFirst = {
  [K in keyof TableMethods]: Table[K] extends (self: Tensor, ...rest: never[]) => Tensor ? never : K;
}[keyof TableMethods];
const everyMethodRowTakesATensorFirst: [NotTakingATensorFirst] extends [never] ? true : NotTakingATensorFirst = true;
void everyMethodRowTakesATensorFirst;

declare module '../tensor/tensor.ts' {
  interface Tensor extends TableMethods {}
}

for (const [name, f] of Object.entries(table)) {
  if (!table.rowOf(f)?.method) continue;
  const op = f as (self: Tensor, ...rest: unknown[]) => Tensor;
  Object.defineProperty(Tensor.prototype, name, {
    value: function (this: Tensor, ...rest: unknown[]): Tensor {
      return op(this, ...rest);
    },
    writable: true,
    configurable: true,
  });
}
