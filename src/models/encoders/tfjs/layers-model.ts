/**
 * A TF.js layers model (`model.json` + binary weight shards) turned into a plain structure: the
 * layers in topological file order, each with its Keras config and its named float32 weights.
 */
import type { JsValue } from './js-literal.js';
import { parseTopology, type TfjsLayerSpec, type TfjsTopology } from './topology.js';
import { decodeWeightGroup, type TfjsManifestGroup, type TfjsWeight } from './weights.js';

/** A layer with its weights, keyed by the part of the manifest name after `<layer>/` (e.g. `kernel`, `gamma`). */
export interface TfjsLayer extends TfjsLayerSpec {
  readonly weights: { readonly [key: string]: TfjsWeight };
}

/** A loaded layers model: the parsed topology with every layer's weights. */
export interface TfjsLayersModel extends Omit<TfjsTopology, 'layers'> {
  readonly layers: readonly TfjsLayer[];
}

/**
 * Builds a {@link TfjsLayersModel} from the parsed `model.json` object and a reader of its shard files
 * (called with each manifest path). Every weight must belong to a layer: its manifest name is
 * `<layer name>/<weight name>` for the longest matching layer name.
 */
export function loadLayersModel(modelJson: JsValue, readShard: (path: string) => Uint8Array): TfjsLayersModel {
  if (typeof modelJson !== 'object' || modelJson === null || Array.isArray(modelJson)) {
    throw new Error('TF.js model: model.json is not an object');
  }
  const format = modelJson['format'];
  if (format !== undefined && format !== 'layers-model') {
    throw new Error(`TF.js model: format '${String(format)}' is not a layers model`);
  }
  const topology = parseTopology(modelJson['modelTopology'] ?? null);
  const groups = (modelJson['weightsManifest'] ?? []) as unknown as TfjsManifestGroup[];
  const byLayer = new Map<string, Record<string, TfjsWeight>>(topology.layers.map((l) => [l.name, {}]));
  const names = [...byLayer.keys()].sort((a, b) => b.length - a.length);
  for (const group of groups) {
    for (const w of decodeWeightGroup(group, group.paths.map(readShard))) {
      const owner = names.find((n) => w.name.startsWith(`${n}/`));
      if (owner === undefined) throw new Error(`TF.js model: weight ${w.name} belongs to no layer`);
      byLayer.get(owner)![w.name.slice(owner.length + 1)] = w;
    }
  }
  return { ...topology, layers: topology.layers.map((l) => ({ ...l, weights: byLayer.get(l.name)! })) };
}

/**
 * The layers from the first one through `lastLayer` (inclusive), in file order — e.g. the frozen
 * ImageNet part of nsfwjs's MobileNetV2 through `block_10_project_BN`.
 */
export function layersThrough(model: TfjsLayersModel, lastLayer: string): TfjsLayer[] {
  const end = model.layers.findIndex((l) => l.name === lastLayer);
  if (end < 0) throw new Error(`TF.js model ${model.name}: no layer named ${lastLayer}`);
  return model.layers.slice(0, end + 1);
}
