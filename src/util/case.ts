/**
 * The one conversion between setting names (camelCase, as in JSON configs and code) and command-line
 * option names (kebab-case): `batchSize` ↔ `batch-size`.
 */

/** `batchSize` → `batch-size`. */
export const kebabCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** `batch-size` → `batchSize` (the inverse of {@link kebabCase}; camelCase input is returned as is). */
export const camelCase = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
