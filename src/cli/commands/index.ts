/** Every `reg` subcommand, in the order `reg --help` lists them. */
import type { Command } from '../args.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [versionCommand];
