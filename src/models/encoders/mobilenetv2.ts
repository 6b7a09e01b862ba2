/**
 * Keras MobileNetV2 (α = 1.0) in the engine, through a chosen inverted-residual block (default
 * `block_10`, the part of nsfwjs's model that holds frozen ImageNet weights), with parameter names
 * taken from the Keras layer names (`block_3_expand.weight`, `block_3_expand_BN.running_mean`, …).
 *
 *   stem      Conv1_pad (ZeroPadding2D) → Conv1 3×3/2 'valid', 32 → bn_Conv1 → ReLU6
 *   block b   [b ≥ 1: block_b_expand 1×1, 6·Cin → _BN → ReLU6]
 *             [stride 2: block_b_pad (ZeroPadding2D), depthwise 'valid'; stride 1: depthwise 'same']
 *             depthwise 3×3/s → _BN → ReLU6 → project 1×1, Cout → _BN (linear bottleneck)
 *             [+ block input when stride 1 and Cin = Cout: block_b_add]
 *   BN        y = (x − μ) / √(σ² + ε) · γ + β   (ε from the topology; 1e-3 in Keras)
 *
 * Block 0 is Keras's `expanded_conv` (no expansion). Output stride 16 after block 6; `block_10`
 * gives 96 channels (its expanded, depthwise stage has 384) on a 14×14 grid at 224 px.
 *
 * The stride-2 `ZeroPadding2D` amounts are read from the topology: Keras computed them once with
 * `correct_pad` for the 224-px build, ((0, 1), (0, 1)), and TF.js applies them at every input size.
 * For input sides that are multiples of 16 (every stride-2 input even) this is exactly what a Keras
 * MobileNetV2 built at that size does; at other sizes we follow the stored model, as TF.js does.
 */
import { BatchNorm2d, Conv2d, Module } from '../../nn/index.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { kerasConv2d, kerasConvOutput, zeroPad2d, type KerasPadding } from './keras.js';

// -------------------------------------------------------------------------------------------------
// Architecture
// -------------------------------------------------------------------------------------------------

/** One inverted-residual block of Keras's `MobileNetV2` (α = 1.0). */
export interface InvertedResidualSpec {
  /** Block id: 0 is `expanded_conv`, then `block_1` … `block_16`. */
  readonly id: number;
  /** Expansion factor t (channels of the depthwise stage = t · Cin). */
  readonly expansion: number;
  /** Output channels (Keras `pointwise_filters`; α = 1 keeps them as listed). */
  readonly filters: number;
  readonly stride: 1 | 2;
}

/** The 17 blocks of MobileNetV2 (Sandler et al. 2018, Table 2), as `keras.applications` builds them. */
export const MOBILENETV2_BLOCKS: readonly InvertedResidualSpec[] = [
  { id: 0, expansion: 1, filters: 16, stride: 1 },
  { id: 1, expansion: 6, filters: 24, stride: 2 },
  { id: 2, expansion: 6, filters: 24, stride: 1 },
  { id: 3, expansion: 6, filters: 32, stride: 2 },
  { id: 4, expansion: 6, filters: 32, stride: 1 },
  { id: 5, expansion: 6, filters: 32, stride: 1 },
  { id: 6, expansion: 6, filters: 64, stride: 2 },
  { id: 7, expansion: 6, filters: 64, stride: 1 },
  { id: 8, expansion: 6, filters: 64, stride: 1 },
  { id: 9, expansion: 6, filters: 64, stride: 1 },
  { id: 10, expansion: 6, filters: 96, stride: 1 },
  { id: 11, expansion: 6, filters: 96, stride: 1 },
  { id: 12, expansion: 6, filters: 96, stride: 1 },
  { id: 13, expansion: 6, filters: 160, stride: 2 },
  { id: 14, expansion: 6, filters: 160, stride: 1 },
  { id: 15, expansion: 6, filters: 160, stride: 1 },
  { id: 16, expansion: 6, filters: 320, stride: 1 },
];

/** Channels of the stem convolution (`Conv1`) at α = 1. */
export const STEM_FILTERS = 32;

/** Keras layer-name prefix of a block: `expanded_conv_` or `block_<id>_`. */
export const blockPrefix = (id: number): string => (id === 0 ? 'expanded_conv_' : `block_${id}_`);

/** Kind of a Keras layer of the network (the subset MobileNetV2 uses). */
export type KerasLayerKind = 'ZeroPadding2D' | 'Conv2D' | 'DepthwiseConv2D' | 'BatchNormalization' | 'ReLU' | 'Add';

/** A layer of the network as Keras names and wires it. */
export interface KerasLayerDesc {
  readonly name: string;
  readonly kind: KerasLayerKind;
  /** Names of the input layers (`input_1` for the stem). */
  readonly inputs: readonly string[];
  /** Conv2D: output channels; DepthwiseConv2D: channels. */
  readonly channels?: number;
  /** Conv2D/DepthwiseConv2D: input channels. */
  readonly inChannels?: number;
  readonly kernel?: number;
  readonly stride?: 1 | 2;
  readonly padding?: KerasPadding;
}

/**
 * Every Keras layer from the input through block `lastBlock`, in order, with its inputs: the graph the
 * TF.js topology must match and the order the forward pass runs.
 */
export function mobileNetV2Layers(lastBlock = 10): KerasLayerDesc[] {
  if (!Number.isInteger(lastBlock) || lastBlock < 0 || lastBlock >= MOBILENETV2_BLOCKS.length) {
    throw new RangeError(`MobileNetV2: lastBlock must be an integer in [0, ${MOBILENETV2_BLOCKS.length - 1}], got ${lastBlock}`);
  }
  const out: KerasLayerDesc[] = [
    { name: 'Conv1_pad', kind: 'ZeroPadding2D', inputs: ['input_1'] },
    { name: 'Conv1', kind: 'Conv2D', inputs: ['Conv1_pad'], inChannels: 3, channels: STEM_FILTERS, kernel: 3, stride: 2, padding: 'valid' },
    { name: 'bn_Conv1', kind: 'BatchNormalization', inputs: ['Conv1'] },
    { name: 'Conv1_relu', kind: 'ReLU', inputs: ['bn_Conv1'] },
  ];
  let last = 'Conv1_relu';
  let cin = STEM_FILTERS;
  for (const b of MOBILENETV2_BLOCKS.slice(0, lastBlock + 1)) {
    const p = blockPrefix(b.id);
    const blockInput = last;
    const hidden = cin * b.expansion;
    if (b.id > 0) {
      out.push(
        { name: `${p}expand`, kind: 'Conv2D', inputs: [last], inChannels: cin, channels: hidden, kernel: 1, stride: 1, padding: 'same' },
        { name: `${p}expand_BN`, kind: 'BatchNormalization', inputs: [`${p}expand`] },
        { name: `${p}expand_relu`, kind: 'ReLU', inputs: [`${p}expand_BN`] },
      );
      last = `${p}expand_relu`;
    }
    if (b.stride === 2) {
      out.push({ name: `${p}pad`, kind: 'ZeroPadding2D', inputs: [last] });
      last = `${p}pad`;
    }
    out.push(
      {
        name: `${p}depthwise`,
        kind: 'DepthwiseConv2D',
        inputs: [last],
        inChannels: hidden,
        channels: hidden,
        kernel: 3,
        stride: b.stride,
        padding: b.stride === 2 ? 'valid' : 'same',
      },
      { name: `${p}depthwise_BN`, kind: 'BatchNormalization', inputs: [`${p}depthwise`] },
      { name: `${p}depthwise_relu`, kind: 'ReLU', inputs: [`${p}depthwise_BN`] },
      {
        name: `${p}project`,
        kind: 'Conv2D',
        inputs: [`${p}depthwise_relu`],
        inChannels: hidden,
        channels: b.filters,
        kernel: 1,
        stride: 1,
        padding: 'same',
      },
      { name: `${p}project_BN`, kind: 'BatchNormalization', inputs: [`${p}project`] },
    );
    last = `${p}project_BN`;
    if (b.stride === 1 && cin === b.filters) {
      out.push({ name: `${p}add`, kind: 'Add', inputs: [blockInput, last] });
      last = `${p}add`;
    }
    cin = b.filters;
  }
  return out;
}

/** Channels of a layer's output (for the layers a tap can name). */
export function layerChannels(layers: readonly KerasLayerDesc[], name: string): number {
  let c = 3;
  for (const l of layers) {
    if (l.channels !== undefined) c = l.channels;
    if (l.name === name) return c;
  }
  throw new RangeError(`MobileNetV2: no layer named ${name}`);
}

// -------------------------------------------------------------------------------------------------
// Configuration read from the topology
// -------------------------------------------------------------------------------------------------

/** What the forward pass needs beyond the weights; read from the Keras topology at conversion. */
export interface MobileNetV2Config {
  /** Last block built (10 = through `block_10_project_BN`). */
  readonly lastBlock: number;
  /** BatchNormalization ε (Keras MobileNetV2: 1e-3). */
  readonly bnEps: number;
  /** `ZeroPadding2D` amounts ((top, bottom), (left, right)) before every stride-2 convolution. */
  readonly stridePadding: readonly [readonly [number, number], readonly [number, number]];
}

/** Keras `MobileNetV2` built at 224 px: ε = 1e-3 and `correct_pad` = ((0, 1), (0, 1)). */
export const KERAS_MOBILENETV2_CONFIG: MobileNetV2Config = {
  lastBlock: 10,
  bnEps: 1e-3,
  stridePadding: [
    [0, 1],
    [0, 1],
  ],
};

// -------------------------------------------------------------------------------------------------
// The network
// -------------------------------------------------------------------------------------------------

/**
 * A Keras `Conv2D` / `DepthwiseConv2D` (no bias) as an nn Conv2d with PyTorch's weight layout
 * (out, in/groups, k, k), run with TensorFlow's padding rule (see keras.ts: `'same'` may pad one more
 * row/column after) and optionally with other weights (BatchNorm folded in).
 */
class KerasConv2d extends Conv2d {
  constructor(readonly desc: KerasLayerDesc) {
    const groups = desc.kind === 'DepthwiseConv2D' ? desc.channels! : 1;
    super(desc.inChannels!, desc.channels!, desc.kernel!, { stride: desc.stride!, groups, bias: false });
  }

  override forward(x: Tensor, weight: Tensor = this.weight, bias: Tensor | null = this.bias): Tensor {
    const s = this.desc.stride!;
    return kerasConv2d(x, weight, { stride: [s, s], padding: this.desc.padding!, groups: this.options.groups ?? 1, bias });
  }
}

/** Called with each layer's output during a forward pass (for taps and debugging). */
export type LayerHook = (name: string, output: Tensor) => void;

/**
 * MobileNetV2 through block `config.lastBlock`, frozen (no parameter requires grad), inference only
 * (eval mode: BatchNorm uses its moving statistics). Children are the Keras layers with weights, by
 * Keras name: `KerasConv2d` for Conv2D/DepthwiseConv2D, nn `BatchNorm2d` for BatchNormalization.
 * Input: float (B, 3, H, W) already scaled to the model's range; output: the last layer's (B, C, h, w) map.
 */
export class MobileNetV2 extends Module {
  readonly layers: readonly KerasLayerDesc[];
  readonly config: MobileNetV2Config;
  readonly #modules = new Map<string, KerasConv2d | BatchNorm2d>();

  constructor(config: Partial<MobileNetV2Config> = {}) {
    super();
    this.config = { ...KERAS_MOBILENETV2_CONFIG, ...config };
    this.layers = mobileNetV2Layers(this.config.lastBlock);
    let channels = 3;
    for (const l of this.layers) {
      if (l.kind === 'Conv2D' || l.kind === 'DepthwiseConv2D') {
        this.#modules.set(l.name, this.child(l.name, new KerasConv2d(l)));
        channels = l.channels!;
      } else if (l.kind === 'BatchNormalization') {
        this.#modules.set(l.name, this.child(l.name, new BatchNorm2d(channels, this.config.bnEps)));
      }
    }
    this.requiresGrad_(false);
    this.eval();
  }

  /** Name of the last layer (`block_10_project_BN` by default). */
  get outputLayer(): string {
    return this.layers[this.layers.length - 1]!.name;
  }

  /** Channels of layer `name`'s output (default: the last layer). */
  channels(name = this.outputLayer): number {
    return layerChannels(this.layers, name);
  }

  /** Spatial size (h, w) of layer `name`'s output for an H×W input (Keras padding arithmetic). */
  outputSize(height: number, width: number, name = this.outputLayer): [number, number] {
    let [h, w] = [height, width];
    const [[t, b], [l, r]] = this.config.stridePadding;
    for (const layer of this.layers) {
      if (layer.kind === 'ZeroPadding2D') [h, w] = [h + t + b, w + l + r];
      else if (layer.kind === 'Conv2D' || layer.kind === 'DepthwiseConv2D') {
        h = kerasConvOutput(layer.padding!, h, layer.kernel!, layer.stride!);
        w = kerasConvOutput(layer.padding!, w, layer.kernel!, layer.stride!);
      }
      if (layer.name === name) return [h, w];
    }
    throw new RangeError(`MobileNetV2: no layer named ${name}`);
  }

  /**
   * Runs the network on (B, 3, H, W) float input. Stops after layer `until` (default: the last) and
   * returns its output; `hook` sees every layer's output on the way (each is disposed after its last
   * use in the network, and the hook runs inside this forward's scope: keep a copy with
   * `torch.keep(y.clone())`). Intermediates are released as soon as no later layer needs them, so
   * memory stays at about two feature maps plus the open residual.
   *
   * `fused` (inference fast path): each convolution runs with its BatchNorm folded in,
   *   W' = W · γ/√(σ² + ε),  b' = β − μ · γ/√(σ² + ε),
   * and ReLU6 / residual adds work in place where nothing else reads their input. Results equal the
   * layer-by-layer path up to float32 rounding; conv outputs before their BN are then not observable
   * (the hook sees the BN's name with the folded result).
   */
  forward(
    x: Tensor,
    { until = this.outputLayer, hook, fused = false }: { until?: string; hook?: LayerHook; fused?: boolean } = {},
  ): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 3) throw new RangeError(`MobileNetV2: expected (B, 3, H, W) input, got [${x.shape.join(', ')}]`);
    const end = this.layers.findIndex((l) => l.name === until);
    if (end < 0) throw new RangeError(`MobileNetV2: no layer named ${until}`);
    const folded = fused ? this.foldedConvs() : null;
    if (folded !== null && folded.has(until)) throw new RangeError(`MobileNetV2: ${until} is folded into its BatchNorm in the fused path`);
    const lastUse = new Map<string, number>();
    this.layers.forEach((l, i) => l.inputs.forEach((n) => lastUse.set(n, i)));
    const outputs = new Map<string, Tensor>([['input_1', x]]);
    const aliases = (t: Tensor): number => [...outputs.values()].filter((u) => u === t).length;
    // In place is safe when this layer is the input's last reader and no other live name holds it.
    const ownable = (name: string, i: number): boolean => {
      const t = outputs.get(name)!;
      return folded !== null && t !== x && lastUse.get(name) === i && aliases(t) === 1;
    };
    const release = (i: number): void => {
      for (const name of this.layers[i]!.inputs) {
        const t = outputs.get(name);
        if (t === undefined || lastUse.get(name) !== i || t === x) continue;
        outputs.delete(name);
        if (aliases(t) === 0 && !t.isDisposed) t.dispose();
      }
    };
    for (let i = 0; i <= end; i++) {
      const layer = this.layers[i]!;
      const input = outputs.get(layer.inputs[0]!)!;
      let y: Tensor;
      switch (layer.kind) {
        case 'ZeroPadding2D':
          y = zeroPad2d(input, this.config.stridePadding);
          break;
        case 'Conv2D':
        case 'DepthwiseConv2D': {
          const f = folded?.get(layer.name);
          const conv = this.#modules.get(layer.name) as KerasConv2d;
          y = f === undefined ? conv.forward(input) : conv.forward(input, f.weight, f.bias);
          break;
        }
        case 'BatchNormalization':
          y = folded !== null && folded.has(layer.inputs[0]!) ? input : this.#modules.get(layer.name)!.forward(input);
          break;
        case 'ReLU':
          y = ownable(layer.inputs[0]!, i) ? input.clamp_(0, 6) : torch.F.relu6(input);
          break;
        case 'Add': {
          const other = outputs.get(layer.inputs[1]!)!;
          if (ownable(layer.inputs[1]!, i)) y = other.add_(input);
          else if (ownable(layer.inputs[0]!, i)) y = input.add_(other);
          else y = input.add(other);
          break;
        }
      }
      outputs.set(layer.name, y);
      hook?.(layer.name, y);
      if (i < end) release(i);
    }
    const y = outputs.get(until)!;
    for (const t of new Set(outputs.values())) if (t !== y && t !== x && !t.isDisposed) t.dispose();
    return y;
  }

  #folded: Map<string, { weight: Tensor; bias: Tensor }> | null = null;

  /** Conv weights with their BatchNorm folded in (computed once; recomputed after loadStateDict/to). */
  foldedConvs(): Map<string, { weight: Tensor; bias: Tensor }> {
    if (this.#folded !== null) return this.#folded;
    const out = new Map<string, { weight: Tensor; bias: Tensor }>();
    torch.noGrad(() => {
      for (const bnLayer of this.layers) {
        if (bnLayer.kind !== 'BatchNormalization') continue;
        const convName = bnLayer.inputs[0]!;
        const conv = this.#modules.get(convName);
        if (!(conv instanceof KerasConv2d)) continue;
        const bn = this.#modules.get(bnLayer.name) as BatchNorm2d;
        const folded = torch.scope(() => {
          const s = bn.weight.div(bn.runningVar.add(bn.eps).sqrt());
          return { weight: conv.weight.mul(s.reshape(-1, 1, 1, 1)), bias: bn.bias.sub(bn.runningMean.mul(s)) };
        });
        out.set(convName, torch.keep(folded));
      }
    });
    return (this.#folded = out);
  }

  #dropFolded(): void {
    for (const f of this.#folded?.values() ?? []) {
      f.weight.dispose();
      f.bias.dispose();
    }
    this.#folded = null;
  }

  override loadStateDict(
    state: Map<string, Tensor> | Record<string, Tensor>,
    options?: { strict?: boolean },
  ): ReturnType<Module['loadStateDict']> {
    this.#dropFolded();
    return super.loadStateDict(state, options);
  }

  override to(target: Parameters<Module['to']>[0]): this {
    this.#dropFolded();
    return super.to(target);
  }

  /** Frees the weights (and the folded copies). */
  override dispose(): void {
    this.#dropFolded();
    super.dispose();
  }
}
