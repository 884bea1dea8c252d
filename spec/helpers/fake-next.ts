/**
 * Driving a layer without sockets (as httpx's MockTransport does): a fake next layer that answers from
 * a script and counts what it was sent, a request context with defaults, a clock moved by hand.
 * A layer is a function of the next `send`, so `withCache(fake.send, ...)` or `withAuth(fake.send, ...)`
 * runs exactly as in an Http, minus the network.
 */
import { Response } from '../../lib/response.js';
import type { Clock, CredentialLookup, Exchange, HopRequest, RequestContext, Send, Settings } from '../../lib/types.js';
import { originOf } from '../../lib/uri.js';

/** One scripted answer: an exchange, an error to reject with, or a function of the request and the call number (0 first). */
export type Answerer = Exchange | Error | ((req: HopRequest, n: number) => Exchange | Promise<Exchange>);

/** A next layer that answers from a script. */
export interface FakeNext {
  /** The `Send` to wrap. */
  readonly send: Send;
  /** Every request it was sent, in order, as it received them (after the layers above added theirs). */
  readonly requests: readonly HopRequest[];
  /** How many requests it was sent. */
  count(): number;
}

/**
 * A next layer answering its n-th call with `answers[n]`; the last answerer repeats. With no
 * answerer, every call is a 200 with an empty body.
 */
export function fakeNext(...answers: Answerer[]): FakeNext {
  const requests: HopRequest[] = [];
  const send: Send = async (req) => {
    const n = requests.length;
    requests.push(req);
    const answer = answers.length === 0 ? anExchange() : answers[Math.min(n, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return typeof answer === 'function' ? answer(req, n) : answer;
  };
  return { send, requests, count: () => requests.length };
}

/** An exchange with a new Response: `status` (200), `headers` (none), `body` as UTF-8 (''). */
export function anExchange(status = 200, headers: Record<string, string> = {}, body = ''): Exchange {
  const content = Buffer.from(body, 'utf8');
  return { response: new Response({ status, headers }), content };
}

/** A request as a layer receives it: lower-case header names, null-prototype record. */
export function aRequest(url: string, method = 'GET', headers: Record<string, string> = {}, body: string | null = null): HopRequest {
  const record: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(headers)) record[name.toLowerCase()] = value;
  return { url: new URL(url), method, headers: record, body: body === null ? null : Buffer.from(body, 'utf8') };
}

/** An Http's settings with their defaults; `overrides` replace fields. */
export function someSettings(overrides: Partial<Settings> = {}): Settings {
  return Object.freeze({
    followRedirects: true,
    followAllRedirects: false,
    redirectCodes: new Set([300, 301, 302, 303, 307, 308]),
    forwardAuthorizationHeaders: false,
    forceExceptionToStatusCode: false,
    optimisticConcurrencyMethods: ['PUT', 'PATCH'],
    ignoreEtag: false,
    retries: 2,
    timeout: undefined,
    maxBodySize: 1024 * 1024 * 1024,
    maxDecompressionRatio: 100,
    goneLifetime: 86400,
    maxRetryAfter: 86400,
    ...overrides,
  });
}

/** No credentials registered. */
export const NO_CREDENTIALS: CredentialLookup = Object.freeze({ size: 0, candidates: () => [], match: () => null });

/** The instant fake clocks start at by default: 2026-01-01T12:00:00Z. */
export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

/** A clock that moves only when told: `advance(ms)` adds milliseconds. */
export function fakeClock(start = T0): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/**
 * A request context with defaults (default settings, a fake clock at {@link T0}, no signal, no cache,
 * no credentials); `requestedOrigins` defaults to the origin of `overrides.url` when given. The lines
 * layers note are collected in `notes`.
 */
export function aContext(overrides: Partial<RequestContext> & { readonly url?: string } = {}): RequestContext & { readonly notes: readonly string[] } {
  const notes: string[] = [];
  const { url, ...rest } = overrides;
  return Object.freeze({
    settings: someSettings(),
    clock: fakeClock(),
    signal: null,
    requestedOrigins: new Set(url === undefined ? [] : [originOf(new URL(url))]),
    cache: null,
    credentials: NO_CREDENTIALS,
    note: (line: string) => void notes.push(line),
    onProgress: null,
    ...rest,
    notes,
  });
}
