#!/usr/bin/env node
/**
 * The `httplib2-ts` command: one request through the public `Http` API with curl-style flags; the body
 * goes to stdout (or -o FILE), heads and notices to stderr. It parses, prints, and maps the outcome to
 * an exit status (0 answer, 1 HTTP error, 2 bad usage, 3 network failure); every HTTP decision
 * (cache, redirects, auth, decoding) stays in the library.
 */
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import {
  ConnectionError,
  Http,
  HttpLib2Error,
  ProxyError,
  RelativeURIError,
  RequestTimeout,
  ServerNotFoundError,
  TlsError,
  type Response,
} from './index.js';
import { cacheNotice, chainOf, requestHead, responseHead } from './cli/format.js';
import { ProgressBar } from './cli/progress.js';
import { MAX_TIMER_MS } from './options.js';

const NAME = 'httplib2-ts';
const EXIT_OK = 0;
const EXIT_HTTP_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_NETWORK = 3;
// Read by the default cache directory: lets a user turn the cache on for every run (an alias or a
// profile), which is what --no-cache is then for.
const CACHE_ENV = 'HTTPLIB2_TS_CACHE';

const HELP = `Usage: ${NAME} [options] URL

Sends one HTTP request and prints the response body on stdout.

Options:
  -X, --request METHOD   method to use (default: GET, or POST when -d is given)
  -H, --header 'K: V'    add a request header; repeatable
  -d, --data BODY        send BODY; '-d @file' sends the file's bytes as they are, '-d @-' reads stdin;
                         repeated -d are joined with '&' (as curl does); sets
                         Content-Type: application/x-www-form-urlencoded unless -H gives one
  -o, --output FILE      write the body (and the head with -i) to FILE instead of stdout ('-' = stdout)
      --cache DIR        use DIR as an HTTP cache (created if missing): fresh answers are served
                         without a request, stale ones are revalidated
      --no-cache         use no cache, even if --cache or ${CACHE_ENV} name one
  -u, --user USER:PASS   credentials answering a Basic/Digest/WSSE/HMACDigest challenge from this host
  -L, --location         follow redirects (the default)
      --no-location      do not follow redirects; print the 3xx answer itself
  -i, --include          print the status line and response headers before the body
  -v, --verbose          print the request and response heads (and redirects) on stderr
      --timeout MS       give up after MS milliseconds for the whole request
  -h, --help             print this help
  -V, --version          print the version

Caching: off unless --cache DIR is given or ${CACHE_ENV}=DIR is set (curl and httpie keep no cache).
When an answer comes from the cache or was revalidated with a 304, a line on stderr says so.

Progress: on a terminal, a download lasting more than about a second shows a progress bar on
stderr (bytes, rate, and percent when the length is known). Nothing is drawn when stderr is not a
terminal.

A URL without a scheme is taken as http://.

Exit status:
  0  the server answered 1xx, 2xx or 3xx
  1  the server answered 4xx or 5xx (the body is still printed), or its answer could not be used
     (too many redirects, a redirect without Location, an undecodable body)
  2  bad usage: unknown option, missing URL, malformed header, unreadable -d @file, unwritable -o
  3  the request failed: host not found, connection refused or reset, TLS failure, timeout, proxy
`;

const OPTIONS = {
  request: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  data: { type: 'string', short: 'd', multiple: true },
  output: { type: 'string', short: 'o' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  user: { type: 'string', short: 'u' },
  location: { type: 'boolean', short: 'L' },
  'no-location': { type: 'boolean' },
  include: { type: 'boolean', short: 'i' },
  verbose: { type: 'boolean', short: 'v' },
  timeout: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies ParseArgsConfig['options'];

/** A mistake in the command line: exit 2 with its message. */
class UsageError extends Error {}

/** Everything the command line asked for, validated. */
interface Invocation {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
  readonly output: string | null;
  readonly cacheDir: string | null;
  readonly user: { readonly name: string; readonly password: string } | null;
  readonly followRedirects: boolean;
  readonly include: boolean;
  readonly verbose: boolean;
  readonly timeout: number | undefined;
}

type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; tokens: true }>>;

function parseCommandLine(argv: string[]): Parsed {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function toInvocation(parsed: Parsed, env: NodeJS.ProcessEnv): Promise<Invocation> {
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no URL given' : `one URL expected, got ${positionals.length}`);
  }
  const headers = parseHeaders(values.header ?? []);
  const body = values.data ? await readData(values.data) : null;
  if (body && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent')) headers['user-agent'] = `${NAME}/${version()}`;
  return {
    url: parseUrl(positionals[0]!),
    method: values.request ?? (body ? 'POST' : 'GET'),
    headers,
    body,
    output: values.output === undefined || values.output === '-' ? null : values.output,
    cacheDir: values['no-cache'] ? null : values.cache ?? (env[CACHE_ENV] || null),
    user: values.user === undefined ? null : parseUser(values.user),
    followRedirects: lastOf(parsed, 'location', 'no-location') !== 'no-location',
    include: values.include ?? false,
    verbose: values.verbose ?? false,
    timeout: values.timeout === undefined ? undefined : parseTimeout(values.timeout),
  };
}

function parseUrl(text: string): URL {
  // curl and httpie take `example.com/x` as http; anything with a scheme goes to the library as is.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new UsageError(`not a valid URL: ${text}`);
  }
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!name) throw new UsageError(`header must look like 'Name: value', got ${JSON.stringify(line)}`);
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return headers;
}

async function readData(parts: readonly string[]): Promise<Buffer> {
  const buffers: Buffer[] = [];
  for (const [i, part] of parts.entries()) {
    if (i > 0) buffers.push(Buffer.from('&'));
    buffers.push(part.startsWith('@') ? await readDataFile(part.slice(1)) : Buffer.from(part, 'utf8'));
  }
  return Buffer.concat(buffers);
}

async function readDataFile(path: string): Promise<Buffer> {
  try {
    return path === '-' ? await readStdin() : await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read -d @${path}: ${(error as Error).message}`);
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseUser(text: string): { name: string; password: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError('-u expects USER:PASSWORD');
  return { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

function parseTimeout(text: string): number {
  const ms = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(ms > 0) || ms > MAX_TIMER_MS) {
    throw new UsageError(`--timeout expects a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${JSON.stringify(text)}`);
  }
  return ms;
}

/** Which of two opposite flags came last on the line (so `-L --no-location` means no). */
function lastOf(parsed: Parsed, ...names: string[]): string | null {
  let last: string | null = null;
  for (const token of parsed.tokens ?? []) if (token.kind === 'option' && names.includes(token.name)) last = token.name;
  return last;
}

let cachedVersion: string | undefined;
function version(): string {
  // package.json sits one level above both lib/cli.ts and the built dist/cli.js.
  cachedVersion ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** Writes to stderr, prefixed so the line is recognisable among the body's output. */
function say(message: string): void {
  process.stderr.write(`${NAME}: ${message}\n`);
}

function verboseLines(prefix: string, lines: readonly string[]): void {
  process.stderr.write(`${lines.map((l) => `${prefix} ${l}`).join('\n')}\n${prefix}\n`);
}

function openHttp(inv: Invocation): Http {
  try {
    return new Http(inv.cacheDir, inv.timeout === undefined ? {} : { timeout: inv.timeout });
  } catch (error) {
    // The only argument that can be refused here is the cache directory (unwritable, not a directory).
    throw new UsageError(`cannot use the cache directory ${inv.cacheDir}: ${(error as Error).message}`);
  }
}

async function run(inv: Invocation): Promise<number> {
  const http = openHttp(inv);
  http.followRedirects = inv.followRedirects;
  if (inv.user) http.addCredentials(inv.user.name, inv.user.password);
  if (inv.verbose) verboseLines('>', requestHead(inv.method, inv.url, inv.headers));
  const progress = ProgressBar.forStream(process.stderr);
  try {
    const [response, content] = await http.request(inv.url, {
      method: inv.method,
      body: inv.body,
      headers: inv.headers,
      ...(progress ? { onProgress: progress.update } : {}),
    });
    progress?.finish();
    return await report(inv, response, content);
  } catch (error) {
    progress?.abandon();
    return failure(error, inv.verbose);
  } finally {
    await http.close();
  }
}

async function report(inv: Invocation, response: Response, content: Buffer): Promise<number> {
  if (inv.verbose) {
    for (const hop of chainOf(response)) {
      verboseLines('<', responseHead(hop));
      for (const line of hop.cacheStatus ?? []) process.stderr.write(`* cache: ${line}\n`);
      if (hop !== response) process.stderr.write(`* redirected to ${hop.get('location') ?? '?'}\n`);
    }
  }
  const notice = cacheNotice(response);
  if (notice) say(notice);
  const head = inv.include ? Buffer.from(`${responseHead(response).join('\n')}\n\n`) : null;
  const out = head ? Buffer.concat([head, content]) : content;
  if (inv.output) {
    try {
      await writeFile(inv.output, out);
    } catch (error) {
      say(`cannot write -o ${inv.output}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
  } else if (out.length > 0) {
    process.stdout.write(out);
  }
  if (response.status >= 400) {
    say(`HTTP ${response.status}${response.reason ? ` ${response.reason}` : ''} from ${response.get('content-location') ?? inv.url.href}`);
    return EXIT_HTTP_ERROR;
  }
  return EXIT_OK;
}

/** One clear line for a failed request, and its exit status. */
function failure(error: unknown, verbose: boolean): number {
  if (!(error instanceof HttpLib2Error)) {
    say(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return EXIT_NETWORK;
  }
  say(error.message);
  if (verbose && error.cause instanceof Error) process.stderr.write(`* cause: ${error.cause.message}\n`);
  if (error instanceof RelativeURIError || error.code === 'ERR_INVALID_REQUEST') return EXIT_USAGE;
  const network = [ConnectionError, TlsError, RequestTimeout, ServerNotFoundError, ProxyError];
  if (network.some((kind) => error instanceof kind)) return EXIT_NETWORK;
  return error.response ? EXIT_HTTP_ERROR : EXIT_NETWORK;
}

async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.values.help) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (parsed.values.version) {
      process.stdout.write(`${NAME} ${version()}\n`);
      return EXIT_OK;
    }
    return await run(await toInvocation(parsed, process.env));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(`${error.message} (see ${NAME} --help)`);
    return EXIT_USAGE;
  }
}

// A reader that closed the pipe early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});

// exitCode, not exit(): stdout may still be flushing to a pipe.
process.exitCode = await main(process.argv.slice(2));
