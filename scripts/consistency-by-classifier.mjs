// Class consistency of one set of samples as judged by Fashion-MNIST classifiers trained for different
// numbers of epochs (docs/demo-tuning.md): the default classifier (3 epochs) and stricter ones. Each
// classifier is trained once and cached beside the default one (the cache key holds its settings).
//
//   npm run build && node scripts/consistency-by-classifier.mjs runs/demo/eval/samples [epochs …]   (default: 3 8 15)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as torch from '../dist/src/torch/index.js';
import { classConsistency, embeddedClassifier } from '../dist/src/eval/class-consistency.js';
import { readNpz } from '../dist/src/eval/npz.js';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/consistency-by-classifier.mjs <samples dir with samples.npz and samples.json> [epochs …]');
  process.exit(2);
}
const epochsList = rest.length ? rest.map(Number) : [3, 8, 15];
const labels = Int32Array.from(JSON.parse(readFileSync(path.join(dir, 'samples.json'), 'utf8')).labels);
const samples = readNpz(path.join(dir, 'samples.npz')).get('arr_0');
const size = samples.shape[1];
console.log('| classifier epochs | its test accuracy | class consistency | per class |\n|---|---|---|---|');
for (const epochs of epochsList) {
  const { classifier, record } = await embeddedClassifier('fashion-mnist', size, { settings: { epochs }, log: (l) => console.error(l) });
  const r = torch.scope(() => classConsistency(classifier, torch.fromBytes(samples.data, 'uint8', samples.shape), labels));
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  console.log(`| ${epochs} | ${pct(record.testAccuracy)} | ${pct(r.score)} | ${r.perClass.map((p) => p.toFixed(2)).join(' ')} |`);
  classifier.dispose();
}
