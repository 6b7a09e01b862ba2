/** Every `reg` subcommand, in the order `reg --help` lists them. */
import type { Command } from '../args.js';
import { convertCommand } from './convert.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { launchCommand } from './launch.js';
import { prepareCommand } from './prepare.js';
import { sampleCommand } from './sample.js';
import { serveCommand } from './serve.js';
import { studyCommand } from './study.js';
import { trainCommand } from './train.js';
import { trainAutoencoderCommand } from './train-autoencoder.js';
import { versionCommand } from './version.js';

export const COMMANDS: readonly Command[] = [
  demoCommand,
  prepareCommand,
  trainCommand,
  trainAutoencoderCommand,
  studyCommand,
  sampleCommand,
  launchCommand,
  evalCommand,
  serveCommand,
  convertCommand,
  exportCommand,
  versionCommand,
];
