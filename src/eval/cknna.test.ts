import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors } from '../torch/io/index.js';
import * as torch from '../torch/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';
import { cknna, hsicUnbiased, removeOutliers } from './cknna.js';

const fx = loadSafetensors(fixturePath('eval/cknna.safetensors')).tensors;
const get = (k: string) => fx.get(k)!;
const want = (k: string) => get(k).item();
const rel = (x: number, y: number) => Math.abs(x - y) / Math.abs(y);

test('unbiased HSIC of two non-symmetric matrices matches the PyTorch transcription', () => {
  const h = hsicUnbiased(get('k_rand'), get('l_rand'));
  assert.ok(rel(h.item(), want('hsic_rand')) < 1e-12, `${h.item()} vs ${want('hsic_rand')}`);
  h.dispose();
});

test('removeOutliers clamps to the mean per-sample 0.95-quantile of |x| as torch.quantile', () => {
  const c = removeOutliers(get('b'), 0.95);
  assert.ok(relError(c, get('b_clamped')) < 1e-12);
  c.dispose();
});

for (const dt of ['f64', 'f32'] as const) {
  // float64: the same operations in the same dtype; float32: sums of N² products in another order.
  const tol = dt === 'f64' ? 1e-6 : 1e-5;
  const dtype = dt === 'f64' ? 'float64' : 'float32';
  test(`CKNNA (${dt}) matches platonic-rep: prepared k = 10, raw k = 5, self-alignment`, () => {
    torch.scope(() => {
      const a = get('a').to(dtype);
      const b = get('b').to(dtype);
      const cases: [number, string][] = [
        [cknna(a, b), `cknna_prepared_k10_${dt}`],
        [cknna(a, b, { topk: 5, prepare: false }), `cknna_raw_k5_${dt}`],
        [cknna(a, a, { topk: 10 }), `cknna_self_k10_${dt}`],
        // not symmetric: the masked kernels are not, and Σ(K̃·L̃) ≠ Σ(L̃·K̃)
        [cknna(b, a), `cknna_swapped_k10_${dt}`],
      ];
      for (const [got, key] of cases) assert.ok(rel(got, want(key)) < tol, `${key}: ${got} vs ${want(key)}`);
    });
  });
}

test('CKNNA with prepared features is invariant to scaling the features', () => {
  torch.scope(() => {
    const a = get('a');
    const b = get('b');
    assert.ok(rel(cknna(a.mul(3), b), cknna(a, b)) < 1e-9);
  });
});

test('CKNNA rejects bad inputs with a clear message', () => {
  torch.scope(() => {
    const a = get('a');
    const b = get('b');
    assert.throws(() => cknna(a, b, { topk: 1 }), /topk must be an integer ≥ 2, got 1/);
    assert.throws(() => cknna(a, b, { topk: 48 }), /topk 48 must be smaller than the number of samples 48/);
    assert.throws(() => cknna(a, b.narrow(0, 0, 40)), /A has 48 samples but B has 40/);
    assert.throws(() => cknna(a.narrow(0, 0, 3), b.narrow(0, 0, 3), { topk: 2 }), /at least 4 samples/);
    assert.throws(() => cknna(a.flatten(), b), /must be \(N, D\)/);
    assert.throws(() => removeOutliers(a, 0), /quantile must be in \(0, 1\]/);
  });
});
