/**
 * Cross-process single flight, decided (#12): who may take a lease, and each move of a request in a
 * flight (lead, wait with a bounded back-off, use a newer entry, go alone), as pure functions of `now`.
 */
import { expect } from 'chai';
import { flightPlan, isNewer, nextMove, startWaiting, type Round } from '../../lib/cache/flight.js';
import type { StoredResponse } from '../../lib/cache/freshness.js';
import { aRequest } from '../helpers/fake-next.js';

const T0 = 1_000_000;

function aStored(over: Partial<StoredResponse> = {}): StoredResponse {
  return {
    key: 'http://a.test/feed', status: 200, reason: 'OK', version: 11, headers: Object.assign(Object.create(null), { etag: '"v1"' }),
    vary: Object.create(null), identity: null, requestTime: T0, responseTime: T0, ...over,
  };
}

describe('cross-process single flight, decided (flight.ts)', () => {
  describe('flightPlan: who takes a lease', () => {
    const cases: Array<[string, Parameters<typeof aRequest>, boolean, number, string | null | 'lease']> = [
      ['a GET on a store with a lease', ['http://a.test/'], true, 5000, 'lease'],
      ['a store without a lease: nothing to say', ['http://a.test/'], false, 5000, null],
      ['leaseTtl 0 turns it off', ['http://a.test/'], true, 0, null],
      ['an unsafe method never shares its answer', ['http://a.test/', 'POST', {}, 'x'], true, 5000, null],
      ['RFC 9110 §14: a Range request wants its own part', ['http://a.test/', 'GET', { range: 'bytes=0-1' }], true, 5000, 'single flight: none for a Range request'],
      ['RFC 9111 §5.2.1.5: request no-store', ['http://a.test/', 'GET', { 'cache-control': 'no-store' }], true, 5000, 'single flight: none for a request no-store'],
      ['RFC 9111 §5.2.1.4: request no-cache', ['http://a.test/', 'GET', { 'cache-control': 'no-cache' }], true, 5000, 'single flight: none for a request no-cache'],
      ['RFC 9111 §5.4: Pragma no-cache without Cache-Control', ['http://a.test/', 'GET', { pragma: 'no-cache' }], true, 5000, 'single flight: none for a request no-cache'],
    ];
    for (const [name, req, canLease, ttl, want] of cases) {
      it(name, () => {
        const plan = flightPlan(aRequest(...req), canLease, ttl);
        expect(plan.kind === 'lease' ? 'lease' : plan.reason).to.equal(want);
      });
    }
  });

  describe('startWaiting: how long a follower waits', () => {
    it('the lease time without a timeout', () => expect(startWaiting(T0, 5000, undefined).until).to.equal(T0 + 5000));
    it('at most half the request timeout, so asking alone still has the other half', () => expect(startWaiting(T0, 5000, 3000).until).to.equal(T0 + 1500));
  });

  describe('nextMove', () => {
    const waiting = startWaiting(T0, 5000, undefined);
    const move = (round: Round, now = T0, w = waiting) => nextMove(w, round, now);

    it('leads when it takes the lease at the first round', () => expect(move({ lease: 'acquired', newer: false }).kind).to.equal('lead'));
    it('uses a newer entry rather than lead, even holding the lease', () => expect(move({ lease: 'acquired', newer: true }).kind).to.equal('use'));
    it('goes alone when the store failed', () => expect(move({ lease: 'failed', newer: false })).to.deep.include({ kind: 'go' }));
    it('waits 25, 50, 100, 200, 200 ms between looks (a bounded back-off)', () => {
      const delays: number[] = [];
      let w = waiting;
      for (let i = 0; i < 5; i++) {
        const m = move({ lease: 'held', newer: false }, T0, w);
        if (m.kind !== 'wait') throw new Error(m.kind);
        delays.push(m.delay);
        w = m.next;
      }
      expect(delays).to.deep.equal([25, 50, 100, 200, 200]);
    });
    it('never waits past the end of its wait', () => {
      expect(move({ lease: 'held', newer: false }, T0 + 4990)).to.deep.include({ kind: 'wait', delay: 10 });
      expect(move({ lease: 'held', newer: false }, T0 + 5000)).to.deep.equal({ kind: 'go', reason: "single flight: waited 5000 ms for another process's request: asking the origin" });
    });
    it('after waiting, uses the answer stored, saying it waited', () => {
      expect(move({ lease: 'held', newer: true }, T0 + 130, { ...waiting, round: 3 })).to.deep.equal({
        kind: 'use', reason: "single flight: waited 130 ms for another process's request to the origin: its answer is used",
      });
    });
    it('after waiting, a lease taken means its holder is gone without a newer answer: asks alone, the others do not wait in turn', () => {
      expect(move({ lease: 'acquired', newer: false }, T0 + 1600, { ...waiting, round: 6 })).to.deep.equal({
        kind: 'go', reason: "single flight: after 1600 ms the other process's lease ended without a newer answer: asking the origin",
      });
    });
  });

  describe('isNewer: another entry than the one looked up', () => {
    it('any entry when none was seen', () => expect(isNewer(null, aStored())).to.equal(true));
    it('none found is not newer', () => expect(isNewer(aStored(), null)).to.equal(false));
    it('the same entry is not', () => expect(isNewer(aStored(), aStored())).to.equal(false));
    it('a 304 freshening (new times)', () => expect(isNewer(aStored(), aStored({ responseTime: T0 + 1 }))).to.equal(true));
    it('a new validator', () => expect(isNewer(aStored(), aStored({ headers: Object.assign(Object.create(null), { etag: '"v2"' }) }))).to.equal(true));
    it('a Retry-After remembered', () => expect(isNewer(aStored(), aStored({ notBefore: T0 + 60_000 }))).to.equal(true));
  });
});
