/**
 * The CLI's download progress line: bytes, rate, and percent with a bar and the time left (ETA) when
 * the length is known.
 * It draws on a terminal only, and only once a request has lasted about a second, so quick answers
 * and piped stderr never see an escape code. It formats and writes; it never touches the network.
 */

/** The part of a stream the bar needs; `process.stderr` fits, and so does a fake in specs. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Milliseconds before the first draw: short downloads stay silent. @default 1000 */
  delay?: number;
  /** Milliseconds between redraws. @default 200 */
  interval?: number;
  /** Time source; specs pass a fake one. @default Date.now */
  now?: () => number;
  /** Redraw on a timer too, so a stalled download still shows its falling rate. @default true */
  ticker?: boolean;
}

/** What one progress line shows. */
export interface ProgressState {
  readonly received: number;
  readonly total: number | null;
  readonly elapsedMs: number;
}

// `\r` returns to the line start; CSI K erases what a longer previous line left behind.
const CLEAR_TO_END = '\x1b[K';
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `1.5 KiB`: binary units, one decimal below 10 of a unit, as curl and wget print. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** `75` → `1:15`, `3725` → `1:02:05`: the clock form curl and wget print; `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= 100 * 3600) return '--:--';
  const whole = Math.ceil(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const ss = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** One progress line, without control characters, fitting `columns`. */
export function renderProgress(state: ProgressState, columns = 80): string {
  const seconds = Math.max(state.elapsedMs, 1) / 1000;
  const perSecond = state.received / seconds;
  const rate = `${formatBytes(perSecond)}/s`;
  if (state.total === null || state.total <= 0) return `${formatBytes(state.received)}  ${rate}`;
  const fraction = Math.min(state.received / state.total, 1);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  // The time left at the average rate so far: steadier than the last chunk's rate on a bursty link.
  const left = Math.max(state.total - state.received, 0);
  const eta = formatDuration(left === 0 ? 0 : perSecond > 0 ? left / perSecond : Infinity);
  const amounts = `${formatBytes(state.received)} / ${formatBytes(state.total)}  ${rate}  ETA ${eta}`;
  // The bar takes what is left of the line, between 10 and 40 cells; a narrow terminal gets none.
  const room = columns - 1 - percent.length - amounts.length - 5;
  if (room < 10) return `${percent}  ${amounts}`;
  const width = Math.min(room, 40);
  const filled = Math.round(fraction * width);
  return `${percent} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${amounts}`;
}

/**
 * A progress line on a terminal. Create it with {@link ProgressBar.forStream} (null when the stream is
 * not a TTY), feed {@link ProgressBar.update} from `onProgress`, and end with `finish()` or `abandon()`.
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #delay: number;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #started: number;
  #received = 0;
  #total: number | null = null;
  #seenBody = false;
  #drawnAt: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  private constructor(stream: ProgressStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#delay = options.delay ?? 1000;
    this.#interval = options.interval ?? 200;
    this.#now = options.now ?? Date.now;
    this.#started = this.#now();
    if (options.ticker ?? true) {
      this.#timer = setInterval(() => this.tick(), this.#interval);
      // The bar must never keep the process alive on its own.
      this.#timer.unref();
    }
  }

  /** A bar for `stream`, or null when it is not a terminal (nothing is ever written then). */
  static forStream(stream: ProgressStream, options: ProgressOptions = {}): ProgressBar | null {
    return stream.isTTY === true ? new ProgressBar(stream, options) : null;
  }

  /** True once the line has been drawn. */
  get isVisible(): boolean {
    return this.#drawnAt !== null;
  }

  /** The `onProgress` callback: records the hop's bytes and redraws when one is due. */
  update = (received: number, total: number | null): void => {
    this.#received = received;
    this.#total = total;
    this.#seenBody = true;
    this.tick();
  };

  /** Draws if the delay has passed, a body is arriving, and the last draw is old enough. */
  tick(): void {
    const now = this.#now();
    if (!this.#seenBody || now - this.#started < this.#delay) return;
    if (this.#drawnAt !== null && now - this.#drawnAt < this.#interval) return;
    this.#draw(now);
  }

  /** Stops; a visible bar is drawn once more in its final state and the line is ended. */
  finish(): void {
    this.#stop();
    if (this.#drawnAt === null) return;
    this.#draw(this.#now());
    this.#stream.write('\n');
  }

  /** Stops after a failure; a visible bar keeps its last state and the line is ended. */
  abandon(): void {
    this.#stop();
    if (this.#drawnAt !== null) this.#stream.write('\n');
  }

  #draw(now: number): void {
    this.#drawnAt = now;
    const state = { received: this.#received, total: this.#total, elapsedMs: now - this.#started };
    this.#stream.write(`\r${renderProgress(state, this.#stream.columns ?? 80)}${CLEAR_TO_END}`);
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
