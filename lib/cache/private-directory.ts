/**
 * The directory a cache lives in: made private (0700) when the library creates it, and refused when
 * someone else could write into it, as Git (`safe.directory`) and OpenSSH (`StrictModes`) refuse
 * such places: an entry planted there would be served as if this process had stored it, and its
 * checksum proves nothing (the planter computes it too). It must never accept such a directory
 * unless the caller asked to, and never loop on a path mkdir cannot make.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HttpLib2Error } from '../errors.js';

/** The mode of a directory the library creates: only its owner may enter, list or write it. */
export const DIRECTORY_MODE = 0o700;

// Node's recursive mkdir never returns where mkdir(2) answers ENOENT although the parent exists
// (`/proc/self/x`: it creates the parent, finds it there, and starts again). So a plain mkdir comes
// first, and missing parents are made one at a time, each tried once: the depth of the path bounds it.
/** Creates `path` (and missing parents) with mode 0700; an existing one is left as it is. */
export function makeDirectory(path: string): void {
  try {
    mkdirSync(path, { mode: DIRECTORY_MODE });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    makeDirectory(parent);
  }
  try {
    mkdirSync(path, { mode: DIRECTORY_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/**
 * Throws unless `dir` is a directory that only this process's user (or root) can write: not group-
 * or world-writable, owned by the process's effective user or by root. Root is trusted as OpenSSH
 * trusts it (it can write anywhere anyway); a process running as root is held to the same rule, so
 * it never reads what a less trusted user could have planted. Nothing is checked on Windows, which
 * has no owner/mode bits to read this way.
 *
 * @param what how the directory is named in the message, e.g. 'cache directory'.
 * @param euid the user the process runs as (a parameter so the rule can be checked for any user).
 * @throws HttpLib2Error `ERR_CACHE_UNSAFE` naming the directory and the fix; `ERR_CACHE` when it is
 *   missing or not a directory.
 */
export function assertPrivateDirectory(dir: string, what: string, euid = process.geteuid?.()): void {
  let stat;
  try {
    stat = statSync(dir);
  } catch (error) {
    throw new HttpLib2Error(`Cannot use the ${what} ${dir}: ${(error as Error).message}`, { code: 'ERR_CACHE', cause: error });
  }
  if (!stat.isDirectory()) throw new HttpLib2Error(`Cannot use the ${what} ${dir}: it is not a directory`, { code: 'ERR_CACHE' });
  if (euid === undefined) return;
  const share = 'or pass { allowSharedDirectory: true } to share it deliberately';
  if (stat.uid !== euid && stat.uid !== 0) {
    throw unsafe(`Refusing the ${what} ${dir}: it belongs to uid ${stat.uid}, not to this process (uid ${euid}); that user could plant`
      + ` entries that would be served as ours. Use a directory of your own (\`chown ${euid} ${dir} && chmod 700 ${dir}\`), ${share}`);
  }
  if ((stat.mode & 0o022) !== 0) {
    const who = (stat.mode & 0o002) !== 0 ? 'anyone' : 'its group';
    const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
    throw unsafe(`Refusing the ${what} ${dir}: ${who} can write it (mode ${mode}) and plant entries that would be served as ours.`
      + ` Run \`chmod 700 ${dir}\`, ${share}`);
  }
}

function unsafe(message: string): HttpLib2Error {
  return new HttpLib2Error(message, { code: 'ERR_CACHE_UNSAFE' });
}
