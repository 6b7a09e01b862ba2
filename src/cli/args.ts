/**
 * Command-line options: each subcommand declares its options once, as a {@link SettingTable} (the
 * training options are the settings table of src/train/config.ts); commander parses them and writes
 * `--help` from that declaration. Values are checked against the declaration (type, choices, range)
 * with the same check the training config uses; bad input is a {@link UsageError} (exit code 2).
 */
import { Command as CommanderCommand, CommanderError, Option } from 'commander';
import { kebabCase } from '../util/case.js';
import { warnIfReferenceBlas } from '../torch/blas.js';
import { settingProblem, type Setting, type SettingTable, type SettingValue } from '../util/settings.js';

/** A subcommand of `reg`. */
export interface Command {
  name: string;
  summary: string;
  /** Positional arguments, for the usage line (e.g. `<ckpt> <dir>`); `run` checks them. */
  positionals?: string;
  /** Options by camelCase name (`guidanceHigh` is `--guidance-high`). */
  options: SettingTable;
  /** Heavy tensor work (training, sampling, encoding): warns once when libtorch runs on the reference BLAS. */
  compute?: boolean;
  run(args: ParsedArgs): Promise<void>;
}

/** Parsed options by camelCase name (undefined: not given and no default), plus positionals. */
export interface ParsedArgs {
  options: Record<string, SettingValue | undefined>;
  positionals: string[];
}

/** Raised for bad command-line input; the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A default as `--help` shows it: strings bare (the empty string as `""`), other values as JSON. */
export const showDefault = (v: SettingValue): string => (typeof v === 'string' && v !== '' ? v : JSON.stringify(v));

/**
 * The settings of `table` as options that override another source (a config file): each default is
 * shown in `--help` but not applied, so only options given on the command line have a value.
 */
export function overrideOptions(table: SettingTable): SettingTable {
  return Object.fromEntries(
    Object.entries(table).map(([name, { default: d, ...s }]) => [
      name,
      d === undefined ? s : { ...s, help: `${s.help} (default: ${showDefault(d)})` },
    ]),
  );
}

/** `raw` as a value of `s`, or a UsageError naming the option. */
function parseValue(flag: string, s: Setting, raw: string): SettingValue {
  const value = s.type === 'string' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
  const problem = settingProblem(s, value);
  if (problem !== null) throw new UsageError(`${flag} must be ${problem}, got '${raw}'`);
  return value;
}

/** The commander options of one setting: a boolean is a flag with a `--no-` form (shown unless its default is false). */
function commanderOptions(name: string, s: Setting): Option[] {
  const flag = `--${kebabCase(name)}`;
  const help = s.required ? `${s.help} (required)` : s.help;
  if (s.type === 'boolean') {
    const on = new Option(flag, help);
    if (s.default !== undefined) on.default(s.default, showDefault(s.default));
    const off = new Option(`--no-${kebabCase(name)}`, `turn ${flag} off`);
    return [on, s.default === false ? off.hideHelp() : off];
  }
  const option = new Option(`${flag} <${s.choices ? s.choices.join('|') : s.type}>`, help).argParser((raw: string) =>
    parseValue(flag, s, raw),
  );
  if (s.default !== undefined) option.default(s.default, showDefault(s.default));
  if (s.required) option.makeOptionMandatory();
  return [option];
}

/**
 * How commander writes: errors are left to the caller; help wraps to the terminal's width, and not at
 * all into a pipe (one line per option, for grep).
 */
export const OUTPUT = {
  outputError: (): void => undefined,
  getOutHelpWidth: (): number => (process.stdout.isTTY ? process.stdout.columns : Number.POSITIVE_INFINITY),
  getErrHelpWidth: (): number => (process.stderr.isTTY ? process.stderr.columns : Number.POSITIVE_INFINITY),
};

/**
 * A commander command with `options`; it throws instead of exiting (CommanderError, or UsageError for
 * a bad value) and prints no error itself. Positionals are collected, not checked.
 */
export function commanderCommand(name: string, options: SettingTable, summary = '', positionals?: string): CommanderCommand {
  const cmd = new CommanderCommand(name).description(summary).allowExcessArguments().exitOverride().configureOutput(OUTPUT);
  if (positionals) cmd.usage(`[options] ${positionals}`);
  for (const [key, setting] of Object.entries(options)) for (const option of commanderOptions(key, setting)) cmd.addOption(option);
  return cmd;
}

/** The `reg <name>` commander command of `cmd`, running it on parse. */
export function commandOf(cmd: Command): CommanderCommand {
  return commanderCommand(cmd.name, cmd.options, cmd.summary, cmd.positionals).action((_options: unknown, self: CommanderCommand) => {
    if (cmd.compute) warnIfReferenceBlas();
    return cmd.run({ options: self.opts(), positionals: self.args });
  });
}

/** A CommanderError as a UsageError (commander's `error: ` prefix dropped). */
export function usageErrorOf(e: CommanderError): UsageError {
  return new UsageError(e.message.replace(/^error: /, '').replace(/\n/g, ' '));
}

/** Parses `argv` (after the subcommand name) against `options`; bad input throws a UsageError. `--no-flag` sets a boolean false. */
export function parseArgs(argv: readonly string[], options: SettingTable): ParsedArgs {
  const cmd = commanderCommand('reg', options);
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    throw e instanceof CommanderError ? usageErrorOf(e) : e;
  }
  return { options: cmd.opts(), positionals: cmd.args };
}

/** The `--help` text of a command: usage line, summary and every option with its default. */
export function helpText(cmd: Command): string {
  const reg = new CommanderCommand('reg').addCommand(commandOf(cmd));
  return reg.commands[0]!.helpInformation();
}
