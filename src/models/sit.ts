/**
 * SiT with Representation Entanglement (REG): a flow-matching diffusion transformer whose input carries a
 * noised foundation-model class token next to the latent patch tokens, and whose block `encoderDepth` is
 * aligned to the encoder's features through an MLP projector (REPA). The method: docs/method.md#model.
 *
 *   tokens = [LN(Linear_z→D(cls_t)) ; PatchEmbed(x_t)] + [0 ; sincos2d]
 *   c      = TEmb(t) + YEmb(y)
 *   depth × adaLN-Zero blocks;  zs[k] = MLP_k(tokens after block encoderDepth)
 *   out    = FinalLayer(tokens):  patches → Linear(D → p²C) → unpatchify = v_img ;  token 0 → Linear(D → z) = v_cls
 *
 * Parameter names are the official `state_dict` keys (`blocks.3.attn.qkv.weight`, `cls_projectors2.weight`, …),
 * registered in the official order, so checkpoints interchange with PyTorch (see pretrained.ts).
 * The comparison variants of the paper (plain SiT, SiT+REPA, entanglement only, learnable token) are options
 * of this one model (`SiTConfig.variant`, `SiTConfig.entangledSignal`).
 *
 * Differences from the official class, on purpose: the final layer is always as wide as the trunk (the
 * official SiT-S configs crash), label dropout can be driven by an explicit mask or a Generator, and the
 * timestep features are computed in float64 when t is float64 (float32 otherwise, as upstream).
 */
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { Conv2d, Embedding, LayerNorm, Linear, Mlp, Module, ModuleList, init } from '../nn/index.js';
import type { SiTConfig } from './configs.js';
import { hasAlign, hasClsInput, hasToken } from './variant.js';

const F = torch.F;

// =================================================================================================
//                               Embedding layers for timesteps, labels, patches
// =================================================================================================

/**
 * Sinusoidal features of continuous times t (no ×1000 scaling; t ∈ [0, 1], 1 = noise):
 *
 *   f_k = exp(−ln(maxPeriod) · k / half),  k = 0 … half−1,  half = ⌊dim/2⌋
 *   emb = [cos(t·f) , sin(t·f)]                (cos first; a zero column is appended for odd dim)
 *
 * Computed in float64 for a float64 t and in float32 otherwise (the official code always uses float32).
 * @param t (N,) times
 * @returns (N, dim)
 */
export function timestepEmbedding(t: Tensor, dim = 256, maxPeriod = 10000): Tensor {
  return torch.scope(() => {
    const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
    const half = Math.floor(dim / 2);
    const freqs = torch.arange(0, half, 1, { dtype, device: t.device }).mul(-Math.log(maxPeriod)).div(half).exp();
    const args = t.to(dtype).unsqueeze(1).mul(freqs.unsqueeze(0));
    const emb = torch.cat([args.cos(), args.sin()], -1);
    return dim % 2 ? torch.cat([emb, torch.zerosLike(emb.narrow(1, 0, 1))], -1) : emb;
  });
}

/**
 * The MAE-style fixed 2-D sin-cos position table, float64, row-major (extraTokens + grid², dim).
 * Token g = row·grid + col. Channels [0, D/2) encode the column, [D/2, D) the row; within each half
 * D/4 sines then D/4 cosines of pos·ω_k with ω_k = 10000^(−k/(D/4)). `extraTokens` all-zero rows come
 * first (REG: one for the class token, which therefore has no positional code).
 */
export function sincosPosEmbed2d(dim: number, grid: number, extraTokens = 0): Float64Array {
  if (dim % 4 !== 0) throw new RangeError(`sincosPosEmbed2d: dim ${dim} must be a multiple of 4`);
  const quarter = dim / 4;
  const omega = Float64Array.from({ length: quarter }, (_, k) => 1 / 10000 ** (k / quarter));
  const out = new Float64Array((extraTokens + grid * grid) * dim);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const base = (extraTokens + row * grid + col) * dim;
      for (let k = 0; k < quarter; k++) {
        out[base + k] = Math.sin(col * omega[k]!);
        out[base + quarter + k] = Math.cos(col * omega[k]!);
        out[base + 2 * quarter + k] = Math.sin(row * omega[k]!);
        out[base + 3 * quarter + k] = Math.cos(row * omega[k]!);
      }
    }
  }
  return out;
}

/** Image to patch tokens: Conv2d(k = s = p) then flatten row-major → (N, T, D). Keys `proj.weight`, `proj.bias`. */
export class PatchEmbed extends Module {
  readonly proj: Conv2d;
  readonly grid: number;
  readonly numPatches: number;

  constructor(
    readonly inputSize: number,
    readonly patchSize: number,
    inChannels: number,
    hiddenSize: number,
  ) {
    super();
    this.grid = inputSize / patchSize;
    this.numPatches = this.grid * this.grid;
    this.proj = this.child('proj', new Conv2d(inChannels, hiddenSize, patchSize, { stride: patchSize }));
  }

  /** (N, C, H, W) → (N, (H/p)(W/p), D). */
  forward(x: Tensor): Tensor {
    return this.proj.forward(x).flatten(2).transpose(1, 2);
  }
}

/** t → [cos, sin] features (256) → Linear → SiLU → Linear. Keys `mlp.0.*`, `mlp.2.*`. */
export class TimestepEmbedder extends Module {
  readonly mlp: ModuleList<Linear>;

  constructor(
    hiddenSize: number,
    readonly frequencyDim = 256,
  ) {
    super();
    this.mlp = this.child(
      'mlp',
      new ModuleList<Linear>([
        [0, new Linear(frequencyDim, hiddenSize)],
        [2, new Linear(hiddenSize, hiddenSize)],
      ]),
    );
  }

  /** (N,) times → (N, D). */
  forward(t: Tensor): Tensor {
    const [l0, l2] = this.mlp.items as [Linear, Linear];
    let f = timestepEmbedding(t, this.frequencyDim);
    if (f.dtype !== l0.weight.dtype && !torch.isAutocastEnabled(l0.weight.device)) f = f.to(l0.weight.dtype);
    return l2.forward(F.silu(l0.forward(f)));
  }
}

/** Options of label dropout. */
export interface LabelDropOptions {
  /** (N,) bool: true replaces the label by the null class; overrides random dropout. */
  dropMask?: Tensor | undefined;
  /** Stream for random dropout (global generator when omitted). */
  generator?: torch.Generator | undefined;
}

/**
 * Class labels → vectors, with a null class (index numClasses) for classifier-free guidance.
 * In training each label is replaced by the null class with probability `dropoutProb` (official: u < p,
 * u ~ U[0,1) per sample), unless an explicit drop mask is given. Key `embedding_table.weight`
 * ((numClasses + 1, D); numClasses rows when dropoutProb = 0, as upstream).
 */
export class LabelEmbedder extends Module {
  readonly embedding_table: Embedding;

  constructor(
    readonly numClasses: number,
    hiddenSize: number,
    readonly dropoutProb: number,
  ) {
    super();
    this.embedding_table = this.child('embedding_table', new Embedding(numClasses + (dropoutProb > 0 ? 1 : 0), hiddenSize));
  }

  /** Labels after dropout: where(drop, numClasses, y). */
  dropLabels(y: Tensor, train: boolean, { dropMask, generator }: LabelDropOptions = {}): Tensor {
    return torch.scope(() => {
      let mask = dropMask;
      if (mask === undefined && train && this.dropoutProb > 0)
        mask = torch.rand([y.shape[0]!], { generator, device: y.device }).lt(this.dropoutProb);
      if (mask === undefined) return y.clone();
      if (this.embedding_table.num <= this.numClasses)
        throw new RangeError('LabelEmbedder: label dropout needs a null class (classDropoutProb > 0)');
      return y.maskedFill(mask.to('bool'), this.numClasses);
    });
  }

  /** (N,) int64 labels → (N, D). */
  forward(y: Tensor, train: boolean, opts: LabelDropOptions = {}): Tensor {
    return this.embedding_table.forward(this.dropLabels(y, train, opts));
  }
}

// =================================================================================================
//                                      Core SiT model
// =================================================================================================

/** adaLN modulation: x·(1 + scale) + shift, broadcast over tokens. Its intermediates belong to the calling forward's scope. */
export function modulate(x: Tensor, shift: Tensor, scale: Tensor): Tensor {
  return x.mul(scale.unsqueeze(1).add(1)).add(shift.unsqueeze(1));
}

/**
 * Multi-head self-attention (timm Attention, qkv bias, no qk-norm): softmax(Q·Kᵀ/√d)·V per head.
 * Fused libtorch kernel when `fused` and available; otherwise timm's explicit formula (q·scale first),
 * its products through {@link F.batchedMatmul} (the same values as `matmul`).
 * Keys `qkv.*`, `proj.*`.
 */
export class Attention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;

  constructor(
    readonly dim: number,
    readonly numHeads: number,
    public fused = true,
  ) {
    super();
    this.headDim = dim / numHeads;
    this.qkv = this.child('qkv', new Linear(dim, dim * 3));
    this.proj = this.child('proj', new Linear(dim, dim));
  }

  forward(x: Tensor): Tensor {
    const [B, N, C] = x.shape as [number, number, number];
    const qkv = this.qkv.forward(x).reshape(B, N, 3, this.numHeads, this.headDim).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [qkv.select(0, 0), qkv.select(0, 1), qkv.select(0, 2)];
    let o: Tensor;
    if (this.fused && F.hasFusedAttention()) {
      o = F.scaledDotProductAttention(q, k, v);
    } else {
      const attn = F.softmax(F.batchedMatmul(q.mul(this.headDim ** -0.5), k.transpose(-2, -1)), -1);
      o = F.batchedMatmul(attn, v);
    }
    return this.proj.forward(o.transpose(1, 2).reshape(B, N, C));
  }
}

const layerNorm = (x: Tensor): Tensor => F.layerNorm(x, [x.shape[x.ndim - 1]!], null, null, 1e-6);

/**
 * SiT block with adaLN-Zero conditioning:
 *
 *   (shift₁, scale₁, gate₁, shift₂, scale₂, gate₂) = Linear(SiLU(c))            (6 chunks of D)
 *   x ← x + gate₁ · Attn(modulate(LN(x), shift₁, scale₁))
 *   x ← x + gate₂ · MLP(modulate(LN(x), shift₂, scale₂))                         (LN: no affine, eps 1e-6)
 *
 * Keys `attn.*`, `mlp.*`, `adaLN_modulation.1.*`.
 */
export class SiTBlock extends Module {
  readonly attn: Attention;
  readonly mlp: Mlp;
  readonly adaLN_modulation: ModuleList<Linear>;

  constructor(hiddenSize: number, numHeads: number, mlpRatio = 4, fusedAttention = true) {
    super();
    this.attn = this.child('attn', new Attention(hiddenSize, numHeads, fusedAttention));
    this.mlp = this.child('mlp', new Mlp(hiddenSize, Math.round(hiddenSize * mlpRatio), 'tanh'));
    this.adaLN_modulation = this.child('adaLN_modulation', new ModuleList<Linear>([[1, new Linear(hiddenSize, 6 * hiddenSize)]]));
  }

  /** (N, T, D), c (N, D) → (N, T, D). */
  forward(x: Tensor, c: Tensor): Tensor {
    const [sh1, sc1, g1, sh2, sc2, g2] = this.adaLN_modulation.items[0]!.forward(F.silu(c)).chunk(6, -1) as [
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
      Tensor,
    ];
    const h = x.add(g1.unsqueeze(1).mul(this.attn.forward(modulate(layerNorm(x), sh1, sc1))));
    return h.add(g2.unsqueeze(1).mul(this.mlp.forward(modulate(layerNorm(h), sh2, sc2))));
  }
}

/**
 * Final layer: LN (no affine) → adaLN (shift, scale) → `linear` (D → p²C) on the patch tokens and, when the
 * model predicts the class-token velocity, `linear_cls` (D → zDims[0]) on token 0.
 * Keys `linear.*`, `linear_cls.*`, `adaLN_modulation.1.*` (official order).
 */
export class FinalLayer extends Module {
  readonly linear: Linear;
  readonly linear_cls: Linear | null;
  readonly adaLN_modulation: ModuleList<Linear>;

  constructor(hiddenSize: number, patchSize: number, outChannels: number, clsDim: number | null) {
    super();
    this.linear = this.child('linear', new Linear(hiddenSize, patchSize * patchSize * outChannels));
    this.linear_cls = clsDim === null ? null : this.child('linear_cls', new Linear(hiddenSize, clsDim));
    this.adaLN_modulation = this.child('adaLN_modulation', new ModuleList<Linear>([[1, new Linear(hiddenSize, 2 * hiddenSize)]]));
  }

  /**
   * @param x (N, T[+1], D) tokens; `tokenFirst` when token 0 is the extra token (dropped from the image output)
   * @returns patches (N, T, p²C) and the class-token velocity (N, zDims[0]) or null
   */
  forward(x: Tensor, c: Tensor, tokenFirst: boolean): { patches: Tensor; cls: Tensor | null } {
    const [shift, scale] = this.adaLN_modulation.items[0]!.forward(F.silu(c)).chunk(2, -1) as [Tensor, Tensor];
    const h = modulate(layerNorm(x), shift, scale);
    if (!tokenFirst) return { patches: this.linear.forward(h), cls: null };
    const patches = this.linear.forward(h.narrow(1, 1, h.shape[1]! - 1));
    return { patches, cls: this.linear_cls ? this.linear_cls.forward(h.select(1, 0)) : null };
  }
}

/**
 * The REPA projector: token-wise Linear(D → P) → SiLU → Linear(P → P) → SiLU → Linear(P → z).
 * Keys `0.*`, `2.*`, `4.*`.
 */
export class Projector extends ModuleList<Linear> {
  constructor(hiddenSize: number, projectorDim: number, zDim: number) {
    super([
      [0, new Linear(hiddenSize, projectorDim)],
      [2, new Linear(projectorDim, projectorDim)],
      [4, new Linear(projectorDim, zDim)],
    ]);
  }

  /** (…, D) → (…, z). */
  forward(h: Tensor): Tensor {
    const [a, b, c] = this.items as [Linear, Linear, Linear];
    return c.forward(F.silu(b.forward(F.silu(a.forward(h)))));
  }
}

/** Options of SiT.forward. */
export interface SiTForwardOptions extends LabelDropOptions {
  /** Also return the tokens after every block and the conditioning vector. */
  returnHidden?: boolean;
  /** Compute the alignment projections zs (default true; sampling skips them: only the loss uses them). */
  projections?: boolean;
}

/** What SiT.forward returns. */
export interface SiTOutput {
  /** Velocity of the latent, (N, C, H, W). */
  vImg: Tensor;
  /** Projector outputs after block encoderDepth, one (N, T[+1], zDims[k]) per encoder; [] without alignment. */
  zs: Tensor[];
  /** Velocity of the class token (N, zDims[0]); null without a class-token input. */
  vCls: Tensor | null;
  /** With returnHidden: tokens after each block (N, T[+1], D). */
  hidden?: Tensor[];
  /** With returnHidden: conditioning vector c = TEmb(t) + YEmb(y) (N, D). */
  c?: Tensor;
}

/** Options of the SiT constructor. */
export interface SiTInitOptions {
  /**
   * Stream for the official initialisation (xavier / normal draws). Without it the global generator is
   * used, and `torch.manualSeed(s); new SiT(cfg)` draws exactly what PyTorch draws for
   * `torch.manual_seed(s); SiT(**cfg)` (same module order, same ATen initialisers).
   */
  generator?: torch.Generator | undefined;
}

/**
 * SiT backbone with the REG changes (docs/method.md#model). Build it with `createSiT(name, overrides)` (configs.ts)
 * or `new SiT(resolveConfig(...))`; load weights with `loadModel` (pretrained.ts).
 *
 * State-dict keys (official): `pos_embed` (frozen, a parameter without grad, as upstream), `x_embedder.proj.*`,
 * `t_embedder.mlp.{0,2}.*`, `y_embedder.embedding_table.weight`, `blocks.i.{attn.qkv, attn.proj, mlp.fc1,
 * mlp.fc2, adaLN_modulation.1}.*`, `projectors.k.{0,2,4}.*`, `final_layer.{linear, linear_cls,
 * adaLN_modulation.1}.*`, `cls_projectors2.*`, `wg_norm.*`; plus `learnable_token` (1, 1, D) for
 * entangledSignal 'learnable' (not an official key: that ablation has no public code).
 */
export class SiT extends Module {
  readonly config: Readonly<SiTConfig>;
  /** Extra token at position 0. */
  readonly hasToken: boolean;
  /** REPA projectors after block encoderDepth. */
  readonly hasAlign: boolean;
  /** Token from the `clsT` input, with a class-token velocity head. */
  readonly hasClsInput: boolean;
  /** Width of the class token (zDims[0]) when hasClsInput, else null. */
  readonly clsDim: number | null;

  readonly pos_embed: Tensor;
  readonly learnable_token: Tensor | null;
  readonly x_embedder: PatchEmbed;
  readonly t_embedder: TimestepEmbedder;
  readonly y_embedder: LabelEmbedder;
  readonly blocks: ModuleList<SiTBlock>;
  readonly projectors: ModuleList<Projector> | null;
  readonly final_layer: FinalLayer;
  readonly cls_projectors2: Linear | null;
  readonly wg_norm: LayerNorm | null;

  constructor(config: SiTConfig, { generator }: SiTInitOptions = {}) {
    super();
    const c = (this.config = Object.freeze({ ...config, zDims: [...config.zDims] }));
    const D = c.hiddenSize;
    this.hasToken = hasToken(c);
    this.hasAlign = hasAlign(c);
    this.hasClsInput = hasClsInput(c);
    this.clsDim = this.hasClsInput ? c.zDims[0]! : null;
    const T = (c.inputSize / c.patchSize) ** 2;

    // construction order = official order (names, parameter order and RNG draws match PyTorch)
    this.x_embedder = this.child('x_embedder', new PatchEmbed(c.inputSize, c.patchSize, c.inChannels, D));
    this.t_embedder = this.child('t_embedder', new TimestepEmbedder(D));
    this.y_embedder = this.child('y_embedder', new LabelEmbedder(c.numClasses, D, c.classDropoutProb));
    this.pos_embed = this.param('pos_embed', torch.zeros([1, T + (this.hasToken ? 1 : 0), D]), { trainable: false });
    this.learnable_token = this.hasToken && !this.hasClsInput ? this.param('learnable_token', torch.zeros([1, 1, D])) : null;
    this.blocks = this.child(
      'blocks',
      new ModuleList(Array.from({ length: c.depth }, () => new SiTBlock(D, c.numHeads, c.mlpRatio, c.fusedAttention))),
    );
    this.projectors = this.hasAlign
      ? this.child('projectors', new ModuleList(c.zDims.map((z) => new Projector(D, c.projectorDim, z))))
      : null;
    this.final_layer = this.child('final_layer', new FinalLayer(D, c.patchSize, c.inChannels, this.clsDim));
    this.cls_projectors2 = this.hasClsInput ? this.child('cls_projectors2', new Linear(this.clsDim!, D)) : null;
    this.wg_norm = this.hasClsInput ? this.child('wg_norm', new LayerNorm(D, { eps: 1e-6 })) : null;
    this.initializeWeights(generator);
  }

  /**
   * The official initialisation (docs/method.md#initialisation): every Linear xavier-uniform with zero bias (in module order),
   * pos_embed = 2-D sin-cos with a zero class row, patch conv xavier-uniform on its (D, C·p·p) view with
   * zero bias, label table and both timestep-MLP weights N(0, 0.02²), adaLN outputs of every block and of
   * the final layer zero, final `linear` and `linear_cls` zero (both velocities are exactly 0 at step 0).
   * `learnable_token` (not official) is N(0, 0.02²), drawn last.
   */
  initializeWeights(generator?: torch.Generator): void {
    torch.noGrad(() => {
      const visit = (m: Module): void => {
        for (const [, ch] of m.children()) visit(ch);
        if (m instanceof Linear) {
          init.xavierUniform_(m.weight, 1, generator);
          if (m.bias) init.zeros_(m.bias);
        }
      };
      visit(this); // post-order, as nn.Module.apply
      this.resetPosEmbed();
      const w = this.x_embedder.proj.weight;
      const flat = w.view(w.shape[0]!, -1);
      init.xavierUniform_(flat, 1, generator);
      flat.dispose();
      if (this.x_embedder.proj.bias) init.zeros_(this.x_embedder.proj.bias);
      init.normal_(this.y_embedder.embedding_table.weight, 0, 0.02, generator);
      for (const l of this.t_embedder.mlp.items) init.normal_(l.weight, 0, 0.02, generator);
      for (const b of this.blocks.items) zeroLinear(b.adaLN_modulation.items[0]!);
      zeroLinear(this.final_layer.adaLN_modulation.items[0]!);
      zeroLinear(this.final_layer.linear);
      if (this.final_layer.linear_cls) zeroLinear(this.final_layer.linear_cls);
      if (this.learnable_token) init.normal_(this.learnable_token, 0, 0.02, generator);
    });
  }

  /** Rewrites pos_embed from the float64 sin-cos table in its current dtype and device. */
  resetPosEmbed(): void {
    const [, n, D] = this.pos_embed.shape as [number, number, number];
    const table = sincosPosEmbed2d(D, this.x_embedder.grid, this.hasToken ? 1 : 0);
    if (table.length !== n * D) throw new Error('resetPosEmbed: table size mismatch');
    torch.scope(() => torch.noGrad(() => this.pos_embed.copy_(torch.tensor(table, { shape: [1, n, D], dtype: 'float64' }))));
  }

  /** Moves/converts parameters; a dtype change recomputes pos_embed from the exact float64 table. */
  override to(target: { device?: torch.Device; dtype?: torch.DType }): this {
    const before = this.pos_embed.dtype;
    super.to(target);
    if (target.dtype !== undefined && target.dtype !== before) this.resetPosEmbed();
    return this;
  }

  /** Number of patch tokens T = (inputSize / p)². */
  get numPatches(): number {
    return this.x_embedder.numPatches;
  }

  /** (N, T, p²C) → (N, C, H, W); per-token features are laid out (p_row, p_col, C) (einsum nhwpqc → nchpwq). */
  unpatchify(x: Tensor): Tensor {
    const c = this.config.inChannels;
    const p = this.config.patchSize;
    const g = this.x_embedder.grid;
    return torch.scope(() =>
      x
        .reshape(x.shape[0]!, g, g, p, p, c)
        .permute(0, 5, 1, 3, 2, 4)
        .reshape(x.shape[0]!, c, g * p, g * p),
    );
  }

  /** (N, C, H, W) → (N, T, p²C), the inverse of unpatchify. */
  patchify(x: Tensor): Tensor {
    const c = this.config.inChannels;
    const p = this.config.patchSize;
    const g = this.x_embedder.grid;
    return torch.scope(() =>
      x
        .reshape(x.shape[0]!, c, g, p, g, p)
        .permute(0, 2, 4, 3, 5, 1)
        .reshape(x.shape[0]!, g * g, p * p * c),
    );
  }

  /**
   * The class-token LayerNorm (wg_norm) runs in its weights' dtype: under bfloat16 autocast the
   * projection comes out in bfloat16, and libtorch 1.13's CPU layer_norm rejects a bfloat16 input with
   * float32 weights (a float32 normalisation is also what autocast prescribes for layer_norm).
   */
  #asNormInput(x: Tensor): Tensor {
    const dtype = this.wg_norm!.weight!.dtype;
    return x.dtype === dtype ? x : x.to(dtype);
  }
  /**
   * The network: v̂_img, zs, v̂_cls = SiT(x_t, t, y, cls_t).
   *
   * @param x (N, C, H, W) noisy latent x_t
   * @param t (N,) continuous times in [0, 1] (t = 0 data, 1 noise), or one number for all samples
   * @param y (N,) int64 labels; numClasses is the null label. In training mode labels are dropped to null
   *   with probability classDropoutProb (or by `opts.dropMask`); in eval mode they are used as given.
   * @param clsT (N, zDims[0]) noisy class token cls_t; required when `hasClsInput`, ignored otherwise
   */
  forward(x: Tensor, t: Tensor | number, y: Tensor, clsT?: Tensor | null, opts: SiTForwardOptions = {}): SiTOutput {
    if (this.hasClsInput && !clsT)
      throw new TypeError(`SiT.forward: variant '${this.config.variant}' needs the class token input clsT of shape (N, ${this.clsDim})`);
    if (
      x.ndim !== 4 ||
      x.shape[1] !== this.config.inChannels ||
      x.shape[2] !== this.config.inputSize ||
      x.shape[3] !== this.config.inputSize
    ) {
      const { inChannels: C, inputSize: S } = this.config;
      throw new RangeError(`SiT.forward: x must be (N, ${C}, ${S}, ${S}), got [${x.shape.join(', ')}]`);
    }
    if (clsT && this.hasClsInput && (clsT.ndim !== 2 || clsT.shape[1] !== this.clsDim)) {
      throw new RangeError(
        `SiT.forward: clsT must be (N, ${this.clsDim}), got [${clsT.shape.join(', ')}] (does the encoder width match the model's zDims?)`,
      );
    }
    const N = x.shape[0]!;
    const tt = typeof t === 'number' ? torch.full([N], t, { dtype: x.dtype === 'float64' ? 'float64' : 'float32', device: x.device }) : t;
    let h = this.x_embedder.forward(x);
    if (this.hasToken) {
      const tok = this.hasClsInput
        ? this.wg_norm!.forward(this.#asNormInput(this.cls_projectors2!.forward(clsT!))).unsqueeze(1)
        : this.learnable_token!.expand(N, 1, this.config.hiddenSize).to(h.dtype);
      h = torch.cat([tok, h], 1);
    }
    h = h.add(this.pos_embed);
    const c = this.t_embedder.forward(tt).add(this.y_embedder.forward(y, this.training, opts));
    let zs: Tensor[] = [];
    const hidden: Tensor[] = [];
    const keepAll = opts.returnHidden === true;
    h = this.blocks.chain(
      h,
      (blk, hIn, i) => {
        const hOut = blk.forward(hIn, c);
        if (keepAll) hidden.push(hOut);
        if (this.hasAlign && opts.projections !== false && i + 1 === this.config.encoderDepth)
          zs = this.projectors!.items.map((p) => p.forward(hOut));
        return hOut;
      },
      { keepAll },
    );
    const { patches, cls } = this.final_layer.forward(h, c, this.hasToken);
    const out: SiTOutput = { vImg: this.unpatchify(patches), zs, vCls: cls };
    if (keepAll) Object.assign(out, { hidden, c });
    return out;
  }
}

function zeroLinear(l: Linear): void {
  init.zeros_(l.weight);
  if (l.bias) init.zeros_(l.bias);
}

// =================================================================================================
//                                  Shapes without initialisation
// =================================================================================================

/**
 * Every state-dict key of a config with its shape, in state-dict order (parameter counts, checkpoint
 * validation, config inference). Read from a SiT built with `init.skipInit`, so it is the model's own
 * structure: nothing is drawn or written, and the uninitialised weights (a few hundred tensors for
 * SiT-XL) cost address space only, until they are freed before returning.
 */
export function paramShapes(c: SiTConfig): Map<string, number[]> {
  const model = init.skipInit(() => new SiT(c));
  try {
    return new Map([...model.stateDict()].map(([k, t]) => [k, [...t.shape]]));
  } finally {
    model.dispose();
  }
}
