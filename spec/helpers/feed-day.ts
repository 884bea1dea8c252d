/**
 * A simulated day of feed polling (#11): a loopback server with feeds of every kind a poller meets,
 * answering on a clock the spec moves, and a log of what reached it; a naive poller's day (every feed
 * every 15 minutes, two restarts); and the checks a feed publisher would run on that log.
 * The poller itself is the spec's: in this process, or in worker processes on a shared store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { expect } from 'chai';
import { startServer, type TestServer } from './server.js';

/** The day starts at 2026-01-05 00:00 UTC; times below are seconds after it. */
export const DAY_START = Date.UTC(2026, 0, 5, 0, 0, 0);
const MINUTE = 60;
const HOUR = 3600;
const DAY = 24 * HOUR;
/** One poll every 15 minutes: 96 in the day. */
export const POLL_INTERVAL = 15 * MINUTE;
/** The poller restarts (a new Http, or new processes) before these polls. */
export const RESTARTS = [32, 64];
const CHANGE_EVERY = 75 * MINUTE;

/** One request as the server saw it, with what its answer allowed. */
export interface Logged {
  /** Seconds after {@link DAY_START}. */
  readonly t: number;
  readonly path: string;
  readonly inm: string | null;
  readonly ims: string | null;
  readonly status: number;
  readonly bytes: number;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** The earliest time (seconds) its answer lets the same resource be asked again. */
  readonly allowedFrom: number;
  readonly why: string;
}

/** A refusal window: requests at `from` ≤ t < `until` get `status`, with Retry-After in `form` (or none). */
interface Trouble {
  readonly from: number;
  readonly until: number;
  readonly status: 429 | 503;
  readonly form: 'seconds' | 'date' | null;
}

/** A feed the server validates: its validators, freshness and trouble. */
interface Feed {
  readonly etag?: 'strong' | 'weak';
  readonly lastModified?: boolean;
  readonly cacheControl?: string;
  /** Expires two hours after each answer. */
  readonly expires?: boolean;
  readonly changes?: boolean;
  readonly trouble?: Trouble;
  /** Gone (410) from this time on. */
  readonly goneFrom?: number;
}

const FEEDS: Record<string, Feed> = {
  '/etag.xml': { etag: 'strong' },
  '/lastmod.xml': { lastModified: true },
  '/both.xml': { etag: 'strong', lastModified: true },
  '/weak.xml': { etag: 'weak' },
  '/maxage.xml': { etag: 'strong', cacheControl: 'max-age=3600' },
  '/expires.xml': { lastModified: true, expires: true },
  '/changing.xml': { etag: 'strong', lastModified: true, cacheControl: 'max-age=600', changes: true },
  '/target301.xml': { etag: 'strong' },
  '/target308.xml': { etag: 'strong' },
  '/target302.xml': { etag: 'strong', lastModified: true },
  '/limited-seconds.xml': { etag: 'strong', trouble: { from: 5 * HOUR, until: 6.5 * HOUR, status: 429, form: 'seconds' } },
  // Across the second restart.
  '/limited-date.xml': { etag: 'strong', lastModified: true, trouble: { from: 15.5 * HOUR, until: 17 * HOUR, status: 429, form: 'date' } },
  // Across the first restart.
  '/down503.xml': { lastModified: true, cacheControl: 'max-age=300', trouble: { from: 7.5 * HOUR, until: 8.5 * HOUR, status: 503, form: 'seconds' } },
  '/bare503.xml': { etag: 'weak', trouble: { from: 12 * HOUR, until: 13 * HOUR, status: 503, form: null } },
  '/gone.xml': { etag: 'strong', goneFrom: 3 * HOUR },
};

const REDIRECTS: Record<string, { status: number; to: string }> = {
  '/moved301': { status: 301, to: '/target301.xml' },
  '/moved308': { status: 308, to: '/target308.xml' },
  '/found302': { status: 302, to: '/target302.xml' },
};

/** What the poller asks for at every poll. */
export const POLLED = ['/etag.xml', '/lastmod.xml', '/both.xml', '/weak.xml', '/maxage.xml', '/expires.xml', '/changing.xml',
  '/moved301', '/moved308', '/found302', '/limited-seconds.xml', '/limited-date.xml', '/down503.xml', '/bare503.xml', '/gone.xml', '/plain.xml'];

const PLAIN_BODY = feedBody('/plain.xml', 1);
const REFUSAL_BODY = 'Not now, please.\n';
const GONE_BODY = 'This feed is gone for good.\n';

function httpDate(t: number): string {
  return new Date(DAY_START + t * 1000).toUTCString();
}

function versionOf(path: string, t: number): number {
  return FEEDS[path]?.changes ? Math.floor(t / CHANGE_EVERY) + 1 : 1;
}

// A feed document of about 3 KB, different for every version.
function feedBody(path: string, version: number): string {
  const entries = Array.from({ length: 12 }, (_, i) => `  <entry><title>${path} item ${version * 100 + i}</title><summary>${'Lorem ipsum dolor sit amet. '.repeat(6)}</summary></entry>\n`);
  return `<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n  <title>${path} v${version}</title>\n${entries.join('')}</feed>\n`;
}

function validatorsOf(path: string, feed: Feed, version: number): { etag: string | null; lastModified: string | null } {
  const name = path.slice(1).replace(/\.xml$/, '');
  const tag = feed.etag === 'weak' ? `W/"${name}-${version}"` : feed.etag === 'strong' ? `"${name}-${version}"` : null;
  // Version 1 was last modified two hours before the day; later ones when they appeared.
  const modified = version === 1 ? -2 * HOUR : (version - 1) * CHANGE_EVERY;
  return { etag: tag, lastModified: feed.lastModified ? httpDate(modified) : null };
}

const weakEqual = (a: string, b: string): boolean => a.replace(/^W\//, '') === b.replace(/^W\//, '');

/** The feed server of the day: answers on `now()` (seconds after DAY_START), logs every request. */
export interface FeedFarm {
  readonly server: TestServer;
  readonly log: Logged[];
  url(path: string): string;
}

export async function startFeedFarm(now: () => number): Promise<FeedFarm> {
  const log: Logged[] = [];
  const server = await startServer((req, res) => answer(req, res, now(), log));
  return { server, log, url: (path) => server.url(path) };
}

function answer(req: IncomingMessage, res: ServerResponse, t: number, log: Logged[]): void {
  const path = req.url ?? '';
  const inm = req.headers['if-none-match'] ?? null;
  const ims = req.headers['if-modified-since'] ?? null;
  const send = (status: number, headers: Record<string, string>, body: string, allowedFrom: number, why: string): void => {
    res.sendDate = false;
    res.writeHead(status, { date: httpDate(t), 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
    log.push({ t, path, inm, ims, status, bytes: Buffer.byteLength(body), etag: headers['etag'] ?? null, lastModified: headers['last-modified'] ?? null, allowedFrom, why });
  };
  const redirect = REDIRECTS[path];
  if (redirect) {
    const permanent = redirect.status !== 302;
    send(redirect.status, { location: redirect.to }, '', permanent ? Infinity : t, permanent ? 'permanent redirect' : 'temporary redirect');
    return;
  }
  if (path === '/plain.xml') return send(200, { 'content-type': 'application/atom+xml' }, PLAIN_BODY, t, 'no cache headers');
  const feed = FEEDS[path];
  if (!feed) return send(404, {}, 'no such feed\n', t, 'unknown');
  if (feed.goneFrom !== undefined && t >= feed.goneFrom) return send(410, { 'content-type': 'text/plain' }, GONE_BODY, t + DAY, '410 Gone: at most once a day');
  const trouble = feed.trouble;
  if (trouble && t >= trouble.from && t < trouble.until) {
    const retryAfter: Record<string, string> = trouble.form === 'seconds' ? { 'retry-after': String(trouble.until - t) }
      : trouble.form === 'date' ? { 'retry-after': httpDate(trouble.until) } : {};
    return send(trouble.status, { 'content-type': 'text/plain', ...retryAfter }, REFUSAL_BODY, trouble.form === null ? t : trouble.until, `${trouble.status} Retry-After`);
  }
  const version = versionOf(path, t);
  const { etag, lastModified } = validatorsOf(path, feed, version);
  const maxAge = /max-age=(\d+)/.exec(feed.cacheControl ?? '');
  const fields: Record<string, string> = {
    ...(etag ? { etag } : {}),
    ...(lastModified ? { 'last-modified': lastModified } : {}),
    ...(feed.cacheControl ? { 'cache-control': feed.cacheControl } : {}),
    ...(feed.expires ? { expires: httpDate(t + 2 * HOUR) } : {}),
  };
  const allowedFrom = maxAge ? t + Number(maxAge[1]) : feed.expires ? t + 2 * HOUR : t;
  const why = maxAge ? `max-age=${maxAge[1]}` : feed.expires ? 'Expires' : 'no explicit freshness';
  // RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it.
  const notModified = inm !== null ? etag !== null && inm.split(',').some((tag) => weakEqual(tag.trim(), etag))
    : ims !== null && lastModified !== null && Date.parse(lastModified) <= Date.parse(ims);
  if (notModified) return send(304, fields, '', allowedFrom, why);
  send(200, { 'content-type': 'application/atom+xml', ...fields }, feedBody(path, version), allowedFrom, why);
}

/** The times of the day's polls, seconds after DAY_START. */
export function pollTimes(): number[] {
  return Array.from({ length: DAY / POLL_INTERVAL }, (_, i) => i * POLL_INTERVAL);
}

/** What the poller saw for one URL at one poll. */
export interface Seen {
  readonly path: string;
  readonly status: number;
  readonly fromcache: boolean;
}

/**
 * The publisher's checks on the day's log: no unconditional request after the first per feed that
 * has validators, no request before its last answer allowed, no validator the server did not send,
 * a 410 asked at most once a day, permanent redirects asked once, no version downloaded twice, and
 * the bytes transferred. Also what the poller's callers saw.
 */
export function checkTheDay(log: readonly Logged[], seen: readonly Seen[]): void {
  const paths = [...new Set(log.map((r) => r.path))];
  for (const path of paths) {
    const requests = log.filter((r) => r.path === path);
    const etags = new Set<string>();
    const lastModifieds = new Set<string>();
    let previous: Logged | null = null;
    let validated = false;
    for (const r of requests) {
      if (previous !== null) {
        expect(r.t, `${path} asked at ${r.t}s, before ${previous.why} of its answer at ${previous.t}s allowed (${previous.allowedFrom}s)`).to.be.at.least(previous.allowedFrom);
        if (validated) expect(r.inm ?? r.ims, `${path} asked unconditionally at ${r.t}s`).to.not.equal(null);
      }
      if (r.inm !== null) expect(etags.has(r.inm), `${path} at ${r.t}s: If-None-Match ${r.inm} was never sent by the server`).to.equal(true);
      if (r.ims !== null) expect(lastModifieds.has(r.ims), `${path} at ${r.t}s: If-Modified-Since ${r.ims} was never sent by the server`).to.equal(true);
      if (r.etag !== null) etags.add(r.etag);
      if (r.lastModified !== null) lastModifieds.add(r.lastModified);
      validated ||= r.etag !== null || r.lastModified !== null;
      previous = r;
    }
    // A version is downloaded once: two 200s in a row never carry the same validators.
    const full = requests.filter((r) => r.status === 200 && (r.etag ?? r.lastModified) !== null);
    for (let i = 1; i < full.length; i++) {
      expect(`${full[i]!.etag} ${full[i]!.lastModified}`, `${path} downloaded again unchanged at ${full[i]!.t}s`).to.not.equal(`${full[i - 1]!.etag} ${full[i - 1]!.lastModified}`);
    }
  }
  const count = (path: string, status?: number): number => log.filter((r) => r.path === path && (status === undefined || r.status === status)).length;
  // Permanent redirects are not asked again; a 302 is asked at every poll (it is temporary).
  const polls = pollTimes().length;
  expect([count('/moved301'), count('/moved308'), count('/found302')]).to.deep.equal([1, 1, polls]);
  // The 410 once (and the feed never again that day); one 429/503 per Retry-After; a 503 without one at each poll of its hour.
  expect([count('/gone.xml', 410), log.filter((r) => r.path === '/gone.xml' && r.t > 3 * HOUR).length]).to.deep.equal([1, 0]);
  expect([count('/limited-seconds.xml', 429), count('/limited-date.xml', 429), count('/down503.xml', 503), count('/bare503.xml', 503)]).to.deep.equal([1, 1, 1, 4]);
  // max-age=3600 polled every 15 minutes: asked once an hour; Expires two hours ahead: once every two.
  expect([count('/maxage.xml'), count('/expires.xml')]).to.deep.equal([24, 12]);
  // The bytes: each version of each feed once, the feed without validators at every poll, and the
  // short bodies of the refusals and of the 410.
  const changing = new Set(pollTimes().map((t) => versionOf('/changing.xml', t)));
  const once = Object.keys(FEEDS).filter((p) => p !== '/changing.xml').reduce((sum, p) => sum + Buffer.byteLength(feedBody(p, 1)), 0);
  const versions = [...changing].reduce((sum, v) => sum + Buffer.byteLength(feedBody('/changing.xml', v)), 0);
  const expected = once + versions + polls * Buffer.byteLength(PLAIN_BODY) + 7 * REFUSAL_BODY.length + GONE_BODY.length;
  expect(log.reduce((sum, r) => sum + r.bytes, 0), 'body bytes transferred in the day').to.equal(expected);
  expect(changing.size).to.equal(20);
  // What the callers saw: 200s, but for the 410, the one 429/503 of each Retry-After and the 503s without one.
  const statuses = (path: string): Record<number, number> => seen.filter((s) => s.path === path).reduce<Record<number, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {});
  expect(statuses('/limited-seconds.xml')).to.deep.equal({ 200: polls - 1, 429: 1 });
  expect(statuses('/limited-date.xml')).to.deep.equal({ 200: polls - 1, 429: 1 });
  expect(statuses('/down503.xml')).to.deep.equal({ 200: polls - 1, 503: 1 });
  expect(statuses('/bare503.xml')).to.deep.equal({ 200: polls - 4, 503: 4 });
  expect(statuses('/gone.xml')).to.deep.equal({ 200: 12, 410: polls - 12 });
  for (const path of POLLED.filter((p) => !['/limited-seconds.xml', '/limited-date.xml', '/down503.xml', '/bare503.xml', '/gone.xml'].includes(p))) {
    expect(statuses(path), path).to.deep.equal({ 200: polls });
  }
}
