/**
 * The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core): a `reg train`
 * process trains a tiny run while the page is open, beside a finished run with checkpoint grids.
 *
 *   the runs appear with their states · the live curve gains points while the run trains · a grid
 *   image loads · ticking both runs overlays their curves and diffs their configs · smoothing, log
 *   scale and the time axis draw what they say · an evaluation record shows up
 *
 * Every step has a time limit; the trainer, the browser and the server are stopped in `after`.
 * REG_SERVE_SCREENSHOT=<file.png> saves a screenshot of the comparison view (docs/dashboard.png).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { listCheckpoints } from '../../models/checkpoint.js';
import { resolveTrainConfig } from '../../train/config.js';
import { train } from '../../train/trainer.js';
import { writeCheckpointGrid } from '../../pipelines/checkpoint-grid.js';
import { listenDashboard, type Dashboard } from '../../serve/listen.js';
import { TINY_TRAIN_CONFIG } from '../../../test/tiny-train-config.js';

const REG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../main.js');
const CHROMIUM = '/usr/bin/chromium';
const tmp = mkdtempSync(path.join(tmpdir(), 'reg-serve-browser-'));
const runs = path.join(tmp, 'runs');

let trainer: ChildProcess | null = null;
let dashboard: Dashboard | null = null;
let browser: Browser | null = null;
let page: Page;

/** Resolves once `check()` is true, polling every 100 ms; rejects after `ms`. */
async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const lines = (file: string): number => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').length - 1 : 0);

// Browser-side expressions are strings: this project compiles without the DOM types.
/** Expression: the points drawn per run in the chart of `metric` (the page writes them into data-points). */
const pointsOf = (metric: string): string => `JSON.parse(document.querySelector('#chart-${metric}').dataset.points || '{}')`;
const points = async (metric: string): Promise<Record<string, number>> => (await page.evaluate(pointsOf(metric))) as Record<string, number>;
/** Resolves once the page expression `expr` is truthy (polled every 100 ms from here: no eval in the page, whose CSP forbids it). */
async function inPage(expr: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await page.evaluate(expr))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${expr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const GRID = `document.querySelector('#samples [data-run="finished"] img.grid[data-step="60"]')`;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/install.sh installs Debian's chromium`);
  // a finished run of 60 steps with a grid per checkpoint (learning rate 2e-3, so the diff has a line)
  const finished = path.join(runs, 'finished');
  const settings = { ...TINY_TRAIN_CONFIG, learningRate: 2e-3, maxTrainSteps: 60, checkpointingSteps: 20, outputDir: finished };
  await train(resolveTrainConfig(settings), { log: () => undefined });
  for (const c of listCheckpoints(finished)) await writeCheckpointGrid(c.dir, { numSteps: 4 });
  // a live run: trains until killed (a 60 s time budget stops it if everything else fails)
  const configFile = path.join(tmp, 'live.json');
  writeFileSync(
    configFile,
    JSON.stringify({ ...TINY_TRAIN_CONFIG, maxTrainSteps: 1_000_000, checkpointingSteps: 1_000_000, timeBudget: 60 }),
  );
  const live = path.join(runs, 'live');
  trainer = spawn(process.execPath, [REG, 'train', '--config', configFile, '--output-dir', live], { stdio: 'ignore' });
  await until('the first steps of the live run', () => lines(path.join(live, 'metrics.jsonl')) >= 3, 20_000);
  dashboard = await listenDashboard({ runsDir: runs, host: '127.0.0.1', port: 0, pollMs: 200 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.setDefaultTimeout(10_000);
  await page.goto(dashboard.url);
});

after(async () => {
  await browser?.close();
  if (trainer && trainer.exitCode === null) {
    const exited = new Promise((r) => trainer!.once('exit', r));
    trainer.kill('SIGKILL');
    await exited;
  }
  await dashboard?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('reg serve in chromium', { timeout: 60_000 }, () => {
  it('shows both runs: the live one running, the other finished', { timeout: 15_000 }, async () => {
    await page.waitForSelector('#runs tr[data-run="live"][data-status="running"]');
    await page.waitForSelector('#runs tr[data-run="finished"][data-status="finished"]');
    // the newest run is ticked at first
    assert.equal(await page.isChecked('#runs input[data-run="live"]'), true);
    assert.equal(await page.isChecked('#runs input[data-run="finished"]'), false);
  });

  it('the curve of the live run gains points while it trains', { timeout: 15_000 }, async () => {
    await inPage(`${pointsOf('loss')}.live > 0`);
    const first = (await points('loss')).live!;
    await inPage(`${pointsOf('loss')}.live >= ${first + 10}`);
    assert.ok((await points('loss')).live! >= first + 10);
  });

  it('ticking both runs shows the grids, overlays the curves and diffs the configs', { timeout: 15_000 }, async () => {
    await page.check('#runs input[data-run="finished"]');
    const img = page.locator('#samples [data-run="finished"] img.grid[data-step="60"]');
    await img.waitFor();
    await inPage(`${GRID}.complete && ${GRID}.naturalWidth > 0`);
    // the grid of 16 images of 8×8 in rows of 8 (checkpoint-grid.ts)
    assert.deepEqual(await page.evaluate(`[${GRID}.naturalWidth, ${GRID}.naturalHeight]`), [82, 22]);
    assert.equal(await page.locator('#samples [data-run="finished"] img.grid').count(), 3);

    await inPage(`${pointsOf('loss')}.live > 0 && ${pointsOf('loss')}.finished === 60`);
    assert.deepEqual(Object.keys(await points('denoise')).sort(), ['finished', 'live']);
    const diff = page.locator('#config tr[data-key="train.learningRate"] td');
    await diff.first().waitFor();
    assert.deepEqual(await diff.allTextContents(), ['train.learningRate', '0.001', '0.002']);
    const shot = process.env.REG_SERVE_SCREENSHOT;
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  });

  it(
    'smoothing 0 draws the logged values; log scale drops points ≤ 0; the time axis is the running sum of stepSeconds',
    { timeout: 15_000 },
    async () => {
      const logged = readFileSync(path.join(runs, 'finished', 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { step: number; loss: number; proj: number; stepSeconds: number });
      const series = (metric: string) =>
        `echarts.getInstanceByDom(document.querySelector('#chart-${metric}')).getOption().series.find((s) => s.name === 'finished').data`;
      await page.evaluate(
        `(() => { const e = document.querySelector('#smoothing'); e.value = '0'; e.dispatchEvent(new Event('input')); })()`,
      );
      await inPage(`${series('loss')}[1][1] === ${logged[1]!.loss}`); // the first point is the same smoothed or not
      assert.deepEqual(
        await page.evaluate(series('loss')),
        logged.map((r) => [r.step, r.loss]),
      );

      const positive = logged.filter((r) => r.proj > 0).length;
      assert.ok(positive < logged.length, 'the alignment loss (−cos) goes below 0');
      await page.check('#log-scale');
      await inPage(`${pointsOf('proj')}.finished === ${positive}`);
      assert.equal((await points('loss')).finished, 60);
      await page.uncheck('#log-scale');

      await page.selectOption('#x-axis', 'time');
      let t = 0;
      const times = logged.map((r) => (t += r.stepSeconds));
      await inPage(`${series('loss')}[0][0] === ${times[0]}`);
      const drawn = (await page.evaluate(series('loss'))) as [number, number][];
      assert.deepEqual(
        drawn.map(([x]) => x),
        times,
      );
    },
  );

  it('shows the evaluation records found in a run', { timeout: 15_000 }, async () => {
    writeFileSync(path.join(runs, 'finished', 'samples.eval.json'), JSON.stringify({ metrics: { fid: 12.5 }, samples: 20 }));
    await page.uncheck('#runs input[data-run="finished"]');
    await page.check('#runs input[data-run="finished"]');
    const summary = page.locator('#evaluations summary', { hasText: 'finished/samples.eval.json' });
    await summary.waitFor();
    const rows = await page.locator('#evaluations details tr').allTextContents();
    assert.deepEqual(rows, ['metrics.fid12.5', 'samples20']);
  });
});
