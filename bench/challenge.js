// Parse time of hostile 64 KiB WWW-Authenticate values (the httplib2 CVE-2021-21240 shapes):
// `node bench/challenge.js` after `npm run build`. The parser is one forward scan, so every shape
// should take a fraction of a millisecond; a backtracking parser takes seconds to minutes.
import { performance } from 'node:perf_hooks';

const { parseChallenges, MAX_CHALLENGE_LENGTH } = await import('../dist/auth/challenge.js');

const fill = (prefix, unit) => (prefix + unit.repeat(Math.ceil(MAX_CHALLENGE_LENGTH / unit.length))).slice(0, MAX_CHALLENGE_LENGTH);
const cases = {
  'many parameters': fill('Digest ', 'a=b, '),
  'unterminated quoted string of escapes': fill('Digest realm="', '\\"'),
  'only commas and spaces': fill('', ', '),
  'one long token': fill('', 'a'),
  'many schemes': fill('', 'a '),
  'many challenges': fill('', 'Basic realm="x", '),
  'runs of "=" after a scheme': fill('Foo a', '='),
  'alternating quotes and backslashes': fill('X a=', '"\\'),
  'escaped backslashes in a quoted string': fill('X a="', '\\\\'),
  'token68 look-alikes': fill('Foo ', 'ab/+= '),
};

console.log(`WWW-Authenticate parse of ${MAX_CHALLENGE_LENGTH}-character hostile values (best and median of 50 runs)`);
console.log(`${'shape'.padEnd(42)} ${'best ms'.padStart(9)} ${'median ms'.padStart(10)}`);
for (const [name, value] of Object.entries(cases)) {
  parseChallenges(value);
  const times = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    parseChallenges(value);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(42)} ${times[0].toFixed(3).padStart(9)} ${times[25].toFixed(3).padStart(10)}`);
}
