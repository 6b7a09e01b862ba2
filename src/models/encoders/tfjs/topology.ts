/**
 * The Keras 2 functional-model topology inside a TF.js layers model (`modelTopology`): the layer list
 * with class names, configs and inbound connections, and the model's inputs and outputs.
 */
import type { JsValue } from './js-literal.js';

/** A reference to output `tensorIndex` of call `nodeIndex` of layer `layer`. */
export interface TfjsTensorRef {
  readonly layer: string;
  readonly nodeIndex: number;
  readonly tensorIndex: number;
}

/** One layer as described by the topology (no weights). */
export interface TfjsLayerSpec {
  readonly name: string;
  /** Keras class name, e.g. `Conv2D`, `DepthwiseConv2D`, `BatchNormalization`, `ReLU`, `Add`. */
  readonly className: string;
  /** The Keras layer config as stored (initialisers etc. included). */
  readonly config: { readonly [key: string]: JsValue };
  /** Inputs of each call of the layer (one entry per node; usually one). */
  readonly inbound: readonly (readonly TfjsTensorRef[])[];
}

/** A parsed functional topology. */
export interface TfjsTopology {
  readonly name: string;
  readonly kerasVersion: string | undefined;
  readonly layers: readonly TfjsLayerSpec[];
  readonly inputs: readonly TfjsTensorRef[];
  readonly outputs: readonly TfjsTensorRef[];
}

type Obj = { readonly [key: string]: JsValue };

function isObj(v: JsValue): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: JsValue, what: string): Obj {
  if (!isObj(v)) throw new Error(`TF.js topology: ${what} is not an object`);
  return v;
}

function arr(v: JsValue, what: string): JsValue[] {
  if (!Array.isArray(v)) throw new Error(`TF.js topology: ${what} is not an array`);
  return v;
}

function ref(v: JsValue, what: string): TfjsTensorRef {
  const a = arr(v, what);
  const [layer, nodeIndex, tensorIndex] = a;
  if (typeof layer !== 'string' || typeof nodeIndex !== 'number' || typeof tensorIndex !== 'number') {
    throw new Error(`TF.js topology: ${what} is not a [layer, node, tensor] reference (Keras 3 format is not supported)`);
  }
  return { layer, nodeIndex, tensorIndex };
}

/**
 * Parses `modelTopology` (either Keras's `{keras_version, model_config: {class_name, config}}` wrapper
 * or the bare `{class_name, config}`). Only functional models (`Model` / `Functional`) are accepted.
 */
export function parseTopology(modelTopology: JsValue): TfjsTopology {
  const top = obj(modelTopology, 'modelTopology');
  const modelConfig = obj(top['model_config'] ?? top, 'model_config');
  const className = modelConfig['class_name'];
  if (className !== 'Model' && className !== 'Functional') {
    throw new Error(`TF.js topology: unsupported model class ${String(className)} (functional models only)`);
  }
  const config = obj(modelConfig['config'], 'model config');
  const layers = arr(config['layers'], 'layers').map((l, i): TfjsLayerSpec => {
    const layer = obj(l, `layer ${i}`);
    const name = layer['name'] ?? obj(layer['config'], `layer ${i} config`)['name'];
    if (typeof name !== 'string' || typeof layer['class_name'] !== 'string') {
      throw new Error(`TF.js topology: layer ${i} lacks a name or class_name`);
    }
    const inbound = arr(layer['inbound_nodes'] ?? [], `${name} inbound_nodes`).map((node, n) =>
      arr(node, `${name} node ${n}`).map((r, k) => ref(r, `${name} node ${n} input ${k}`)),
    );
    return { name, className: layer['class_name'], config: obj(layer['config'], `${name} config`), inbound };
  });
  const keras = top['keras_version'];
  return {
    name: typeof config['name'] === 'string' ? config['name'] : 'model',
    kerasVersion: typeof keras === 'string' ? keras : undefined,
    layers,
    inputs: arr(config['input_layers'], 'input_layers').map((r, i) => ref(r, `input ${i}`)),
    outputs: arr(config['output_layers'], 'output_layers').map((r, i) => ref(r, `output ${i}`)),
  };
}
