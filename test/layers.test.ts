// The layers of src/ and the direction of their imports (docs/architecture.md):
//
//   util · torch → nn → models → diffusion → train → data → eval → pipelines → serve → cli
//
// A file may import its own folder, `util/`, and any layer to its left; never one to its right.
// Tests obey the same rule (a test of a layer exercises that layer and the ones below it; CLI tests
// live in src/cli/), and may also import the shared test helpers under test/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fixturePath } from './fixture-path.js';

/** Layers from bottom to top; `util` is a leaf every layer may use. */
const LAYERS = ['util', 'torch', 'nn', 'models', 'diffusion', 'train', 'data', 'eval', 'pipelines', 'serve', 'cli'] as const;

const root = path.resolve(fixturePath(), '..', '..');
const src = path.join(root, 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sources(full, out);
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

/** The layer of a file under src/ (its first folder), or null for src/index.ts and files outside src/. */
function layerOf(file: string): number | null {
  const rel = path.relative(src, file);
  if (rel.startsWith('..')) return null;
  const top = rel.split(path.sep)[0]!;
  if (top.endsWith('.ts')) return null; // src/index.ts re-exports every layer
  const i = LAYERS.indexOf(top as (typeof LAYERS)[number]);
  assert.ok(i >= 0, `src/${top}/ is not a known layer: add it to LAYERS in test/layers.test.ts and docs/architecture.md`);
  return i;
}

/** Relative module specifiers of static imports, re-exports and dynamic imports with a literal path. */
function relativeImports(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm)) out.push(m[1]!);
  return out;
}

test('imports in src/ only point down the layers', () => {
  const violations: string[] = [];
  const files = sources(src);
  assert.ok(files.length > 50, `found only ${files.length} source files under ${src}`);
  for (const file of files) {
    const from = layerOf(file);
    if (from === null) continue;
    for (const spec of relativeImports(readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      const to = layerOf(target);
      if (to === null) {
        const isTestHelper = path.relative(root, target).startsWith(`test${path.sep}`);
        if (!(isTestHelper && file.endsWith('.test.ts')))
          violations.push(`${path.relative(root, file)} imports ${spec} (outside the layers)`);
        continue;
      }
      if (to === from || to === 0) continue;
      if (to > from) violations.push(`${path.relative(root, file)} (${LAYERS[from]}) imports ${spec} (${LAYERS[to]}, a layer above)`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the import scanner sees every kind of relative import', () => {
  const code =
    "import { a } from '../torch/a.js';\nexport * from './b.js';\nimport './side.js';\nconst m = await import('../data/c.js');\nimport type { T } from \"../nn/t.js\";";
  assert.deepEqual(relativeImports(code), ['../torch/a.js', './b.js', './side.js', '../data/c.js', '../nn/t.js']);
});
