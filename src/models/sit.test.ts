/**
 * SiT + REG against the PyTorch reference (test/reference/sit_reg.py, fixtures from make_fixtures.py):
 * forward outputs and intermediates of every variant in float64 and float32, every parameter gradient of
 * the REG loss, the official initialisation (bit for bit under the same seed), the fixed tables, label
 * dropout, the variants' parameter sets, and parameter counts of the standard sizes.
 * Error measure: max|a − b| / max|b| per tensor. The forward and gradient checks also run on
 * REGTS_TEST_DEVICE=cuda, with the tolerances of test/test-device.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../torch/index.js';
import type { Tensor } from '../torch/index.js';
import { loadSafetensors } from '../torch/io/index.js';
import {
  countParameters,
  createSiT,
  modelNames,
  resolveConfig,
  SIT_CONFIGS,
  SIT_VARIANTS,
  UnknownModelError,
  type SiTConfig,
} from './configs.js';
import { paramShapes, SiT, sincosPosEmbed2d, timestepEmbedding } from './sit.js';
import { configFromPython } from './pretrained.js';
import { fixturePath } from '../../test/fixture-path.js';
import { relError } from '../../test/relative-error.js';
import { moveToTestDevice, TEST_DEVICE, testTolerance } from '../../test/test-device.js';

interface Fixture {
  tensors: Map<string, Tensor>;
  config: SiTConfig;
  meta: Record<string, string>;
}

/** A reference fixture; `onDevice`: its tensors on the test device (test/test-device.ts). */
function fixture(file: string, { onDevice = false } = {}): Fixture {
  const { tensors, metadata } = loadSafetensors(fixturePath('reference', file));
  if (onDevice) moveToTestDevice(tensors);
  return {
    tensors,
    meta: metadata,
    config: configFromPython(JSON.parse(metadata.config!) as Record<string, unknown>, { fusedAttention: false }),
  };
}

function get(f: Fixture, k: string): Tensor {
  const t = f.tensors.get(k);
  assert.ok(t, `fixture has no '${k}'`);
  return t;
}

/** A model with the fixture's (un-prefixed) weights. */
function modelFrom(f: Fixture, dtype: torch.DType, device: torch.Device = 'cpu'): SiT {
  const m = new SiT(f.config).to({ dtype, device });
  const sd = new Map([...paramShapes(f.config).keys()].map((k) => [k, get(f, k)]));
  m.loadStateDict(sd);
  return m;
}

/** The fixture's REG loss (test/reference/loss.py, linear path): loss_z + 0.5·loss_proj + 0.03·loss_cls. */
function regLoss(f: Fixture, out: { vImg: Tensor; zs: Tensor[]; vCls: Tensor | null }): { loss: Tensor; terms: Record<string, Tensor> } {
  const B = out.vImg.shape[0]!;
  const persample = (d: Tensor) => d.square().reshape(B, -1).mean(1).mean();
  const terms: Record<string, Tensor> = { loss_z: persample(out.vImg.sub(get(f, 'fwd.v_target'))) };
  let loss = terms.loss_z!;
  if (out.vCls) {
    terms.loss_cls = persample(out.vCls.sub(get(f, 'fwd.v_cls_target')));
    loss = loss.add(terms.loss_cls.mul(0.03));
  }
  if (out.zs.length) {
    const z = get(f, 'input.target_z').to(out.zs[0]!.dtype);
    const cos = torch.F.normalize(out.zs[0]!, { dim: -1 })
      .mul(torch.F.normalize(z, { dim: -1 }))
      .sum(-1);
    terms.loss_proj = cos.mean(1).neg().sum().div(B);
    loss = loss.add(terms.loss_proj.mul(0.5));
  }
  return { loss, terms };
}

const TOL = { f64: { fwd: 1e-12, grad: 1e-10 }, f32: { fwd: 1e-5, grad: 1e-5 } } as const;
const worst: Record<string, number> = {};
const note = (k: string, e: number) => (worst[k] = Math.max(worst[k] ?? 0, e));

for (const variant of SIT_VARIANTS) {
  for (const tag of ['f64', 'f32'] as const) {
    test(`forward, loss terms and all gradients match PyTorch: ${variant} ${tag}`, () => {
      const f = fixture(`sit_${variant}_${tag}.safetensors`, { onDevice: true });
      const dtype = tag === 'f64' ? 'float64' : 'float32';
      const m = modelFrom(f, dtype, TEST_DEVICE);
      assert.equal(m.config.variant, variant);
      torch.scope(() => {
        const cls = m.hasClsInput ? get(f, 'fwd.cls_t') : null;
        const out = m.forward(get(f, 'fwd.x_t'), get(f, 'input.t'), get(f, 'input.y'), cls, {
          dropMask: get(f, 'input.drop_mask'),
          returnHidden: true,
        });
        const check = (what: string, a: Tensor, key: string, tol: number) => {
          const ref = get(f, key);
          assert.deepEqual(a.shape, ref.shape, `${what} shape`);
          assert.equal(a.dtype, dtype);
          const e = relError(a, ref);
          note(`${tag} ${what}`, e);
          const bound = testTolerance(tol, tag);
          assert.ok(e <= bound, `${variant} ${tag} ${what}: relative error ${e} > ${bound}`);
        };
        check('v_img', out.vImg, 'fwd.v_img', TOL[tag].fwd);
        assert.equal(out.zs.length, m.hasAlign ? 1 : 0);
        if (m.hasAlign) check('zs', out.zs[0]!, 'fwd.zs.0', TOL[tag].fwd);
        assert.equal(out.vCls === null, !m.hasClsInput);
        if (out.vCls) check('v_cls', out.vCls, 'fwd.v_cls', TOL[tag].fwd);
        check('c', out.c!, 'fwd.c', TOL[tag].fwd);
        out.hidden!.forEach((h, i) => check(`hidden.${i}`, h, `fwd.hidden.${i}`, TOL[tag].fwd));
        check('t_emb', m.t_embedder.forward(get(f, 'input.t')), 'fwd.t_emb', TOL[tag].fwd);

        const { loss, terms } = regLoss(f, out);
        for (const [k, v] of Object.entries(terms)) check(k, v, k, TOL[tag].fwd);
        check('loss', loss, 'loss', TOL[tag].fwd);
        loss.backward();
        let n = 0;
        for (const [name, p] of m.namedParameters()) {
          if (name === 'pos_embed') {
            assert.equal(p.requiresGrad, false);
            assert.equal(p.grad, null);
            continue;
          }
          const g = p.grad;
          assert.ok(g, `no gradient for ${name}`);
          check(`grad`, g, `grad.${name}`, TOL[tag].grad);
          n++;
        }
        assert.equal(n, [...f.tensors.keys()].filter((k) => k.startsWith('grad.')).length);
      });
    });
  }
}

test('official initialisation: bit-identical to PyTorch under torch.manualSeed(0); zero/one tensors; fresh outputs are 0', () => {
  const f = fixture('sit_init_f32.safetensors');
  torch.manualSeed(0);
  const m = new SiT({ ...f.config, fusedAttention: true });
  const sd = m.stateDict();
  assert.deepEqual([...sd.keys()], JSON.parse(fixture('sit_reg_f32.safetensors').meta.param_order!));
  for (const [k, v] of sd) assert.equal(relError(v, get(f, k)), 0, `${k} differs from the PyTorch init`);
  const zero = JSON.parse(f.meta.zero_tensors!) as string[];
  const ones = JSON.parse(f.meta.ones_tensors!) as string[];
  for (const [k, v] of sd) {
    const nz = torch.scope(() => v.ne(0).sum().item());
    assert.equal(nz === 0, zero.includes(k), `${k}: zero tensor expected ${zero.includes(k)}`);
    if (ones.includes(k))
      assert.equal(
        torch.scope(() => v.eq(1).all().item()),
        1,
      );
  }
  // xavier bounds and N(0, 0.02) tensors
  const bounds = JSON.parse(f.meta['xavier_uniform_bounds']!) as Record<string, number>;
  for (const [k, b] of Object.entries(bounds)) assert.ok(torch.scope(() => sd.get(k)!.abs().max().item()) <= b, k);
  m.eval();
  torch.scope(() => {
    const out = m.forward(get(f, 'input.x'), get(f, 'input.t'), get(f, 'input.y'), get(f, 'input.cls'));
    assert.equal(
      torch.scope(() => out.vImg.abs().max().item()),
      0,
    );
    assert.equal(
      torch.scope(() => out.vCls!.abs().max().item()),
      0,
    );
    assert.ok(relError(out.zs[0]!, get(f, 'fwd.zs.0')) <= 1e-6);
  });
});

test('initialisation from a Generator is reproducible whatever the global seed', () => {
  const cfg = resolveConfig('SiT-T/2', { inputSize: 8, zDims: [16], numClasses: 5 });
  torch.manualSeed(1);
  const a = new SiT(cfg, { generator: new torch.Generator(7) });
  torch.manualSeed(2);
  const b = new SiT(cfg, { generator: new torch.Generator(7) });
  for (const [k, v] of a.stateDict()) assert.equal(relError(v, b.stateDict().get(k)!), 0, k);
});

test('2-D sin-cos position tables and timestep features match PyTorch', () => {
  const f = fixture('sit_init_f32.safetensors');
  for (const [G, D, E] of [
    [3, 12, 1],
    [3, 12, 0],
    [4, 16, 1],
    [8, 32, 1],
  ] as const) {
    const table = sincosPosEmbed2d(D, G, E);
    torch.scope(() => {
      const t64 = torch.tensor(table, { shape: [E + G * G, D] });
      assert.ok(relError(t64, get(f, `pos_embed.g${G}_d${D}_x${E}.f64`)) <= 1e-15);
      assert.equal(relError(t64.to('float32'), get(f, `pos_embed.g${G}_d${D}_x${E}.f32`)), 0);
    });
  }
  torch.scope(() => {
    const t = get(f, 'tfeat.t');
    assert.ok(relError(timestepEmbedding(t, 256), get(f, 'tfeat.f64')) <= 1e-15);
    assert.ok(relError(timestepEmbedding(t.to('float32'), 256), get(f, 'tfeat.f32')) <= 1e-7);
    assert.ok(relError(timestepEmbedding(t, 7), get(f, 'tfeat.d7.f64')) <= 1e-15);
  });
  // float64 models get the exact float64 table, not the float32 one converted
  const m = createSiT('SiT-T/2', { inputSize: 8, zDims: [16] }, { dtype: 'float64' });
  torch.scope(() => {
    const ref = torch.tensor(sincosPosEmbed2d(128, 4, 1), { shape: [1, 17, 128] });
    assert.equal(relError(m.pos_embed, ref), 0);
  });
});

test('label dropout: explicit mask, seeded generator, none in eval mode, null label = numClasses', () => {
  const m = createSiT('SiT-T/2', { inputSize: 4, zDims: [8], numClasses: 7, classDropoutProb: 0.5 });
  torch.scope(() => {
    const y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1], { dtype: 'int64' });
    const mask = torch.tensor([
      true,
      false,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    assert.deepEqual(m.y_embedder.dropLabels(y, true, { dropMask: mask }).toArray(), [7, 1, 7, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 7]);
    const a = m.y_embedder.dropLabels(y, true, { generator: new torch.Generator(3) }).toArray();
    const b = m.y_embedder.dropLabels(y, true, { generator: new torch.Generator(3) }).toArray();
    assert.deepEqual(a, b);
    assert.ok(a.some((v) => v === 7) && a.some((v) => v !== 7));
    // official rule: dropped where u < p, u ~ U[0,1) drawn per sample from the same stream
    const u = torch.rand([16], { generator: new torch.Generator(3) }).toArray();
    assert.deepEqual(
      a,
      y.toArray().map((v, i) => (u[i]! < 0.5 ? 7 : v)),
    );
    assert.deepEqual(m.y_embedder.dropLabels(y, false).toArray(), y.toArray());
  });
  const noNull = createSiT('SiT-T/2', { inputSize: 4, zDims: [8], numClasses: 7, classDropoutProb: 0 });
  assert.deepEqual(noNull.y_embedder.embedding_table.weight.shape, [7, 128]);
});

test('variants are options of one model: parameter sets, outputs and the learnable token', () => {
  const base = { inputSize: 8, zDims: [24, 16], numClasses: 5 };
  const keysOf = (v: SiTConfig['variant'], extra: Partial<SiTConfig> = {}) => [
    ...paramShapes(resolveConfig('SiT-T/2', { ...base, variant: v, ...extra })).keys(),
  ];
  const has = (ks: string[], prefix: string) => ks.some((k) => k.startsWith(prefix));
  const reg = keysOf('reg');
  assert.ok(has(reg, 'cls_projectors2.') && has(reg, 'wg_norm.') && has(reg, 'final_layer.linear_cls.') && has(reg, 'projectors.1.4.'));
  const repa = keysOf('repa');
  assert.ok(!has(repa, 'cls_projectors2.') && !has(repa, 'final_layer.linear_cls') && has(repa, 'projectors.0.'));
  const sit = keysOf('sit');
  assert.ok(!has(sit, 'cls_projectors2.') && !has(sit, 'projectors.'));
  const ent = keysOf('entangle');
  assert.ok(has(ent, 'cls_projectors2.') && !has(ent, 'projectors.'));
  const olt = keysOf('reg', { entangledSignal: 'learnable' });
  assert.ok(
    olt.includes('learnable_token') && !has(olt, 'cls_projectors2.') && !has(olt, 'final_layer.linear_cls') && has(olt, 'projectors.'),
  );
  assert.throws(() => resolveConfig('SiT-T/2', { variant: 'repa', entangledSignal: 'learnable' }), /needs a token variant/);

  for (const v of SIT_VARIANTS) {
    for (const signal of v === 'reg' || v === 'entangle' ? (['cls', 'learnable'] as const) : (['cls'] as const)) {
      const m = createSiT('SiT-T/2', { ...base, variant: v, entangledSignal: signal }, { generator: new torch.Generator(1) });
      assert.deepEqual([...m.stateDict().keys()], [...paramShapes(m.config).keys()]);
      for (const [k, t] of m.stateDict()) assert.deepEqual(t.shape, paramShapes(m.config).get(k), k);
      assert.equal(m.numParameters(), countParameters(m.config));
      torch.scope(() => {
        const x = torch.randn([2, 4, 8, 8]);
        const out = m.forward(
          x,
          torch.tensor([0.2, 0.7]),
          torch.tensor([1, 5], { dtype: 'int64' }),
          m.hasClsInput ? torch.randn([2, 24]) : null,
          { returnHidden: true },
        );
        assert.deepEqual(out.vImg.shape, [2, 4, 8, 8]);
        const T = 16 + (m.hasToken ? 1 : 0);
        assert.deepEqual(
          out.zs.map((z) => z.shape),
          m.hasAlign
            ? [
                [2, T, 24],
                [2, T, 16],
              ]
            : [],
        );
        assert.deepEqual(out.vCls?.shape ?? null, m.hasClsInput ? [2, 24] : null);
        if (signal === 'learnable') {
          out.hidden!.at(-1)!.sum().backward();
          assert.ok(torch.scope(() => m.learnable_token!.grad!.abs().sum().item()) > 0, 'learnable token gets gradients');
        }
      });
    }
  }
});

test('fused and explicit attention agree', () => {
  const cfg = resolveConfig('SiT-T/2', { inputSize: 8, zDims: [16] });
  const a = new SiT({ ...cfg, fusedAttention: true }, { generator: new torch.Generator(5) });
  const b = new SiT({ ...cfg, fusedAttention: false }, { generator: new torch.Generator(5) });
  torch.scope(() => {
    // non-zero gates so attention matters
    for (const m of [a, b])
      torch.noGrad(() => {
        for (const p of m.parameters())
          if (p !== m.pos_embed) p.copy_(torch.randn(p.shape, { generator: new torch.Generator(p.numel) }).mul(0.1));
      });
    const x = torch.randn([2, 4, 8, 8], { generator: new torch.Generator(9) });
    const c = torch.randn([2, 16], { generator: new torch.Generator(10) });
    const t = torch.tensor([0.3, 0.6]);
    const y = torch.tensor([1, 2], { dtype: 'int64' });
    a.eval();
    b.eval();
    const oa = a.forward(x, t, y, c);
    const ob = b.forward(x, t, y, c);
    assert.ok(relError(oa.vImg, ob.vImg) <= 1e-5);
    assert.ok(relError(oa.vCls!, ob.vCls!) <= 1e-5);
  });
});

test('projections: false skips the projector MLPs (zs = []) and leaves the velocities bit-identical', () => {
  const cfg = resolveConfig('SiT-T/2', { inputSize: 8, zDims: [16] });
  const m = new SiT(cfg, { generator: new torch.Generator(5) });
  torch.scope(() => {
    torch.noGrad(() => {
      for (const p of m.parameters())
        if (p !== m.pos_embed) p.copy_(torch.randn(p.shape, { generator: new torch.Generator(p.numel) }).mul(0.1));
    });
    m.eval();
    const args = [
      torch.randn([2, 4, 8, 8], { generator: new torch.Generator(9) }),
      torch.tensor([0.3, 0.6]),
      torch.tensor([1, 2], { dtype: 'int64' }),
      torch.randn([2, 16], { generator: new torch.Generator(10) }),
    ] as const;
    const full = m.forward(...args);
    const lean = m.forward(...args, { projections: false });
    assert.equal(full.zs.length, 1);
    assert.deepEqual(lean.zs, []);
    assert.equal(full.vImg.sub(lean.vImg).abs().max().item(), 0);
    assert.equal(full.vCls!.sub(lean.vCls!).abs().max().item(), 0);
  });
});

test('SiT-S/2 works (final layer as wide as the trunk)', () => {
  const m = createSiT('SiT-S/2', { inputSize: 8 });
  assert.deepEqual(m.final_layer.linear.weight.shape, [16, 384]);
  assert.deepEqual(m.final_layer.linear_cls!.weight.shape, [768, 384]);
  torch.scope(() => {
    const out = m.forward(torch.randn([1, 4, 8, 8]), 0.5, torch.tensor([3], { dtype: 'int64' }), torch.randn([1, 768]));
    assert.deepEqual(out.vImg.shape, [1, 4, 8, 8]);
    assert.deepEqual(out.zs[0]!.shape, [1, 17, 768]);
  });
});

test('parameter counts of the standard sizes match the published counts (docs/method.md#sizes; from the model structure, nothing initialised)', () => {
  const count = (name: string, variant: SiTConfig['variant'], projectors = false) =>
    countParameters(resolveConfig(name, { variant }), { projectors });
  assert.equal(count('SiT-B/2', 'reg'), 131_683_600);
  assert.equal(count('SiT-L/2', 'reg'), 459_664_144);
  assert.equal(count('SiT-XL/2', 'reg'), 676_886_032);
  assert.equal(count('SiT-B/2', 'sit'), 130_500_112);
  assert.equal(count('SiT-L/2', 'sit'), 458_086_416);
  assert.equal(count('SiT-XL/2', 'sit'), 675_111_184);
  assert.equal(count('SiT-B/2', 'reg', true) - count('SiT-B/2', 'reg'), 7_344_896);
  assert.equal(count('SiT-L/2', 'reg', true) - count('SiT-L/2', 'reg'), 7_869_184);
  assert.equal(count('SiT-XL/2', 'reg', true) - count('SiT-XL/2', 'reg'), 8_131_328);
  // built models agree with the analytic count (small sizes here; see also the variants test)
  const s2 = createSiT('SiT-S/2', { inputSize: 8 });
  assert.equal(s2.numParameters(), countParameters(s2.config));
});

test('registry and config errors', () => {
  assert.deepEqual(modelNames().slice(0, 3), ['SiT-S/2', 'SiT-S/4', 'SiT-S/8']);
  for (const n of ['SiT-B/2', 'SiT-L/4', 'SiT-XL/8', 'SiT-T/2', 'SiT-Mini/2']) assert.ok(modelNames().includes(n));
  assert.throws(
    () => createSiT('SiT-X/2'),
    (e: Error) => e instanceof UnknownModelError && /known models: SiT-S\/2, .*SiT-XL\/8/.test(e.message),
  );
  assert.equal(resolveConfig('SiT-B/2').encoderDepth, 4);
  assert.equal(resolveConfig('SiT-XL/2').encoderDepth, 8);
  assert.equal(resolveConfig('SiT-XL/2', { encoderDepth: 6 }).encoderDepth, 6);
  assert.throws(() => resolveConfig('SiT-B/2', { encoderDepth: 13 }), /encoderDepth/);
  assert.throws(() => resolveConfig('SiT-B/2', { numHeads: 7 }), /divisible/);
  assert.throws(() => resolveConfig('SiT-B/2', { inputSize: 33 }), /divisible/);
  assert.throws(() => resolveConfig({ hiddenSize: 64 }), /'depth' is required/);
  assert.throws(() => resolveConfig('SiT-B/2', { hiddenSise: 3 } as Partial<SiTConfig>), /unknown field 'hiddenSise'/);
  const m = createSiT('SiT-T/2', { inputSize: 4, zDims: [8] });
  assert.throws(() => m.forward(torch.zeros([1, 4, 4, 4]), 0.5, torch.tensor([0], { dtype: 'int64' })), /needs the class token input/);
  assert.throws(
    () => m.forward(torch.zeros([1, 4, 4, 4]), 0.5, torch.tensor([0], { dtype: 'int64' }), torch.zeros([1, 9])),
    /clsT must be \(N, 8\)/,
  );
  assert.throws(
    () => m.forward(torch.zeros([1, 3, 4, 4]), 0.5, torch.tensor([0], { dtype: 'int64' }), torch.zeros([1, 8])),
    /x must be \(N, 4, 4, 4\)/,
  );
});

test('forward releases its intermediates (no tensor handles leak per step)', () => {
  const m = createSiT('SiT-T/2', { inputSize: 4, zDims: [8] });
  const x = torch.randn([2, 4, 4, 4]);
  const y = torch.tensor([0, 1], { dtype: 'int64' });
  const c = torch.randn([2, 8]);
  const step = () =>
    torch.scope(() => {
      const out = m.forward(x, 0.5, y, c);
      out.vImg.sum().add(out.zs[0]!.sum()).add(out.vCls!.sum()).backward();
    });
  step();
  m.zeroGrad();
  const before = torch.liveTensors();
  for (let i = 0; i < 3; i++) {
    step();
    m.zeroGrad();
  }
  assert.equal(torch.liveTensors(), before);
});

test('every compared quantity was measured in both dtypes, its worst error within tolerance', (t) => {
  const reg = fixture('sit_reg_f64.safetensors');
  const hidden = [...reg.tensors.keys()].filter((k) => k.startsWith('fwd.hidden.')).map((k) => k.slice('fwd.'.length));
  const quantities = ['v_img', 'zs', 'v_cls', 'c', 't_emb', 'loss_z', 'loss_cls', 'loss_proj', 'loss', 'grad', ...hidden];
  const kinds = (q: string) => (q === 'grad' ? 'grad' : 'fwd');
  const want = (['f64', 'f32'] as const).flatMap((tag) => quantities.map((q) => `${tag} ${q}`)).sort();
  assert.deepEqual(Object.keys(worst).sort(), want);
  for (const [k, e] of Object.entries(worst).sort()) {
    const [tag, q] = k.split(' ') as ['f64' | 'f32', string];
    const tol = testTolerance(TOL[tag][kinds(q)], tag);
    assert.ok(e <= tol, `${k}: worst relative error ${e} > ${tol}`);
    t.diagnostic(`max rel err ${k}: ${e.toExponential(2)} (tolerance ${tol})`);
  }
});

test('paramShapes is a skipInit build: every preset, every variant of SiT-XL/2, nothing drawn, no memory kept', () => {
  const combos = SIT_VARIANTS.flatMap((variant) =>
    (['cls', 'learnable'] as const)
      .filter((s) => s === 'cls' || variant === 'reg' || variant === 'entangle')
      .map((entangledSignal) => ({ variant, entangledSignal })),
  );
  torch.manualSeed(3);
  const untouched = torch.scope(() => torch.rand([2]).toArray());
  torch.manualSeed(3);
  const live = torch.liveTensors();
  const rss = process.memoryUsage.rss();
  const builds = [...modelNames().map((name) => ({ name, combo: {} })), ...combos.map((combo) => ({ name: 'SiT-XL/2', combo }))];
  for (const { name, combo } of builds) {
    const shapes = paramShapes(resolveConfig(name, combo));
    assert.equal(shapes.get('pos_embed')![2], SIT_CONFIGS[name]!.hiddenSize, name);
  }
  assert.ok(process.memoryUsage.rss() - rss < 150e6, `RSS grew by ${((process.memoryUsage.rss() - rss) / 1e6).toFixed(0)} MB`);
  assert.equal(torch.liveTensors(), live);
  assert.deepEqual(
    torch.scope(() => torch.rand([2]).toArray()),
    untouched,
  );
  // the same structure as a model built and initialised normally
  for (const combo of combos) {
    const m = createSiT('SiT-Mini/2', { inputSize: 8, zDims: [16, 8], classDropoutProb: combo.variant === 'sit' ? 0 : 0.1, ...combo });
    assert.deepEqual(
      [...paramShapes(m.config)],
      [...m.stateDict()].map(([k, t]) => [k, t.shape]),
    );
    m.dispose();
  }
});
