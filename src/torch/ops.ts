/**
 * ATen operators by schema name. `op('aten::add', 'Tensor')` names an operator; it is looked up in
 * the dispatcher on first use, so operators that only some libtorch versions have cost nothing
 * until called and can be feature-tested with `hasOp`.
 */
import { native } from './native.js';

/** A lazily resolved ATen operator. */
export class Op {
  #id = -2;
  constructor(
    readonly name: string,
    readonly overload = '',
  ) {}

  /** Dispatcher id; throws when this libtorch lacks the operator. */
  get id(): number {
    if (this.#id === -2) this.#id = native.findOp(this.name, this.overload);
    if (this.#id === -1) throw new Error(`operator ${this.qualifiedName} is not available in libtorch ${native.buildInfo().libtorch}`);
    return this.#id;
  }

  /** True when this libtorch has the operator. */
  get available(): boolean {
    if (this.#id === -2) this.#id = native.findOp(this.name, this.overload);
    return this.#id !== -1;
  }

  /** `name.overload` as PyTorch prints it. */
  get qualifiedName(): string {
    return this.overload ? `${this.name}.${this.overload}` : this.name;
  }

  /** The schema text, e.g. `aten::add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor`. */
  get schema(): string {
    return native.opSchema(this.id);
  }

  /**
   * How calls reach the operator: its argument pattern when it is called unboxed (T a tensor, S a
   * Scalar: "TTS" for add.Tensor, "TS" for mul.Scalar), or "boxed" through the dispatcher's IValue
   * stack (in-place, out= and view operators, lists, optionals, …). Both give the same results.
   */
  get callForm(): string {
    return native.opCallForm(this.id);
  }
}

const registry = new Map<string, Op>();

/** The operator `name` with `overload` (shared instance per name). */
export function op(name: string, overload = ''): Op {
  const key = `${name}.${overload}`;
  let found = registry.get(key);
  if (!found) {
    found = new Op(name, overload);
    registry.set(key, found);
  }
  return found;
}

/** True when the running libtorch has the operator. */
export function hasOp(name: string, overload = ''): boolean {
  return op(name, overload).available;
}
