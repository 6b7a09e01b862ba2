/**
 * Where this process stands in a multi-process run, read from the environment its launcher set:
 *
 *   reg launch, torchrun, accelerate   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT
 *                                      (torchrun: TORCHELASTIC_USE_AGENT_STORE=True when its agent hosts the store)
 *   Slurm's srun                       SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE, with
 *                                      MASTER_ADDR (and MASTER_PORT, default 29500) exported by the batch script
 *
 * A process without these variables, or in a world of one, runs alone.
 */
import { DistributedError, type ProcessGroupOptions } from './distributed.js';

/** The default rendezvous port, as torchrun's. */
export const DEFAULT_MASTER_PORT = 29500;

/** This process's place in a multi-process run. */
export interface LaunchEnvironment {
  rank: number;
  worldSize: number;
  /** Rank on this machine: picks `cuda:LOCAL_RANK`. */
  localRank: number;
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** torchrun's agent hosts the store (every rank a client, keys under /worker/attempt_N). */
  agentStore?: { restartCount: number };
  /** Which launcher set the variables (for messages). */
  launcher: 'reg launch' | 'torchrun' | 'accelerate' | 'slurm' | 'environment';
}

type Env = Readonly<Record<string, string | undefined>>;

function intVar(env: Env, name: string, min: number, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new DistributedError(`environment variable ${name} is not set (needed for a multi-process run)`);
  }
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) throw new DistributedError(`environment variable ${name}='${raw}' must be an integer ≥ ${min}`);
  return v;
}

/** The first count of Slurm's "4(x2),3" task-per-node lists. */
function slurmTasksPerNode(env: Env): number | undefined {
  const raw = env.SLURM_NTASKS_PER_NODE ?? env.SLURM_STEP_TASKS_PER_NODE ?? env.SLURM_TASKS_PER_NODE;
  const m = raw ? /^(\d+)/.exec(raw) : null;
  return m ? Number(m[1]) : undefined;
}

function launcherOf(env: Env): LaunchEnvironment['launcher'] {
  if (env.REGTS_LAUNCHER) return 'reg launch';
  if (env.TORCHELASTIC_RUN_ID) return 'torchrun';
  if (Object.keys(env).some((k) => k.startsWith('ACCELERATE_'))) return 'accelerate';
  return 'environment';
}

/** Reads the launch environment; null when this process runs alone (no launcher, or a world of one). */
export function launchEnvironment(env: Env = process.env): LaunchEnvironment | null {
  let out: LaunchEnvironment;
  if (env.WORLD_SIZE !== undefined) {
    const worldSize = intVar(env, 'WORLD_SIZE', 1);
    if (worldSize === 1) return null;
    const rank = intVar(env, 'RANK', 0);
    const localWorldSize = intVar(env, 'LOCAL_WORLD_SIZE', 1, worldSize);
    out = {
      rank,
      worldSize,
      localRank: intVar(env, 'LOCAL_RANK', 0, rank % localWorldSize),
      localWorldSize,
      masterAddr: env.MASTER_ADDR || '127.0.0.1',
      masterPort: intVar(env, 'MASTER_PORT', 1, DEFAULT_MASTER_PORT),
      launcher: launcherOf(env),
      ...(env.TORCHELASTIC_USE_AGENT_STORE === 'True'
        ? { agentStore: { restartCount: intVar(env, 'TORCHELASTIC_RESTART_COUNT', 0, 0) } }
        : {}),
    };
  } else if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) {
    const worldSize = intVar(env, 'SLURM_NTASKS', 1);
    if (worldSize === 1) return null;
    if (!env.MASTER_ADDR)
      throw new DistributedError(
        'Slurm run of several tasks without MASTER_ADDR: export MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1) in the batch script',
      );
    const rank = intVar(env, 'SLURM_PROCID', 0);
    const localWorldSize = slurmTasksPerNode(env) ?? worldSize;
    out = {
      rank,
      worldSize,
      localRank: intVar(env, 'SLURM_LOCALID', 0, rank % localWorldSize),
      localWorldSize,
      masterAddr: env.MASTER_ADDR,
      masterPort: intVar(env, 'MASTER_PORT', 1, DEFAULT_MASTER_PORT),
      launcher: 'slurm',
    };
  } else {
    return null;
  }
  if (out.rank >= out.worldSize)
    throw new DistributedError(`rank ${out.rank} is not below the world size ${out.worldSize} (${out.launcher})`);
  if (out.localRank >= out.localWorldSize)
    throw new DistributedError(`local rank ${out.localRank} is not below the local world size ${out.localWorldSize} (${out.launcher})`);
  return out;
}

/** The {@link ProcessGroupOptions} of a launch environment (GLOO_SOCKET_IFNAME honoured as in PyTorch). */
export function groupOptionsOf(launch: LaunchEnvironment, env: Env = process.env): ProcessGroupOptions {
  return {
    rank: launch.rank,
    worldSize: launch.worldSize,
    masterAddr: launch.masterAddr,
    masterPort: launch.masterPort,
    ...(launch.agentStore ? { agentStore: launch.agentStore } : {}),
    ...(env.GLOO_SOCKET_IFNAME ? { glooInterface: env.GLOO_SOCKET_IFNAME } : {}),
  };
}
