/**
 * Shared machinery of the benchmarks: the Benchmark contract, timing with warm-up and medians,
 * a PyTorch worker process for same-run comparisons, and plain-text tables.
 *
 * Fairness on a noisy machine: reg-ts and PyTorch samples alternate one by one (reg-ts, PyTorch,
 * reg-ts, …) so that load from other processes hits both sides alike; pairs during which other
 * processes took CPU are retaken (`Quiet`); ratios are medians of the per-pair ratios and times
 * are medians. Both sides run with the same intra-op
 * thread count (libtorch's `at::set_num_threads`), and the PyTorch child inherits this
 * process's environment (OPENBLAS_*, OMP_*), so BLAS settings match too.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getNumThreads, threadTuning } from '../src/torch/index.js';

/** What a benchmark hands back to the runner. */
export interface BenchResult {
  /** Human-readable table of everything measured. */
  table: string;
  /** Headline figure: reg-ts time / PyTorch time (lower is better; 1 = parity). */
  ratio: number;
}

/** Knobs the runner passes to every benchmark. */
export interface BenchOptions {
  /** Alternating (reg-ts, PyTorch) sample pairs per case; each benchmark has its own default. */
  pairs?: number;
  /** A third of the default pairs, for a quick look (numbers are then rougher). */
  quick: boolean;
}

/** A benchmark module exports one of these; register it in bench/registry.ts. */
export interface Benchmark {
  name: string;
  description: string;
  run(opts?: Partial<BenchOptions>): Promise<BenchResult>;
}

/** Number of sample pairs: `--pairs` when given, else the benchmark's default (a third with --quick). */
export function pairsFor(opts: Partial<BenchOptions> | undefined, defaultPairs: number): number {
  if (opts?.pairs !== undefined) return opts.pairs;
  return opts?.quick ? Math.max(3, Math.round(defaultPairs / 3)) : defaultPairs;
}

// -------------------------------------------------------------------------------------------------
// Statistics and timing
// -------------------------------------------------------------------------------------------------

/** Median of a non-empty sample. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of an empty sample');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Geometric mean of positive numbers. */
export function geomean(xs: readonly number[]): number {
  return Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
}

/** Seconds since an arbitrary origin, high resolution. */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/** Runs `fn` `reps` times and returns each call's duration in seconds. */
export function timeReps(fn: () => void, reps: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = now();
    fn();
    out.push(now() - t0);
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// The PyTorch side: a long-lived /usr/bin/python3 worker speaking JSON lines
// -------------------------------------------------------------------------------------------------

const here = path.dirname(fileURLToPath(import.meta.url));
/** test/reference/bench, from bench/ (sources) or dist/bench/ (compiled). */
const referenceDir =
  [path.resolve(here, '../test/reference/bench'), path.resolve(here, '../../test/reference/bench')].find((d) => existsSync(d)) ??
  path.resolve(here, '../../test/reference/bench');

/** The Python that has Debian's python3-torch (override with REG_PYTHON). */
export const pythonExe = process.env.REG_PYTHON ?? '/usr/bin/python3';

/** How the PyTorch side runs: its own defaults, or reg-ts's thread count and environment. */
export type PyTorchSettings = 'defaults' | 'same';
let pytorchSettings: PyTorchSettings = 'defaults';

/** Chooses how the PyTorch workers started from now on run (the runner's --threads / --same-settings). */
export function usePyTorchSettings(s: PyTorchSettings): void {
  pytorchSettings = s;
}

/** This process's environment, less the spin variables reg-ts's thread tuning added ('defaults'). */
function pytorchEnv(): NodeJS.ProcessEnv {
  if (pytorchSettings === 'same') return process.env;
  const env = { ...process.env };
  for (const name of Object.keys(threadTuning().waitsSet)) delete env[name];
  return env;
}

/** Reply to a `time` request: seconds per sample. */
export interface PyTimes {
  times: number[];
}

/**
 * A PyTorch process running `test/reference/bench/<script>`. Requests are JSON objects with an
 * `op` field, one per line on stdin; each gets one JSON line back on stdout.
 */
export class PyWorker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  #stderr = '';
  #exited: Error | null = null;
  /** The worker's intra-op thread count (set by {@link PyWorker.start}). */
  threads = 0;

  private constructor(script: string) {
    const file = path.join(referenceDir, script);
    this.#child = spawn(pythonExe, ['-u', file], { stdio: ['pipe', 'pipe', 'pipe'], env: pytorchEnv() });
    this.#child.stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    const lines = createInterface({ input: this.#child.stdout });
    lines.on('line', (line) => {
      const w = this.#waiting.shift();
      if (!w) return;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        w.reject(new Error(`PyTorch worker ${script} printed a non-JSON line: ${line}`));
        return;
      }
      if (msg.ok === false) w.reject(new Error(`PyTorch worker ${script}: ${String(msg.error)}`));
      else w.resolve(msg);
    });
    const fail = (why: string): void => {
      this.#exited = new Error(`PyTorch worker ${script} (${pythonExe}) ${why}\n${this.#stderr}`);
      for (const w of this.#waiting.splice(0)) w.reject(this.#exited);
    };
    this.#child.on('error', (e) => fail(`could not start: ${e.message}`));
    this.#child.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal})`));
  }

  /** Process id of the worker. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Starts `script`: at reg-ts's intra-op thread count ('same'), or at PyTorch's own. */
  static async start(script: string): Promise<PyWorker> {
    const w = new PyWorker(script);
    const reply = await w.request<{ threads: number }>(pytorchSettings === 'same' ? { op: 'threads', n: getNumThreads() } : { op: 'info' });
    w.threads = reply.threads;
    return w;
  }

  /** `intra-op threads reg-ts 2, PyTorch 1` (or `… 2 (both sides)`), for the benchmark headers. */
  describeThreads(): string {
    const mine = getNumThreads();
    return mine === this.threads ? `intra-op threads ${mine} (both sides)` : `intra-op threads reg-ts ${mine}, PyTorch ${this.threads}`;
  }

  /** Sends one request and waits for its reply. */
  request<T = Record<string, unknown>>(msg: Record<string, unknown>): Promise<T> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({ resolve: resolve as (v: Record<string, unknown>) => void, reject });
      this.#child.stdin.write(`${JSON.stringify(msg)}\n`);
    });
  }

  /** Times `reps` samples of a case set up earlier (seconds per sample). */
  async time(msg: Record<string, unknown>): Promise<number[]> {
    return (await this.request<PyTimes>({ op: 'time', ...msg })).times;
  }

  /** Ends the process. */
  async close(): Promise<void> {
    if (this.#exited) return;
    const done = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.stdin.end();
    await done;
  }
}

/** Paired samples of both sides. */
export interface Paired {
  ts: number[];
  py: number[];
  /** Pairs during which other processes used at most a few percent of the CPUs (see `Quiet`). */
  clean: number;
  /** All pairs taken (clean or not). */
  taken: number;
}

/** Process ids whose parent is this process (the PyTorch workers), from /proc. */
function childPids(): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Contention check for shared machines (Linux). CPU time the whole machine spent busy minus the
 * CPU time of this process and its children (the PyTorch workers; from /proc, in clock ticks) is the work of
 * other processes; a sample pair counts as clean when that stayed under 4% of one CPU. Elsewhere
 * every pair counts as clean.
 */
export class Quiet {
  readonly #pids: number[];
  readonly #ok: boolean;
  constructor(workerPid?: number) {
    this.#ok = existsSync('/proc/stat');
    this.#pids = [process.pid, ...(workerPid === undefined ? [] : [workerPid]), ...(this.#ok ? childPids() : [])];
  }

  /** [machine busy ticks, our ticks] */
  snapshot(): [number, number] {
    if (!this.#ok) return [0, 0];
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const busy = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - (cpu[4] ?? 0);
    let ours = 0;
    for (const pid of this.#pids) {
      try {
        const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
        ours += Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14, 15)
      } catch {
        /* process gone */
      }
    }
    return [busy, ours];
  }

  /** Other processes' CPU ticks between two snapshots. */
  foreign(a: [number, number], b: [number, number]): number {
    return Math.max(0, b[0] - a[0] - (b[1] - a[1]));
  }

  /** Waits (up to `maxMs`) for a 200 ms window in which other processes used ≤ 1 tick; true if found. */
  async settle(maxMs: number): Promise<boolean> {
    if (!this.#ok) return true;
    const until = Date.now() + maxMs;
    do {
      const a = this.snapshot();
      await pause(200);
      if (this.foreign(a, this.snapshot()) <= 1) return true;
    } while (Date.now() < until);
    return false;
  }
}

/** Milliseconds between the reg-ts and the PyTorch half of a pair (longer than BLAS threads spin). */
export const SIDE_GAP_MS = 300;

/** Resolves after `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `round` `rounds` times on a quiet machine as far as possible: before each round it waits
 * briefly for other processes to go idle, and a round during which they took more than 4% of one
 * CPU is retaken (at most `rounds` retakes in all, so a busy machine costs at most twice the time).
 * Returns the clean rounds and all rounds taken.
 */
export async function gatedRounds<T>(round: () => Promise<T>, rounds: number, worker?: PyWorker): Promise<{ clean: T[]; all: T[] }> {
  const quiet = new Quiet(worker?.pid);
  const out = { clean: [] as T[], all: [] as T[] };
  let waitMs = 3000;
  let retakes = rounds;
  for (let i = 0; i < rounds; i++) {
    for (let attempt = 0; attempt < 3 && (attempt === 0 || retakes-- > 0); attempt++) {
      if (!(await quiet.settle(waitMs))) waitMs = 500; // a busy machine: stop waiting long
      const a = quiet.snapshot();
      const t0 = now();
      const r = await round();
      const wallTicks = (now() - t0) * 100;
      out.all.push(r);
      if (quiet.foreign(a, quiet.snapshot()) <= Math.max(2, wallTicks / 25)) {
        out.clean.push(r);
        break;
      }
    }
  }
  return out;
}

/**
 * Alternating measurement: after `warmup` untimed calls on each side, `pairs` times one reg-ts
 * sample and one PyTorch sample (in alternating order, `SIDE_GAP_MS` apart), so that load from
 * other processes hits both sides alike; pairs are gated by `gatedRounds`, and times come from the
 * clean pairs when there are at least 3.
 */
export async function interleave(
  ts: (reps: number) => number[],
  py: (reps: number) => Promise<number[]>,
  pairs: number,
  warmup = 2,
  worker?: PyWorker,
): Promise<Paired> {
  ts(warmup);
  await py(warmup);
  let i = 0;
  const { clean, all } = await gatedRounds(
    async () => {
      // Alternate which side goes first, and pause between the sides: BLAS worker threads keep
      // spinning for a while after a call (OpenBLAS ~0.1 s) and would slow whichever side ran next.
      if (i++ % 2 === 0) {
        const t = ts(1)[0]!;
        await pause(SIDE_GAP_MS);
        return [t, (await py(1))[0]!] as const;
      }
      const p = (await py(1))[0]!;
      await pause(SIDE_GAP_MS);
      return [ts(1)[0]!, p] as const;
    },
    pairs,
    worker,
  );
  const use = clean.length >= 3 ? clean : all;
  return { ts: use.map((x) => x[0]), py: use.map((x) => x[1]), clean: clean.length, taken: all.length };
}

/**
 * How far reg-ts's output checksums are from PyTorch's: max_i |mine_i − ref_i| / max(floor, |ref_i|), the
 * check a benchmark runs before timing that both sides compute the same thing.
 */
export function checksumDifference(mine: readonly number[], ref: readonly number[], floor = 1e-6): number {
  if (mine.length !== ref.length) throw new RangeError(`checksums: ${mine.length} on the reg-ts side, ${ref.length} from PyTorch`);
  return Math.max(...mine.map((v, i) => Math.abs(v - ref[i]!) / Math.max(floor, Math.abs(ref[i]!))));
}

/** "k of n pairs clean" for tables. */
export function quality(p: Paired): string {
  return p.clean >= 3
    ? `${p.clean} clean pairs (of ${p.taken} taken)`
    : `only ${p.clean} clean of ${p.taken} pairs: the machine was busy, numbers are rough`;
}

/**
 * reg-ts time / PyTorch time: the median of the per-pair ratios (robust to load that drifts during
 * the run) with their quartiles (the spread of the pairs), and the plain ratio of medians beside it.
 */
export function pairedRatio(p: Paired): { paired: number; ofMedians: number; q1: number; q3: number } {
  const r = p.ts.map((t, i) => t / p.py[i]!);
  return { paired: median(r), ofMedians: median(p.ts) / median(p.py), q1: quantile(r, 0.25), q3: quantile(r, 0.75) };
}

/** The q-quantile of a non-empty sample (linear interpolation). */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

/** The 1-minute load average (Linux), to judge how quiet the machine was. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

// -------------------------------------------------------------------------------------------------
// Output
// -------------------------------------------------------------------------------------------------

/** A plain-text table with right-aligned numeric columns. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers.map(String), ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** Fixed-point formatting. */
export const fmt = (x: number, digits = 2): string => x.toFixed(digits);
