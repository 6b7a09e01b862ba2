/**
 * `reg launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P] -- <command> …`:
 * starts N local ranks of a `reg` command, as torchrun does, and watches them. Each rank gets RANK,
 * WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT; the command joins the group
 * (src/cli/launch-group.ts). When one rank fails, the others are stopped (SIGTERM, then SIGKILL after a
 * grace period) and `reg launch` exits with that rank's code. Ctrl-C and SIGTERM are passed on to every
 * rank (a training run then stops after the current step with a checkpoint).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Command, UsageError } from '../args.js';
import { DEFAULT_MASTER_PORT } from '../../torch/launch-env.js';

/** Seconds a rank may take to stop after SIGTERM before it is killed. */
const GRACE_SECONDS = 10;

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** What one rank ended with. */
interface RankExit {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

const describeExit = (e: RankExit): string => (e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`);

/**
 * The environment of local rank `local`: the launch variables, plus one share of the cores for libtorch's
 * and OpenBLAS's thread pools when the user set none (as torchrun sets OMP_NUM_THREADS).
 */
function rankEnv(local: number, o: { nproc: number; nnodes: number; nodeRank: number; addr: string; port: number }): NodeJS.ProcessEnv {
  const threads = String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
  return {
    ...process.env,
    RANK: String(o.nodeRank * o.nproc + local),
    WORLD_SIZE: String(o.nnodes * o.nproc),
    LOCAL_RANK: String(local),
    LOCAL_WORLD_SIZE: String(o.nproc),
    GROUP_RANK: String(o.nodeRank),
    MASTER_ADDR: o.addr,
    MASTER_PORT: String(o.port),
    REGTS_LAUNCHER: '1',
    OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? threads,
    OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? threads,
  };
}

/** Waits for every rank; the first failure stops the others. Resolves with the exit code of the launch. */
function watch(children: ChildProcess[]): Promise<number> {
  return new Promise((resolve) => {
    let failed: RankExit | null = null;
    let running = children.length;
    let killTimer: NodeJS.Timeout | undefined;
    const stopAll = (): void => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      killTimer ??= setTimeout(
        () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')),
        GRACE_SECONDS * 1000,
      );
    };
    const forward = (sig: NodeJS.Signals): void => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    children.forEach((child, rank) =>
      child.on('exit', (code, signal) => {
        running--;
        const exit = { rank, code, signal };
        if ((code !== 0 || signal) && failed === null) {
          failed = exit;
          if (running > 0) {
            process.stderr.write(
              `reg launch: rank ${rank} (pid ${child.pid}) ${describeExit(exit)}; stopping the other ${running} rank(s)\n`,
            );
            stopAll();
          }
        }
        if (running === 0) {
          clearTimeout(killTimer);
          process.off('SIGINT', forward);
          process.off('SIGTERM', forward);
          if (failed) process.stderr.write(`reg launch: failed: rank ${failed.rank} ${describeExit(failed)}\n`);
          resolve(failed === null ? 0 : (failed.code ?? 1) || 1);
        }
      }),
    );
  });
}

export const launchCommand: Command = {
  name: 'launch',
  positionals: '-- <command> [options]',
  summary: 'run a reg command on several processes (and machines): data-parallel training, sharded sampling',
  options: {
    nprocPerNode: { type: 'integer', default: 1, min: 1, help: 'processes on this machine (one per GPU on CUDA)' },
    nnodes: { type: 'integer', default: 1, min: 1, help: 'machines taking part' },
    nodeRank: { type: 'integer', default: 0, min: 0, help: 'rank of this machine, 0 … nnodes−1 (machine 0 hosts the rendezvous)' },
    masterAddr: {
      type: 'string',
      default: '127.0.0.1',
      help: 'address of machine 0, reachable from every machine (not 127.0.0.1 when nnodes > 1)',
    },
    masterPort: { type: 'integer', default: DEFAULT_MASTER_PORT, min: 1, max: 65535, help: 'TCP port of the rendezvous on machine 0' },
  },
  async run({ options, positionals }) {
    const o = {
      nproc: options.nprocPerNode as number,
      nnodes: options.nnodes as number,
      nodeRank: options.nodeRank as number,
      addr: options.masterAddr as string,
      port: options.masterPort as number,
    };
    if (positionals.length === 0) throw new UsageError('no command to launch: reg launch --nproc-per-node N -- train --config …');
    if (positionals[0] === 'launch') throw new UsageError('reg launch cannot launch itself');
    if (o.nodeRank >= o.nnodes) throw new UsageError(`--node-rank ${o.nodeRank} must be below --nnodes ${o.nnodes}`);
    if (o.nnodes > 1 && /^(127\.|localhost$)/.test(o.addr))
      process.stderr.write(
        `reg launch: note: --master-addr ${o.addr} is only reachable from this machine; with --nnodes ${o.nnodes} every machine must reach it\n`,
      );
    const children = Array.from({ length: o.nproc }, (_, local) =>
      spawn(process.execPath, [MAIN, ...positionals], { env: rankEnv(local, o), stdio: 'inherit' }),
    );
    const code = await watch(children);
    if (code !== 0) process.exit(code); // the failed rank's code (its error is already on stderr)
  },
};
