/**
 * Benchmark runner.
 *
 *   npm run bench                         every registered benchmark (bench/registry.ts)
 *   npm run bench -- gemm block           the named ones
 *   npm run bench -- block --threads 1,2  once per intra-op thread count (both sides, same environment)
 *   npm run bench -- --list               names and descriptions
 *
 * By default each side runs with its own defaults, as users run them: reg-ts with its thread tuning
 * (src/torch/cpu-threads.ts), PyTorch with its own thread count and without reg-ts's spin variables.
 * Options: --threads N[,M…] (both sides at N, PyTorch in reg-ts's environment), --same-settings
 * (PyTorch at reg-ts's thread count and environment), --pairs N (alternating reg-ts/PyTorch sample
 * pairs per case; each benchmark has a default), --quick (a third of them).
 * Each benchmark prints its table and ends with `ratio <reg-ts time / PyTorch time>`.
 */
import { spawnSync } from 'node:child_process';
import {
  buildInfo,
  describeBlas,
  describeThreads,
  describeThreadTuning,
  gemmProbe,
  getNumThreads,
  setNumThreads,
  warnIfReferenceBlas,
} from '../src/torch/index.js';
import { type Benchmark, type BenchOptions, pythonExe, usePyTorchSettings } from './harness.js';
import { BENCHMARK_MODULES } from './registry.js';
import { cpuDescription } from '../src/util/machine.js';

function usage(): never {
  console.error('usage: npm run bench -- [name …] [--threads N[,M…]] [--same-settings] [--pairs N] [--quick] [--list]');
  process.exit(2);
}

interface RunArgs {
  names: string[];
  threads: number[] | null;
  /** PyTorch runs with reg-ts's thread count and environment (implied by --threads). */
  sameSettings: boolean;
  options: Partial<BenchOptions>;
  list: boolean;
}

function parseArgs(argv: string[]): RunArgs {
  const names: string[] = [];
  let threads: number[] | null = null;
  let sameSettings = false;
  const options: Partial<BenchOptions> = {};
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => argv[++i] ?? usage();
    if (a === '--threads')
      threads = value()
        .split(',')
        .map((s) => Number(s));
    else if (a === '--same-settings') sameSettings = true;
    else if (a === '--pairs') options.pairs = Number(value());
    else if (a === '--quick') options.quick = true;
    else if (a === '--list') list = true;
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage();
    else names.push(a);
  }
  if (threads?.some((t) => !Number.isInteger(t) || t < 1)) usage();
  if (options.pairs !== undefined && !(Number.isInteger(options.pairs) && options.pairs >= 1)) usage();
  return { names, threads, sameSettings: sameSettings || threads !== null, options, list };
}

async function loadAll(): Promise<Benchmark[]> {
  const out: Benchmark[] = [];
  for (const file of BENCHMARK_MODULES) {
    const mod = (await import(`./${file}.js`)) as Partial<Benchmark>;
    if (typeof mod.name !== 'string' || typeof mod.description !== 'string' || typeof mod.run !== 'function') {
      throw new Error(`bench/${file}.ts must export name, description and run()`);
    }
    out.push(mod as Benchmark);
  }
  return out;
}

function machine(sameSettings: boolean): string {
  const env = Object.entries(process.env)
    .filter(([k]) => /^(OPENBLAS_|OMP_|MKL_|GOMP_)/.test(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const probe = gemmProbe();
  return [
    `date ${new Date().toISOString()}`,
    `machine ${cpuDescription()}`,
    `libtorch ${buildInfo().libtorch}, Node ${process.version}, PyTorch via ${pythonExe}`,
    `BLAS ${describeBlas()}; GEMM probe ${probe.gflops.toFixed(0)} GFLOP/s (${probe.n}³ float32, median of ${probe.reps})`,
    `threads reg-ts ${describeThreads()}; ${describeThreadTuning()}`,
    `        PyTorch ${sameSettings ? "reg-ts's thread count and environment (--threads / --same-settings)" : "its own defaults (its intra-op thread count; the environment without reg-ts's spin variables)"}`,
    `environment ${env || '(no OPENBLAS_/OMP_ variables)'}`,
  ].join('\n');
}

/** Stops with the exact install command when the PyTorch side of the comparison is missing. */
function requirePyTorch(): void {
  const r = spawnSync(pythonExe, ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status === 0) return;
  const why = r.error ? `${pythonExe} cannot be run (${r.error.message})` : `${pythonExe} cannot import torch`;
  console.error(
    `The benchmarks compare reg-ts with PyTorch on the same machine, and ${why}. ` +
      `Install Debian's PyTorch with: sudo apt-get install python3-torch (or: bash scripts/install.sh --bench), ` +
      `or set REG_PYTHON to a Python that has torch.`,
  );
  process.exit(2);
}

async function main(): Promise<void> {
  const { names, threads, sameSettings, options, list } = parseArgs(process.argv.slice(2));
  const all = await loadAll();
  if (list) {
    for (const b of all) console.log(`${b.name.padEnd(12)} ${b.description}`);
    return;
  }
  const unknown = names.filter((n) => !all.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${all.map((b) => b.name).join(', ')}`);
    process.exit(2);
  }
  const chosen = names.length ? names.map((n) => all.find((b) => b.name === n)!) : all;
  const threadCounts = threads ?? [getNumThreads()];
  requirePyTorch();
  warnIfReferenceBlas();
  usePyTorchSettings(sameSettings ? 'same' : 'defaults');
  console.log(machine(sameSettings));
  for (const b of chosen) {
    for (const t of threadCounts) {
      setNumThreads(t);
      console.log(`\n== ${b.name}: ${b.description}${threadCounts.length > 1 ? ` [intra-op threads ${t}]` : ''}`);
      const started = performance.now();
      const { table, ratio } = await b.run(options);
      console.log(table);
      console.log(`ratio ${ratio.toFixed(3)}`);
      console.log(`took ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
