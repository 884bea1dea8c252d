/**
 * The text `httplib2-ts cache ...` prints: one line per entry for `ls`, the totals for `stats`, what
 * a purge removed and what a verification found, for people and as JSON. Pure: it formats what the
 * inspector returned and escapes every URI and file name, which come from the store.
 */
import type { CacheItem, CacheTotals, PurgeResult, UnreadableInfo, VerifyResult } from '../cache/inspect.js';
import { printable } from '../printable.js';
import { formatBytes } from './progress.js';

/** `2026-12-01 10:00:00Z`: to the second, in UTC, sortable. */
function when(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** One `ls` line: status, size, when stored, freshness, identity marker, method when not GET, URI. */
export function itemLine(item: CacheItem): string {
  const size = formatBytes(item.size).padStart(9);
  if (item.kind === 'unreadable') {
    const where = item.location ?? item.uri ?? '?';
    return `--- ${size}  unreadable: ${item.problem}  ${printable(where)}${item.uri !== null && item.location !== null ? `  (${printable(item.uri)})` : ''}`;
  }
  const freshness = item.freshUntil === null ? 'never stale' : `${item.stale ? 'stale since' : 'fresh until'} ${when(item.freshUntil)}`;
  return `${item.status} ${size}  stored ${when(item.storedAt)}  ${freshness.padEnd(32)}  ${item.identified ? '[identity] ' : ''}${item.method === 'GET' ? '' : `${item.method} `}${printable(item.uri)}`;
}

/** An item as JSON: dates as ISO strings. */
export function itemJson(item: CacheItem): Record<string, unknown> {
  if (item.kind === 'unreadable') return { ...item };
  return { ...item, storedAt: item.storedAt.toISOString(), freshUntil: item.freshUntil?.toISOString() ?? null };
}

/** The `stats` lines. */
export function statsLines(directory: string, t: CacheTotals): string[] {
  return [
    `cache ${printable(directory)}`,
    `entries: ${t.entries.toLocaleString('en-US')}, ${formatBytes(t.bytes)} (${t.bytes.toLocaleString('en-US')} bytes)`,
    `  fresh ${t.fresh.toLocaleString('en-US')}, stale ${t.stale.toLocaleString('en-US')}, for an identity ${t.identified.toLocaleString('en-US')}`,
    `unreadable: ${t.unreadable.toLocaleString('en-US')}${t.unreadable > 0 ? `, ${formatBytes(t.unreadableBytes)} (httplib2-ts cache verify lists them)` : ''}`,
  ];
}

/** What a purge did, in one line. */
export function purgeLine(result: PurgeResult): string {
  return `removed ${plural(result.removed, 'record')}, ${formatBytes(result.bytes)}`;
}

function damagedLine(item: UnreadableInfo): string {
  const names = [item.location, item.uri].filter((x): x is string => x !== null).map(printable);
  return `damaged: ${names.join('  ') || '?'}: ${item.problem}`;
}

/** What a verification found: a summary line, then one line per damaged record. */
export function verifyLines(result: VerifyResult): string[] {
  if (result.damaged.length === 0) return [`checked ${plural(result.checked, 'record')}: all intact`];
  return [
    `checked ${plural(result.checked, 'record')}: ${result.damaged.length.toLocaleString('en-US')} damaged (httplib2-ts cache purge --unreadable removes them)`,
    ...result.damaged.map(damagedLine),
  ];
}
