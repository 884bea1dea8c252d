/**
 * A simulated day of a naive poller (every feed every 15 minutes) on one FileCache, restarted twice,
 * checked from the server's log as a feed publisher would (#11). The same day on keyv + SQLite with
 * two processes is spec/stores/polite-day-sqlite.spec.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from '../../lib/index.js';
import { DAY_START, POLLED, RESTARTS, checkTheDay, pollTimes, startFeedFarm, type Seen } from '../helpers/feed-day.js';

describe('a day of polite polling (#11)', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'h2ts-polite-day-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('on one FileCache across two restarts: no wasted request, no invented validator, each version downloaded once', async () => {
    let t = 0;
    const farm = await startFeedFarm(() => t);
    const clock = { now: () => DAY_START + t * 1000 };
    // A store budget no slow disk reaches: what the spec checks must not depend on timing.
    const open = (): Http => new Http(dir, { clock, storeTimeout: 10_000 });
    let http = open();
    const seen: Seen[] = [];
    try {
      for (const [poll, time] of pollTimes().entries()) {
        if (RESTARTS.includes(poll)) {
          await http.close();
          http = open();
        }
        t = time;
        for (const path of POLLED) {
          const [response] = await http.request(farm.url(path));
          seen.push({ path, status: response.status, fromcache: response.fromcache });
        }
      }
    } finally {
      await http.close();
    }
    checkTheDay(farm.log, seen);
  });
});
