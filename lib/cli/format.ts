/**
 * What the CLI prints about an exchange: the request and response heads (`-i`, `-v`) and the one-line
 * notice saying an answer came from the cache or was revalidated. Pure string building over the
 * public `Response`; it never writes to a stream and never decides anything about HTTP.
 */
import type { Response } from '../index.js';

/** `HTTP/1.1 200 OK`, from httplib2's version-times-ten (11, 10, 20). */
export function statusLine(response: Response): string {
  const major = Math.floor(response.version / 10);
  const minor = response.version % 10;
  const version = major >= 2 && minor === 0 ? String(major) : `${major}.${minor}`;
  return `HTTP/${version} ${response.status}${response.reason ? ` ${response.reason}` : ''}`;
}

/** The status line and `name: value` lines of a response, without a trailing blank line. */
export function responseHead(response: Response): string[] {
  return [statusLine(response), ...[...response].map(([name, value]) => `${name}: ${value}`)];
}

/** The request head as the CLI asked for it (the library may add Accept-Encoding and the like). */
export function requestHead(method: string, url: URL, headers: Readonly<Record<string, string>>): string[] {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    // Credentials stay off the terminal: -v output is often pasted into bug reports.
    const shown = /^(authorization|proxy-authorization|cookie|x-wsse)$/i.test(name) ? '[redacted]' : value;
    lines.push(`${name}: ${shown}`);
  }
  return lines;
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
