/**
 * clip_grad_norm_ + AdamW + EMA against PyTorch (torch.optim.AdamW, torch.nn.utils.clip_grad_norm_),
 * on the fixtures written by test/reference/make_fixtures.py (float32; max relative error ≤ 1e-5,
 * measured as max|ours − ref| / max|ref| per tensor).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { adamw, addDecayedWeights, chain, Optimizer, scaleByAdam, scaleByLearningRate } from './adamw.js';
import { clipGradNorm_, gradNorm } from './clip.js';
import { EMA } from './ema.js';
import { constant, linearWarmup, makeSchedule, warmupCosine } from './schedule.js';
import { loadSafetensors } from '../torch/io/index.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';

function assertClose(ours: Tensor, ref: Tensor, what: string, tol = 1e-5): void {
  assert.deepEqual(ours.shape, ref.shape, `${what}: shape`);
  const e = relError(ours, ref);
  assert.ok(e <= tol, `${what}: relative error ${e} > ${tol}`);
}

/** A stand-in for a module: named parameters (frozen ones included) and a state dict. */
function fakeModel(params: [string, Tensor][]) {
  return { namedParameters: () => params, stateDict: () => new Map(params) };
}

describe('optimizer transforms vs torch.optim.AdamW (optim_f32 fixture, 4 steps, two settings)', () => {
  const { tensors: fx, metadata } = loadSafetensors(fixturePath('reference', 'optim_f32.safetensors'));
  const cases = JSON.parse(metadata.cases!) as Record<
    string,
    { betas: [number, number]; eps: number; lr: number; weight_decay: number; max_grad_norm: number; ema_decay: number }
  >;
  it('the fixture has both settings', () => assert.deepEqual(Object.keys(cases).length, 2));
  for (const [name, hp] of Object.entries(cases)) {
    it(`case '${name}'`, () => {
      const names = ['a', 'b', 'frozen', 'c'];
      const params = names.map((n): [string, Tensor] => [
        n,
        fx
          .get(n === 'frozen' ? 'frozen.init' : `init.${n}`)!
          .clone()
          .requiresGrad_(n !== 'frozen'),
      ]);
      const opt = adamw(params, { lr: hp.lr, beta1: hp.betas[0], beta2: hp.betas[1], eps: hp.eps, weightDecay: hp.weight_decay });
      const ema = new EMA(fakeModel(params), hp.ema_decay);
      for (let s = 0; s < 4; s++) {
        for (const [n, p] of params) if (n !== 'frozen') p.grad = fx.get(`grad.${s}.${n}`)!.clone();
        const norm = clipGradNorm_(
          params.map(([, p]) => p),
          hp.max_grad_norm,
        );
        const refNorm = fx.get(`${name}.${s}.grad_norm`)!.item();
        assert.ok(Math.abs(norm - refNorm) <= 1e-5 * refNorm + 1e-12, `step ${s} grad norm ${norm} vs ${refNorm}`);
        opt.step();
        opt.zeroGrad();
        ema.update();
        const state = opt.stateDict();
        for (const n of ['a', 'b', 'c']) {
          const p = params.find(([k]) => k === n)![1];
          assertClose(p.detach(), fx.get(`${name}.${s}.param.${n}`)!, `step ${s} param ${n}`);
          assertClose(state.get(`${n}.exp_avg`)!, fx.get(`${name}.${s}.exp_avg.${n}`)!, `step ${s} exp_avg ${n}`);
          assertClose(state.get(`${n}.exp_avg_sq`)!, fx.get(`${name}.${s}.exp_avg_sq.${n}`)!, `step ${s} exp_avg_sq ${n}`);
          assert.equal(state.get(`${n}.step`)!.item(), s + 1);
        }
        for (const n of names) assertClose(ema.stateDict().get(n)!, fx.get(`${name}.${s}.ema.${n}`)!, `step ${s} ema ${n}`);
      }
    });
  }
});

describe('one clip + AdamW + EMA step of the small SiT+REG vs PyTorch (sit_reg_f32 fixture)', () => {
  it('matches every parameter and EMA weight within 1e-5', () => {
    const { tensors: fx, metadata } = loadSafetensors(fixturePath('reference', 'sit_reg_f32.safetensors'));
    const order = JSON.parse(metadata.param_order!) as string[];
    const params = order.map((n): [string, Tensor] => [
      n,
      fx
        .get(n)!
        .clone()
        .requiresGrad_(fx.has(`grad.${n}`)),
    ]);
    const opt = adamw(params);
    const ema = new EMA(fakeModel(params), 0.9999);
    for (const [n, p] of params) if (fx.has(`grad.${n}`)) p.grad = fx.get(`grad.${n}`)!.clone();
    const norm = clipGradNorm_(
      params.map(([, p]) => p),
      1.0,
    );
    const refNorm = fx.get('grad_norm')!.item();
    assert.ok(Math.abs(norm - refNorm) <= 1e-5 * refNorm, `grad norm ${norm} vs ${refNorm}`);
    opt.step();
    ema.update();
    let worst = 0;
    for (const [n, p] of params) {
      assertClose(p.detach(), fx.get(`adamw.${n}`)!, `param ${n}`);
      assertClose(ema.stateDict().get(n)!, fx.get(`ema.${n}`)!, `ema ${n}`);
      worst = Math.max(worst, relError(p.detach(), fx.get(`adamw.${n}`)!));
    }
    assert.ok(worst <= 1e-5);
  });
});

describe('optimizer API', () => {
  it('skips parameters without gradients and frozen ones', () => {
    const a = torch.ones([3]).requiresGrad_();
    const b = torch.ones([2]).requiresGrad_();
    const frozen = torch.ones([2]);
    const opt = adamw(
      [
        ['a', a],
        ['b', b],
        ['f', frozen],
      ],
      { lr: 0.1 },
    );
    assert.deepEqual(
      opt.params.map(([n]) => n),
      ['a', 'b'],
    );
    a.grad = torch.ones([3]);
    opt.step();
    assert.deepEqual(b.detach().toArray(), [1, 1]);
    // first Adam step moves by lr·m̂/(√v̂+ε) = lr·g/(|g|+ε) ≈ lr
    for (const v of a.detach().toArray()) assert.ok(Math.abs(v - 0.9) < 1e-6);
    const s = opt.stateDict();
    assert.equal(s.get('a.step')!.item(), 1);
    assert.equal(s.get('b.step')!.item(), 0);
    assert.equal(s.get('__step__')!.item(), 1);
  });

  it('state round-trips: a restored optimizer continues bit-exactly', () => {
    const run = (restoreAt: number | null): number[] => {
      torch.manualSeed(3);
      const w = torch.randn([4, 5]).requiresGrad_();
      let opt = new Optimizer(
        [['w', w]],
        [scaleByAdam({ beta2: 0.99 }), addDecayedWeights(0.05), scaleByLearningRate(linearWarmup(0.01, 3))],
      );
      for (let k = 0; k < 6; k++) {
        if (k === restoreAt) {
          const saved = new Map([...opt.stateDict()].map(([n, t]) => [n, t.clone()]));
          opt = new Optimizer(
            [['w', w]],
            [scaleByAdam({ beta2: 0.99 }), addDecayedWeights(0.05), scaleByLearningRate(linearWarmup(0.01, 3))],
          );
          opt.loadStateDict(saved);
        }
        w.grad = torch.randn([4, 5]);
        opt.step();
      }
      return w.detach().toArray();
    };
    assert.deepEqual(run(3), run(null));
  });

  it('rejects state of another parameter set', () => {
    const w = torch.zeros([2]).requiresGrad_();
    const opt = adamw([['w', w]]);
    const other = adamw([['v', torch.zeros([2]).requiresGrad_()]]);
    assert.throws(() => opt.loadStateDict(other.stateDict()), /unexpected entries: v\.exp_avg/);
    const bad = adamw([['w', torch.zeros([3]).requiresGrad_()]]);
    assert.throws(() => opt.loadStateDict(bad.stateDict()), /'w.exp_avg' has shape \[3\], the parameter has \[2\]/);
  });

  it('chain composes left to right', () => {
    const p = torch.zeros([2]).requiresGrad_();
    const opt = new Optimizer([['p', p]], [chain(scaleByLearningRate(2), scaleByLearningRate(3))]);
    p.grad = torch.tensor([1, -1]);
    opt.step();
    assert.deepEqual(p.detach().toArray(), [6, -6]);
  });
});

describe('clipGradNorm_', () => {
  it('scales by maxNorm/(norm+1e-6) only when the norm is larger, returns the norm', () => {
    const a = torch.zeros([2]).requiresGrad_();
    const b = torch.zeros([1]).requiresGrad_();
    a.grad = torch.tensor([3, 0]);
    b.grad = torch.tensor([4]);
    assert.equal(gradNorm([a, b]).item(), 5);
    const n = clipGradNorm_([a, b, torch.zeros([1]).requiresGrad_()], 1.0);
    assert.equal(n, 5);
    const c = 1 / (5 + 1e-6);
    assert.ok(Math.abs(a.grad!.toArray()[0]! - 3 * c) < 1e-7);
    const n2 = clipGradNorm_([a, b], 10);
    assert.ok(Math.abs(n2 - 1) < 1e-6);
    assert.ok(Math.abs(b.grad!.toArray()[0]! - 4 * c) < 1e-7, 'unchanged below maxNorm');
    assert.equal(clipGradNorm_([torch.zeros([1])], 1), 0);
  });

  it('reports non-finite norms', () => {
    const a = torch.zeros([2]).requiresGrad_();
    a.grad = torch.tensor([Number.NaN, 1]);
    assert.ok(Number.isNaN(clipGradNorm_([a], 1)));
    a.grad = torch.tensor([Infinity, 1]);
    assert.equal(clipGradNorm_([a], 1), Infinity);
  });
});

describe('EMA', () => {
  it('starts as a copy and averages every parameter, frozen ones included', () => {
    const w = torch.tensor([1, 2]).requiresGrad_();
    const frozen = torch.tensor([5]);
    const ema = new EMA(
      fakeModel([
        ['w', w],
        ['f', frozen],
      ]),
      0.5,
    );
    assert.deepEqual(ema.stateDict().get('w')!.toArray(), [1, 2]);
    torch.noGrad(() => w.add_(2));
    frozen.fill_(7);
    ema.update();
    assert.deepEqual(ema.stateDict().get('w')!.toArray(), [2, 3]);
    assert.deepEqual(ema.stateDict().get('f')!.toArray(), [6]);
    assert.throws(() => ema.loadStateDict(new Map([['w', torch.zeros([2])]])), /missing f/);
  });
});

describe('schedules', () => {
  it('constant, warmup and cosine', () => {
    assert.equal(constant(1e-4)(123), 1e-4);
    assert.equal(linearWarmup(1, 4)(1), 0.25);
    assert.equal(linearWarmup(1, 4)(9), 1);
    const cos = warmupCosine(1, { warmupSteps: 2, totalSteps: 12, minLr: 0.1 });
    assert.equal(cos(1), 0.5);
    assert.equal(cos(2), 1);
    assert.ok(Math.abs(cos(7) - 0.55) < 1e-12);
    assert.equal(cos(12), 0.1);
    assert.equal(cos(50), 0.1);
    assert.equal(makeSchedule({ lr: 2, schedule: 'constant', warmupSteps: 0, totalSteps: 10, minLr: 0 })(5), 2);
  });
});
