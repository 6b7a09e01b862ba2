/** A one-line description of the CPUs, as benchmarks and study reports record it. */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** "2 CPUs, Intel(R) Xeon(R) …": the logical CPU count and /proc/cpuinfo's model name (Node's on other systems). */
export function cpuDescription(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return `${cpus().length} CPUs, ${model}`;
}
