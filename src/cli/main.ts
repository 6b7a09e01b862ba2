#!/usr/bin/env node
/**
 * `reg`: the reg-ts command line. Each subcommand lives in src/cli/commands/ and is listed in
 * commands/index.ts; this file builds the commander program from them and turns errors into messages
 * and exit codes (2 for bad usage, 1 for a failure).
 */
import { Command as CommanderCommand, CommanderError } from 'commander';
import { commandOf, OUTPUT, UsageError, usageErrorOf } from './args.js';
import { COMMANDS } from './commands/index.js';

function program(): CommanderCommand {
  const reg = new CommanderCommand('reg')
    .usage('<command> [options]')
    .description('REG (Representation Entanglement for Generation) in TypeScript on libtorch.')
    .addHelpText('after', '\nRun `reg <command> --help` for the options of a command.')
    .exitOverride()
    .configureOutput(OUTPUT);
  for (const cmd of COMMANDS) reg.addCommand(commandOf(cmd));
  return reg;
}

async function main(argv: string[]): Promise<number> {
  const reg = program();
  if (argv.length === 0) {
    process.stdout.write(reg.helpInformation());
    return 0;
  }
  const name = COMMANDS.some((c) => c.name === argv[0]) ? `reg ${argv[0]}` : 'reg';
  try {
    await reg.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return 0; // --help
    if (err instanceof CommanderError && err.code === 'commander.unknownCommand') {
      console.error(`${name}: ${usageErrorOf(err).message}\n\n${reg.helpInformation()}`);
      return 2;
    }
    if (err instanceof UsageError || err instanceof CommanderError) {
      console.error(`${name}: ${(err instanceof CommanderError ? usageErrorOf(err) : err).message}`);
      return 2;
    }
    const e = err as Error;
    console.error(`${name}: ${e.message}`);
    if (process.env.REG_DEBUG) console.error(e.stack);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
