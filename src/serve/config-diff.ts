/**
 * The difference between two runs' configurations: both flattened to dotted keys
 * (`{train: {lr: 1}}` → `train.lr`), then every key whose values differ, in sorted order.
 */

/** One differing setting: its dotted key and the value on each side (undefined: absent there). */
export interface ConfigDifference {
  key: string;
  a: unknown;
  b: unknown;
}

/** Nested plain objects flattened to dotted keys; arrays and other values are leaves. */
export function flattenConfig(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenConfig(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else if (prefix !== '') {
    out[prefix] = value;
  }
  return out;
}

/** The settings that differ between configurations `a` and `b` (compared as JSON), sorted by key. */
export function diffConfigs(a: unknown, b: unknown): ConfigDifference[] {
  const fa = flattenConfig(a);
  const fb = flattenConfig(b);
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys.filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k])).map((k) => ({ key: k, a: fa[k], b: fb[k] }));
}
