/**
 * Reading and writing AutoencoderKL weights: a diffusers folder (`config.json` +
 * `diffusion_pytorch_model.safetensors` or `.bin`), with current or legacy attention names, or a single
 * LDM checkpoint (`.safetensors`, `.ckpt`), also inside a whole Stable Diffusion checkpoint. The layout
 * is guessed from the key names (layouts.ts); the config comes from `config.json` when there is one,
 * else from the tensor shapes.
 *
 *   const vae = loadAutoencoder('sd-vae-ft-mse/');                                    // diffusers folder
 *   const ldm = loadAutoencoder('vae-ft-mse-840000-ema-pruned.safetensors', { dtype: 'bfloat16' });
 *   saveAutoencoder(vae, 'out/vae');                                                   // diffusers layout
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../../torch/index.js';
import type { Device, DType, Tensor } from '../../torch/index.js';
import { loadPt, loadSafetensors, saveSafetensors, writeFileAtomic } from '../../torch/io/index.js';
import { parseJsonObject } from '../../util/json.js';
import { init } from '../../nn/index.js';
import { AutoencoderKL } from './autoencoder-kl.js';
import {
  type AutoencoderKLConfig,
  AutoencoderConfigError,
  SD_VAE_SCALING_FACTOR,
  checkAutoencoderConfig,
  configFromDiffusers,
  configToDiffusers,
} from './config.js';
import {
  type AutoencoderLayout,
  IGNORED_PREFIXES,
  LAYOUT_DESCRIPTIONS,
  SD_CHECKPOINT_VAE_PREFIX,
  guessLayout,
  isAttentionProjection,
  layoutKey,
} from './layouts.js';

/** File names of a diffusers AutoencoderKL folder. */
export const DIFFUSERS_VAE_FILES = {
  config: 'config.json',
  weights: ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'],
} as const;

/** Autoencoder weights that cannot be read or do not fit; names the file, the layout guessed and the key. */
export class AutoencoderLoadError extends Error {
  override name = 'AutoencoderLoadError';
  constructor(
    message: string,
    readonly layout?: AutoencoderLayout,
  ) {
    super(message);
  }
}

/** Where the weights and (optionally) the config of an autoencoder are. */
interface AutoencoderFiles {
  weights: string;
  config: string | null;
}

/** The files of `source`: a diffusers folder (or a pipeline folder with `vae/`), or a weights file (with a diffusers config.json beside it, if any). */
function locate(source: string): AutoencoderFiles {
  if (!existsSync(source)) throw new AutoencoderLoadError(`autoencoder not found: ${source}`);
  if (statSync(source).isDirectory()) {
    const dir = existsSync(path.join(source, 'vae', DIFFUSERS_VAE_FILES.config)) ? path.join(source, 'vae') : source;
    const weights = DIFFUSERS_VAE_FILES.weights.map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (weights === undefined) {
      throw new AutoencoderLoadError(`${dir}: no ${DIFFUSERS_VAE_FILES.weights.join(' or ')} (a diffusers autoencoder folder holds one)`);
    }
    const config = path.join(dir, DIFFUSERS_VAE_FILES.config);
    return { weights, config: existsSync(config) ? config : null };
  }
  const beside = path.join(path.dirname(source), DIFFUSERS_VAE_FILES.config);
  const isDiffusersFile = (DIFFUSERS_VAE_FILES.weights as readonly string[]).includes(path.basename(source));
  return { weights: source, config: isDiffusersFile && existsSync(beside) ? beside : null };
}

/** Every tensor of a weights file by its stored name (`.safetensors` memory-mapped; `.bin`/`.ckpt`/`.pt` through the restricted pickle reader, `state_dict` unwrapped). */
function readTensors(file: string): Map<string, Tensor> {
  if (file.endsWith('.safetensors')) return loadSafetensors(file, { mmap: true }).tensors;
  const root = loadPt(file);
  const dict = root instanceof Map && root.get('state_dict') instanceof Map ? root.get('state_dict') : root;
  if (!(dict instanceof Map)) throw new AutoencoderLoadError(`${file}: not a state dict (expected a dict of tensors)`);
  const out = new Map<string, Tensor>();
  for (const [k, v] of dict) if (typeof k === 'string' && v instanceof torch.Tensor) out.set(k, v);
  return out;
}

/** A config.json's object; AutoencoderLoadError when it is not JSON or not an object. */
function readJson(file: string): Record<string, unknown> {
  return parseJsonObject(readFileSync(file, 'utf8'), file, AutoencoderLoadError);
}

/** The VAE part of a file's tensors: inside a whole SD checkpoint only `first_stage_model.*` (stripped); LDM training extras dropped. Other tensors are disposed. */
function vaeTensors(all: Map<string, Tensor>): Map<string, Tensor> {
  const keys = [...all.keys()];
  const nested = keys.some((k) => k.startsWith(SD_CHECKPOINT_VAE_PREFIX));
  const out = new Map<string, Tensor>();
  for (const [k, t] of all) {
    const name = nested ? (k.startsWith(SD_CHECKPOINT_VAE_PREFIX) ? k.slice(SD_CHECKPOINT_VAE_PREFIX.length) : null) : k;
    if (name === null || IGNORED_PREFIXES.some((p) => name.startsWith(p))) t.dispose();
    else out.set(name, t);
  }
  return out;
}

/**
 * The config of a state dict in `layout`, from its shapes: levels, widths and layers per block from the
 * encoder's resnets, channels from conv_in / decoder.conv_out / post_quant_conv. What shapes cannot
 * tell takes SD-VAE's value: normNumGroups 32, scalingFactor 0.18215, shiftFactor 0, sampleSize 256.
 */
export function inferAutoencoderConfig(
  state: ReadonlyMap<string, { shape: readonly number[] }>,
  layout: AutoencoderLayout,
): AutoencoderKLConfig {
  const shapeOf = (key: string, levels = 0): readonly number[] | undefined => state.get(layoutKey(layout, key, levels))?.shape;
  const need = (key: string, levels = 0): readonly number[] => {
    const s = shapeOf(key, levels);
    if (s === undefined) {
      throw new AutoencoderLoadError(
        `cannot infer the autoencoder config: missing key '${layoutKey(layout, key, levels)}' (layout guessed: ${LAYOUT_DESCRIPTIONS[layout]})`,
        layout,
      );
    }
    return s;
  };
  const widths: number[] = [];
  while (shapeOf(`encoder.down_blocks.${widths.length}.resnets.0.conv1.weight`)) {
    widths.push(shapeOf(`encoder.down_blocks.${widths.length}.resnets.0.conv1.weight`)![0]!);
  }
  need('encoder.down_blocks.0.resnets.0.conv1.weight');
  let layersPerBlock = 0;
  while (shapeOf(`encoder.down_blocks.0.resnets.${layersPerBlock}.conv1.weight`)) layersPerBlock++;
  return {
    inChannels: need('encoder.conv_in.weight')[1]!,
    outChannels: need('decoder.conv_out.weight', widths.length)[0]!,
    latentChannels: need('post_quant_conv.weight')[0]!,
    blockOutChannels: widths,
    layersPerBlock,
    normNumGroups: 32,
    scalingFactor: SD_VAE_SCALING_FACTOR,
    shiftFactor: 0,
    sampleSize: 256,
  };
}

const showKeys = (l: readonly string[]): string => (l.length > 6 ? `${l.slice(0, 6).join(', ')}, … (${l.length} in all)` : l.join(', '));
const showShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Renames a file's tensors (stored in `layout`) to the model's keys, checking them first: every key the
 * model needs is present, none is left over, every shape fits (an LDM attention projection may be a
 * 1×1 convolution, returned as a view). Throws AutoencoderLoadError naming the file, the layout and the keys.
 */
function toModelState(
  file: Map<string, Tensor>,
  model: AutoencoderKL,
  layout: AutoencoderLayout,
  source: string,
  configFrom: string,
): Map<string, Tensor> {
  const levels = model.config.blockOutChannels.length;
  const wanted = [...model.stateDict()].map(([key, t]) => ({ key, stored: layoutKey(layout, key, levels), shape: t.shape }));
  const expectedNames = new Set(wanted.map((w) => w.stored));
  const missing = wanted.filter((w) => !file.has(w.stored)).map((w) => w.stored);
  const unexpected = [...file.keys()].filter((k) => !expectedNames.has(k));
  const wrongShape: string[] = [];
  const out = new Map<string, Tensor>();
  for (const { key, stored, shape } of wanted) {
    const t = file.get(stored);
    if (!t) continue;
    const asConv = layout === 'ldm' && isAttentionProjection(key) && t.shape.join() === [...shape, 1, 1].join();
    if (t.shape.join() === shape.join() || asConv) out.set(key, asConv ? t.view(...shape) : t);
    else wrongShape.push(`'${stored}' is ${showShape(t.shape)} in the file but ${showShape(shape)} for the config`);
  }
  if (missing.length || unexpected.length || wrongShape.length) {
    const problems = [
      missing.length ? `missing keys: ${showKeys(missing)}` : '',
      unexpected.length ? `unexpected keys: ${showKeys(unexpected)}` : '',
      wrongShape.length ? `wrong shapes: ${showKeys(wrongShape)}` : '',
    ].filter(Boolean);
    throw new AutoencoderLoadError(
      `${source}: ${problems.join('; ')} (layout guessed: ${LAYOUT_DESCRIPTIONS[layout]}; config from ${configFrom})`,
      layout,
    );
  }
  return out;
}

/** checkAutoencoderConfig, saying how to give the groups when they were assumed (shapes do not tell them). */
function checkConfig(config: AutoencoderKLConfig, what: string, { groupsGuessed }: { groupsGuessed: boolean }): void {
  try {
    checkAutoencoderConfig(config, what);
  } catch (e) {
    if (!(groupsGuessed && e instanceof AutoencoderConfigError && e.message.includes('normNumGroups'))) throw e;
    throw new AutoencoderConfigError(
      `${e.message} (the file does not store the GroupNorm groups, ${config.normNumGroups} was assumed: pass config: { normNumGroups })`,
    );
  }
}

/** Options of {@link loadAutoencoder}. */
export interface LoadAutoencoderOptions {
  /** Device of the returned model (default cpu). */
  device?: Device;
  /** Parameter dtype (default float32). */
  dtype?: DType;
  /**
   * Fields that win over config.json or the inferred config, e.g. `normNumGroups` for an LDM checkpoint
   * of a non-SD-VAE model (shapes cannot tell the groups), or `scalingFactor`.
   */
  config?: Partial<AutoencoderKLConfig>;
}

/** What {@link readAutoencoder} found. */
export interface AutoencoderContents {
  config: AutoencoderKLConfig;
  layout: AutoencoderLayout;
  /** The weights file read. */
  weights: string;
  /** The config.json used, or null when the config was inferred from shapes. */
  configFile: string | null;
}

/**
 * An AutoencoderKL with the weights of `source`, in eval mode: a diffusers folder (or a pipeline folder
 * with a `vae/` subfolder), a diffusers weights file, or a single-file LDM checkpoint
 * (`.safetensors`/`.ckpt`, optionally a whole SD checkpoint with `first_stage_model.` keys). Throws
 * AutoencoderLoadError naming the missing, unexpected or wrong-shaped keys and the layout it guessed;
 * AutoencoderConfigError for a config.json of another architecture.
 */
export function loadAutoencoder(source: string, options: LoadAutoencoderOptions = {}): AutoencoderKL {
  return readAutoencoder(source, options).model;
}

/** {@link loadAutoencoder}, also telling where the config came from and which layout the file has. */
export function readAutoencoder(source: string, options: LoadAutoencoderOptions = {}): AutoencoderContents & { model: AutoencoderKL } {
  const files = locate(source);
  const tensors = vaeTensors(readTensors(files.weights));
  try {
    const layout = guessLayout(tensors.keys());
    const base = files.config ? configFromDiffusers(readJson(files.config), files.config) : inferAutoencoderConfig(tensors, layout);
    const config = { ...base, ...options.config };
    const configFrom = `${files.config ?? 'the tensor shapes'}${options.config ? ' and the given overrides' : ''}`;
    checkConfig(config, `${source} (layout guessed: ${LAYOUT_DESCRIPTIONS[layout]}; config from ${configFrom})`, {
      groupsGuessed: files.config === null && options.config?.normNumGroups === undefined,
    });
    const model = init.skipInit(() => new AutoencoderKL(config));
    try {
      // the views toModelState makes (LDM 1×1 convolutions as matrices) are freed with this scope
      torch.scope(() => {
        model.loadStateDict(toModelState(tensors, model, layout, files.weights, configFrom));
      });
    } catch (e) {
      model.dispose();
      throw e;
    }
    if (options.device !== undefined || options.dtype !== undefined) model.to({ device: options.device, dtype: options.dtype });
    model.eval();
    return { model, config, layout, weights: files.weights, configFile: files.config };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Writes an autoencoder in the diffusers layout: `dir/config.json` and
 * `dir/diffusion_pytorch_model.safetensors` (float32 unless `dtype`), which diffusers'
 * `AutoencoderKL.from_pretrained(dir)` and {@link loadAutoencoder} read.
 */
export function saveAutoencoder(vae: AutoencoderKL, dir: string, { dtype = 'float32' as DType } = {}): void {
  torch.scope(() => {
    const state = new Map([...vae.stateDict()].map(([k, t]) => [k, t.dtype === dtype ? t : t.to(dtype)] as const));
    saveSafetensors(path.join(dir, DIFFUSERS_VAE_FILES.weights[0]), state, { format: 'pt' });
  });
  writeFileAtomic(path.join(dir, DIFFUSERS_VAE_FILES.config), `${JSON.stringify(configToDiffusers(vae.config), null, 2)}\n`);
}
