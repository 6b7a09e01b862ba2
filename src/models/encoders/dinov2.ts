/**
 * DINOv2 ViT (the encoder of the official REG code) from a local Hugging Face `Dinov2Model`
 * safetensors file (facebook/dinov2-{small,base,large}; `…-with-registers` too). Nothing is downloaded:
 * pass the file (its `config.json`, if beside it, gives heads and ε).
 *
 *   x   = [cls + pos₀ ; (registers) ; PatchEmbed₁₄(img) + pos₁…]       pos resampled once to the grid
 *   x   = x + ls₁ ⊙ Attn(LN₁(x));  x = x + ls₂ ⊙ MLP(LN₂(x))           per layer (MLP: fc1 → GELU → fc2)
 *   out = LN(x);  cls = out[:, 0] (x_norm_clstoken),  patches = out[:, 1+R:] (x_norm_patchtokens)
 *
 * Position embeddings: the patch part of `embeddings.position_embeddings` (M×M, M = 37 for the
 * released 518-px models) is resampled to the token grid once, bicubic with antialias, as REG does with
 * timm's `resample_abs_pos_embed` (the class position is kept).
 * Preprocessing (REG's `preprocess_raw_image`): x/255 → Normalize(ImageNet mean, std) → bicubic
 * resize to inputSize (no antialias; normalise then resize).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Conv2d, init, LayerNorm, Linear, Mlp, Module, ModuleList } from '../../nn/index.js';
import * as torch from '../../torch/index.js';
import type { Device, Tensor } from '../../torch/index.js';
import { loadSafetensors } from '../../torch/io/index.js';
import type { EncoderFactory, EncoderInfo, EncoderOptions, EncoderOutput, RepresentationEncoder } from './encoder.js';
import { stateDigest } from './mobilenetv2-weights.js';
import { resizeSquare, toUnitRgb } from './preprocess.js';

/** timm's IMAGENET_DEFAULT_MEAN / _STD. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Shape of a DINOv2 ViT. */
export interface Dinov2Config {
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly mlpDim: number;
  readonly patchSize: number;
  /** Side M of the stored position grid (M² + 1 embeddings). */
  readonly posGrid: number;
  readonly numRegisters: number;
  readonly layerNormEps: number;
}

// -------------------------------------------------------------------------------------------------
// Network (Hugging Face module and parameter names)
// -------------------------------------------------------------------------------------------------

/** `embeddings.patch_embeddings`: Conv2d(3 → C, k = s = p) as `projection`. */
class Dinov2PatchEmbeddings extends Module {
  readonly projection: Conv2d;
  constructor(hiddenSize: number, patchSize: number) {
    super();
    this.projection = this.child('projection', new Conv2d(3, hiddenSize, patchSize, { stride: patchSize }));
  }

  /** (B, 3, H, W) → (B, h·w, C), row-major. */
  forward(x: Tensor): Tensor {
    return this.projection.forward(x).flatten(2).transpose(1, 2);
  }
}

/** `embeddings`: class token, mask token (unused at inference), registers, positions, patches. */
class Dinov2Embeddings extends Module {
  readonly cls_token: Tensor;
  readonly register_tokens: Tensor | null;
  readonly position_embeddings: Tensor;
  readonly patch_embeddings: Dinov2PatchEmbeddings;

  constructor(readonly config: Dinov2Config) {
    super();
    const { hiddenSize: C, posGrid: M } = config;
    const zeros = (shape: number[]): Tensor => init.zeros_(torch.empty(shape));
    this.cls_token = this.param('cls_token', zeros([1, 1, C]));
    this.param('mask_token', zeros([1, C]));
    this.register_tokens = config.numRegisters > 0 ? this.param('register_tokens', zeros([1, config.numRegisters, C])) : null;
    this.position_embeddings = this.param('position_embeddings', zeros([1, M * M + 1, C]));
    this.patch_embeddings = this.child('patch_embeddings', new Dinov2PatchEmbeddings(C, config.patchSize));
  }

  /** [cls + pos₀ ; registers ; patches + pos₁…] for (B, 3, H, W) input and positions `pos` (1, 1 + h·w, C). */
  forward(x: Tensor, pos: Tensor): Tensor {
    const B = x.shape[0]!;
    const C = this.config.hiddenSize;
    const tokens = torch.cat([this.cls_token.expand(B, 1, C), this.patch_embeddings.forward(x)], 1).add(pos);
    if (this.register_tokens === null) return tokens;
    const registers = this.register_tokens.expand(B, this.config.numRegisters, C);
    return torch.cat([tokens.slice(1, 0, 1), registers, tokens.slice(1, 1)], 1);
  }
}

/** `attention.attention`: softmax(Q·Kᵀ/√d)·V over `numHeads` heads, Q, K, V from `query`, `key`, `value`. */
class Dinov2SelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  constructor(
    hiddenSize: number,
    readonly numHeads: number,
  ) {
    super();
    this.query = this.child('query', new Linear(hiddenSize, hiddenSize));
    this.key = this.child('key', new Linear(hiddenSize, hiddenSize));
    this.value = this.child('value', new Linear(hiddenSize, hiddenSize));
  }

  /** (B, N, C) → (B, N, C), heads concatenated. */
  forward(x: Tensor): Tensor {
    const [B, N, C] = x.shape as [number, number, number];
    const heads = (t: Tensor): Tensor => t.reshape(B, N, this.numHeads, C / this.numHeads).transpose(1, 2);
    const o = torch.F.scaledDotProductAttention(heads(this.query.forward(x)), heads(this.key.forward(x)), heads(this.value.forward(x)));
    return o.transpose(1, 2).reshape(B, N, C);
  }
}

/** `attention.output`: the output projection `dense`. */
class Dinov2SelfOutput extends Module {
  readonly dense: Linear;
  constructor(hiddenSize: number) {
    super();
    this.dense = this.child('dense', new Linear(hiddenSize, hiddenSize));
  }

  forward(x: Tensor): Tensor {
    return this.dense.forward(x);
  }
}

/** `attention`: self-attention, then the output projection. */
class Dinov2Attention extends Module {
  readonly attention: Dinov2SelfAttention;
  readonly output: Dinov2SelfOutput;
  constructor(hiddenSize: number, numHeads: number) {
    super();
    this.attention = this.child('attention', new Dinov2SelfAttention(hiddenSize, numHeads));
    this.output = this.child('output', new Dinov2SelfOutput(hiddenSize));
  }

  forward(x: Tensor): Tensor {
    return this.output.forward(this.attention.forward(x));
  }
}

/** `layer_scale{1,2}`: x ⊙ λ (per channel). */
class Dinov2LayerScale extends Module {
  readonly lambda1: Tensor;
  constructor(hiddenSize: number) {
    super();
    this.lambda1 = this.param('lambda1', init.ones_(torch.empty([hiddenSize])));
  }

  forward(x: Tensor): Tensor {
    return x.mul(this.lambda1);
  }
}

/** `encoder.layer.i`: x = x + ls₁ ⊙ Attn(LN₁(x));  x = x + ls₂ ⊙ MLP(LN₂(x)). */
class Dinov2Layer extends Module {
  readonly attention: Dinov2Attention;
  readonly norm1: LayerNorm;
  readonly mlp: Mlp;
  readonly layer_scale1: Dinov2LayerScale;
  readonly norm2: LayerNorm;
  readonly layer_scale2: Dinov2LayerScale;

  constructor({ hiddenSize: C, numHeads, mlpDim, layerNormEps: eps }: Dinov2Config) {
    super();
    // registration order = the state-dict order of earlier reg-ts versions (the weights digest stays the same)
    this.attention = this.child('attention', new Dinov2Attention(C, numHeads));
    this.norm1 = this.child('norm1', new LayerNorm(C, { eps }));
    this.mlp = this.child('mlp', new Mlp(C, mlpDim)); // fc1 → GELU (exact) → fc2
    this.layer_scale1 = this.child('layer_scale1', new Dinov2LayerScale(C));
    this.norm2 = this.child('norm2', new LayerNorm(C, { eps }));
    this.layer_scale2 = this.child('layer_scale2', new Dinov2LayerScale(C));
  }

  forward(x: Tensor): Tensor {
    const h = x.add(this.layer_scale1.forward(this.attention.forward(this.norm1.forward(x))));
    return h.add(this.layer_scale2.forward(this.mlp.forward(this.norm2.forward(h))));
  }
}

/** `encoder`: the layers as `layer.0`, `layer.1`, … */
class Dinov2LayerStack extends Module {
  readonly layer: ModuleList<Dinov2Layer>;
  constructor(config: Dinov2Config) {
    super();
    this.layer = this.child('layer', new ModuleList(Array.from({ length: config.numLayers }, () => new Dinov2Layer(config))));
  }

  /** Runs every layer (one layer's tensors alive at a time); consumes `x`. */
  forward(x: Tensor): Tensor {
    return this.layer.chain(x, (l, h) => l.forward(h));
  }
}

/** `Dinov2Model` (no pooler/head), frozen (no parameter requires grad), in eval mode. */
export class Dinov2 extends Module {
  readonly embeddings: Dinov2Embeddings;
  readonly encoder: Dinov2LayerStack;
  readonly layernorm: LayerNorm;

  constructor(readonly config: Dinov2Config) {
    super();
    this.embeddings = this.child('embeddings', new Dinov2Embeddings(config));
    this.encoder = this.child('encoder', new Dinov2LayerStack(config));
    this.layernorm = this.child('layernorm', new LayerNorm(config.hiddenSize, { eps: config.layerNormEps }));
    this.requiresGrad_(false);
    this.eval();
  }

  /** The stored position embeddings (1, M² + 1, C). */
  get positionEmbeddings(): Tensor {
    return this.embeddings.position_embeddings;
  }

  /** Token grid (h, w) for an H×W input. */
  grid(height: number, width: number): [number, number] {
    return [Math.floor(height / this.config.patchSize), Math.floor(width / this.config.patchSize)];
  }

  /**
   * Position embeddings for an h×w grid, (1, 1 + h·w, C): the stored M×M patch part resampled
   * bicubic with antialias (align_corners false), the class position unchanged.
   */
  resampledPositions(h: number, w: number): Tensor {
    const { posGrid: M, hiddenSize: C } = this.config;
    return torch.scope(() => {
      const pos = this.positionEmbeddings;
      if (h === M && w === M) return pos.clone();
      const grid = pos.slice(1, 1).reshape(1, M, M, C).permute(0, 3, 1, 2);
      const resized = torch.F.interpolate(grid, { size: [h, w], mode: 'bicubic', antialias: true, alignCorners: false });
      return torch.cat([pos.slice(1, 0, 1), resized.permute(0, 2, 3, 1).reshape(1, h * w, C)], 1);
    });
  }

  /**
   * Final-LayerNorm tokens (B, 1 + R + h·w, C) of a normalised (B, 3, H, W) input, with `pos` from
   * {@link resampledPositions} (computed here when not given).
   */
  forward(x: Tensor, pos?: Tensor): Tensor {
    const [h, w] = this.grid(x.shape[2]!, x.shape[3]!);
    const P = pos ?? this.resampledPositions(h, w);
    if (P.shape[1] !== 1 + h * w) throw new RangeError(`DINOv2: position embeddings for ${P.shape[1]! - 1} patches, input has ${h}×${w}`);
    return this.layernorm.forward(this.encoder.forward(this.embeddings.forward(x, P)));
  }
}

// -------------------------------------------------------------------------------------------------
// Loading
// -------------------------------------------------------------------------------------------------

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * The config of a HF DINOv2 state dict: sizes from the tensor shapes; heads and ε from `hf` (the
 * `config.json` object) when given, else head size 64 and ε 1e-6 (true for every released DINOv2).
 */
export function dinov2ConfigFromState(state: ReadonlyMap<string, Tensor>, hf: Record<string, unknown> = {}): Dinov2Config {
  const need = (k: string): Tensor => {
    const t = state.get(k);
    if (t === undefined) throw new Error(`DINOv2 checkpoint: missing ${k}`);
    return t;
  };
  const C = need('embeddings.cls_token').shape[2]!;
  const pos = need('embeddings.position_embeddings').shape[1]! - 1;
  const M = Math.round(Math.sqrt(pos));
  if (M * M !== pos) throw new Error(`DINOv2 checkpoint: ${pos} patch position embeddings is not a square grid`);
  let L = 0;
  while (state.has(`encoder.layer.${L}.norm1.weight`)) L++;
  if (L === 0) throw new Error('DINOv2 checkpoint: no encoder.layer.0');
  if (state.has('encoder.layer.0.mlp.weights_in.weight')) throw new Error('DINOv2 checkpoint: SwiGLU MLP (dinov2-giant) is not supported');
  return {
    hiddenSize: C,
    numLayers: L,
    numHeads: num(hf['num_attention_heads']) ?? C / 64,
    mlpDim: need('encoder.layer.0.mlp.fc1.weight').shape[0]!,
    patchSize: need('embeddings.patch_embeddings.projection.weight').shape[2]!,
    posGrid: M,
    numRegisters: state.get('embeddings.register_tokens')?.shape[1] ?? 0,
    layerNormEps: num(hf['layer_norm_eps']) ?? 1e-6,
  };
}

/**
 * Loads a HF DINOv2 safetensors file (keys with or without a `dinov2.` prefix; pooler/head keys are
 * ignored). `config.json` beside it is read when present.
 */
export function loadDinov2(path: string): { net: Dinov2; sha256: string } {
  if (!existsSync(path)) throw new Error(`DINOv2 weights not found: ${path} (give a local Hugging Face model.safetensors)`);
  const configPath = join(dirname(path), 'config.json');
  const hf = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>) : {};
  const { tensors } = loadSafetensors(path);
  try {
    const state = new Map<string, Tensor>();
    for (const [k, t] of tensors) {
      const key = k.startsWith('dinov2.') ? k.slice('dinov2.'.length) : k;
      if (key.startsWith('embeddings.') || key.startsWith('encoder.') || key.startsWith('layernorm.')) state.set(key, t);
    }
    const config = dinov2ConfigFromState(state, hf);
    const net = init.skipInit(() => new Dinov2(config));
    net.loadStateDict(state);
    return { net, sha256: stateDigest(net.stateDict()) };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

// -------------------------------------------------------------------------------------------------
// Encoder
// -------------------------------------------------------------------------------------------------

/** Default side (REG at 256 px: 224 → 16×16 tokens). */
export const DINOV2_INPUT_SIZE = 224;

/** DINOv2 as a representation encoder (REG's target network). */
export class Dinov2Encoder implements RepresentationEncoder {
  readonly name = 'dinov2';
  readonly dim: number;
  readonly grid: readonly [number, number];
  readonly numPatches: number;
  readonly info: EncoderInfo;
  readonly #pos: Tensor;
  readonly #mean: Tensor;
  readonly #std: Tensor;

  constructor(
    readonly net: Dinov2,
    readonly inputSize: number,
    readonly device: Device,
    weights: { source: string; sha256: string },
  ) {
    if (!Number.isInteger(inputSize) || inputSize < net.config.patchSize) throw new RangeError(`dinov2: bad inputSize ${inputSize}`);
    this.dim = net.config.hiddenSize;
    this.grid = this.patchGrid(inputSize);
    this.numPatches = this.grid[0] * this.grid[1];
    this.#pos = torch.keep(this.net.resampledPositions(this.grid[0], this.grid[1]));
    this.#mean = torch.keep(torch.tensor([...IMAGENET_MEAN], { device }).reshape(1, 3, 1, 1));
    this.#std = torch.keep(torch.tensor([...IMAGENET_STD], { device }).reshape(1, 3, 1, 1));
    this.info = {
      name: this.name,
      dim: this.dim,
      inputSize,
      grid: this.grid,
      weights: weights.source,
      weightsSha256: weights.sha256,
      preprocessing: `x/255 → normalize(ImageNet mean/std) → bicubic to ${inputSize}`,
      clsToken: 'final LayerNorm CLS (x_norm_clstoken)',
      layers: net.config.numLayers,
      registers: net.config.numRegisters,
    };
  }

  patchGrid(inputSize: number): [number, number] {
    return this.net.grid(inputSize, inputSize);
  }

  preprocess(images: Tensor): Tensor {
    return torch.scope(() => {
      const x = toUnitRgb(images, this.device).sub(this.#mean).div(this.#std);
      return resizeSquare(x, this.inputSize, { mode: 'bicubic', alignCorners: false });
    });
  }

  encode(images: Tensor): EncoderOutput {
    return torch.noGrad(() =>
      torch.scope(() => {
        const out = this.net.forward(this.preprocess(images), this.#pos);
        const skip = 1 + this.net.config.numRegisters;
        return { cls: out.select(1, 0).contiguous(), patches: out.slice(1, skip).contiguous() };
      }),
    );
  }

  dispose(): void {
    this.net.dispose();
    for (const t of [this.#pos, this.#mean, this.#std]) t.dispose();
  }
}

/** Builds the encoder from `options.weights` (a HF DINOv2 safetensors file; required). */
export async function createDinov2Encoder(options: EncoderOptions = {}): Promise<Dinov2Encoder> {
  if (options.weights === undefined) {
    throw new Error('dinov2: pass the local weights file (Hugging Face facebook/dinov2-base model.safetensors); it is not downloaded');
  }
  const { net, sha256 } = loadDinov2(options.weights);
  const device = options.device ?? 'cpu';
  if (device !== 'cpu') net.to({ device });
  return new Dinov2Encoder(net, options.inputSize ?? DINOV2_INPUT_SIZE, device, { source: options.weights, sha256 });
}

/** Registry entry `dinov2`. */
export const DINOV2_ENCODER: EncoderFactory = {
  name: 'dinov2',
  description: 'DINOv2 ViT from a local Hugging Face safetensors file (REG default: dinov2-base, 768-d, CLS + 16×16 patches at 224)',
  defaultInputSize: DINOV2_INPUT_SIZE,
  create: (options) => createDinov2Encoder(options),
};
