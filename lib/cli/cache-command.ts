/**
 * `httplib2-ts cache ls|stats|purge|verify [--cache DIR] [--json]`: a FileCache directory looked at
 * and cleaned through the public inspection API. It never creates the directory it is asked about,
 * and exits as the rest of the CLI: 0 done, 1 a problem found (damaged entries, an unreadable
 * store), 2 bad usage (an unknown verb or option, no or no usable directory).
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { HttpLib2Error, inspectCache, type CacheInspector, type CacheItem, type PurgeOptions } from '../index.js';
import { printable } from '../printable.js';
import { has, lastValue, tokenize, UsageError, valuesOf, type CommandLine, type OptionSpec } from './argv.js';
import { itemJson, itemLine, purgeLine, statsLines, verifyLines } from './cache-format.js';
import { CACHE_ENV, NAME } from './help.js';

const EXIT_OK = 0;
const EXIT_PROBLEM = 1;
const EXIT_USAGE = 2;

const VERBS = ['ls', 'stats', 'purge', 'verify'] as const;
type Verb = (typeof VERBS)[number];

const OPTIONS: readonly OptionSpec[] = [
  { long: 'cache', takesValue: true },
  { long: 'json' },
  { long: 'stale' },
  { long: 'unreadable' },
  { long: 'prefix', takesValue: true },
  { long: 'all' },
  { long: 'help', short: 'h' },
];

/** The `cache --help` text. */
export const CACHE_HELP = `Usage: ${NAME} cache ls|stats|purge|verify [--cache DIR] [--json]

Looks at and cleans an HTTP cache directory (a FileCache), as the library's inspectCache does.

Commands:
  ls       one line per stored answer: status, size, when stored, fresh until (or stale since),
           [identity] for an answer kept for one identity (credentials, a cookie; never whose),
           QUERY for an answer to a QUERY (one per request content; GET is not marked), URI
  stats    how many entries and bytes, how many fresh, stale, for an identity, unreadable
  purge    remove entries; say which:
             --stale        those whose freshness has passed
             --unreadable   damaged files and files that are not entries
             --prefix URI   those whose URI starts with URI (repeatable); with --stale or
                            --unreadable, only those under the prefix
             --all          every entry (the key of the cache's identity digests stays)
  verify   check every entry's checksums; list the damaged ones (exit 1 if there are any)

Options:
      --cache DIR   the cache directory (default: \$${CACHE_ENV}); never created
      --json        print JSON instead of lines (ls: an array; the others: an object)
  -h, --help        print this help

Exit status: 0 done, 1 damaged entries found (verify) or the cache could not be read,
2 bad usage (unknown command or option, no --cache, a directory that does not exist or is unsafe).
`;

/** Runs `httplib2-ts cache ...args`; resolves to the exit status. */
export async function runCacheCommand(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  let line: CommandLine;
  let verb: Verb;
  let inspector: CacheInspector;
  let directory: string;
  try {
    line = tokenize(args, OPTIONS);
    if (has(line, 'help')) {
      process.stdout.write(CACHE_HELP);
      return EXIT_OK;
    }
    verb = verbOf(line);
    directory = directoryOf(line, env);
    inspector = openInspector(directory);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(`${error.message} (see ${NAME} cache --help)`);
    return EXIT_USAGE;
  }
  const json = has(line, 'json');
  try {
    switch (verb) {
      case 'ls':
        return await list(inspector, json);
      case 'stats':
        return await stats(inspector, directory, json);
      case 'purge':
        return await purge(inspector, purgeOptions(line), json);
      case 'verify':
        return await verify(inspector, json);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      say(`${error.message} (see ${NAME} cache --help)`);
      return EXIT_USAGE;
    }
    if (!(error instanceof HttpLib2Error) && !isFsError(error)) throw error;
    say(`cannot read the cache ${directory}: ${(error as Error).message}`);
    return EXIT_PROBLEM;
  }
}

function say(message: string): void {
  process.stderr.write(`${NAME}: ${printable(message)}\n`);
}

function isFsError(error: unknown): boolean {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

function verbOf(line: CommandLine): Verb {
  const [verb, ...extra] = line.positionals;
  if (verb === undefined) throw new UsageError(`cache: say what to do: ${VERBS.join(', ')}`);
  if (!(VERBS as readonly string[]).includes(verb)) throw new UsageError(`cache: unknown command ${verb} (expected ${VERBS.join(', ')})`);
  if (extra.length > 0) throw new UsageError(`cache ${verb}: unexpected argument ${extra[0]}`);
  const purgeOnly = ['stale', 'unreadable', 'prefix', 'all'].filter((name) => has(line, name));
  if (verb !== 'purge' && purgeOnly.length > 0) throw new UsageError(`cache ${verb}: --${purgeOnly[0]} is an option of purge`);
  return verb as Verb;
}

function directoryOf(line: CommandLine, env: NodeJS.ProcessEnv): string {
  const given = lastValue(line, 'cache');
  const dir = typeof given === 'string' ? given : env[CACHE_ENV];
  if (dir === undefined || dir === '') throw new UsageError(`cache: no cache directory: give --cache DIR (or set ${CACHE_ENV})`);
  return resolve(dir);
}

// Inspecting must not create a cache: a mistyped path is said, not made.
function openInspector(directory: string): CacheInspector {
  let info: ReturnType<typeof statSync>;
  try {
    info = statSync(directory, { throwIfNoEntry: false });
  } catch (error) {
    throw new UsageError(`cache: cannot use ${directory}: ${(error as Error).message}`);
  }
  if (info === undefined) throw new UsageError(`cache: no cache directory at ${directory}`);
  if (!info.isDirectory()) throw new UsageError(`cache: ${directory} is not a directory`);
  try {
    return inspectCache(directory);
  } catch (error) {
    // Unsafe (others can write it) or unusable: the message names the directory and the fix.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function purgeOptions(line: CommandLine): PurgeOptions {
  const prefixes = valuesOf(line, 'prefix').map((o) => String(o.value));
  const options: PurgeOptions = {
    ...(has(line, 'stale') ? { stale: true } : {}),
    ...(has(line, 'unreadable') ? { unreadable: true } : {}),
    ...(prefixes.length > 0 ? { prefix: prefixes } : {}),
    ...(has(line, 'all') ? { all: true } : {}),
  };
  if (Object.keys(options).length === 0) throw new UsageError('cache purge: say what to remove: --stale, --unreadable, --prefix URI or --all');
  if (options.all === true && Object.keys(options).length > 1) throw new UsageError('cache purge: --all removes everything and goes alone');
  if (prefixes.some((p) => p === '')) throw new UsageError('cache purge: --prefix needs a URI');
  return options;
}

function out(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

async function list(inspector: CacheInspector, json: boolean): Promise<number> {
  const items: CacheItem[] = [];
  for await (const item of inspector.list()) items.push(item);
  // By URI, unreadable records last: the directory's own order means nothing to a reader.
  items.sort((a, b) => (a.kind === b.kind ? String(a.uri ?? a.location).localeCompare(String(b.uri ?? b.location)) : a.kind === 'entry' ? -1 : 1));
  if (json) out([JSON.stringify(items.map(itemJson), null, 2)]);
  else out(items.map(itemLine));
  return EXIT_OK;
}

async function stats(inspector: CacheInspector, directory: string, json: boolean): Promise<number> {
  const totals = await inspector.totals();
  out(json ? [JSON.stringify({ directory, ...totals }, null, 2)] : statsLines(directory, totals));
  return EXIT_OK;
}

async function purge(inspector: CacheInspector, options: PurgeOptions, json: boolean): Promise<number> {
  const result = await inspector.purge(options);
  out([json ? JSON.stringify(result, null, 2) : purgeLine(result)]);
  return EXIT_OK;
}

async function verify(inspector: CacheInspector, json: boolean): Promise<number> {
  const result = await inspector.verify();
  out(json ? [JSON.stringify({ checked: result.checked, damaged: result.damaged.map(itemJson) }, null, 2)] : verifyLines(result));
  return result.damaged.length > 0 ? EXIT_PROBLEM : EXIT_OK;
}
