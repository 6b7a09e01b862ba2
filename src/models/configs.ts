/**
 * Named SiT configurations and the typed model config.
 *
 *   const model = createSiT('SiT-B/2', { encoderDepth: 4 });        // SiT-B/2 + REG
 *   const plain = createSiT('SiT-S/2', { variant: 'sit' });         // plain SiT-S/2 (works, unlike upstream)
 *   const cpu   = createSiT('SiT-T/2', { inputSize: 8, zDims: [64] });
 *
 * Sizes follow the SiT/DiT family (docs/method.md#sizes): S (12 × 384, 6 heads), B (12 × 768, 12), L (24 × 1024, 16),
 * XL (28 × 1152, 16), each with patch 2, 4 or 8. Two small presets ('SiT-T/2', 'SiT-Mini/2') train on a CPU.
 */
import type { Generator } from '../torch/random.js';
import type { Device } from '../torch/device.js';
import type { DType } from '../torch/dtype.js';
import { settingProblem, type Setting, type SettingTable } from '../util/settings.js';
import { paramShapes, SiT } from './sit.js';
import { ENTANGLED_SIGNALS, hasAlign, hasClsInput, hasToken, SIT_VARIANTS, type EntangledSignal, type SiTVariant } from './variant.js';

export * from './variant.js';

// =================================================================================================
//                                          Config type
// =================================================================================================

/** Complete description of a SiT/REG network (what `config.json` stores under `model`). */
export interface SiTConfig {
  /** Registry name the config came from (informational), e.g. 'SiT-XL/2'. */
  name?: string;
  /** Latent side length H = W (32 for 256 px images through the SD-VAE). */
  inputSize: number;
  /** Latent channels (in = out; no learned sigma). */
  inChannels: number;
  /** Patch side p: tokens = (inputSize / p)². */
  patchSize: number;
  /** Transformer width D. */
  hiddenSize: number;
  /** Number of SiT blocks. */
  depth: number;
  /** Attention heads (D must be divisible by it). */
  numHeads: number;
  /** MLP hidden width = mlpRatio · D. */
  mlpRatio: number;
  /** Classes; the label table has numClasses + 1 rows (row numClasses = null label) when classDropoutProb > 0. */
  numClasses: number;
  /** Label dropout probability in training (official: 0.1). */
  classDropoutProb: number;
  /** 1-based block whose output feeds the projectors (official: 4 for B, 8 for L/XL). */
  encoderDepth: number;
  /** Projector MLP hidden width (official 2048). */
  projectorDim: number;
  /** Feature width of each alignment encoder; zDims[0] is also the class-token width. */
  zDims: number[];
  /** Which comparison variant (default 'reg'). */
  variant: SiTVariant;
  /** What the extra token carries (default 'cls'). */
  entangledSignal: EntangledSignal;
  /** Use libtorch's fused scaled_dot_product_attention when it exists (official training default: true). */
  fusedAttention: boolean;
}

/** Defaults of every field that a size preset does not set (the official REG code's defaults). */
export const DEFAULT_CONFIG: Readonly<Omit<SiTConfig, 'name' | 'hiddenSize' | 'depth' | 'numHeads' | 'patchSize'>> = Object.freeze({
  inputSize: 32,
  inChannels: 4,
  mlpRatio: 4,
  numClasses: 1000,
  classDropoutProb: 0.1,
  encoderDepth: 8,
  projectorDim: 2048,
  zDims: [768],
  variant: 'reg' as SiTVariant,
  entangledSignal: 'cls' as EntangledSignal,
  fusedAttention: true,
});

// =================================================================================================
//                                           Registry
// =================================================================================================

type Preset = Partial<SiTConfig> & Pick<SiTConfig, 'depth' | 'hiddenSize' | 'numHeads' | 'patchSize'>;

const SIZES: Record<string, Omit<Preset, 'patchSize'>> = {
  S: { depth: 12, hiddenSize: 384, numHeads: 6, encoderDepth: 4 },
  B: { depth: 12, hiddenSize: 768, numHeads: 12, encoderDepth: 4 },
  L: { depth: 24, hiddenSize: 1024, numHeads: 16, encoderDepth: 8 },
  XL: { depth: 28, hiddenSize: 1152, numHeads: 16, encoderDepth: 8 },
};

/**
 * Name → preset. The official sizes keep the official defaults (32×32×4 latents, 1000 classes,
 * DINOv2-B width 768); the CPU presets are small enough to train on a laptop.
 */
export const SIT_CONFIGS: Readonly<Record<string, Readonly<Preset>>> = Object.freeze({
  ...Object.fromEntries(Object.entries(SIZES).flatMap(([size, s]) => [2, 4, 8].map((p) => [`SiT-${size}/${p}`, { ...s, patchSize: p }]))),
  /** Tiny CPU preset: 4 blocks × 128, 4 heads, projector 256, aligned after block 2. */
  'SiT-T/2': { depth: 4, hiddenSize: 128, numHeads: 4, patchSize: 2, encoderDepth: 2, projectorDim: 256 },
  /** Small CPU preset: 6 blocks × 256, 4 heads, projector 512, aligned after block 3. */
  'SiT-Mini/2': { depth: 6, hiddenSize: 256, numHeads: 4, patchSize: 2, encoderDepth: 3, projectorDim: 512 },
});

/** Every registered name, in registry order. */
export function modelNames(): string[] {
  return Object.keys(SIT_CONFIGS);
}

/** Thrown for a model name that is not in the registry. */
export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`unknown model '${model}'; known models: ${modelNames().join(', ')}`);
  }
}

const FIELDS: readonly (keyof SiTConfig)[] = [
  'name',
  'inputSize',
  'inChannels',
  'patchSize',
  'hiddenSize',
  'depth',
  'numHeads',
  'mlpRatio',
  'numClasses',
  'classDropoutProb',
  'encoderDepth',
  'projectorDim',
  'zDims',
  'variant',
  'entangledSignal',
  'fusedAttention',
];

/**
 * The range of every size field of a SiTConfig, declared once as settings (src/util/settings.ts). The
 * bounds keep a typo or a hostile file (`depth: 1e9`) from building or even describing a model of a
 * billion blocks: {@link validateConfig} and the readers of stored configs (a checkpoint's config.json,
 * a safetensors `__metadata__.config`) check them before anything is allocated. encoderDepth is bounded by
 * depth (see validateConfig).
 */
export const SIT_CONFIG_RANGES = {
  inputSize: { type: 'integer', min: 1, max: 4096, help: 'latent side length' },
  inChannels: { type: 'integer', min: 1, max: 64, help: 'latent channels' },
  patchSize: { type: 'integer', min: 1, max: 64, help: 'patch side' },
  hiddenSize: { type: 'integer', min: 1, max: 16384, help: 'transformer width' },
  depth: { type: 'integer', min: 1, max: 256, help: 'number of blocks' },
  numHeads: { type: 'integer', min: 1, max: 256, help: 'attention heads' },
  mlpRatio: { type: 'number', above: 0, max: 64, help: 'MLP width / transformer width' },
  numClasses: { type: 'integer', min: 1, max: 100_000, help: 'classes' },
  classDropoutProb: { type: 'number', min: 0, below: 1, help: 'label dropout probability' },
  projectorDim: { type: 'integer', min: 1, max: 65536, help: 'projector hidden width' },
} as const satisfies SettingTable;

/** Each encoder width in zDims: a setting like those of {@link SIT_CONFIG_RANGES}. */
export const Z_DIM_RANGE = { type: 'integer', min: 1, max: 16384, help: 'encoder feature width' } as const satisfies Setting;

/** Most alignment encoders a config may name (zDims entries). */
export const MAX_ENCODERS = 16;

/**
 * The first size field of a (partial, possibly untrusted) config outside its declared range, as
 * `depth must be in [1, 256], got 1000000000`; null when every field present is in range. Fields that are
 * absent are not checked (they take defaults); zDims must be an array of at most {@link MAX_ENCODERS}
 * widths in range.
 */
export function configRangeProblem(c: Readonly<Record<string, unknown>>): string | null {
  for (const [k, s] of Object.entries(SIT_CONFIG_RANGES) as [string, Setting][]) {
    const problem = c[k] === undefined ? null : settingProblem(s, c[k]);
    if (problem !== null) return `${k} must be ${problem}, got ${JSON.stringify(c[k]) ?? String(c[k])}`;
  }
  const z = c.zDims;
  if (z === undefined) return null;
  if (!Array.isArray(z) || z.length > MAX_ENCODERS || z.some((d) => settingProblem(Z_DIM_RANGE, d) !== null)) {
    const shown = Array.isArray(z) && z.length > MAX_ENCODERS ? `a list of ${z.length}` : JSON.stringify(z);
    return `zDims must be a list of at most ${MAX_ENCODERS} integers in [${Z_DIM_RANGE.min}, ${Z_DIM_RANGE.max}], got ${shown}`;
  }
  return null;
}

/** Checks a complete config; throws a RangeError/TypeError naming the offending field. */
export function validateConfig(c: SiTConfig): SiTConfig {
  for (const k of Object.keys(c)) {
    if (!FIELDS.includes(k as keyof SiTConfig)) throw new TypeError(`model config: unknown field '${k}' (known: ${FIELDS.join(', ')})`);
  }
  const problem = configRangeProblem(c as unknown as Record<string, unknown>);
  if (problem !== null) throw new RangeError(`model config: ${problem}`);
  if (!SIT_VARIANTS.includes(c.variant))
    throw new RangeError(`model config: variant must be one of ${SIT_VARIANTS.join(', ')}, got '${c.variant}'`);
  if (!ENTANGLED_SIGNALS.includes(c.entangledSignal)) {
    throw new RangeError(`model config: entangledSignal must be one of ${ENTANGLED_SIGNALS.join(', ')}, got '${c.entangledSignal}'`);
  }
  if (c.entangledSignal === 'learnable' && !hasToken(c))
    throw new RangeError(`model config: entangledSignal 'learnable' needs a token variant (reg or entangle), got '${c.variant}'`);
  if (c.inputSize % c.patchSize !== 0)
    throw new RangeError(`model config: inputSize ${c.inputSize} is not divisible by patchSize ${c.patchSize}`);
  if (c.hiddenSize % c.numHeads !== 0)
    throw new RangeError(`model config: hiddenSize ${c.hiddenSize} is not divisible by numHeads ${c.numHeads}`);
  if (c.hiddenSize % 4 !== 0)
    throw new RangeError(`model config: hiddenSize ${c.hiddenSize} must be a multiple of 4 (2-D sin-cos position embedding)`);
  if (!Number.isInteger(c.hiddenSize * c.mlpRatio))
    throw new RangeError(`model config: mlpRatio·hiddenSize must be a positive integer, got ${c.mlpRatio}`);
  if ((hasAlign(c) || hasClsInput(c)) && c.zDims.length === 0)
    throw new RangeError(`model config: variant '${c.variant}' needs at least one encoder dimension in zDims`);
  if (hasAlign(c) && !(Number.isInteger(c.encoderDepth) && c.encoderDepth >= 1 && c.encoderDepth <= c.depth)) {
    throw new RangeError(`model config: encoderDepth must be an integer in [1, depth=${c.depth}], got ${c.encoderDepth}`);
  }
  if (typeof c.fusedAttention !== 'boolean') throw new TypeError('model config: fusedAttention must be a boolean');
  return c;
}

/**
 * A complete, validated config from a registry name or a (partial) config, with `overrides` on top.
 * A partial config without `name` must give at least depth, hiddenSize, numHeads and patchSize.
 */
export function resolveConfig(nameOrConfig: string | Partial<SiTConfig>, overrides: Partial<SiTConfig> = {}): SiTConfig {
  let base: Partial<SiTConfig>;
  if (typeof nameOrConfig === 'string') {
    const preset = SIT_CONFIGS[nameOrConfig];
    if (!preset) throw new UnknownModelError(nameOrConfig);
    base = { name: nameOrConfig, ...preset };
  } else if (nameOrConfig.name !== undefined && SIT_CONFIGS[nameOrConfig.name]) {
    base = { ...SIT_CONFIGS[nameOrConfig.name], ...nameOrConfig };
  } else {
    base = { ...nameOrConfig };
  }
  const defined = (o: Partial<SiTConfig>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  for (const k of [...Object.keys(base), ...Object.keys(overrides)]) {
    if (!FIELDS.includes(k as keyof SiTConfig)) throw new TypeError(`model config: unknown field '${k}' (known: ${FIELDS.join(', ')})`);
  }
  const merged = { ...DEFAULT_CONFIG, ...defined(base), ...defined(overrides) } as SiTConfig;
  if (Array.isArray(merged.zDims)) merged.zDims = [...merged.zDims];
  for (const k of ['depth', 'hiddenSize', 'numHeads', 'patchSize'] as const) {
    if (merged[k] === undefined && typeof base.name === 'string') throw new UnknownModelError(base.name);
    if (merged[k] === undefined)
      throw new TypeError(`model config: '${k}' is required (or give a registry name: ${modelNames().join(', ')})`);
  }
  const ordered = Object.fromEntries(FIELDS.filter((k) => merged[k] !== undefined).map((k) => [k, merged[k]])) as unknown as SiTConfig;
  return validateConfig(ordered);
}

/** Options of createSiT. */
export interface CreateOptions {
  /** Where the parameters live (default cpu). */
  device?: Device;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /** Stream for the official initialisation; the global generator when omitted (see SiT). */
  generator?: Generator;
}

/**
 * A freshly initialised SiT (official initialisation, docs/method.md#initialisation) from a registry name or config.
 *
 *   createSiT('SiT-XL/2')                                  // REG, 32×32×4 latents, DINOv2-B width 768
 *   createSiT('SiT-B/2', { variant: 'repa', zDims: [1024] })
 */
export function createSiT(nameOrConfig: string | Partial<SiTConfig>, overrides: Partial<SiTConfig> = {}, options: CreateOptions = {}): SiT {
  const model = new SiT(resolveConfig(nameOrConfig, overrides), { generator: options.generator });
  if (options.device !== undefined || options.dtype !== undefined) model.to({ device: options.device, dtype: options.dtype });
  return model;
}

/**
 * Number of parameter elements of a config, from {@link paramShapes} (nothing initialised; includes the
 * frozen pos_embed, as PyTorch's model.parameters() does).
 */
export function countParameters(config: SiTConfig, { projectors = true, posEmbed = true } = {}): number {
  let n = 0;
  for (const [name, shape] of paramShapes(config)) {
    if (!projectors && name.startsWith('projectors.')) continue;
    if (!posEmbed && name === 'pos_embed') continue;
    n += shape.reduce((a, b) => a * b, 1);
  }
  return n;
}
