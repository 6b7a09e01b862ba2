/**
 * Declared settings. A setting is written once — type, default, allowed values or range, help line —
 * and everything else is derived from that declaration: the TypeScript type of a record of settings
 * ({@link SettingValues}), its defaults ({@link defaultsOf}), the value check ({@link settingProblem})
 * and, in src/cli/, the command-line options with their `--help`.
 *
 *   const TABLE = { steps: { type: 'integer', default: 50, min: 1, help: 'sampling steps' } } as const satisfies SettingTable;
 *   type Values = SettingValues<typeof TABLE>;                                     // { steps: number }
 */

/** How a value is written: `integer` is a safe integer, `number` any finite number. */
export type SettingType = 'string' | 'number' | 'integer' | 'boolean';

/** A setting's value. */
export type SettingValue = string | number | boolean;

/**
 * One declared setting. A numeric setting's range is `min ≤ v ≤ max` and `above < v < below` (each
 * bound optional).
 */
export interface Setting {
  readonly type: SettingType;
  /** One line for `--help`. */
  readonly help: string;
  /** The value when none is given; a setting without one is undefined unless given (or required). */
  readonly default?: SettingValue;
  /** The allowed values of a string setting. */
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly above?: number;
  readonly below?: number;
  /** Must be given. */
  readonly required?: boolean;
}

/** Settings by camelCase name, in the order `--help` lists them. */
export type SettingTable = Readonly<Record<string, Setting>>;

/** The type of a setting's value: the union of its choices, else string, boolean or number. */
export type ValueOf<S extends Setting> = S extends { readonly choices: readonly (infer C)[] }
  ? C
  : S['type'] extends 'string'
    ? string
    : S['type'] extends 'boolean'
      ? boolean
      : number;

/** Names of the settings that always have a value (a default, or required). */
type Given<T extends SettingTable> = {
  [K in keyof T]: T[K] extends { readonly default: SettingValue } | { readonly required: true } ? K : never;
}[keyof T];

/**
 * A record of a table's values (`{ batchSize: number; variant: 'reg' | 'repa' | …; dataDir?: string }`):
 * settings with a default or marked required are always present, the others optional.
 */
export type SettingValues<T extends SettingTable> = { -readonly [K in Given<T>]: ValueOf<T[K]> } & {
  -readonly [K in Exclude<keyof T, Given<T>>]?: ValueOf<T[K]>;
};

/** The range of a numeric setting in words (`in [0, 1)`, `at least 1`), or null when it has none. */
function rangeText(s: Setting): string | null {
  const low = s.min !== undefined ? `[${s.min}` : s.above !== undefined ? `(${s.above}` : null;
  const high = s.max !== undefined ? `${s.max}]` : s.below !== undefined ? `${s.below})` : null;
  if (low !== null && high !== null) return `in ${low}, ${high}`;
  if (s.min !== undefined) return `at least ${s.min}`;
  if (s.above !== undefined) return `greater than ${s.above}`;
  if (s.max !== undefined) return `at most ${s.max}`;
  if (s.below !== undefined) return `less than ${s.below}`;
  return null;
}

/**
 * What a value of `s` must be (`an integer`, `one of a, b`, `in [0, 1)`) when `value` is not one, or
 * null when it is. Callers phrase the message: `'name' must be ${problem}, got …`.
 */
export function settingProblem(s: Setting, value: unknown): string | null {
  switch (s.type) {
    case 'string':
      if (typeof value !== 'string') return 'a string';
      return s.choices && !s.choices.includes(value) ? `one of ${s.choices.join(', ')}` : null;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'true or false';
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return 'an integer';
      break;
    default:
      if (typeof value !== 'number' || !Number.isFinite(value)) return 'a finite number';
  }
  const v = value as number;
  const inRange =
    (s.min === undefined || v >= s.min) &&
    (s.max === undefined || v <= s.max) &&
    (s.above === undefined || v > s.above) &&
    (s.below === undefined || v < s.below);
  return inRange ? null : rangeText(s);
}

/** Every setting's default (a table whose every setting declares one); throws naming one that has none. */
export function defaultsOf<T extends SettingTable>(table: T): SettingValues<T> {
  const out: Record<string, SettingValue> = {};
  for (const [name, s] of Object.entries(table)) {
    if (s.default === undefined) throw new Error(`setting '${name}' declares no default`);
    out[name] = s.default;
  }
  return out as SettingValues<T>;
}
