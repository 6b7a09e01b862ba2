/**
 * The dashboard server over HTTP: what it lists and serves, what it refuses (path traversal, links out
 * of the runs directory, odd names, other file types, writes, missing tokens, foreign Host headers),
 * and its live metrics stream.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writePng } from '../eval/images.js';
import { listenDashboard, type Dashboard } from './listen.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'reg-serve-'));
const runs = path.join(tmp, 'runs');
const ODD = 'odd name %41 ü';
const line = (step: number) => `${JSON.stringify({ step, loss: 2 / step, stepSeconds: 0.1 })}\n`;

/** runs/a (2 steps, a grid, an eval record, links in and out), runs/group/b, runs/<odd name>, runs/out → outside. */
async function makeTree(): Promise<void> {
  mkdirSync(path.join(tmp, 'outside', 'run'), { recursive: true });
  writeFileSync(path.join(tmp, 'outside', 'secret.json'), '{"secret": true}');
  writeFileSync(path.join(tmp, 'outside', 'run', 'metrics.jsonl'), line(1));
  const a = path.join(runs, 'a');
  mkdirSync(a, { recursive: true });
  writeFileSync(path.join(a, 'config.json'), JSON.stringify({ train: { maxTrainSteps: 10, learningRate: 1e-4 } }));
  writeFileSync(path.join(a, 'metrics.jsonl'), line(1) + line(2));
  writeFileSync(path.join(a, 'model.safetensors'), 'weights');
  writeFileSync(path.join(a, 'samples.eval.json'), JSON.stringify({ fid: 12.5 }));
  await writePng(path.join(a, 'samples', '0000002.png'), { data: new Uint8Array(2 * 2 * 3).fill(200), width: 2, height: 2, channels: 3 });
  symlinkSync(path.join(tmp, 'outside', 'secret.json'), path.join(a, 'leak.json'));
  symlinkSync(path.join(a, 'config.json'), path.join(a, 'inner.json'));
  mkdirSync(path.join(runs, 'group', 'b'), { recursive: true });
  writeFileSync(path.join(runs, 'group', 'b', 'config.json'), JSON.stringify({ train: { maxTrainSteps: 10, learningRate: 2e-4 } }));
  writeFileSync(path.join(runs, 'group', 'b', 'metrics.jsonl'), line(1));
  mkdirSync(path.join(runs, ODD));
  writeFileSync(path.join(runs, ODD, 'metrics.jsonl'), line(1));
  writeFileSync(path.join(runs, ODD, 'config.json'), '{}');
  const old = new Date(Date.now() - 3600_000);
  for (const f of [path.join(runs, ODD, 'metrics.jsonl'), path.join(runs, 'group', 'b', 'metrics.jsonl')]) utimesSync(f, old, old);
  symlinkSync(path.join(tmp, 'outside', 'run'), path.join(runs, 'out'));
  // a study: <study>/runs/<name> and its evaluations <study>/evals/<name>/step-<N>.json
  mkdirSync(path.join(runs, 'study', 'runs', 'reg-s0'), { recursive: true });
  writeFileSync(path.join(runs, 'study', 'runs', 'reg-s0', 'metrics.jsonl'), line(1));
  mkdirSync(path.join(runs, 'study', 'evals', 'reg-s0', 'step-10'), { recursive: true });
  for (const n of [10, 5]) writeFileSync(path.join(runs, 'study', 'evals', 'reg-s0', `step-${n}.json`), JSON.stringify({ step: n }));
  writeFileSync(path.join(runs, 'study', 'evals', 'reg-s0', 'notes.json'), '{}');
  const older = new Date(Date.now() - 7200_000);
  utimesSync(path.join(runs, 'study', 'runs', 'reg-s0', 'metrics.jsonl'), older, older);
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request with the path sent exactly as given (no URL normalization). */
function get(d: Dashboard, rawPath: string, { method = 'GET', headers = {} as Record<string, string> } = {}): Promise<Reply> {
  const { port } = new URL(d.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: rawPath, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** sha256 of every file under `dir` by relative path (links as their target path). */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const sub = path.join(rel, e.name);
    if (e.isDirectory()) Object.assign(out, snapshot(dir, sub));
    else if (e.isFile())
      out[sub] = createHash('sha256')
        .update(readFileSync(path.join(dir, sub)))
        .digest('hex');
    else out[sub] = 'link';
  }
  return out;
}

let dash: Dashboard;
before(async () => {
  await makeTree();
  dash = await listenDashboard({ runsDir: runs, host: '127.0.0.1', port: 0, pollMs: 50 });
});
after(async () => {
  await dash.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('reg serve: what it lists and serves', () => {
  it('lists the runs up to 3 levels down, by path, newest change first, with their state; not the link out', async () => {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const list = JSON.parse((await get(dash, '/api/runs')).body) as {
      name: string;
      state: string;
      step: number;
      maxSteps: number | null;
    }[];
    assert.deepEqual(
      list.map((r) => [r.name, r.state, r.step, r.maxSteps]),
      [
        ['a', 'running', 2, 10],
        ['group/b', 'failed', 1, 10],
        [ODD, 'failed', 1, null],
        ['study/runs/reg-s0', 'failed', 1, null],
      ],
    );
  });

  it('one run: config, grids and evaluation records; unknown, outside and traversing names are 404', async () => {
    const a = JSON.parse((await get(dash, '/api/run?name=a')).body) as Record<string, unknown>;
    assert.deepEqual(a.grids, [{ step: 2, file: 'samples/0000002.png' }]);
    assert.deepEqual(a.evaluations, [{ file: 'samples.eval.json', record: { fid: 12.5 } }]);
    assert.deepEqual(a.config, { train: { maxTrainSteps: 10, learningRate: 1e-4 } });
    assert.equal((await get(dash, `/api/run?name=${encodeURIComponent(ODD)}`)).status, 200);
    const study = JSON.parse((await get(dash, '/api/run?name=study%2Fruns%2Freg-s0')).body) as Record<string, unknown>;
    assert.deepEqual(study.evaluations, [
      { file: '../../evals/reg-s0/step-5.json', record: { step: 5 } },
      { file: '../../evals/reg-s0/step-10.json', record: { step: 10 } },
    ]);
    for (const name of ['out', 'nope', '../outside/run', 'a/..', '', 'a/samples', '/a', 'a\\b'])
      assert.equal((await get(dash, `/api/run?name=${encodeURIComponent(name)}`)).status, 404, name);
  });

  it('the config diff of two runs', async () => {
    const r = await get(dash, '/api/diff?a=a&b=group%2Fb');
    assert.deepEqual(JSON.parse(r.body), [{ key: 'train.learningRate', a: 1e-4, b: 2e-4 }]);
    assert.equal((await get(dash, '/api/diff?a=a&b=out')).status, 404);
  });

  it('serves .png and .json files inside the runs, and the page with ECharts from node_modules', async () => {
    const png = await get(dash, '/files/a/samples/0000002.png');
    assert.deepEqual([png.status, png.headers['content-type']], [200, 'image/png']);
    assert.equal((await get(dash, '/files/a/inner.json')).body, readFileSync(path.join(runs, 'a', 'config.json'), 'utf8'));
    assert.equal((await get(dash, `/files/${encodeURIComponent(ODD)}/config.json`)).status, 200);
    const page = await get(dash, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script src="vendor\/echarts\.min\.js">/);
    assert.match(page.headers['content-security-policy'] as string, /script-src 'self'/);
    const echarts = await get(dash, '/vendor/echarts.min.js');
    assert.equal(echarts.status, 200);
    assert.ok(echarts.body.length > 500_000);
  });

  it('refuses traversal, links out, odd segments and other file types (404)', async () => {
    for (const p of [
      '/files/a/../../outside/secret.json',
      '/files/a/%2e%2e/%2e%2e/outside/secret.json',
      '/files/a/..%2f..%2foutside%2fsecret.json',
      '/files/..%2foutside/secret.json',
      '/files/a/leak.json',
      '/files/out/metrics.jsonl',
      '/files/a/model.safetensors',
      '/files/a/metrics.jsonl',
      '/files/a/%00.json',
      '/files/a/config.json%00.png',
      '/files/a/%E0%A4%A.json',
      '/files/a//config.json',
      '/files/a/samples',
      '/files/',
      '/files',
      '/etc/passwd',
      '/api/runs/../../x',
      '//etc/passwd',
    ]) {
      const r = await get(dash, p);
      assert.equal(r.status, 404, p);
      assert.doesNotMatch(r.body, /secret/, p);
    }
  });

  it('is read-only: other methods are 405 and nothing under the runs changes', async () => {
    const before = snapshot(runs);
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'])
      for (const p of ['/api/runs', '/files/a/config.json', '/api/run?name=a']) {
        const r = await get(dash, p, { method });
        assert.deepEqual([r.status, r.headers.allow], [405, 'GET, HEAD'], `${method} ${p}`);
      }
    assert.equal((await get(dash, '/files/a/config.json', { method: 'HEAD' })).status, 200);
    assert.deepEqual(snapshot(runs), before);
  });

  it('answers only Host headers that name this machine', async () => {
    const { port } = new URL(dash.url);
    assert.equal((await get(dash, '/api/runs', { headers: { Host: 'evil.example' } })).status, 403);
    assert.equal((await get(dash, '/api/runs', { headers: { Host: `evil.example:${port}` } })).status, 403);
    assert.equal((await get(dash, '/api/runs', { headers: { Host: `localhost:${port}` } })).status, 200);
  });

  it('streams metrics: the history first, then each new complete line', async () => {
    const { port } = new URL(dash.url);
    const events: { run: string; reset: boolean; records: { step: number }[] }[] = [];
    let appended = false;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/events?run=a&run=group%2Fb' }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buffer += c;
          for (let i; (i = buffer.indexOf('\n\n')) >= 0; buffer = buffer.slice(i + 2)) {
            const data = /^data: (.*)$/m.exec(buffer.slice(0, i));
            if (data) events.push(JSON.parse(data[1]!) as (typeof events)[number]);
          }
          if (events.length === 2 && !appended) {
            // a line being written is not sent before its newline (4 polls later)
            appended = true;
            appendFileSync(path.join(runs, 'a', 'metrics.jsonl'), line(3).trim());
            setTimeout(() => appendFileSync(path.join(runs, 'a', 'metrics.jsonl'), '\n'), 200);
          }
          if (events.length === 3) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
    assert.deepEqual(
      events.map((e) => [e.run, e.reset, e.records.map((r) => r.step)]),
      [
        ['a', false, [1, 2]],
        ['group/b', false, [1]],
        ['a', false, [3]],
      ],
    );
    assert.equal((await get(dash, '/api/events?run=out')).status, 404);
    assert.equal((await get(dash, '/api/events')).status, 404);
  });
});

describe('reg serve with an access token', () => {
  it('refuses requests without the token, and takes it from the query (setting a cookie), the cookie or a bearer header', async () => {
    const d = await listenDashboard({ runsDir: runs, host: '127.0.0.1', port: 0, token: 'a-secret-token' });
    try {
      assert.match(d.url, /\/\?token=a-secret-token$/);
      assert.equal((await get(d, '/api/runs')).status, 403);
      assert.equal((await get(d, '/api/runs?token=wrong')).status, 403);
      assert.equal((await get(d, '/files/a/config.json', { headers: { Cookie: 'reg-serve-token=a-secret-tokeN' } })).status, 403);
      const page = await get(d, '/?token=a-secret-token');
      assert.equal(page.status, 200);
      assert.deepEqual(page.headers['set-cookie'], ['reg-serve-token=a-secret-token; HttpOnly; SameSite=Strict; Path=/']);
      assert.equal((await get(d, '/api/runs', { headers: { Cookie: 'x=1; reg-serve-token=a-secret-token' } })).status, 200);
      assert.equal((await get(d, '/api/runs', { headers: { Authorization: 'Bearer a-secret-token' } })).status, 200);
      // with a token, any Host header is fine (the token is the check)
      assert.equal((await get(d, '/api/runs?token=a-secret-token', { headers: { Host: 'box.lan' } })).status, 200);
    } finally {
      await d.close();
    }
  });

  it('gets a random token when bound to a non-loopback address', async () => {
    const d = await listenDashboard({ runsDir: runs, host: '0.0.0.0', port: 0 });
    try {
      assert.match(d.token!, /^[0-9a-f]{32}$/);
      assert.equal((await get(d, '/api/runs')).status, 403);
      assert.equal((await get(d, `/api/runs?token=${d.token}`)).status, 200);
    } finally {
      await d.close();
    }
  });
});
