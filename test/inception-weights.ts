/**
 * Deterministic weights for the FID Inception without storing them: every tensor of the state dict
 * (num_batches_tracked excluded), number k in order, element i, gets u = hash(k, i) ∈ [0, 1) and a
 * value by kind; the same formula as test/reference/eval/fid_inception.py (`hash_weights`), so both
 * sides hold bit-identical float32 weights.
 */
import { readFileSync } from 'node:fs';
import * as torch from '../src/torch/index.js';
import { fixturePath } from './fixture-path.js';
import type { Module } from '../src/nn/index.js';

/** u ∈ [0, 1) of element i of tensor k: an integer hash, exact in float64. */
function hashUniform(k: number, i: number): number {
  let h = (Math.imul(i, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca77)) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h = (h ^ (h >>> 12)) >>> 0;
  return h / 4294967296;
}

/** The value formula by tensor kind (float64; rounded to float32 on storing). */
function hashValue(name: string, shape: readonly number[], u: number): number {
  if (name.endsWith('conv.weight') || name === 'fc.weight') {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return (u - 0.5) * Math.sqrt(6.0 / fanIn) * (name === 'fc.weight' ? 1.0 : 2.0);
  }
  if (name.endsWith('bn.weight')) return 0.8 + 0.4 * u;
  if (name.endsWith('running_var')) return 0.5 + u;
  return 0.2 * (u - 0.5);
}

/** The state-dict names in PyTorch's order (module registration, parameters then buffers per module). */
const PYTORCH_ORDER = Object.keys(JSON.parse(readFileSync(fixturePath('eval/inception_state.json'), 'utf8')) as object).filter(
  (k) => !k.endsWith('num_batches_tracked'),
);

/** Fills every weight and buffer of `net` with the hash weights (tensor k in PyTorch's state-dict order); returns `net`. */
export function hashWeights<M extends Module>(net: M): M {
  const own = net.stateDict();
  torch.noGrad(() => {
    PYTORCH_ORDER.forEach((name, k) => {
      const t = own.get(name);
      if (t === undefined) throw new Error(`hashWeights: the network has no '${name}'`);
      const n = t.shape.reduce((a, b) => a * b, 1);
      const v = new Float32Array(n);
      for (let i = 0; i < n; i++) v[i] = hashValue(name, t.shape, hashUniform(k, i));
      torch.scope(() => t.copy_(torch.fromBytes(v, 'float32', t.shape)));
    });
  });
  return net;
}
