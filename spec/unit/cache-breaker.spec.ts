import { expect } from 'chai';
import { admit, afterCall, BREAKER_SETTINGS, CLOSED, type Breaker } from '../../lib/cache/breaker.js';

const FAIL = { ok: false, probe: false };
const OK = { ok: true, probe: false };

/** The breaker after `n` failed calls admitted while closed, at `now`. */
function failed(n: number, now = 0): Breaker {
  let state = CLOSED;
  for (let i = 0; i < n; i++) state = afterCall(state, FAIL, now).next;
  return state;
}

describe('the store circuit breaker (#19)', () => {
  it('admits every call while closed', () => {
    expect(admit(CLOSED, 0)).to.deep.equal({ kind: 'call', probe: false, next: CLOSED });
    expect(admit(failed(2), 0).kind).to.equal('call');
  });

  it('opens after three failures in a row, for one second', () => {
    expect(failed(2)).to.deep.equal({ kind: 'closed', failures: 2 });
    const outcome = afterCall(failed(2), FAIL, 5000);
    expect(outcome).to.deep.equal({
      next: { kind: 'open', failures: 3, skipped: 0, round: 0, until: 6000 },
      change: 'opened',
      skipFor: 1000,
    });
  });

  it('forgets failures once a call succeeds', () => {
    expect(afterCall(failed(2), OK, 0)).to.deep.equal({ next: CLOSED, change: null, skipFor: 0 });
    expect(failed(2)).to.not.deep.equal(failed(3));
  });

  it('skips calls during the back-off, counting them and saying when the next try is', () => {
    const open = failed(3, 1000);
    const first = admit(open, 1200);
    expect(first).to.deep.include({ kind: 'skip', failures: 3, skipped: 1, retryIn: 800 });
    const second = admit(first.next, 1900);
    expect(second).to.deep.include({ kind: 'skip', skipped: 2, retryIn: 100 });
  });

  it('lets one probe through when the back-off is over, and skips the others while it runs', () => {
    const open = failed(3, 0);
    const probe = admit(open, 1000);
    expect(probe).to.deep.equal({ kind: 'call', probe: true, next: { kind: 'probing', failures: 3, skipped: 0, round: 0 } });
    expect(admit(probe.next, 1001)).to.deep.include({ kind: 'skip', retryIn: 0 });
  });

  it('closes when the probe (or any call) succeeds: the store is used again at once', () => {
    const probing = admit(failed(3, 0), 1000).next;
    expect(afterCall(probing, { ok: true, probe: true }, 1010)).to.deep.equal({ next: CLOSED, change: 'closed', skipFor: 0 });
    expect(afterCall(failed(3, 0), OK, 500).change).to.equal('closed');
  });

  it('doubles the back-off after each failed probe, up to four seconds', () => {
    let state = failed(3, 0);
    let now = 0;
    const periods: number[] = [];
    for (let i = 0; i < 5; i++) {
      now = (state as { until: number }).until;
      const probing = admit(state, now).next;
      const outcome = afterCall(probing, { ok: false, probe: true }, now);
      expect(outcome.change).to.equal('reopened');
      periods.push(outcome.skipFor);
      state = outcome.next;
    }
    expect(periods).to.deep.equal([2000, 4000, 4000, 4000, 4000]);
    expect(BREAKER_SETTINGS.maxBackoff).to.equal(4000);
  });

  it('ignores the failure of a call that was in flight before the breaker opened', () => {
    const open = failed(3, 0);
    expect(afterCall(open, FAIL, 10)).to.deep.equal({ next: open, change: null, skipFor: 0 });
    const probing = admit(open, 1000).next;
    expect(afterCall(probing, FAIL, 1001).next).to.equal(probing);
  });

  it('returns new states and never changes the one it was given', () => {
    const open = Object.freeze(failed(3, 0));
    admit(open, 10);
    admit(open, 5000);
    afterCall(open, OK, 10);
    expect(open).to.deep.equal({ kind: 'open', failures: 3, skipped: 0, round: 0, until: 1000 });
  });
});
