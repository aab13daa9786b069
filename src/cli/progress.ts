/**
 * Progress on stderr: one bar redrawn in place (\r) on a terminal, or a plain line every few
 * seconds when stderr is a file or pipe (CI logs).
 */
export interface ProgressCounts {
  /** People the service has accepted (uploaded or resumed). */
  uploaded: number;
  /** Items with a result, failed ones included. */
  done: number;
  failed: number;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

const BAR = 24;
const PLAIN_EVERY_MS = 2000;
const TTY_EVERY_MS = 100;

export class Progress {
  private counts: ProgressCounts = { uploaded: 0, done: 0, failed: 0 };
  private lastLine = '';
  private lastAt = -Infinity;
  private drawn = false;

  constructor(
    private readonly stream: ProgressStream,
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  update(change: Partial<ProgressCounts>): void {
    this.counts = { ...this.counts, ...change };
    this.render(false);
  }

  /** The last state, drawn regardless of throttling, and the line ended. */
  finish(): void {
    this.render(true);
    if (this.drawn && this.stream.isTTY) this.stream.write('\n');
    this.drawn = false;
  }

  /** Writes `message` on its own line without garbling the bar. */
  log(message: string): void {
    if (this.drawn && this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.stream.write(`${message}\n`);
    if (this.drawn && this.stream.isTTY) this.stream.write(this.lastLine);
  }

  line(): string {
    const { uploaded, done, failed } = this.counts;
    const text = `${uploaded}/${this.total} people uploaded, ${done}/${this.total} done, ${failed} failed`;
    if (!this.stream.isTTY) return `enroll: ${text}`;
    const filled = this.total === 0 ? BAR : Math.round((BAR * Math.min(done, this.total)) / this.total);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${text}`;
  }

  private render(force: boolean): void {
    const line = this.line();
    const t = this.now();
    const every = this.stream.isTTY ? TTY_EVERY_MS : PLAIN_EVERY_MS;
    if (line === this.lastLine || (!force && t - this.lastAt < every)) return;
    this.lastLine = line;
    this.lastAt = t;
    this.drawn = true;
    this.stream.write(this.stream.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  }
}
