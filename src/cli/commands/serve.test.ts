/**
 * `reg serve` as a command: it prints the page's address, answers on it, stops on SIGINT with exit code 0;
 * a non-loopback --host warns and needs the token; a missing --runs is a usage error.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-serve-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
mkdirSync(path.join(tmp, 'r1'));
writeFileSync(path.join(tmp, 'r1', 'metrics.jsonl'), '{"step":1,"loss":1}\n');

/** Starts `reg serve …`, waits for its address line, fetches `path` from it, then SIGINTs it. */
async function serveOnce(args: string[], fetchPath: (url: string) => string) {
  const child = spawn(process.execPath, [REG, 'serve', '--runs', tmp, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const m = / at (http:\S+) /.exec(stdout);
        if (m) resolve(m[1]!);
      });
      child.on('exit', () => reject(new Error(`reg serve exited: ${stderr}`)));
    });
    const res = await fetch(fetchPath(url));
    const body = await res.text();
    child.kill('SIGINT');
    return { url, status: res.status, body, code: await exited, stderr };
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
  }
}

describe('reg serve', () => {
  it('prints its address on 127.0.0.1, lists the runs there and exits 0 on SIGINT', async () => {
    const r = await serveOnce([], (url) => `${url}api/runs`);
    assert.match(r.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(r.status, 200);
    assert.deepEqual(
      (JSON.parse(r.body) as { name: string }[]).map((x) => x.name),
      ['r1'],
    );
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
  });

  it('--host other than loopback warns and requires the token it prints', async () => {
    const r = await serveOnce(['--host', '0.0.0.0'], (url) => url.replace('0.0.0.0', '127.0.0.1').replace('/?', '/api/runs?'));
    assert.match(r.stderr, /warning: --host 0\.0\.0\.0 exposes the runs to the network; every request needs the access token/);
    assert.match(r.url, /\?token=[0-9a-f]{32}$/);
    assert.equal(r.status, 200);
    const denied = await serveOnce(['--host', '0.0.0.0', '--token', 'tok'], (url) =>
      url.replace('0.0.0.0', '127.0.0.1').replace(/\?.*/, 'api/runs'),
    );
    assert.equal(denied.status, 403);
    assert.match(denied.url, /\?token=tok$/);
  });

  it('a missing --runs directory is a usage error', () => {
    const r = spawnSync(process.execPath, [REG, 'serve', '--runs', path.join(tmp, 'nope')], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--runs .*nope: no such directory/);
  });
});
