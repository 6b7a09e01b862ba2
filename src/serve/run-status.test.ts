/** Run states from the files' facts: the heartbeat, the checkpoint of the last step, and the ETA. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStatus, type RunFacts } from './run-status.js';

const facts = (over: Partial<RunFacts>): RunFacts => ({
  step: 40,
  maxSteps: 100,
  checkpointStep: 40,
  idleSeconds: 1,
  recentStepSeconds: [0.5, 0.5],
  ...over,
});

test('running within the heartbeat, with ETA = steps left × mean step time', () => {
  const s = runStatus(facts({ recentStepSeconds: [1, 2, 3] }));
  assert.deepEqual(s, { state: 'running', heartbeatSeconds: 30, etaSeconds: 60 * 2 });
  // a slow run's heartbeat is 10 of its steps
  assert.equal(runStatus(facts({ idleSeconds: 400, recentStepSeconds: [50] })).state, 'running');
  assert.equal(runStatus(facts({ idleSeconds: 400, recentStepSeconds: [50] })).heartbeatSeconds, 500);
  // the ETA uses the last 20 steps only
  const old = Array.from({ length: 30 }, (_, i) => (i < 10 ? 100 : 1));
  assert.equal(runStatus(facts({ recentStepSeconds: old })).etaSeconds, 60);
  // before the first step: running while config.json is fresh, no ETA yet
  assert.deepEqual(runStatus(facts({ step: 0, checkpointStep: null, recentStepSeconds: [] })), {
    state: 'running',
    heartbeatSeconds: 30,
    etaSeconds: null,
  });
});

test('finished at maxTrainSteps (also while the files are fresh); silent runs: stopped on a checkpoint of the last step, failed otherwise', () => {
  assert.deepEqual(runStatus(facts({ step: 100, checkpointStep: 100 })), { state: 'finished', heartbeatSeconds: 30, etaSeconds: null });
  const quiet = { idleSeconds: 31 };
  assert.equal(runStatus(facts({ ...quiet, step: 100, checkpointStep: 100 })).state, 'finished');
  assert.equal(runStatus(facts({ ...quiet })).state, 'stopped');
  assert.equal(runStatus(facts({ ...quiet, step: 47 })).state, 'failed');
  assert.equal(runStatus(facts({ ...quiet, step: 0, checkpointStep: null })).state, 'failed');
  assert.equal(runStatus(facts({ ...quiet, maxSteps: null })).state, 'stopped');
  assert.equal(runStatus(facts({ ...quiet })).etaSeconds, null);
});
