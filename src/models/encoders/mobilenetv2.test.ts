import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixturePath } from '../../../test/fixture-path.js';
import * as torch from '../../torch/index.js';
import type { Tensor } from '../../torch/index.js';
import { loadSafetensors } from '../../torch/io/index.js';
import { createEncoder } from './encoder.js';
import { convKernelToTorch, depthwiseKernelToTorch, kerasConv2d, kerasConvOutput, kerasPadAmounts } from './keras.js';
import { MobileNetV2, mobileNetV2Layers } from './mobilenetv2.js';
import { MobileNetV2Encoder } from './mobilenetv2-encoder.js';
import {
  loadMobileNetV2,
  mobileNetV2CachePath,
  mobileNetV2FromTfjs,
  readMobileNetV2,
  readTfjsFolder,
  saveMobileNetV2,
  stateDigest,
} from './mobilenetv2-weights.js';
import type { TfjsLayersModel } from './tfjs/layers-model.js';

const WEIGHTS = fixturePath('encoders/mobilenetv2-block10');
const TFJS = fixturePath('encoders/mobilenetv2_tfjs.safetensors');

/**
 * Tolerance against TF.js: both sides compute in float32 but sum in different orders (TF.js's JS
 * loops vs oneDNN/GEMM kernels), so outputs differ by a few float32 ulps per layer, growing through 30
 * layers. We require max |Δ| ≤ 1e-4 · max|y| + 1e-5 (measured: ~1e-6 relative; see docs/mobilenetv2.md).
 */
function assertClose(actual: Tensor, expected: Tensor, what: string): { maxAbs: number; scale: number } {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const maxAbs = actual.sub(expected).abs().max().item();
  const scale = expected.abs().max().item();
  assert.ok(maxAbs <= 1e-4 * scale + 1e-5, `${what}: max |Δ| ${maxAbs} vs max |y| ${scale}`);
  return { maxAbs, scale };
}

const nhwcToNchw = (t: Tensor): Tensor => t.permute(0, 3, 1, 2).contiguous();

// -------------------------------------------------------------------------------------------------
// Keras semantics
// -------------------------------------------------------------------------------------------------

test('TensorFlow padding amounts: same (extra after), valid', () => {
  assert.deepEqual(kerasPadAmounts('same', 224, 3, 1), [1, 1]);
  assert.deepEqual(kerasPadAmounts('same', 224, 1, 1), [0, 0]);
  assert.deepEqual(kerasPadAmounts('same', 224, 3, 2), [0, 1]); // even input, stride 2: bottom/right only
  assert.deepEqual(kerasPadAmounts('same', 7, 3, 2), [1, 1]);
  assert.deepEqual(kerasPadAmounts('same', 8, 4, 1), [1, 2]);
  assert.deepEqual(kerasPadAmounts('valid', 9, 3, 2), [0, 0]);
  assert.equal(kerasConvOutput('same', 7, 3, 2), 4);
  assert.equal(kerasConvOutput('valid', 225, 3, 2), 112);
  assert.equal(kerasConvOutput('valid', 7, 3, 2), 3);
});

test('kerasConv2d: asymmetric same padding equals explicit bottom/right zero padding', () => {
  torch.scope(() => {
    const g = new torch.Generator(1);
    const x = torch.randn([2, 3, 8, 8], { generator: g });
    const w = torch.randn([5, 3, 3, 3], { generator: g });
    const ours = kerasConv2d(x, w, { stride: [2, 2], padding: 'same' });
    const ref = torch.F.conv2d(torch.F.pad(x, [0, 1, 0, 1]), w, null, { stride: 2 });
    assert.deepEqual(ours.shape, [2, 5, 4, 4]);
    assert.equal(ours.sub(ref).abs().max().item(), 0);
    // stride 1, kernel 3: symmetric, same size
    const s1 = kerasConv2d(x, w, { stride: [1, 1], padding: 'same' });
    assert.equal(
      s1
        .sub(torch.F.conv2d(x, w, null, { padding: 1 }))
        .abs()
        .max()
        .item(),
      0,
    );
  });
});

test('kernel layouts: Conv2D (kh,kw,in,out) and DepthwiseConv2D (kh,kw,C,m) against direct sums', () => {
  torch.scope(() => {
    const g = new torch.Generator(2);
    const x = torch.randn([1, 3, 5, 5], { generator: g });
    // Conv2D: y[o,i,j] = Σ_{a,b,c} k[a,b,c,o] · x[c, i+a, j+b]  ('valid')
    const k = torch.randn([3, 3, 3, 4], { generator: g });
    const y = torch.F.conv2d(x, convKernelToTorch(k)).toArray();
    const xs = x.toArray();
    const ks = k.toArray();
    const X = (c: number, i: number, j: number): number => xs[c * 25 + i * 5 + j]!;
    let want = 0;
    for (let a = 0; a < 3; a++)
      for (let b = 0; b < 3; b++) for (let c = 0; c < 3; c++) want += ks[((a * 3 + b) * 3 + c) * 4 + 2]! * X(c, 1 + a, 0 + b);
    assert.ok(Math.abs(y[2 * 9 + 1 * 3 + 0]! - want) < 1e-5);
    // Depthwise with multiplier 2: output channel c·2 + m = Σ_{a,b} d[a,b,c,m] · x[c, i+a, j+b]
    const d = torch.randn([3, 3, 3, 2], { generator: g });
    const yd = torch.F.conv2d(x, depthwiseKernelToTorch(d), null, { groups: 3 }).toArray();
    const ds = d.toArray();
    const [c, m, i, j] = [1, 1, 2, 0];
    let wantD = 0;
    for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) wantD += ds[((a * 3 + b) * 3 + c) * 2 + m]! * X(c, i + a, j + b);
    assert.ok(Math.abs(yd[(c * 2 + m) * 9 + i * 3 + j]! - wantD) < 1e-5);
  });
});

test('architecture through block_10: Keras layer names, residual adds, 96 channels at stride 16', () => {
  const layers = mobileNetV2Layers(10);
  assert.equal(layers.at(-1)!.name, 'block_10_project_BN');
  assert.deepEqual(
    layers.filter((l) => l.kind === 'Add').map((l) => l.name),
    ['block_2_add', 'block_4_add', 'block_5_add', 'block_7_add', 'block_8_add', 'block_9_add'],
  );
  assert.deepEqual(
    layers.filter((l) => l.kind === 'ZeroPadding2D').map((l) => l.name),
    ['Conv1_pad', 'block_1_pad', 'block_3_pad', 'block_6_pad'],
  );
  const net = new MobileNetV2();
  assert.equal(net.channels(), 96);
  assert.equal(net.channels('block_10_depthwise_relu'), 384);
  assert.deepEqual(net.outputSize(224, 224), [14, 14]);
  assert.deepEqual(net.outputSize(96, 96), [6, 6]);
  assert.deepEqual(net.outputSize(28, 28), [1, 1]); // 28 → 14 → 7 → 3 → 1 with the stored ((0,1),(0,1)) padding
  assert.deepEqual(net.outputSize(64, 64), [4, 4]);
  assert.equal(net.numParameters() + net.namedBuffers().reduce((n, [, b]) => n + b.numel, 0), 317120);
});

// -------------------------------------------------------------------------------------------------
// Against TF.js (fixture from test/reference/encoders/tfjs_mobilenetv2.mjs)
// -------------------------------------------------------------------------------------------------

interface Case {
  name: string;
  size: number;
  range: 'nsfwjs' | 'imagenet';
  taps: string[];
}

const fixture = (() => {
  let cached: { tensors: Map<string, Tensor>; cases: Case[] } | undefined;
  return () => {
    if (cached === undefined) {
      const { tensors, metadata } = loadSafetensors(TFJS);
      cached = { tensors, cases: JSON.parse(metadata['cases']!) as Case[] };
    }
    return cached;
  };
})();

const netFromFixture = (() => {
  let net: MobileNetV2 | undefined;
  return () => (net ??= mobileNetV2FromTfjs(readTfjsFolder(WEIGHTS)));
})();

test('converted real weights (committed TF.js-format cut) match TF.js layer by layer', () => {
  const net = netFromFixture();
  const { tensors, cases } = fixture();
  const report: string[] = [];
  for (const c of cases) {
    const enc = new MobileNetV2Encoder(net, c.size, 'cpu', net.outputLayer, c.range, { source: WEIGHTS, sha256: '' });
    torch.noGrad(() =>
      torch.scope(() => {
        const x = enc.preprocess(tensors.get(`${c.name}.images`)!);
        const seen = new Map<string, Tensor>();
        const taps = new Set([...c.taps, net.outputLayer]);
        net.forward(x, { hook: (name, y) => void (taps.has(name) && seen.set(name, torch.keep(y.clone()))) });
        for (const tap of taps) {
          const { maxAbs, scale } = assertClose(seen.get(tap)!, nhwcToNchw(tensors.get(`${c.name}.${tap}`)!), `${c.name} ${tap}`);
          report.push(`${c.name} ${tap}: max|Δ| ${maxAbs.toExponential(2)} (max|y| ${scale.toFixed(2)})`);
        }
        for (const t of seen.values()) t.dispose();
      }),
    );
  }
  if (process.env['REG_VERBOSE']) console.log(report.join('\n'));
});

test('encoder: uint8 images in, TF.js tokens out (row-major patches, CLS = mean)', async () => {
  const { tensors, cases } = fixture();
  for (const c of cases) {
    const enc = await createEncoder('mobilenetv2', { weights: WEIGHTS, inputSize: c.size, pixelRange: c.range });
    const ref = tensors.get(`${c.name}.block_10_project_BN`)!; // (B, h, w, C)
    const [B, h, w, C] = ref.shape as [number, number, number, number];
    assert.deepEqual(enc.grid, [h, w]);
    assert.equal(enc.numPatches, h * w);
    assert.equal(enc.dim, C);
    torch.scope(() => {
      const images = tensors.get(`${c.name}.images`)!;
      const { cls, patches } = enc.encode(images);
      assertClose(patches, ref.reshape(B, h * w, C), `${c.name} patches`);
      assertClose(cls, ref.mean([1, 2]), `${c.name} cls`);
      // floats in [0, 1] give the same tokens as uint8
      const again = enc.encode(images.float().div(255));
      assert.ok(again.patches.sub(patches).abs().max().item() < 1e-5);
    });
    enc.dispose();
    if (c.name === 'fmnist224') {
      const maxEnc = await createEncoder('mobilenetv2', { weights: WEIGHTS, inputSize: c.size, clsPooling: 'max' });
      assert.equal(maxEnc.info.clsToken, 'max of patch tokens');
      torch.scope(() => assertClose(maxEnc.encode(tensors.get(`${c.name}.images`)!).cls, ref.amax([1, 2]), 'max cls'));
      maxEnc.dispose();
    }
  }
});

test('a topology that differs from MobileNetV2 is refused, naming the layer', () => {
  const model = readTfjsFolder(WEIGHTS);
  const layers = model.layers.map((l) => (l.name === 'block_3_depthwise' ? { ...l, config: { ...l.config, strides: [1, 1] } } : l));
  assert.throws(
    () => mobileNetV2FromTfjs({ ...model, layers } as TfjsLayersModel),
    /block_3_depthwise has strides = \[1,1\], expected \[2,2\]/,
  );
  const noBias = model.layers.map((l) => (l.name === 'Conv1' ? { ...l, config: { ...l.config, use_bias: true } } : l));
  assert.throws(() => mobileNetV2FromTfjs({ ...model, layers: noBias } as TfjsLayersModel), /Conv1 has use_bias/);
  assert.throws(() => mobileNetV2FromTfjs(model, 11), /no layer named block_11_expand/);
});

// -------------------------------------------------------------------------------------------------
// safetensors cache
// -------------------------------------------------------------------------------------------------

test('converted weights round-trip through safetensors bit for bit, and the cache is read offline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'reg-mnv2-'));
  const saved = process.env['REG_CACHE'];
  try {
    const net = netFromFixture();
    const file = join(dir, 'w.safetensors');
    saveMobileNetV2(file, net, 'fixture');
    const back = readMobileNetV2(file);
    assert.equal(back.source, 'fixture');
    assert.deepEqual(back.net.config, net.config);
    assert.equal(stateDigest(back.net.stateDict()), stateDigest(net.stateDict()));
    // the default path reads $REG_CACHE/encoders/… without touching the network
    process.env['REG_CACHE'] = dir;
    saveMobileNetV2(mobileNetV2CachePath(), net, 'cached fixture');
    const loaded = await loadMobileNetV2();
    assert.equal(loaded.source, 'cached fixture');
    assert.equal(loaded.sha256, stateDigest(net.stateDict()));
    // a weights file through the registry gives the same encoder identity
    const enc = await createEncoder('mobilenetv2', { weights: file, inputSize: 64 });
    assert.equal(enc.info.weightsSha256, loaded.sha256);
    assert.deepEqual(enc.grid, [4, 4]);
  } finally {
    if (saved === undefined) delete process.env['REG_CACHE'];
    else process.env['REG_CACHE'] = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
