/**
 * Fetches one pinned npm package tarball from the registry, verifies its Subresource-Integrity hash
 * (the `dist.integrity` the registry publishes) and keeps it in the reg-ts cache directory, so that the
 * network is needed once and a corrupted or tampered download is never used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic } from '../../../util/atomic.js';
import { readTar, type TarEntry } from './tar.js';

/** A package pinned by name, version and SRI integrity string (`sha512-<base64>`). */
export interface PinnedPackage {
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
}

/** Cache root: `$REG_CACHE`, else `~/.cache/reg-ts`. */
export function cacheDir(): string {
  return process.env['REG_CACHE'] || join(homedir(), '.cache', 'reg-ts');
}

/** The registry tarball URL of `pkg` (`$npm_config_registry` or registry.npmjs.org). */
export function tarballUrl(pkg: PinnedPackage, registry = process.env['npm_config_registry'] || 'https://registry.npmjs.org/'): string {
  const base = registry.endsWith('/') ? registry : `${registry}/`;
  const bare = pkg.name.startsWith('@') ? pkg.name.split('/')[1]! : pkg.name;
  return `${base}${pkg.name}/-/${bare}-${pkg.version}.tgz`;
}

/** True when `bytes` match one of the hashes of the SRI string `integrity` (sha512/sha384/sha256). */
export function checkIntegrity(bytes: Uint8Array, integrity: string): boolean {
  return integrity.split(/\s+/).some((token) => {
    const m = /^(sha512|sha384|sha256)-([A-Za-z0-9+/=]+)/.exec(token);
    return m !== null && createHash(m[1]!).update(bytes).digest('base64') === m[2];
  });
}

/** Cache path of `pkg`'s tarball. */
export function tarballCachePath(pkg: PinnedPackage): string {
  return join(cacheDir(), 'npm', `${pkg.name.replace('/', '+')}-${pkg.version}.tgz`);
}

/**
 * Returns the verified tarball bytes of `pkg`: from the cache when present and intact, else downloaded
 * with `fetch`, verified, and written to the cache atomically.
 */
export async function fetchPinnedTarball(pkg: PinnedPackage): Promise<Uint8Array> {
  const path = tarballCachePath(pkg);
  if (existsSync(path)) {
    const cached = readFileSync(path);
    if (checkIntegrity(cached, pkg.integrity)) return new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength);
  }
  const url = tarballUrl(pkg);
  let bytes: Uint8Array;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new Error(
      `cannot download ${pkg.name}@${pkg.version} from ${url}: ${(err as Error).message}. ` +
        `Without network, put that file at ${path} (integrity ${pkg.integrity}).`,
    );
  }
  if (!checkIntegrity(bytes, pkg.integrity)) {
    throw new Error(`${url}: integrity check failed (expected ${pkg.integrity}); refusing to use it`);
  }
  writeFileAtomic(path, bytes);
  return bytes;
}

/** The regular files of a gzipped tarball. */
export function readTgz(bytes: Uint8Array): TarEntry[] {
  return readTar(gunzipSync(bytes));
}
