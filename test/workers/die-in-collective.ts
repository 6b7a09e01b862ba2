// One rank of the dead-peer test (src/torch/distributed.test.ts): rank 1 kills itself with SIGKILL
// before the second allreduce; the others must fail that allreduce with a DistributedError (exit 3).
import * as torch from '../../src/torch/index.js';
import { DistributedError, ProcessGroup } from '../../src/torch/distributed.js';
import { groupOptionsOf, launchEnvironment } from '../../src/torch/launch-env.js';

const pg = await ProcessGroup.create({ ...groupOptionsOf(launchEnvironment()!), timeoutMs: 20_000 });
const t = torch.ones([1024]);
await pg.allreduce([t]).wait();
if (pg.rank === 1) process.kill(process.pid, 'SIGKILL');
try {
  for (let i = 0; i < 100; i++) await pg.allreduce([t]).wait();
  process.exit(0);
} catch (e) {
  if (!(e instanceof DistributedError)) throw e;
  process.stderr.write(`${e.name}: ${e.message}\n`);
  process.exit(3);
}
