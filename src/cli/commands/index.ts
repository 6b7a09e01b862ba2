/** Every `reg` subcommand, in the order `reg --help` lists them. */
import type { Command } from '../args.js';
import { convertCommand } from './convert.js';
import { exportCommand } from './export.js';
import { versionCommand } from './version.js';
import { prepareCommand } from './prepare.js';

export const COMMANDS: readonly Command[] = [prepareCommand, convertCommand, exportCommand, versionCommand];
