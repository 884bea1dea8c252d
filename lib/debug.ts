/**
 * Debug output, as httplib2's `debuglevel`: `debugging(next, sink, observer)` reports each hop's
 * request head as it goes to the transport and the response head as it came back (as text lines, and
 * as records for a `WireObserver` such as the CLI's -v and -i), and `summaryLine` the cache's
 * decisions for a whole `request()`. Credentials are redacted and control characters escaped. It must
 * never change a request or its outcome, and it is left out of the pipeline entirely when debug output and observer are off.
 */
import { printable } from './printable.js';
import type { Response } from './response.js';
import type { Exchange, HopRequest, RequestContext, Send } from './types.js';
import { redactUserinfo } from './uri.js';

/** Receives one line of debug output at a time, without its newline. */
export type DebugSink = (line: string) => void;

/** A hop's request head as handed to the connection, after the cache and auth layers added theirs. */
export interface SentHead {
  /** The method, as sent. */
  readonly method: string;
  /** The absolute URL; a password in its user info reads `redacted`. */
  readonly url: string;
  /**
   * The header fields in the order given to the connection, names lower-cased. The values of
   * Authorization, Proxy-Authorization, Cookie and X-WSSE read `[redacted]` (after the scheme word).
   * The connection adds `host` (and `content-length` for a body) itself.
   */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Bytes of request body, or null when there is none. */
  readonly bodyLength: number | null;
  /**
   * The HTTP version the request went out on, times ten as {@link Response.version}: 20 once the
   * connection it was put on negotiated HTTP/2, else 11 (a caller's own dispatcher does not say).
   */
  readonly version: number;
}

/** A hop's response head as it came from the connection, before decoding, with the body size. */
export interface ReceivedHead {
  /** The URL of the request this answers (password redacted as in {@link SentHead.url}). */
  readonly url: string;
  /** HTTP version times ten, as {@link Response.version}. */
  readonly version: number;
  /** The status code as received: a 304 is a 304 here even when the cache answers with its 200. */
  readonly status: number;
  /** The reason phrase as received (the standard one when the server sent none). */
  readonly reason: string;
  /**
   * The header fields as received, names lower-cased, repeated fields joined with `, `; nothing is
   * redacted (Set-Cookie is the caller's own answer) and no library header is added.
   */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Bytes of body received, before decoding. */
  readonly bodyLength: number;
}

/**
 * Receives each hop as it crosses the wire, for a program that shows the exchange its own way (the
 * CLI's -v and -i). An answer served from the cache without a request calls neither method. A method
 * that throws is ignored: it never fails the request.
 */
export interface WireObserver {
  /**
   * Called once per hop, when the request is put on a connection (its protocol known then), or, for
   * a request that never reached one (or went through a caller's dispatcher), when it ended.
   */
  sent?(head: SentHead): void;
  /** Called once a hop's response head and body have been received, before decoding. */
  received?(head: ReceivedHead): void;
}

/** The namespace matched against `DEBUG`, and the prefix of every line. */
export const DEBUG_NAMESPACE = 'httplib2-ts';

// Request headers whose values are secrets: debug output ends up in bug reports and CI logs.
// Set-Cookie carries session tokens the same way Cookie does.
const SECRET = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-wsse']);
// For these, the scheme word (`Basic`, `Digest`, `UsernameToken`) is shown: it says which scheme
// answered the challenge, which is what one debugs, and reveals nothing.
const SCHEMED = new Set(['authorization', 'proxy-authorization', 'x-wsse']);

/**
 * Whether a `DEBUG` value enables `namespace`, read as the `debug` package reads it: names separated
 * by commas or spaces, `*` matching any run of characters, a leading `-` excluding (exclusions win).
 */
export function isDebugEnabled(pattern: string | undefined, namespace = DEBUG_NAMESPACE): boolean {
  if (!pattern) return false;
  let enabled = false;
  for (const item of pattern.split(/[\s,]+/)) {
    if (!item) continue;
    if (item.startsWith('-')) {
      if (globMatch(item.slice(1), namespace)) return false;
    } else if (globMatch(item, namespace)) {
      enabled = true;
    }
  }
  return enabled;
}

// `*` matches any run of characters; everything else is literal (no regular expression is built
// from the environment). Greedy with backtracking to the last star: linear for one star, bounded by
// the namespace length otherwise.
function globMatch(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (g < glob.length && glob[g] === '*') {
      star = g++;
      resume = t;
    } else if (g < glob.length && glob[g] === text[t]) {
      g++;
      t++;
    } else if (star >= 0) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}

/** Debug output to stderr, one line per write. */
export const stderrSink: DebugSink = (line) => {
  process.stderr.write(`${line}\n`);
};

/**
 * The sink for `HttpOptions.debug`: a function is used as given, `true` writes to stderr, `false`
 * turns output off, and `undefined` follows the `DEBUG` environment value passed in. Null means off.
 */
export function resolveDebug(option: boolean | DebugSink | undefined, envDebug: string | undefined): DebugSink | null {
  if (typeof option === 'function') return quiet(option);
  if (option === undefined ? isDebugEnabled(envDebug) : option) return stderrSink;
  return null;
}

// A sink that throws must not fail the request it describes.
function quiet(sink: DebugSink): DebugSink {
  return (line) => {
    try {
      sink(line);
    } catch {
      // debug output is best effort
    }
  };
}

/**
 * Wraps `next` (the transport) so each hop's request and response heads go to `sink` as text lines
 * and to `observer` as records; either may be null.
 */
export function debugging(next: Send, sink: DebugSink | null, observer: WireObserver | null = null): Send {
  // Heads and error messages quote the server: escaped, they cannot drive the terminal they reach.
  const emit = (marker: string, lines: readonly string[]) => {
    if (sink) for (const line of lines) sink(printable(`${DEBUG_NAMESPACE} ${marker} ${line}`));
  };
  return async (req: HopRequest, ctx: RequestContext): Promise<Exchange> => {
    emit('>', requestHead(req));
    const sent = observer?.sent ? once((version: number) => tell(() => observer.sent!(sentHead(req, version)))) : null;
    try {
      // The request line's protocol is the connection's (ALPN, RFC 7301): the observer hears of the
      // request once the transport has put it on one, which is before anything of it is written.
      const exchange = await next(req, sent ? Object.freeze({ ...ctx, connected: sent }) : ctx);
      sent?.(11);
      emit('<', responseHead(exchange.response, exchange.content.length));
      if (observer?.received) {
        const head = receivedHead(req, exchange);
        tell(() => observer.received!(head));
      }
      return exchange;
    } catch (error) {
      sent?.(11);
      emit('!', [`${req.method} ${shownUrl(req.url)} failed: ${describe(error)}`]);
      throw error;
    }
  };
}

// `report` for the first call only: a retry on another connection is the same hop.
function once(report: (version: number) => void): (version: number) => void {
  let told = false;
  return (version) => {
    if (told) return;
    told = true;
    report(version);
  };
}

// An observer that throws must not fail the request it watches.
function tell(call: () => void): void {
  try {
    call();
  } catch {
    // observing is best effort
  }
}

function sentHead(req: HopRequest, version: number): SentHead {
  const headers = Object.keys(req.headers).map((name) => [name, shownValue(name, req.headers[name]!)] as const);
  return { method: req.method, url: shownUrl(req.url), headers, bodyLength: req.body === null ? null : req.body.length, version };
}

// The head as the transport received it: no layer above changes that Response (each answers with its own).
function receivedHead(req: HopRequest, exchange: Exchange): ReceivedHead {
  const { response } = exchange;
  return {
    url: shownUrl(req.url),
    version: response.version,
    status: response.status,
    reason: response.reason,
    headers: [...response],
    bodyLength: exchange.content.length,
  };
}

/** The request line (method and URL) and headers of a hop, secrets redacted. */
export function requestHead(req: HopRequest): string[] {
  const lines = [`${req.method} ${shownUrl(req.url)}`];
  for (const name of Object.keys(req.headers)) lines.push(`${name}: ${shownValue(name, req.headers[name]!)}`);
  if (req.body !== null) lines.push(`[body: ${req.body.length} bytes]`);
  return lines;
}

/** `1.1`, `1.0`, `2`: the protocol version as curl names it, from httplib2's version-times-ten (11, 10, 20). */
export function versionName(version: number): string {
  const major = Math.floor(version / 10);
  const minor = version % 10;
  return major >= 2 && minor === 0 ? String(major) : `${major}.${minor}`;
}

/**
 * `HTTP/1.1 200 OK`; `HTTP/2 200` as curl shows it, since HTTP/2 carries no reason phrase (RFC 9113
 * §8.3.2: the one a Response holds is the standard one).
 */
export function statusLine(head: { readonly version: number; readonly status: number; readonly reason: string }): string {
  const reason = head.version >= 20 ? '' : head.reason;
  return `HTTP/${versionName(head.version)} ${head.status}${reason ? ` ${reason}` : ''}`;
}

/** The status line and headers of a response as it came back (before decoding), secrets redacted. */
export function responseHead(response: Response, bodyLength: number): string[] {
  const lines = [statusLine(response)];
  for (const [name, value] of response) lines.push(`${name}: ${shownValue(name, value)}`);
  lines.push(`[body: ${bodyLength} bytes received]`);
  return lines;
}

/**
 * The closing line of one `request()`: what was asked, how it ended, and every cache decision of
 * every hop in order (the lines noted through `ctx.note`), or that the Http has no cache (`null`).
 */
export function summaryLine(
  method: string,
  uri: string | URL,
  outcome: { readonly response: Response } | { readonly error: unknown },
  decisions: readonly string[] | null,
): string {
  const url = shownUrl(uri);
  let ended: string;
  if ('response' in outcome) {
    const r = outcome.response;
    let hops = 0;
    for (let p = r.previous; p; p = p.previous) hops++;
    const notes = [r.fromcache ? 'from the cache' : '', hops ? `after ${hops} redirect${hops > 1 ? 's' : ''}` : ''].filter(Boolean);
    ended = `${r.status}${r.reason ? ` ${r.reason}` : ''}${notes.length ? ` (${notes.join(', ')})` : ''}`;
  } else {
    ended = `failed: ${describe(outcome.error)}`;
  }
  const cache = decisions === null ? 'no cache'
    : decisions.length ? `cache: ${decisions.join(' | ')}` : 'cache: no decision';
  return printable(`${DEBUG_NAMESPACE} * ${method} ${url} → ${ended}; ${cache}`);
}

/**
 * The line an Http writes the first time its cache could not keep an answer (a directory it may not
 * write, a full disk, a store that refuses): each summary line shows its own request's `not kept:`
 * decision; this says once that the cache is not working, as the CLI does on stderr. Null when the
 * decisions show no such failure (`not kept yet:`, a write still going on, is none).
 */
export function storeTroubleLine(decisions: readonly string[]): string | null {
  const failure = decisions.find((line) => line.startsWith('not kept: '));
  return failure === undefined ? null : printable(`${DEBUG_NAMESPACE} ! the cache cannot keep answers: ${failure}`);
}

/** A header value as debug output shows it: secrets replaced by `[redacted]`, a scheme word kept. */
export function shownValue(name: string, value: string): string {
  if (!SECRET.has(name)) return value;
  const scheme = SCHEMED.has(name) ? /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?= )/.exec(value)?.[0] : undefined;
  return scheme ? `${scheme} [redacted]` : '[redacted]';
}

// A password in the URI's user info is a secret too.
function shownUrl(uri: string | URL): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return redactUserinfo(String(uri));
  }
  if (!url.password) return url.href;
  url.password = 'redacted';
  return url.href;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return redactUserinfo(String(error));
  const code = (error as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code} ` : ''}${redactUserinfo(error.message)}`;
}

