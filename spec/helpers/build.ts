/**
 * The built package (`dist/`), as users run it: the CLI specs, the examples and the CommonJS spec use
 * it. Built once per run when missing or older than a source file (`npm ci` builds through `prepare`).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function build(): Promise<void> {
  const built = join(ROOT, 'dist', 'index.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(ROOT, 'lib'))) return;
  // tsc still emits when some other file has a type error; the typecheck step reports those.
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT })
    .catch(() => undefined);
  if (!existsSync(built) || statSync(built).mtimeMs < newestMtime(join(ROOT, 'lib'))) {
    throw new Error('npm run build did not produce an up-to-date dist/index.js');
  }
}

let building: Promise<void> | undefined;
/** Resolves once `dist/` is built from the current sources. */
export function ensureBuilt(): Promise<void> {
  building ??= build();
  return building;
}
