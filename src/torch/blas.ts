/**
 * The BLAS library behind libtorch's CPU matrix products, as the running process really loads it.
 *
 * Debian's libtorch calls whatever `libblas.so.3` the alternatives system points at. On a fresh machine
 * `apt-get install libtorch-dev` brings netlib's reference BLAS (package `libblas3`), which runs a
 * 1024³ GEMM some 30× slower than OpenBLAS: everything here (training, sampling, encoding) then crawls.
 * These functions say which library is loaded, and warn when it is the reference one.
 */
import { readFileSync } from 'node:fs';
import { randn } from './creation.js';
import { native } from './native.js';
import { getNumThreads } from './runtime.js';
import { scope } from './scope.js';

/** The Debian package that replaces the reference BLAS with an optimised one. */
export const OPTIMISED_BLAS_PACKAGE = 'libopenblas0-pthread';

/** Which implementation a BLAS library is. `reference`: netlib's, unoptimised. */
export type BlasVendor = 'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown';

/** What {@link blasInfo} reports. */
export interface BlasInfo {
  /** Real path (links resolved) of the loaded library that defines `sgemm_`; '' when none exports it. */
  library: string;
  vendor: BlasVendor;
  /** OpenBLAS's kernel family for this CPU (`openblas_get_corename`, e.g. `SkylakeX`, `Zen`). */
  core?: string;
  /** Build description (`openblas_get_config`, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64`). */
  config?: string;
  /** The library's own thread count (OpenBLAS, MKL, BLIS), separate from libtorch's intra-op threads. */
  threads?: number;
  version?: string;
  /** Every mapped object whose path names a BLAS. */
  loaded: string[];
}

/** netlib's reference BLAS as Debian installs it: `/usr/lib/<triplet>/blas/libblas.so.3…` (package libblas3). */
const REFERENCE_PATH = /\/blas\/libblas\.so[.\d]*$/;
/** Debian's BLIS (`libblis4-*`): its `libblas.so.3` exports only the BLAS interface, so the path tells. */
const BLIS_PATH = /\/blis[^/]*\/lib(blas|blis)\.so/;

/** The vendor of a library that exports no vendor query function, from where Debian installs it. */
function vendorByPath(library: string): BlasVendor {
  if (REFERENCE_PATH.test(library)) return 'reference';
  if (BLIS_PATH.test(library)) return 'blis';
  return 'unknown';
}

let cached: BlasInfo | null = null;

/** The BLAS library loaded into this process, found through the dynamic linker (cached: it cannot change). */
export function blasInfo(): BlasInfo {
  if (cached) return cached;
  const raw = native.blasInfo();
  const vendor: BlasVendor = raw.vendor !== 'unknown' ? raw.vendor : vendorByPath(raw.library);
  cached = {
    library: raw.library,
    vendor,
    ...(raw.corename !== undefined ? { core: raw.corename } : {}),
    ...(raw.config !== undefined ? { config: raw.config.trim() } : {}),
    ...(raw.threads !== undefined ? { threads: raw.threads } : {}),
    ...(raw.version !== undefined ? { version: raw.version.trim() } : {}),
    loaded: raw.loaded,
  };
  return cached;
}

/** One line: `OpenBLAS (core SkylakeX, 2 threads) /usr/lib/…/libopenblas.so.0`. */
export function describeBlas(info: BlasInfo = blasInfo()): string {
  const name = { openblas: 'OpenBLAS', mkl: 'MKL', blis: 'BLIS', reference: 'netlib reference BLAS', unknown: 'unknown BLAS' }[info.vendor];
  const details = [
    ...(info.version ? [info.version] : []),
    ...(info.core ? [`core ${info.core}`] : []),
    ...(info.threads !== undefined ? [`${info.threads} thread${info.threads === 1 ? '' : 's'}`] : []),
  ];
  const where = info.library || (info.loaded.length > 0 ? info.loaded.join(', ') : 'built into libtorch');
  return `${name}${details.length > 0 ? ` (${details.join(', ')})` : ''} ${where}`;
}

/** What {@link gemmProbe} measured. */
export interface GemmProbe {
  /** Matrix side n of the n×n·n×n float32 product. */
  n: number;
  /** Products timed (after one untimed warm-up). */
  reps: number;
  /** Median rate over the timed products, 2n³ / seconds. */
  gflops: number;
}

/**
 * Times float32 n×n matrix products on the CPU for about `seconds` (at least 3 products after a warm-up)
 * and returns the median rate, GFLOP/s = 2n³ / t / 10⁹. A health check of the BLAS, not a benchmark.
 */
export function gemmProbe(seconds = 0.2, n = 1024): GemmProbe {
  return scope(() => {
    const a = randn([n, n]);
    const b = randn([n, n]);
    a.matmul(b).dispose();
    const times: number[] = [];
    const start = performance.now();
    while (times.length < 3 || (performance.now() - start) / 1000 < seconds) {
      const t0 = performance.now();
      a.matmul(b).dispose();
      times.push((performance.now() - t0) / 1000);
    }
    times.sort((x, y) => x - y);
    const median = times[Math.floor(times.length / 2)]!;
    return { n, reps: times.length, gflops: (2 * n ** 3) / median / 1e9 };
  });
}

/** The warning for a process on netlib's reference BLAS, naming the package that fixes it; null otherwise. */
export function referenceBlasWarning(info: BlasInfo = blasInfo()): string | null {
  if (info.vendor !== 'reference') return null;
  return (
    `warning: libtorch is running on netlib's reference BLAS (${info.library}), about 30× slower than an optimised one; ` +
    `install OpenBLAS: sudo apt-get install ${OPTIMISED_BLAS_PACKAGE} (scripts/install.sh does this)`
  );
}

let warned = false;

/** Writes {@link referenceBlasWarning} once per process, when there is one. Returns whether it wrote. */
export function warnIfReferenceBlas(write: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)): boolean {
  const warning = warned ? null : referenceBlasWarning();
  if (warning === null) return false;
  warned = true;
  write(warning);
  return true;
}

/** libtorch intra-op threads and BLAS threads, for headers: `1 intra-op, BLAS 2`. */
export function describeThreads(info: BlasInfo = blasInfo()): string {
  return `${getNumThreads()} intra-op${info.threads !== undefined ? `, BLAS ${info.threads}` : ''}`;
}

/** OpenBLAS core types whose kernels use AVX-512. */
const AVX512_CORES = new Set(['skylakex', 'cooperlake', 'sapphirerapids']);

/** The CPU's feature flags (Linux /proc/cpuinfo; empty elsewhere). */
function cpuFlags(): Set<string> {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    return new Set(line ? line.split(':')[1]!.trim().split(/\s+/) : []);
  } catch {
    return new Set();
  }
}

/**
 * A warning when OPENBLAS_CORETYPE forces kernels without AVX-512 on a CPU that has it (measured here:
 * it halves GEMM throughput), else null.
 */
export function coreTypeWarning(
  coretype: string | undefined = process.env.OPENBLAS_CORETYPE,
  flags: ReadonlySet<string> = cpuFlags(),
): string | null {
  if (!coretype || !flags.has('avx512f') || AVX512_CORES.has(coretype.toLowerCase())) return null;
  return `warning: OPENBLAS_CORETYPE=${coretype} makes OpenBLAS use kernels without AVX-512 on this AVX-512 CPU (about half the GEMM speed here); unset it, or set SkylakeX`;
}
