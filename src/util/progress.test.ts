import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, Progress } from './progress.js';

function capture(tty: boolean): { stream: NodeJS.WriteStream; out: string[] } {
  const out: string[] = [];
  const stream = { isTTY: tty, write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, out };
}

test('formatDuration', () => {
  assert.equal(formatDuration(12.4), '12s');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(3720), '1h02m');
  assert.equal(formatDuration(Infinity), '?');
});

test('plain lines off a terminal: throttled, and always the final one', () => {
  const { stream, out } = capture(false);
  const p = new Progress('job', 3, { stream, unit: 'img', logEverySeconds: 3600 });
  p.tick();
  p.tick();
  p.tick(1, 'loss 0.5');
  assert.equal(out.length, 2, out.join('|'));
  assert.match(out[0]!, /^job: 1\/3 img .* eta /);
  assert.match(out[1]!, /^job: 3\/3 img .*eta 0s loss 0\.5\n$/);
});

test('a terminal gets a redrawn bar ending with a newline', () => {
  const { stream, out } = capture(true);
  const p = new Progress('job', 2, { stream });
  p.tick();
  p.tick();
  assert.ok(out[0]!.startsWith('\rjob ['));
  assert.match(out[1]!, /\[#{24}\]/);
  assert.equal(out.at(-1), '\n');
});

test('a time budget bounds the ETA when it ends first', async () => {
  const { stream, out } = capture(false);
  const p = new Progress('train', 1_000_000, { stream, unit: 'steps', budgetSeconds: 60, logEverySeconds: 0 });
  await new Promise((r) => setTimeout(r, 20));
  p.tick();
  assert.match(out[0]!, /1 steps \(budget 1m00s\)/);
  const eta = /eta (\S+)/.exec(out[0]!)![1]!;
  assert.ok(eta === '1m00s' || eta === '59s', eta);
});
