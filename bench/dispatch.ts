/**
 * `dispatch`: overhead per operator call on a tiny tensor — `add` of two 1-element float32 tensors,
 * in µs per call — for the ways TypeScript code releases results, against PyTorch's own per-op
 * overhead in Python (test/reference/bench/dispatch.py). Target: below 5 µs.
 *
 * Rows, reg-ts:
 *   add + dispose()       a.add(b) then an explicit dispose()
 *   add in scope()        a.add(b) inside scope(), 100 calls per scope (the recommended style)
 *   add, left to GC       a.add(b), result dropped, then a full GC that finalizes the results
 *                         (timed: the variant pays for its own collection)
 *   native.call + dispose the addon's generic dispatcher call on raw handles (the binding's floor)
 *   N-API no-op           native.isGradEnabled(): the cost of crossing into C++ at all
 * Rows, PyTorch: torch.add(a, b), a + b, and the empty Python loop. A round times every variant
 * once, reg-ts first or PyTorch first in turn; a full GC runs (untimed) before every reg-ts sample.
 * Headline ratio: `add in scope()` / `torch.add`.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { ones, op, scope } from '../src/torch/index.js';
import { native, type Handle } from '../src/torch/native.js';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  gatedRounds,
  loadAverage,
  median,
  pairedRatio,
  pairsFor,
  pause,
  PyWorker,
  SIDE_GAP_MS,
  table,
  timeReps,
} from './harness.js';

const CALLS = 20_000;
const PER_SCOPE = 100;

/**
 * A full garbage collection, run before every sample so that one variant's garbage is not
 * collected on another's time (the flag is set at run time: `npm run bench` passes no node flags).
 */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as unknown;
  return typeof gc === 'function' ? (gc as () => void) : () => {};
}

export const name = 'dispatch';
export const description = 'per-operator overhead (µs) of add on two 1-element tensors, with and without scope/dispose, vs PyTorch';

export async function run(options?: Partial<BenchOptions>): Promise<BenchResult> {
  const pairs = pairsFor(options, 9);
  const a = ones([1]);
  const b = ones([1]);
  const addId = op('aten::add', 'Tensor').id;
  const ha = a.handle,
    hb = b.handle;

  const gc = collector();
  const ts: Record<string, () => void> = {
    'add + dispose()': () => {
      for (let i = 0; i < CALLS; i++) a.add(b).dispose();
    },
    'add in scope()': () => {
      for (let i = 0; i < CALLS; i += PER_SCOPE) {
        scope(() => {
          for (let j = 0; j < PER_SCOPE; j++) a.add(b);
        });
      }
    },
    'add, left to GC': () => {
      for (let i = 0; i < CALLS; i++) a.add(b);
      gc(); // this variant pays for collecting its own garbage
    },
    'native.call + dispose': () => {
      for (let i = 0; i < CALLS; i++) native.dispose(native.call(addId, ha, hb) as Handle);
    },
    'N-API no-op': () => {
      for (let i = 0; i < CALLS; i++) native.isGradEnabled();
    },
  };
  const pyVariants = ['torch.add', 'a + b', 'empty loop'];

  const py = await PyWorker.start('dispatch.py');
  let samples: Record<string, number>[];
  let clean: number, taken: number;
  try {
    for (const f of Object.values(ts)) timeReps(f, 2);
    for (const v of pyVariants) await py.time({ variant: v, calls: CALLS, reps: 2 });
    // One round: every variant once, reg-ts then PyTorch.
    let i = 0;
    const rounds = await gatedRounds(
      async () => {
        const r: Record<string, number> = {};
        const mine = (): void => {
          for (const [k, f] of Object.entries(ts)) {
            gc();
            r[k] = timeReps(f, 1)[0]!;
          }
        };
        const theirs = async (): Promise<void> => {
          for (const v of pyVariants) r[v] = (await py.time({ variant: v, calls: CALLS, reps: 1 }))[0]!;
        };
        if (i++ % 2 === 0) {
          mine();
          await pause(SIDE_GAP_MS);
          await theirs();
        } else {
          await theirs();
          await pause(SIDE_GAP_MS);
          mine();
        }
        return r;
      },
      pairs,
      py,
    );
    clean = rounds.clean.length;
    taken = rounds.all.length;
    samples = clean >= 3 ? rounds.clean : rounds.all;
  } finally {
    await py.close();
    a.dispose();
    b.dispose();
  }
  const us = (k: string): number => (median(samples.map((r) => r[k]!)) / CALLS) * 1e6;
  const rows = [...Object.keys(ts).map((k) => ['reg-ts', k, fmt(us(k), 2)]), ...pyVariants.map((k) => ['PyTorch', k, fmt(us(k), 2)])];
  const ratio = pairedRatio({ ts: samples.map((r) => r['add in scope()']!), py: samples.map((r) => r['torch.add']!), clean, taken }).paired;
  const text = [
    `${py.describeThreads()}; ${CALLS} calls per sample, medians of ${pairs} alternating rounds (${clean} of ${taken} taken were clean); load average ${loadAverage()}; target < 5 µs`,
    table(['side', 'variant', 'µs/call'], rows),
  ].join('\n');
  return { table: text, ratio };
}
