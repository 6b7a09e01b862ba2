/**
 * The dashboard's HTTP server (node:http), read-only: it answers GET and HEAD, and only with the page,
 * its scripts, and what it reads under the runs directory.
 *
 *   /                         the page (index.html, app.js, style.css, vendor/echarts.min.js)
 *   /api/runs                 the run list (runs.ts listRuns; a run's name is its path, `demo/run`)
 *   /api/run?name=<run>       one run: status, config, checkpoints, grids, evaluations (runDetails)
 *   /api/diff?a=<run>&b=<run> the settings that differ between two runs' config.json (config-diff.ts)
 *   /api/events?run=<run>…    live metrics, server-sent events (events.ts)
 *   /files/<path>             a .png or .json file under the runs directory (safe-path.ts: nothing outside)
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { refusal, TOKEN_COOKIE } from './access.js';
import { diffConfigs } from './config-diff.js';
import { streamMetrics } from './events.js';
import { listRuns, readRunConfig, runDetails, runDirOf } from './runs.js';
import { resolveInside } from './safe-path.js';
import { RUN_FILE_TYPES, STATIC_FILES } from './static-files.js';

/** Options of {@link createDashboardServer}. */
export interface DashboardOptions {
  /** The runs directory: every run is a subdirectory of it. */
  runsDir: string;
  /** Access token that every request must carry (null: none, for loopback addresses only). */
  token: string | null;
  /** Milliseconds between checks of the metrics files for live curves (default 500). */
  pollMs?: number;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

const notFound = (res: ServerResponse): void => sendJson(res, 404, { error: 'not found' });

/** Streams a regular file (anything else: 404). */
function sendFile(req: IncomingMessage, res: ServerResponse, file: string, type: string): void {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return notFound(res);
    size = st.size;
  } catch {
    return notFound(res);
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': size, 'Cache-Control': 'no-cache' });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

/** /files/<path…>: only .png and .json files whose real path lies inside the runs directory. */
function sendRunFile(req: IncomingMessage, res: ServerResponse, runsDir: string, segments: string[]): void {
  const file = segments.length === 0 ? null : resolveInside(runsDir, segments);
  const type = file === null ? undefined : RUN_FILE_TYPES[path.extname(file).toLowerCase()];
  if (file === null || type === undefined) return notFound(res);
  sendFile(req, res, file, type);
}

/** Run directories named by the `run` parameters (an unknown name: null). */
function namedRuns(runsDir: string, names: string[]): Map<string, string> | null {
  const runs = new Map<string, string>();
  for (const name of names) {
    const dir = runDirOf(runsDir, name);
    if (dir === null) return null;
    runs.set(name, dir);
  }
  return runs;
}

/** The request handler of the dashboard. */
function handle(opts: DashboardOptions, req: IncomingMessage, res: ServerResponse): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
  const url = new URL(req.url ?? '/', 'http://dashboard');
  const refused = refusal(req, url, opts.token);
  if (refused !== null) return sendJson(res, 403, { error: `forbidden: ${refused}` });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return sendJson(res, 405, { error: 'read-only: only GET and HEAD' });
  }
  const { runsDir } = opts;
  const segments = url.pathname.split('/').slice(1);
  const statik = STATIC_FILES.get(url.pathname);
  if (statik) {
    if (opts.token !== null && url.searchParams.get('token') === opts.token)
      res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${opts.token}; HttpOnly; SameSite=Strict; Path=/`);
    return sendFile(req, res, statik.file, statik.type);
  }
  if (segments[0] === 'files') return sendRunFile(req, res, runsDir, segments.slice(1));
  if (segments[0] !== 'api') return notFound(res);
  const route = segments.slice(1);
  if (route.length !== 1) return notFound(res);
  if (route[0] === 'runs') return sendJson(res, 200, listRuns(runsDir));
  if (route[0] === 'run') {
    const details = runDetails(runsDir, url.searchParams.get('name') ?? '');
    return details === null ? notFound(res) : sendJson(res, 200, details);
  }
  if (route[0] === 'diff') {
    const [a, b] = ['a', 'b'].map((k) => runDirOf(runsDir, url.searchParams.get(k) ?? ''));
    if (!a || !b) return notFound(res);
    return sendJson(res, 200, diffConfigs(readRunConfig(a), readRunConfig(b)));
  }
  if (route[0] === 'events') {
    const runs = namedRuns(runsDir, url.searchParams.getAll('run'));
    if (runs === null || runs.size === 0) return notFound(res);
    if (req.method === 'HEAD') return void res.end();
    return void streamMetrics(res, runs, opts.pollMs ?? 500);
  }
  notFound(res);
}

/** An HTTP server for the dashboard of `opts.runsDir` (not listening yet). */
export function createDashboardServer(opts: DashboardOptions): Server {
  return createServer((req, res) => {
    try {
      handle(opts, req, res);
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    }
  });
}
