/** The reg-ts version, as recorded in checkpoints, sample records and `reg version`. */
import { readFileSync } from 'node:fs';

/** The reg-ts package version (package.json's `version`, read from the installed package). */
export function regTsVersion(): string {
  // this file is dist/src/util/version.js: package.json is three levels up
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
