/**
 * The benchmarks `npm run bench` knows, as module names in bench/ (in run order). A benchmark is a
 * module exporting `name`, `description` and `run(options?)` (see `Benchmark` in harness.ts);
 * registering one is one line here.
 */
export const BENCHMARK_MODULES: readonly string[] = [
  'gemm',
  'block',
  'dispatch',
  'sample',
  'train-step',
  'encoder',
  'vae',
  'dinov2',
  'inception',
  'allreduce',
  'ddp',
];
