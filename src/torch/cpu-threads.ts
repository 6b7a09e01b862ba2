/**
 * reg-ts's CPU thread settings, applied once when the addon loads (./native.ts).
 *
 * libtorch runs its elementwise kernels on an OpenMP pool and its matrix products on OpenBLAS's own
 * threads. Both pools busy-wait after their work by default: libgomp spins GOMP_SPINCOUNT = 300,000
 * times (a few hundred µs), OpenBLAS 2^28 cycles (about 0.1 s). On a small machine the pool that
 * spins holds the core the other pool needs next, so that a second intra-op thread made training
 * slower, and libtorch 1.13 picks 1 intra-op thread on the 2-core machines of this project anyway.
 * With short spins each pool can have every core in turn:
 *
 *   GOMP_SPINCOUNT = 10000, OPENBLAS_THREAD_TIMEOUT = 12 (2¹² cycles)   unless the user set them
 *   intra-op threads = the physical cores                               unless OMP_NUM_THREADS is set
 *
 * Measured on 2 cores (BENCHMARKS.md, "Thread pools"): SiT-S/2 + REG training step 4.8 → 4.1 s, the
 * demo's step 176 → 145 ms. REGTS_THREAD_TUNING=0 leaves all of it to libtorch and OpenBLAS.
 *
 * libgomp and OpenBLAS read their variables when they load, so they are put in the environment before
 * the addon is (from the main thread: a worker thread's process.env is its own copy); processes
 * started later, such as `reg launch`'s ranks, inherit them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The spin settings reg-ts gives libgomp and OpenBLAS when the environment names none. */
export const SHORT_SPIN_WAITS: Readonly<Record<string, string>> = { GOMP_SPINCOUNT: '10000', OPENBLAS_THREAD_TIMEOUT: '12' };

/** What {@link threadTuning} reports. */
export interface ThreadTuning {
  /** False when REGTS_THREAD_TUNING=0 turned it off. */
  enabled: boolean;
  /** The variables reg-ts put in the environment (those the user had set are kept and not listed). */
  waitsSet: Readonly<Record<string, string>>;
  /** The intra-op thread count reg-ts chose, or null when it left libtorch's (OMP_NUM_THREADS set, or tuning off). */
  intraOpThreads: number | null;
}

type Env = Record<string, string | undefined>;

let applied: ThreadTuning = { enabled: false, waitsSet: {}, intraOpThreads: null };

/** Whether the tuning is on in `env` (REGTS_THREAD_TUNING is not '0'). */
const threadTuningEnabled = (env: Env = process.env): boolean => env.REGTS_THREAD_TUNING !== '0';

/**
 * Physical cores of this machine: distinct (package, core) pairs of the online CPUs in
 * /sys/devices/system/cpu; the logical CPU count where that cannot be read.
 */
export function physicalCores(): number {
  const logical = os.availableParallelism();
  try {
    const cores = new Set<string>();
    for (let cpu = 0; cpu < os.cpus().length; cpu++) {
      const dir = `/sys/devices/system/cpu/cpu${cpu}/topology`;
      cores.add(`${readFileSync(`${dir}/physical_package_id`, 'utf8').trim()}:${readFileSync(`${dir}/core_id`, 'utf8').trim()}`);
    }
    return Math.max(1, Math.min(cores.size, logical));
  } catch {
    return logical;
  }
}

/** Puts {@link SHORT_SPIN_WAITS} into `env` where it has none of them; returns what it set. Call before the addon loads. */
export function applySpinWaits(env: Env = process.env): Record<string, string> {
  if (!threadTuningEnabled(env)) return {};
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(SHORT_SPIN_WAITS)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    set[name] = value;
  }
  return set;
}

/** The intra-op thread count reg-ts uses by default, or null to keep libtorch's. */
export function defaultIntraOpThreads(env: Env = process.env): number | null {
  return threadTuningEnabled(env) && env.OMP_NUM_THREADS === undefined ? physicalCores() : null;
}

/**
 * Loads the addon with the tuning around it: the spin waits go into the environment first, the
 * intra-op thread count is set after; what was done is kept for {@link threadTuning}.
 */
export function loadWithThreadTuning<T extends { setNumThreads(n: number): void }>(load: () => T): T {
  const waitsSet = applySpinWaits();
  const addon = load();
  const intraOpThreads = defaultIntraOpThreads();
  if (intraOpThreads !== null) addon.setNumThreads(intraOpThreads);
  applied = { enabled: threadTuningEnabled(), waitsSet, intraOpThreads };
  return addon;
}

/** What reg-ts did to the CPU thread pools at load. */
export function threadTuning(): ThreadTuning {
  return applied;
}

/** One line for `reg version` and benchmark headers: what the tuning did, and how to turn it off. */
export function describeThreadTuning(t: ThreadTuning = applied): string {
  if (!t.enabled) return "off (REGTS_THREAD_TUNING=0): libtorch's and OpenBLAS's own thread defaults";
  const waits = Object.entries(t.waitsSet).map(([k, v]) => `${k}=${v}`);
  return [
    t.intraOpThreads === null ? 'intra-op threads from OMP_NUM_THREADS' : `${t.intraOpThreads} intra-op threads (one per physical core)`,
    waits.length ? `short spin waits ${waits.join(' ')}` : 'spin waits as set in the environment',
    'REGTS_THREAD_TUNING=0 turns this off',
  ].join('; ');
}
