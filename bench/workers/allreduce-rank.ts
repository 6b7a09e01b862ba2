// One rank of `npm run bench -- allreduce` (bench/allreduce.ts): times in-place SUM all-reduces of float32
// tensors of the given sizes through reg-ts's c10d Gloo group, and rank 0 prints one JSON line per size.
import * as torch from '../../src/torch/index.js';
import { ProcessGroup } from '../../src/torch/distributed.js';
import { groupOptionsOf, launchEnvironment } from '../../src/torch/launch-env.js';

const [sizesArg, repsArg] = process.argv.slice(2);
const sizes = sizesArg!.split(',').map(Number);
const reps = Number(repsArg);
const pg = await ProcessGroup.create({ ...groupOptionsOf(launchEnvironment()!), timeoutMs: 120_000 });
for (const bytes of sizes) {
  const t = torch.ones([bytes / 4]);
  for (let i = 0; i < 2; i++) await pg.allreduce([t]).wait();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    await pg.barrier().wait();
    const t0 = performance.now();
    await pg.allreduce([t]).wait();
    times.push((performance.now() - t0) / 1000);
  }
  t.dispose();
  if (pg.rank === 0) console.log(JSON.stringify({ bytes, times }));
}
await pg.destroy();
