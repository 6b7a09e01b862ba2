/**
 * Tensor handles are numbers naming (slot, generation) in the addon's per-environment handle table
 * (native/src/common.h). These tests pin down what that promises: stale ids never alias a newer
 * tensor in a reused slot, anything that is not a live id is a TypeError (never a crash, whatever
 * the number), undisposed tensors no scope owns are released by the garbage collector, and every
 * worker thread has its own table, released when the worker exits.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { describe, test } from 'node:test';

import * as torch from './index.js';
import { type Handle, native } from './native.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const negId = torch.op('aten::neg').id;
const catId = torch.op('aten::cat').id;

/** Runs full GCs and yields until `done()` holds (finalizer callbacks run as tasks after a GC). */
async function collectUntil(done: () => boolean, rounds = 50): Promise<boolean> {
  for (let i = 0; i < rounds && !done(); i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
  return done();
}

/** Expects `fn` to throw a TypeError matching `re`. */
function throwsType(fn: () => unknown, re: RegExp, label: string): void {
  assert.throws(fn, (e: unknown) => e instanceof TypeError && re.test(e.message), label);
}

describe('tensor handles', () => {
  test('a handle is a number; dispose releases it once', () => {
    const base = torch.liveTensors();
    const t = torch.ones([2]);
    assert.equal(typeof t.handle, 'number');
    assert.equal(torch.liveTensors(), base + 1);
    assert.equal(native.isDisposed(t.handle), false);
    assert.equal(native.dispose(t.handle), true);
    assert.equal(native.dispose(t.handle), false, 'second dispose is a no-op');
    assert.equal(native.isDisposed(t.handle), true);
    assert.equal(t.isDisposed, true);
    assert.equal(torch.liveTensors(), base);
  });

  test('a stale id never reaches the tensor that reuses its slot', () => {
    const stale: Handle[] = [];
    const live: torch.Tensor[] = [];
    for (let i = 0; i < 200; i++) {
      const t = torch.full([1], i);
      stale.push(t.handle);
      t.dispose();
      live.push(torch.full([1], 1000 + i)); // reuses the slot just freed
    }
    const liveIds = new Set(live.map((t) => t.handle));
    for (const h of stale) {
      assert.ok(!liveIds.has(h), 'a reused slot gets a new id');
      assert.equal(native.isDisposed(h), true);
      assert.equal(native.dispose(h), false);
      throwsType(() => native.call(negId, h), /disposed/, 'stale id as an operator argument');
      throwsType(() => native.toBytes(h), /disposed/, 'stale id read');
      throwsType(() => native.call(catId, [live[0]!.handle, h]), /disposed/, 'stale id in a list');
    }
    live.forEach((t, i) => assert.deepEqual(t.toArray(), [1000 + i], 'the new tensors are untouched'));
    for (const t of live) t.dispose();
  });

  test('non-handles are TypeErrors "expected a tensor", never a crash', () => {
    const t = torch.ones([1]);
    const h = t.handle;
    const bad: unknown[] = [
      0,
      1,
      -1,
      42,
      0.5,
      -0.0,
      NaN,
      Infinity,
      -Infinity,
      2 ** 31,
      2 ** 32,
      2 ** 49,
      2 ** 52,
      2 ** 53,
      2 ** 53 + 2,
      2 ** 64,
      1e300,
      Number.MAX_VALUE,
      Number.MIN_VALUE,
      -h,
      h * 2,
      h + 2 ** 22 * 1000 /* same slot, a future generation */,
      h + 4_000_000 /* slot never handed out */,
      '1',
      `${h}`,
      true,
      null,
      {},
      [],
      [h],
      10n,
      BigInt(h),
      Symbol('t'),
      () => h,
      new Float64Array([h]),
      native.defaultGenerator('cpu'),
      t,
    ];
    for (const v of bad) {
      const label = typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint' ? String(v) : typeof v;
      throwsType(() => native.call(negId, v), /expected a tensor/, `call with ${label}`);
      throwsType(() => native.isDisposed(v as Handle), /expected a tensor/, `isDisposed(${label})`);
      throwsType(() => native.dispose(v as Handle), /expected a tensor/, `dispose(${label})`);
      throwsType(() => native.meta(v as Handle), /expected a tensor/, `meta(${label})`);
      throwsType(() => native.grad(v as Handle), /expected a tensor/, `grad(${label})`);
      throwsType(() => native.backward(v as Handle, null, false), /expected a tensor/, `backward(${label})`);
      if (v !== null) throwsType(() => native.setGrad(h, v as Handle), /expected a tensor/, `setGrad(t, ${label})`); // null clears
    }
    assert.deepEqual(t.toArray(), [1], 'the real tensor is unaffected');
    // the message says what was passed instead
    const described: [unknown, string][] = [
      ['x', 'a string'],
      [null, 'null'],
      [undefined, 'undefined'],
      [7, 'a number that is not a tensor handle'],
      [{}, 'an object'],
      [[h], 'an array'],
      [true, 'a boolean'],
      [native.defaultGenerator('cpu'), 'a native handle of another kind'],
    ];
    for (const [v, what] of described) {
      throwsType(() => native.call(catId, [h, v]), new RegExp(`aten::cat: argument 'tensors': expected a tensor, got ${what}$`), what);
    }
    throwsType(() => native.isDisposed('x' as unknown as Handle), /^isDisposed: expected a tensor, got a string$/, 'isDisposed');
    throwsType(() => native.dispose(null as unknown as Handle), /^dispose: expected a tensor, got null$/, 'dispose');
    t.dispose();
  });

  test('fuzz: random numbers as handles never crash and never release anything', () => {
    const keep = Array.from({ length: 50 }, (_, i) => torch.full([1], i));
    const base = torch.liveTensors();
    const h0 = keep[0]!.handle;
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const samples: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const kind = i % 4;
      if (kind === 0)
        samples.push(Math.floor(rand() * 2 ** 53)); // any integer id-sized number
      else if (kind === 1)
        samples.push(h0 + Math.floor((rand() - 0.5) * 2 ** 30)); // near real ids
      else if (kind === 2)
        samples.push((rand() - 0.5) * 10 ** Math.floor(rand() * 40)); // any magnitude, fractions
      else samples.push(h0 + Math.floor(rand() * 64)); // the neighbouring slots, mostly live or free
    }
    samples.forEach((v, i) => {
      let accepted = false;
      try {
        native.dispose(native.call(negId, v) as Handle);
        accepted = true;
      } catch (e) {
        assert.ok(e instanceof TypeError && /expected a tensor|disposed/.test(e.message), `number ${v}: ${String(e)}`);
      }
      // Only ids the table handed out and that are still live can work: the neighbours of a real
      // id may be live tensors; a far-off or fractional number practically never is.
      if (i % 4 !== 3) assert.ok(!accepted, `number ${v} was accepted as a tensor`);
      try {
        native.isDisposed(v as Handle);
      } catch (e) {
        assert.ok(e instanceof TypeError, `isDisposed(${v})`);
      }
    });
    assert.equal(torch.liveTensors(), base, 'nothing was released or created');
    keep.forEach((t, i) => assert.deepEqual(t.toArray(), [i]));
    for (const t of keep) t.dispose();
  });

  test('undisposed tensors that no scope owns are released by the garbage collector', async () => {
    await collectUntil(() => false, 5); // settle what earlier tests left to the collector
    const base = torch.liveTensors();
    (() => {
      for (let i = 0; i < 100; i++) torch.ones([4]).mul(2); // created outside any scope, dropped
      torch.scope(() => torch.ones([4])); // returned from the outermost scope, dropped
      torch.scope(() => {
        torch.keep(torch.zeros([4])); // kept, dropped
      });
    })();
    assert.ok(torch.liveTensors() >= base + 1, 'not released before a GC');
    assert.ok(await collectUntil(() => torch.liveTensors() === base), `live tensors ${torch.liveTensors()}, baseline ${base}`);
  });

  test('large tensors left to the garbage collector do not pile up (their native bytes drive collections)', async () => {
    await collectUntil(() => false, 5);
    const base = torch.liveTensors();
    const x = torch.ones([1 << 20]); // 4 MB
    let maxLive = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 10; i++) x.add(1); // 300 × 4 MB = 1.2 GB in all, never disposed
      await new Promise((r) => setImmediate(r)); // finalizer callbacks run between tasks
      maxLive = Math.max(maxLive, torch.liveTensors() - base);
    }
    // measured: at most ~65 alive at once; without reporting the bytes to V8, 2,000 such tensors
    // reached ~1,200 alive at once (collections followed the small JavaScript heap only)
    assert.ok(maxLive < 150, `${maxLive} tensors of 4 MB alive at once`);
    x.dispose();
    assert.ok(await collectUntil(() => torch.liveTensors() === base));
  });

  test('the finalizer of a disposed tensor is harmless, also after its slot is reused', async () => {
    const base = torch.liveTensors();
    (() => {
      for (let i = 0; i < 100; i++) torch.ones([2]).dispose();
    })();
    const survivors = Array.from({ length: 100 }, () => torch.zeros([2])); // reuse the freed slots
    await collectUntil(() => false, 5); // the disposed tensors' objects die and their finalizer callbacks run
    assert.equal(torch.liveTensors(), base + 100);
    for (const t of survivors) assert.deepEqual(t.toArray(), [0, 0]);
    for (const t of survivors) t.dispose();
    assert.equal(torch.liveTensors(), base);
  });

  test('each worker thread has its own table, released when the worker exits', async () => {
    const base = torch.liveTensors();
    const mainHandle = torch.ones([1]);
    const url = new URL('./index.js', import.meta.url).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then((torch) => {
        const before = torch.liveTensors();
        const own = [torch.ones([3]), torch.arange(5)];
        torch.ones([2]).mul(3); // never disposed: released with the worker's environment
        const live = torch.liveTensors() - before;
        parentPort.postMessage({ live, handle: own[0].handle, sum: own[1].sum().item() });
      });`;
    const reply = await new Promise<{ live: number; handle: number; sum: number }>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m) => {
        void w.terminate().then(() => resolve(m as never));
      });
      w.once('error', reject);
    });
    assert.equal(reply.live, 4, 'the worker counts its own tensors');
    assert.equal(reply.sum, 10);
    assert.equal(torch.liveTensors(), base + 1, 'the worker did not touch this thread’s table');
    assert.deepEqual(mainHandle.toArray(), [1]);
    // An id from another thread means nothing here (or, by coincidence of slot and generation, a
    // tensor of this thread): it is never memory of the other thread.
    try {
      native.isDisposed(reply.handle as Handle);
    } catch (e) {
      assert.ok(e instanceof TypeError);
    }
    mainHandle.dispose();
    assert.equal(torch.liveTensors(), base);
  });
});
