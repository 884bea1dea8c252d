/**
 * The cache layer, `withCache(next)`: one loop per visit that carries out the plan the pure policy
 * (policy.ts) returns, step by step — read the store, serve, ask the origin (once for identical
 * requests in flight), store, freshen, invalidate, serve stale — until a step answers. It decides no
 * HTTP semantics itself, and a store that throws, rejects or returns garbage never fails a request:
 * it degrades to the network answer. Without a store it adds no work but answering only-if-cached.
 */
import { errorCode } from '../errors.js';
import { withHeaders } from '../headers.js';
import { speakerOf, type IdentityDigests } from '../identity.js';
import { Response } from '../response.js';
import type { CacheStore, Exchange, HopRequest, RequestContext, Send } from '../types.js';
import { flightKey, Flights } from './coalesce.js';
import type { CacheEntry } from './entry.js';
import {
  afterFailure, afterResponse, intake, lookup, preconditionFor, withoutStore,
  type After, type Answer, type Ask, type AskStep, type FailureAfter, type Intake, type Lookup,
} from './policy.js';
import { Visit } from './visit.js';

/** The origin's answer, with what the policy made of it. */
type Answered = After & { readonly exchange: Exchange };
/** A failure to get any answer, with what the policy made of it. */
type Failed = FailureAfter & { readonly error: unknown };
/** Every step of a visit, from the first decision to the one that answers. */
type Step = Intake | Lookup | AskStep | Answered | Failed;

const EMPTY = Buffer.alloc(0);

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

function withoutCache(next: Send, req: HopRequest, ctx: RequestContext): Promise<Exchange> {
  const plan = withoutStore(req);
  switch (plan) {
    case 'unsatisfiable':
      return Promise.resolve(gatewayTimeout());
    case 'forward':
      return next(req, ctx);
    default:
      return assertNever(plan);
  }
}

class CacheLayer {
  readonly #next: Send;
  readonly #identities: IdentityDigests;
  readonly #flights = new Flights<Exchange>();

  constructor(next: Send, identities: IdentityDigests) {
    this.#next = next;
    this.#identities = identities;
  }

  // DESIGN.md, Identity: who speaks (identity.ts, as the auth layer reads it) keys the entry. An
  // anonymous request has no identity to wait for (the hit path).
  send(req: HopRequest, ctx: RequestContext, store: CacheStore): Promise<Exchange> {
    const visit = (identity: string | null): Promise<Exchange> => this.#run(new Visit(req, ctx, store, identity), intake(req, ctx.settings));
    try {
      const identity = this.#identities.identify(speakerOf(req, ctx.credentials, ctx.requestedOrigins), store);
      return identity === null ? visit(null) : identity.then(visit);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  // One step after another until one answers (hishel's cache proxy loop).
  async #run(visit: Visit, first: Step): Promise<Exchange> {
    for (let step = first; ;) {
      visit.note(step.reason);
      switch (step.kind) {
        // Before the store is read, and with what it holds (RFC 9111 §4).
        case 'read':
          step = this.#lookup(visit, step.then, await visit.read());
          break;
        case 'fresh':
          return visit.serve(step);
        case 'stale-while-revalidate':
          this.#revalidateBehind(visit, step.ask);
          return visit.serve(step);
        case 'bypass':
          return visit.finish(await this.#next(visit.req, visit.ctx));
        case 'unsatisfiable':
          return visit.finish(gatewayTimeout());
        // To the origin: once for all identical requests in flight.
        case 'miss':
        case 'revalidate':
        case 'ask':
          if (step.ask.shared) return this.#shared(visit, step.ask);
          step = await this.#ask(visit, step.ask);
          break;
        // After the answer (RFC 9111 §3, §4.3.4, §4.4) or the failure (RFC 5861 §4).
        case 'store':
          await visit.write(step.stored, step.exchange.content);
          return visit.finish(step.exchange, step.stored);
        case 'freshen':
          await visit.freshen(step.stored);
          return visit.serve(step, step.cookies);
        case 'invalidate':
          await visit.remove(step.keys);
          return visit.finish(step.exchange, null);
        case 'pass':
          return visit.finish(step.exchange, null);
        case 'keep':
          return visit.finish(step.exchange, step.stored);
        case 'refetch':
          await visit.remove([visit.key]);
          step = await this.#ask(visit, step.ask);
          break;
        case 'serve-stale':
          return visit.serve(step);
        // RFC 9110 §10.2.3: the origin asked not to be asked before a time: remembered in the store.
        case 'hold':
          await visit.rewrite(step.stored);
          return step.answer === 'stale' ? visit.serve(step) : visit.finish(step.exchange, step.stored);
        case 'retry-after':
          return step.serve ? visit.serve(step) : visit.finish(gatewayTimeout(), step.stored);
        case 'rethrow':
          throw step.error;
        default:
          return assertNever(step);
      }
    }
  }

  // What the entry read (if any) allows: a lookup, or the If-Match of an unsafe method.
  #lookup(visit: Visit, then: 'lookup' | 'precondition', entry: CacheEntry | null): Lookup | AskStep {
    const { req, ctx } = visit;
    switch (then) {
      case 'lookup':
        return lookup({ req, stored: entry, bodyLength: entry === null ? 0 : entry.body.length, identity: visit.identity, now: visit.now(), settings: ctx.settings });
      case 'precondition':
        return preconditionFor(req, entry, ctx.settings);
      default:
        return assertNever(then);
    }
  }

  // Identical requests in flight share one exchange: the leader carries the visit to its end (store,
  // freshen, serve stale...), and each joiner answers with that exchange under its own lines.
  async #shared(visit: Visit, ask: Ask): Promise<Exchange> {
    const flight = this.#flights.run(flightKey(visit.key, visit.req.headers), visit.ctx.signal, () => this.#askedAndDone(visit, ask));
    if (!flight.joined) return flight.done;
    visit.note('coalesced: joined an identical request in flight');
    return visit.finish(await flight.done);
  }

  async #askedAndDone(visit: Visit, ask: Ask): Promise<Exchange> {
    return this.#run(visit, await this.#ask(visit, ask));
  }

  // One exchange with the origin (with the ask's validators or If-Match), and what the policy makes
  // of its answer or its failure.
  async #ask(visit: Visit, ask: Ask): Promise<Answered | Failed> {
    const { req, ctx } = visit;
    const hop = Object.keys(ask.add).length ? { ...req, headers: withHeaders(req.headers, ask.add) } : req;
    const requestTime = visit.now();
    let exchange: Exchange;
    try {
      exchange = await this.#next(hop, ctx);
    } catch (error) {
      return { ...afterFailure(visit, ask, errorCode(error), visit.now()), error };
    }
    const { response, content } = exchange;
    const answer: Answer = {
      status: response.status, reasonPhrase: response.reason, version: response.version, headers: response.toHeaders(),
      bodyLength: content.length, requestTime, responseTime: visit.now(),
    };
    return { ...afterResponse(visit, ask, answer), exchange };
  }

  // RFC 5861 §3: the stale answer is given now; the revalidation goes on behind it, and its failures
  // only cost freshness.
  #revalidateBehind(visit: Visit, ask: Ask): void {
    const behind = visit.behind();
    this.#run(behind.visit, { kind: 'ask', reason: null, ask }).catch(() => undefined).finally(behind.dispose);
  }
}

// RFC 9111 §5.2.1.7: only-if-cached with nothing usable.
function gatewayTimeout(): Exchange {
  return { response: new Response({ status: 504, reason: 'Gateway Timeout', headers: { 'content-length': '0' } }), content: EMPTY };
}

function assertNever(x: never): never {
  throw new Error(`unexpected cache step ${JSON.stringify(x)}`);
}
