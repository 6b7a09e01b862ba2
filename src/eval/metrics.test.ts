import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturePath } from '../../test/fixture-path.js';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { eighAvailable, frechetDistanceReport, gaussianStats, sqrtPsdNewtonSchulz } from './frechet.js';
import { inceptionScore } from './inception-score.js';
import { readNpz, type NpyArray } from './npz.js';
import { precisionRecall } from './precision-recall.js';

const fx = readNpz(fixturePath('eval/metrics.npz'));
const tensorOf = (a: NpyArray): Tensor => torch.fromBytes(a.data, a.dtype, a.shape);
const get = (k: string): Tensor => tensorOf(fx.get(k)!);
const num = (k: string): number => get(k).item();
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

test('linalg_eigh is reachable through the operator dispatch (and runs)', () => {
  assert.equal(eighAvailable(), true);
});

for (const method of ['eigh', 'newton-schulz'] as const) {
  test(`FID formula (${method}) within 1e-6 relative of NumPy statistics + scipy.linalg.sqrtm`, () => {
    torch.scope(() => {
      const r = frechetDistanceReport(gaussianStats(get('a')), gaussianStats(get('b')), { method });
      assert.equal(r.method, method);
      assert.equal(r.regularised, false);
      assert.ok(rel(r.value, num('fd_ab')) <= 1e-6, `${r.value} vs ${num('fd_ab')}`);
    });
  });
}

test('Fréchet distance of rank-deficient covariances (N < D, the small-sample sFID case) agrees with scipy', () => {
  torch.scope(() => {
    const r = frechetDistanceReport(gaussianStats(get('few')), gaussianStats(get('few_b'))).value;
    assert.ok(rel(r, num('fd_few')) <= 1e-6, `${r} vs ${num('fd_few')}`);
  });
});

test('Fréchet distance: non-finite statistics, or a result not finite after the 1e-6·I retry, are errors', () => {
  torch.scope(() => {
    const s = gaussianStats(get('a'));
    const eye = torch.eye(16, { dtype: 'float64' });
    assert.throws(() => frechetDistanceReport(s, { mu: s.mu, sigma: eye.mul(Infinity) }), /Σ₂ holds non-finite values/);
    assert.throws(() => frechetDistanceReport({ mu: s.mu.mul(Number.NaN), sigma: s.sigma }, s), /μ₁ holds non-finite values/);
    // finite but overflowing products: not finite, also after the retry
    assert.throws(() => frechetDistanceReport(s, { mu: s.mu, sigma: eye.mul(1e308) }), /not finite, also with 0.000001·I added/);
  });
});

test('Newton–Schulz square root squares back to the matrix', () => {
  torch.scope(() => {
    const { sigma } = gaussianStats(get('a'));
    const root = sqrtPsdNewtonSchulz(sigma);
    const err = root.matmul(root).sub(sigma).abs().max().item() / sigma.abs().max().item();
    assert.ok(err < 1e-12, `${err}`);
  });
});

test('Inception Score equals the ADM formula computed with NumPy (chunks in order, last one shorter)', () => {
  torch.scope(() => {
    const logits = get('logits');
    const split10 = inceptionScore(logits, 10);
    assert.equal(split10.chunks.length, 3);
    assert.ok(rel(split10.score, num('is_split10')) <= 1e-12, `${split10.score} vs ${num('is_split10')}`);
    assert.ok(rel(inceptionScore(logits).score, num('is_split5000')) <= 1e-12);
  });
});

test('precision and recall equal the ADM ManifoldEstimator computed with NumPy (k = 3, blocks of 64)', () => {
  torch.scope(() => {
    const pr = precisionRecall(get('ref'), get('sample'), { k: 3, batchSize: 64 });
    assert.equal(pr.precision, num('precision'));
    assert.equal(pr.recall, num('recall'));
    // the block size changes nothing
    assert.deepEqual(precisionRecall(get('ref'), get('sample'), { batchSize: 10_000 }), pr);
  });
});
