/**
 * The one loop both realms run: carries an auth dialogue (dialogue.ts) over a real exchange, sending
 * each move and handing the answer's head back, until the dialogue ends. The origin's auth layer and
 * the proxy hop differ only in how they send and what they throw away. It never decides anything
 * itself, and never leaves an answer it did not return undisposed.
 */
import type { Ending, Move } from './dialogue.js';
import type { AnswerHead } from './session.js';

/** An answer: its head for the dialogue, and whatever the sender holds with it (an exchange, a socket). */
export interface Heard<T> {
  readonly head: AnswerHead;
  readonly value: T;
}

/** The I/O side of a dialogue. */
export interface Line<T> {
  /** Sends the request with the move's fields, resolving to the answer. */
  send(move: Move): Promise<Heard<T>>;
  /** Disposes of an answer the dialogue went past (a body to drain, a socket to close). */
  discard(value: T): void | Promise<void>;
}

/** How the dialogue ended, and the last answer (the one that ended it), still the caller's. */
export interface Concluded<T> {
  readonly ending: Ending;
  readonly last: T;
}

/** Runs `talk` over `line`; every answer but the last is discarded. */
export async function converse<T>(talk: Generator<Move, Ending, AnswerHead>, line: Line<T>): Promise<Concluded<T>> {
  let step = talk.next();
  while (!step.done) {
    const heard = await line.send(step.value);
    step = talk.next(heard.head);
    if (step.done) return { ending: step.value, last: heard.value };
    await line.discard(heard.value);
  }
  // A dialogue sends before it ends: reaching this is a bug in the dialogue, not a network condition.
  throw new TypeError('The auth dialogue ended before sending the request');
}
