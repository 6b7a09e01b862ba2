/**
 * `reg eval --samples <reg sample folder> --embedded`: the scores of samples of a Fashion-MNIST or emoji
 * run against the dataset itself (src/eval/embedded-run.ts), as `reg demo` reports them — FD-MobileNetV2
 * against as many test images, with its real-vs-real floor, and class consistency with the classifier's
 * test accuracy. The dataset comes from the checkpoint that samples.json names; no --ref is needed.
 * `reg eval` (eval.ts) takes this option and hands it here, with its own --samples, --mobilenet-weights
 * and --out.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError, type ParsedArgs } from '../args.js';
import { embeddedRunScores, type EmbeddedRunScores } from '../../eval/embedded-run.js';
import { writeFileAtomic } from '../../util/atomic.js';
import type { SettingTable } from '../../util/settings.js';
import { regTsVersion } from '../../util/version.js';

/** The option of the embedded-dataset scores, for `reg eval`. */
export const EMBEDDED_OPTIONS = {
  embedded: {
    type: 'boolean',
    default: false,
    help: 'samples of a Fashion-MNIST or emoji run (a reg sample folder): FD-MobileNetV2 against the dataset and class consistency, instead of --ref metrics',
  },
} as const satisfies SettingTable;

/** `reg eval --samples <folder> --embedded` with parsed options; `defaultOut` gives the record's place from the samples path. */
export async function runEmbeddedEval(
  o: ParsedArgs['options'],
  defaultOut: (samples: string) => string,
): Promise<{ file: string; scores: EmbeddedRunScores }> {
  if (o.samples === undefined) throw new UsageError('--embedded needs --samples <the output folder of reg sample, or its samples.npz>');
  const given = String(o.samples);
  if (!existsSync(given)) throw new UsageError(`--samples ${given}: no such file or folder`);
  const dir = statSync(given).isDirectory() ? given : path.dirname(given);
  let scores: EmbeddedRunScores | null;
  try {
    scores = await embeddedRunScores(dir, {
      ...(o.mobilenetWeights === undefined ? {} : { encoderWeights: String(o.mobilenetWeights) }),
      log: (line) => console.error(`  ${line}`),
    });
  } catch (e) {
    throw new UsageError(`--embedded: ${(e as Error).message}`);
  }
  if (!scores)
    throw new UsageError(
      `--embedded: the samples in ${dir} come from a model not trained on Fashion-MNIST or emoji; score them with --ref`,
    );
  const file = o.out === undefined ? defaultOut(dir) : String(o.out);
  writeFileAtomic(
    file,
    `${JSON.stringify({ regTs: regTsVersion(), createdAt: new Date().toISOString(), samples: dir, ...scores }, null, 2)}\n`,
  );
  const { frechet: fd, classConsistency: cc } = scores;
  const rec = cc.classifier.record;
  console.log(`reg eval --embedded: ${fd.samples} samples of a ${scores.dataset} run in ${dir}
  FD-MobileNetV2     ${fd.value.toFixed(3)}   vs ${fd.reference}; ${fd.realVsReal.toFixed(3)} for as many real training images (the floor)
  precision, recall  ${fd.precision.toFixed(3)}, ${fd.recall.toFixed(3)}   (k = 3 manifolds in the same space: fidelity, diversity)
  class consistency  ${(cc.score * 100).toFixed(1)} %   the classifier's test accuracy ${(rec.testAccuracy * 100).toFixed(1)} % on ${rec.testSplit}
  record  ${file}`);
  return { file, scores };
}
