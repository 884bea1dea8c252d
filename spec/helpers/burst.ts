/**
 * Child process for the burst spec: fires `count` GETs at once at `origin` with a default Http and
 * prints, as one JSON line, how many answered each status and how many failed with each error code.
 * Run under a lowered `ulimit -n`, so running out of file descriptors shows up as failures.
 *   node --import tsx spec/helpers/burst.ts <origin> <count>
 */
import { Http } from '../../lib/index.js';

const [origin = '', count = '0'] = process.argv.slice(2);
const http = new Http(null, { proxyInfo: null });
const outcomes = await Promise.allSettled(Array.from({ length: Number(count) }, (_, i) => http.request(`${origin}/burst/${i}`)));
const tally: Record<string, number> = {};
for (const o of outcomes) {
  const key = o.status === 'fulfilled' ? String(o.value[0].status) : String((o.reason as { code?: string }).code ?? o.reason);
  tally[key] = (tally[key] ?? 0) + 1;
}
await http.close();
process.stdout.write(`${JSON.stringify(tally)}\n`);
