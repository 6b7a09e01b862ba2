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
import { Module } from '../../nn/module.js';
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
// Network (Hugging Face parameter names)
// -------------------------------------------------------------------------------------------------

/** A frozen tensor slot holder: parameters keep their HF names, values come from the checkpoint. */
class Params extends Module {
  add(name: string, shape: readonly number[]): Tensor {
    return this.param(name, torch.zeros(shape), { trainable: false });
  }
  nest(name: string): Params {
    return this.child(name, new Params());
  }
}

interface LinearP { weight: Tensor; bias: Tensor }
interface NormP { weight: Tensor; bias: Tensor }

function linearP(parent: Params, name: string, out: number, inp: number): LinearP {
  const m = parent.nest(name);
  return { weight: m.add('weight', [out, inp]), bias: m.add('bias', [out]) };
}

function normP(parent: Params, name: string, dim: number): NormP {
  const m = parent.nest(name);
  return { weight: m.add('weight', [dim]), bias: m.add('bias', [dim]) };
}

interface LayerP {
  norm1: NormP; query: LinearP; key: LinearP; value: LinearP; out: LinearP; ls1: Tensor;
  norm2: NormP; fc1: LinearP; fc2: LinearP; ls2: Tensor;
}

/** `Dinov2Model` (no pooler/head), frozen, inference only. */
export class Dinov2 extends Params {
  readonly clsToken: Tensor;
  readonly positionEmbeddings: Tensor;
  readonly registerTokens: Tensor | null;
  readonly patchWeight: Tensor;
  readonly patchBias: Tensor;
  readonly layers: LayerP[] = [];
  readonly finalNorm: NormP;

  constructor(readonly config: Dinov2Config) {
    super();
    const { hiddenSize: C, patchSize: p, posGrid: M, mlpDim } = config;
    const emb = this.nest('embeddings');
    this.clsToken = emb.add('cls_token', [1, 1, C]);
    emb.add('mask_token', [1, C]);
    this.registerTokens = config.numRegisters > 0 ? emb.add('register_tokens', [1, config.numRegisters, C]) : null;
    this.positionEmbeddings = emb.add('position_embeddings', [1, M * M + 1, C]);
    const proj = emb.nest('patch_embeddings').nest('projection');
    this.patchWeight = proj.add('weight', [C, 3, p, p]);
    this.patchBias = proj.add('bias', [C]);
    const enc = this.nest('encoder').nest('layer');
    for (let i = 0; i < config.numLayers; i++) {
      const l = enc.nest(String(i));
      const attn = l.nest('attention');
      const self = attn.nest('attention');
      const norm1 = normP(l, 'norm1', C);
      const mlp = l.nest('mlp');
      this.layers.push({
        norm1,
        query: linearP(self, 'query', C, C),
        key: linearP(self, 'key', C, C),
        value: linearP(self, 'value', C, C),
        out: linearP(attn.nest('output'), 'dense', C, C),
        ls1: l.nest('layer_scale1').add('lambda1', [C]),
        norm2: normP(l, 'norm2', C),
        fc1: linearP(mlp, 'fc1', mlpDim, C),
        fc2: linearP(mlp, 'fc2', C, mlpDim),
        ls2: l.nest('layer_scale2').add('lambda1', [C]),
      });
    }
    this.finalNorm = normP(this, 'layernorm', C);
    this.eval();
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
   * {@link resampledPositions} (computed here when not given). Call inside a scope.
   */
  forward(x: Tensor, pos?: Tensor): Tensor {
    const { hiddenSize: C, numHeads: H, patchSize: p, layerNormEps: eps } = this.config;
    const [B, , height, width] = x.shape as [number, number, number, number];
    const [h, w] = this.grid(height, width);
    const P = pos ?? this.resampledPositions(h, w);
    if (P.shape[1] !== 1 + h * w) throw new RangeError(`DINOv2: position embeddings for ${P.shape[1]! - 1} patches, input has ${h}×${w}`);
    const patches = torch.F.conv2d(x, this.patchWeight, this.patchBias, { stride: p }).flatten(2).transpose(1, 2);
    const cls = this.clsToken.expand(B, 1, C);
    let tokens = torch.cat([cls, patches], 1).add(P);
    if (this.registerTokens !== null) {
      const r = this.registerTokens.expand(B, this.config.numRegisters, C);
      tokens = torch.cat([tokens.slice(1, 0, 1), r, tokens.slice(1, 1)], 1);
    }
    const N = tokens.shape[1]!;
    const heads = (t: Tensor): Tensor => t.reshape(B, N, H, C / H).transpose(1, 2);
    for (const l of this.layers) {
      tokens = torch.scope(() => {
        const a = torch.F.layerNorm(tokens, [C], l.norm1.weight, l.norm1.bias, eps);
        const q = heads(torch.F.linear(a, l.query.weight, l.query.bias));
        const k = heads(torch.F.linear(a, l.key.weight, l.key.bias));
        const v = heads(torch.F.linear(a, l.value.weight, l.value.bias));
        const o = torch.F.scaledDotProductAttention(q, k, v).transpose(1, 2).reshape(B, N, C);
        const h1 = tokens.add(torch.F.linear(o, l.out.weight, l.out.bias).mul(l.ls1));
        const m = torch.F.layerNorm(h1, [C], l.norm2.weight, l.norm2.bias, eps);
        const f = torch.F.linear(torch.F.gelu(torch.F.linear(m, l.fc1.weight, l.fc1.bias)), l.fc2.weight, l.fc2.bias);
        return h1.add(f.mul(l.ls2));
      });
    }
    return torch.F.layerNorm(tokens, [C], this.finalNorm.weight, this.finalNorm.bias, eps);
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
    const net = new Dinov2(dinov2ConfigFromState(state, hf));
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

  constructor(readonly net: Dinov2, readonly inputSize: number, readonly device: Device, weights: { source: string; sha256: string }) {
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
