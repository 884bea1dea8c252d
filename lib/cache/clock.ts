/**
 * The clock (second chance) that picks what a bounded in-memory store pushes out: least recently
 * used, approximately, without reordering anything on a read. A read only marks its slot used; the
 * hand that looks for a slot to push out passes the used ones, clearing their mark, and stops at the
 * first one not read since it last passed it. Data only, no I/O.
 *
 * Why not a Map kept in recency order (#15): moving an entry to the end on every read leaves a hole in
 * the Map each time (the Map is rebuilt when the holes pile up), and with 100,000 entries that move
 * was the largest part of a MemoryCache hit past the entry lookup itself.
 */

/** What the clock needs of a slot: whether it was read since the hand last passed it. */
export interface ClockSlot {
  used: boolean;
}

/** A hand over the slots of `entries`, in the order they were put in. */
export class ClockHand<K, S extends ClockSlot> {
  readonly #entries: Map<K, S>;
  // A live iterator over the entries (a Map's iterator carries on past deletions and sees entries
  // added later), and the entry it points at, not yet passed.
  #hand: Iterator<[K, S]>;
  #pointed: [K, S] | undefined;

  constructor(entries: Map<K, S>) {
    this.#entries = entries;
    this.#hand = entries.entries();
  }

  /**
   * The key of the next slot at the hand not used since the hand last passed it (used ones lose their
   * mark and are passed), never `spare` (the entry just put in, which has had no chance to be read);
   * two turns of the clock at most, undefined when there is no other entry.
   */
  victim(spare?: K): K | undefined {
    for (let steps = 2 * this.#entries.size + 2; steps > 0; steps--) {
      let at = this.#pointed;
      if (at === undefined || this.#entries.get(at[0]) !== at[1]) {
        const next = this.#hand.next();
        if (next.done === true) {
          this.#hand = this.#entries.entries();
          this.#pointed = undefined;
          continue;
        }
        at = next.value;
      }
      this.#pointed = at;
      if (at[0] === spare) {
        this.#pointed = undefined;
        continue;
      }
      if (!at[1].used) return at[0];
      at[1].used = false;
      this.#pointed = undefined;
    }
    return undefined;
  }

  /** Starts over from the oldest entry (after the entries were all removed). */
  reset(): void {
    this.#hand = this.#entries.entries();
    this.#pointed = undefined;
  }
}
