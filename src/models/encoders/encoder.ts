/**
 * The one interface of every representation encoder (the REPA/REG target network), and the registry
 * that builds them by name.
 *
 *   const enc = await createEncoder('mobilenetv2', { inputSize: 224 });
 *   const { cls, patches } = enc.encode(images);   // (B, C) and (B, N, C), N = grid[0]·grid[1]
 *
 * Input: uint8 (B, 1|3, H, W) pixels, or floats in [0, 1] of the same shape (see preprocess.ts); any
 * H×W. The encoder applies its own preprocessing (resize to `inputSize`, value range, normalisation),
 * runs without gradients, and returns float32 tensors on its device. Patch tokens are the final spatial
 * map flattened row-major (token i·w + j is grid cell (i, j)); the class token is the network's own
 * (DINOv2's final-LayerNorm CLS) or, for a CNN, a pooling of the patch tokens (see each encoder).
 */
import type { Device, Tensor } from '../../torch/index.js';

/** What {@link RepresentationEncoder.encode} returns. */
export interface EncoderOutput {
  /** Class token (B, C). */
  readonly cls: Tensor;
  /** Patch tokens (B, N, C), row-major over the patch grid. */
  readonly patches: Tensor;
}

/**
 * Everything that determines an encoder's outputs, as plain JSON (stored in feature-cache manifests;
 * two encoders with equal info give the same features).
 */
export interface EncoderInfo {
  readonly name: string;
  readonly dim: number;
  readonly inputSize: number;
  readonly grid: readonly [number, number];
  /** Where the weights came from (package path or file). */
  readonly weights: string;
  /** sha256 of the weights (state dict names, shapes and bytes). */
  readonly weightsSha256: string;
  /** Preprocessing in words, e.g. `x/255 → bilinear(align_corners) to 224`. */
  readonly preprocessing: string;
  /** How the class token is made, e.g. `mean of patch tokens` or `final LayerNorm CLS`. */
  readonly clsToken: string;
  /** Encoder-specific settings (layer tapped, …). */
  readonly [key: string]: string | number | boolean | readonly number[] | undefined;
}

/** A frozen image encoder producing a class token and patch tokens. */
export interface RepresentationEncoder {
  /** Registry name, e.g. `mobilenetv2`. */
  readonly name: string;
  /** Channels C of both tokens. */
  readonly dim: number;
  /** Side of the square the encoder resizes every image to. */
  readonly inputSize: number;
  /** Patch grid (h, w) at `inputSize`. */
  readonly grid: readonly [number, number];
  /** Number of patch tokens N = h·w at `inputSize`. */
  readonly numPatches: number;
  /** Device of the weights and of the outputs. */
  readonly device: Device;
  /** Settings that determine the outputs. */
  readonly info: EncoderInfo;
  /** Patch grid (h, w) the encoder would produce at another input size. */
  patchGrid(inputSize: number): [number, number];
  /** The network input for `images`: float32 (B, 3, inputSize, inputSize) on `device`, normalised. */
  preprocess(images: Tensor): Tensor;
  /** Class and patch tokens of `images` (no gradients; float32 on `device`). */
  encode(images: Tensor): EncoderOutput;
  /** Frees the weights. */
  dispose(): void;
}

/** Options every encoder factory accepts (factories may read more). */
export interface EncoderOptions {
  /** Side images are resized to (default: the encoder's own, e.g. 224). */
  readonly inputSize?: number;
  /** Device for weights and outputs (default `cpu`). */
  readonly device?: Device;
  /** Local weights file or folder (default: the encoder's built-in source, if it has one). */
  readonly weights?: string;
  /** Progress and conversion messages (default: silent). */
  readonly log?: (line: string) => void;
  /** Encoder-specific options. */
  readonly [key: string]: unknown;
}

/** A registry entry. */
export interface EncoderFactory {
  readonly name: string;
  readonly description: string;
  readonly defaultInputSize: number;
  create(options: EncoderOptions): Promise<RepresentationEncoder>;
}

/** The built-in encoders, loaded on first use (no import cycle, no cost for unused ones). */
const BUILTIN: Readonly<Record<string, () => Promise<EncoderFactory>>> = {
  mobilenetv2: async () => (await import('./mobilenetv2-encoder.js')).MOBILENETV2_ENCODER,
  dinov2: async () => (await import('./dinov2.js')).DINOV2_ENCODER,
  'dinov2-vit-b': async () => (await import('./dinov2.js')).DINOV2_VIT_B_ENCODER,
  'dinov2reg-vit-b': async () => (await import('./dinov2.js')).DINOV2REG_VIT_B_ENCODER,
};

const REGISTRY = new Map<string, EncoderFactory>();

/** Adds (or replaces) a factory under its name. */
export function registerEncoder(factory: EncoderFactory): void {
  REGISTRY.set(factory.name, factory);
}

/** Names of the built-in and registered encoders. */
export function encoderNames(): string[] {
  return [...new Set([...Object.keys(BUILTIN), ...REGISTRY.keys()])];
}

/** The factory for `name` (throws, listing the known names, when there is none). */
export async function encoderFactory(name: string): Promise<EncoderFactory> {
  const registered = REGISTRY.get(name);
  if (registered !== undefined) return registered;
  const builtin = Object.hasOwn(BUILTIN, name) ? BUILTIN[name] : undefined;
  if (builtin === undefined) throw new Error(`unknown encoder '${name}' (known: ${encoderNames().join(', ')})`);
  return builtin();
}

/** Builds the encoder registered as `name`, e.g. `createEncoder('mobilenetv2', { inputSize: 224 })`. */
export async function createEncoder(name: string, options: EncoderOptions = {}): Promise<RepresentationEncoder> {
  return (await encoderFactory(name)).create(options);
}

/** Patch tokens (B, N, C) from a (B, C, h, w) map, row-major: token i·w + j = cell (i, j). */
export function mapToTokens(map: Tensor): Tensor {
  return map.flatten(2).transpose(1, 2).contiguous();
}
