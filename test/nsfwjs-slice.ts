/**
 * nsfwjs 4.4.0's MobileNetV2 cut after one layer, for the dev-only fixture generators
 * (test/fixtures/data/make-fixtures.ts, test/reference/encoders/tfjs_mobilenetv2.mjs): the real topology
 * entries up to that layer and the real (quantised) bytes of their weights, in nsfwjs's bundled-module
 * format. The real modules are evaluated by V8 (node:vm), an oracle independent of src/'s literal parser.
 */
import { runInNewContext } from 'node:vm';
import { NSFWJS_PACKAGE } from '../src/models/encoders/tfjs/nsfwjs.js';
import { fetchPinnedTarball, readTgz } from '../src/models/encoders/tfjs/npm-tarball.js';

/** One entry of a TF.js weights manifest. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

/** The model.json object of a TF.js layers model (only the fields the slice touches are typed). */
export interface LayersModelJson {
  modelTopology: { model_config: { config: { layers: { name: string; config: Record<string, unknown> }[]; output_layers: unknown[] } } };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

/** The cut model. */
export interface MobileNetSlice {
  /** model.json cut after the layer: its layers, output and weights manifest. */
  model: LayersModelJson;
  /** The kept layers' weight entries, in shard order. */
  weights: WeightSpec[];
  /** Their bytes, concatenated in that order. */
  weightData: Buffer;
  /** The model and its shard as nsfwjs's bundled modules; `printModel` writes the model literal. */
  bundle(printModel: (model: LayersModelJson) => string): { 'model.min.js': string; 'group1-shard1of1.min.js': string };
}

const MODULE_HEAD = /\[function\((\w+),(\w+),(\w+)\)\{\2\.exports=/;
const MODULE_TAIL = '},{}]},{},[1])(1)});';

/** Bytes of one manifest entry. */
function byteSize(w: WeightSpec): number {
  const bytes = ({ uint8: 1, uint16: 2, float16: 2 } as Record<string, number>)[w.quantization?.dtype ?? ''] ?? 4;
  return w.shape.reduce((a, b) => a * b, 1) * bytes;
}

/** nsfwjs's mobilenet_v2 cut after `lastLayer` (from the pinned tarball, fetched once and cached). */
export async function sliceNsfwjsMobileNet(lastLayer: string): Promise<MobileNetSlice> {
  const entries = readTgz(await fetchPinnedTarball(NSFWJS_PACKAGE));
  const file = (name: string): string => {
    const entry = entries.find((e) => e.path === `package/dist/models/mobilenet_v2/${name}`);
    if (!entry) throw new Error(`nsfwjs has no mobilenet_v2/${name}`);
    return new TextDecoder().decode(entry.data);
  };
  const load = (source: string): unknown => {
    const module = { exports: {} as unknown };
    runInNewContext(source, { module, exports: module.exports });
    return module.exports;
  };
  const modelSrc = file('model.min.js');
  const shardSrc = file('group1-shard1of1.min.js');
  const model = JSON.parse(JSON.stringify(load(modelSrc))) as LayersModelJson; // plain objects of this realm
  const shard = Buffer.from(load(shardSrc) as string, 'base64');

  const config = model.modelTopology.model_config.config;
  const kept = config.layers.slice(0, config.layers.findIndex((l) => l.name === lastLayer) + 1);
  const keptNames = new Set(kept.map((l) => l.name));
  config.layers = kept;
  config.output_layers = [[lastLayer, 0, 0]];
  const group = model.weightsManifest[0]!;
  const parts: Buffer[] = [];
  const weights: WeightSpec[] = [];
  let offset = 0;
  for (const w of group.weights) {
    const size = byteSize(w);
    if (keptNames.has(w.name.slice(0, w.name.lastIndexOf('/')))) {
      weights.push(w);
      parts.push(shard.subarray(offset, offset + size));
    }
    offset += size;
  }
  if (offset !== shard.length) throw new Error('manifest does not cover the shard');
  group.weights = weights;
  const weightData = Buffer.concat(parts);

  const wrap = (source: string, literal: string): string => {
    const m = MODULE_HEAD.exec(source);
    const end = source.lastIndexOf(MODULE_TAIL);
    if (m === null || end < 0) throw new Error('unexpected bundle layout');
    return source.slice(0, m.index + m[0].length) + literal + source.slice(end);
  };
  return {
    model,
    weights,
    weightData,
    bundle: (printModel) => ({
      'model.min.js': wrap(modelSrc, printModel(model)),
      'group1-shard1of1.min.js': wrap(shardSrc, JSON.stringify(weightData.toString('base64'))),
    }),
  };
}
