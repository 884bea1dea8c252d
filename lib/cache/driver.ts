/**
 * The cache layer, `withCache(next)`: reads the stored entry, asks the pure policy what to do, and
 * carries it out (serve, revalidate, store, freshen, invalidate, add If-Match), coalescing identical
 * in-flight GETs. It never decides HTTP semantics itself, and a store that throws, rejects or returns
 * garbage never fails a request: it degrades to the network answer. Without a store it adds no work
 * but answering only-if-cached.
 */
import {
  AbortError, ConnectionError, HttpLib2Error, ProxyError, RequestTimeout, ServerNotFoundError, TlsError,
} from '../errors.js';
import { withHeaders, type HeaderRecord } from '../headers.js';
import { Response } from '../response.js';
import type { Exchange, HopRequest, RequestContext, Send } from '../types.js';
import { speakerOf, type IdentityDigests } from '../identity.js';
import { parseDirectives } from './directives.js';
import { parseEntry, serialiseEntry, type CacheEntry } from './entry.js';
import { selectRange } from './range.js';
import {
  afterResponse, hasUnstorable, isErrorStatus, lookup, NEVER_STORED, preconditionFor, storableHeaders, storeKey, type AfterDecision,
} from './policy.js';
import { ageValue, currentAge } from './freshness.js';
import type { CacheStore } from './store.js';
import { untilAborted } from '../abort.js';
import { StoreUnavailable, type StoreOperation } from './guarded-store.js';

/** One hop's decisions, collected for `Response.cacheStatus` and noted in the context (`ctx.note`). */
class Trace {
  readonly lines: string[] = [];
  readonly #ctx: RequestContext;
  constructor(ctx: RequestContext) {
    this.#ctx = ctx;
  }
  note(reason: string | null): void {
    if (reason === null) return;
    this.lines.push(reason);
    this.#ctx.note(reason);
  }
}

/** What an origin exchange needs to know about the stored entry it may revalidate. */
interface Origin {
  readonly entry: CacheEntry | null;
  readonly add: HeaderRecord;
  readonly via: string;
  readonly staleIfError: boolean;
  /** A reload passed over the stored entry (the policy's `reload` miss). */
  readonly replaces?: boolean;
}

interface Flight {
  readonly ctx: RequestContext;
  readonly done: Promise<Exchange>;
}

const EMPTY = Buffer.alloc(0);
// A store may hand back the very same bytes while they are unchanged (FileCache does): their parse is
// then reused. Keyed weakly by the store's buffer, so it lives exactly as long as the store keeps it.
const PARSED = new WeakMap<object, CacheEntry | null>();
const NO_HEADERS: HeaderRecord = Object.create(null);

/**
 * Wraps `next` with the private cache of `ctx.cache` (RFC 9111). One instance per Http: it holds the
 * requests in flight so that identical concurrent GETs share one upstream request, and computes
 * request identities with the Http's `identities` (which `clearCredentials()` and `close()` empty).
 */
export function withCache(next: Send, identities: IdentityDigests): Send {
  const layer = new CacheLayer(next, identities);
  // The uncached path: a property read and a header lookup (the benchmark compares it with raw undici).
  return (req, ctx) => (ctx.cache !== null ? layer.send(req, ctx, ctx.cache)
    : req.headers['cache-control'] === undefined ? next(req, ctx) : withoutCache(next, req, ctx));
}

// RFC 9111 §5.2.1.7, as httplib2 answers it without a cache: only-if-cached has nothing to be served
// from, so it is a 504 and no request.
function withoutCache(next: Send, req: HopRequest, ctx: RequestContext): Promise<Exchange> {
  return parseDirectives(req.headers['cache-control']).onlyIfCached ? Promise.resolve(gatewayTimeout()) : next(req, ctx);
}

class CacheLayer {
  readonly #next: Send;
  readonly #identities: IdentityDigests;
  readonly #flights = new Map<string, Flight>();
  constructor(next: Send, identities: IdentityDigests) {
    this.#next = next;
    this.#identities = identities;
  }

  async send(req: HopRequest, ctx: RequestContext, store: CacheStore): Promise<Exchange> {
    const trace = new Trace(ctx);
    const identity = await this.#identityOf(req, ctx, store);
    const key = storeKey(req.url, identity);
    const exchange = req.method === 'GET' || req.method === 'HEAD'
      ? await this.#safe(req, ctx, store, key, identity, trace)
      : await this.#unsafe(req, ctx, store, key, identity, trace);
    exchange.response.cacheStatus = trace.lines;
    return exchange;
  }

  async #safe(req: HopRequest, ctx: RequestContext, store: CacheStore, key: string, identity: string | null, trace: Trace): Promise<Exchange> {
    const entry = await read(store, key, trace);
    const decision = lookup({ req, stored: entry, identity, now: ctx.clock.now(), settings: ctx.settings });
    trace.note(decision.reason);
    switch (decision.kind) {
      case 'bypass':
        return this.#next(req, ctx);
      case 'fresh':
        return fromEntry(entry!, req, decision.age, ctx.clock.now(), trace);
      case 'unsatisfiable':
        return gatewayTimeout();
      case 'miss':
        return this.#coalesced(req, ctx, store, key, identity, trace, { entry: null, add: NO_HEADERS, via: '', staleIfError: false, replaces: decision.reload === true });
      case 'revalidate': {
        const origin: Origin = { entry: entry!, add: decision.headers, via: decision.via, staleIfError: decision.staleIfError };
        if (!decision.background) return this.#coalesced(req, ctx, store, key, identity, trace, origin);
        // RFC 5861 §3: answer now, revalidate behind the answer; failures only cost freshness.
        const behind = backgroundContext(ctx);
        // The entry is revalidated whole, whatever slice this caller asked for.
        const whole = 'range' in req.headers ? { ...req, headers: withHeaders(req.headers, {}, ['range', 'if-range']) } : req;
        this.#coalesced(whole, behind.ctx, store, key, identity, new Trace(ctx), origin).catch(() => undefined).finally(behind.dispose);
        return fromEntry(entry!, req, decision.age, ctx.clock.now(), trace);
      }
      default:
        return assertNever(decision);
    }
  }

  // Identical GETs (same key, same headers) in flight share one upstream request; each caller gets
  // its own copy of the head, since the orchestrator writes into the response it receives.
  async #coalesced(req: HopRequest, ctx: RequestContext, store: CacheStore, key: string, identity: string | null, trace: Trace, origin: Origin): Promise<Exchange> {
    if (req.method !== 'GET' || req.body !== null) return this.#origin(req, ctx, store, key, identity, trace, origin);
    const flightKey = `${key}\n${fingerprint(req.headers)}`;
    const flight = this.#flights.get(flightKey);
    if (flight) {
      trace.note('coalesced: joined an identical request in flight');
      try {
        return copy(await untilAborted(flight.done, ctx.signal));
      } catch (error) {
        // Our own deadline or abort ends our wait, whatever the leader is still waiting for.
        if (ctx.signal?.aborted) throw ctx.signal.reason;
        // The leader's own deadline or abort is not ours: ask on our own account.
        if (!flight.ctx.signal?.aborted) throw error;
        return this.#origin(req, ctx, store, key, identity, trace, origin);
      }
    }
    const done = this.#origin(req, ctx, store, key, identity, trace, origin);
    this.#flights.set(flightKey, { ctx, done });
    try {
      return copy(await done);
    } finally {
      this.#flights.delete(flightKey);
    }
  }

  // Asks the origin (with validators when revalidating) and carries out what the policy says next.
  async #origin(req: HopRequest, ctx: RequestContext, store: CacheStore, key: string, identity: string | null, trace: Trace, origin: Origin): Promise<Exchange> {
    const { entry } = origin;
    const hop = Object.keys(origin.add).length ? { ...req, headers: withHeaders(req.headers, origin.add) } : req;
    const requestTime = ctx.clock.now();
    let exchange: Exchange;
    try {
      exchange = await this.#next(hop, ctx);
    } catch (error) {
      // RFC 5861 §4, also for an origin that cannot be reached at all (refused, reset, timed out).
      if (entry && origin.staleIfError && isOriginFailure(error)) {
        trace.note(`stale-if-error: served stale after ${(error as HttpLib2Error).code}`);
        return fromEntry(entry, req, currentAge(entry, ctx.clock.now()), ctx.clock.now(), trace);
      }
      throw error;
    }
    const { response, content } = exchange;
    if (entry && origin.staleIfError && isErrorStatus(response.status)) {
      trace.note(`stale-if-error: served stale after ${response.status}`);
      return fromEntry(entry, req, currentAge(entry, ctx.clock.now()), ctx.clock.now(), trace);
    }
    const after = afterResponse({
      req, key, identity, status: response.status, reasonPhrase: response.reason, version: response.version,
      headers: response.toHeaders(), bodyLength: content.length, stored: entry, replaces: origin.replaces === true, via: origin.via,
      requestTime, responseTime: ctx.clock.now(),
    });
    trace.note(after.reason);
    return this.#carryOut(after, req, ctx, store, key, identity, trace, exchange, entry);
  }

  async #carryOut(after: AfterDecision, req: HopRequest, ctx: RequestContext, store: CacheStore, key: string, identity: string | null, trace: Trace, exchange: Exchange, entry: CacheEntry | null): Promise<Exchange> {
    switch (after.kind) {
      case 'store':
        await write(store, key, { ...after.stored, body: exchange.content }, trace);
        return exchange;
      case 'freshen': {
        // The stored body stays as it was: a 304 has none (RFC 9111 §4.3.4).
        const freshened: CacheEntry = { ...after.stored, body: entry!.body };
        await write(store, key, freshened, trace);
        const served = fromEntry(freshened, req, currentAge(freshened, ctx.clock.now()), ctx.clock.now(), trace);
        // The 304 answered this request: its cookies are this caller's, though never stored.
        for (const name of NEVER_STORED) {
          const value = exchange.response.get(name);
          if (value !== undefined) served.response.set(name, value);
        }
        return served;
      }
      case 'invalidate':
        await Promise.all(after.urls.flatMap((url) => {
          const keys = new Set([storeKey(url, null), storeKey(url, identity)]);
          return [...keys].map((k) => remove(store, k, trace));
        }));
        return exchange;
      case 'pass':
        return exchange;
      case 'refetch':
        await remove(store, key, trace);
        return this.#origin(req, ctx, store, key, identity, trace, { entry: null, add: NO_HEADERS, via: '', staleIfError: false });
      default:
        return assertNever(after);
    }
  }

  // DESIGN.md, Identity: a caller's Authorization, else the registered credential that applies here,
  // and the caller's Cookie and X-WSSE, as if the response carried Vary on them; digested by
  // lib/identity.ts, never kept in clear.
  #identityOf(req: HopRequest, ctx: RequestContext, store: CacheStore): Promise<string | null> | null {
    return this.#identities.identify(speakerOf(req, ctx.credentials, ctx.requestedOrigins), store);
  }

  // Every method but GET and HEAD: If-Match from the stored ETag, then invalidation (RFC 9111 §4.4).
  async #unsafe(req: HopRequest, ctx: RequestContext, store: CacheStore, key: string, identity: string | null, trace: Trace): Promise<Exchange> {
    const wantsEtag = ctx.settings.optimisticConcurrencyMethods.includes(req.method);
    const entry = wantsEtag ? await read(store, key, trace) : null;
    const precondition = preconditionFor(req, entry, ctx.settings);
    trace.note(precondition.reason);
    const add = precondition.kind === 'if-match' ? { 'if-match': precondition.etag } : NO_HEADERS;
    return this.#origin(req, ctx, store, key, identity, trace, { entry: null, add, via: '', staleIfError: false });
  }
}

// The caller's deadline ends when its request() returns, so a revalidation left running behind a
// stale answer gets one of its own (the Http's timeout): a stalled origin must not hold the flight,
// and with it every later request for the key, forever.
function backgroundContext(ctx: RequestContext): { ctx: RequestContext; dispose: () => void } {
  const timeout = ctx.settings.timeout;
  if (timeout === undefined) return { ctx: Object.freeze({ ...ctx, signal: null }), dispose: () => undefined };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new RequestTimeout(`Background revalidation timed out after ${timeout} ms`)), timeout);
  return { ctx: Object.freeze({ ...ctx, signal: controller.signal }), dispose: () => clearTimeout(timer) };
}

// The fields the identity digests are left out: the store key already tells them apart, and an
// in-flight map keyed by a session cookie or a token would hold that secret.
const IDENTIFIED = new Set(['authorization', 'cookie', 'x-wsse']);

function fingerprint(headers: Readonly<HeaderRecord>): string {
  return JSON.stringify(Object.keys(headers).filter((k) => !IDENTIFIED.has(k)).sort().map((k) => [k, headers[k]]));
}

function copy(exchange: Exchange): Exchange {
  return { response: exchange.response.clone(), content: exchange.content };
}

// Every answer served from the cache carries its current age (RFC 9111 §5.1), computed at this serve;
// a GET with Range gets its slice of a stored 200 (RFC 9110 §14), the entry itself staying whole.
function fromEntry(entry: CacheEntry, req: HopRequest, age: number, now: number, trace: Trace): Exchange {
  const response = new Response({
    status: entry.status,
    reason: entry.reason,
    version: entry.version,
    // Entries are stored end to end, without Set-Cookie; one written before those rules is filtered here.
    headers: hasUnstorable(entry.headers) ? storableHeaders(entry.headers) : entry.headers,
    fromcache: true,
  });
  response.set('age', ageValue(age));
  if (req.method === 'HEAD') return { response, content: EMPTY };
  if (entry.status === 200 && req.headers['range'] !== undefined) return ranged(response, entry.body, req, now, trace);
  // A copy per caller: the entry's body is a view of the store's bytes, which later hits reuse.
  return { response, content: Buffer.from(entry.body) };
}

function ranged(whole: Response, body: Buffer, req: HopRequest, now: number, trace: Trace): Exchange {
  const selection = selectRange(req.headers, whole.toHeaders(), body.length, now);
  trace.note(selection.reason);
  switch (selection.kind) {
    case 'whole':
      return { response: whole, content: Buffer.from(body) };
    case 'slice': {
      const content = Buffer.from(body.subarray(selection.start, selection.end + 1));
      const response = whole.clone({ status: 206, reason: 'Partial Content' });
      response.set('content-range', `bytes ${selection.start}-${selection.end}/${body.length}`);
      response.set('content-length', String(content.length));
      return { response, content };
    }
    case 'unsatisfiable': {
      // RFC 9110 §15.5.17: a 416 names the current length.
      const headers = { 'content-range': `bytes */${body.length}`, 'content-length': '0', age: whole.get('age')! };
      return { response: new Response({ status: 416, reason: 'Range Not Satisfiable', headers, fromcache: true }), content: EMPTY };
    }
    default:
      return assertNever(selection);
  }
}

// RFC 9111 §5.2.1.7: only-if-cached with nothing usable.
function gatewayTimeout(): Exchange {
  return { response: new Response({ status: 504, reason: 'Gateway Timeout', headers: { 'content-length': '0' } }), content: EMPTY };
}

// Failures of the origin or the path to it; a caller's abort or a closed Http is not one.
function isOriginFailure(error: unknown): boolean {
  return error instanceof ConnectionError || error instanceof RequestTimeout || error instanceof ServerNotFoundError
    || error instanceof ProxyError || error instanceof TlsError;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error);
}

// The store helpers below are the cache layer's only store calls. The store they get is bounded
// (guarded-store.ts): a call over the store budget rejects with StoreUnavailable while it goes on
// in the background, and a call still running at the request's deadline rejects with its reason.

async function read(store: CacheStore, key: string, trace: Trace): Promise<CacheEntry | null> {
  let raw: unknown;
  try {
    raw = await store.get(key);
  } catch (error) {
    // The request's own deadline or abort ends the request here, as it would on the network.
    if (isRequestEnd(error)) throw error;
    trace.note(`${trouble('get', error)}: treated as a miss`);
    return null;
  }
  if (raw === null || raw === undefined) return null;
  const entry = parsedEntry(raw);
  if (entry === null) {
    trace.note('stored entry unreadable (version, checksum or format): treated as a miss');
    return null;
  }
  // A store that hands back another key's bytes must not answer this one.
  if (entry.key !== key) {
    trace.note('stored entry belongs to another key: treated as a miss');
    return null;
  }
  return entry;
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

// The answer is in hand whatever the store does: a failed, late or abandoned write only changes
// what cacheStatus says.
async function write(store: CacheStore, key: string, entry: CacheEntry, trace: Trace): Promise<void> {
  try {
    await store.set(key, serialiseEntry(entry));
  } catch (error) {
    if (goesOn(error)) notKept(trace, 'not kept yet', `${trouble('set', error)}; it goes on in the background`);
    else notKept(trace, 'not kept', trouble('set', error));
  }
}

const STORED = 'stored: ';

// The policy's decision (`stored: max-age=60`) is noted just before the write. When the write did
// not happen, cacheStatus must not claim it: that line becomes one saying so, and why. The debug
// trace keeps both, in the order they happened.
function notKept(trace: Trace, verdict: string, why: string): void {
  const last = trace.lines.length - 1;
  const claim = trace.lines[last];
  if (claim === undefined || !claim.startsWith(STORED)) {
    trace.note(`${verdict}: ${why}`);
    return;
  }
  trace.note(`${verdict}: ${claim.slice(STORED.length)} (${why})`);
  trace.lines.splice(last, 1);
}

async function remove(store: CacheStore, key: string, trace: Trace): Promise<void> {
  try {
    await store.delete(key);
  } catch (error) {
    trace.note(goesOn(error) ? `${trouble('delete', error)}; it goes on in the background` : trouble('delete', error));
  }
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

function assertNever(x: never): never {
  throw new Error(`unexpected cache decision ${JSON.stringify(x)}`);
}
