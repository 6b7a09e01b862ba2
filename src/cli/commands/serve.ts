/**
 * `reg serve [--runs runs/] [--port 8080] [--host 127.0.0.1] [--token T]`: the local, read-only
 * dashboard of the training runs under --runs (src/serve/), until Ctrl-C.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type Command } from '../args.js';
import { isLoopbackHost } from '../../serve/access.js';
import { listenDashboard } from '../../serve/listen.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'a local, read-only dashboard of the runs under --runs: live curves, sample grids, configs and their diff, evaluations',
  options: {
    runs: { type: 'string', default: 'runs', help: 'the runs directory (each run a subdirectory, as reg train --output-dir writes it)' },
    port: { type: 'integer', default: 8080, min: 0, max: 65535, help: 'TCP port (0: any free port)' },
    host: {
      type: 'string',
      default: '127.0.0.1',
      help: 'address to bind; any other than a loopback address warns and requires the access token',
    },
    token: { type: 'string', help: 'access token every request must carry (default: a random one when --host is not loopback)' },
  },
  async run({ options, positionals }) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (options only; see --help)`);
    const runsDir = path.resolve(options.runs as string);
    if (!existsSync(runsDir) || !statSync(runsDir).isDirectory()) throw new UsageError(`--runs ${options.runs}: no such directory`);
    const host = options.host as string;
    const token = options.token as string | undefined;
    if (token === '') throw new UsageError('--token must not be empty');
    if (!isLoopbackHost(host))
      console.error(`reg serve: warning: --host ${host} exposes the runs to the network; every request needs the access token`);
    const dashboard = await listenDashboard({ runsDir, host, port: options.port as number, ...(token ? { token } : {}) });
    console.log(`reg serve: ${runsDir} at ${dashboard.url} (Ctrl-C stops)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void dashboard.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
