/**
 * Collective communication between processes through libtorch's c10d: ranks meet at a TCPStore, then
 * Gloo (CPU tensors; CUDA tensors staged through the host) or NCCL (CUDA tensors, on CUDA builds) carry
 * the collectives. Every collective works in place on a list of tensors, as c10d's do, and returns a
 * {@link Work} whose `wait()` settles off the JavaScript thread, so a slow peer never freezes the event
 * loop (signals and timers still run).
 *
 *   const pg = await ProcessGroup.create({ rank, worldSize, masterAddr: '127.0.0.1', masterPort: 29500 });
 *   await pg.allreduce([grad]).wait();       // grad ← Σ_r grad_r on every rank
 *
 * Failures reject with a {@link DistributedError} naming the operation and this rank: a peer that died
 * (its sockets close, so the others fail at once), a peer that stopped answering (after `timeoutMs`), a
 * store port already in use. Nothing waits forever: the default timeout is {@link DEFAULT_TIMEOUT_MS}.
 */
import { handleOf, type Tensor } from './tensor.js';
import { native, type GroupHandle, type Handle, type WorkHandle } from './native.js';

/** Default time limit of joining a group and of every collective: 5 minutes (PyTorch's store default). */
export const DEFAULT_TIMEOUT_MS = 300_000;

/** Reductions of {@link ProcessGroup.allreduce}. Gloo has no average: scale, then sum. */
export type ReduceOp = 'sum' | 'max' | 'min' | 'product';

/** Which backend carries the collectives: Gloo always; NCCL in addition for CUDA tensors. */
export type DistBackend = 'gloo' | 'nccl';

/** A collective or rendezvous that failed: a dead or silent peer, a timeout, a port in use. */
export class DistributedError extends Error {
  override name = 'DistributedError';
}

/** How to reach the other ranks. */
export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** Host of the TCPStore (rank 0's machine, or torchrun's agent). */
  masterAddr: string;
  masterPort: number;
  /** Whether this process hosts the store (default: rank 0, unless `agentStore`). */
  isServer?: boolean;
  /** torchrun's agent already hosts the store: every rank is a client, keys under /worker/attempt_N. */
  agentStore?: { restartCount: number };
  /** 'nccl': also create an NCCL group, used for CUDA tensors (default 'gloo'). */
  backend?: DistBackend;
  /** Address Gloo binds to on this machine (default: loopback when masterAddr is local, else the host name's address). */
  glooHost?: string;
  /** Network interface for Gloo (PyTorch's GLOO_SOCKET_IFNAME). */
  glooInterface?: string;
  /** Time limit of joining and of each collective, in ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeoutMs?: number;
}

function requireNative<K extends keyof typeof native>(name: K): NonNullable<(typeof native)[K]> {
  const f = native[name];
  if (typeof f !== 'function')
    throw new DistributedError(
      'this reg-ts addon was built without c10d Gloo: install the gloo headers (Debian: apt-get install libgloo-dev) and rebuild (node native/build.mjs)',
    );
  return (f as (...a: unknown[]) => unknown).bind(native) as NonNullable<(typeof native)[K]>;
}

/** The c10d backends this build of the addon has. */
export function distributedBackends(): DistBackend[] {
  return native.distBackends() as DistBackend[];
}

const handles = (ts: readonly Tensor[]): Handle[] => ts.map((t) => handleOf(t));

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);

/** One collective in flight. */
export class Work {
  readonly #handle: WorkHandle;
  readonly #describe: () => string;

  constructor(handle: WorkHandle, describe: () => string) {
    this.#handle = handle;
    this.#describe = describe;
  }

  /** Resolves when the collective completed on this rank; rejects with a DistributedError when it failed. */
  async wait(): Promise<void> {
    try {
      await requireNative('distWait')(this.#handle);
    } catch (e) {
      throw new DistributedError(`${this.#describe()} failed: ${(e as Error).message}`);
    }
  }

  /** Whether the collective has finished (successfully or not), without waiting. */
  isCompleted(): boolean {
    return requireNative('distIsCompleted')(this.#handle);
  }
}

/** A group of `worldSize` processes, this one being `rank`. */
export class ProcessGroup {
  #handle: GroupHandle | null;

  private constructor(
    handle: GroupHandle,
    readonly rank: number,
    readonly worldSize: number,
    readonly backend: DistBackend,
  ) {
    this.#handle = handle;
  }

  /**
   * Joins the group: connects to (or, on the server rank, hosts) the TCPStore, then sets up Gloo's pairs
   * with every peer. Resolves when all `worldSize` ranks have joined; rejects after `timeoutMs`.
   */
  static async create(opts: ProcessGroupOptions): Promise<ProcessGroup> {
    const { rank, worldSize, masterAddr, masterPort } = opts;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`worldSize must be an integer ≥ 1, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`rank must be in [0, ${worldSize}), got ${rank}`);
    if (!Number.isInteger(masterPort) || masterPort < 1 || masterPort > 65535)
      throw new RangeError(`master port must be in [1, 65535], got ${masterPort}`);
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${timeoutMs}`);
    const backend = opts.backend ?? 'gloo';
    if (!distributedBackends().includes(backend))
      throw new DistributedError(
        `backend '${backend}' is not in this build of the reg-ts addon (it has: ${distributedBackends().join(', ') || 'none'})`,
      );
    const agent = opts.agentStore;
    try {
      const handle = await requireNative('distCreateGroup')({
        host: masterAddr,
        port: masterPort,
        rank,
        worldSize,
        isServer: opts.isServer ?? (agent ? false : rank === 0),
        prefix: agent ? `/worker/attempt_${agent.restartCount}` : '',
        glooHost: opts.glooHost ?? (opts.glooInterface ? '' : isLoopback(masterAddr) ? '127.0.0.1' : ''),
        glooInterface: opts.glooInterface ?? '',
        nccl: backend === 'nccl',
        timeoutMs,
      });
      return new ProcessGroup(handle, rank, worldSize, backend);
    } catch (e) {
      throw new DistributedError(
        `rank ${rank} of ${worldSize} could not join the group at ${masterAddr}:${masterPort} within ${timeoutMs / 1000} s: ${(e as Error).message}`,
      );
    }
  }

  #live(what: string): GroupHandle {
    if (this.#handle === null) throw new DistributedError(`${what}: the process group was destroyed`);
    return this.#handle;
  }

  #work(w: WorkHandle, what: string): Work {
    return new Work(w, () => `${what} on rank ${this.rank} of ${this.worldSize}`);
  }

  /** In place on every rank: t ← op over ranks of t, for each listed tensor (same shapes and dtypes on every rank). */
  allreduce(tensors: readonly Tensor[], op: ReduceOp = 'sum'): Work {
    return this.#work(requireNative('distAllreduce')(this.#live('allreduce'), handles(tensors), op), `allreduce(${op})`);
  }

  /** In place: every rank's tensors take the values of rank `root`'s. */
  broadcast(tensors: readonly Tensor[], root = 0): Work {
    return this.#work(requireNative('distBroadcast')(this.#live('broadcast'), handles(tensors), root), `broadcast from ${root}`);
  }

  /** outputs[i][r] ← rank r's inputs[i] (outputs[i] holds worldSize tensors shaped like inputs[i]). */
  allgather(outputs: readonly (readonly Tensor[])[], inputs: readonly Tensor[]): Work {
    for (const [i, out] of outputs.entries())
      if (out.length !== this.worldSize)
        throw new RangeError(`allgather: output list ${i} has ${out.length} tensors, the group has ${this.worldSize} ranks`);
    return this.#work(
      requireNative('distAllgather')(
        this.#live('allgather'),
        outputs.map((o) => handles(o)),
        handles(inputs),
      ),
      'allgather',
    );
  }

  /** Completes when every rank has reached it. */
  barrier(): Work {
    return this.#work(requireNative('distBarrier')(this.#live('barrier')), 'barrier');
  }

  /** Leaves the group (closes its sockets and threads). Idempotent. */
  async destroy(): Promise<void> {
    const h = this.#handle;
    if (h === null) return;
    this.#handle = null;
    await requireNative('distDestroyGroup')(h);
  }
}
