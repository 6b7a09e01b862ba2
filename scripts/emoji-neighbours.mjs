// How far each emoji category's drawings lie from one another (docs/demo-tuning.md §6): per category,
// the pixel standard deviation around the category's mean image, and the mean distance from each
// image to its nearest other image of the same category,
//
//   nn(i) = min over j ≠ i in the category of √(Σ_d (x_i,d − x_j,d)² / D),   pixels in [0, 1], 32×32 RGB,
//
// beside the per-category class consistency of a demo's samples when its demo.json is given.
//
//   npm run build && node scripts/emoji-neighbours.mjs [runs/demo-emoji/demo.json]
import { readFileSync } from 'node:fs';
import { loadEmoji } from '../dist/src/data/emoji.js';

const demoJson = process.argv[2];
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

console.log(
  `| category | images | pixel std around the mean | nearest-neighbour RMS distance |${consistency ? ' class consistency |' : ''}`,
);
console.log(`|---|---|---|---|${consistency ? '---|' : ''}`);
for (let c = 0; c < ds.numClasses; c++) {
  const members = images.filter((_, i) => ds.labels[i] === c);
  const mean = new Float64Array(D);
  for (const x of members) for (let d = 0; d < D; d++) mean[d] += x[d] / members.length;
  const variance = members.reduce((s, x) => s + squaredDistance(x, mean), 0) / (members.length * D);
  let nearest = 0;
  for (const x of members) {
    let best = Infinity;
    for (const y of members) if (y !== x) best = Math.min(best, squaredDistance(x, y));
    nearest += Math.sqrt(best / D) / members.length;
  }
  const tail = consistency ? ` ${consistency[c].toFixed(2)} |` : '';
  console.log(`| ${ds.classNames[c]} | ${members.length} | ${Math.sqrt(variance).toFixed(3)} | ${nearest.toFixed(3)} |${tail}`);
}
