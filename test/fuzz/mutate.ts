/**
 * Seeded mutations of a valid file: truncation, bit flips, boundary bytes, integer fields set to
 * boundary values, numbers in a text header set to boundary numbers, inserted and deleted runs, and
 * (for zip containers) any of these applied to one member and re-zipped with a correct CRC, so that the
 * edit gets past the checksum and reaches the parser behind it.
 */
import { makeZip, rng, unzip } from '../io-testing.js';

/** A seeded stream of random choices. */
export class Random {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = rng(seed);
  }

  /** A float in [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  /** One of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** An offset in [0, n), biased towards the start (headers live there): half the time within the first 256 bytes. */
  offset(n: number): number {
    return this.float() < 0.5 ? this.int(Math.min(n, 256)) : this.int(n);
  }
}

/** How a mutated case was made (reported with every case that is not a clean error). */
export type MutationKind = 'truncate' | 'bitflip' | 'byte' | 'int-field' | 'text-number' | 'insert' | 'delete' | 'rezip';

/** Integers at the edges of every field width. */
const BOUNDARY_INTS: readonly bigint[] = [
  0n,
  1n,
  2n,
  7n,
  8n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0xffffn,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 53n,
  2n ** 63n - 1n,
  2n ** 64n - 1n,
];

/** Numbers that break size arithmetic when they replace one in a JSON or Python-literal header. */
const BOUNDARY_NUMBERS: readonly string[] = [
  '0',
  '-1',
  '1',
  '1e9',
  '1e400',
  '4294967296',
  '9007199254740993',
  '-0',
  '1.5',
  'NaN',
  '2147483648',
  '18446744073709551615',
];

const BOUNDARY_BYTES: readonly number[] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

function truncate(b: Uint8Array, r: Random): Uint8Array {
  return b.slice(0, r.offset(b.byteLength));
}

function bitflip(b: Uint8Array, r: Random): Uint8Array {
  const out = b.slice();
  for (let k = 1 + r.int(8); k > 0; k--) {
    const at = r.offset(out.byteLength);
    out[at] = (out[at] as number) ^ (1 << r.int(8));
  }
  return out;
}

function boundaryByte(b: Uint8Array, r: Random): Uint8Array {
  const out = b.slice();
  for (let k = 1 + r.int(4); k > 0; k--) out[r.offset(out.byteLength)] = r.pick(BOUNDARY_BYTES);
  return out;
}

function intField(b: Uint8Array, r: Random): Uint8Array {
  const out = b.slice();
  const width = r.pick([2, 4, 8]);
  if (out.byteLength < width) return boundaryByte(b, r);
  const at = r.offset(out.byteLength - width + 1);
  const v = r.float() < 0.85 ? r.pick(BOUNDARY_INTS) : BigInt(r.int(2 ** 31));
  const little = r.float() < 0.7;
  for (let i = 0; i < width; i++) out[at + (little ? i : width - 1 - i)] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** Replace one run of ASCII digits (in a JSON header, a Python dict, a text field) by a boundary number. */
function textNumber(b: Uint8Array, r: Random): Uint8Array {
  const runs: [number, number][] = [];
  for (let i = 0; i < Math.min(b.byteLength, 65536); i++) {
    if (!isDigit(b[i] as number)) continue;
    let j = i;
    while (j < b.byteLength && isDigit(b[j] as number)) j++;
    if (isText(b, i - 1) && isText(b, j)) runs.push([i, j]);
    i = j;
  }
  if (runs.length === 0) return intField(b, r);
  const [from, to] = r.pick(runs);
  const text = new TextEncoder().encode(r.pick(BOUNDARY_NUMBERS));
  const out = new Uint8Array(b.byteLength - (to - from) + text.byteLength);
  out.set(b.subarray(0, from));
  out.set(text, from);
  out.set(b.subarray(to), from + text.byteLength);
  return out;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** The byte at `i` is printable text (or the file's edge): digit runs between such bytes are numbers in a text header. */
const isText = (b: Uint8Array, i: number): boolean => i < 0 || i >= b.byteLength || ((b[i] as number) >= 0x20 && (b[i] as number) < 0x7f);

function insert(b: Uint8Array, r: Random): Uint8Array {
  const at = r.offset(b.byteLength + 1);
  const run = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
  const out = new Uint8Array(b.byteLength + run.byteLength);
  out.set(b.subarray(0, at));
  out.set(run, at);
  out.set(b.subarray(at), at + run.byteLength);
  return out;
}

function remove(b: Uint8Array, r: Random): Uint8Array {
  const at = r.offset(b.byteLength);
  const n = Math.min(1 + r.int(16), b.byteLength - at);
  const out = new Uint8Array(b.byteLength - n);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + n), at);
  return out;
}

const BYTE_MUTATIONS: Record<Exclude<MutationKind, 'rezip'>, (b: Uint8Array, r: Random) => Uint8Array> = {
  truncate,
  bitflip,
  byte: boundaryByte,
  'int-field': intField,
  'text-number': textNumber,
  insert,
  delete: remove,
};

/** Mutate bytes with one of the byte-level mutations (not `rezip`); returns the bytes and the mutation's name. */
export function mutateBytes(b: Uint8Array, r: Random): { bytes: Uint8Array; kind: Exclude<MutationKind, 'rezip'> } {
  const kind = r.pick(Object.keys(BYTE_MUTATIONS) as Exclude<MutationKind, 'rezip'>[]);
  return { bytes: BYTE_MUTATIONS[kind](b, r), kind };
}

/**
 * Mutate a file. A zip container (`zip: true`) is mutated as bytes 40 % of the time (what its CRCs and
 * structure checks must catch) and otherwise member-wise: one member mutated, or dropped, or doubled, and
 * the whole re-zipped (stored or deflated) with correct CRCs.
 */
export function mutate(b: Uint8Array, r: Random, { zip = false } = {}): { bytes: Uint8Array; kind: MutationKind; member?: string } {
  if (!zip || r.float() < 0.4) return mutateBytes(b, r);
  const files = unzip(b);
  const target = r.int(files.length);
  const member = files[target]!.name;
  const roll = r.float();
  if (roll < 0.08) files.splice(target, 1);
  else if (roll < 0.12) files.push({ ...files[target]! });
  else files[target] = { ...files[target]!, data: mutateBytes(files[target]!.data, r).bytes };
  const deflate = r.float() < 0.3;
  return { bytes: makeZip(files.map((f) => ({ ...f, deflate }))), kind: 'rezip', member };
}
