/**
 * Loading and saving SiT/REG weights: native checkpoint directories, official PyTorch `.pt` checkpoints
 * and plain safetensors files with the official key names.
 *
 *   const model = loadModel('runs/reg-b2/checkpoints/0400000');          // native dir, EMA weights, eval mode
 *   const model = loadModel('0400000.pt', { weights: 'model' });         // official REG checkpoint
 *   const model = loadModel('sit-xl-reg.safetensors', { device: 'cuda' }); // `reg export` output
 *
 * Native checkpoint directory (written by `reg convert` and the trainer):
 *
 *   config.json        { "format": "reg-ts-checkpoint", "version": 1, "model": SiTConfig, "step"?: n, … }
 *   model.safetensors  the trained weights, official key names (`blocks.0.attn.qkv.weight`, …)
 *   ema.safetensors    the EMA weights, same keys
 *   (the trainer adds its training state beside them)
 *
 * Official checkpoint (`train.py`): torch.save of `{model, ema, opt, args: argparse.Namespace, steps}`. Its
 * config is inferred from the tensor shapes (width, depth, patch, channels, classes, input size, encoder
 * widths, projector width, which variant) and from `args` (encoder_depth, fused_attn, model name → heads).
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Device, DType, Tensor } from '../torch/index.js';
import { loadPt, loadSafetensors, saveSafetensors, isPyObject, type PyValue } from '../torch/io/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { hasAlign, hasClsInput, paramShapes, SiT } from './sit.js';
import { resolveConfig, SIT_CONFIGS, type SiTConfig, type SiTVariant } from './configs.js';

// =================================================================================================
//                                        Errors and formats
// =================================================================================================

/** Format tag of native config.json files. */
export const CHECKPOINT_FORMAT = 'reg-ts-checkpoint';
/** Version of the native checkpoint layout. */
export const CHECKPOINT_VERSION = 1;

/** A checkpoint that cannot be used as asked (missing keys, wrong shapes, unknown layout). */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** The encoder feeding a model has a different feature width than the model was built/trained for. */
export class EncoderDimError extends Error {
  override name = 'EncoderDimError';
}

/** Which weights of a checkpoint: the EMA (default; what generation uses) or the raw trained ones. */
export type WeightsKind = 'ema' | 'model';

/** What config.json of a native checkpoint holds (the trainer may add more keys). */
export interface NativeCheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: number;
  model: SiTConfig;
  /** Optimizer steps done. */
  step?: number;
  /** Where the weights came from (e.g. an official `.pt`), for the record. */
  source?: Record<string, unknown>;
  [key: string]: unknown;
}

/** Everything a checkpoint holds that the model needs, whatever its format. */
export interface CheckpointContents {
  format: 'native' | 'official-pt' | 'safetensors';
  /** The config (stored, or inferred from shapes and args). */
  config: SiTConfig;
  /** Trained weights (official key names); null when the file only has EMA weights. */
  model: Map<string, Tensor> | null;
  /** EMA weights; null when absent. */
  ema: Map<string, Tensor> | null;
  /** Steps done, when recorded. */
  step: number | undefined;
  /** Official argparse args (plain object), when the checkpoint is official. */
  args: Record<string, unknown> | undefined;
  /** Which weights the checkpoint has (even those not read because of `only`). */
  available: WeightsKind[];
}

// =================================================================================================
//                                  Official config ⇄ SiTConfig
// =================================================================================================

/** Conventional head count of the standard widths (SiT-S/B/L/XL). */
const HEADS_BY_WIDTH: Record<number, number> = { 384: 6, 768: 12, 1024: 16, 1152: 16 };

/**
 * SiTConfig from the snake_case dict the PyTorch reference (test/reference/sit_reg.py) uses:
 * input_size, patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio, num_classes,
 * class_dropout_prob, encoder_depth, projector_dim, z_dims, variant.
 */
export function configFromPython(d: Record<string, unknown>, overrides: Partial<SiTConfig> = {}): SiTConfig {
  const num = (k: string): number | undefined => (typeof d[k] === 'number' ? (d[k] as number) : undefined);
  return resolveConfig(
    {
      inputSize: num('input_size'),
      patchSize: num('patch_size'),
      inChannels: num('in_channels'),
      hiddenSize: num('hidden_size'),
      depth: num('depth'),
      numHeads: num('num_heads'),
      mlpRatio: num('mlp_ratio'),
      numClasses: num('num_classes'),
      classDropoutProb: num('class_dropout_prob'),
      encoderDepth: num('encoder_depth'),
      projectorDim: num('projector_dim'),
      zDims: Array.isArray(d.z_dims) ? (d.z_dims as number[]) : undefined,
      variant: typeof d.variant === 'string' ? (d.variant as SiTVariant) : undefined,
      fusedAttention: typeof d.fused_attn === 'boolean' ? d.fused_attn : undefined,
    },
    overrides,
  );
}

/** The snake_case form of a config (the PyTorch reference's constructor arguments). */
export function configToPython(c: SiTConfig): Record<string, unknown> {
  return {
    input_size: c.inputSize,
    patch_size: c.patchSize,
    in_channels: c.inChannels,
    hidden_size: c.hiddenSize,
    depth: c.depth,
    num_heads: c.numHeads,
    mlp_ratio: c.mlpRatio,
    num_classes: c.numClasses,
    class_dropout_prob: c.classDropoutProb,
    encoder_depth: c.encoderDepth,
    projector_dim: c.projectorDim,
    z_dims: [...c.zDims],
    variant: c.variant,
    fused_attn: c.fusedAttention,
  };
}

function shapeOf(sd: ReadonlyMap<string, { shape: readonly number[] }>, key: string): readonly number[] {
  const t = sd.get(key);
  if (!t) throw new CheckpointError(`cannot infer the model config: the state dict has no '${key}'`);
  return t.shape;
}

/**
 * Infers a SiTConfig from official state-dict shapes and (optionally) the official `args`:
 *
 * - hiddenSize, inChannels, patchSize ← `x_embedder.proj.weight` (D, C, p, p)
 * - depth ← number of `blocks.i`; mlpRatio ← `blocks.0.mlp.fc1.weight` rows / D
 * - numClasses, classDropoutProb ← label table rows (numClasses + 1 with a null row → 0.1, as upstream)
 * - variant ← presence of `cls_projectors2.*` (token) and `projectors.*` (alignment); `learnable_token` → learnable
 * - zDims, projectorDim ← `projectors.k.4.weight` rows, `projectors.0.0.weight` rows; cls width ← `linear_cls`
 * - inputSize ← `pos_embed` tokens (minus the class row) = (inputSize / p)²
 * - numHeads ← args.model when it is a registry name, else the standard width table, else D / 64
 * - encoderDepth ← args.encoder_depth (default 8); fusedAttention ← args.fused_attn (default true)
 *
 * `overrides` win over everything (e.g. `{ numHeads: 2 }` for a non-standard width).
 */
export function inferConfig(
  sd: ReadonlyMap<string, { shape: readonly number[] }>,
  args: Record<string, unknown> = {},
  overrides: Partial<SiTConfig> = {},
): SiTConfig {
  const [D, C, p] = shapeOf(sd, 'x_embedder.proj.weight') as [number, number, number];
  let depth = 0;
  while (sd.has(`blocks.${depth}.attn.qkv.weight`)) depth++;
  if (depth === 0) throw new CheckpointError("cannot infer the model config: the state dict has no 'blocks.0.attn.qkv.weight'");
  const mlpRatio = shapeOf(sd, 'blocks.0.mlp.fc1.weight')[0]! / D;
  const rows = shapeOf(sd, 'y_embedder.embedding_table.weight')[0]!;
  const argClasses = typeof args.num_classes === 'number' ? args.num_classes : undefined;
  // upstream: rows = num_classes + (dropout > 0); without args assume the official dropout 0.1 (a null row)
  const numClasses = argClasses !== undefined && (rows === argClasses || rows === argClasses + 1) ? argClasses : rows - 1;
  const classDropoutProb = rows === numClasses + 1 ? 0.1 : 0;
  const learnable = sd.has('learnable_token');
  const token = sd.has('cls_projectors2.weight') || learnable;
  const align = sd.has('projectors.0.0.weight');
  const variant: SiTVariant = token ? (align ? 'reg' : 'entangle') : align ? 'repa' : 'sit';
  const zDims: number[] = [];
  for (let k = 0; sd.has(`projectors.${k}.4.weight`); k++) zDims.push(shapeOf(sd, `projectors.${k}.4.weight`)[0]!);
  if (sd.has('cls_projectors2.weight')) {
    const clsDim = shapeOf(sd, 'cls_projectors2.weight')[1]!;
    if (zDims.length === 0) zDims.push(clsDim);
    else if (zDims[0] !== clsDim) throw new CheckpointError(`inconsistent checkpoint: class-token width ${clsDim} differs from the first projector's output width ${zDims[0]}`);
  }
  const projectorDim = align ? shapeOf(sd, 'projectors.0.0.weight')[0]! : 2048;
  const tokens = shapeOf(sd, 'pos_embed')[1]! - (token ? 1 : 0);
  const grid = Math.round(Math.sqrt(tokens));
  if (grid * grid !== tokens) throw new CheckpointError(`cannot infer the input size: pos_embed has ${tokens} patch tokens, not a square number`);

  let numHeads = overrides.numHeads;
  const argModel = typeof args.model === 'string' ? args.model : undefined;
  if (numHeads === undefined && argModel && SIT_CONFIGS[argModel]?.hiddenSize === D) numHeads = SIT_CONFIGS[argModel]!.numHeads;
  numHeads ??= HEADS_BY_WIDTH[D] ?? (D % 64 === 0 ? D / 64 : undefined);
  if (numHeads === undefined) {
    throw new CheckpointError(
      `cannot infer the number of attention heads for width ${D}${argModel ? ` (args.model '${argModel}' is not a known model)` : ''}: pass numHeads (CLI: --num-heads)`,
    );
  }
  const encoderDepth = typeof args.encoder_depth === 'number' ? args.encoder_depth : undefined;
  const fusedAttention = typeof args.fused_attn === 'boolean' ? args.fused_attn : undefined;
  const name = argModel && SIT_CONFIGS[argModel]?.hiddenSize === D && SIT_CONFIGS[argModel]?.patchSize === p ? argModel : undefined;
  const inferred: Partial<SiTConfig> = {
    inputSize: grid * p, inChannels: C, patchSize: p, hiddenSize: D, depth, numHeads, mlpRatio, numClasses, classDropoutProb,
    projectorDim, zDims, variant, entangledSignal: learnable ? 'learnable' : 'cls', encoderDepth: encoderDepth ?? Math.min(8, depth), fusedAttention,
  };
  const config = resolveConfig(name ? { name, ...inferred } : inferred, overrides);
  if (!name) delete config.name;
  return config;
}

// =================================================================================================
//                                      Validation helpers
// =================================================================================================

/**
 * Checks a state dict against a config: every key present, none extra, every shape right.
 * Throws a CheckpointError listing what is wrong (`what` names the source in the message).
 */
export function checkStateDict(config: SiTConfig, sd: ReadonlyMap<string, { shape: readonly number[] }>, what = 'checkpoint'): void {
  const want = paramShapes(config);
  const missing = [...want.keys()].filter((k) => !sd.has(k));
  const unexpected = [...sd.keys()].filter((k) => !want.has(k));
  const show = (l: string[]) => (l.length > 10 ? `${l.slice(0, 10).join(', ')}, … (${l.length} in all)` : l.join(', '));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${show(missing)}`);
  if (unexpected.length) problems.push(`unexpected keys: ${show(unexpected)}`);
  for (const [k, shape] of want) {
    const t = sd.get(k);
    if (t && t.shape.join(',') !== shape.join(',')) problems.push(`'${k}' has shape [${t.shape.join(', ')}] but the model expects [${shape.join(', ')}]`);
  }
  if (problems.length) throw new CheckpointError(`${what} does not match the model (${config.variant}, D=${config.hiddenSize}, depth ${config.depth}): ${problems.join('; ')}`);
}

/**
 * Checks that encoder feature widths match a model config (zDims, one per encoder; zDims[0] is the class
 * token width). Throws an EncoderDimError naming both sides.
 */
export function checkEncoderDims(config: SiTConfig, encoderDims: readonly number[], what = 'the model'): void {
  const needs = hasAlign(config) ? config.zDims.length : hasClsInput(config) ? 1 : 0;
  if (needs === 0) return;
  const model = config.zDims.slice(0, needs);
  const given = encoderDims.slice(0, needs);
  if (given.length !== needs || model.some((z, i) => z !== given[i])) {
    throw new EncoderDimError(
      `encoder dimension mismatch: ${what} was built for encoder width${needs > 1 ? 's' : ''} [${model.join(', ')}] (zDims) but the encoder gives [${encoderDims.join(', ')}]; use the encoder the checkpoint was trained with, or start a new model with zDims=[${encoderDims.join(', ')}]`,
    );
  }
}

/** Removes a DistributedDataParallel `module.` prefix from every key. */
function stripModulePrefix(sd: Map<string, Tensor>): Map<string, Tensor> {
  if (![...sd.keys()].every((k) => k.startsWith('module.'))) return sd;
  return new Map([...sd].map(([k, v]) => [k.slice('module.'.length), v]));
}

function asTensorMap(v: PyValue<Tensor> | undefined): Map<string, Tensor> | null {
  if (!(v instanceof Map)) return null;
  const out = new Map<string, Tensor>();
  for (const [k, t] of v) {
    if (typeof k !== 'string' || !(t instanceof torch.Tensor)) return null;
    out.set(k, t);
  }
  return stripModulePrefix(out);
}

function plainArgs(v: PyValue<Tensor> | undefined): Record<string, unknown> | undefined {
  if (!isPyObject(v)) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '__class__') continue;
    if (x === null || ['string', 'number', 'boolean'].includes(typeof x)) out[k] = x;
    else if (Array.isArray(x) && x.every((e) => ['string', 'number', 'boolean'].includes(typeof e))) out[k] = x;
    else if (typeof x === 'bigint') out[k] = Number(x);
  }
  return out;
}

// =================================================================================================
//                                           Reading
// =================================================================================================

/** Options of readCheckpoint / loadModel. */
export interface ReadOptions {
  /** Fields that win over the stored/inferred config (e.g. numHeads for a non-standard official width). */
  overrides?: Partial<SiTConfig>;
  /** Read only these weights from a native directory (default both); other formats are read whole. */
  only?: WeightsKind;
}

/**
 * The checkpoint directory `dir` stands for: itself when it holds config.json and weights, else the
 * checkpoint named by `dir/latest` or `dir/checkpoints/latest` (a training run's newest complete
 * checkpoint; a run directory has a config.json of its own but no weights).
 */
export function resolveCheckpointDir(dir: string): string {
  const hasWeights = ['model', 'ema'].some((w) => existsSync(path.join(dir, `${w}.safetensors`)));
  if (existsSync(path.join(dir, 'config.json')) && hasWeights) return dir;
  for (const base of [dir, path.join(dir, 'checkpoints')]) {
    const latest = path.join(base, 'latest');
    if (existsSync(latest)) {
      const name = readFileSync(latest, 'utf8').trim();
      if (name && existsSync(path.join(base, name, 'config.json'))) return path.join(base, name);
    }
  }
  if (existsSync(path.join(dir, 'config.json'))) return dir;
  throw new CheckpointError(`${dir} is not a reg-ts checkpoint directory (no config.json, no latest checkpoint)`);
}

/** Reads config.json of a native checkpoint directory (or of the latest checkpoint of a run). */
export function readNativeConfig(dir: string): NativeCheckpointConfig {
  const file = path.join(resolveCheckpointDir(dir), 'config.json');
  if (!existsSync(file)) throw new CheckpointError(`${dir} is not a reg-ts checkpoint directory (no config.json)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CheckpointError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json.model !== 'object' || json.model === null) throw new CheckpointError(`${file}: no "model" config`);
  return json as NativeCheckpointConfig;
}

/**
 * Reads any supported checkpoint into state dicts plus a config, without building a model:
 * a native directory (or its config.json), an official `.pt`/`.pth`, or a `.safetensors` file.
 */
export function readCheckpoint(source: string, { overrides = {}, only }: ReadOptions = {}): CheckpointContents {
  if (!existsSync(source)) throw new CheckpointError(`checkpoint not found: ${source}`);
  const given = statSync(source).isDirectory() ? source : path.basename(source) === 'config.json' ? path.dirname(source) : null;
  if (given !== null) {
    const dir = resolveCheckpointDir(given);
    const cfg = readNativeConfig(dir);
    const config = resolveConfig(cfg.model, overrides);
    const file = (w: WeightsKind) => path.join(dir, `${w}.safetensors`);
    const available = (['model', 'ema'] as const).filter((w) => existsSync(file(w)));
    const read = (w: WeightsKind): Map<string, Tensor> | null => (available.includes(w) && (only === undefined || only === w) ? loadSafetensors(file(w)).tensors : null);
    return { format: 'native', config, model: read('model'), ema: read('ema'), step: cfg.step, args: undefined, available };
  }
  if (source.endsWith('.safetensors')) {
    const { tensors, metadata } = loadSafetensors(source);
    let config: SiTConfig;
    if (metadata.config) {
      config = resolveConfig(JSON.parse(metadata.config) as Partial<SiTConfig>, overrides);
    } else {
      config = inferConfig(tensors, {}, overrides);
    }
    const weights = metadata.weights === 'model' ? 'model' : 'ema';
    const step = metadata.step !== undefined ? Number(metadata.step) : undefined;
    return { format: 'safetensors', config, model: weights === 'model' ? tensors : null, ema: weights === 'ema' ? tensors : null, step, args: undefined, available: [weights] };
  }
  const root = loadPt(source);
  if (!(root instanceof Map)) throw new CheckpointError(`${source}: not a checkpoint (expected a dict)`);
  const bare = asTensorMap(root);
  if (bare) {
    // a bare state dict (e.g. an EMA-only release)
    return { format: 'official-pt', config: inferConfig(bare, {}, overrides), model: null, ema: bare, step: undefined, args: undefined, available: ['ema'] };
  }
  const model = asTensorMap(root.get('model'));
  const ema = asTensorMap(root.get('ema'));
  if (!model && !ema) throw new CheckpointError(`${source}: no 'model' or 'ema' state dict (keys: ${[...root.keys()].map(String).join(', ')})`);
  const args = plainArgs(root.get('args'));
  const steps = root.get('steps');
  const config = inferConfig((model ?? ema)!, args ?? {}, overrides);
  const available: WeightsKind[] = [...(model ? (['model'] as const) : []), ...(ema ? (['ema'] as const) : [])];
  return { format: 'official-pt', config, model, ema, step: typeof steps === 'number' ? steps : undefined, args, available };
}

function weightsOf(ck: CheckpointContents, weights: WeightsKind, source: string): Map<string, Tensor> {
  const sd = ck[weights];
  if (sd) return sd;
  const other = weights === 'ema' ? 'model' : 'ema';
  const hint = ck.available.includes(other) ? ` (it has ${other} weights: pass weights: '${other}', CLI --weights ${other})` : '';
  throw new CheckpointError(`${source} has no ${weights} weights${hint}`);
}

/** Options of loadModel. */
export interface LoadModelOptions extends ReadOptions {
  /** Device of the returned model (default cpu). */
  device?: Device;
  /** Parameter dtype (default float32, the stored dtype of official checkpoints). */
  dtype?: DType;
  /** EMA (default) or raw trained weights. */
  weights?: WeightsKind;
  /** Widths of the encoder(s) that will feed the model: a mismatch with the checkpoint throws EncoderDimError. */
  encoderDims?: readonly number[];
  /** Training mode instead of eval mode (default false: label dropout off). */
  train?: boolean;
}

/**
 * A SiT with weights from a native checkpoint directory, an official `.pt` or a `.safetensors` file,
 * in eval mode. Throws CheckpointError for missing/unexpected keys or wrong shapes, EncoderDimError when
 * `encoderDims` does not match, UnknownModelError for an unknown registry name in a stored config.
 */
export function loadModel(source: string, options: LoadModelOptions = {}): SiT {
  const weights = options.weights ?? 'ema';
  const ck = readCheckpoint(source, { overrides: options.overrides, only: weights });
  try {
    const sd = weightsOf(ck, weights, source);
    if (options.encoderDims) checkEncoderDims(ck.config, options.encoderDims, source);
    checkStateDict(ck.config, sd, `${source} (${weights} weights)`);
    const model = new SiT(ck.config);
    model.loadStateDict(sd);
    if (options.device !== undefined || options.dtype !== undefined) model.to({ device: options.device, dtype: options.dtype });
    model.train(options.train ?? false);
    return model;
  } finally {
    for (const m of [ck.model, ck.ema]) for (const t of m?.values() ?? []) t.dispose();
  }
}

// =================================================================================================
//                                           Writing
// =================================================================================================

/** What writeNativeCheckpoint writes. */
export interface NativeCheckpoint {
  config: SiTConfig;
  /** Trained weights (official key names). */
  model: ReadonlyMap<string, Tensor>;
  /** EMA weights; omitted → no ema.safetensors. */
  ema?: ReadonlyMap<string, Tensor> | null;
  step?: number;
  /** Extra config.json keys (source, training config, …). */
  extra?: Record<string, unknown>;
}

/**
 * Writes a native checkpoint directory: model.safetensors, ema.safetensors (each atomically), then
 * config.json (atomically, last, so a directory with config.json is complete). Both weight files carry
 * `__metadata__` {format, config (JSON), weights, step} so each is loadable on its own.
 */
export function writeNativeCheckpoint(dir: string, ck: NativeCheckpoint): void {
  checkStateDict(ck.config, ck.model, 'model weights');
  if (ck.ema) checkStateDict(ck.config, ck.ema, 'EMA weights');
  mkdirSync(dir, { recursive: true });
  const meta = (weights: WeightsKind): Record<string, string> => ({
    format: 'reg-ts',
    config: JSON.stringify(ck.config),
    weights,
    ...(ck.step !== undefined ? { step: String(ck.step) } : {}),
  });
  saveSafetensors(path.join(dir, 'model.safetensors'), ck.model, meta('model'));
  if (ck.ema) saveSafetensors(path.join(dir, 'ema.safetensors'), ck.ema, meta('ema'));
  const json: NativeCheckpointConfig = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: ck.config,
    ...(ck.step !== undefined ? { step: ck.step } : {}),
    ...(ck.extra ?? {}),
  };
  writeFileAtomic(path.join(dir, 'config.json'), `${JSON.stringify(json, null, 2)}\n`);
}

/** Options of exportWeights. */
export interface ExportOptions {
  /** EMA (default) or raw trained weights. */
  weights?: WeightsKind;
  /** Convert floating tensors to this dtype (default: as stored). */
  dtype?: DType;
}

/**
 * Writes one checkpoint's weights to a safetensors file with the official key names, for PyTorch users
 * (`model.load_state_dict(safetensors.torch.load_file(f))` on the official SiT class). `__metadata__` holds
 * the reg-ts config (`config`), the official constructor arguments (`official_config`), `weights` and `step`.
 * @returns the number of tensors written
 */
export function exportWeights(source: string, file: string, { weights = 'ema', dtype }: ExportOptions = {}): number {
  const ck = readCheckpoint(source, { only: weights });
  try {
    const sd = weightsOf(ck, weights, source);
    checkStateDict(ck.config, sd, `${source} (${weights} weights)`);
    const out = new Map<string, Tensor>();
    for (const [k] of paramShapes(ck.config)) {
      const t = sd.get(k)!;
      out.set(k, dtype && t.dtype !== dtype && torch.isFloatingPoint(t.dtype) ? t.to(dtype) : t);
    }
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    saveSafetensors(file, out, {
      format: 'reg-ts',
      config: JSON.stringify(ck.config),
      official_config: JSON.stringify(configToPython(ck.config)),
      weights,
      ...(ck.step !== undefined ? { step: String(ck.step) } : {}),
    });
    for (const [k, t] of out) if (t !== sd.get(k)) t.dispose();
    return out.size;
  } finally {
    for (const m of [ck.model, ck.ema]) for (const t of m?.values() ?? []) t.dispose();
  }
}

/** Summary of a conversion. */
export interface ConvertReport {
  config: SiTConfig;
  step: number | undefined;
  tensors: number;
  hasEma: boolean;
}

/**
 * Imports an official REG `.pt` checkpoint into a native checkpoint directory (config inferred from
 * shapes and args; model and EMA weights under their official names; args kept in config.json `source`).
 */
export function convertOfficial(ptFile: string, dir: string, options: ReadOptions = {}): ConvertReport {
  const ck = readCheckpoint(ptFile, options);
  try {
    if (ck.format !== 'official-pt') throw new CheckpointError(`${ptFile} is not an official PyTorch checkpoint (.pt)`);
    const model = ck.model ?? ck.ema!;
    writeNativeCheckpoint(dir, {
      config: ck.config,
      model,
      ema: ck.ema,
      step: ck.step,
      extra: { source: { kind: 'official-pt', file: path.resolve(ptFile), args: ck.args ?? null, modelWeightsFrom: ck.model ? 'model' : 'ema' } },
    });
    return { config: ck.config, step: ck.step, tensors: model.size, hasEma: ck.ema !== null };
  } finally {
    for (const m of [ck.model, ck.ema]) for (const t of m?.values() ?? []) t.dispose();
  }
}

