// Dev-only measurement: which input range do the frozen MobileNetV2 layers of nsfwjs expect?
//
// A BatchNormalization layer stores the moving mean μ and variance σ² of its input over the data it was
// trained on. Feeding images in the right range reproduces them; the wrong range shifts them. For each
// BN layer we compare the per-channel batch mean m and variance v of its input on real photographs with
// the stored statistics:
//   z = mean_c |m_c − μ_c| / √(σ²_c + ε)   (mean shift in stored standard deviations)
//   r = median_c (v_c + ε) / (σ²_c + ε)     (variance ratio)
// for the two candidate ranges: nsfwjs's [0, 1] (x/255) and Keras ImageNet's [−1, 1] (x/127.5 − 1).
//
// Photos: the natural images found on the dev machine (matplotlib's grace_hopper.jpg, scikit-learn's
// china.jpg and flower.jpg), 224×224 crops at several positions and scales (bilinear resize).
//
//   npx tsc -p tsconfig.json && node test/reference/encoders/measure_pixel_range.mjs [weights]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const torch = await import(join(ROOT, 'dist/src/torch/index.js'));
const { loadMobileNetV2 } = await import(join(ROOT, 'dist/src/models/encoders/mobilenetv2-weights.js'));
const { loadFashionMnist } = await import(join(ROOT, 'dist/src/data/fashion-mnist.js'));

const PHOTOS = [
  '/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg',
  '/usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg',
  '/usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg',
].filter((p) => existsSync(p));

async function crops(path) {
  const img = sharp(path).removeAlpha();
  const { width, height } = await img.metadata();
  const out = [];
  for (const frac of [1, 0.7, 0.5]) {
    const side = Math.floor(Math.min(width, height) * frac);
    for (const [fx, fy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0.5, 0.5],
    ]) {
      if (frac === 1 && (fx !== 0.5 || fy !== 0.5)) continue;
      const left = Math.floor((width - side) * fx);
      const top = Math.floor((height - side) * fy);
      const buf = await sharp(path)
        .removeAlpha()
        .extract({ left, top, width: side, height: side })
        .resize(224, 224, { kernel: 'linear' })
        .raw()
        .toBuffer();
      out.push(buf);
    }
  }
  return out;
}

function batchFromHwc(list, size) {
  const chw = new Uint8Array(list.length * 3 * size * size);
  list.forEach((hwc, b) => {
    for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) chw[b * 3 * size * size + c * size * size + i] = hwc[i * 3 + c];
  });
  return torch.fromBytes(chw, 'uint8', [list.length, 3, size, size]);
}

const { net } = await loadMobileNetV2(process.argv[2] ? { weights: process.argv[2] } : {});
const state = net.stateDict();
const bnLayers = net.layers.filter((l) => l.kind === 'BatchNormalization').map((l) => l.name);

function stats(x) {
  const out = new Map();
  const inputs = new Map(net.layers.filter((l) => l.kind === 'BatchNormalization').map((l) => [l.inputs[0], l.name]));
  torch.noGrad(() =>
    torch.scope(() => {
      net.forward(x, {
        hook: (name, y) => {
          const bn = inputs.get(name);
          if (bn === undefined) return;
          const mu = state.get(`${bn}.running_mean`);
          const var_ = state.get(`${bn}.running_var`);
          const m = y.mean([0, 2, 3]);
          const v = y.var([0, 2, 3], { correction: 0 });
          const z = m.sub(mu).abs().div(var_.add(1e-3).sqrt()).mean().item(); // ε as in the layer (some σ² are 0)
          const ratios = v
            .add(1e-3)
            .div(var_.add(1e-3))
            .toArray()
            .sort((a, b) => a - b);
          out.set(bn, { z, r: ratios[ratios.length >> 1] });
        },
      });
    }),
  );
  return out;
}

async function report(label, images) {
  const x01 = torch.scope(() => images.float().div(255));
  const xpm = torch.scope(() => x01.mul(2).sub(1));
  const a = stats(x01);
  const b = stats(xpm);
  console.log(`\n${label}: mean shift z (stored σ) and variance ratio r, per BN layer`);
  console.log('layer'.padEnd(28), '[0,1] z', '  r    ', ' [-1,1] z', '  r');
  let wins = 0;
  for (const n of bnLayers) {
    const [p, q] = [a.get(n), b.get(n)];
    if (q.z < p.z) wins++;
    console.log(
      n.padEnd(28),
      p.z.toFixed(3).padStart(7),
      p.r.toFixed(3).padStart(7),
      q.z.toFixed(3).padStart(9),
      q.r.toFixed(3).padStart(7),
    );
  }
  const avg = (s) => [...s.values()].reduce((t, v) => t + v.z, 0) / s.size;
  console.log(
    `mean z over ${bnLayers.length} layers: [0,1] ${avg(a).toFixed(3)}, [-1,1] ${avg(b).toFixed(3)}; [-1,1] closer in ${wins}/${bnLayers.length}`,
  );
}

const photoCrops = (await Promise.all(PHOTOS.map(crops))).flat();
await report(`photos (${photoCrops.length} crops of ${PHOTOS.length} photos)`, batchFromHwc(photoCrops, 224));

const fm = loadFashionMnist({ dir: join(ROOT, 'test/fixtures/data/fashion-mnist'), split: 'test', channels: 3 });
const fmPix = [];
for (let i = 0; i < 32; i++) fmPix.push((await fm.get(i)).pixels);
const fmChw = new Uint8Array(32 * 3 * 28 * 28);
fmPix.forEach((p, i) => fmChw.set(p, i * p.length));
const fmX = torch.scope(() =>
  torch.F.interpolate(torch.fromBytes(fmChw, 'uint8', [32, 3, 28, 28]).float(), { size: [224, 224], mode: 'bilinear', alignCorners: true })
    .round()
    .clamp(0, 255)
    .to('uint8'),
);
await report('Fashion-MNIST (32 test images, bilinear to 224)', fmX);
