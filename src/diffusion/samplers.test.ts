/**
 * Samplers against the PyTorch reference (test/reference/samplers.py on the small SiT+REG of
 * test/fixtures/reference/sampler_<name>_<dt>.safetensors): one step of each sampler, full short
 * trajectories, guidance inside and outside the interval, class-token conditional drift.
 * Error = max|a − b| / max|b| per tensor; f32 ≤ 1e-5, f64 ≤ 1e-10 (on REGTS_TEST_DEVICE=cuda: test/test-device.ts).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { odeStep, odeTimeGrid, sample, sdeStep, sdeTimeGrid, type SamplerKind } from './samplers.js';
import { loadFixture, sitFromFixture, type Fixture } from '../../test/diffusion-testing.js';
import { relError } from '../../test/relative-error.js';
import { onTestDevice, TEST_DEVICE, testTolerance } from '../../test/test-device.js';

const TOL = { f32: 1e-5, f64: 1e-10 } as const;
const worst: Record<string, number> = {};

function check(label: string, dt: 'f32' | 'f64', got: Tensor, want: Tensor): void {
  const e = relError(got, want);
  const key = `${label.split(':')[0]} ${dt}`;
  worst[key] = Math.max(worst[key] ?? 0, e);
  const tol = testTolerance(TOL[dt], dt);
  assert.ok(e <= tol, `${label} (${dt}): relative error ${e.toExponential(3)} > ${tol}`);
}

interface CaseMeta {
  num_steps?: number;
  cfg_scale: number;
  cls_cfg_scale: number;
  guidance_low: number;
  guidance_high: number;
  null_label: number;
  final?: boolean;
}

after(() => {
  console.log(
    'max relative errors vs PyTorch:',
    JSON.stringify(worst, (_, v: unknown) => (typeof v === 'number' ? Number(v.toExponential(2)) : v)),
  );
});

for (const dt of ['f32', 'f64'] as const) {
  for (const name of ['sde', 'euler', 'heun'] as const satisfies readonly SamplerKind[]) {
    describe(`sampler ${name} ${dt} vs PyTorch`, () => {
      let fx: Fixture;
      let weights: Fixture;
      const model = () => {
        weights ??= loadFixture('reference', `sit_reg_${dt}.safetensors`);
        return sitFromFixture(weights, TEST_DEVICE).eval();
      };
      const fixture = () => (fx ??= onTestDevice(loadFixture('reference', `sampler_${name}_${dt}.safetensors`)));
      after(() => {
        fx?.dispose();
        weights?.dispose();
      });

      test('trajectories (no guidance, guidance at the end, guidance band with conditional class token)', () => {
        const f = fixture();
        const m = model();
        const cases = JSON.parse(f.meta.cases!) as Record<string, CaseMeta>;
        for (const [c, p] of Object.entries(cases)) {
          if (p.num_steps === undefined) continue;
          torch.scope(() => {
            const N = p.num_steps!;
            const grid = name === 'sde' ? sdeTimeGrid(N) : odeTimeGrid(N);
            assert.deepEqual(grid, f.get(`${c}.t_steps`).toArray(), `${c}: time grid`);
            const traj: {
              x: Tensor;
              c: Tensor | null;
              dx: Tensor;
              dc: Tensor | null;
              d2x?: Tensor;
              d2c?: Tensor | null;
              guided: boolean;
            }[] = [];
            const r = sample(
              m,
              { x: f.get(`${c}.x_T`), c: f.get(`${c}.c_T`) },
              f.get(`${c}.y`),
              {
                sampler: name,
                numSteps: N,
                cfgScale: p.cfg_scale,
                clsCfgScale: p.cls_cfg_scale,
                guidanceLow: p.guidance_low,
                guidanceHigh: p.guidance_high,
                nullLabel: p.null_label,
                onStep: (s) =>
                  traj.push(
                    torch.keep({
                      x: s.x.clone(),
                      c: s.c!.clone(),
                      dx: s.driftX.clone(),
                      dc: s.driftC!.clone(),
                      d2x: s.drift2X?.clone(),
                      d2c: s.drift2C?.clone(),
                      guided: s.guided,
                    }),
                  ),
              },
              name === 'sde' ? (i) => ({ x: f.get(`${c}.noise_x`).select(0, i), c: f.get(`${c}.noise_c`).select(0, i) }) : undefined,
            );
            assert.equal(traj.length, N);
            const guided = f.get(`${c}.guided`).toArray().map(Boolean);
            assert.deepEqual(
              traj.map((s) => s.guided),
              guided,
              `${c}: guided flags`,
            );
            let heunIdx = 0;
            traj.forEach((s, i) => {
              check(`state x: ${c} step ${i}`, dt, s.x, f.get(`${c}.traj_x`).select(0, i + 1));
              check(`state c: ${c} step ${i}`, dt, s.c!, f.get(`${c}.traj_c`).select(0, i + 1));
              check(`drift x: ${c} step ${i}`, dt, s.dx, f.get(`${c}.drift_x`).select(0, i));
              check(`drift c: ${c} step ${i}`, dt, s.dc!, f.get(`${c}.drift_c`).select(0, i));
              if (name === 'heun' && i < N - 1) {
                assert.ok(s.d2x, `${c} step ${i}: Heun correction applied`);
                check(`drift2 x: ${c} step ${i}`, dt, s.d2x!, f.get(`${c}.drift2_x`).select(0, heunIdx));
                check(`drift2 c: ${c} step ${i}`, dt, s.d2c!, f.get(`${c}.drift2_c`).select(0, heunIdx));
                heunIdx++;
              } else {
                assert.equal(s.d2x, undefined, `${c} step ${i}: no correction`);
              }
              for (const t of [s.x, s.c, s.dx, s.dc, s.d2x, s.d2c]) t?.dispose();
            });
            check(`final x: ${c}`, dt, r.x, f.get(`${c}.x`));
            check(`final c: ${c}`, dt, r.c!, f.get(`${c}.c`));
            assert.equal(r.x.dtype, 'float64');
            const nGuided = guided.filter(Boolean).length;
            const perEval = (k: number) => (name === 'heun' && k < N - 1 ? 2 : 1);
            assert.equal(
              r.nfe,
              guided.reduce((acc, g, k) => acc + (g ? 2 : 1) * perEval(k), 0),
              `${c}: nfe (${nGuided} guided steps)`,
            );
          });
        }
      });

      test('single steps (guided, last/final, outside the interval)', () => {
        const f = fixture();
        const m = model();
        const cases = JSON.parse(f.meta.cases!) as Record<string, CaseMeta>;
        for (const [s, p] of Object.entries(cases)) {
          if (p.num_steps !== undefined) continue;
          torch.scope(() => {
            const state = { x: f.get(`${s}.x`), c: f.get(`${s}.c`) };
            const y = f.get(`${s}.y`);
            const tCur = f.get(`${s}.t_cur`).item();
            const tNext = f.get(`${s}.t_next`).item();
            const g = {
              cfgScale: p.cfg_scale,
              clsCfgScale: p.cls_cfg_scale,
              guidanceLow: p.guidance_low,
              guidanceHigh: p.guidance_high,
              nullLabel: p.null_label,
            };
            const r =
              name === 'sde'
                ? sdeStep(m, state, y, tCur, tNext, p.final ? null : { x: f.get(`${s}.noise_x`), c: f.get(`${s}.noise_c`) }, {
                    ...g,
                    last: Boolean(p.final),
                  })
                : odeStep(m, state, y, tCur, tNext, { ...g, heun: name === 'heun', final: Boolean(p.final) });
            assert.equal(r.guided, Boolean(f.get(`${s}.guided`).item()), `${s}: guided flag`);
            if (name === 'sde') {
              check(`network v: ${s}`, dt, r.v, f.get(`${s}.v`));
              check(`network v_cls: ${s}`, dt, r.vCls!, f.get(`${s}.v_cls`));
            }
            check(`step drift x: ${s}`, dt, r.driftX, f.get(`${s}.drift_x`));
            check(`step drift c: ${s}`, dt, r.driftC!, f.get(`${s}.drift_c`));
            if (f.has(`${s}.drift2_x`)) {
              check(`step drift2 x: ${s}`, dt, r.drift2X!, f.get(`${s}.drift2_x`));
              check(`step drift2 c: ${s}`, dt, r.drift2C!, f.get(`${s}.drift2_c`));
            } else {
              assert.equal(r.drift2X, undefined);
            }
            check(`step x: ${s}`, dt, r.x, f.get(`${s}.x_next`));
            check(`step c: ${s}`, dt, r.c!, f.get(`${s}.c_next`));
          });
        }
      });
    });
  }
}
