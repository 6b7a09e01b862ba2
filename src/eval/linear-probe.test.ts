import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadFashionMnist } from '../data/fashion-mnist.js';
import { createEncoder } from '../models/encoders/encoder.js';
import { loadSafetensors } from '../torch/io/index.js';
import * as torch from '../torch/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';
import { LinearProbe, linearProbe } from './linear-probe.js';

const fx = loadSafetensors(fixturePath('eval/linear_probe.safetensors')).tensors;
const get = (k: string) => fx.get(k)!;

test("the probe head is MAE's BatchNorm1d(affine=False, eps=1e-6) → Linear: PyTorch's outputs, gradients and running statistics", () => {
  const probe = new LinearProbe(5, 3).to({ dtype: 'float64' });
  assert.equal(probe.norm.eps, 1e-6);
  assert.equal(probe.norm.weight, null);
  torch.noGrad(() => {
    probe.linear.weight.copy_(get('probe.linear.weight'));
    probe.linear.bias!.copy_(get('probe.linear.bias'));
  });
  torch.scope(() => {
    const x = get('x1').clone().requiresGrad_(true);
    const y = probe.forward(x);
    y.mul(get('g')).sum().backward();
    assert.ok(relError(y, get('probe.train_out')) < 1e-12);
    assert.ok(relError(x.grad!, get('probe.grad_x')) < 1e-10);
    assert.ok(relError(probe.linear.weight.grad!, get('probe.grad_weight')) < 1e-12);
    assert.ok(relError(probe.linear.bias!.grad!, get('probe.grad_bias')) < 1e-12);
    probe.forward(get('x2'));
    assert.ok(relError(probe.norm.runningMean, get('probe.running_mean')) < 1e-12);
    assert.ok(relError(probe.norm.runningVar, get('probe.running_var')) < 1e-12);
    probe.eval();
    assert.ok(relError(probe.forward(get('x2')), get('probe.eval_out')) < 1e-12);
  });
  probe.dispose();
});

test('a linear probe on MobileNetV2 features of 300 real Fashion-MNIST images beats chance (10 %) clearly, deterministically', async () => {
  const encoder = await createEncoder('mobilenetv2', { weights: fixturePath('encoders/mobilenetv2-block10'), inputSize: 64 });
  const ds = loadFashionMnist({ dir: fixturePath('data/fashion-mnist'), split: 'test', channels: 3 });
  const images = new Uint8Array(ds.length * 3 * 28 * 28);
  for (let i = 0; i < ds.length; i++) images.set((await ds.get(i)).pixels, i * 3 * 28 * 28);
  const features = torch.scope(() => encoder.encode(torch.fromBytes(images, 'uint8', [ds.length, 3, 28, 28])).cls);
  encoder.dispose();
  const split = 200;
  const train = { features: features.narrow(0, 0, split), labels: ds.labels.subarray(0, split) };
  const test = { features: features.narrow(0, split, ds.length - split), labels: ds.labels.subarray(split) };
  const settings = { epochs: 40, batchSize: 50, seed: 3 };
  const a = linearProbe(train, test, 10, settings);
  const b = linearProbe(train, test, 10, settings);
  assert.ok(a.testAccuracy >= 0.5, `held-out probe accuracy ${a.testAccuracy}`);
  assert.ok(a.trainAccuracy >= a.testAccuracy);
  assert.ok(a.losses.at(-1)! < a.losses[0]!);
  assert.deepEqual(b, a, 'the same seed gives the same probe');
  for (const t of [features, train.features, test.features]) t.dispose();
});

test('linearProbe rejects mismatched inputs', () => {
  torch.scope(() => {
    const f = torch.randn([6, 4]);
    const labels = Int32Array.from([0, 1, 0, 1, 0, 1]);
    assert.throws(
      () => linearProbe({ features: f, labels }, { features: torch.randn([3, 5]), labels: labels.subarray(0, 3) }, 2),
      /same D/,
    );
    assert.throws(
      () => linearProbe({ features: f, labels: labels.subarray(0, 5) }, { features: f, labels }, 2),
      /6 train features but 5 labels/,
    );
    assert.throws(
      () => linearProbe({ features: f, labels }, { features: f, labels: labels.map((l) => l * 2) }, 2),
      /test label 2 at index 1/,
    );
  });
});
