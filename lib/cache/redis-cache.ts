/**
 * Opens a Redis cache (keyv + `@keyv/redis`) that fails fast: while Redis is down or unreachable every
 * call fails at once instead of waiting in a queue, the connection is retried in the background
 * with a capped back-off, and a failure reaches the caller instead of passing for a miss or a
 * success. It must never make a request wait for Redis to come back, nor keep the process alive
 * after `disconnect()`.
 */
import type Keyv from 'keyv';
import { HttpLib2Error } from '../errors.js';

/** Options of {@link openRedisCache}. */
export interface RedisCacheOptions {
  /**
   * Milliseconds one connection attempt may take; also how long `openRedisCache` waits for the first
   * connection before resolving anyway (the attempts go on in the background).
   * @default 1000
   */
  connectTimeout?: number;
  /**
   * The longest pause between reconnection attempts, in ms (they start at 100 ms and double).
   * @default 1000
   */
  maxReconnectDelay?: number;
}

const DEFAULT_CONNECT_TIMEOUT = 1000;
const DEFAULT_MAX_RECONNECT_DELAY = 1000;

/**
 * Opens a cache on the Redis server at `url` (`redis[s]://[user:password@]host[:port][/db]`) through
 * `@keyv/redis` (an optional peer dependency), made to fail fast: no offline queue (a command while
 * disconnected fails at once), each connection attempt bounded by `connectTimeout`, reconnection in
 * the background with a back-off capped at `maxReconnectDelay`, and backend errors reported to the
 * cache (which counts them) rather than read as misses. Resolves once connected, or after
 * `connectTimeout` with Redis still unreachable (requests are then answered from the network until
 * it comes). The keys are those of `new Keyv(new KeyvRedis(url))`, so both can share one server.
 * Pass the result to `new Http(keyv)`; call `keyv.disconnect()` when done: it closes at once, even
 * with commands a stopped server never answers.
 *
 * @throws HttpLib2Error (`ERR_CACHE`) when `@keyv/redis` is not installed or `url` is not a Redis URL.
 */
export async function openRedisCache(url: string, options: RedisCacheOptions = {}): Promise<Keyv> {
  const connectTimeout = positive('connectTimeout', options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT);
  const maxDelay = positive('maxReconnectDelay', options.maxReconnectDelay ?? DEFAULT_MAX_RECONNECT_DELAY);
  const [redis, { Keyv: KeyvClass }] = await Promise.all([
    import('@keyv/redis').catch((error: unknown) => {
      throw new HttpLib2Error('openRedisCache needs the package @keyv/redis (npm install @keyv/redis)', { code: 'ERR_CACHE', cause: error });
    }),
    import('keyv'),
  ]);
  let client: ReturnType<typeof redis.createClient>;
  try {
    // @keyv/redis builds its own client with an offline queue and no bound on connect(); and its
    // createKeyvNonBlocking sets reconnectStrategy after the client exists, when node-redis has
    // already read it. So the client is built here, with every option in place from the start.
    client = redis.createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 16), maxDelay),
      },
    });
  } catch (error) {
    throw new HttpLib2Error(`Cannot open the Redis cache: invalid URL ${redactPassword(url)}`, { code: 'ERR_CACHE', cause: error });
  }
  // node-redis emits 'error' on every failed attempt; the adapter and keyv pass it on as an event.
  // The cache counts failures through the rejected calls, so the events need no listener of ours.
  class FailFastKeyvRedis extends redis.default<string> {
    // A graceful close waits for replies a stopped server never sends: close at once instead.
    override async disconnect(): Promise<void> {
      await super.disconnect(true);
    }
  }
  const adapter = new FailFastKeyvRedis(client, { throwOnErrors: true });
  const keyv = new KeyvClass(adapter, { throwOnErrors: true });
  await connected(client.connect(), connectTimeout);
  return keyv as unknown as Keyv;
}

// The first connection, or the end of its time: the attempts go on in the background.
async function connected(connecting: Promise<unknown>, within: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, within);
  });
  await Promise.race([connecting.then(() => undefined, () => undefined), elapsed]);
  clearTimeout(timer);
}

function positive(option: string, value: number): number {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new HttpLib2Error(`Invalid openRedisCache option ${option}: expected a positive number of milliseconds, received ${String(value)}`, {
      code: 'ERR_INVALID_REQUEST',
    });
  }
  return value;
}

function redactPassword(url: string): string {
  return url.replace(/\/\/([^/@]*):[^/@]*@/, '//$1:****@');
}
