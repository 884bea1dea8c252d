/**
 * Runs the built CLI (`dist/cli.js`, the package's bin) as a child process, piped (stdout, stderr and
 * exit code captured) or on a real pseudo-terminal through util-linux `script`, so the TTY-only
 * progress bar can be observed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ensureBuilt, ROOT } from './build.js';

export { ROOT };
const CLI = join('dist', 'cli.js');

export interface CliResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** The environment the CLI runs in: the parent's, minus anything that would route or cache requests. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^(https?_proxy|all_proxy|no_proxy|httplib2_ts_cache|request_method)$/i.test(name)) delete env[name];
  }
  return { ...env, ...extra };
}

/** Runs `httplib2-ts ...args` with pipes for stdin, stdout and stderr. */
export async function runCli(
  args: readonly string[],
  options: { input?: Buffer | string; env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  await ensureBuilt();
  const child = spawn(process.execPath, [join(ROOT, CLI), ...args], { cwd: options.cwd ?? ROOT, env: cliEnv(options.env), stdio: 'pipe' });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => stdout.push(c));
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A CLI run on a pseudo-terminal: stdout and stderr arrive merged, as a user would see them. */
export interface TtyRun {
  /** Everything the terminal showed so far. */
  output(): string;
  /** Resolves as soon as the terminal has shown text matching `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  /** The CLI's exit code (`script -e` passes it through). */
  readonly exited: Promise<number | null>;
}

/** Runs `httplib2-ts ...args` with its stdin, stdout and stderr on a pseudo-terminal. */
export async function runCliInTty(args: readonly string[], columns = 100): Promise<TtyRun> {
  await ensureBuilt();
  const command = ['cd', shellQuote(ROOT), '&&', 'stty', 'cols', String(columns), '&&', 'exec',
    shellQuote(process.execPath), CLI, ...args.map(shellQuote)].join(' ');
  const child: ChildProcess = spawn('script', ['-qec', command, '/dev/null'], { env: cliEnv(), stdio: 'pipe' });
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const settle = () => {
    for (const w of [...waiters]) {
      if (w.pattern.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  child.stdout!.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    settle();
  });
  child.stderr!.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin!.destroy();
      resolve(code);
    });
  });
  return {
    output: () => text,
    waitFor: (pattern) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(text)) return resolve();
        waiters.push({ pattern, resolve });
        void exited.then(() => reject(new Error(`the CLI exited before showing ${pattern}; it showed ${JSON.stringify(text)}`)));
      }),
    exited,
  };
}
