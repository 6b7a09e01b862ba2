/** What a function prints with console.log, for tests of commands that report on stdout. */

/** Runs `fn` with console.log collected (restored afterwards, also on a throw); returns the printed lines joined. */
export async function printedBy(fn: () => Promise<unknown>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}
