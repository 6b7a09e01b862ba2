/**
 * Operators added after ops.test.ts's fixture was fixed, against PyTorch: attention with boolean and
 * additive masks, causality and a custom scale (values and float64 gradients), clamp with tensor
 * bounds in every combination, maximum/minimum with a number, sub_ with a number. The fixture is
 * test/fixtures/ops/ops_extra.safetensors from test/reference/ops/make_ops_extra.py (Debian's
 * PyTorch 1.13; attention is PyTorch 2.x's documented formula evaluated in float64, since 1.13 has
 * no F.scaled_dot_product_attention).
 *
 * Tolerance: |a − e| ≤ rtol·max(|e|, rms(e)), rtol 1e-5 for float32 (as ops.test.ts's reductions)
 * and 1e-10 for float64; clamp and friends compute nothing and must match exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { opFixture, opFixturePath, type CaseInputs } from '../../test/op-fixture.js';
import * as torch from './index.js';
import { F, type Tensor } from './index.js';
import { loadSafetensors } from './io/index.js';

const fx = (() => {
  const { tensors, metadata } = loadSafetensors(opFixturePath('ops_extra.safetensors', 'make_ops_extra.py'));
  return opFixture(tensors, metadata);
})();
const { cases, inputsOf, outputsOf } = fx;

type In = CaseInputs;

function assertClose(name: string, actual: Tensor, expected: Tensor, exact: boolean): void {
  assert.deepEqual(actual.shape, expected.shape, `${name}: shape`);
  assert.equal(actual.dtype, expected.dtype, `${name}: dtype`);
  const a = actual.toArray();
  const e = expected.toArray();
  if (exact) {
    assert.deepEqual(a, e, `${name}: values must match exactly`);
    return;
  }
  const rtol = expected.dtype === 'float64' ? 1e-10 : 1e-5;
  const rms = Math.sqrt(e.reduce((s, v) => s + v * v, 0) / Math.max(1, e.length));
  e.forEach((ev, i) => {
    const err = Math.abs(a[i]! - ev) / Math.max(Math.abs(ev), rms, Number.MIN_VALUE);
    if (!(err <= rtol)) assert.fail(`${name}[${i}]: got ${a[i]}, PyTorch ${ev} (relative error ${err.toExponential(2)} > ${rtol})`);
  });
}

/** out and the gradients of sum(out · r) with respect to q, k, v. */
function attentionWithGrads(i: In, options: F.AttentionOptions): Tensor[] {
  const [q, k, v] = [i.q!, i.k!, i.v!].map((t) => t.clone().requiresGrad_(true)) as [Tensor, Tensor, Tensor];
  const out = F.scaledDotProductAttention(q, k, v, options);
  out.mul(i.r!).sum().backward();
  return [out.detach(), q.grad!, k.grad!, v.grad!];
}

type Case = [exact: boolean, run: (i: In, fused: boolean) => Tensor | Tensor[]];

const CASES: Record<string, Case> = {
  sdpa: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { fused })],
  sdpa_bool_mask: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { mask: i.mask!, fused })],
  sdpa_bool_mask_broadcast: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { mask: i.mask!, fused })],
  sdpa_additive_mask: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { mask: i.mask!, fused })],
  sdpa_scale: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { scale: 0.05, fused })],
  sdpa_causal: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { isCausal: true, fused })],
  sdpa_causal_short_query: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { isCausal: true, fused })],
  sdpa_bool_mask_f64: [false, (i, fused) => F.scaledDotProductAttention(i.q!, i.k!, i.v!, { mask: i.mask!, fused })],
  sdpa_bool_mask_grad: [false, (i, fused) => attentionWithGrads(i, { mask: i.mask!, fused })],
  sdpa_causal_grad: [false, (i, fused) => attentionWithGrads(i, { isCausal: true, fused })],
  clamp_tensor: [true, (i) => i.x!.clamp(i.lo!, i.hi!)],
  clamp_tensor_min: [true, (i) => i.x!.clamp(i.lo!)],
  clamp_tensor_max: [true, (i) => i.x!.clamp(null, i.hi!)],
  clamp_tensor_scalar: [true, (i) => i.x!.clamp(i.lo!, 0.3)],
  clamp_scalar_tensor: [true, (i) => i.x!.clamp(-0.2, i.hi!)],
  clamp_tensor_: [true, (i) => i.x!.clone().clamp_(i.lo!, i.hi!)],
  maximum_scalar: [true, (i) => i.x!.maximum(0.1)],
  minimum_scalar: [true, (i) => i.x!.minimum(-0.1)],
  sub_scalar_: [true, (i) => i.x!.clone().sub_(1.5, 2)],
};

describe('operators against PyTorch fixtures (ops_extra)', () => {
  test('fixture file and TypeScript table cover the same cases', () => {
    assert.ok(cases.length > 0);
    assert.deepEqual([...cases].sort(), Object.keys(CASES).sort());
  });

  for (const name of cases) {
    const entry = CASES[name];
    if (!entry) continue; // reported above
    const [exact, run] = entry;
    // attention both ways: fused when this libtorch has the kernel (≥ 2.0), and the explicit formula
    for (const fused of name.startsWith('sdpa') ? [true, false] : [true]) {
      test(name + (name.startsWith('sdpa') ? (fused ? '' : ' (explicit formula)') : ''), () => {
        const before = torch.liveTensors();
        torch.scope(() => {
          const got = run(inputsOf(name), fused);
          const actual = Array.isArray(got) ? got : [got];
          const expected = outputsOf(name);
          assert.equal(actual.length, expected.length, `${name}: number of outputs`);
          actual.forEach((a, k) => assertClose(`${name}.out${expected.length > 1 ? `.${k}` : ''}`, a, expected[k]!, exact));
        });
        assert.equal(torch.liveTensors(), before, `${name}: every intermediate released`);
      });
    }
  }
});
