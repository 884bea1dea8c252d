/**
 * The CLI's command line: curl's flags, validated into an `Invocation` before anything is sent. A
 * mistake is a `UsageError` (exit 2) whose message names the option and what it expects.
 */
import { readFile } from 'node:fs/promises';
import { MAX_TIMER_MS } from '../options.js';
import { has, lastOf, tokenize, UsageError, valuesOf, type CommandLine, type OptionSpec } from './argv.js';
import { CACHE_ENV, NAME, version } from './help.js';

export { UsageError, has, type CommandLine };

const OPTIONS: readonly OptionSpec[] = [
  { long: 'request', short: 'X', takesValue: true },
  { long: 'header', short: 'H', takesValue: true },
  { long: 'data', short: 'd', takesValue: true },
  { long: 'data-binary', takesValue: true },
  { long: 'json', takesValue: true },
  { long: 'output', short: 'o', takesValue: true },
  { long: 'remote-name', short: 'O' },
  { long: 'cache', takesValue: true },
  { long: 'no-cache' },
  { long: 'user', short: 'u', takesValue: true },
  { long: 'user-agent', short: 'A', takesValue: true },
  { long: 'referer', short: 'e', takesValue: true },
  { long: 'location', short: 'L' },
  { long: 'no-location' },
  { long: 'include', short: 'i' },
  { long: 'head', short: 'I' },
  { long: 'verbose', short: 'v' },
  { long: 'silent', short: 's' },
  { long: 'show-error', short: 'S' },
  { long: 'fail', short: 'f' },
  // We always ask for and decode gzip, deflate and br: accepted so curl command lines work.
  { long: 'compressed' },
  { long: 'insecure', short: 'k' },
  { long: 'http2' },
  { long: 'max-time', short: 'm', takesValue: true },
  { long: 'timeout', takesValue: true },
  { long: 'help', short: 'h' },
  { long: 'version', short: 'V' },
];

/** Everything the command line asked for, validated. */
export interface Invocation {
  readonly url: URL;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | null;
  /** The file the body goes to (-o FILE, -O); null for stdout. */
  readonly output: string | null;
  /** `-o -`: stdout named explicitly, so even binary output is written to a terminal. */
  readonly explicitStdout: boolean;
  readonly cacheDir: string | null;
  readonly user: { readonly name: string; readonly password: string } | null;
  readonly followRedirects: boolean;
  /** -i or -I: the response heads go before the body. */
  readonly include: boolean;
  readonly verbose: boolean;
  /** -s: no progress bar, no notices, and no error line unless -S. */
  readonly silent: boolean;
  readonly showError: boolean;
  /** -f: on a 4xx/5xx answer, nothing is written but the error line. */
  readonly fail: boolean;
  /** -k: any server certificate is accepted. */
  readonly insecure: boolean;
  /** --http2: HTTP/2 offered to https origins (the `http2` option). */
  readonly http2: boolean;
  readonly timeout: number | undefined;
}

/** Splits the command line; --help and --version are looked at before anything else is checked. */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  return tokenize(argv, OPTIONS);
}

export async function toInvocation(line: CommandLine, env: NodeJS.ProcessEnv): Promise<Invocation> {
  const { positionals } = line;
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'no URL given' : `one URL expected, got ${positionals.length}`);
  }
  const url = parseUrl(positionals[0]!);
  const headers = parseHeaders(valuesOf(line, 'header').map((o) => String(o.value)));
  const { body, contentType } = await readBody(line);
  const setDefault = (name: string, value: string | undefined) => {
    if (value !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === name)) headers[name] = value;
  };
  setDefault('content-type', contentType);
  if (has(line, 'json')) setDefault('accept', 'application/json');
  setDefault('user-agent', stringOf(line, 'user-agent') ?? `${NAME}/${version()}`);
  setDefault('referer', stringOf(line, 'referer'));
  if (has(line, 'head') && body) throw new UsageError('-I sends a HEAD, which cannot carry -d/--json data');
  const output = outputOf(line, url);
  return {
    url,
    method: stringOf(line, 'request') ?? (has(line, 'head') ? 'HEAD' : body ? 'POST' : 'GET'),
    headers,
    body,
    output: output === '-' ? null : output,
    explicitStdout: output === '-',
    cacheDir: has(line, 'no-cache') ? null : stringOf(line, 'cache') ?? (env[CACHE_ENV] || null),
    user: has(line, 'user') ? parseUser(stringOf(line, 'user')!) : null,
    followRedirects: lastOf(line, 'location', 'no-location') !== 'no-location',
    include: has(line, 'include') || has(line, 'head'),
    verbose: has(line, 'verbose'),
    silent: has(line, 'silent'),
    showError: has(line, 'show-error'),
    fail: has(line, 'fail'),
    insecure: has(line, 'insecure'),
    http2: has(line, 'http2'),
    timeout: timeoutOf(line),
  };
}

/** The last value of a value-taking option, or undefined. */
function stringOf(line: CommandLine, name: string): string | undefined {
  const given = valuesOf(line, name).at(-1)?.value;
  return typeof given === 'string' ? given : undefined;
}

function parseUrl(text: string): URL {
  // curl and httpie take `example.com/x` as http. A scheme that is not http(s) is refused here, so
  // `htp:/host/` is not sent to a host named `htp`.
  const scheme = schemeOf(text);
  if (scheme !== null && scheme !== 'http' && scheme !== 'https') {
    throw new UsageError(`unsupported or misspelt scheme "${scheme}:" in ${text}: only http:// and https:// URLs are fetched`);
  }
  try {
    return new URL(scheme === null ? `http://${text}` : text);
  } catch {
    throw new UsageError(`not a valid URL: ${text}`);
  }
}

/**
 * The lower-cased scheme `text` starts with, or null when it has none: `name:` is a scheme unless it
 * is `host:port` (digits, then a path, query, fragment or the end) or user info (`user:pw@host`).
 */
function schemeOf(text: string): string | null {
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(text);
  if (!match) return null;
  const rest = text.slice(match[0].length);
  if (!rest.startsWith('/')) {
    if (/^\d+(?:[/?#]|$)/.test(rest)) return null;
    if (/^[^/?#]*@/.test(rest)) return null;
  }
  return match[1]!.toLowerCase();
}

/** -o FILE, -o - (stdout), or -O (the last segment of the URL's path, in the current directory). */
function outputOf(line: CommandLine, url: URL): string | null {
  const file = stringOf(line, 'output');
  if (!has(line, 'remote-name')) return file ?? null;
  if (file !== undefined) throw new UsageError('-o and -O name two outputs: give one');
  const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  if (!name) throw new UsageError(`-O takes the file name from the URL, and ${url.href} has none (use -o FILE)`);
  return name;
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

/**
 * The body of -d/--data-binary (pieces joined with `&`, a form unless -H says otherwise) or --json
 * (pieces joined as they are, JSON), `@file` and `@-` read as bytes; both kinds at once is refused.
 */
async function readBody(line: CommandLine): Promise<{ body: Buffer | null; contentType?: string }> {
  const data = valuesOf(line, 'data', 'data-binary');
  const json = valuesOf(line, 'json');
  if (data.length && json.length) throw new UsageError('--json cannot be combined with -d or --data-binary');
  const pieces = data.length ? data : json;
  if (!pieces.length) return { body: null };
  const buffers: Buffer[] = [];
  for (const [i, piece] of pieces.entries()) {
    if (i > 0 && data.length) buffers.push(Buffer.from('&'));
    const text = String(piece.value);
    buffers.push(text.startsWith('@') ? await readDataFile(`--${piece.name}`, text.slice(1)) : Buffer.from(text, 'utf8'));
  }
  return { body: Buffer.concat(buffers), contentType: data.length ? 'application/x-www-form-urlencoded' : 'application/json' };
}

async function readDataFile(option: string, path: string): Promise<Buffer> {
  const shown = option === '--data' ? '-d' : option;
  try {
    return path === '-' ? await readStdin() : await readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${shown} @${path}: ${(error as Error).message}`);
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

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/**
 * The last of -m SECONDS and --timeout DURATION, in milliseconds. A bare number is seconds, as curl's
 * -m and httpie's --timeout read it; --timeout also takes a unit (500ms, 5s, 2m).
 */
function timeoutOf(line: CommandLine): number | undefined {
  const given = valuesOf(line, 'max-time', 'timeout').at(-1);
  if (!given) return undefined;
  const text = String(given.value);
  const match = given.name === 'timeout' ? /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text) : /^(\d+(?:\.\d+)?)()$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2] || 's']! : NaN;
  if (!(ms > 0) || ms > MAX_TIMER_MS) {
    const limit = `up to ${Math.floor(MAX_TIMER_MS / 1000)} s (about 24 days)`;
    throw new UsageError(given.name === 'timeout'
      ? `--timeout expects a duration: seconds (30, 2.5) or with a unit (500ms, 5s, 2m), ${limit}; got ${JSON.stringify(text)}`
      : `-m/--max-time expects a positive number of seconds ${limit}, got ${JSON.stringify(text)}`);
  }
  return ms;
}
