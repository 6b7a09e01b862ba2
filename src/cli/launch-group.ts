/**
 * The process group of a `reg` command started by a launcher (`reg launch`, torchrun, Slurm's srun,
 * accelerate): read from the environment (src/torch/launch-env.ts), joined once, left at the end.
 * Alone (no launcher, or a world of one), there is no group and nothing changes.
 *
 *   REGTS_DIST_TIMEOUT   seconds to wait for the other ranks, at the start and in every collective
 *                        (default 300): a rank that stopped answering fails the others after it
 */
import { cudaAvailable } from '../torch/runtime.js';
import { DEFAULT_TIMEOUT_MS, distributedBackends, ProcessGroup } from '../torch/distributed.js';
import { groupOptionsOf, launchEnvironment, type LaunchEnvironment } from '../torch/launch-env.js';
import { UsageError } from './args.js';

/** A command's place in a launched run. */
export interface LaunchedRun {
  group: ProcessGroup | null;
  launch: LaunchEnvironment | null;
  /** `--device` with `cuda` made `cuda:LOCAL_RANK` (each rank takes its own GPU). */
  device: string;
}

function timeoutMs(): number {
  const raw = process.env.REGTS_DIST_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_TIMEOUT_MS;
  const s = Number(raw);
  if (!(s > 0)) throw new UsageError(`REGTS_DIST_TIMEOUT must be a number of seconds > 0, got '${raw}'`);
  return s * 1000;
}

/**
 * Joins the launcher's group when there is one. On CUDA the collectives go through NCCL when the addon
 * has it (Gloo otherwise); `cuda` becomes `cuda:LOCAL_RANK`.
 */
export async function joinLaunchedRun(device: string): Promise<LaunchedRun> {
  const launch = launchEnvironment();
  if (!launch) return { group: null, launch: null, device };
  const mine = device === 'cuda' ? `cuda:${launch.localRank}` : device;
  const onCuda = mine.startsWith('cuda') && cudaAvailable();
  const backend = onCuda && distributedBackends().includes('nccl') ? 'nccl' : 'gloo';
  const group = await ProcessGroup.create({ ...groupOptionsOf(launch), backend, timeoutMs: timeoutMs() });
  return { group, launch, device: mine };
}
