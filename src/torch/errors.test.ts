/**
 * Nasty cases: misuse of the API must throw a JavaScript Error (TypeError / RangeError where the
 * argument itself is wrong) with a useful message — never abort or segfault the process.
 *
 * Every case runs twice: in this process (checking the error class and message), and all of them in
 * a row in a child process (this file re-run with REGTS_NASTY_CHILD=1), which must then still compute
 * correctly and exit 0: a crash there shows up as a signal or a non-zero status instead of a stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import * as torch from './index.js';
import { F } from './index.js';
import { native } from './native.js';

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;
/** name → [error class the call must throw (instanceof), message pattern, the call] */
const NASTY: Record<string, [ErrorClass, RegExp, () => unknown]> = {
  // shapes and dtypes (libtorch's messages)
  'matmul shape mismatch': [Error, /cannot be multiplied \(2x3 and 2x3\)/, () => torch.zeros([2, 3]).matmul(torch.zeros([2, 3]))],
  'add broadcast mismatch': [
    Error,
    /size of tensor a \(3\) must match the size of tensor b \(4\)/,
    () => torch.zeros([2, 3]).add(torch.zeros([4])),
  ],
  'bmm of 2-d tensors': [Error, /3D/, () => torch.zeros([2, 2]).bmm(torch.zeros([2, 2]))],
  'mm dtype mismatch': [
    Error,
    /expected scalar type Float but found Double/,
    () => torch.zeros([2, 2]).mm(torch.zeros([2, 2], { dtype: 'float64' })),
  ],
  'embedding with float indices': [Error, /indices.*Long, Int/, () => F.embedding(torch.zeros([5, 3]), torch.tensor([1, 2]))],
  'conv2d channel mismatch': [Error, /to have 4 channels, but got 3/, () => F.conv2d(torch.zeros([1, 3, 4, 4]), torch.zeros([2, 4, 3, 3]))],
  'conv2d kernel larger than input': [
    Error,
    /Kernel size can't be greater/,
    () => F.conv2d(torch.zeros([1, 3, 2, 2]), torch.zeros([2, 3, 3, 3])),
  ],
  'layer_norm shape mismatch': [Error, /normalized_shape=\[4\]/, () => F.layerNorm(torch.zeros([2, 3]), [4])],
  'cat of mismatched sizes': [Error, /Sizes of tensors must match/, () => torch.cat([torch.zeros([2, 3]), torch.zeros([2, 4])])],
  'cat of nothing': [Error, /non-empty list/, () => torch.cat([])],
  'where with a float condition': [Error, /boolean/, () => torch.where(torch.tensor([1.0]), torch.zeros([1]), torch.ones([1]))],
  'in-place write into an expanded tensor': [
    Error,
    /single memory location/,
    () =>
      torch
        .zeros([1])
        .expand(3)
        .add_(torch.ones([3])),
  ],

  // devices (on a machine with CUDA: an index past the last device)
  ...(torch.cudaAvailable()
    ? ({
        'CUDA device index out of range': [
          RangeError,
          /only \d+ CUDA device/,
          () => torch.zeros([2], { device: `cuda:${torch.cudaDeviceCount()}` }),
        ],
        'move to a missing CUDA device': [
          RangeError,
          /only \d+ CUDA device/,
          () => torch.zeros([2]).to(`cuda:${torch.cudaDeviceCount() + 3}`),
        ],
      } satisfies Record<string, [ErrorClass, RegExp, () => unknown]>)
    : ({
        'device cuda:0 without CUDA': [Error, /CUDA is not available/, () => torch.zeros([2], { device: 'cuda:0' })],
        'move to cuda without CUDA': [Error, /CUDA is not available/, () => torch.zeros([2]).to('cuda')],
        'cuda generator without CUDA': [Error, /CUDA is not available/, () => new torch.Generator(1, 'cuda')],
      } satisfies Record<string, [ErrorClass, RegExp, () => unknown]>)),
  'device with a cross-device operation': [
    Error,
    /./,
    () => torch.zeros([2]).add(torch.zeros([2]).to(torch.cudaAvailable() ? 'cuda:0' : 'cuda')),
  ],
  'malformed device name': [TypeError, /invalid device 'tpu'/, () => torch.zeros([2], { device: 'tpu' as torch.Device })],

  // released tensors
  'disposed tensor as self': [TypeError, /disposed/, () => disposed().add(1)],
  'disposed tensor as argument': [TypeError, /disposed/, () => torch.zeros([2]).add(disposed())],
  'disposed tensor read': [TypeError, /disposed/, () => disposed().toArray()],
  'disposed tensor item': [TypeError, /disposed/, () => disposed().item()],
  'disposed tensor backward': [TypeError, /disposed/, () => disposed().backward()],
  'disposed tensor in a list': [TypeError, /disposed/, () => torch.stack([torch.zeros([2]), disposed()])],
  'disposed gradient': [TypeError, /disposed/, () => torch.zeros([], { requiresGrad: true }).mul(2).backward(disposed())],

  // wrong argument types and impossible shapes
  'string where a tensor is expected': [TypeError, /other/, () => torch.zeros([2]).matmul('x' as unknown as torch.Tensor)],
  'plain object where a tensor is expected': [
    TypeError,
    /expected a tensor/,
    () => torch.zeros([2]).matmul({ handle: {} } as unknown as torch.Tensor),
  ],
  'non-integer shape': [RangeError, /non-negative integers/, () => torch.zeros([2.5])],
  'negative shape': [RangeError, /non-negative integers/, () => torch.zeros([-1, 2])],
  'NaN shape': [RangeError, /non-negative integers/, () => torch.ones([Number.NaN])],
  'shape not an array': [TypeError, /shape must be an array/, () => torch.zeros('abc' as unknown as number[])],
  'non-integer view size': [TypeError, /expected an integer/, () => torch.zeros([4]).view(2.5, 2)],
  'unknown dtype': [TypeError, /unknown dtype 'float8'/, () => torch.zeros([2], { dtype: 'float8' as torch.DType })],
  'ragged nested array': [TypeError, /rectangular/, () => torch.tensor([[1, 2], [3]])],
  'impossible view of a transposed tensor': [Error, /view size is not compatible/, () => torch.zeros([4, 6]).t().view(24)],
  'view with the wrong element count': [Error, /shape '\[5, 5\]' is invalid for input of size 24/, () => torch.zeros([4, 6]).view(5, 5)],
  'interpolate without size or scale': [
    TypeError,
    /exactly one of size and scaleFactor/,
    () => F.interpolate(torch.zeros([1, 1, 2, 2]), {}),
  ],
  'scope with an async callback': [TypeError, /synchronous/, () => torch.scope(async () => 1)],

  // indices out of range
  'select out of range': [RangeError, /out of range/, () => torch.zeros([3, 4]).select(0, 3)],
  'index out of range': [RangeError, /out of bounds/, () => torch.zeros([3, 4]).index([torch.tensor([3], { dtype: 'int64' })])],
  'indexSelect out of range': [RangeError, /out of range/, () => torch.zeros([3, 4]).indexSelect(0, torch.tensor([5], { dtype: 'int64' }))],
  'embedding index out of range': [
    RangeError,
    /out of range/,
    () => F.embedding(torch.zeros([5, 3]), torch.tensor([7], { dtype: 'int64' })),
  ],
  'gather index out of range': [Error, /out of bounds/, () => torch.zeros([3, 4]).gather(1, torch.tensor([[9]], { dtype: 'int64' }))],
  'narrow past the end': [Error, /exceeds dimension size/, () => torch.zeros([3, 4]).narrow(1, 2, 5)],
  'dimension out of range': [RangeError, /Dimension out of range/, () => torch.zeros([3, 4]).transpose(0, 5)],
  'size() dimension out of range': [RangeError, /out of range/, () => torch.zeros([3, 4]).size(2)],
  'item of several elements': [RangeError, /one-element/, () => torch.zeros([3]).item()],
  'item of no elements': [RangeError, /one-element/, () => torch.zeros([0]).item()],

  // bytes and allocation
  'fromBytes length mismatch': [RangeError, /needs 12 bytes, got 10/, () => torch.fromBytes(new Uint8Array(10), 'float32', [3])],
  'huge allocation zeros([1e12])': [Error, /can't allocate memory/, () => torch.zeros([1e12])],
  'huge allocation randn': [Error, /can't allocate memory/, () => torch.randn([1e6, 1e6])],
  'allocation size overflow': [Error, /overflow/, () => torch.zeros([2 ** 40, 2 ** 40])],
  'huge contiguous copy of an expanded tensor': [Error, /can't allocate memory/, () => torch.zeros([1]).expand(1e12).contiguous()],

  // autograd
  'backward on a non-scalar without gradient': [
    Error,
    /only for scalar outputs/,
    () => torch.zeros([3], { requiresGrad: true }).mul(2).backward(),
  ],
  'backward with a gradient of the wrong shape': [
    Error,
    /invalid gradient/,
    () =>
      torch
        .zeros([3], { requiresGrad: true })
        .mul(2)
        .backward(torch.ones([4])),
  ],
  'backward through a tensor without history': [Error, /does not require grad/, () => torch.zeros([2]).sum().backward()],
  'backward through a freed graph': [
    Error,
    /second time/,
    () => {
      const x = torch.ones([2], { requiresGrad: true });
      const y = x.mul(x).sum();
      y.backward();
      y.backward();
    },
  ],
  'requiresGrad_(false) on a non-leaf': [Error, /leaf/, () => torch.zeros([3], { requiresGrad: true }).mul(2).requiresGrad_(false)],
  'requiresGrad on an integer tensor': [Error, /floating point/, () => torch.zeros([3], { dtype: 'int64', requiresGrad: true })],
  'in-place update of a leaf that requires grad': [
    Error,
    /leaf Variable that requires grad/,
    () => torch.zeros([3], { requiresGrad: true }).add_(1),
  ],
  'grad of the wrong shape': [
    Error,
    /does not match/,
    () => {
      torch.zeros([3], { requiresGrad: true }).grad = torch.zeros([2]);
    },
  ],
  'grad of the wrong dtype': [
    Error,
    /dtype/,
    () => {
      torch.zeros([3], { requiresGrad: true }).grad = torch.zeros([3], { dtype: 'float64' });
    },
  ],
  'autocast float16 on CPU (libtorch 1.13: bfloat16 only)': [Error, /Bfloat16/i, () => torch.autocast(() => 1, { dtype: 'float16' })],

  // operators and the raw binding
  'non-existent operator name': [Error, /aten::does_not_exist is not available/, () => torch.op('aten::does_not_exist').id],
  'non-existent operator id': [RangeError, /unknown operator id/, () => native.call(987654)],
  'negative operator id': [RangeError, /unknown operator id/, () => native.call(-1)],
  'operator id of the wrong type': [TypeError, /expected an integer/, () => native.call('aten::neg' as unknown as number)],
  'too many operator arguments': [
    TypeError,
    /at most 1 arguments/,
    () => native.call(torch.op('aten::neg').id, torch.zeros([1]).handle, 1, 2),
  ],
  'missing required operator argument': [
    TypeError,
    /'other' is required/,
    () => native.call(torch.op('aten::add', 'Tensor').id, torch.zeros([1]).handle),
  ],
  'generator passed as a tensor': [
    TypeError,
    /expected a tensor/,
    () => native.call(torch.op('aten::neg').id, native.defaultGenerator('cpu')),
  ],
  'tensor passed as a generator': [TypeError, /expected a generator/, () => native.generatorState(torch.zeros([1]).handle as never)],
  'malformed generator state': [Error, /RNG state/, () => new torch.Generator(1).setState(torch.zeros([3], { dtype: 'uint8' }))],
  'negative seed': [RangeError, /non-negative/, () => torch.manualSeed(-1)],
  'zero threads': [RangeError, /at least 1/, () => torch.setNumThreads(0)],
};

function disposed(): torch.Tensor {
  const t = torch.zeros([2]);
  t.dispose();
  return t;
}

/** Runs one case; returns the error it threw, or fails when it returned normally. */
function thrown(name: string): unknown {
  const [, , run] = NASTY[name]!;
  try {
    torch.scope(run);
  } catch (e) {
    return e;
  }
  throw new Error(`${name}: returned instead of throwing`);
}

if (process.env.REGTS_NASTY_CHILD) {
  // Child mode: every case in one process, then prove the engine still works.
  let count = 0;
  for (const name of Object.keys(NASTY)) {
    const e = thrown(name);
    if (!(e instanceof Error)) throw new Error(`${name}: threw a non-Error ${String(e)}`);
    count++;
  }
  const check = torch.scope(() => {
    const x = torch.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    x.matmul(x).sum().backward();
    return x.grad!.toArray().join(',');
  });
  process.stdout.write(`SURVIVED ${count} ${check}\n`);
} else {
  describe('nasty cases throw JavaScript errors', () => {
    for (const [name, [cls, message]] of Object.entries(NASTY)) {
      test(name, () => {
        const e = thrown(name);
        assert.ok(e instanceof cls, `${name}: expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        assert.match((e as Error).message, message);
      });
    }

    test('the process survives all of them in a row', () => {
      const env: NodeJS.ProcessEnv = { ...process.env, REGTS_NASTY_CHILD: '1' };
      delete env.NODE_TEST_CONTEXT;
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env,
        encoding: 'utf8',
        timeout: 60_000,
      });
      assert.equal(child.signal, null, `child killed by ${child.signal}\n${child.stderr}`);
      assert.equal(child.status, 0, child.stderr);
      // d/dx Σ(x·x) for x = [[1,2],[3,4]]: (1ᵀ·xᵀ + xᵀ·1) = [[7,11],[9,13]] → flattened
      assert.equal(child.stdout.trim(), `SURVIVED ${Object.keys(NASTY).length} 7,11,9,13`);
    });

    test('scopes release the tensors of failed calls', () => {
      const before = torch.liveTensors();
      for (const name of Object.keys(NASTY)) thrown(name);
      assert.equal(torch.liveTensors(), before);
    });
  });
}
