// Dev-only oracle for the MobileNetV2 encoder: runs nsfwjs 4.4.0's real mobilenet_v2 layers model in
// TF.js itself (pure-JS CPU backend), truncated after block_10, on real images, and writes
//
//   test/fixtures/encoders/mobilenetv2-block10/{model.min.js,group1-shard1of1.min.js}
//       the real nsfwjs files cut after block_10_project_BN: real topology entries and the real
//       uint8-quantised weight bytes of those layers (≈ 0.4 MB), in nsfwjs's bundled-module format,
//       so the tests run the loader + conversion + network offline on the real weights;
//   test/fixtures/encoders/mobilenetv2_tfjs.safetensors
//       per case: the input pixels (uint8, B×C×H×W) and TF.js's outputs (float32, NHWC as TF.js gives
//       them) for the output layer and a few taps.
//
// The oracle is independent of src/'s model code: the bundled modules are evaluated by V8 (node:vm, in
// test/nsfwjs-slice.ts, which also cuts them), the model is built and run by @tensorflow/tfjs, and the
// preprocessing is nsfwjs's own (`toFloat().div(255)`, then `tf.image.resizeBilinear(x, [s, s],
// alignCorners = true)`). src/ is used only to fetch the pinned tarball (integrity-checked) and to
// decode the committed data fixtures into pixels.
//
// Run (TF.js is NOT a dependency of reg-ts; install it outside the repo):
//   mkdir -p /tmp/tfjs-check && (cd /tmp/tfjs-check && npm init -y && npm install --no-save @tensorflow/tfjs@4.22.0)
//   npx tsc -p tsconfig.json && TFJS_DIR=/tmp/tfjs-check node test/reference/encoders/tfjs_mobilenetv2.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dist = (p) => import(join(ROOT, 'dist', p));
const tf = createRequire(join(process.env.TFJS_DIR ?? '/tmp/tfjs-check', 'package.json'))('@tensorflow/tfjs');
await tf.setBackend('cpu');

const { NSFWJS_PACKAGE } = await dist('src/models/encoders/tfjs/nsfwjs.js');
const { sliceNsfwjsMobileNet } = await dist('test/nsfwjs-slice.js');
const { loadFashionMnist } = await dist('src/data/fashion-mnist.js');
const { loadEmoji } = await dist('src/data/emoji.js');

const LAST = 'block_10_project_BN';
const OUT = join(ROOT, 'test/fixtures/encoders');

// ---- the real files (evaluated by V8) cut after block_10_project_BN -------------------------------
const { model, weights, weightData, bundle } = await sliceNsfwjsMobileNet(LAST);
const kept = model.modelTopology.model_config.config.layers;
mkdirSync(join(OUT, 'mobilenetv2-block10'), { recursive: true });
for (const [name, source] of Object.entries(bundle((m) => JSON.stringify(m))))
  writeFileSync(join(OUT, 'mobilenetv2-block10', name), source);

// ---- TF.js model at any input size ------------------------------------------------------------------
kept[0].config.batch_input_shape = [null, null, null, 3];
const net = await tf.loadLayersModel(
  tf.io.fromMemory({
    modelTopology: model.modelTopology,
    weightSpecs: weights,
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  }),
);

/** nsfwjs's NSFWJS.infer preprocessing, then the model; outputs NHWC float32 per requested layer. */
function run(pixelsHwc, [h, w], size, range, layers) {
  const m = tf.model({ inputs: net.inputs, outputs: layers.map((n) => net.getLayer(n).output) });
  return tf.tidy(() => {
    const batch = tf.stack(pixelsHwc.map((p) => tf.tensor3d(p, [h, w, 3], 'int32')));
    let x = batch.toFloat().div(tf.scalar(255));
    if (h !== size || w !== size) x = tf.image.resizeBilinear(x, [size, size], true);
    if (range === 'imagenet') x = x.mul(2).sub(1);
    const out = m.predict(x);
    return (Array.isArray(out) ? out : [out]).map((t) => ({ shape: t.shape, data: t.dataSync().slice() }));
  });
}

const chwToHwc = (chw, c, h, w) => {
  const out = new Int32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let k = 0; k < 3; k++) out[(y * w + x) * 3 + k] = chw[(c === 1 ? 0 : k) * h * w + y * w + x];
  return out;
};

async function images(dataset, indices) {
  const px = [];
  for (const i of indices) px.push((await dataset.get(i)).pixels);
  const { channels: c, height: h, width: w } = dataset;
  const chw = new Uint8Array(indices.length * c * h * w);
  px.forEach((p, i) => chw.set(p, i * p.length));
  return { chw, shape: [indices.length, c, h, w], hwc: px.map((p) => chwToHwc(p, c, h, w)) };
}

const fmnist = loadFashionMnist({ dir: join(ROOT, 'test/fixtures/data/fashion-mnist'), split: 'test' });
const emoji = await loadEmoji({ dir: join(ROOT, 'test/fixtures/data/emoji'), minPerClass: 1 });
const cases = [
  // Fashion-MNIST 28×28 grey upsampled to 224 (14×14 tokens), nsfwjs's [0, 1] input.
  { name: 'fmnist224', data: await images(fmnist, [0, 1, 2, 3]), size: 224, range: 'nsfwjs', taps: [] },
  // Emoji 64×64 RGB at 96 px (6×6 tokens); taps check padding/strides and the 384-channel layer.
  {
    name: 'emoji96',
    data: await images(emoji, [0, 7, 20, 30]),
    size: 96,
    range: 'nsfwjs',
    taps: ['block_3_depthwise', 'block_3_project_BN', 'block_6_depthwise_BN', 'block_10_depthwise_relu'],
  },
  // Emoji at their own 64 px (no resize, 4×4 tokens), Keras ImageNet [−1, 1] input.
  { name: 'emoji64_imagenet', data: await images(emoji, [3, 11]), size: 64, range: 'imagenet', taps: [] },
];

const tensors = {};
for (const c of cases) {
  const [, , h, w] = c.data.shape;
  const outs = run(c.data.hwc, [h, w], c.size, c.range, [LAST, ...c.taps]);
  tensors[`${c.name}.images`] = { dtype: 'U8', shape: c.data.shape, bytes: Buffer.from(c.data.chw) };
  [LAST, ...c.taps].forEach((n, i) => {
    tensors[`${c.name}.${n}`] = { dtype: 'F32', shape: outs[i].shape, bytes: Buffer.from(outs[i].data.buffer) };
  });
  console.log(c.name, outs.map((o) => o.shape.join('x')).join(' '));
}

// ---- safetensors writer (sorted names, 8-byte-aligned header) ----------------------------------------
const names = Object.keys(tensors).sort();
const header = {
  __metadata__: {
    source: `npm:${NSFWJS_PACKAGE.name}@${NSFWJS_PACKAGE.version} dist/models/mobilenet_v2, cut after ${LAST}`,
    oracle: `@tensorflow/tfjs ${tf.version.tfjs} (${tf.getBackend()} backend)`,
    cases: JSON.stringify(cases.map((c) => ({ name: c.name, size: c.size, range: c.range, taps: c.taps }))),
    layout: 'images: uint8 B×C×H×W (dataset pixels); outputs: float32 B×h×w×C as TF.js returns them',
  },
};
let at = 0;
for (const n of names) {
  const t = tensors[n];
  header[n] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
  at += t.bytes.length;
}
let json = JSON.stringify(header);
json += ' '.repeat((8 - (json.length % 8)) % 8);
const len = Buffer.alloc(8);
len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
writeFileSync(join(OUT, 'mobilenetv2_tfjs.safetensors'), Buffer.concat([len, Buffer.from(json), ...names.map((n) => tensors[n].bytes)]));
console.log('wrote', OUT);
