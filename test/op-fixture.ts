/**
 * Case accessors shared by the operator tests (src/torch/ops.test.ts, ops_extra.test.ts): a fixture
 * written by test/reference/ops/*.py stores case `name` as `name.in.<arg>` inputs and `name.out` or
 * `name.out.<k>` outputs, and lists the cases in the `cases` metadata entry.
 */
import { existsSync } from 'node:fs';
import type { Tensor } from '../src/torch/index.js';
import { fixturePath } from './fixture-path.js';

/** A case's inputs by argument name; reading a missing one throws, naming the case. */
export type CaseInputs = Record<string, Tensor>;

/** One operator fixture file, read. */
export interface OpFixture {
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Case names listed by the generator. */
  readonly cases: string[];
  inputsOf(name: string): CaseInputs;
  /** The case's outputs (one or several); throws when it has none. */
  outputsOf(name: string): Tensor[];
}

/** Path of `test/fixtures/ops/<file>`; the error names the script that writes it. */
export function opFixturePath(file: string, script: string): string {
  const found = fixturePath(`ops/${file}`);
  if (!existsSync(found)) throw new Error(`${found} not found: run /usr/bin/python3 test/reference/ops/${script}`);
  return found;
}

/** Case accessors over the tensors and metadata of an operator fixture. */
export function opFixture(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>>): OpFixture {
  return {
    tensors,
    metadata,
    cases: JSON.parse(metadata.cases ?? '[]') as string[],
    inputsOf(name) {
      const prefix = `${name}.in.`;
      const out: CaseInputs = {};
      for (const [k, t] of tensors) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = t;
      return new Proxy(out, {
        get(target, key: string) {
          if (!(key in target)) throw new Error(`fixture case ${name} has no input '${key}'`);
          return target[key];
        },
      });
    },
    outputsOf(name) {
      const single = tensors.get(`${name}.out`);
      if (single) return [single];
      const list: Tensor[] = [];
      for (let k = 0; tensors.has(`${name}.out.${k}`); k++) list.push(tensors.get(`${name}.out.${k}`)!);
      if (list.length === 0) throw new Error(`fixture case ${name} has no output`);
      return list;
    },
  };
}
