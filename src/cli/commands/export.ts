/** `reg export <dir> <file.safetensors>`: weights under the official key names, for PyTorch users. */
import { existsSync } from 'node:fs';
import { UsageError, type Command } from '../args.js';
import type { WeightsKind } from '../../models/checkpoint.js';
import { exportWeights } from '../../models/pretrained.js';
import type { DType } from '../../torch/index.js';

export const exportCommand: Command = {
  name: 'export',
  summary: "write a checkpoint's weights to one safetensors file with the official PyTorch key names",
  positionals: '<dir> <file.safetensors>',
  options: {
    weights: { type: 'string', default: 'ema', choices: ['ema', 'model'], help: 'EMA or raw trained weights' },
    dtype: {
      type: 'string',
      choices: ['float32', 'float16', 'bfloat16', 'float64'],
      help: 'convert floating tensors (default: as stored)',
    },
  },
  async run({ options, positionals }) {
    const [src, file, ...rest] = positionals;
    if (src === undefined || file === undefined || rest.length > 0)
      throw new UsageError('expected two arguments: <dir> <file.safetensors>');
    if (!existsSync(src)) throw new UsageError(`checkpoint not found: ${src}`);
    if (!file.endsWith('.safetensors')) throw new UsageError(`output file must end in .safetensors: ${file}`);
    const n = exportWeights(src, file, { weights: options.weights as WeightsKind, dtype: options.dtype as DType | undefined });
    console.log(`${src} (${String(options.weights)}) → ${file}: ${n} tensors`);
  },
};
