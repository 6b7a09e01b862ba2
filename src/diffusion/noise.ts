/**
 * Reproducible noise and labels for sampling, independent of batch size, process count and device.
 *
 * The official code seeds each process with global_seed·world_size + rank and draws whole batches,
 * so its images depend on the GPU count (docs/method.md#reproducible-noise). Here every image owns two random
 * streams — one for the latent, one for the class token — seeded from (global seed, image index,
 * stream), drawn on the CPU (so CUDA and CPU runs agree) and moved to the sampling device:
 *
 *   latent stream of image i : x_T (C,H,W) float32, then ξ_x for SDE steps 0..N−2, each (C,H,W) float64
 *   class stream of image i  : c_T (Dz)   float32, then ξ_c for SDE steps 0..N−2, each (Dz)    float64
 *
 * (x_T and c_T are float32 draws as the official `torch.randn`; the sampler casts them to float64.)
 * Separate streams mean a plain SiT model (no class token) and a REG model sampled with the same seed
 * start from the same latent noise. Labels come from their own stream of the global seed.
 *
 * libtorch's CPU generator (mt19937) keeps only the low 32 bits of a seed, so stream seeds are 32-bit:
 * seed(s, i, k) = fmix32(base(s, k) ⊕ i), a bijection of i for fixed (s, k) — no two images of a run
 * ever share a stream (for fewer than 2³² images).
 */
import * as torch from '../torch/index.js';
import type { Device, DType, Tensor } from '../torch/index.js';
import { Generator } from '../torch/index.js';
import type { SamplerState, StepNoise } from './samplers.js';

/** MurmurHash3's 32-bit finaliser (a bijection of uint32). */
export function fmix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The random streams derived from a global seed. */
export type NoiseStream = 'latent' | 'cls' | 'labels';

const STREAM_SALT: Record<NoiseStream, number> = { latent: 0x2545f491, cls: 0x9e3779b9, labels: 0x6a09e667 };

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer below 2^53, got ${seed}`);
}

/** 32-bit seed of stream `stream` of image `index` under global seed `seed`. */
export function streamSeed(seed: number, index: number, stream: NoiseStream): number {
  checkSeed(seed);
  if (!Number.isInteger(index) || index < 0 || index >= 2 ** 32)
    throw new RangeError(`image index must be an integer in [0, 2^32), got ${index}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const base = fmix32(fmix32(lo ^ STREAM_SALT[stream]) ^ fmix32(hi + 0x5bd1e995));
  return fmix32((base ^ index) >>> 0);
}

/** Initial-state shapes of one image. */
export interface ImageShape {
  channels: number;
  size: number;
  /** Class-token dimension, or null for models without a token. */
  clsDim: number | null;
}

/**
 * Per-image noise for a batch of image indices: the initial state and the SDE step noises. Step
 * noises must be requested in order (step 0, 1, …), as the streams are sequential.
 */
export class ImageNoise {
  readonly #latent: Generator[];
  readonly #cls: Generator[];
  readonly #shape: ImageShape;
  readonly #device: Device;
  #nextStep = 0;

  constructor(
    seed: number,
    readonly indices: readonly number[],
    shape: ImageShape,
    { device = 'cpu' as Device } = {},
  ) {
    this.#latent = indices.map((i) => new Generator(streamSeed(seed, i, 'latent')));
    this.#cls = shape.clsDim === null ? [] : indices.map((i) => new Generator(streamSeed(seed, i, 'cls')));
    this.#shape = shape;
    this.#device = device;
  }

  #draw(gens: Generator[], shape: number[], dtype: DType): Tensor {
    return torch.scope(() => {
      const rows = gens.map((g) => torch.randn(shape, { generator: g, dtype }));
      const batch = torch.stack(rows, 0);
      return this.#device === 'cpu' ? batch : batch.to({ device: this.#device });
    });
  }

  /** x_T (B, C, H, W) and c_T (B, Dz) as float32 draws (must be called first, once). */
  initial(): SamplerState {
    const { channels, size, clsDim } = this.#shape;
    const x = this.#draw(this.#latent, [channels, size, size], 'float32');
    const c = clsDim === null ? null : this.#draw(this.#cls, [clsDim], 'float32');
    return { x, c };
  }

  /** The SDE step noise source (float64). */
  readonly step: StepNoise = (step: number) => {
    if (step !== this.#nextStep) throw new RangeError(`ImageNoise: step noise requested for step ${step}, expected ${this.#nextStep}`);
    this.#nextStep++;
    const { channels, size, clsDim } = this.#shape;
    const x = this.#draw(this.#latent, [channels, size, size], 'float64');
    const c = clsDim === null ? null : this.#draw(this.#cls, [clsDim], 'float64');
    return { x, c };
  };
}

/** How labels are chosen. */
export type LabelMode = 'uniform' | 'balanced' | 'list';

/**
 * Labels of images 0..num−1:
 *  - 'uniform': i.i.d. uniform over the classes (the official choice), one draw of `num` integers from
 *    the 'labels' stream of the seed — image i's label does not depend on the batch size;
 *  - 'balanced': class i mod K for image i, then shuffled by a permutation from the same stream
 *    (each class appears ⌊num/K⌋ or ⌈num/K⌉ times);
 *  - a list: the given classes repeated to fill `num`.
 */
export function sampleLabels(spec: 'uniform' | 'balanced' | readonly number[], num: number, numClasses: number, seed: number): Int32Array {
  checkSeed(seed);
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`number of images must be a non-negative integer, got ${num}`);
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new RangeError(`number of classes must be a positive integer, got ${numClasses}`);
  const out = new Int32Array(num);
  if (num === 0) return out;
  if (typeof spec !== 'string') {
    if (spec.length === 0) throw new RangeError('label list is empty');
    for (const l of spec) checkLabel(l, numClasses);
    for (let i = 0; i < num; i++) out[i] = spec[i % spec.length]!;
    return out;
  }
  const gen = new Generator(streamSeed(seed, 0, 'labels'));
  if (spec === 'uniform') {
    const t = torch.randint(0, numClasses, [num], { generator: gen });
    out.set(Array.from(t.toTypedArray() as BigInt64Array, Number));
    t.dispose();
    return out;
  }
  if (spec === 'balanced') {
    const p = torch.randperm(num, { generator: gen });
    const perm = p.toTypedArray() as BigInt64Array;
    p.dispose();
    for (let i = 0; i < num; i++) out[i] = Number(perm[i]!) % numClasses;
    return out;
  }
  throw new TypeError(`unknown label mode '${String(spec)}' (expected uniform, balanced or a list of class indices)`);
}

/** Throws a RangeError unless 0 ≤ label < numClasses. */
export function checkLabel(label: number, numClasses: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
    throw new RangeError(`class index ${label} is out of range: the model has ${numClasses} classes (0..${numClasses - 1})`);
  }
}
