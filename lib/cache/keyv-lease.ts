/**
 * Single-flight leases for keyv stores whose adapter can hold one, through the adapter itself: a row
 * with an expiry in a table of its own beside keyv's (SQLite, `@keyv/sqlite`), or a key set with
 * `SET NX PX` and released by a compare-and-delete script (Redis, `@keyv/redis`). Lease names are
 * digests, never the request in clear, and never keyv entries, so listings never show them. Any
 * other adapter has no lease (null).
 */
import { leaseDigest, newLeaseToken, type LeaseStore } from './lease.js';

/** The part of `@keyv/sqlite`'s adapter a lease uses. */
interface SqliteAdapter {
  readonly opts: { readonly dialect?: unknown; readonly table?: unknown };
  query(sql: string, ...parameters: unknown[]): Promise<unknown>;
}

/** The part of a node-redis client (what `@keyv/redis` holds) a lease uses. */
interface RedisClient {
  set(key: string, value: string, options: { NX: true; PX: number }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** The part of `@keyv/redis`'s adapter a lease uses. */
interface RedisAdapter {
  readonly client: RedisClient;
  /** The client connected, as the adapter's own calls get it. */
  getClient?: () => Promise<RedisClient>;
}

/**
 * The lease of the keyv store `keyv` (a `Keyv`), or null when its adapter is neither SQLite nor
 * Redis. `namespace` (keyv's) keeps leases of caches that share a server or file apart.
 */
export function keyvLeases(keyv: unknown): LeaseStore | null {
  const k = keyv as { opts?: { store?: unknown }; namespace?: unknown } | null;
  const adapter = k?.opts?.store;
  const namespace = typeof k?.namespace === 'string' ? k.namespace : '';
  if (isSqlite(adapter)) return new SqliteLeases(adapter, `${String(adapter.opts.table ?? '')}\n${namespace}`);
  if (isRedis(adapter)) return new RedisLeases(adapter, namespace);
  return null;
}

function isSqlite(adapter: unknown): adapter is SqliteAdapter {
  const a = adapter as Partial<SqliteAdapter> | null | undefined;
  return typeof a?.query === 'function' && a.opts?.dialect === 'sqlite';
}

function isRedis(adapter: unknown): adapter is RedisAdapter {
  const client = (adapter as Partial<RedisAdapter> | null | undefined)?.client as Partial<RedisClient> | undefined;
  return typeof client?.set === 'function' && typeof client.eval === 'function';
}

// Its own table, so keyv's (listed by inspection, cleared by keyv.clear()) never holds a lease.
const TABLE = 'h2ts_leases';
const CREATE = `CREATE TABLE IF NOT EXISTS ${TABLE} (key TEXT PRIMARY KEY, token TEXT NOT NULL, expires INTEGER NOT NULL)`;
// One statement takes a free or expired lease and says whether it did (SQLite 3.35 RETURNING): a
// row that is held keeps its holder, and no row comes back.
const TAKE = `INSERT INTO ${TABLE} (key, token, expires) VALUES (?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE ${TABLE}.expires <= ?
  RETURNING token`;
const GIVE_BACK = `DELETE FROM ${TABLE} WHERE key = ? AND token = ?`;
const SWEEP = `DELETE FROM ${TABLE} WHERE expires <= ?`;

/** Leases as rows of a SQLite file every process opens. */
class SqliteLeases implements LeaseStore {
  readonly #adapter: SqliteAdapter;
  readonly #scope: string;
  #ready: Promise<unknown> | null = null;

  constructor(adapter: SqliteAdapter, scope: string) {
    this.#adapter = adapter;
    this.#scope = scope;
  }

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    await this.#table();
    const token = newLeaseToken();
    const now = Date.now();
    const rows = await this.#adapter.query(TAKE, leaseDigest(key, this.#scope), token, now + ttlMs, now);
    return Array.isArray(rows) && rows.length === 1 && (rows[0] as { token?: unknown }).token === token ? token : null;
  }

  async release(key: string, token: string): Promise<void> {
    await this.#table();
    await this.#adapter.query(GIVE_BACK, leaseDigest(key, this.#scope), token);
  }

  // Made once per store (and the leases of processes that died swept); tried again after a failure.
  #table(): Promise<unknown> {
    this.#ready ??= this.#adapter.query(CREATE).then(() => this.#adapter.query(SWEEP, Date.now())).catch((error: unknown) => {
      this.#ready = null;
      throw error;
    });
    return this.#ready;
  }
}

// Deletes the lease only while it still holds the caller's token (atomic on the server).
const RELEASE_SCRIPT = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

/** Leases as Redis keys that expire on the server (so its clock, not the callers', ends them). */
class RedisLeases implements LeaseStore {
  readonly #adapter: RedisAdapter;
  readonly #namespace: string;

  constructor(adapter: RedisAdapter, namespace: string) {
    this.#adapter = adapter;
    this.#namespace = namespace;
  }

  async acquire(key: string, ttlMs: number): Promise<string | null> {
    const token = newLeaseToken();
    const client = await this.#client();
    const reply = await client.set(this.#name(key), token, { NX: true, PX: Math.max(1, Math.ceil(ttlMs)) });
    return reply === 'OK' ? token : null;
  }

  async release(key: string, token: string): Promise<void> {
    const client = await this.#client();
    await client.eval(RELEASE_SCRIPT, { keys: [this.#name(key)], arguments: [token] });
  }

  #client(): Promise<RedisClient> {
    return typeof this.#adapter.getClient === 'function' ? this.#adapter.getClient() : Promise.resolve(this.#adapter.client);
  }

  #name(key: string): string {
    return `h2ts-lease:${leaseDigest(key, this.#namespace)}`;
  }
}
