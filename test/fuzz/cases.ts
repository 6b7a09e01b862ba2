/**
 * Fuzz cases and their outcomes: case `i` of a campaign is a function of (campaign seed, format, i) only,
 * so any case can be rebuilt alone; a thrown error is a clean error when it is an Error that names the
 * case's file and is not one of JavaScript's own failures (reading a property of undefined, a stack
 * overflow, an allocation that failed).
 */
import { createHash } from 'node:crypto';
import type { FuzzFormat, Seed } from './formats.js';
import { mutate, Random, type MutationKind } from './mutate.js';

/**
 * What a case came to.
 * - `clean`: a clear error that names the file;
 * - `valid`: read, and the same as its seed; `valid-changed`: read, different, and nothing (no checksum)
 *   could have told;
 * - `unnamed`: an error that does not name the file;
 * - `garbage`: read, different, although a checksum covers what was changed;
 * - `crash`: a JavaScript failure (TypeError on undefined, stack overflow, …) or the process died;
 * - `hang`: no answer within the time limit; `over-memory`: more memory than allowed, or an allocation failed.
 */
export type Outcome = 'clean' | 'valid' | 'valid-changed' | 'unnamed' | 'garbage' | 'crash' | 'hang' | 'over-memory';

/** Outcomes that are failures of the reader. */
export const BAD_OUTCOMES: readonly Outcome[] = ['unnamed', 'garbage', 'crash', 'hang', 'over-memory'];

/** Every outcome, in table order. */
export const OUTCOMES: readonly Outcome[] = ['clean', 'valid', 'valid-changed', ...BAD_OUTCOMES];

/** One case's report. */
export interface CaseResult {
  index: number;
  seed: string;
  kind: MutationKind;
  member?: string;
  size: number;
  outcome: Outcome;
  ms: number;
  /** How much the process's peak memory (max RSS) grew during the case, in MB (0 when it stayed under an earlier peak). */
  peakGrowthMb?: number;
  message?: string;
  /** Set by the campaign when a failing case was run again alone. */
  confirmed?: boolean;
}

/** What a worker is asked to run. */
export interface WorkerJob {
  format: string;
  seed: number;
  from: number;
  to: number;
  memLimitMb: number;
  tmp?: string;
}

/** The seed index, mutation and bytes of case `index` of a campaign. */
export function caseOf(
  campaignSeed: number,
  format: FuzzFormat,
  seeds: readonly Seed[],
  index: number,
): { seed: number; bytes: Uint8Array; kind: MutationKind; member?: string } {
  const h = createHash('sha256').update(`${campaignSeed}/${format.name}/${index}`).digest();
  const r = new Random(h.readUInt32LE(0));
  const seed = index % seeds.length;
  const s = seeds[seed] as Seed;
  return { seed, ...mutate(s.files[s.target] as Uint8Array, r, { zip: s.zip === true }) };
}

/** JavaScript's own failures: a bug in the reader, whatever the message around them says. */
const JS_FAILURES =
  /Cannot read propert|Cannot set propert|is not a function|is not iterable|is not defined|is not a constructor|Maximum call stack|Cannot convert|Cannot mix BigInt|Invalid array length|Invalid typed array length/;

/** Failed allocations: the file made the reader ask for more memory than there is. */
const ALLOCATION_FAILURES = /allocation failed|cannot allocate|Array buffer allocation|out of memory|std::bad_alloc|DefaultCPUAllocator/i;

/** The outcome of an error thrown by a reader reading the case in `dir`. */
export function classifyError(e: unknown, dir: string): { outcome: Outcome; message: string } {
  if (!(e instanceof Error)) return { outcome: 'crash', message: `threw a non-Error: ${String(e)}` };
  const chain: string[] = [];
  for (let x: unknown = e; x instanceof Error && chain.length < 8; x = x.cause) chain.push(`${x.name}: ${x.message}`);
  const message = chain.join(' ← ').slice(0, 400);
  if (ALLOCATION_FAILURES.test(message)) return { outcome: 'over-memory', message };
  if (JS_FAILURES.test(message)) return { outcome: 'crash', message };
  return { outcome: e.message.includes(dir) ? 'clean' : 'unnamed', message };
}
