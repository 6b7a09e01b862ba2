/**
 * Command-line options: each subcommand declares its options once (name, type, default, help);
 * parsing, validation and the `--help` text all come from that declaration.
 */

/** One declared option. */
export interface OptionSpec {
  /** Long name without dashes, kebab-case (`--guidance-high`). */
  name: string;
  type: 'string' | 'number' | 'integer' | 'boolean';
  help: string;
  /** Default value; options without one are undefined unless given. */
  default?: string | number | boolean;
  /** Allowed values (strings). */
  choices?: readonly string[];
  /** Must be given. */
  required?: boolean;
}

/** A subcommand of `reg`. */
export interface Command {
  name: string;
  summary: string;
  /** Positional arguments, for the usage line (e.g. `<ckpt> <dir>`). */
  positionals?: string;
  options: readonly OptionSpec[];
  run(args: ParsedArgs): Promise<void>;
}

/** Parsed options by camelCase name, plus positionals. */
export interface ParsedArgs {
  options: Record<string, string | number | boolean | undefined>;
  positionals: string[];
}

/** Raised for bad command-line input; the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `guidance-high` → `guidanceHigh`. */
export const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function convert(spec: OptionSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'boolean':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw new UsageError(`--${spec.name} expects true or false, got '${raw}'`);
    case 'number':
    case 'integer': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${spec.name} expects a number, got '${raw}'`);
      if (spec.type === 'integer' && !Number.isInteger(n)) throw new UsageError(`--${spec.name} expects an integer, got '${raw}'`);
      return n;
    }
    default:
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')}; got '${raw}'`);
      }
      return raw;
  }
}

/** Parses `argv` (after the subcommand name) against `specs`. `--no-flag` sets a boolean false. */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const options: ParsedArgs['options'] = {};
  for (const s of specs) options[camel(s.name)] = s.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    let [name, value] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.type === 'boolean' && value === undefined) {
      spec = byName.get(name.slice(3))!;
      options[camel(spec.name)] = false;
      continue;
    }
    if (!spec) throw new UsageError(`unknown option --${name} (see --help)`);
    if (value === undefined) {
      if (spec.type === 'boolean' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--') || !['true', 'false', '1', '0'].includes(argv[i + 1]!))) {
        value = 'true';
      } else {
        value = argv[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
      }
    }
    options[camel(spec.name)] = convert(spec, value);
  }
  for (const s of specs) {
    if (s.required && options[camel(s.name)] === undefined) throw new UsageError(`--${s.name} is required`);
  }
  return { options, positionals };
}

/** The `--help` text of a command: usage line and every option with its default. */
export function helpText(cmd: Command): string {
  const lines = [`usage: reg ${cmd.name}${cmd.positionals ? ` ${cmd.positionals}` : ''} [options]`, '', cmd.summary, '', 'options:'];
  const rows = cmd.options.map((o) => {
    const left = `--${o.name}${o.type === 'boolean' ? '' : ` <${o.choices ? o.choices.join('|') : o.type}>`}`;
    const def = o.required ? ' (required)' : o.default === undefined ? '' : ` (default: ${String(o.default)})`;
    return [left, `${o.help}${def}`] as const;
  });
  rows.push(['--help', 'show this help']);
  // Long option columns wrap: the description goes on its own indented line.
  const width = Math.min(Math.max(...rows.map(([l]) => l.length)), 34);
  for (const [left, text] of rows) {
    if (left.length <= width) lines.push(`  ${left.padEnd(width)}  ${text}`);
    else lines.push(`  ${left}`, `  ${' '.repeat(width)}  ${text}`);
  }
  return lines.join('\n');
}
