/**
 * Starting the dashboard: bind to `host:port` (127.0.0.1 by default) and say where it is. A host that
 * is not a loopback address exposes the runs to the network, so it gets an access token (the one given,
 * or a random one) that every request must carry.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopbackHost, newAccessToken } from './access.js';
import { createDashboardServer } from './server.js';

/** Options of {@link listenDashboard}. */
export interface ListenOptions {
  runsDir: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Access token (default: none on loopback hosts, a random one elsewhere). */
  token?: string;
  pollMs?: number;
}

/** A listening dashboard. */
export interface Dashboard {
  server: Server;
  /** The page's address (with `?token=` when a token is needed). */
  url: string;
  token: string | null;
  /** Stops listening and ends open event streams. */
  close(): Promise<void>;
}

/** Starts the dashboard of `opts.runsDir`; rejects when the address cannot be bound. */
export async function listenDashboard(opts: ListenOptions): Promise<Dashboard> {
  const token = opts.token ?? (isLoopbackHost(opts.host) ? null : newAccessToken());
  const server = createDashboardServer({ runsDir: opts.runsDir, token, ...(opts.pollMs ? { pollMs: opts.pollMs } : {}) });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}/${token === null ? '' : `?token=${token}`}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { server, url, token, close };
}
