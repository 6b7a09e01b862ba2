/** `reg version`: versions of reg-ts, Node and libtorch, the devices libtorch sees, and the BLAS it runs on. */
import type { Command } from '../args.js';
import { blasInfo, coreTypeWarning, describeBlas, describeThreads, gemmProbe, referenceBlasWarning } from '../../torch/blas.js';
import { memoryStats } from '../../torch/allocator.js';
import { describeThreadTuning } from '../../torch/cpu-threads.js';
import { buildInfo, getNumThreads } from '../../torch/runtime.js';
import { regTsVersion } from '../../util/version.js';

/** How F.batchedMatmul runs here, and if it falls back to matmul, why. */
function describeBatchedMatmul(addonOpenmp: boolean, vendor: string, threads: number): string {
  if (!addonOpenmp) return "matmul (the addon was built without libtorch's OpenMP runtime)";
  if (vendor !== 'openblas') return `matmul (the batch split needs OpenBLAS, the BLAS is ${vendor})`;
  if (threads < 2) return 'matmul (1 intra-op thread)';
  return `float32 batch split across ${threads} intra-op threads, single-threaded OpenBLAS each`;
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'print reg-ts, Node and libtorch versions, the devices libtorch sees, and the BLAS with a 0.2 s GEMM probe',
  options: {},
  async run() {
    const info = buildInfo();
    const devices = ['cpu', ...Array.from({ length: info.cudaDeviceCount }, (_, i) => `cuda:${i}`)];
    const blas = blasInfo();
    const probe = gemmProbe(0.2);
    console.log(`reg-ts   ${regTsVersion()}`);
    console.log(`node     ${process.version}`);
    console.log(`libtorch ${info.libtorch}`);
    console.log(`devices  ${devices.join(', ')}`);
    console.log(`threads  ${describeThreads(blas)}`);
    console.log(`         ${describeThreadTuning()}`);
    console.log(`         attention products: ${describeBatchedMatmul(info.addonOpenmp, blas.vendor, getNumThreads())}`);
    console.log(`blas     ${describeBlas(blas)}`);
    if (blas.config) console.log(`         ${blas.config}`);
    console.log(`gemm     ${probe.gflops.toFixed(1)} GFLOP/s (${probe.n}³ float32 on the CPU, median of ${probe.reps} in ${0.2} s)`);
    const mem = memoryStats();
    console.log(
      `memory   ${mem.caching ? `caching CPU allocator, cache cap ${(mem.capBytes / 2 ** 30).toFixed(1)} GiB (REGTS_CPU_ALLOCATOR=0: libtorch's own)` : "libtorch's CPU allocator (REGTS_CPU_ALLOCATOR=0)"}`,
    );
    for (const warning of [referenceBlasWarning(blas), coreTypeWarning()]) if (warning) console.error(warning);
  },
};
