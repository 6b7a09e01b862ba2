/** Absolute path of a committed fixture under test/fixtures/ (works from src and from dist). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = [path.resolve(here, '..'), path.resolve(here, '../..')].find((d) => existsSync(path.join(d, 'package.json')));

/** `test/fixtures/<parts…>` resolved from the repository root (`fixturePath('io', 'tiny.pt')` or `fixturePath('io/tiny.pt')`). */
export function fixturePath(...parts: string[]): string {
  if (!root) throw new Error('test/fixtures not found');
  return path.join(root, 'test', 'fixtures', ...parts);
}
