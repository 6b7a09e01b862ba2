/**
 * scripts/gpu-check.sh on a machine without a usable GPU (every CI machine): it must stop at its
 * preflight within seconds, with exit code 3, a message that says why, and a gpu-check.json that records
 * the failed step, before it spends any device time on building or testing. `nvidia-smi` is a stub
 * here, so the test does not depend on what the machine has: one that lists no GPU, and one that lists
 * an H200 while python3's torch (Debian's, CPU-only) has no CUDA.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'regts-gpu-check-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const script = path.join(import.meta.dirname, '../../scripts/gpu-check.sh');

interface Report {
  ok: boolean;
  mode: string;
  steps: { name: string; ok: boolean; detail: string }[];
}

function runWithStub(name: string, stubOutput: string): { status: number | null; stdout: string; report: Report; seconds: number } {
  const bin = path.join(tmp, name, 'bin');
  const out = path.join(tmp, name, 'out');
  mkdirSync(bin, { recursive: true });
  const stub = path.join(bin, 'nvidia-smi');
  writeFileSync(stub, `#!/bin/sh\nprintf '%s' '${stubOutput}'\n`);
  chmodSync(stub, 0o755);
  const start = performance.now();
  const r = spawnSync('bash', [script], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, OUT: out },
    timeout: 60_000,
  });
  return {
    status: r.status,
    stdout: r.stdout,
    report: JSON.parse(readFileSync(path.join(out, 'gpu-check.json'), 'utf8')) as Report,
    seconds: (performance.now() - start) / 1000,
  };
}

test('gpu-check.sh stops at preflight, exit code 3, when nvidia-smi lists no GPU', () => {
  const r = runWithStub('no-gpu', '');
  assert.equal(r.status, 3, r.stdout);
  assert.match(r.stdout, /FAILED at preflight: nvidia-smi lists no GPU/);
  assert.deepEqual([r.report.ok, r.report.mode, r.report.steps.map((s) => [s.name, s.ok])], [false, 'gpu', [['preflight', false]]]);
  assert.ok(r.seconds < 20, `took ${r.seconds} s`);
});

test("gpu-check.sh stops at preflight, exit code 3, when python3's torch has no CUDA", () => {
  const r = runWithStub('no-cuda-torch', 'NVIDIA H200, 143771 MiB, 550.54');
  assert.equal(r.status, 3, r.stdout);
  assert.match(r.stdout, /FAILED at preflight: python3's torch cannot use a GPU/);
  assert.equal(r.report.steps[0]!.name, 'preflight');
  assert.ok(r.seconds < 30, `took ${r.seconds} s`);
});
