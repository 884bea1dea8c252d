/**
 * Fixtures for cache specs: a Map-backed store that counts writes, a clock tests move by hand, and a
 * routed loopback server whose answers are dated by that clock (Node would otherwise add a real Date).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Http, type CacheStore } from '../../lib/index.js';
import { startServer, type Recorded, type TestServer } from './server.js';

/** A plain Map store; `sets`/`deletes` count calls. */
export class MapStore implements CacheStore {
  readonly map = new Map<string, Buffer>();
  sets = 0;
  deletes = 0;
  get(key: string): Buffer | undefined {
    return this.map.get(key);
  }
  set(key: string, value: Buffer): void {
    this.sets++;
    this.map.set(key, value);
  }
  delete(key: string): void {
    this.deletes++;
    this.map.delete(key);
  }
}

/** A clock at a fixed instant; `advance(seconds)` is the only way time moves. */
export interface TestClock {
  now(): number;
  advance(seconds: number): void;
}

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

export function aClock(start = T0): TestClock {
  let t = start;
  return { now: () => t, advance: (s) => void (t += s * 1000) };
}

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown;

export interface RoutedServer extends TestServer {
  /** Answers `path` (path and query, as received) with `route`. */
  route(path: string, route: Route): string;
  /** Requests received for `path`. */
  hits(path: string): Recorded[];
}

/** A loopback server; unknown paths answer 404. */
export async function startRoutedServer(): Promise<RoutedServer> {
  const routes = new Map<string, Route>();
  const server = await startServer((req, res, body) => {
    const route = routes.get(req.url ?? '');
    if (!route) {
      res.writeHead(404);
      res.end('no route');
      return;
    }
    return route(req, res, body);
  });
  return Object.assign(server, {
    route(path: string, route: Route): string {
      routes.set(path, route);
      return server.url(path);
    },
    hits(path: string): Recorded[] {
      return server.requests.filter((r) => r.url === path);
    },
  });
}

/**
 * Three identical GETs of `p` sent while its answer (200, max-age=60, 'one') is held back until the
 * first has reached the server, so the other two join it in flight.
 */
export async function threeInOneFlight(server: RoutedServer, clock: TestClock, http: Http, p: string): Promise<Awaited<ReturnType<Http['request']>>[]> {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const url = server.route(p, (_req, res) => void held.then(() => reply(res, clock, 200, { 'cache-control': 'max-age=60' }, 'one')));
  const asked = [http.request(url), http.request(url), http.request(url)];
  while (server.hits(p).length === 0) await new Promise((resolve) => setImmediate(resolve));
  release();
  return Promise.all(asked);
}

/** Writes a whole answer dated by `clock` (pass `date: ''` to send none). */
export function reply(res: ServerResponse, clock: TestClock, status: number, headers: Record<string, string> = {}, body: string | Buffer = ''): void {
  res.sendDate = false;
  const h: Record<string, string> = { date: new Date(clock.now()).toUTCString(), ...headers };
  if (h['date'] === '') delete h['date'];
  res.writeHead(status, h);
  res.end(body);
}

/** What a cache spec works with in one test: made afresh before it by {@link cacheSuite}. */
export interface CacheFixture {
  /** The suite's routed server, started once for the whole suite. */
  readonly server: RoutedServer;
  /** A clock at {@link T0}. */
  readonly clock: TestClock;
  /** An empty store. */
  readonly store: MapStore;
  /** An Http on `store` and `clock`, closed after the test. */
  readonly http: Http;
}

/**
 * The setup the cache specs share, as hooks of the enclosing `describe`: a routed server started
 * before its first test, and before each test a new {@link CacheFixture} handed to `use` (which keeps
 * what it needs in the suite's own variables); the fixture's Http is closed after the test. Returns
 * `path(name)`: `/<name>-<n>`, a path no other test of the suite has used, so tests never share a route.
 */
export function cacheSuite(use: (fixture: CacheFixture) => void): { path(name: string): string } {
  let server: RoutedServer;
  let http: Http | null = null;
  let n = 0;
  before(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => {
    const clock = aClock();
    const store = new MapStore();
    http = new Http(store, { clock });
    use({ server, clock, store, http });
  });
  afterEach(() => http?.close());
  return { path: (name) => `/${name}-${++n}` };
}
