// How far each emoji category's drawings lie from one another (docs/demo-tuning.md §6): per category,
// the pixel standard deviation around the category's mean image, and the mean distance from each
// image to its nearest other image of the same category,
//
//   nn(i) = min over j ≠ i in the category of √(Σ_d (x_i,d − x_j,d)² / D),   pixels in [0, 1], 32×32 RGB,
//
// beside the per-category class consistency of a demo's samples when its demo.json is given. With the
// demo's evaluation samples as well (eval/samples: samples.npz, NHWC uint8, and samples.json's labels),
// also how close each sample lies to a training image of its category,
//
//   copy(s) = min over training images j of s's category of √(Σ_d (s_d − x_j,d)² / D),
//
// the mean over the category's samples: far below nn, the model reproduces training images. The
// samples' classes are read as their model was trained (samples.json names the checkpoint): a
// subcategory or name run's classes count as their category. For a name run (one class per emoji),
// also the distance from each sample to the very emoji it was asked for, and the share of samples
// whose nearest training image of their category is that emoji.
//
//   npm run build && node scripts/emoji-neighbours.mjs [runs/demo-emoji/demo.json [runs/demo-emoji/eval/samples]]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadEmoji } from '../dist/src/data/emoji.js';
import { recordedCheckpoint, runDataset, scoredLabels } from '../dist/src/eval/embedded-run.js';
import { readCheckpointConfig } from '../dist/src/models/checkpoint.js';
import { readNpz } from '../dist/src/eval/npz.js';

const [demoJson, samplesDir] = process.argv.slice(2);
const consistency = demoJson ? JSON.parse(readFileSync(demoJson, 'utf8')).classConsistency?.perClass : undefined;
const ds = await loadEmoji({ resolution: 32 });
const D = ds.channels * ds.height * ds.width;
const images = [];
for (let i = 0; i < ds.length; i++) images.push(Float64Array.from((await ds.get(i)).pixels, (v) => v / 255));

const squaredDistance = (a, b) => {
  let s = 0;
  for (let d = 0; d < D; d++) s += (a[d] - b[d]) ** 2;
  return s;
};

/**
 * The evaluation samples as CHW pixels in [0, 1] with their category (`label`) and the class their
 * model was asked for (`requested`), and the run's dataset; undefined without a samples folder.
 */
function loadSamples(dir) {
  if (!dir) return undefined;
  const record = JSON.parse(readFileSync(path.join(dir, 'samples.json'), 'utf8'));
  const requested = record.labels;
  const train = readCheckpointConfig(recordedCheckpoint(record)).train;
  const found = runDataset(train) ?? { dataset: 'emoji', fineLabels: null, dataDir: '' };
  const labels = scoredLabels(requested, found);
  const arr = readNpz(path.join(dir, 'samples.npz')).get('arr_0');
  const [n, h, w, ch] = arr.shape;
  if (h !== ds.height || w !== ds.width || ch !== ds.channels)
    throw new Error(`${dir}: samples are ${h}×${w}×${ch}, the dataset ${ds.height}×${ds.width}×${ds.channels}`);
  const out = [];
  for (let i = 0; i < n; i++) {
    const x = new Float64Array(D);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let c = 0; c < ch; c++) x[c * h * w + y * w + xx] = arr.data[((i * h + y) * w + xx) * ch + c] / 255;
    out.push({ pixels: x, label: labels[i], requested: requested[i] });
  }
  return { list: out, byName: found.fineLabels === 'name' };
}
const loaded = loadSamples(samplesDir);
const samples = loaded?.list;

const columns = ['category', 'images', 'pixel std around the mean', 'nearest-neighbour RMS distance'];
if (consistency) columns.push('class consistency');
if (samples) columns.push("samples' RMS distance to the nearest training image");
if (loaded?.byName) columns.push('… to the emoji asked for', 'share whose nearest is the emoji asked for');
console.log(`| ${columns.join(' | ')} |`);
console.log(`|${columns.map(() => '---|').join('')}`);
/** The mean of `values`, formatted with `digits`, or a dash when there are none. */
const meanCell = (values, digits) => (values.length > 0 ? (values.reduce((x, y) => x + y, 0) / values.length).toFixed(digits) : '–');

for (let c = 0; c < ds.numClasses; c++) {
  const memberIndex = [];
  for (let i = 0; i < ds.length; i++) if (ds.labels[i] === c) memberIndex.push(i);
  const members = memberIndex.map((i) => images[i]);
  const mean = new Float64Array(D);
  for (const x of members) for (let d = 0; d < D; d++) mean[d] += x[d] / members.length;
  const variance = members.reduce((s, x) => s + squaredDistance(x, mean), 0) / (members.length * D);
  let nearest = 0;
  for (const x of members) {
    let best = Infinity;
    for (const y of members) if (y !== x) best = Math.min(best, squaredDistance(x, y));
    nearest += Math.sqrt(best / D) / members.length;
  }
  const cells = [ds.classNames[c], members.length, Math.sqrt(variance).toFixed(3), nearest.toFixed(3)];
  if (consistency) cells.push(consistency[c].toFixed(2));
  if (samples) {
    const copy = [];
    const own = [];
    const hit = [];
    for (const s of samples.filter((s) => s.label === c)) {
      const d = members.map((x) => squaredDistance(s.pixels, x));
      const k = d.indexOf(Math.min(...d));
      copy.push(Math.sqrt(d[k] / D));
      if (!loaded.byName) continue;
      // a name run's class r is the dataset's image r (one image per class, in dataset order)
      own.push(Math.sqrt(squaredDistance(s.pixels, images[s.requested]) / D));
      hit.push(memberIndex[k] === s.requested ? 1 : 0);
    }
    cells.push(meanCell(copy, 3));
    if (loaded.byName) cells.push(meanCell(own, 3), meanCell(hit, 2));
  }
  console.log(`| ${cells.join(' | ')} |`);
}
