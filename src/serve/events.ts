/**
 * Live curves as server-sent events: `GET /api/events?run=a&run=b` streams, for each named run, one
 * `metrics` event with every complete line of its metrics.jsonl, then one for each batch of new lines
 * (checked every `pollMs`):
 *
 *   event: metrics
 *   data: {"run": "a", "reset": false, "records": [{"step": 1, "loss": …}, …]}
 *
 * `reset: true` means the file was cut back (a resumed run) and the records replace the curve.
 */
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import { readMetricsFrom } from './metrics-tail.js';

/** Records per event at most (a long run's history arrives in several events). */
const RECORDS_PER_EVENT = 5000;
/** Seconds between comment lines that keep idle connections open through proxies. */
const KEEPALIVE_SECONDS = 15;

/** Streams the metrics of `runs` (name → directory) to `res` until the client goes away; returns a stopper. */
export function streamMetrics(res: ServerResponse, runs: ReadonlyMap<string, string>, pollMs: number): () => void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
  res.write('retry: 2000\n\n');
  const offsets = new Map([...runs.keys()].map((name) => [name, 0]));
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const poll = () => {
    for (const [name, dir] of runs) {
      // a long history goes out in reads of 4 MiB, each as events of at most RECORDS_PER_EVENT records
      for (let more = true; more;) {
        const chunk = readMetricsFrom(path.join(dir, 'metrics.jsonl'), offsets.get(name)!);
        offsets.set(name, chunk.offset);
        more = chunk.more;
        if (chunk.records.length === 0 && !chunk.reset) continue;
        for (let i = 0; i === 0 || i < chunk.records.length; i += RECORDS_PER_EVENT)
          send('metrics', { run: name, reset: chunk.reset && i === 0, records: chunk.records.slice(i, i + RECORDS_PER_EVENT) });
      }
    }
  };
  poll();
  // the first batch goes out even for runs with no lines yet, so the page knows they are there
  for (const name of runs.keys()) if (offsets.get(name) === 0) send('metrics', { run: name, reset: false, records: [] });
  const timer = setInterval(poll, pollMs);
  let ticks = 0;
  const keepalive = setInterval(() => res.write(`: ${++ticks}\n\n`), KEEPALIVE_SECONDS * 1000);
  const stop = () => {
    clearInterval(timer);
    clearInterval(keepalive);
    res.end();
  };
  res.on('close', stop);
  return stop;
}
