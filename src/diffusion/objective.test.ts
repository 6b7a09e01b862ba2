/**
 * The REG objective against the PyTorch reference (test/reference/loss.py on the small SiT of
 * test/fixtures/reference/sit_<variant>_<dt>.safetensors): every loss term, the interpolated inputs and
 * targets, the model outputs, the cosine path, log-normal times and the gradients of the total.
 * Error = max|a − b| / max|b|; f32 ≤ 1e-5 (gradients 2e-5), f64 ≤ 1e-10 (on REGTS_TEST_DEVICE=cuda: test/test-device.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { pathAt, pathCoefficients } from './interpolants.js';
import { alignmentLoss, regLoss, type RegLossBatch } from './objective.js';
import { sampleTime, timeFromNormal, timeFromUniform } from './time.js';
import { loadFixture, sitFromFixture, type Fixture } from '../../test/diffusion-testing.js';
import { relError } from '../../test/relative-error.js';
import { onTestDevice, TEST_DEVICE, testTolerance } from '../../test/test-device.js';

const TOL = { f32: 1e-5, f64: 1e-10 } as const;
const GRAD_TOL = { f32: 2e-5, f64: 1e-10 } as const;
const worst: Record<string, number> = {};

function check(what: string, dt: 'f32' | 'f64', got: Tensor, want: Tensor, cpuTol: number = TOL[dt]): void {
  const tol = testTolerance(cpuTol, dt);
  const e = relError(got, want);
  const key = `${what.split(' ')[0]} ${dt}`;
  worst[key] = Math.max(worst[key] ?? 0, e);
  assert.ok(e <= tol, `${what} (${dt}): relative error ${e.toExponential(3)} > ${tol}`);
}

after(() => {
  console.log(
    'max relative errors vs PyTorch:',
    JSON.stringify(worst, (_, v: unknown) => (typeof v === 'number' ? Number(v.toExponential(2)) : v)),
  );
});

for (const dt of ['f32', 'f64'] as const) {
  for (const variant of ['reg', 'repa', 'sit', 'entangle'] as const) {
    describe(`objective ${variant} ${dt} vs PyTorch`, () => {
      let fx: Fixture;
      const fixture = () => (fx ??= onTestDevice(loadFixture('reference', `sit_${variant}_${dt}.safetensors`)));
      after(() => fx?.dispose());
      const token = variant === 'reg' || variant === 'entangle';
      const align = variant === 'reg' || variant === 'repa';
      const batch = (f: Fixture, t?: Tensor): RegLossBatch => ({
        x0: f.get('input.x0'),
        y: f.get('input.y'),
        cls0: token ? f.get('input.cls0') : null,
        target: align ? f.get('input.target_z') : null,
        t: t ?? f.get('input.t'),
        noise: f.get('input.noise'),
        noiseCls: token ? f.get('input.noise_cls') : undefined,
        dropMask: f.get('input.drop_mask'),
      });

      test('loss terms, inputs, targets, outputs and gradients (linear path, uniform t)', () => {
        const f = fixture();
        const model = sitFromFixture(f, TEST_DEVICE).train();
        torch.scope(() => {
          const r = regLoss(model, batch(f), { returnDetail: true });
          check('loss total', dt, r.total, f.get('loss'));
          check('loss denoise', dt, r.denoise, f.get('loss_z'));
          if (token) check('loss cls', dt, r.cls!, f.get('loss_cls'));
          else assert.equal(r.cls, null);
          if (align) check('loss proj', dt, r.proj!, f.get('loss_proj'));
          else assert.equal(r.proj, null);
          const d = r.detail!;
          check('fwd x_t', dt, d.xT, f.get('fwd.x_t'));
          check('fwd v_target', dt, d.vTarget, f.get('fwd.v_target'));
          check('fwd v_img', dt, d.output.vImg, f.get('fwd.v_img'));
          if (token) {
            check('fwd cls_t', dt, d.clsT!, f.get('fwd.cls_t'));
            check('fwd v_cls_target', dt, d.vClsTarget!, f.get('fwd.v_cls_target'));
            check('fwd v_cls', dt, d.output.vCls!, f.get('fwd.v_cls'));
          }
          if (align) check('fwd zs', dt, d.output.zs[0]!, f.get('fwd.zs.0'));
          r.total.backward();
          for (const [name, p] of model.namedParameters()) {
            if (!f.has(`grad.${name}`)) continue;
            assert.ok(p.grad, `no gradient for ${name}`);
            check(`grad ${name}`, dt, p.grad, f.get(`grad.${name}`), GRAD_TOL[dt]);
          }
        });
      });

      test('cosine path and log-normal times (forward only)', () => {
        const f = fixture();
        const model = sitFromFixture(f, TEST_DEVICE).train();
        torch.noGrad(() =>
          torch.scope(() => {
            const terms = (r: ReturnType<typeof regLoss>, prefix: string) => {
              check(`${prefix} total`, dt, r.total, f.get(`${prefix}.loss`));
              check(`${prefix} denoise`, dt, r.denoise, f.get(`${prefix}.loss_z`));
              if (token) check(`${prefix} cls`, dt, r.cls!, f.get(`${prefix}.loss_cls`));
              if (align) check(`${prefix} proj`, dt, r.proj!, f.get(`${prefix}.loss_proj`));
            };
            terms(regLoss(model, batch(f), { path: 'cosine' }), 'loss_cosine');
            const tl = timeFromNormal(f.get('input.time_n'), 'linear');
            check('time lognormal-linear', dt, tl, f.get('time.lognormal_linear'));
            check('time lognormal-cosine', dt, timeFromNormal(f.get('input.time_n'), 'cosine'), f.get('time.lognormal_cosine'));
            terms(regLoss(model, batch(f, tl)), 'loss_lognormal');
          }),
        );
      });
    });
  }
}

describe('objective pieces', () => {
  test('interpolants: α, σ, α̇, σ̇ (scalar and tensor agree; linear and cosine)', () => {
    torch.scope(() => {
      const ts = [0, 0.04, 0.3, 0.5, 0.97, 1];
      const t = torch.tensor(ts, { dtype: 'float64' });
      for (const path of ['linear', 'cosine'] as const) {
        const c = pathCoefficients(path, t);
        ts.forEach((tv, i) => {
          const s = pathAt(path, tv);
          for (const k of ['alpha', 'sigma', 'dAlpha', 'dSigma'] as const) {
            assert.ok(Math.abs(c[k].toArray()[i]! - s[k]) < 1e-15, `${path} ${k} at ${tv}`);
          }
          // x_t = α x + σ ε traces a path whose derivative is α̇ x + σ̇ ε
          const h = 1e-6;
          if (tv > h && tv < 1 - h) {
            const a1 = pathAt(path, tv + h);
            const a0 = pathAt(path, tv - h);
            assert.ok(Math.abs((a1.alpha - a0.alpha) / (2 * h) - s.dAlpha) < 1e-8);
            assert.ok(Math.abs((a1.sigma - a0.sigma) / (2 * h) - s.dSigma) < 1e-8);
          }
        });
      }
      const lin = pathAt('linear', 0.3);
      assert.deepEqual(lin, { alpha: 0.7, sigma: 0.3, dAlpha: -1, dSigma: 1 });
    });
  });

  test('time sampling: shapes, ranges, generator reproducibility', () => {
    torch.scope(() => {
      for (const kind of ['uniform', 'lognormal'] as const) {
        const a = sampleTime(kind, 1000, { generator: new torch.Generator(3) });
        const b = sampleTime(kind, 1000, { generator: new torch.Generator(3) });
        assert.deepEqual(a.shape, [1000]);
        assert.deepEqual(a.toArray(), b.toArray());
        assert.ok(a.min().item() >= 0 && a.max().item() < 1, `${kind} in [0, 1)`);
        const m = a.mean().item();
        assert.ok(Math.abs(m - 0.5) < 0.05, `${kind} mean ${m} ≈ 0.5`);
      }
      const u = torch.tensor([0.25, 0.75]);
      assert.deepEqual(timeFromUniform(u).toArray(), [0.25, 0.75]);
      // lognormal: t = σ/(1+σ) with σ = e^n: n = 0 → 0.5
      assert.ok(Math.abs(timeFromNormal(torch.tensor([0], { dtype: 'float64' })).item() - 0.5) < 1e-15);
      assert.ok(Math.abs(timeFromNormal(torch.tensor([0], { dtype: 'float64' }), 'cosine').item() - 0.5) < 1e-15);
    });
  });

  test('alignment: −mean cosine, float32 normalisation of half-precision inputs, shape errors', () => {
    torch.scope(() => {
      const g = new torch.Generator(1);
      const z = torch.randn([2, 5, 7], { generator: g, dtype: 'float64' });
      assert.ok(Math.abs(alignmentLoss([z], [z.mul(3)]).item() + 1) < 1e-12, 'identical directions → −1');
      assert.ok(Math.abs(alignmentLoss([z], [z.neg()]).item() - 1) < 1e-12, 'opposite → +1');
      const w = torch.randn([2, 5, 7], { generator: g, dtype: 'float64' });
      const ref = torch.F.cosineSimilarity(z, w, -1, 1e-12).mean().neg().item();
      assert.ok(Math.abs(alignmentLoss([z], [w]).item() - ref) < 1e-12);
      // two encoders: the mean of the two terms
      const two = alignmentLoss([z, z], [w, z]).item();
      assert.ok(Math.abs(two - (ref - 1) / 2) < 1e-12);
      const half = alignmentLoss([z.to('bfloat16')], [w.to('bfloat16')]);
      assert.equal(half.dtype, 'float32');
      assert.throws(() => alignmentLoss([z], [w.narrow(1, 0, 4)]), /N\+1 tokens/);
    });
  });

  test('clear errors for missing class token or targets', () => {
    const fx = loadFixture('reference', 'sit_reg_f32.safetensors');
    try {
      const model = sitFromFixture(fx);
      torch.scope(() => {
        const b: RegLossBatch = { x0: fx.get('input.x0'), y: fx.get('input.y'), target: fx.get('input.target_z') };
        assert.throws(() => regLoss(model, b), /class token/);
        assert.throws(() => regLoss(model, { ...b, cls0: fx.get('input.cls0'), target: null }), /alignment targets/);
        assert.throws(() => regLoss(model, { ...b, cls0: fx.get('input.cls0'), t: torch.rand([2]) }), /t must have shape/);
        // drawn t and noise: finite scalar terms
        const r = torch.noGrad(() =>
          regLoss(model, { ...b, cls0: fx.get('input.cls0') }, { generator: new torch.Generator(0), timeSampling: 'lognormal' }),
        );
        assert.ok(Number.isFinite(r.total.item()) && r.total.ndim === 0);
      });
    } finally {
      fx.dispose();
    }
  });
});
