/**
 * The thread tuning applied at load (cpu-threads.ts): short spin waits unless the user set their own,
 * one intra-op thread per physical core unless OMP_NUM_THREADS is set, all of it off with
 * REGTS_THREAD_TUNING=0 — checked on fresh processes, since libgomp and OpenBLAS read their variables
 * once, when the addon loads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { describe, it } from 'node:test';
import { applySpinWaits, defaultIntraOpThreads, physicalCores, SHORT_SPIN_WAITS } from './cpu-threads.js';

const indexUrl = new URL('./index.js', import.meta.url).href;

/** Loads the addon in a fresh Node with `env`; returns what it reports. */
function fresh(env: Record<string, string | undefined>): { threads: number; tuning: unknown; spin: string | null } {
  const script = `const t = await import(${JSON.stringify(indexUrl)});
console.log(JSON.stringify({ threads: t.getNumThreads(), tuning: t.threadTuning(), spin: process.env.GOMP_SPINCOUNT ?? null }));`;
  const clean = { ...process.env };
  for (const k of ['GOMP_SPINCOUNT', 'OPENBLAS_THREAD_TIMEOUT', 'OMP_NUM_THREADS', 'REGTS_THREAD_TUNING']) delete clean[k];
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...clean, ...env }, encoding: 'utf8' });
  return JSON.parse(out) as { threads: number; tuning: unknown; spin: string | null };
}

describe('CPU thread tuning', () => {
  it('sets the short spin waits only where the environment has none, and nothing when turned off', () => {
    const env: Record<string, string | undefined> = { OPENBLAS_THREAD_TIMEOUT: '20' };
    assert.deepEqual(applySpinWaits(env), { GOMP_SPINCOUNT: SHORT_SPIN_WAITS['GOMP_SPINCOUNT'] });
    assert.equal(env['OPENBLAS_THREAD_TIMEOUT'], '20', "the user's own value is kept");
    assert.equal(env['GOMP_SPINCOUNT'], '10000');
    const off: Record<string, string | undefined> = { REGTS_THREAD_TUNING: '0' };
    assert.deepEqual(applySpinWaits(off), {});
    assert.deepEqual(off, { REGTS_THREAD_TUNING: '0' });
  });

  it('one intra-op thread per physical core, unless OMP_NUM_THREADS is set or the tuning is off', () => {
    const cores = physicalCores();
    assert.ok(Number.isInteger(cores) && cores >= 1 && cores <= os.availableParallelism(), `physical cores ${cores}`);
    assert.equal(defaultIntraOpThreads({}), cores);
    assert.equal(defaultIntraOpThreads({ OMP_NUM_THREADS: '1' }), null);
    assert.equal(defaultIntraOpThreads({ REGTS_THREAD_TUNING: '0' }), null);
  });

  it('a fresh process loads with the tuning applied, and with none under REGTS_THREAD_TUNING=0', () => {
    const tuned = fresh({});
    assert.equal(tuned.threads, physicalCores());
    assert.deepEqual(tuned.tuning, { enabled: true, waitsSet: { ...SHORT_SPIN_WAITS }, intraOpThreads: physicalCores() });
    assert.equal(tuned.spin, '10000', 'the variable is in the environment that libgomp read');

    const own = fresh({ OMP_NUM_THREADS: '1', GOMP_SPINCOUNT: '5' });
    assert.equal(own.threads, 1);
    assert.deepEqual(own.tuning, { enabled: true, waitsSet: { OPENBLAS_THREAD_TIMEOUT: '12' }, intraOpThreads: null });
    assert.equal(own.spin, '5');

    const off = fresh({ REGTS_THREAD_TUNING: '0' });
    assert.deepEqual(off.tuning, { enabled: false, waitsSet: {}, intraOpThreads: null });
    assert.equal(off.spin, null);
  });
});
