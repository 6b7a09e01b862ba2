/**
 * DINOv2 ViT (the encoder of the official REG code) from local weights, in either layout: the torch.hub
 * state dicts the official code loads (`dinov2_vitb14_pretrain.pth`, `dinov2_vitb14_reg4_pretrain.pth`;
 * dinov2-hub.ts maps their names) or a Hugging Face `Dinov2Model` file (facebook/dinov2-{small,base,large},
 * `…-with-registers` too; its `config.json`, if beside it, gives heads and ε). Nothing is downloaded.
 *
 *   x   = [cls + pos₀ ; (registers) ; PatchEmbed₁₄(img) + pos₁…]       pos resampled once to the grid
 *   x   = x + ls₁ ⊙ Attn(LN₁(x));  x = x + ls₂ ⊙ MLP(LN₂(x))           per layer (MLP: fc1 → GELU → fc2)
 *   out = LN(x);  cls = out[:, 0] (x_norm_clstoken),  patches = out[:, 1+R:] (x_norm_patchtokens)
 *
 * Position embeddings: the patch part of the stored embeddings (M×M, M = 37 for the released 518-px
 * models) is resampled to the token grid once, bicubic with antialias (size given, align_corners false),
 * as REG's `load_encoders` does with timm's `resample_abs_pos_embed` (the class position is kept). DINOv2's
 * own `interpolate_pos_encoding` (scale factor (w₀ + 0.1)/M, no antialias in `dinov2_vitb14`) then never
 * runs: the resampled grid already matches the input (`npatch == N and w == h`).
 * Preprocessing (REG's `preprocess_raw_image`): x/255 → Normalize(ImageNet mean, std) → bicubic
 * resize to inputSize (no antialias; normalise then resize).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseJsonObject } from '../../util/json.js';
import { Conv2d, init, LayerNorm, Linear, Mlp, Module, ModuleList } from '../../nn/index.js';
import * as torch from '../../torch/index.js';
import type { Device, Tensor } from '../../torch/index.js';
import { asStateDict, loadPt, loadSafetensors } from '../../torch/io/index.js';
import { DINOV2_HUB_CONFIG_KEYS, dinov2HubToHf, isDinov2HubState } from './dinov2-hub.js';
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

/** Where, in one weights layout, the tensors whose shapes give the {@link Dinov2Config} are. */
export interface Dinov2ConfigKeys {
  /** Class token (1, 1, C). */
  readonly cls: string;
  /** Position embeddings (1, 1 + M², C). */
  readonly pos: string;
  /** Patch-embedding kernel (C, 3, p, p). */
  readonly patch: string;
  /** Register tokens (1, R, C), absent without registers. */
  readonly registers: string;
  /** A tensor present once per layer (counts the layers). */
  readonly norm1: (layer: number) => string;
  /** First MLP layer of layer 0 (mlpDim, C). */
  readonly fc1: string;
  /** Present only in SwiGLU models (dinov2-giant), which are not supported. */
  readonly swiglu: string;
}

/** Where the config-giving tensors are in a Hugging Face `Dinov2Model` state dict. */
export const DINOV2_HF_CONFIG_KEYS: Dinov2ConfigKeys = {
  cls: 'embeddings.cls_token',
  pos: 'embeddings.position_embeddings',
  patch: 'embeddings.patch_embeddings.projection.weight',
  registers: 'embeddings.register_tokens',
  norm1: (layer) => `encoder.layer.${layer}.norm1.weight`,
  fc1: 'encoder.layer.0.mlp.fc1.weight',
  swiglu: 'encoder.layer.0.mlp.weights_in.weight',
};

/**
 * The config of a DINOv2 state dict in the layout `keys` describes: sizes from the tensor shapes;
 * heads = `numHeads` when given, else C / 64 (head size 64 in every released DINOv2); ε = `layerNormEps`
 * when given, else 1e-6 (DINOv2's `partial(nn.LayerNorm, eps=1e-6)`).
 */
export function dinov2ConfigFromKeys(
  state: ReadonlyMap<string, Tensor>,
  keys: Dinov2ConfigKeys,
  { numHeads, layerNormEps = 1e-6 }: { numHeads?: number | undefined; layerNormEps?: number | undefined } = {},
): Dinov2Config {
  const need = (k: string): Tensor => {
    const t = state.get(k);
    if (t === undefined) throw new Error(`missing ${k}`);
    return t;
  };
  const C = need(keys.cls).shape[2]!;
  const pos = need(keys.pos).shape[1]! - 1;
  const M = Math.round(Math.sqrt(pos));
  if (M * M !== pos) throw new Error(`${pos} patch position embeddings (${keys.pos}) is not a square grid`);
  let L = 0;
  while (state.has(keys.norm1(L))) L++;
  if (L === 0) throw new Error(`no layers (missing ${keys.norm1(0)})`);
  if (state.has(keys.swiglu)) throw new Error('SwiGLU MLP (dinov2-giant) is not supported');
  const heads = numHeads ?? C / 64;
  if (!Number.isInteger(heads) || heads < 1 || C % heads !== 0) {
    throw new Error(
      numHeads === undefined
        ? `width ${C} is not a multiple of 64 (the head size of every released DINOv2): give the head count (numHeads, or num_attention_heads in config.json)`
        : `${numHeads} heads do not divide the width ${C}`,
    );
  }
  return {
    hiddenSize: C,
    numLayers: L,
    numHeads: heads,
    mlpDim: need(keys.fc1).shape[0]!,
    patchSize: need(keys.patch).shape[2]!,
    posGrid: M,
    numRegisters: state.get(keys.registers)?.shape[1] ?? 0,
    layerNormEps,
  };
}

/**
 * The config of a HF DINOv2 state dict: sizes from the tensor shapes; heads and ε from `hf` (the
 * `config.json` object) when given, else head size 64 and ε 1e-6 (true for every released DINOv2).
 */
export function dinov2ConfigFromState(state: ReadonlyMap<string, Tensor>, hf: Record<string, unknown> = {}): Dinov2Config {
  return dinov2ConfigFromKeys(state, DINOV2_HF_CONFIG_KEYS, {
    numHeads: num(hf['num_attention_heads']),
    layerNormEps: num(hf['layer_norm_eps']),
  });
}

/** The two file layouts {@link loadDinov2} reads. */
export type Dinov2Layout = 'hugging-face' | 'torch-hub';

/** How each layout is recognised, for messages. */
const LAYOUT_SIGNS: Readonly<Record<Dinov2Layout, string>> = {
  'hugging-face': 'Hugging Face layout (keys embeddings.*, encoder.layer.N.*)',
  'torch-hub': 'torch.hub layout (keys cls_token, pos_embed, blocks.N.*)',
};

/** The layout of a DINOv2 state dict, from its keys (throws, naming both layouts, when it is neither). */
export function guessDinov2Layout(keys: readonly string[]): Dinov2Layout {
  if (keys.some((k) => /^(dinov2\.)?(embeddings|encoder\.layer)\./.test(k))) return 'hugging-face';
  if (isDinov2HubState(keys)) return 'torch-hub';
  throw new Error(
    `neither the ${LAYOUT_SIGNS['hugging-face']} nor the ${LAYOUT_SIGNS['torch-hub']}; its first keys: ${keys.slice(0, 5).join(', ') || '(none)'}`,
  );
}

/** The tensors of a `.safetensors` file, or of a torch.save'd state dict (`.pth`, `.pt`, `.bin`). */
function readStateDict(path: string): Map<string, Tensor> {
  return path.endsWith('.safetensors') ? loadSafetensors(path).tensors : asStateDict(loadPt(path), path);
}

/** HF state dict (keys with or without a `dinov2.` prefix; pooler and head keys dropped) and its config. */
function fromHuggingFace(tensors: ReadonlyMap<string, Tensor>, path: string, numHeads: number | undefined) {
  const configPath = join(dirname(path), 'config.json');
  const hf = existsSync(configPath) ? parseJsonObject(readFileSync(configPath, 'utf8'), configPath, Error) : {};
  const state = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    const key = k.startsWith('dinov2.') ? k.slice('dinov2.'.length) : k;
    if (key.startsWith('embeddings.') || key.startsWith('encoder.') || key.startsWith('layernorm.')) state.set(key, t);
  }
  const config = dinov2ConfigFromState(state, numHeads === undefined ? hf : { ...hf, num_attention_heads: numHeads });
  return { config, state };
}

/** torch.hub state dict, renamed to the HF names (dinov2-hub.ts), and its config. */
function fromTorchHub(tensors: ReadonlyMap<string, Tensor>, numHeads: number | undefined) {
  const config = dinov2ConfigFromKeys(tensors, DINOV2_HUB_CONFIG_KEYS, { numHeads });
  return { config, state: dinov2HubToHf(tensors, config) };
}

/** Options of {@link loadDinov2}. */
export interface LoadDinov2Options {
  /** Attention heads (default: `config.json` beside a HF file, else width / 64). */
  readonly numHeads?: number;
}

/**
 * Loads DINOv2 weights in either layout, told apart by the keys: a torch.hub state dict
 * (`dinov2_vitb14_pretrain.pth`, `dinov2_vitb14_reg4_pretrain.pth`; see dinov2-hub.ts) or a Hugging Face
 * `Dinov2Model` file (`model.safetensors` or `pytorch_model.bin`; keys with or without a `dinov2.`
 * prefix, pooler/head keys ignored; `config.json` beside it is read when present). Both give the same
 * network and the same `sha256` for the same weights. Errors name the file, the layout guessed and the
 * missing, unexpected or wrong-shaped key.
 */
export function loadDinov2(path: string, options: LoadDinov2Options = {}): { net: Dinov2; sha256: string; layout: Dinov2Layout } {
  if (!existsSync(path)) {
    throw new Error(
      `DINOv2 weights not found: ${path} (give a local torch.hub dinov2_vitb14_pretrain.pth or Hugging Face model.safetensors)`,
    );
  }
  return torch.scope(() => {
    const tensors = readStateDict(path);
    let layout: Dinov2Layout | undefined;
    let net: Dinov2 | undefined;
    try {
      layout = guessDinov2Layout([...tensors.keys()]);
      const { config, state } =
        layout === 'torch-hub' ? fromTorchHub(tensors, options.numHeads) : fromHuggingFace(tensors, path, options.numHeads);
      net = init.skipInit(() => new Dinov2(config));
      net.loadStateDict(state);
      return { net, sha256: stateDigest(net.stateDict()), layout };
    } catch (e) {
      net?.dispose();
      const guessed = layout === undefined ? '' : ` (${LAYOUT_SIGNS[layout]}, guessed from its keys)`;
      throw new Error(`DINOv2 weights ${path}${guessed}: ${(e as Error).message}`);
    }
  });
}

// -------------------------------------------------------------------------------------------------
// Encoder
// -------------------------------------------------------------------------------------------------

/**
 * DINOv2's input (the encoder's, and that of a ViT trained to stand in for it): pixels → RGB in [0, 1]
 * → (x − mean) / std with ImageNet's statistics → bicubic to inputSize×inputSize (align_corners false).
 */
export function dinov2Input(images: Tensor, inputSize: number, device: Device): Tensor {
  return torch.scope(() => {
    const stat = (v: readonly number[]) => torch.tensor([...v], { device }).reshape(1, 3, 1, 1);
    const x = toUnitRgb(images, device).sub(stat(IMAGENET_MEAN)).div(stat(IMAGENET_STD));
    return resizeSquare(x, inputSize, { mode: 'bicubic', alignCorners: false });
  });
}

/** Default side (REG at 256 px: 224 → 16×16 tokens). */
export const DINOV2_INPUT_SIZE = 224;

/** DINOv2 as a representation encoder (REG's target network): class token and patch tokens, registers dropped. */
export class Dinov2Encoder implements RepresentationEncoder {
  readonly dim: number;
  readonly grid: readonly [number, number];
  readonly numPatches: number;
  readonly info: EncoderInfo;
  readonly #pos: Tensor;

  constructor(
    readonly net: Dinov2,
    readonly inputSize: number,
    readonly device: Device,
    weights: { source: string; sha256: string },
    /** Registry name (`dinov2`, or one of REG's names such as `dinov2-vit-b`). */
    readonly name = 'dinov2',
  ) {
    if (!Number.isInteger(inputSize) || inputSize < net.config.patchSize) throw new RangeError(`dinov2: bad inputSize ${inputSize}`);
    this.dim = net.config.hiddenSize;
    this.grid = this.patchGrid(inputSize);
    this.numPatches = this.grid[0] * this.grid[1];
    this.#pos = torch.keep(this.net.resampledPositions(this.grid[0], this.grid[1]));
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
    return dinov2Input(images, this.inputSize, this.device);
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
    this.#pos.dispose();
  }
}

/** What a registry name of DINOv2 promises: REG's `--enc-type` names fix the torch.hub model. */
export interface Dinov2Name {
  readonly name: string;
  /** The torch.hub weights file REG loads for this name (e.g. `dinov2_vitb14_pretrain.pth`). */
  readonly hubFile?: string;
  /** Register tokens the weights must have. */
  readonly registers?: number;
}

/** The architecture of torch.hub's `dinov2_vitb14` (`vit_base`, patch 14, 518-px pretraining grid). */
const VIT_B14 = { hiddenSize: 768, numLayers: 12, numHeads: 12, patchSize: 14, posGrid: 37 } as const;

/**
 * Builds the encoder from `options.weights` (required; either layout, see {@link loadDinov2}); option
 * `numHeads` overrides the head count. `expect` refuses weights whose register count differs from what
 * the name promises, and notes (on `options.log`) weights that are not the ViT-B/14 the name says.
 */
export async function createDinov2Encoder(options: EncoderOptions = {}, expect: Dinov2Name = { name: 'dinov2' }): Promise<Dinov2Encoder> {
  const { name } = expect;
  if (options.weights === undefined) {
    throw new Error(
      `${name}: pass the local weights file with --encoder-weights <file> (torch.hub ${expect.hubFile ?? 'dinov2_vitb14_pretrain.pth'} or a Hugging Face model.safetensors); it is not downloaded`,
    );
  }
  if (!existsSync(options.weights)) throw new Error(`${name}: --encoder-weights ${options.weights} does not exist`);
  const numHeads = options['numHeads'];
  if (numHeads !== undefined && typeof numHeads !== 'number') throw new TypeError(`${name}: numHeads must be a number`);
  const { net, sha256 } = loadDinov2(options.weights, numHeads === undefined ? {} : { numHeads });
  const c = net.config;
  if (expect.registers !== undefined && c.numRegisters !== expect.registers) {
    net.dispose();
    const other = expect.registers === 0 ? 'dinov2reg-vit-b' : 'dinov2-vit-b';
    throw new Error(
      `${name} (${expect.hubFile}) has ${expect.registers} register tokens, but ${options.weights} has ${c.numRegisters}; use --encoder ${other} (or dinov2) for these weights`,
    );
  }
  if (expect.hubFile !== undefined && Object.entries(VIT_B14).some(([k, v]) => c[k as keyof typeof VIT_B14] !== v)) {
    options.log?.(
      `${name}: ${options.weights} is not ViT-B/14 (width ${c.hiddenSize}, ${c.numLayers} layers, ${c.numHeads} heads, patch ${c.patchSize}, ${c.posGrid}² positions); using it as it is`,
    );
  }
  const device = options.device ?? 'cpu';
  if (device !== 'cpu') net.to({ device });
  return new Dinov2Encoder(net, options.inputSize ?? DINOV2_INPUT_SIZE, device, { source: options.weights, sha256 }, name);
}

function dinov2Factory(expect: Dinov2Name, description: string): EncoderFactory {
  return { name: expect.name, description, defaultInputSize: DINOV2_INPUT_SIZE, create: (options) => createDinov2Encoder(options, expect) };
}

/** Registry entry `dinov2`: any DINOv2 ViT/14 (or other patch size) in either layout, registers or not. */
export const DINOV2_ENCODER = dinov2Factory(
  { name: 'dinov2' },
  'DINOv2 ViT from a local torch.hub .pth or Hugging Face safetensors file (REG default: ViT-B/14, 768-d, CLS + 16×16 patches at 224)',
);

/**
 * Registry entry `dinov2-vit-b`: REG's `--enc-type dinov2-vit-b` (the paper presets), i.e. torch.hub
 * `dinov2_vitb14` without registers: ViT-B/14, 768-d; at 224 px 16×16 = 256 patch tokens + the class token.
 */
export const DINOV2_VIT_B_ENCODER = dinov2Factory(
  { name: 'dinov2-vit-b', hubFile: 'dinov2_vitb14_pretrain.pth', registers: 0 },
  "REG's dinov2-vit-b: DINOv2 ViT-B/14 without registers (--encoder-weights dinov2_vitb14_pretrain.pth or facebook/dinov2-base), 768-d, CLS + 16×16 patches at 224",
);

/**
 * Registry entry `dinov2reg-vit-b`: the name REG's `load_encoders` parses into torch.hub
 * `dinov2_vitb14_reg` (`'reg' in encoder_type`): ViT-B/14 with 4 register tokens, dropped from the output.
 */
export const DINOV2REG_VIT_B_ENCODER = dinov2Factory(
  { name: 'dinov2reg-vit-b', hubFile: 'dinov2_vitb14_reg4_pretrain.pth', registers: 4 },
  "REG's dinov2reg-vit-b: DINOv2 ViT-B/14 with 4 registers (--encoder-weights dinov2_vitb14_reg4_pretrain.pth or facebook/dinov2-with-registers-base), 768-d, CLS + 16×16 patches at 224",
);
