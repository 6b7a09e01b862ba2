/**
 * Deterministic weights for the FID Inception without storing them: every tensor of the state dict
 * (num_batches_tracked excluded), number k in order, element i, gets u = hash(k, i) ∈ [0, 1) and a
 * value by kind; the same formula as test/reference/eval/fid_inception.py (`hash_weights`), so both
 * sides hold bit-identical float32 weights.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { FidInceptionV3 } from '../src/eval/inception.js';
import * as torch from '../src/torch/index.js';
import { fixturePath } from './fixture-path.js';
import { makePt, type PtView } from './io-testing.js';
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

/** Writes the FID Inception at width 1/`width` with the hash weights as a torch.save zip state dict (for CLI tests). */
export function writeHashInception(file: string, width: number): void {
  const net = hashWeights(new FidInceptionV3(width));
  const views: PtView[] = [];
  const records: Record<string, Uint8Array> = {};
  for (const [i, [name, t]] of [...net.stateDict()].entries()) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const stride = t.shape.map((_, d) => t.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    views.push({ name, storage: String(i), numel: n, offset: 0, size: [...t.shape], stride });
    records[String(i)] = t.contiguous().toBytes();
  }
  net.dispose();
  writeFileSync(file, makePt(views, records));
}
