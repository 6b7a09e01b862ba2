/**
 * Loading and saving SiT/REG weights: native checkpoint directories, official PyTorch `.pt` checkpoints
 * and plain safetensors files with the official key names.
 *
 *   const model = loadModel('runs/reg-b2/checkpoints/0400000');          // native dir, EMA weights, eval mode
 *   const model = loadModel('0400000.pt', { weights: 'model' });         // official REG checkpoint
 *   const model = loadModel('sit-xl-reg.safetensors', { device: 'cuda' }); // `reg export` output
 *
 * Native checkpoint directories (written by `reg convert` and the trainer) are described, written and
 * resolved in ./checkpoint.ts.
 *
 * Official checkpoint (`train.py`): torch.save of `{model, ema, opt, args: argparse.Namespace, steps}`. Its
 * config is inferred from the tensor shapes (width, depth, patch, channels, classes, input size, encoder
 * widths, projector width, which variant) and from `args` (encoder_depth, fused_attn, model name → heads).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../torch/index.js';
import type { Device, DType, Tensor } from '../torch/index.js';
import { loadPt, loadSafetensors, saveSafetensors, isPyObject, type PyValue } from '../torch/io/index.js';
import { parseJsonObject } from '../util/json.js';
import { paramShapes, SiT } from './sit.js';
import { hasAlign, hasClsInput } from './variant.js';
import { resolveConfig, SIT_CONFIGS, type SiTConfig, type SiTVariant } from './configs.js';
import {
  CHECKPOINT_FILES,
  CheckpointError,
  checkStateDict,
  readCheckpointConfig,
  readCheckpointState,
  resolveCheckpoint,
  stateKindOf,
  stateMetadata,
  writeCheckpoint,
  type WeightsKind,
} from './checkpoint.js';

// =================================================================================================
//                                        Errors and contents
// =================================================================================================

/** The encoder feeding a model has a different feature width than the model was built/trained for. */
export class EncoderDimError extends Error {
  override name = 'EncoderDimError';
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

/** The shape of `key`, which must have `rank` dimensions (a CheckpointError naming the key otherwise). */
function shapeOf(sd: ReadonlyMap<string, { shape: readonly number[] }>, key: string, rank: number): readonly number[] {
  const t = sd.get(key);
  if (!t) throw new CheckpointError(`cannot infer the model config: the state dict has no '${key}'`);
  if (t.shape.length !== rank)
    throw new CheckpointError(`cannot infer the model config: '${key}' has shape [${t.shape.join(', ')}], expected ${rank} dimensions`);
  return t.shape;
}

/**
 * A config made by `make` (resolveConfig of a stored or inferred config); a field out of range or
 * inconsistent becomes a CheckpointError that names `where` (the file, and where in it) and the field.
 */
function configOf(where: string, make: () => SiTConfig): SiTConfig {
  try {
    return make();
  } catch (e) {
    if (e instanceof RangeError || e instanceof TypeError) throw new CheckpointError(`${where}: ${e.message}`, { cause: e });
    if (e instanceof CheckpointError) throw new CheckpointError(`${where}: ${e.message}`, { cause: e });
    throw e;
  }
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
 * - numHeads ← args.model when it is a registry name of this width, else the standard width table
 *   (SiT-S/B/L/XL); any other width needs `overrides.numHeads`, since no tensor shape shows the head count
 * - encoderDepth ← args.encoder_depth (default 8); fusedAttention ← args.fused_attn (default true)
 *
 * `overrides` win over everything (e.g. `{ numHeads: 2 }` for a non-standard width).
 */
export function inferConfig(
  sd: ReadonlyMap<string, { shape: readonly number[] }>,
  args: Record<string, unknown> = {},
  overrides: Partial<SiTConfig> = {},
): SiTConfig {
  const [D, C, p, p2] = shapeOf(sd, 'x_embedder.proj.weight', 4) as [number, number, number, number];
  if (p !== p2)
    throw new CheckpointError(`cannot infer the patch size: 'x_embedder.proj.weight' has a ${p}×${p2} kernel, not a square one`);
  let depth = 0;
  while (sd.has(`blocks.${depth}.attn.qkv.weight`)) depth++;
  if (depth === 0) throw new CheckpointError("cannot infer the model config: the state dict has no 'blocks.0.attn.qkv.weight'");
  const mlpRatio = shapeOf(sd, 'blocks.0.mlp.fc1.weight', 2)[0]! / D;
  const rows = shapeOf(sd, 'y_embedder.embedding_table.weight', 2)[0]!;
  const argClasses = typeof args.num_classes === 'number' ? args.num_classes : undefined;
  // upstream: rows = num_classes + (dropout > 0); without args assume the official dropout 0.1 (a null row)
  const numClasses = argClasses !== undefined && (rows === argClasses || rows === argClasses + 1) ? argClasses : rows - 1;
  const classDropoutProb = rows === numClasses + 1 ? 0.1 : 0;
  const learnable = sd.has('learnable_token');
  const token = sd.has('cls_projectors2.weight') || learnable;
  const align = sd.has('projectors.0.0.weight');
  const variant: SiTVariant = token ? (align ? 'reg' : 'entangle') : align ? 'repa' : 'sit';
  const zDims: number[] = [];
  for (let k = 0; sd.has(`projectors.${k}.4.weight`); k++) zDims.push(shapeOf(sd, `projectors.${k}.4.weight`, 2)[0]!);
  if (sd.has('cls_projectors2.weight')) {
    const clsDim = shapeOf(sd, 'cls_projectors2.weight', 2)[1]!;
    if (zDims.length === 0) zDims.push(clsDim);
    else if (zDims[0] !== clsDim)
      throw new CheckpointError(
        `inconsistent checkpoint: class-token width ${clsDim} differs from the first projector's output width ${zDims[0]}`,
      );
  }
  const projectorDim = align ? shapeOf(sd, 'projectors.0.0.weight', 2)[0]! : 2048;
  const tokens = shapeOf(sd, 'pos_embed', 3)[1]! - (token ? 1 : 0);
  const grid = Math.round(Math.sqrt(tokens));
  if (grid * grid !== tokens)
    throw new CheckpointError(`cannot infer the input size: pos_embed has ${tokens} patch tokens, not a square number`);

  let numHeads = overrides.numHeads;
  const argModel = typeof args.model === 'string' ? args.model : undefined;
  if (numHeads === undefined && argModel && SIT_CONFIGS[argModel]?.hiddenSize === D) numHeads = SIT_CONFIGS[argModel]!.numHeads;
  numHeads ??= HEADS_BY_WIDTH[D];
  if (numHeads === undefined) {
    const why = argModel ? `args.model '${argModel}' is not a known model of this width` : 'no args.model names a known model';
    throw new CheckpointError(
      `cannot infer the number of attention heads for width ${D} (${why}, and ${D} is not a standard SiT width): pass numHeads (CLI: --num-heads)`,
    );
  }
  const encoderDepth = typeof args.encoder_depth === 'number' ? args.encoder_depth : undefined;
  const fusedAttention = typeof args.fused_attn === 'boolean' ? args.fused_attn : undefined;
  const name = argModel && SIT_CONFIGS[argModel]?.hiddenSize === D && SIT_CONFIGS[argModel]?.patchSize === p ? argModel : undefined;
  const inferred: Partial<SiTConfig> = {
    inputSize: grid * p,
    inChannels: C,
    patchSize: p,
    hiddenSize: D,
    depth,
    numHeads,
    mlpRatio,
    numClasses,
    classDropoutProb,
    projectorDim,
    zDims,
    variant,
    entangledSignal: learnable ? 'learnable' : 'cls',
    encoderDepth: encoderDepth ?? Math.min(8, depth),
    fusedAttention,
  };
  const config = resolveConfig(name ? { name, ...inferred } : inferred, overrides);
  if (!name) delete config.name;
  return config;
}

// =================================================================================================
//                                      Validation helpers
// =================================================================================================

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
 * Reads any supported checkpoint into state dicts plus a config, without building a model:
 * a native directory (or its config.json), an official `.pt`/`.pth`, or a `.safetensors` file.
 */
export function readCheckpoint(source: string, { overrides = {}, only }: ReadOptions = {}): CheckpointContents {
  if (!existsSync(source)) throw new CheckpointError(`checkpoint not found: ${source}`);
  const given = statSync(source).isDirectory() ? source : path.basename(source) === 'config.json' ? path.dirname(source) : null;
  if (given !== null) {
    const dir = resolveCheckpoint(given);
    const cfg = readCheckpointConfig(dir);
    const config = configOf(path.join(dir, CHECKPOINT_FILES.config), () => resolveConfig(cfg.model, overrides));
    const available = (['model', 'ema'] as const).filter((w) => existsSync(path.join(dir, CHECKPOINT_FILES[w])));
    const read = (w: WeightsKind): Map<string, Tensor> | null =>
      available.includes(w) && (only === undefined || only === w) ? readCheckpointState(dir, w) : null;
    return { format: 'native', config, model: read('model'), ema: read('ema'), step: cfg.step, args: undefined, available };
  }
  if (source.endsWith('.safetensors')) {
    const { tensors, metadata } = loadSafetensors(source);
    // what the file holds is what its metadata names (`weights`, or `content` in old trainer files);
    // a file without either (from elsewhere) is taken for EMA weights, what releases publish
    const weights = stateKindOf(metadata, source) ?? 'ema';
    if (weights === 'optimizer') {
      for (const t of tensors.values()) t.dispose();
      throw new CheckpointError(`${source} holds optimizer state, not model weights (its metadata says so)`);
    }
    const config = configOf(metadata.config ? `${source}: __metadata__.config` : source, () =>
      metadata.config
        ? resolveConfig(parseJsonObject(metadata.config, `${source}: __metadata__.config`, CheckpointError), overrides)
        : inferConfig(tensors, {}, overrides),
    );
    const step = metadata.step !== undefined ? Number(metadata.step) : undefined;
    return {
      format: 'safetensors',
      config,
      model: weights === 'model' ? tensors : null,
      ema: weights === 'ema' ? tensors : null,
      step,
      args: undefined,
      available: [weights],
    };
  }
  const root = loadPt(source);
  if (!(root instanceof Map)) throw new CheckpointError(`${source}: not a checkpoint (expected a dict)`);
  const bare = asTensorMap(root);
  if (bare) {
    // a bare state dict (e.g. an EMA-only release)
    return {
      format: 'official-pt',
      config: configOf(source, () => inferConfig(bare, {}, overrides)),
      model: null,
      ema: bare,
      step: undefined,
      args: undefined,
      available: ['ema'],
    };
  }
  const model = asTensorMap(root.get('model'));
  const ema = asTensorMap(root.get('ema'));
  if (!model && !ema)
    throw new CheckpointError(`${source}: no 'model' or 'ema' state dict (keys: ${[...root.keys()].map(String).join(', ')})`);
  const args = plainArgs(root.get('args'));
  const steps = root.get('steps');
  const config = configOf(source, () => inferConfig((model ?? ema)!, args ?? {}, overrides));
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

/** Options of exportWeights. */
export interface ExportOptions {
  /** EMA (default) or raw trained weights. */
  weights?: WeightsKind;
  /** Convert floating tensors to this dtype (default: as stored). */
  dtype?: DType;
}

/**
 * Writes one checkpoint's weights to a safetensors file with the official key names, for PyTorch users
 * (`model.load_state_dict(safetensors.torch.load_file(f))` on the official SiT class). `__metadata__` is
 * that of a checkpoint's weights file (format, version, `config`, `weights`, `step`) plus the official
 * constructor arguments (`official_config`).
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
      ...stateMetadata(weights, ck.config, ck.step),
      official_config: JSON.stringify(configToPython(ck.config)),
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
    writeCheckpoint(dir, {
      config: ck.config,
      model,
      ema: ck.ema,
      step: ck.step,
      extra: {
        source: { kind: 'official-pt', file: path.resolve(ptFile), args: ck.args ?? null, modelWeightsFrom: ck.model ? 'model' : 'ema' },
      },
    });
    return { config: ck.config, step: ck.step, tensors: model.size, hasEma: ck.ema !== null };
  } finally {
    for (const m of [ck.model, ck.ema]) for (const t of m?.values() ?? []) t.dispose();
  }
}
