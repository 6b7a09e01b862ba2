/** Deterministic uint8 RGB test images for the `reg eval` tests. */

/** n uint8 RGB images of side s, NHWC (a hashed pattern shifted by `seed`). */
export function patternImages(n: number, s: number, seed: number): Uint8Array {
  const out = new Uint8Array(n * s * s * 3);
  for (let i = 0; i < out.length; i++) out[i] = (Math.imul(i + seed * 7919, 2654435761) >>> 24) & 0xff;
  return out;
}
