/**
 * What the CLI prints about an exchange: request and response heads (`-i`, `-v`) and the one-line
 * notices saying an answer came from the cache or was revalidated. Pure string building over the
 * public `Response` and the wire records; it never writes to a stream and never decides anything
 * about HTTP.
 */
import type { ReceivedHead, Response, SentHead, Timings } from '../index.js';
import { statusLine, versionName } from '../debug.js';

// The library's debug output and the CLI write the status line alike (curl's shape).
export { statusLine };

/** The status line and `name: value` lines of a response, without a trailing blank line. */
export function responseHead(response: Response): string[] {
  return [statusLine(response), ...[...response].map(([name, value]) => `${name}: ${value}`)];
}

/**
 * A request head as it went to the connection, in curl's -v shape: the request line in origin form
 * with the protocol it went out on (`HTTP/2` as curl writes it), `host`, the headers (secrets already redacted by the library) and the `content-length` the
 * connection adds for a body.
 */
export function sentLines(head: SentHead): string[] {
  const url = new URL(head.url);
  const lines = [`${head.method} ${url.pathname}${url.search} HTTP/${versionName(head.version)}`, `host: ${url.host}`];
  for (const [name, value] of head.headers) lines.push(`${name}: ${value}`);
  if (head.bodyLength !== null && !head.headers.some(([name]) => name === 'content-length' || name === 'transfer-encoding')) {
    lines.push(`content-length: ${head.bodyLength}`);
  }
  return lines;
}

/** A response head as received: status line and headers, `shown` deciding what a value prints as. */
export function receivedLines(head: ReceivedHead, shown: (name: string, value: string) => string = (_n, v) => v): string[] {
  return [statusLine(head), ...head.headers.map(([name, value]) => `${name}: ${shown(name, value)}`)];
}

/**
 * The head of an answer the cache gave (no request, or a 304 turned into the stored 200), without
 * what the library adds for its callers: `-content-encoding` (the body that follows is decoded and
 * `content-length` says its length) and the `content-location` naming the requested URI.
 */
export function cachedHeadLines(response: Response, requested: URL): string[] {
  return responseHead(response).filter((line) =>
    !line.startsWith('-content-encoding: ') && line !== `content-location: ${requested.href}`);
}

/** The URI requested for the last hop of `response`'s chain, the first hop being `first`. */
export function requestedUrl(response: Response, first: URL): URL {
  let url = first;
  const chain = chainOf(response);
  for (const hop of chain.slice(0, -1)) {
    const location = hop.get('location');
    if (location === undefined) break;
    try {
      url = new URL(location, url);
    } catch {
      break;
    }
  }
  return url;
}

/** The redirect chain oldest first, ending with `response` itself. */
export function chainOf(response: Response): Response[] {
  const chain: Response[] = [];
  for (let r: Response | null = response; r; r = r.previous) chain.unshift(r);
  return chain;
}

/**
 * The stderr notice for an answer that did not come straight from the server, or null. A 304 turned
 * into the cached 200 is still `fromcache` (httplib2), so the cache's own account (`cacheStatus`, one
 * line per decision) tells a revalidation from a fresh hit; without one the notice says only that.
 */
export function cacheNotice(response: Response): string | null {
  const lines: readonly string[] = response.cacheStatus ?? [];
  const revalidated = lines.find((l) => l.startsWith('revalidated'));
  if (revalidated) {
    const how = revalidated.replace(/^revalidated:?\s*/, '');
    return `revalidated with the server${how ? ` (${how})` : ''}: not modified, the cached body was used`;
  }
  if (!response.fromcache) {
    return response.status === 304 ? 'the server answered 304 Not Modified: the copy you named is current (no body)' : null;
  }
  const fresh = lines.find((l) => l.startsWith('fresh'));
  if (fresh) return `answered from the cache, no request sent (${fresh})`;
  const why = lines.at(-1);
  return `answered from the cache${why ? ` (${why})` : ''}`;
}

// The cache's line for an answer the store refused; `not kept yet:` (a write still going on in the
// background) is not a failure.
const NOT_KEPT = 'not kept: ';

/**
 * The one stderr line for a cache that could not keep an answer (a directory it cannot write), or
 * null: the request itself succeeded, but the next run will not find the answer stored.
 */
export function storeFailureNotice(response: Response, cacheDir: string): string | null {
  const failure = chainOf(response).flatMap((hop) => hop.cacheStatus ?? []).find((l) => l.startsWith(NOT_KEPT));
  if (failure === undefined) return null;
  // `not kept: <lifetime> (<why>)`, or `not kept: <why>` when no lifetime had been claimed.
  const opening = failure.indexOf(' (store ');
  const why = opening === -1 ? failure.slice(NOT_KEPT.length) : failure.slice(opening + 2, -1);
  return `the cache at ${cacheDir} cannot keep answers: ${why}`;
}

/** Every cache decision of every hop, oldest first, as one `-v` line. */
export function cacheLine(response: Response): string {
  const decisions = chainOf(response).flatMap((hop) => hop.cacheStatus ?? []);
  return decisions.length ? `cache: ${decisions.join(' | ')}` : 'cache: no decision';
}

const PHASES: readonly (readonly [keyof Timings, string])[] = [
  ['queued', 'queued'], ['dns', 'dns'], ['connect', 'connect'], ['tls', 'tls'], ['requestSent', 'sent'],
  ['firstByte', 'first byte'], ['bodyDone', 'body'], ['total', 'total'],
];

/**
 * The request's timings for the `-v` closing line, in milliseconds, the phases that did not happen or
 * are not known left out: `timings (ms): connect 0.31, tls 2.95, ..., total 5.41`.
 */
export function timingsLine(timings: Timings): string {
  const shown = PHASES.flatMap(([field, name]) => {
    const value = timings[field];
    return value === null ? [] : [`${name} ${value}`];
  });
  return `timings (ms): ${shown.join(', ')}`;
}
