/**
 * Metrics as JSON lines: one object per optimizer step, appended to `<run>/metrics.jsonl`.
 *
 * The log keeps a cursor (byte offset and line count) that checkpoints store; resuming truncates the
 * file back to the checkpoint's cursor, so the resumed run's lines continue the file with no
 * duplicated or orphaned steps.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** What is logged per step. */
export interface StepMetrics {
  step: number;
  /** Epoch of the data source, when it has epochs. */
  epoch?: number;
  /** Total loss (mean over the micro-batches). */
  loss: number;
  /** Latent velocity loss. */
  denoise: number;
  /** Alignment loss (unweighted: −mean cosine), when the variant has it. */
  proj?: number;
  /** Class-token velocity loss (unweighted), when the variant has it. */
  cls?: number;
  /** Total gradient 2-norm before clipping. */
  gradNorm: number;
  /** Learning rate used by this step. */
  lr: number;
  /** fp16 loss scale, and whether the optimizer step was skipped for non-finite gradients. */
  lossScale?: number;
  skipped?: boolean;
  /** Throughput of this step. */
  imagesPerSec: number;
  /** Achieved GFLOP/s (analytic FLOPs of the step / its wall time). */
  gflops: number;
  /** Wall time of this step. */
  stepSeconds: number;
  /** Data-parallel runs: seconds of this step spent averaging the gradients over the ranks (after backward). */
  allreduceSeconds?: number;
  /** Images trained on so far. */
  images: number;
}

/** Position in a metrics file. */
export interface MetricsCursor {
  file: string;
  offset: number;
  lines: number;
}

/** An append-only JSON-lines log with a cursor. */
export class MetricsLog {
  readonly file: string;
  readonly #fd: number;
  #offset: number;
  #lines: number;

  /**
   * Opens (creating) `file`. With `resumeFrom`, the file is cut back to that cursor first; a file
   * shorter than the cursor (deleted or replaced) is kept as is and appended to.
   */
  constructor(file: string, resumeFrom?: Pick<MetricsCursor, 'offset' | 'lines'>) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true });
    this.#fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    const size = fstatSync(this.#fd).size;
    if (resumeFrom && size >= resumeFrom.offset) {
      ftruncateSync(this.#fd, resumeFrom.offset);
      this.#offset = resumeFrom.offset;
      this.#lines = resumeFrom.lines;
    } else if (resumeFrom) {
      this.#offset = size;
      this.#lines = resumeFrom.lines;
    } else {
      ftruncateSync(this.#fd, 0);
      this.#offset = 0;
      this.#lines = 0;
    }
  }

  /** Appends one record as a JSON line. */
  write(record: object): void {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.#fd, bytes, done, bytes.byteLength - done, this.#offset + done);
    this.#offset += bytes.byteLength;
    this.#lines++;
  }

  /** Flushes to disk and returns the cursor (for a checkpoint). */
  cursor(): MetricsCursor {
    fsyncSync(this.#fd);
    return { file: path.basename(this.file), offset: this.#offset, lines: this.#lines };
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Reads a metrics file back as records. */
export function readMetrics(file: string): StepMetrics[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StepMetrics);
}
