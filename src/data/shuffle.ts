/**
 * Deterministic shuffling: a small seeded PRNG (xoshiro128**, Blackman & Vigna 2018, seeded through
 * SplitMix64) and the per-epoch permutation derived from (seed, epoch) alone, so that any epoch's order
 * can be recomputed on resume or on every rank of a distributed run without communication.
 */

const MASK64 = (1n << 64n) - 1n;

/** SplitMix64 step: returns the next 64-bit output and the advanced state. */
function splitMix64(state: bigint): [bigint, bigint] {
  const next = (state + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return [z ^ (z >> 31n), next];
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** generator with 32-bit outputs. */
export class Rng {
  readonly #s = new Uint32Array(4);

  /**
   * Seeds the four state words from SplitMix64 outputs over `seed` and an optional `stream` number
   * (e.g. the epoch). Both must be non-negative integers ≤ 2^53.
   */
  constructor(seed: number, stream = 0) {
    for (const v of [seed, stream]) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`Rng: seed and stream must be non-negative integers, got ${v}`);
    }
    const [key] = splitMix64(BigInt(seed));
    let state = key ^ BigInt(stream);
    for (let i = 0; i < 4; i += 2) {
      let out: bigint;
      [out, state] = splitMix64(state);
      this.#s[i] = Number(out & 0xffffffffn);
      this.#s[i + 1] = Number(out >> 32n);
    }
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform integer in `[0, n)` for 1 ≤ n ≤ 2^32, without modulo bias (rejection sampling). */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`Rng.nextBelow: bad bound ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }
}

/**
 * The permutation of `[0, n)` used in `epoch` for `seed`: a Fisher–Yates shuffle driven by
 * `new Rng(seed, epoch)`. The same arguments always give the same order.
 */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new Rng(seed, epoch);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1);
    const tmp = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = tmp;
  }
  return perm;
}
