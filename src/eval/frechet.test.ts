import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadSafetensors } from '../torch/io/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { frechetDistance, gaussianStats } from './frechet.js';

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
