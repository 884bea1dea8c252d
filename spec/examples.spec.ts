import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

// The examples import 'httplib2-ts', which resolves to the built dist/: build first when dist is
// missing or older than a source file (`npm ci` builds through `prepare`).
const run = promisify(execFile);
const ROOT = process.cwd();

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function ensureBuilt(): Promise<void> {
  const built = join(ROOT, 'dist', 'index.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(ROOT, 'lib'))) return;
  // tsc still emits when some other file has a type error; the typecheck step reports those.
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT }).catch(() => undefined);
  if (!existsSync(built)) throw new Error('npm run build did not produce dist/index.js');
}

async function example(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(ROOT, 'examples', name)], { cwd: ROOT, timeout: 15_000 });
  return stdout;
}

describe('examples', function () {
  this.timeout(60_000);
  before(ensureBuilt);

  it('digest-auth.js posts two Atom entries through Digest, the second pre-emptively', async () => {
    const out = await example('digest-auth.js');
    expect(out).to.equal(
      [
        'POST Hello, Digest',
        '  server: POST /blog/entries → 401, challenge sent',
        '  server: POST /blog/entries → 201 (Digest from joe, nonce count 00000001)',
        '  client: 201 Created, Location: /blog/entries/1',
        'POST A second entry',
        '  server: POST /blog/entries → 201 (Digest from joe, nonce count 00000002)',
        '  client: 201 Created, Location: /blog/entries/2',
        '',
      ].join('\n'),
    );
  });
});
