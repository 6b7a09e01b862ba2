/**
 * Progress reporting for long work: a redrawn bar with rate and ETA on a terminal, plain log lines
 * (at most one per `logEverySeconds`) when output is a file or a pipe.
 */

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Options of a Progress. */
export interface ProgressOptions {
  /** What is counted (e.g. 'steps', 'images'). */
  unit?: string;
  /** Stream to write to (default stderr). */
  stream?: NodeJS.WriteStream;
  /** Minimum seconds between plain log lines when not on a terminal. */
  logEverySeconds?: number;
  /** The work also stops after this many seconds (a time budget): ETA and bar follow whichever ends first. */
  budgetSeconds?: number;
}

/** A progress bar over `total` units of work. */
export class Progress {
  readonly #start = performance.now();
  #lastLog = -Infinity;
  #done: number;
  readonly #startDone: number;
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;

  constructor(
    readonly label: string,
    readonly total: number,
    readonly opts: ProgressOptions & { initial?: number } = {},
  ) {
    this.#stream = opts.stream ?? process.stderr;
    this.#tty = Boolean(this.#stream.isTTY);
    this.#done = opts.initial ?? 0;
    this.#startDone = this.#done;
  }

  /** Advances by `n` units; `extra` is shown after the counters (e.g. 'loss 0.41'). */
  tick(n = 1, extra = ''): void {
    this.#done += n;
    const now = performance.now();
    const elapsed = (now - this.#start) / 1000;
    const rate = (this.#done - this.#startDone) / Math.max(elapsed, 1e-9);
    const budget = this.opts.budgetSeconds;
    const byCount = rate > 0 ? (this.total - this.#done) / rate : Infinity;
    const eta = budget ? Math.min(byCount, Math.max(budget - elapsed, 0)) : byCount;
    const fraction = Math.max(this.#done / Math.max(this.total, 1), budget ? elapsed / budget : 0);
    const unit = this.opts.unit ?? 'it';
    const count =
      budget && byCount > budget - elapsed
        ? `${this.#done} ${unit} (budget ${formatDuration(budget)})`
        : `${this.#done}/${this.total} ${unit}`;
    const stats = `${count} ${rate.toFixed(rate < 10 ? 2 : 1)} ${unit}/s elapsed ${formatDuration(elapsed)} eta ${formatDuration(eta)}${extra ? ` ${extra}` : ''}`;
    if (this.#tty) {
      const width = 24;
      const filled = Math.min(width, Math.round(width * fraction));
      this.#stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${stats}\x1b[K`);
      if (this.#done >= this.total) this.#stream.write('\n');
    } else if (now - this.#lastLog >= (this.opts.logEverySeconds ?? 10) * 1000 || this.#done >= this.total) {
      this.#lastLog = now;
      this.#stream.write(`${this.label}: ${stats}\n`);
    }
  }
}
