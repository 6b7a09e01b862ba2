// How much per-pixel noise moves FD-MobileNetV2 (docs/demo-tuning.md): 1,000 real training images
// (indices 1000–1999, disjoint from the floor's first 1,000) are scored against the first 1,000 test
// images as they are, with Gaussian noise of standard deviation σ (on the model's [−1, 1] scale) and
// with a 3×3 binomial blur. Sample files given as arguments (samples.npz) are scored too. Every row
// also gives the images' high-frequency energy, the mean |4-neighbour Laplacian| in grey levels, a
// direct measure of speckle.
//
//   npm run build && node scripts/fd-noise-sensitivity.mjs [--dataset fashion-mnist|emoji] [samples.npz …]
import { loadEmoji } from '../dist/src/data/emoji.js';
import { loadFashionMnist } from '../dist/src/data/fashion-mnist.js';
import { datasetImagesAt } from '../dist/src/eval/dataset-images.js';
import { FD_INPUT_SIZE, featureScores, frechetSplits } from '../dist/src/eval/embedded-scores.js';
import { readNpz } from '../dist/src/eval/npz.js';
import { createEncoder } from '../dist/src/models/encoders/encoder.js';

const args = process.argv.slice(2);
const at = args.indexOf('--dataset');
const dataset = at >= 0 ? args.splice(at, 2)[1] : 'fashion-mnist';
const open = (split) =>
  dataset === 'emoji' ? loadEmoji({ labels: 'category', resolution: 32 }) : loadFashionMnist({ split, resolution: 32, fit: 'pad' });
const { test, train } = frechetSplits(dataset, await open('test'), await open('train'));
const n = Math.min(1000, test.length);
const encoder = await createEncoder('mobilenetv2', { inputSize: FD_INPUT_SIZE });
const real = await datasetImagesAt(
  train,
  Array.from({ length: n }, (_, i) => n + i),
);

let state = 12345;
const uniform = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) + 0.5) / 2 ** 32;
const gaussian = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
const map = (batch, f) => ({ ...batch, data: f(batch) });
const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
const noisy = (sigma) => map(real, (b) => b.data.map((v) => clamp(v + sigma * 127.5 * gaussian())));
const pixel = (b, k, y, x, ch) => {
  const [, h, w] = b.shape;
  return b.data[((k * h + Math.min(h - 1, Math.max(0, y))) * w + Math.min(w - 1, Math.max(0, x))) * 3 + ch];
};
const blurred = map(real, (b) => {
  const [count, h, w] = b.shape;
  const out = new Uint8Array(b.data.length);
  const wt = [1, 2, 1];
  for (let k = 0; k < count; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < 3; ch++) {
          let s = 0;
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += wt[dy + 1] * wt[dx + 1] * pixel(b, k, y + dy, x + dx, ch);
          out[((k * h + y) * w + x) * 3 + ch] = clamp(s / 16);
        }
  return out;
});
const laplacian = (b) => {
  const [count, h, w] = b.shape;
  let s = 0;
  for (let k = 0; k < count; k++)
    for (let y = 1; y < h - 1; y++)
      for (let x = 1; x < w - 1; x++)
        for (let ch = 0; ch < 3; ch++)
          s += Math.abs(
            4 * pixel(b, k, y, x, ch) -
              pixel(b, k, y - 1, x, ch) -
              pixel(b, k, y + 1, x, ch) -
              pixel(b, k, y, x - 1, ch) -
              pixel(b, k, y, x + 1, ch),
          );
  return s / (count * (h - 2) * (w - 2) * 3);
};

console.log(`| ${dataset}: ${n} images vs ${test.name} | FD-MobileNetV2 | precision | recall | mean abs Laplacian |`);
console.log('| --- | --- | --- | --- | --- |');
const row = async (name, images) => {
  const s = await featureScores(encoder, images, test, train);
  console.log(`| ${name} | ${s.value.toFixed(1)} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} | ${laplacian(images).toFixed(2)} |`);
};
await row('real training images', real);
for (const sigma of [0.01, 0.02, 0.05, 0.1]) await row(`real + Gaussian noise σ = ${sigma}`, noisy(sigma));
await row('real, 3×3 binomial blur', blurred);
for (const file of args) await row(file, readNpz(file).get('arr_0'));
encoder.dispose();
