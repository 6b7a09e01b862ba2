/**
 * A fuzz worker (a child process of the campaign, see campaign.ts): runs cases [from, to) of one format
 * and reports each on stdout, one line before (`S <index>`) and one after (`R <json CaseResult>`), so the
 * parent knows which case a crash or a hang happened in. After a case that took more memory than allowed,
 * the worker stops, so the next case starts in a fresh process with a fresh peak.
 *
 *   node dist/test/fuzz/worker.js '{"format":"pt","seed":1,"from":0,"to":100,"memLimitMb":1024}'
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FORMATS, type FuzzFormat, type Seed } from './formats.js';
import { caseOf, classifyError, type CaseResult, type WorkerJob } from './cases.js';

const job = JSON.parse(process.argv[2] ?? '{}') as WorkerJob;
const format = FORMATS.get(job.format) as FuzzFormat;
const work = mkdtempSync(path.join(job.tmp ?? tmpdir(), `reg-fuzz-${job.format}-`));
process.env.REG_FUZZ_TMP = work;

/** Writes a case's files into a fresh `dir`. */
function writeCase(dir: string, files: Readonly<Record<string, Uint8Array>>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), bytes);
  }
}

async function main(): Promise<void> {
  const seeds = format.seeds();
  // what each seed reads as, unmutated (a seed that does not read is a broken harness)
  const originals: string[] = [];
  for (const [i, seed] of seeds.entries()) {
    const dir = path.join(work, `seed-${i}`);
    writeCase(dir, seed.files);
    originals.push(await format.read(dir, seed));
  }
  const kbAtStart = process.resourceUsage().maxRSS;
  for (let index = job.from; index < job.to; index++) {
    const c = caseOf(job.seed, format, seeds, index);
    const seed = seeds[c.seed] as Seed;
    const dir = path.join(work, 'case');
    writeCase(dir, { ...seed.files, [seed.target]: c.bytes });
    process.stdout.write(`S ${JSON.stringify({ index, seed: seed.label, kind: c.kind, member: c.member, size: c.bytes.byteLength })}\n`);
    process.env.REG_FUZZ_CASE = String(index);
    const before = process.resourceUsage().maxRSS;
    const t0 = performance.now();
    let result: CaseResult;
    try {
      const got = await format.read(dir, seed);
      const outcome = got === originals[c.seed] ? 'valid' : seed.checksummed && c.kind !== 'rezip' ? 'garbage' : 'valid-changed';
      result = { index, seed: seed.label, kind: c.kind, member: c.member, size: c.bytes.byteLength, outcome, ms: 0 };
    } catch (e) {
      const { outcome, message } = classifyError(e, dir);
      result = { index, seed: seed.label, kind: c.kind, member: c.member, size: c.bytes.byteLength, outcome, ms: 0, message };
    }
    result.ms = performance.now() - t0;
    const grewMb = (process.resourceUsage().maxRSS - Math.max(before, kbAtStart)) / 1024;
    result.peakGrowthMb = grewMb;
    if (grewMb > job.memLimitMb) result = { ...result, outcome: 'over-memory', message: `peak memory grew by ${grewMb.toFixed(0)} MB` };
    process.stdout.write(`R ${JSON.stringify(result)}\n`);
    if (result.outcome === 'over-memory') break;
  }
}

main()
  .then(() => rmSync(work, { recursive: true, force: true }))
  .catch((e: unknown) => {
    process.stderr.write(`fuzz worker failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 2;
  });
