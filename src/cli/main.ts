#!/usr/bin/env node
/**
 * `reg`: the reg-ts command line. Each subcommand lives in src/cli/commands/ and is listed in
 * commands/index.ts; this file only dispatches and turns errors into messages and exit codes.
 */
import { helpText, parseArgs, UsageError } from './args.js';
import { COMMANDS } from './commands/index.js';

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'usage: reg <command> [options]',
    '',
    'REG (Representation Entanglement for Generation) in TypeScript on libtorch.',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    '',
    'Run `reg <command> --help` for the options of a command.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`reg: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(helpText(cmd));
    return 0;
  }
  try {
    await cmd.run(parseArgs(rest, cmd.options));
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`reg ${cmd.name}: ${err.message}`);
      return 2;
    }
    const e = err as Error;
    console.error(`reg ${cmd.name}: ${e.message}`);
    if (process.env.REG_DEBUG) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
