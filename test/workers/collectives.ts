// One rank of the collectives test (src/torch/distributed.test.ts): runs each collective on known values
// and prints what it got as one JSON line per collective.
import * as torch from '../../src/torch/index.js';
import { ProcessGroup } from '../../src/torch/distributed.js';
import { groupOptionsOf, launchEnvironment } from '../../src/torch/launch-env.js';

const launch = launchEnvironment()!;
const pg = await ProcessGroup.create({ ...groupOptionsOf(launch), timeoutMs: 20_000 });
const r = pg.rank;
const show = (name: string, t: torch.Tensor | torch.Tensor[]): void =>
  console.log(JSON.stringify({ name, value: Array.isArray(t) ? t.map((x) => x.toArray()) : t.toArray() }));

for (const op of ['sum', 'max', 'min'] as const) {
  const a = torch.tensor([r + 1, 10 * (r + 1), -r], { dtype: 'float32' });
  const b = torch.full([2], r, { dtype: 'float64' });
  await pg.allreduce([a], op).wait();
  await pg.allreduce([b], op).wait();
  show(`allreduce-${op}`, [a, b]);
}
const big = torch.arange(0, 1 << 20, 1, { dtype: 'float32' }).mul(r + 1);
await pg.allreduce([big]).wait();
console.log(JSON.stringify({ name: 'allreduce-big', first: big.select(0, 1).item(), last: big.select(0, (1 << 20) - 1).item() }));

const c = torch.full([3], 100 + r, { dtype: 'int64' });
await pg.broadcast([c], pg.worldSize - 1).wait();
show('broadcast', c);

const outs = Array.from({ length: pg.worldSize }, () => torch.zeros([2], { dtype: 'float32' }));
await pg.allgather([outs], [torch.tensor([r, r * r], { dtype: 'float32' })]).wait();
show('allgather', outs);

// several collectives in flight at once, waited in order
const pending = Array.from({ length: 4 }, (_, i) => {
  const t = torch.full([8], i + r, { dtype: 'float32' });
  return { t, work: pg.allreduce([t]) };
});
for (const p of pending) await p.work.wait();
show(
  'async',
  pending.map((p) => p.t.select(0, 0)),
);
await pg.barrier().wait();
await pg.destroy();
