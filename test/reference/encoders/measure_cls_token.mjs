// Dev-only measurement: which MobileNetV2 summary makes the best class token?
//
// REG entangles one global token with the image; it should carry the image's semantics. We compare
// candidate class tokens by how well they separate Fashion-MNIST classes with no training:
//   NCM   nearest class mean (cosine) — class means from N train images, accuracy on M test images
//   1-NN  nearest train neighbour (cosine)
// Candidates: mean / max pooling of block_10_project_BN (96-d, the patch tokens' layer), and mean
// pooling of block_10_depthwise_relu (384-d, inside block 10), at the given input size; raw pixels
// (centred, 784-d) as the no-encoder baseline.
//
//   npx tsc -p tsconfig.json && node test/reference/encoders/measure_cls_token.mjs [inputSize=64] [N=2000] [M=1000]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const torch = await import(join(ROOT, 'dist/src/torch/index.js'));
const { createEncoder } = await import(join(ROOT, 'dist/src/models/encoders/index.js'));
const { loadFashionMnist } = await import(join(ROOT, 'dist/src/data/fashion-mnist.js'));

const [size, N, M] = [Number(process.argv[2] ?? 64), Number(process.argv[3] ?? 2000), Number(process.argv[4] ?? 1000)];
const enc96 = await createEncoder('mobilenetv2', { inputSize: size });
const enc384 = await createEncoder('mobilenetv2', { inputSize: size, layer: 'block_10_depthwise_relu' });

async function features(split, n) {
  const ds = loadFashionMnist({ split, limit: n });
  const out = { pixels: [], mean96: [], max96: [], mean384: [], labels: Int32Array.from(ds.labels.subarray(0, n)) };
  for (let s = 0; s < n; s += 100) {
    const b = Math.min(100, n - s);
    const px = new Uint8Array(b * 784);
    for (let k = 0; k < b; k++) px.set((await ds.get(s + k)).pixels, k * 784);
    torch.scope(() => {
      const x = torch.fromBytes(px, 'uint8', [b, 1, 28, 28]);
      const a = enc96.encode(x);
      out.pixels.push(torch.keep(x.float().flatten(1).sub(128)));
      out.mean96.push(torch.keep(a.cls));
      out.max96.push(torch.keep(a.patches.amax(1)));
      out.mean384.push(torch.keep(enc384.encode(x).cls));
    });
  }
  for (const k of ['pixels', 'mean96', 'max96', 'mean384']) out[k] = torch.keep(torch.F.normalize(torch.cat(out[k], 0), { dim: 1 }));
  return out;
}

const train = await features('train', N);
const test = await features('test', M);
const acc = (pred, labels) => pred.reduce((a, p, i) => a + (p === labels[i] ? 1 : 0), 0) / labels.length;
console.log(`Fashion-MNIST, input ${size} px (${enc96.grid.join('×')} tokens), ${N} train / ${M} test images`);
for (const k of ['pixels', 'mean96', 'max96', 'mean384']) {
  torch.scope(() => {
    const tr = train[k];
    const te = test[k];
    const means = torch.F.normalize(
      torch.stack(
        Array.from({ length: 10 }, (_, c) =>
          tr
            .index([
              torch.tensor(
                Array.from(train.labels).flatMap((l, i) => (l === c ? [i] : [])),
                { dtype: 'int64' },
              ),
            ])
            .mean(0),
        ),
      ),
      { dim: 1 },
    );
    const ncm = acc(te.matmul(means.t()).argmax(1).toArray(), test.labels);
    const nn = te
      .matmul(tr.t())
      .argmax(1)
      .toArray()
      .map((i) => train.labels[i]);
    console.log(`${k.padEnd(8)} NCM ${(100 * ncm).toFixed(1)}%  1-NN ${(100 * acc(nn, test.labels)).toFixed(1)}%`);
  });
}
