/**
 * The CLI's name, its --help text and its version: constants and one read of package.json.
 */
import { readFileSync } from 'node:fs';

export const NAME = 'httplib2-ts';
// Read by the default cache directory: lets a user turn the cache on for every run (an alias or a
// profile), which is what --no-cache is then for.
export const CACHE_ENV = 'HTTPLIB2_TS_CACHE';

export const HELP = `Usage: ${NAME} [options] URL
       ${NAME} cache ls|stats|purge|verify [--cache DIR] [--json]

Sends one HTTP request and prints the response body on stdout. With 'cache', looks at and cleans
a cache directory instead (list, totals, purge, verify checksums; see '${NAME} cache --help').

Options (short ones group as in curl: -sSL, -sSo FILE):
  -X, --request METHOD   method to use (default: GET; HEAD with -I; POST with -d or --json)
  -H, --header 'K: V'    add a request header; repeatable; wins over -A, -e and the defaults below
  -d, --data BODY        send BODY; '-d @file' sends the file's bytes as they are, '-d @-' reads stdin;
                         repeated -d are joined with '&' (as curl does); sets
                         Content-Type: application/x-www-form-urlencoded unless -H gives one
      --data-binary BODY the same as -d (which already sends @file byte for byte)
      --json BODY        send BODY (or @file, @-) as JSON: Content-Type and Accept application/json;
                         repeated --json are joined as they are
  -o, --output FILE      write the body (and the head with -i) to FILE instead of stdout; '-o -'
                         writes to stdout, binary output to a terminal included
  -O, --remote-name      write to a file in the current directory named as the URL's last segment
  -A, --user-agent NAME  send User-Agent: NAME (default: ${NAME}/VERSION)
  -e, --referer URL      send Referer: URL
      --cache DIR        use DIR as an HTTP cache (created if missing): fresh answers are served
                         without a request, stale ones are revalidated
      --no-cache         use no cache, even if --cache or ${CACHE_ENV} name one
  -u, --user USER:PASS   credentials answering a Basic/Digest/WSSE/HMACDigest challenge from this host
  -L, --location         follow redirects (the default)
      --no-location      do not follow redirects; print the 3xx answer itself
  -i, --include          print the response heads before the body, as received: every hop's
                         (redirects and challenges too, as curl -iL), then the cache's when it answered
  -I, --head             send a HEAD and print the response heads
  -v, --verbose          on stderr, each request head as sent (> lines, with the headers the library
                         added; credentials redacted) and response head as received (< lines), then
                         one line of what the cache did; a fresh cache hit sends nothing
  -s, --silent           no progress bar, no notices, no error lines (exit status only)
  -S, --show-error       with -s, still print the error line
  -f, --fail             on a 4xx/5xx answer, write no body (nor head): only the error line, exit 1
      --compressed       accepted for curl's sake: gzip, deflate and br are always asked for and decoded
  -k, --insecure         accept any server certificate (this run only)
      --http2            offer HTTP/2 to https servers (ALPN); a server that picks it is spoken to in
                         HTTP/2 (status lines read HTTP/2), any other in HTTP/1.1
  -m, --max-time SECS    give up after SECS seconds (decimals allowed) for the whole request
      --timeout DURATION the same, as seconds (a bare number: 30, 2.5) or with a unit: 500ms, 5s, 2m
  -h, --help             print this help
  -V, --version          print the version

Caching: off unless --cache DIR is given or ${CACHE_ENV}=DIR is set (curl and httpie keep no cache).
When an answer comes from the cache or was revalidated with a 304, a line on stderr says so; one
line also says when the cache cannot keep answers (a directory it may not write).

Progress: on a terminal, a download lasting more than about a second shows a progress bar on
stderr (bytes and rate; percent, a bar and the time left, ETA, when the length is known). Nothing is
drawn when stderr is not a terminal, nor with -s.

Binary output (a body holding a NUL byte) is not written to a terminal: use -o FILE, or -o - to
print it anyway. Pipes and files always get the body byte for byte.

A URL without a scheme is taken as http:// (host:port and user:password@host too); any other
scheme, or a misspelt one (htp:/host/), is refused as bad usage before anything is sent.

Exit status:
  0  the server answered 1xx, 2xx or 3xx
  1  the server answered 4xx or 5xx (the body is still printed), or its answer could not be used
     (too many redirects, a redirect without Location, an undecodable body)
  2  bad usage: unknown option, missing URL, malformed header, unreadable -d @file, unwritable -o,
     binary output refused on a terminal
  3  the request failed: host not found, connection refused or reset, TLS failure, timeout, proxy
`;

let cachedVersion: string | undefined;
/** The package version: package.json sits two levels above both lib/cli/ and the built dist/cli/. */
export function version(): string {
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}
