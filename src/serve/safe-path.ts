/**
 * The only way the dashboard turns a request into a file: URL path segments, each a plain name, joined
 * under the runs directory, and kept only when the real path (symlinks resolved) is still inside it.
 *
 *   rejected: empty segments, '.', '..', '/', '\', NUL and other control characters, malformed
 *             %-escapes, and anything whose realpath leaves realpath(root)
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

/** One path segment as it appears in a URL (%-escaped), decoded; null when it is not a plain name. */
export function decodeSegment(raw: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return null; // malformed %-escape
  }
  // eslint-disable-next-line no-control-regex
  if (name === '' || name === '.' || name === '..' || /[/\\\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
}

/**
 * The real path of `root/segments…` when it exists and lies inside the real `root` (the root itself
 * included when `segments` is empty); null otherwise (a bad segment, a missing file, a link out).
 */
export function resolveInside(root: string, segments: readonly string[]): string | null {
  const names = segments.map(decodeSegment);
  if (names.some((n) => n === null)) return null;
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(path.join(realRoot, ...(names as string[])));
  } catch {
    return null;
  }
  return real === realRoot || real.startsWith(realRoot + path.sep) ? real : null;
}
