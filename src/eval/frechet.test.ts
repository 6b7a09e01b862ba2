import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors } from '../torch/io/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { readFileSync } from 'node:fs';
import * as torch from '../torch/index.js';
import { frechetDistance, frechetDistanceReport, gaussianStats, type GaussianStats } from './frechet.js';

const fx = loadSafetensors(fixturePath('eval/frechet.safetensors')).tensors;
const get = (k: string) => fx.get(k)!;

test('statistics match numpy (mean, unbiased covariance)', () => {
  const s = gaussianStats(get('a'));
  const mu = s.mu.toArray();
  const want = get('mu_a').toArray();
  mu.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-12));
  const sigma = s.sigma.toArray();
  get('sigma_a')
    .toArray()
    .forEach((v, i) => assert.ok(Math.abs(sigma[i]! - v) < 1e-12));
});

test('Fréchet distance matches the scipy sqrtm formula', () => {
  const d = frechetDistance(gaussianStats(get('a')), gaussianStats(get('b')));
  const want = get('fd_ab').item();
  // scipy's sqrtm (Schur) and our eigendecomposition agree to ~1e-10 relative in float64.
  assert.ok(Math.abs(d - want) / want < 1e-8, `${d} vs ${want}`);
});

test('distance of a set to itself is ~0', () => {
  const s = gaussianStats(get('a'));
  assert.ok(Math.abs(frechetDistance(s, s)) < 1e-8);
});

test('rejects a single sample', () => {
  assert.throws(() => gaussianStats(get('a').narrow(0, 0, 1)), RangeError);
});

/** The fixture of test/reference/eval/make_frechet_retry.py: a pair whose scipy sqrtm needs the 1e-6·I retry. */
function retryPair(): { a: GaussianStats; b: GaussianStats; eps: number; fdAdm: number; fdExact: number } {
  const f = JSON.parse(readFileSync(fixturePath('eval/frechet-retry.json'), 'utf8')) as Record<string, number & number[] & number[][]>;
  const vector = (v: number[]) => torch.tensor(Float64Array.from(v), { dtype: 'float64' });
  const matrix = (m: number[][]) => vector(m.flat()).reshape(m.length, m.length);
  return {
    a: { mu: vector(f.mu1), sigma: matrix(f.sigma1) },
    b: { mu: vector(f.mu2), sigma: matrix(f.sigma2) },
    eps: f.eps,
    fdAdm: f.fd_adm,
    fdExact: f.fd_exact,
  };
}

test('the 1e-6·I retry: where the first square root is not finite, the retry gives the ADM evaluator’s value', () => {
  const { a, b, eps, fdAdm } = retryPair();
  // Σ₁ is singular (eigenvalues ±3e-16 from rounding): Newton–Schulz diverges on it, and converges with 1e-6·I
  const r = frechetDistanceReport(a, b, { method: 'newton-schulz', eps });
  assert.equal(r.regularised, true);
  // measured 4.9e-12 relative: scipy's Schur sqrtm and Newton–Schulz of the same regularised matrices
  assert.ok(Math.abs(r.value - fdAdm) / fdAdm < 1e-9, `${r.value} vs ${fdAdm}`);
});

test('the same pair through eigh needs no retry and gives the distance without an offset', () => {
  const { a, b, fdExact } = retryPair();
  const r = frechetDistanceReport(a, b, { method: 'eigh' });
  assert.equal(r.regularised, false);
  assert.ok(Math.abs(r.value - fdExact) / fdExact < 1e-9, `${r.value} vs ${fdExact}`);
});
