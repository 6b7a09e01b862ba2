/** Every `reg` subcommand, in the order `reg --help` lists them. */
import type { Command } from '../args.js';
import { convertCommand } from './convert.js';
import { exportCommand } from './export.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [convertCommand, exportCommand, versionCommand];
