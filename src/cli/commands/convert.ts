/** `reg convert <official.pt> <dir>`: import an official REG checkpoint as a native checkpoint directory. */
import { existsSync, readdirSync } from 'node:fs';
import { UsageError, type Command } from '../args.js';
import { convertOfficial } from '../../models/pretrained.js';
import type { SiTConfig } from '../../models/configs.js';
import type { Setting } from '../../util/settings.js';

/** --num-heads of the commands that read official checkpoints (`reg convert`, `reg sample`). */
export const NUM_HEADS_OPTION: Setting = {
  type: 'integer',
  help: "attention heads of an official .pt; needed unless the width is a standard SiT width (384, 768, 1024, 1152) or the checkpoint's args.model names a known model, since no tensor shape shows it",
};

export const convertCommand: Command = {
  name: 'convert',
  summary: 'import an official REG/REPA/SiT .pt checkpoint (model + EMA, config inferred) into a reg-ts checkpoint directory',
  positionals: '<official.pt> <dir>',
  options: {
    numHeads: NUM_HEADS_OPTION,
    encoderDepth: { type: 'integer', help: 'block whose output feeds the projectors (default: the checkpoint args, else 8)' },
    force: { type: 'boolean', default: false, help: 'write into a non-empty directory' },
  },
  async run({ options, positionals }) {
    const [src, dir, ...rest] = positionals;
    if (src === undefined || dir === undefined || rest.length > 0) throw new UsageError('expected two arguments: <official.pt> <dir>');
    if (!existsSync(src)) throw new UsageError(`checkpoint not found: ${src}`);
    if (existsSync(dir) && readdirSync(dir).length > 0 && !options.force)
      throw new UsageError(`${dir} is not empty (pass --force to write into it)`);
    const overrides: Partial<SiTConfig> = {};
    if (options.numHeads !== undefined) overrides.numHeads = options.numHeads as number;
    if (options.encoderDepth !== undefined) overrides.encoderDepth = options.encoderDepth as number;
    const r = convertOfficial(src, dir, { overrides });
    const c = r.config;
    console.log(`${src} → ${dir}`);
    console.log(
      `model    ${c.name ?? 'custom'} variant=${c.variant} D=${c.hiddenSize} depth=${c.depth} heads=${c.numHeads} p=${c.patchSize} input=${c.inputSize}×${c.inputSize}×${c.inChannels} classes=${c.numClasses} zDims=[${c.zDims.join(', ')}] encoderDepth=${c.encoderDepth}`,
    );
    console.log(
      `weights  ${r.tensors} tensors${r.hasEma ? ' (model + ema)' : ' (model only)'}${r.step !== undefined ? `, step ${r.step}` : ''}`,
    );
  },
};
