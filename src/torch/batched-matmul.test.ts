/**
 * F.batchedMatmul: the same values as `matmul`, bit for bit, on the shapes attention feeds it (heads
 * picked out of a fused QKV projection, a transposed K, from 17 to 257 tokens), on plain stacks, in
 * float64 (which takes `matmul`'s path), with one intra-op thread and on worker threads at once; `matmul`'s path where a gradient is recorded or the
 * batch broadcasts; and an addon built with libtorch's OpenMP runtime exactly when find-libtorch.mjs
 * says so (otherwise the batch split silently never happens).
 *
 * The reference is libtorch's own `matmul`, which ops.test.ts checks against PyTorch; SiT's forward
 * through this path is checked against PyTorch by models/sit.test.ts. Exact equality is the right
 * tolerance: OpenBLAS splits a product's output between threads, never its sum over k.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { sameTensor as same } from '../../test/same-tensor.js';
import { runOnWorker } from '../../test/worker-run.js';
import * as torch from './index.js';
import { F, type Tensor } from './index.js';

/** q, kᵀ, v of an attention (default: batch 2, 6 heads, 257 tokens of 64), as strided views of one QKV tensor (SiT's layout). */
function attentionInputs(dtype: 'float32' | 'float64' = 'float32', [B, N, H, d] = [2, 257, 6, 64]): { q: Tensor; kT: Tensor; v: Tensor } {
  torch.manualSeed(3);
  const qkv = torch.randn([B, N, 3, H, d], { dtype }).permute(2, 0, 3, 1, 4);
  return { q: qkv.select(0, 0).mul(0.125), kT: qkv.select(0, 1).transpose(-2, -1), v: qkv.select(0, 2) };
}

describe('F.batchedMatmul', () => {
  it("equals matmul bit for bit on attention's strided views (Q·Kᵀ and P·V), float32 and float64", () => {
    torch.noGrad(() =>
      torch.scope(() => {
        for (const dtype of ['float32', 'float64'] as const) {
          const { q, kT, v } = attentionInputs(dtype);
          const scores = F.batchedMatmul(q, kT);
          assert.deepEqual(scores.shape, [2, 6, 257, 257]);
          assert.ok(same(scores, q.matmul(kT)), `${dtype} Q·Kᵀ`);
          const p = F.softmax(scores, -1);
          assert.ok(same(F.batchedMatmul(p, v), p.matmul(v)), `${dtype} P·V`);
        }
      }),
    );
  });

  it("equals matmul on small attentions, where OpenBLAS's kernels for a transposed K round differently", () => {
    torch.noGrad(() =>
      torch.scope(() => {
        for (const dims of <[number, number, number, number][]>[
          [3, 17, 4, 32],
          [2, 64, 3, 64],
          [4, 49, 2, 48],
        ]) {
          const { q, kT, v } = attentionInputs('float32', dims);
          const scores = F.batchedMatmul(q, kT);
          assert.ok(same(scores, q.matmul(kT)), `Q·Kᵀ ${dims.join('×')}`);
          assert.ok(same(F.batchedMatmul(scores, v), scores.matmul(v)), `P·V ${dims.join('×')}`);
          const kc = kT.contiguous();
          assert.ok(same(F.batchedMatmul(q, kc), q.matmul(kc)), `Q·Kᵀ from contiguous Kᵀ ${dims.join('×')}`);
        }
      }),
    );
  });

  it('equals matmul on a contiguous 3-D stack, with 2 intra-op threads and with 1', () => {
    const threads = torch.getNumThreads();
    try {
      for (const n of [2, 1]) {
        torch.setNumThreads(n);
        torch.noGrad(() =>
          torch.scope(() => {
            const a = torch.randn([5, 70, 48]);
            const b = torch.randn([5, 48, 90]);
            assert.ok(same(F.batchedMatmul(a, b), a.matmul(b)), `${n} thread(s)`);
          }),
        );
      }
    } finally {
      torch.setNumThreads(threads);
    }
  });

  it('records the gradient like matmul when an input requires it', () => {
    torch.scope(() => {
      const a = torch.randn([3, 40, 32]).requiresGrad_();
      const b = torch.randn([3, 32, 40]).requiresGrad_();
      const out = F.batchedMatmul(a, b);
      assert.ok(out.requiresGrad);
      out.square().sum().backward();
      const [ga, gb] = [a.grad!, b.grad!];
      const [a2, b2] = [a.detach().requiresGrad_(), b.detach().requiresGrad_()];
      a2.matmul(b2).square().sum().backward();
      assert.ok(same(ga, a2.grad!) && same(gb, b2.grad!));
    });
  });

  it('broadcasts a 2-D right operand and rejects mismatched inner sizes as matmul does', () => {
    torch.noGrad(() =>
      torch.scope(() => {
        const a = torch.randn([4, 50, 40]);
        const w = torch.randn([40, 60]);
        assert.ok(same(F.batchedMatmul(a, w), a.matmul(w)));
        const bad = torch.randn([4, 41, 60]);
        let matmulError = '';
        assert.throws(
          () => a.matmul(bad),
          (e: Error) => ((matmulError = e.message), true),
        );
        assert.throws(() => F.batchedMatmul(a, bad), { message: matmulError });
        assert.match(matmulError, /Expected size for first two dimensions of batch2 tensor/);
        assert.throws(() => F.batchedMatmul(a, null as unknown as Tensor), /batchedMatmul: b: expected a tensor, got null/);
      }),
    );
  });

  it('gives correct products on three worker threads at once', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.torch).then((torch) => {
        torch.noGrad(() => {
          const a = torch.full([6, 120, 64], workerData.v);
          const b = torch.ones([6, 64, 120]);
          let total = 0;
          for (let i = 0; i < 40; i++) total += torch.scope(() => torch.F.batchedMatmul(a, b).sum().item());
          parentPort.postMessage(total);
        });
      });`;
    const run = (v: number) => runOnWorker<number>(code, { v });
    const local = torch.noGrad(() =>
      torch.scope(() => {
        const { q, kT } = attentionInputs();
        return same(F.batchedMatmul(q, kT), q.matmul(kT));
      }),
    );
    const got = await Promise.all([run(1), run(2), run(3)]);
    assert.ok(local, 'the main thread, alongside the workers');
    assert.deepEqual(
      got,
      [1, 2, 3].map((v) => 40 * v * 6 * 120 * 120 * 64),
    );
  });

  it("is built with libtorch's OpenMP runtime exactly when find-libtorch.mjs says so", () => {
    const script = fileURLToPath(new URL('../../../native/find-libtorch.mjs', import.meta.url));
    const flags = execFileSync(process.execPath, [script, '--openmp'], { encoding: 'utf8' }).trim();
    assert.equal(torch.buildInfo().addonOpenmp, flags === '-fopenmp');
  });
});
