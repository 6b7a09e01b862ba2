/**
 * `reg prepare`: computes the encoder targets (class token + patch tokens) of a dataset once into a
 * sharded, checksummed feature cache (src/data/feature-cache.ts), and with --vae also each image's
 * autoencoder posterior [mean; std] (the paper's latent setting). Rerunning with the same options
 * resumes after an interruption; an existing cache with other settings is refused. An image that cannot
 * be decoded stops the run with its path (finished shards are kept).
 *
 *   reg prepare --dataset fashion-mnist --encoder mobilenetv2 --input-size 64 --out runs/fm-features
 *   reg prepare --data folder --data-dir imagenet/train --vae sd-vae-ft-mse --encoder dinov2 \
 *     --encoder-weights dinov2_vitb14_pretrain.pth --out data/imagenet256-cache
 */
import type { Command } from '../args.js';
import { UsageError } from '../args.js';
import type { ImageDataset } from '../../data/dataset.js';
import { prepareFeatureCache, type FeatureDType } from '../../data/feature-cache.js';
import { fineEmojiLabels, isFineEmojiLabels } from '../../data/emoji.js';
import { openDataset, type DatasetSpec } from '../../data/open.js';
import { vaePosterior } from '../../data/vae-posterior.js';
import type { PosteriorEncoder } from '../../data/latents.js';
import { IMAGENET256_RESOLUTION } from '../../data/latent-source.js';
import { loadAutoencoder } from '../../models/autoencoders/load.js';
import { createEncoder, encoderNames } from '../../models/encoders/encoder.js';
import { checkDevice, type Device } from '../../torch/device.js';
import { joinLaunchedRun } from '../launch-group.js';
import { formatDuration } from '../../util/progress.js';

/** Options of {@link openDatasetSpec}. */
export interface DatasetSpecOptions {
  /** Side of the delivered images (default: the dataset's own: 28 for Fashion-MNIST, 64 for emoji; required for folders). */
  readonly resolution?: number;
  /** Fashion-MNIST IDX directory / emoji package directory (default: the installed ones); the folder of `folder`. */
  readonly dir?: string;
}

/**
 * The {@link DatasetSpec} of a dataset named on the command line:
 *   `fashion-mnist[:train|:test]`   Debian's dataset-fashion-mnist (grey, 28×28)
 *   `emoji[:category|:subcategory|:name]` emoji-datasource-google (RGB on white, 64×64); the finer
 *                                   labellings keep every class of the categories the default keeps
 *   `folder:<dir>`                  one subfolder per class, center-cropped to `resolution`
 *   `folder`                        the same with the folder given as `dir` (--data-dir)
 */
export function parseDatasetArg(arg: string, options: DatasetSpecOptions = {}): DatasetSpec {
  const [kind, rest] = arg.startsWith('folder:')
    ? ['folder', arg.slice('folder:'.length)]
    : (arg.split(':', 2) as [string, string | undefined]);
  const resolution = options.resolution;
  switch (kind) {
    case 'fashion-mnist':
      if (rest !== undefined && rest !== 'train' && rest !== 'test')
        throw new UsageError(`--dataset fashion-mnist:${rest}: the split must be train or test`);
      return {
        kind: 'fashion-mnist',
        split: rest ?? 'train',
        ...(options.dir ? { dir: options.dir } : {}),
        ...(resolution ? { resolution } : {}),
      };
    case 'emoji':
      if (rest !== undefined && rest !== 'category' && !isFineEmojiLabels(rest))
        throw new UsageError(`--dataset emoji:${rest}: labels must be category, subcategory or name`);
      return {
        kind: 'emoji',
        ...(isFineEmojiLabels(rest) ? fineEmojiLabels(rest) : { labels: 'category' }),
        ...(options.dir ? { dir: options.dir } : {}),
        ...(resolution ? { resolution } : {}),
      };
    case 'folder':
      if (!rest && !options.dir) throw new UsageError('--dataset folder needs a directory: folder:<dir> or --data-dir <dir>');
      if (resolution === undefined) throw new UsageError('--dataset folder:<dir> needs --resolution');
      return { kind: 'image-folder', root: rest || options.dir!, resolution };
    default:
      throw new UsageError(`unknown dataset '${arg}' (fashion-mnist[:train|:test], emoji[:category|:subcategory|:name], folder:<dir>)`);
  }
}

/** Opens a dataset named on the command line (see {@link parseDatasetArg}). */
export function openDatasetSpec(arg: string, options: DatasetSpecOptions = {}): Promise<ImageDataset> {
  return openDataset(parseDatasetArg(arg, options));
}

export const prepareCommand: Command = {
  name: 'prepare',
  compute: true,
  summary: 'compute encoder targets (class + patch tokens) of a dataset into a resumable feature cache',
  options: {
    dataset: {
      type: 'string',
      help: 'fashion-mnist[:train|:test], emoji[:category|:subcategory|:name] or folder:<dir>',
      default: 'fashion-mnist',
    },
    data: { type: 'string', help: 'the dataset as reg train spells it (--data folder --data-dir <dir>); wins over --dataset' },
    dataDir: {
      type: 'string',
      help: 'Fashion-MNIST IDX directory, emoji package directory (default: the installed one), or the class-per-folder tree of --data folder',
    },
    resolution: {
      type: 'integer',
      help: `dataset image side (default: the dataset's own; folders: ${IMAGENET256_RESOLUTION} with --vae, else required)`,
    },
    vae: {
      type: 'string',
      help: "also store each image's autoencoder posterior [mean; std] of x/127.5 − 1 (diffusers folder or file; REPA/REG: sd-vae-ft-mse)",
    },
    limit: { type: 'integer', help: 'cache only the first N images' },
    encoder: { type: 'string', help: `representation encoder (${encoderNames().join(', ')})`, default: 'mobilenetv2' },
    encoderWeights: {
      type: 'string',
      help: 'local weights file or folder (mobilenetv2: default nsfwjs 4.4.0, fetched once and cached; dinov2: required)',
    },
    encoderLayer: {
      type: 'string',
      help: 'mobilenetv2: layer giving the tokens (default block_10_project_BN, 96-d; block_10_depthwise_relu is 384-d)',
    },
    clsPooling: { type: 'string', help: 'mobilenetv2: class token from the patch tokens', default: 'mean', choices: ['mean', 'max'] },
    inputSize: { type: 'integer', help: "side the encoder resizes images to (default: the encoder's own, 224)" },
    out: { type: 'string', help: 'output directory of the cache', required: true },
    dtype: { type: 'string', help: 'storage precision of the tokens', default: 'float16', choices: ['float16', 'float32'] },
    shardSize: { type: 'integer', help: 'images per shard file', default: 4096 },
    batchSize: { type: 'integer', help: 'images per encoder call', default: 64 },
    device: { type: 'string', help: 'cpu, cuda or cuda:N', default: 'cpu' },
  },
  async run({ options: o }) {
    const name = String(o['data'] ?? o['dataset']);
    const vaePath = o['vae'] as string | undefined;
    const launched = await joinLaunchedRun(checkDevice(String(o['device'])));
    const { group } = launched;
    const device = launched.device as Device;
    const say = (line: string): void => {
      if ((group?.rank ?? 0) === 0) console.error(line);
    };
    try {
      const folderDefault = vaePath !== undefined && name.startsWith('folder') ? IMAGENET256_RESOLUTION : undefined;
      const dataset = await openDatasetSpec(name, {
        resolution: (o['resolution'] as number | undefined) ?? folderDefault,
        dir: o['dataDir'] as string | undefined,
      });
      let autoencoder: PosteriorEncoder | undefined;
      if (vaePath !== undefined) {
        autoencoder = vaePosterior(loadAutoencoder(vaePath, { device }), vaePath);
        say(
          `vae      ${vaePath}: ${autoencoder.latentChannels} latent channels, ×${autoencoder.downsampling} → posterior ${2 * autoencoder.latentChannels}×${dataset.height / autoencoder.downsampling}×${dataset.width / autoencoder.downsampling}`,
        );
      }
      const encoder = await createEncoder(String(o['encoder']), {
        inputSize: o['inputSize'] as number | undefined,
        weights: o['encoderWeights'] as string | undefined,
        device,
        layer: o['encoderLayer'] as string | undefined,
        clsPooling: o['clsPooling'] as string,
        log: say,
      });
      say(
        `dataset  ${dataset.name}: ${dataset.length} images ${dataset.channels}×${dataset.height}×${dataset.width}, ${dataset.numClasses} classes`,
      );
      say(
        `encoder  ${encoder.name}: ${encoder.dim}-d, ${encoder.grid[0]}×${encoder.grid[1]} tokens at ${encoder.inputSize} px; ${encoder.info.preprocessing}`,
      );
      const report = await prepareFeatureCache({
        dataset,
        datasetSpec: name,
        encoder,
        ...(autoencoder ? { autoencoder } : {}),
        out: String(o['out']),
        dtype: o['dtype'] as FeatureDType,
        shardSize: o['shardSize'] as number,
        batchSize: o['batchSize'] as number,
        limit: o['limit'] as number | undefined,
        log: say,
        ...(group ? { group } : {}),
      });
      encoder.dispose();
      autoencoder?.dispose();
      if ((group?.rank ?? 0) !== 0) return;
      const m = report.manifest;
      const bytes = m.shards.reduce((n, s) => n + s.bytes, 0);
      const latents = m.latents ? ` + posterior ${m.latents.shape.join('×')} (float32)` : '';
      console.log(
        `feature cache ${String(o['out'])}: ${m.count} images × (1 + ${m.tokens}) tokens × ${m.dim} (${m.dtype})${latents}, ${m.numShards} shards, ` +
          `${(bytes / 2 ** 20).toFixed(1)} MiB; ${report.computed} shards computed, ${report.reused} reused` +
          (report.computed > 0 ? `, ${report.imagesPerSecond.toFixed(1)} images/s, ${formatDuration(report.seconds)}` : ''),
      );
    } finally {
      await group?.destroy();
    }
  },
};
