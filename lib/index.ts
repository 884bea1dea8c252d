/**
 * The public surface of httplib2-ts: re-exports only.
 */
export { Http } from './http.js';
export type { RequestOptions } from './request.js';
export type { HeadersInput } from './headers.js';
export type { HttpOptions } from './options.js';
export type { WireObserver, SentHead, ReceivedHead } from './debug.js';
export type { RequestStartMessage, RequestEndMessage, RequestErrorMessage } from './events.js';
export { Response, type ResponseInit, type CacheOutcome, type CacheOutcomeKind, type CacheDetail, type Timings } from './response.js';
export { ProxyInfo, type ProxyInfoInit, type ProxyProtocol } from './transport/proxy.js';
export type { CacheStore } from './cache/store.js';
export { FileCache, type FileCacheOptions, type SafeName } from './cache/file-cache.js';
export { MemoryCache, type MemoryCacheOptions } from './cache/memory-cache.js';
export { safename } from './cache/safename.js';
export { openSqliteCache, type SqliteCacheOptions } from './cache/keyv-store.js';
export { openRedisCache, type RedisCacheOptions } from './cache/redis-cache.js';
export {
  inspectCache,
  type CacheInspector,
  type CacheItem,
  type CacheTotals,
  type EntryInfo,
  type InspectOptions,
  type ListableStore,
  type PurgeOptions,
  type PurgeResult,
  type RecordRef,
  type StoredRecord,
  type UnreadableInfo,
  type VerifyResult,
} from './cache/inspect.js';
export {
  HttpLib2Error,
  HttpLib2ErrorWithResponse,
  RedirectMissingLocation,
  RedirectLimit,
  ServerNotFoundError,
  RelativeURIError,
  FailedToDecompressContent,
  UnimplementedDigestAuthOptionError,
  UnimplementedHmacDigestAuthOptionError,
  RequestTimeout,
  ProxyError,
  ConnectionError,
  TlsError,
  AbortError,
  type ErrorCode,
  type CarriedResponse,
} from './errors.js';
