// The sampler's cost outside the network (BENCHMARKS.md, "Thread pools": the float64 state): the bench's
// sample settings (50 SDE steps, CFG 2.3 on [0, 0.85], batch 1, 32×32×4 latents, Dz 768) with a stub model
// that returns half its input, so that what is timed is the float64 state, the casts, guidance and noise.
//
//   npm run build && node scripts/sampler-overhead.mjs
const D = '../dist/src/';
const torch = await import(D + 'torch/index.js');
const { sample } = await import(D + 'diffusion/samplers.js');
const config = { numClasses: 1000, inChannels: 4, inputSize: 32, zDims: [768], variant: 'reg' };
const model = {
  config,
  forward: (x, t, y, c) => ({ vImg: x.mul(0.5), vCls: c ? c.mul(0.5) : null, zs: [] }),
  parameters: () => [torch.zeros([1])],
};
const g = new torch.Generator(0);
const x = torch.randn([1, 4, 32, 32], { generator: g }),
  c = torch.randn([1, 768], { generator: g }),
  y = torch.tensor([3], { dtype: 'int64' });
const nx = torch.randn([49, 1, 4, 32, 32], { generator: g, dtype: 'float64' }),
  nc = torch.randn([49, 1, 768], { generator: g, dtype: 'float64' });
const opts = { sampler: 'sde', numSteps: 50, cfgScale: 2.3, clsCfgScale: 2.3, guidanceLow: 0, guidanceHigh: 0.85 };
const times = [];
for (let i = 0; i < 15; i++) {
  const t0 = performance.now();
  torch.scope(() => {
    sample(model, { x, c }, y, opts, (k) => ({ x: nx.select(0, k), c: nc.select(0, k) }));
  });
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log('sampler outside the network, 50 SDE steps, batch 1 + CFG:', times[7].toFixed(1), 'ms (median of 15)');
