#!/usr/bin/env node
/**
 * The `httplib2-ts` command: one request through the public `Http` API with curl-style flags; the body
 * goes to stdout (or -o FILE), heads and notices to stderr. It parses, prints, and maps the outcome to
 * an exit status (0 answer, 1 HTTP error, 2 bad usage, 3 network failure); every HTTP decision
 * (cache, redirects, auth, decoding) stays in the library.
 */
import { writeFile } from 'node:fs/promises';
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
import { has, parseCommandLine, toInvocation, UsageError, type Invocation } from './cli/args.js';
import { runCacheCommand } from './cli/cache-command.js';
import { cacheLine, cacheNotice, cachedHeadLines, receivedLines, requestedUrl, storeFailureNotice } from './cli/format.js';
import { HELP, NAME, version } from './cli/help.js';
import { ProgressBar } from './cli/progress.js';
import { WireView } from './cli/wire.js';
import { printable } from './printable.js';

const EXIT_OK = 0;
const EXIT_HTTP_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_NETWORK = 3;

/**
 * Writes to stderr, prefixed so the line is recognisable among the body's output. Messages quote the
 * server (reason phrases, URLs, error texts): their control characters are escaped.
 */
function say(message: string): void {
  process.stderr.write(`${NAME}: ${printable(message)}\n`);
}

/** A notice (cache, 304): silenced by -s. */
function notice(inv: Invocation, message: string): void {
  if (!inv.silent) say(message);
}

/** An error line: silenced by -s unless -S asks for errors, as curl's -sS. */
function complain(inv: Invocation, message: string): void {
  if (!inv.silent || inv.showError) say(message);
}

function openHttp(inv: Invocation, wire: WireView): Http {
  try {
    return new Http(inv.cacheDir, {
      wireObserver: wire,
      ...(inv.timeout === undefined ? {} : { timeout: inv.timeout }),
      ...(inv.insecure ? { disableSslCertificateValidation: true } : {}),
    });
  } catch (error) {
    // The only argument that can be refused here is the cache directory (unwritable, not a directory).
    throw new UsageError(`cannot use the cache directory ${inv.cacheDir}: ${(error as Error).message}`);
  }
}

async function run(inv: Invocation): Promise<number> {
  const wire = new WireView(inv.verbose, (text) => process.stderr.write(text));
  const http = openHttp(inv, wire);
  http.followRedirects = inv.followRedirects;
  if (inv.user) http.addCredentials(inv.user.name, inv.user.password);
  const progress = inv.silent ? null : ProgressBar.forStream(process.stderr);
  try {
    const [response, content] = await http.request(inv.url, {
      method: inv.method,
      body: inv.body,
      headers: inv.headers,
      ...(progress ? { onProgress: progress.update } : {}),
    });
    // Taken now: a background revalidation may still reach the wire after the answer is in hand.
    const received = wire.heads;
    progress?.finish();
    if (inv.verbose) process.stderr.write(`* ${inv.cacheDir === null ? 'cache: none (no --cache)' : printable(cacheLine(response))}\n`);
    return await report(inv, response, content, inv.include ? includedHead(inv, response, received) : null);
  } catch (error) {
    progress?.abandon();
    return failure(error, inv);
  } finally {
    await http.close();
  }
}

/**
 * The -i head, as curl -iL prints it: every response head received, redirects and challenges
 * included, each followed by a blank line; when the cache answered, its head comes last.
 */
function includedHead(inv: Invocation, response: Response, received: WireView['heads']): Buffer {
  const blocks = received.map((head) => receivedLines(head));
  if (response.fromcache || blocks.length === 0) blocks.push(cachedHeadLines(response, requestedUrl(response, inv.url)));
  // The head is text from the server, escaped; the body that follows is written byte for byte.
  return Buffer.from(blocks.map((lines) => `${lines.map(printable).join('\n')}\n\n`).join(''));
}

async function report(inv: Invocation, response: Response, content: Buffer, head: Buffer | null): Promise<number> {
  const cache = cacheNotice(response);
  if (cache) notice(inv, cache);
  const unkept = inv.cacheDir === null ? null : storeFailureNotice(response, inv.cacheDir);
  if (unkept) notice(inv, unkept);
  const failed = response.status >= 400;
  // -f: a server error prints nothing but its line, so a script never takes an error page for data.
  const out = inv.fail && failed ? Buffer.alloc(0) : head ? Buffer.concat([head, content]) : content;
  if (inv.output) {
    try {
      if (!(inv.fail && failed)) await writeFile(inv.output, out);
    } catch (error) {
      complain(inv, `cannot write -o ${inv.output}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
  } else if (isBinaryForTerminal(inv, content)) {
    if (head) process.stdout.write(head);
    complain(inv, 'binary output can mess up the terminal: not written; use -o FILE to save it, or -o - to print it anyway');
    return EXIT_USAGE;
  } else if (out.length > 0) {
    process.stdout.write(out);
  }
  if (failed) {
    complain(inv, `HTTP ${response.status}${response.reason ? ` ${response.reason}` : ''} from ${response.get('content-location') ?? inv.url.href}`);
    return EXIT_HTTP_ERROR;
  }
  return EXIT_OK;
}

/**
 * A body bound for a terminal that holds a NUL byte, which text never does: curl's test. Escape codes
 * in such bytes could rewrite the screen, so it is written only when `-o -` asks for stdout.
 */
function isBinaryForTerminal(inv: Invocation, content: Buffer): boolean {
  return process.stdout.isTTY === true && !inv.explicitStdout && !inv.fail && content.includes(0);
}

/** One clear line for a failed request, and its exit status. */
function failure(error: unknown, inv: Invocation): number {
  if (!(error instanceof HttpLib2Error)) {
    complain(inv, `unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    if (inv.verbose && error instanceof Error && error.stack) process.stderr.write(`${printable(error.stack).replace(/\\x0a/g, '\n')}\n`);
    return EXIT_NETWORK;
  }
  complain(inv, error.message);
  if (inv.verbose && error.cause instanceof Error) process.stderr.write(`* cause: ${printable(error.cause.message)}\n`);
  if (error instanceof RelativeURIError || error.code === 'ERR_INVALID_REQUEST') return EXIT_USAGE;
  const network = [ConnectionError, TlsError, RequestTimeout, ServerNotFoundError, ProxyError];
  if (network.some((kind) => error instanceof kind)) return EXIT_NETWORK;
  return error.response ? EXIT_HTTP_ERROR : EXIT_NETWORK;
}

async function main(argv: string[]): Promise<number> {
  // The cache verbs (#12); a host named `cache` is still reachable as http://cache/.
  if (argv[0] === 'cache') return runCacheCommand(argv.slice(1), process.env);
  try {
    const parsed = parseCommandLine(argv);
    if (has(parsed, 'help')) {
      process.stdout.write(HELP);
      return EXIT_OK;
    }
    if (has(parsed, 'version')) {
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
