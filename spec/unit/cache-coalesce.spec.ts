/**
 * Request coalescing (lib/cache/coalesce.ts): identical requests in flight share one upstream
 * exchange, and each caller waits under its own signal.
 */
import { expect } from 'chai';
import { flightKey, Flights } from '../../lib/cache/coalesce.js';
import { AbortError, RequestTimeout } from '../../lib/errors.js';
import { rejection } from '../helpers/rejection.js';

/** A start function settled by hand, counting how often it was started. */
function aStart<T>() {
  let starts = 0;
  const settlers: Array<{ resolve(value: T): void; reject(error: Error): void }> = [];
  const start = (): Promise<T> => {
    starts++;
    return new Promise<T>((resolve, reject) => settlers.push({ resolve, reject }));
  };
  return { start, starts: () => starts, settle: (n: number) => settlers[n]! };
}

function headers(h: Record<string, string>): Record<string, string> {
  return Object.assign(Object.create(null), h);
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('request coalescing (Flights)', () => {
  it('starts one exchange per key in flight: joiners get the very same value', async () => {
    const flights = new Flights<object>();
    const { start, starts, settle } = aStart<object>();
    const lead = flights.run('k', null, start);
    const joined = flights.run('k', null, start);
    expect([lead.joined, joined.joined, starts(), flights.size]).to.deep.equal([false, true, 1, 1]);
    const value = {};
    settle(0).resolve(value);
    expect(await lead.done).to.equal(value);
    expect(await joined.done).to.equal(value);
  });

  it('runs other keys on their own', () => {
    const flights = new Flights<string>();
    const { start, starts } = aStart<string>();
    flights.run('a', null, start);
    expect(flights.run('b', null, start).joined).to.equal(false);
    expect([starts(), flights.size]).to.deep.equal([2, 2]);
  });

  it("gives joiners the leader's rejection", async () => {
    const flights = new Flights<string>();
    const { start, settle } = aStart<string>();
    const lead = flights.run('k', null, start);
    const joined = flights.run('k', null, start);
    const failure = new Error('ECONNRESET');
    settle(0).reject(failure);
    expect(await rejection(lead.done)).to.equal(failure);
    expect(await rejection(joined.done)).to.equal(failure);
  });

  it("ends a joiner's wait at its own abort, with its reason, and leaves the leader running", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): number => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const flights = new Flights<string>();
      const { start, settle } = aStart<string>();
      const lead = flights.run('k', null, start);
      const controller = new AbortController();
      const joined = flights.run('k', controller.signal, start);
      const reason = new AbortError('Request aborted by the caller');
      controller.abort(reason);
      expect(await rejection(joined.done)).to.equal(reason);
      settle(0).reject(new Error('late failure'));
      expect((await rejection<Error>(lead.done)).message).to.equal('late failure');
      await tick();
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it("starts on the joiner's own account when the leader's own deadline ended the flight", async () => {
    const flights = new Flights<string>();
    const { start, starts, settle } = aStart<string>();
    const leaderDeadline = new AbortController();
    const lead = flights.run('k', leaderDeadline.signal, start);
    const joined = flights.run('k', null, start);
    const timeout = new RequestTimeout('Request timed out after 10 ms');
    leaderDeadline.abort(timeout);
    settle(0).reject(timeout);
    expect(await rejection(lead.done)).to.equal(timeout);
    await tick();
    expect(starts()).to.equal(2);
    settle(1).resolve('own answer');
    expect(await joined.done).to.equal('own answer');
  });

  it('frees the key once the flight settles, also after a start that throws at once', async () => {
    const flights = new Flights<string>();
    const { start, settle } = aStart<string>();
    const lead = flights.run('k', null, start);
    settle(0).resolve('done');
    await lead.done;
    await tick();
    expect(flights.size).to.equal(0);
    expect(flights.run('k', null, start).joined).to.equal(false);

    const broken = new Flights<string>();
    const thrown = broken.run('k', null, () => {
      throw new TypeError('not a function');
    });
    expect((await rejection<Error>(thrown.done)).message).to.equal('not a function');
    await tick();
    expect(broken.size).to.equal(0);
  });

  describe('flightKey', () => {
    it('tells requests apart by their header fields, in any order', () => {
      const a = flightKey('http://a.test/', headers({ accept: 'text/html', 'accept-language': 'en' }));
      expect(flightKey('http://a.test/', headers({ 'accept-language': 'en', accept: 'text/html' }))).to.equal(a);
      expect(flightKey('http://a.test/', headers({ accept: 'application/json', 'accept-language': 'en' }))).to.not.equal(a);
      expect(flightKey('http://b.test/', headers({ accept: 'text/html', 'accept-language': 'en' }))).to.not.equal(a);
    });

    it('holds no credential or cookie: the store key already tells identities apart', () => {
      const key = flightKey('http://a.test/ user:joe', headers({ authorization: 'Basic c2VjcmV0', cookie: 'sid=s3cr3t', 'x-wsse': 'UsernameToken x' }));
      expect(key).to.not.match(/c2VjcmV0|s3cr3t|UsernameToken/);
    });
  });
});
