/**
 * Runs a compiled script as the ranks of a multi-process group on 127.0.0.1, for the distributed tests:
 * each rank gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT (a free port)
 * as a launcher sets them. Every rank is killed when the time limit passes, so no test leaves a process
 * behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** What one rank did. */
export interface RankResult {
  rank: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** The JSON lines a rank printed on stdout. */
export function jsonLines<T = unknown>(r: RankResult): T[] {
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as T);
}

/** Options of {@link runRanks}. */
export interface RunRanksOptions {
  args?: readonly string[];
  env?: Record<string, string>;
  /** Kill every rank after this long (default 60 s). */
  timeoutMs?: number;
  /** Called with each rank's process right after it started (e.g. to kill one). */
  onSpawn?: (rank: number, child: ChildProcess) => void;
  /** Use this port instead of a free one. */
  port?: number;
  /** The program that runs `script` (default: this Node). */
  command?: string;
}

/** Starts `worldSize` ranks of `script` (a .js file, or a program for `command`) and resolves with their results once all have exited. */
export async function runRanks(script: string, worldSize: number, opts: RunRanksOptions = {}): Promise<RankResult[]> {
  const port = opts.port ?? (await freePort());
  const children = Array.from({ length: worldSize }, (_, rank) =>
    spawn(opts.command ?? process.execPath, [script, ...(opts.args ?? [])], {
      env: {
        ...process.env,
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(worldSize),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const timer = setTimeout(() => children.forEach((c) => c.kill('SIGKILL')), opts.timeoutMs ?? 60_000);
  try {
    children.forEach((c, rank) => opts.onSpawn?.(rank, c));
    return await Promise.all(
      children.map(
        (child, rank) =>
          new Promise<RankResult>((resolve) => {
            let stdout = '';
            let stderr = '';
            child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
            child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (code, signal) => resolve({ rank, code, signal, stdout, stderr }));
          }),
      ),
    );
  } finally {
    clearTimeout(timer);
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
