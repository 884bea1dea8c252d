/**
 * The CLI's command line: parsed and validated into an `Invocation` before anything is sent. A
 * mistake is a `UsageError` (exit 2) whose message names the option and what it expects.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MAX_TIMER_MS } from '../options.js';
import { CACHE_ENV, NAME, version } from './help.js';

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
export class UsageError extends Error {}

/** Everything the command line asked for, validated. */
export interface Invocation {
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

export type Parsed = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true; tokens: true }>>;

export function parseCommandLine(argv: string[]): Parsed {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export async function toInvocation(parsed: Parsed, env: NodeJS.ProcessEnv): Promise<Invocation> {
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

