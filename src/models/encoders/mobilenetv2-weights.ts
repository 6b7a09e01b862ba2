/**
 * MobileNetV2 weights: conversion from a TF.js layers model (nsfwjs 4.4.0's `mobilenet_v2`, or any
 * Keras MobileNetV2 exported to TF.js) into {@link MobileNetV2}'s state dict, and a safetensors cache
 * so that the tarball is fetched and converted once.
 *
 * The conversion checks the topology against the architecture layer by layer (class, wiring, filters,
 * kernel, strides, padding, no bias, ReLU6) and reads ε and the stride-2 zero padding from it. Layouts:
 *   Conv2D kernel (kh, kw, in, out)              → weight (out, in, kh, kw)
 *   DepthwiseConv2D kernel (kh, kw, C, 1)        → weight (C, 1, kh, kw)   (groups = C)
 *   BatchNormalization gamma, beta, moving_mean, moving_variance → weight, bias, running_mean, running_var
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseJsonObject } from '../../util/json.js';
import { init } from '../../nn/index.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadSafetensors, saveSafetensors } from '../../torch/io/index.js';
import { convKernelToTorch, depthwiseKernelToTorch } from './keras.js';
import { KERAS_MOBILENETV2_CONFIG, MobileNetV2, mobileNetV2Layers, type KerasLayerDesc, type MobileNetV2Config } from './mobilenetv2.js';
import type { JsValue } from './tfjs/js-literal.js';
import { loadLayersModel, type TfjsLayer, type TfjsLayersModel } from './tfjs/layers-model.js';
import { cacheDir } from './tfjs/npm-tarball.js';
import { loadNsfwjsModel, NSFWJS_PACKAGE, readBundledLayersModel } from './tfjs/nsfwjs.js';

/** `format` value in the metadata of converted weight files. */
export const MOBILENETV2_FORMAT = 'reg-ts/mobilenetv2@1';

/** Human-readable origin of the default weights. */
export const NSFWJS_MOBILENETV2_SOURCE = `npm:${NSFWJS_PACKAGE.name}@${NSFWJS_PACKAGE.version}/dist/models/mobilenet_v2`;

// -------------------------------------------------------------------------------------------------
// Topology checks and conversion
// -------------------------------------------------------------------------------------------------

const same = (a: JsValue | undefined, b: JsValue): boolean => JSON.stringify(a) === JSON.stringify(b);

function expectConfig(layer: TfjsLayer, key: string, want: JsValue, optionalDefault?: JsValue): void {
  const got = layer.config[key];
  if (got === undefined && optionalDefault !== undefined && same(optionalDefault, want)) return;
  if (!same(got, want)) {
    throw new Error(`MobileNetV2 topology: layer ${layer.name} has ${key} = ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
}

function weight(layer: TfjsLayer, key: string, shape: readonly number[]): Tensor {
  const w = layer.weights[key];
  if (w === undefined)
    throw new Error(`MobileNetV2 weights: layer ${layer.name} has no ${key} (has: ${Object.keys(layer.weights).join(', ') || 'none'})`);
  if (!same(w.shape as JsValue, shape as JsValue)) {
    throw new Error(`MobileNetV2 weights: ${w.name} has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  return torch.fromBytes(w.data, 'float32', w.shape);
}

function pads(layer: TfjsLayer): [[number, number], [number, number]] {
  const p = layer.config['padding'];
  if (typeof p === 'number')
    return [
      [p, p],
      [p, p],
    ];
  if (Array.isArray(p) && p.length === 2) {
    const axis = (v: JsValue): [number, number] => {
      if (typeof v === 'number') return [v, v];
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
      throw new Error(`MobileNetV2 topology: ${layer.name} has an unreadable padding ${JSON.stringify(p)}`);
    };
    return [axis(p[0]!), axis(p[1]!)];
  }
  throw new Error(`MobileNetV2 topology: ${layer.name} has an unreadable padding ${JSON.stringify(p)}`);
}

/**
 * Converts a TF.js/Keras MobileNetV2 (α = 1.0) into {@link MobileNetV2}'s state dict through block
 * `lastBlock`, checking every layer the network uses. Throws, naming the layer, on any mismatch.
 */
export function mobileNetV2StateFromTfjs(
  model: TfjsLayersModel,
  lastBlock = 10,
): { state: Map<string, Tensor>; config: MobileNetV2Config } {
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  const inputName = model.inputs[0]?.layer ?? 'input_1';
  const state = new Map<string, Tensor>();
  const eps = new Set<number>();
  const paddings = new Set<string>();
  let stridePadding: MobileNetV2Config['stridePadding'] = KERAS_MOBILENETV2_CONFIG.stridePadding;
  try {
    for (const desc of mobileNetV2Layers(lastBlock)) {
      const layer = byName.get(desc.name);
      if (layer === undefined) throw new Error(`MobileNetV2 topology: no layer named ${desc.name} in ${model.name}`);
      if (layer.className !== desc.kind) {
        throw new Error(`MobileNetV2 topology: layer ${desc.name} is a ${layer.className}, expected ${desc.kind}`);
      }
      const wired = (layer.inbound[0] ?? []).map((r) => r.layer);
      const want = desc.inputs.map((n) => (n === 'input_1' ? inputName : n));
      if (!same(wired, want)) {
        throw new Error(`MobileNetV2 topology: layer ${desc.name} takes [${wired.join(', ')}], expected [${want.join(', ')}]`);
      }
      convert(layer, desc, state, eps, paddings);
      if (desc.kind === 'ZeroPadding2D') stridePadding = pads(layer);
    }
  } catch (err) {
    for (const t of state.values()) t.dispose();
    throw err;
  }
  if (eps.size !== 1 || paddings.size !== 1) {
    for (const t of state.values()) t.dispose();
    throw new Error(
      `MobileNetV2 topology: expected one BatchNorm ε and one stride-2 padding, found ε ∈ {${[...eps].join(', ')}}, padding ∈ {${[...paddings].join(', ')}}`,
    );
  }
  return { state, config: { lastBlock, bnEps: [...eps][0]!, stridePadding } };
}

function convert(layer: TfjsLayer, desc: KerasLayerDesc, state: Map<string, Tensor>, eps: Set<number>, paddings: Set<string>): void {
  const k = desc.kernel!;
  switch (desc.kind) {
    case 'Conv2D':
    case 'DepthwiseConv2D': {
      const depthwise = desc.kind === 'DepthwiseConv2D';
      if (!depthwise) expectConfig(layer, 'filters', desc.channels!);
      else expectConfig(layer, 'depth_multiplier', 1, 1);
      expectConfig(layer, 'kernel_size', [k, k]);
      expectConfig(layer, 'strides', [desc.stride!, desc.stride!]);
      expectConfig(layer, 'padding', desc.padding!);
      expectConfig(layer, 'use_bias', false);
      expectConfig(layer, 'dilation_rate', [1, 1], [1, 1]);
      expectConfig(layer, 'activation', 'linear', 'linear');
      expectConfig(layer, 'data_format', 'channels_last', 'channels_last');
      const kernel = depthwise
        ? weight(layer, 'depthwise_kernel', [k, k, desc.channels!, 1])
        : weight(layer, 'kernel', [k, k, desc.inChannels!, desc.channels!]);
      state.set(`${desc.name}.weight`, depthwise ? depthwiseKernelToTorch(kernel) : convKernelToTorch(kernel));
      kernel.dispose();
      return;
    }
    case 'BatchNormalization': {
      const e = layer.config['epsilon'];
      if (typeof e !== 'number') throw new Error(`MobileNetV2 topology: ${layer.name} has no numeric epsilon`);
      eps.add(e);
      const axis = layer.config['axis'];
      if (!(axis === -1 || axis === 3 || same(axis, [3]) || same(axis, [-1]))) {
        throw new Error(`MobileNetV2 topology: ${layer.name} normalises axis ${JSON.stringify(axis)}, expected the channel axis`);
      }
      expectConfig(layer, 'center', true, true);
      expectConfig(layer, 'scale', true, true);
      const c = layer.weights['gamma']?.shape[0] ?? 0;
      state.set(`${desc.name}.weight`, weight(layer, 'gamma', [c]));
      state.set(`${desc.name}.bias`, weight(layer, 'beta', [c]));
      state.set(`${desc.name}.running_mean`, weight(layer, 'moving_mean', [c]));
      state.set(`${desc.name}.running_var`, weight(layer, 'moving_variance', [c]));
      return;
    }
    case 'ReLU':
      expectConfig(layer, 'max_value', 6);
      expectConfig(layer, 'negative_slope', 0, 0);
      expectConfig(layer, 'threshold', 0, 0);
      return;
    case 'ZeroPadding2D':
      expectConfig(layer, 'data_format', 'channels_last', 'channels_last');
      paddings.add(JSON.stringify(pads(layer)));
      return;
    case 'Add':
      return;
  }
}

/** A {@link MobileNetV2} holding converted weights. */
export function mobileNetV2FromTfjs(model: TfjsLayersModel, lastBlock = 10): MobileNetV2 {
  const { state, config } = mobileNetV2StateFromTfjs(model, lastBlock);
  try {
    const net = init.skipInit(() => new MobileNetV2(config));
    net.loadStateDict(state);
    return net;
  } finally {
    for (const t of state.values()) t.dispose();
  }
}

// -------------------------------------------------------------------------------------------------
// Reading TF.js model folders
// -------------------------------------------------------------------------------------------------

/**
 * Reads a TF.js layers model from a folder: either plain (`model.json` + binary shards) or nsfwjs's
 * bundled form (`model.min.js` + `<shard>.min.js`).
 */
export function readTfjsFolder(dir: string): TfjsLayersModel {
  if (existsSync(join(dir, 'model.json'))) {
    const json = parseJsonObject(readFileSync(join(dir, 'model.json'), 'utf8'), join(dir, 'model.json'), Error) as JsValue;
    return loadLayersModel(json, (path) => new Uint8Array(readFileSync(join(dir, path))));
  }
  if (existsSync(join(dir, 'model.min.js'))) return readBundledLayersModel((name) => readFileSync(join(dir, name), 'utf8'));
  throw new Error(`${dir}: not a TF.js layers model folder (no model.json nor model.min.js)`);
}

// -------------------------------------------------------------------------------------------------
// safetensors files and the cache
// -------------------------------------------------------------------------------------------------

/** Writes a converted network as safetensors, with its config and origin in the metadata. */
export function saveMobileNetV2(path: string, net: MobileNetV2, source: string): void {
  mkdirSync(dirname(path), { recursive: true });
  saveSafetensors(path, net.stateDict(), { format: MOBILENETV2_FORMAT, config: JSON.stringify(net.config), source });
}

/** Reads a file written by {@link saveMobileNetV2}. */
export function readMobileNetV2(path: string): { net: MobileNetV2; source: string } {
  const { tensors, metadata } = loadSafetensors(path);
  try {
    if (metadata['format'] !== MOBILENETV2_FORMAT) {
      throw new Error(
        `${path}: not a reg-ts MobileNetV2 weight file (metadata format ${JSON.stringify(metadata['format'])}, expected ${MOBILENETV2_FORMAT})`,
      );
    }
    if (metadata['config'] === undefined) throw new Error(`${path}: metadata has no MobileNetV2 config`);
    const config = parseJsonObject(metadata['config'], `${path}: __metadata__.config`, Error) as unknown as MobileNetV2Config;
    if (typeof config.lastBlock !== 'number') throw new Error(`${path}: metadata has no MobileNetV2 config`);
    const net = init.skipInit(() => new MobileNetV2(config));
    net.loadStateDict(tensors);
    return { net, source: metadata['source'] ?? path };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** Where the converted nsfwjs weights are cached: `<cache>/encoders/mobilenetv2-nsfwjs-4.4.0-block<N>.safetensors`. */
export function mobileNetV2CachePath(lastBlock = 10): string {
  return join(cacheDir(), 'encoders', `mobilenetv2-${NSFWJS_PACKAGE.name}-${NSFWJS_PACKAGE.version}-block${lastBlock}.safetensors`);
}

/** Options of {@link loadMobileNetV2}. */
export interface LoadMobileNetV2Options {
  /**
   * Weights: a converted `.safetensors` file, or a TF.js layers model folder (see {@link readTfjsFolder}).
   * Default: nsfwjs 4.4.0's model, converted once from the pinned npm tarball and cached.
   */
  readonly weights?: string;
  /** Last block (default 10). */
  readonly lastBlock?: number;
  /** Prints a line when converting (default: silent). */
  readonly log?: (line: string) => void;
}

/** A loaded network with where its weights came from and their digest. */
export interface LoadedMobileNetV2 {
  readonly net: MobileNetV2;
  /** Origin of the weights (package path or file). */
  readonly source: string;
  /** sha256 (hex) over the state dict (names, shapes, float32 bytes, in order). */
  readonly sha256: string;
}

/** sha256 over a module's state dict: each name, shape and little-endian bytes, in order. */
export function stateDigest(state: ReadonlyMap<string, Tensor>): string {
  const h = createHash('sha256');
  for (const [name, t] of state) {
    h.update(`${name}:${t.dtype}:${t.shape.join('x')};`);
    h.update(t.toBytes());
  }
  return h.digest('hex');
}

/**
 * Loads MobileNetV2 weights (see {@link LoadMobileNetV2Options.weights}). The default path reads the
 * cache when it holds a valid file and otherwise fetches the pinned nsfwjs tarball (integrity-checked,
 * itself cached), converts, and writes the cache atomically.
 */
export async function loadMobileNetV2(options: LoadMobileNetV2Options = {}): Promise<LoadedMobileNetV2> {
  const lastBlock = options.lastBlock ?? 10;
  const done = (net: MobileNetV2, source: string): LoadedMobileNetV2 => {
    if (net.config.lastBlock !== lastBlock)
      throw new Error(`${source}: holds MobileNetV2 through block ${net.config.lastBlock}, asked for ${lastBlock}`);
    return { net, source, sha256: stateDigest(net.stateDict()) };
  };
  if (options.weights !== undefined) {
    const w = options.weights;
    if (!existsSync(w)) throw new Error(`MobileNetV2 weights not found: ${w}`);
    if (statSync(w).isDirectory()) return done(mobileNetV2FromTfjs(readTfjsFolder(w), lastBlock), w);
    return done(readMobileNetV2(w).net, w);
  }
  const cached = mobileNetV2CachePath(lastBlock);
  if (existsSync(cached)) {
    try {
      const { net, source } = readMobileNetV2(cached);
      return done(net, source);
    } catch (err) {
      options.log?.(`ignoring unreadable cache ${cached} (${(err as Error).message}); converting again`);
    }
  }
  options.log?.(`converting ${NSFWJS_MOBILENETV2_SOURCE} (through block_${lastBlock}) into ${cached}`);
  const net = mobileNetV2FromTfjs(await loadNsfwjsModel('mobilenet_v2'), lastBlock);
  saveMobileNetV2(cached, net, NSFWJS_MOBILENETV2_SOURCE);
  return done(net, NSFWJS_MOBILENETV2_SOURCE);
}
