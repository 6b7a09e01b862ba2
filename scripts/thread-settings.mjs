// How the CPU thread pools' settings move a training step (BENCHMARKS.md, "Thread pools"): the demo's
// step (SiT-T patch 4 on 32×32×1, batch 32, 65 tokens) and the benchmark's SiT-S/2 + REG step (batch
// 16, 257 tokens), each timed in a fresh process per setting, because libgomp and OpenBLAS read their
// spin variables only when they load. Every row turns reg-ts's own tuning off (REGTS_THREAD_TUNING=0)
// and sets the variables itself; the last row is reg-ts's default. Medians over the timed steps.
//
//   npm run build && node scripts/thread-settings.mjs [demo|s2 …]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SETTINGS = [
  { label: '1 intra-op thread, default spins (libtorch 1.13 here)', env: { REGTS_THREAD_TUNING: '0' } },
  { label: '2 intra-op threads, default spins', env: { REGTS_THREAD_TUNING: '0', OMP_NUM_THREADS: '2' } },
  { label: '2, OMP_WAIT_POLICY=PASSIVE', env: { REGTS_THREAD_TUNING: '0', OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' } },
  {
    label: '2, OMP_WAIT_POLICY=PASSIVE, OPENBLAS_THREAD_TIMEOUT=4',
    env: { REGTS_THREAD_TUNING: '0', OMP_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '4' },
  },
  { label: '2, GOMP_SPINCOUNT=10000', env: { REGTS_THREAD_TUNING: '0', OMP_NUM_THREADS: '2', GOMP_SPINCOUNT: '10000' } },
  { label: '1, OPENBLAS_THREAD_TIMEOUT=12', env: { REGTS_THREAD_TUNING: '0', OPENBLAS_THREAD_TIMEOUT: '12' } },
  { label: "reg-ts's default: 2, GOMP_SPINCOUNT=10000, OPENBLAS_THREAD_TIMEOUT=12", env: {} },
];

const MODELS = {
  demo: {
    name: 'SiT-T/2',
    opts: { patchSize: 4, inputSize: 32, inChannels: 1, numClasses: 10, zDims: [96], variant: 'reg' },
    batch: 32,
    steps: 40,
  },
  s2: {
    name: 'SiT-S/2',
    opts: { inputSize: 32, inChannels: 4, numClasses: 1000, encoderDepth: 4, projectorDim: 2048, zDims: [768], variant: 'reg' },
    batch: 16,
    steps: 6,
  },
};

/** Child: times `steps` training steps of `model` after 2 warm-up steps; prints JSON medians in ms. */
async function child(which) {
  const torch = await import('../dist/src/torch/index.js');
  const { createSiT } = await import('../dist/src/models/configs.js');
  const { regLoss } = await import('../dist/src/diffusion/objective.js');
  const { adamw } = await import('../dist/src/train/adamw.js');
  const { clipGradNorm_ } = await import('../dist/src/train/clip.js');
  const { EMA } = await import('../dist/src/train/ema.js');
  const m = MODELS[which];
  torch.manualSeed(0);
  const model = createSiT(m.name, m.opts);
  model.train();
  const ema = new EMA(model, 0.9999);
  const opt = adamw(model.namedParameters(), { lr: 1e-4 });
  const { inChannels: C, inputSize: S, zDims } = m.opts;
  const T = (S / model.config.patchSize) ** 2 + 1;
  const g = new torch.Generator(0);
  const inp = {
    x0: torch.randn([m.batch, C, S, S], { generator: g }),
    y: torch.randint(0, m.opts.numClasses, [m.batch], { generator: g }),
    cls0: torch.randn([m.batch, zDims[0]], { generator: g }),
    target: torch.randn([m.batch, T, zDims[0]], { generator: g }),
    t: torch.rand([m.batch], { generator: g }),
    noise: torch.randn([m.batch, C, S, S], { generator: g }),
    noiseCls: torch.randn([m.batch, zDims[0]], { generator: g }),
    dropMask: torch.rand([m.batch], { generator: g }).lt(0.1),
  };
  const times = { forwardBackward: [], optimizer: [], step: [] };
  for (let i = 0; i < m.steps + 2; i++) {
    torch.scope(() => {
      const t0 = performance.now();
      const out = regLoss(model, inp);
      out.total.backward();
      out.total.item();
      const t1 = performance.now();
      clipGradNorm_(
        opt.params.map(([, p]) => p),
        1.0,
      );
      opt.step();
      opt.zeroGrad();
      ema.update();
      const t2 = performance.now();
      if (i >= 2) {
        times.forwardBackward.push(t1 - t0);
        times.optimizer.push(t2 - t1);
        times.step.push(t2 - t0);
      }
    });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(
    JSON.stringify({ threads: torch.getNumThreads(), ...Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) }),
  );
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]);
} else {
  const which = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(MODELS);
  const self = fileURLToPath(import.meta.url);
  const base = { ...process.env };
  for (const k of ['REGTS_THREAD_TUNING', 'OMP_NUM_THREADS', 'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'OPENBLAS_THREAD_TIMEOUT'])
    delete base[k];
  console.log(
    `${new Date().toISOString()}; load average ${(await import('node:os'))
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  for (const w of which) {
    const m = MODELS[w];
    console.log(`\n${m.name} ${JSON.stringify(m.opts)}, batch ${m.batch}, median of ${m.steps} steps (ms)`);
    console.log('| setting | intra-op threads | forward + backward | clip + AdamW + EMA | step |\n|---|---|---|---|---|');
    for (const s of SETTINGS) {
      const out = execFileSync(process.execPath, [self, '--child', w], { env: { ...base, ...s.env }, encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop());
      console.log(`| ${s.label} | ${r.threads} | ${r.forwardBackward.toFixed(1)} | ${r.optimizer.toFixed(1)} | ${r.step.toFixed(1)} |`);
    }
  }
}
