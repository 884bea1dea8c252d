/**
 * One visit of the cache layer: a request, its context, the store, the key and identity its answer
 * is stored under, and the decisions made for it (its `cacheStatus`). Built once per hop; the store
 * calls are its methods, and so is building an answer from the stored response. It decides nothing
 * about HTTP (policy.ts does), and a store that throws, rejects or returns garbage never fails it:
 * the trouble becomes a line of the trace.
 */
import { AbortError, RequestTimeout } from '../errors.js';
import { NO_FIELDS, withHeaders, type HeaderRecord } from '../headers.js';
import { Response, withHead, type CacheOutcome } from '../response.js';
import type { CacheStore, Exchange, HopRequest, RequestContext } from '../types.js';
import { parseEntry, serialiseEntry, type CacheEntry } from './entry.js';
import { ageValue, type StoredResponse } from './freshness.js';
import { StoreUnavailable, type StoreOperation } from './guarded-store.js';
import { sharesValues } from './store.js';
import { cacheOutcome, outcomeOf, passed, SET_OUT, type Path, type PlanStep } from './outcome.js';
import { hasUnstorable, requestKey, scheduleOf, storableHeaders, type Part, type PolicySettings, type Serving, type VisitFacts } from './policy.js';

const EMPTY = Buffer.alloc(0);
// A store may hand back the very same bytes while they are unchanged (FileCache does): their parse is
// then reused. Keyed weakly by the store's buffer, so it lives exactly as long as the store keeps it.
const PARSED = new WeakMap<object, CacheEntry | null>();
const STORED = 'stored: ';

/** A visit that goes on behind an answer already given, and what ends its deadline. */
export interface Behind {
  readonly visit: Visit;
  dispose(): void;
}

/** One hop through the cache layer. */
export class Visit implements VisitFacts {
  readonly req: HopRequest;
  readonly ctx: RequestContext;
  /** The store as this request sees it (bounded by the store budget and the request's deadline). */
  readonly store: CacheStore;
  /** Who asked (DESIGN.md, Identity): null for anonymous requests. */
  readonly identity: string | null;
  /** The store key of the request for its identity (for QUERY, with a digest of its content). */
  readonly key: string;
  #entry: CacheEntry | null = null;
  readonly #lines: string[] = [];
  // What response.cache says (outcome.ts): the last step met, and what the visit met on its way.
  #last: PlanStep | null = null;
  #path: Path = SET_OUT;

  constructor(req: HopRequest, ctx: RequestContext, store: CacheStore, identity: string | null) {
    this.req = req;
    this.ctx = ctx;
    this.store = store;
    this.identity = identity;
    this.key = requestKey(req, identity);
  }

  now(): number {
    return this.ctx.clock.now();
  }

  /** The entry last read from the store for this visit (null: none read). */
  get entry(): CacheEntry | null {
    return this.#entry;
  }

  get settings(): PolicySettings {
    return this.ctx.settings;
  }

  /** Records a decision: in this hop's `cacheStatus`, and for the request's debug summary. */
  note(line: string | null): void {
    if (line === null) return;
    this.#lines.push(line);
    this.ctx.note(line);
  }

  /** Records a step of the plan as the driver meets it: its line, and what response.cache will say. */
  step(step: PlanStep): void {
    this.note(step.reason);
    this.#last = step;
    this.#path = passed(this.#path, step);
  }

  // The store calls below are the cache layer's only ones. The store is bounded (guarded-store.ts):
  // a call over the store budget rejects with StoreUnavailable while it goes on in the background,
  // and a call still running at the request's deadline rejects with its reason.

  /** The entry stored under the key: a miss (noted) when the store fails or holds something else. */
  async read(): Promise<CacheEntry | null> {
    let raw: unknown;
    try {
      raw = await this.store.get(this.key);
    } catch (error) {
      // The request's own deadline or abort ends the request here, as it would on the network.
      if (isRequestEnd(error)) throw error;
      this.#path = { ...this.#path, unreadable: true };
      this.note(`${trouble('get', error)}: treated as a miss`);
      return null;
    }
    if (raw === null || raw === undefined) return null;
    const entry = parsedEntry(raw);
    if (entry === null) {
      this.note('stored entry unreadable (version, checksum or format): treated as a miss');
      return null;
    }
    // A store that hands back another key's bytes must not answer this one.
    if (entry.key !== this.key) {
      this.note('stored entry belongs to another key: treated as a miss');
      return null;
    }
    this.#entry = entry;
    return entry;
  }

  /**
   * Writes `stored` with `body` under its key. The answer is in hand whatever the store does: a
   * failed, late or abandoned write only changes what cacheStatus says.
   */
  async write(stored: StoredResponse, body: Buffer): Promise<void> {
    try {
      const bytes = serialiseEntry({ ...stored, body });
      await this.store.set(this.key, bytes);
      this.#path = { ...this.#path, kept: true };
      if (sharesValues(this.store)) await this.#parseHeld(bytes);
    } catch (error) {
      this.#path = { ...this.#path, kept: false };
      if (goesOn(error)) this.#notKept('not kept yet', `${trouble('set', error)}; it goes on in the background`);
      else this.#notKept('not kept', trouble('set', error));
    }
  }

  // A store that hands over the bytes it holds (MemoryCache; FileCache, which then remembers the
  // file it reads back) answers every hit with the same buffer: what it now holds is parsed once,
  // here, rather than on the first hit. Best effort: a read that fails or finds other bytes (another
  // writer came between) leaves it to that hit.
  async #parseHeld(written: Buffer): Promise<void> {
    let held: unknown;
    try {
      held = await this.store.get(this.key);
    } catch {
      return;
    }
    if (Buffer.isBuffer(held) && held.equals(written)) parsedEntry(held);
  }

  /** Writes a freshened head over the body read (RFC 9111 §4.3.4: a 304 has none of its own). */
  freshen(stored: StoredResponse): Promise<void> {
    return this.write(stored, this.#stored().body);
  }

  /** Writes the stored response read back with a new head (its not-before time), body unchanged. */
  rewrite(stored: StoredResponse): Promise<void> {
    return this.write(stored, this.#stored().body);
  }

  /** Removes what is stored under `keys`; a failure is noted, never thrown. */
  async remove(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map(async (key) => {
      try {
        await this.store.delete(key);
      } catch (error) {
        this.note(goesOn(error) ? `${trouble('delete', error)}; it goes on in the background` : trouble('delete', error));
      }
    }));
  }

  /**
   * The answer from the stored response: its head (`serving.stored`) with the current Age it is
   * served at (RFC 9111 §5.1), the part the request gets of the body read, and `fields` of this
   * answer that are never stored (the Set-Cookie of a 304). A new response, with this hop's lines.
   */
  serve(serving: Serving, fields: Readonly<HeaderRecord> = NO_FIELDS): Exchange {
    const { stored, part } = serving;
    this.note(part.reason);
    const exchange = partOf(stored, part, this.#stored().body, ageValue(serving.age));
    for (const name of Object.keys(fields)) exchange.response.set(name, fields[name]!);
    exchange.response.cacheStatus = this.#lines;
    const { freshUntil, retryAfter } = this.#schedule(stored);
    exchange.response.freshUntil = freshUntil;
    exchange.response.retryAfter = retryAfter;
    exchange.response.cache = this.#outcome(freshUntil);
    return exchange;
  }

  /**
   * The answer of the next layer, as a response of this layer's own with this hop's lines, and the
   * schedule of `held`, what the store holds for the request now (null: nothing). Without `held`,
   * the schedule the answer carries is kept (an answer shared by a flight).
   */
  finish(exchange: Exchange, held?: StoredResponse | null): Exchange {
    const schedule = held === undefined ? null : this.#schedule(held);
    const cache = this.#outcome(schedule === null ? exchange.response.freshUntil : schedule.freshUntil);
    return { response: withHead(exchange.response, { cacheStatus: this.#lines, ...schedule, cache }), content: exchange.content };
  }

  /**
   * The answer of an identical request in flight this one joined (RFC 9211 `collapsed`): its
   * schedule and outcome, with this hop's lines.
   */
  joined(exchange: Exchange): Exchange {
    const cache: CacheOutcome = { ...exchange.response.cache, collapsed: true };
    return { response: withHead(exchange.response, { cacheStatus: this.#lines, cache }), content: exchange.content };
  }

  // response.cache for the answer of the last step met, with the entry's `freshUntil`.
  #outcome(freshUntil: Date | null): CacheOutcome {
    const decided = (this.#last === null ? null : outcomeOf(this.#last, this.#path)) ?? { outcome: 'miss', detail: this.#path.forward };
    const schedule = { freshUntil: freshUntil === null ? null : freshUntil.getTime(), now: this.now() };
    return cacheOutcome(decided, this.#path, schedule, this.identity === null ? this.key : null);
  }

  // response.freshUntil and response.retryAfter for `stored` (policy.ts decides them).
  #schedule(stored: StoredResponse | null): { freshUntil: Date | null; retryAfter: Date | null } {
    const { freshUntil, retryAfter } = scheduleOf(stored, this.now(), this.ctx.settings);
    return { freshUntil: freshUntil === null ? null : new Date(freshUntil), retryAfter: retryAfter === null ? null : new Date(retryAfter) };
  }

  /**
   * This visit, going on behind an answer already given (RFC 5861 §3): the same key, identity and
   * entry, the whole resource asked for (not the caller's Range), and lines of its own. The caller's
   * deadline ends when its request() returns, so it gets one of its own (the Http's timeout): a
   * stalled origin must not hold the flight, and with it every later request for the key, forever.
   */
  behind(): Behind {
    const { ctx } = this;
    const req = 'range' in this.req.headers ? { ...this.req, headers: withHeaders(this.req.headers, {}, ['range', 'if-range']) } : this.req;
    const timeout = ctx.settings.timeout;
    let signal: AbortSignal | null = null;
    let dispose = (): void => undefined;
    if (timeout !== undefined) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new RequestTimeout(`Background revalidation timed out after ${timeout} ms`)), timeout);
      signal = controller.signal;
      dispose = () => clearTimeout(timer);
    }
    const visit = new Visit(req, Object.freeze({ ...ctx, signal }), this.store, this.identity);
    visit.#entry = this.#entry;
    // It asks the origin because the entry is stale (RFC 5861 §3), whatever step it starts from.
    visit.#path = { ...SET_OUT, forward: 'stale' };
    return { visit, dispose };
  }

  #stored(): CacheEntry {
    if (this.#entry === null) throw new Error('cache: a stored response is served, but none was read');
    return this.#entry;
  }

  // The policy's decision (`stored: max-age=60`) is noted just before the write. When the write did
  // not happen, cacheStatus must not claim it: that line becomes one saying so, and why. The debug
  // trace keeps both, in the order they happened.
  #notKept(verdict: string, why: string): void {
    const last = this.#lines.length - 1;
    const claim = this.#lines[last];
    if (claim === undefined || !claim.startsWith(STORED)) {
      this.note(`${verdict}: ${why}`);
      return;
    }
    this.note(`${verdict}: ${claim.slice(STORED.length)} (${why})`);
    this.#lines.splice(last, 1);
  }
}

// The part of a stored response an answer carries. Entries are stored end to end without Set-Cookie;
// one written before those rules is filtered here. The body is a view of the store's bytes, which
// later hits reuse: each answer gets a copy.
function partOf(stored: StoredResponse, part: Part, body: Buffer, age: string): Exchange {
  switch (part.kind) {
    case 'whole':
      return { response: fromStored(stored, age, 'stored'), content: Buffer.from(body) };
    case 'none':
      return { response: fromStored(stored, age, 'stored'), content: EMPTY };
    case 'slice': {
      const content = Buffer.from(body.subarray(part.start, part.end + 1));
      const response = fromStored(stored, age, 'partial');
      response.set('content-range', `bytes ${part.start}-${part.end}/${body.length}`);
      response.set('content-length', String(content.length));
      return { response, content };
    }
    case 'unsatisfiable': {
      // RFC 9110 §15.5.17: a 416 names the current length.
      const headers = { 'content-range': `bytes */${body.length}`, 'content-length': '0', age };
      return { response: new Response({ status: 416, reason: 'Range Not Satisfiable', headers, fromcache: true }), content: EMPTY };
    }
    default:
      return assertNever(part);
  }
}

// The stored head as an answer from the cache, with the Age it is served at; as stored, or as the
// 206 of a Range slice (RFC 9110 §15.3.7).
function fromStored(stored: StoredResponse, age: string, as: 'stored' | 'partial'): Response {
  const response = new Response({
    status: as === 'partial' ? 206 : stored.status,
    reason: as === 'partial' ? 'Partial Content' : stored.reason,
    version: stored.version,
    headers: hasUnstorable(stored.headers) ? storableHeaders(stored.headers) : stored.headers,
    fromcache: true,
  });
  response.set('age', age);
  return response;
}

function parsedEntry(raw: unknown): CacheEntry | null {
  if (typeof raw !== 'object' || raw === null) return parseEntry(raw);
  let entry = PARSED.get(raw);
  if (entry === undefined) {
    entry = parseEntry(raw);
    PARSED.set(raw, entry);
  }
  return entry;
}

function isRequestEnd(error: unknown): boolean {
  return error instanceof RequestTimeout || error instanceof AbortError;
}

// A call the guard stopped waiting for may still complete.
function goesOn(error: unknown): boolean {
  return isRequestEnd(error) || (error instanceof StoreUnavailable && error.reason === 'late');
}

function trouble(operation: StoreOperation, error: unknown): string {
  if (error instanceof StoreUnavailable) return error.message;
  if (isRequestEnd(error)) return `the request ended before the store ${operation} did`;
  return `store error on ${operation} (${describe(error)})`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
}

function assertNever(x: never): never {
  throw new Error(`unexpected part ${JSON.stringify(x)}`);
}
