/**
 * The CLI's view of the wire, fed by the library's `wireObserver`: with -v it prints each hop's
 * request head as sent (`>`) and response head as received (`<`) on stderr as they happen, as curl
 * does; for -i it keeps the received heads, in order, to print before the body. It never changes a
 * request; an answer served from the cache without a request reaches neither method.
 */
import type { ReceivedHead, SentHead, WireObserver } from '../index.js';
import { shownValue } from '../debug.js';
import { printable } from '../printable.js';
import { receivedLines, sentLines } from './format.js';

export class WireView implements WireObserver {
  readonly #verbose: boolean;
  readonly #write: (text: string) => void;
  readonly #received: ReceivedHead[] = [];
  #lastSent: SentHead | null = null;
  #lastReceived: ReceivedHead | null = null;

  /** `write` takes text for stderr; nothing is written unless `verbose`. */
  constructor(verbose: boolean, write: (text: string) => void) {
    this.#verbose = verbose;
    this.#write = write;
  }

  /** The heads received so far, oldest first. */
  get heads(): readonly ReceivedHead[] {
    return [...this.#received];
  }

  sent = (head: SentHead): void => {
    if (this.#verbose) {
      const prior = this.#lastReceived;
      if (prior && prior.status >= 300 && prior.status < 400 && this.#lastSent && head.url !== this.#lastSent.url) {
        this.#write(`* following the redirect to ${printable(head.url)}\n`);
      }
      this.#write(block('>', sentLines(head)));
    }
    this.#lastSent = head;
  };

  received = (head: ReceivedHead): void => {
    this.#received.push(head);
    this.#lastReceived = head;
    // -v output ends up in bug reports: Set-Cookie is redacted as in the library's debug output.
    if (this.#verbose) this.#write(block('<', receivedLines(head, shownValue)));
  };
}

/**
 * Lines prefixed with `marker`, closed by a line holding the marker alone (curl's blank line). Heads
 * come from the server: their control characters are escaped.
 */
export function block(marker: string, lines: readonly string[]): string {
  return `${lines.map((l) => `${marker} ${printable(l)}`).join('\n')}\n${marker}\n`;
}
