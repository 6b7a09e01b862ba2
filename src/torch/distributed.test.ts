import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DistributedError, ProcessGroup } from './distributed.js';
import { launchEnvironment } from './launch-env.js';
import { freePort, jsonLines, runRanks } from '../../test/ranks.js';

const worker = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/workers/collectives.js');

describe('c10d collectives over Gloo on 127.0.0.1', () => {
  for (const W of [2, 3]) {
    it(`${W} processes: allreduce sum/max/min, broadcast, allgather, async work, barrier give the known values`, async () => {
      const results = await runRanks(worker, W, { timeoutMs: 60_000 });
      const tri = (W * (W + 1)) / 2; // Σ (r+1)
      for (const r of results) {
        assert.equal(r.code, 0, `rank ${r.rank}: ${r.stderr}`);
        const got = Object.fromEntries(jsonLines<{ name: string }>(r).map((l) => [l.name, l]));
        const v = (name: string): unknown => (got[name] as unknown as { value: unknown }).value;
        const ranks = [...Array(W).keys()];
        assert.deepEqual(v('allreduce-sum'), [
          [tri, 10 * tri, -ranks.reduce((a, b) => a + b)],
          [0, 1, 2].slice(0, 2).map(() => ranks.reduce((a, b) => a + b)),
        ]);
        assert.deepEqual(v('allreduce-max'), [
          [W, 10 * W, 0],
          [W - 1, W - 1],
        ]);
        assert.deepEqual(v('allreduce-min'), [
          [1, 10, -(W - 1)],
          [0, 0],
        ]);
        assert.deepEqual(got['allreduce-big'], { name: 'allreduce-big', first: tri, last: ((1 << 20) - 1) * tri });
        assert.deepEqual(v('broadcast'), [99 + W, 99 + W, 99 + W]);
        assert.deepEqual(
          v('allgather'),
          ranks.map((q) => [q, q * q]),
        );
        assert.deepEqual(
          v('async'),
          [0, 1, 2, 3].map((i) => [ranks.reduce((a, q) => a + i + q, 0)]),
        );
      }
    });
  }

  it('a rank that dies makes the others fail with an error naming their rank and the collective, not hang', async () => {
    const script = path.resolve(path.dirname(worker), 'die-in-collective.js');
    const t0 = performance.now();
    const results = await runRanks(script, 3, { timeoutMs: 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(results[1]!.signal, 'SIGKILL');
    for (const r of [results[0]!, results[2]!]) {
      assert.equal(r.code, 3, `rank ${r.rank}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`DistributedError: allreduce\\(sum\\) on rank ${r.rank} of 3 failed: `));
    }
    assert.ok(seconds < 30, `took ${seconds} s`);
  });

  it('joining times out with a clear error when a rank never comes', async () => {
    const port = await freePort();
    const t0 = performance.now();
    await assert.rejects(
      ProcessGroup.create({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 1500 }),
      (e: Error) =>
        e instanceof DistributedError && /rank 0 of 2 could not join the group at 127\.0\.0\.1:\d+ within 1\.5 s/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 20_000);
  });

  it('a store port already in use is an error naming the address', async () => {
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address() as { port: number };
    try {
      await assert.rejects(
        ProcessGroup.create({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: port, timeoutMs: 2000 }),
        (e: Error) => e instanceof DistributedError && e.message.includes(`127.0.0.1:${port}`),
      );
    } finally {
      srv.close();
    }
  });

  it('bad ranks and world sizes are refused before any connection', async () => {
    await assert.rejects(
      ProcessGroup.create({ rank: 2, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 }),
      /rank must be in \[0, 2\), got 2/,
    );
    await assert.rejects(ProcessGroup.create({ rank: 0, worldSize: 0, masterAddr: '127.0.0.1', masterPort: 29500 }), /worldSize must be/);
    await assert.rejects(ProcessGroup.create({ rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 70000 }), /master port/);
  });
});

describe('launch environment', () => {
  it('reads torchrun, Slurm and plain variables, and runs alone without them', () => {
    assert.equal(launchEnvironment({}), null);
    assert.equal(launchEnvironment({ WORLD_SIZE: '1', RANK: '0' }), null);
    assert.deepEqual(
      launchEnvironment({
        RANK: '5',
        WORLD_SIZE: '8',
        LOCAL_RANK: '1',
        LOCAL_WORLD_SIZE: '4',
        MASTER_ADDR: '10.0.0.1',
        MASTER_PORT: '29400',
        TORCHELASTIC_RUN_ID: 'x',
        TORCHELASTIC_USE_AGENT_STORE: 'True',
        TORCHELASTIC_RESTART_COUNT: '2',
      }),
      {
        rank: 5,
        worldSize: 8,
        localRank: 1,
        localWorldSize: 4,
        masterAddr: '10.0.0.1',
        masterPort: 29400,
        launcher: 'torchrun',
        agentStore: { restartCount: 2 },
      },
    );
    assert.deepEqual(
      launchEnvironment({ SLURM_PROCID: '3', SLURM_NTASKS: '4', SLURM_LOCALID: '1', SLURM_NTASKS_PER_NODE: '2(x2)', MASTER_ADDR: 'node1' }),
      { rank: 3, worldSize: 4, localRank: 1, localWorldSize: 2, masterAddr: 'node1', masterPort: 29500, launcher: 'slurm' },
    );
    assert.throws(() => launchEnvironment({ SLURM_PROCID: '0', SLURM_NTASKS: '2' }), /Slurm run of several tasks without MASTER_ADDR/);
    assert.throws(() => launchEnvironment({ WORLD_SIZE: 'two', RANK: '0' }), /WORLD_SIZE='two' must be an integer/);
    assert.throws(() => launchEnvironment({ WORLD_SIZE: '2', RANK: '2' }), /rank 2 is not below the world size 2/);
  });
});
