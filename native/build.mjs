// Builds the native addon during `npm install` / `npm ci` with node-gyp, against the local Node
// headers (no download) and the libtorch that find-libtorch.mjs picks. Skips the compile when the
// sources and the libtorch are unchanged since the last successful build.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './find-libtorch.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const addon = path.join(here, 'build', 'Release', 'regts.node');
const stampFile = path.join(here, 'build', 'stamp.txt');

function sourceHash(lib) {
  const h = createHash('sha256');
  for (const f of [
    'binding.gyp',
    ...readdirSync(path.join(here, 'src'))
      .sort()
      .map((f) => `src/${f}`),
  ]) {
    h.update(f).update(readFileSync(path.join(here, f)));
  }
  h.update(JSON.stringify(lib)).update(process.version);
  return h.digest('hex');
}

const lib = findLibtorch();
const stamp = sourceHash(lib);
if (existsSync(addon) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && !process.env.REGTS_REBUILD) {
  console.log(`reg-ts native addon is up to date (${lib.source})`);
  process.exit(0);
}

const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const args = [nodeGyp, 'rebuild', '--jobs=max'];
const localHeaders = path.resolve(path.dirname(process.execPath), '..');
if (existsSync(path.join(localHeaders, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${localHeaders}`);
console.log(`building the reg-ts native addon against ${lib.source} (${lib.libdir}); this takes about a minute`);
const result = spawnSync(process.execPath, args, { cwd: here, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('reg-ts: the native build failed; see the compiler output above');
  process.exit(result.status ?? 1);
}
writeFileSync(stampFile, stamp);
