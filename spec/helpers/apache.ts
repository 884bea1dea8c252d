/**
 * A real Apache httpd for specs: started in the foreground on a free loopback port with a
 * configuration written into a fresh temporary directory (its ServerRoot), and stopped by the spec.
 * The pretest provisioning installs the apache2 package, which ships every module used here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';

export interface ApacheOptions {
  /** Modules to load besides mpm_event and authz_core, by name (`deflate` → mod_deflate.so). */
  readonly modules: readonly string[];
  /** Configuration lines after the common ones; `{dir}` is replaced by the ServerRoot. */
  readonly directives: readonly string[];
  /** The access log format (one line per request). @default '%m %U %>s' */
  readonly logFormat?: string;
  /** Called with the ServerRoot before Apache starts (documents, password files). */
  readonly prepare?: (dir: string) => void;
}

export interface ApacheServer {
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  /** The ServerRoot; the DocumentRoot is `htdocs` in it. */
  readonly dir: string;
  /**
   * The access log lines `select` keeps, once there are at least `count` of them. Apache writes a
   * request's line after sending the answer, so a client may see the answer first: this waits for
   * the line (readiness, bounded at 5 s), never a fixed time.
   */
  accessLog(select: (line: string) => boolean, count: number): Promise<string[]>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// Readiness, not a fixed sleep: retry the TCP connect until Apache listens (bounded).
async function waitUntilListening(port: number, child: ChildProcess, log: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || Date.now() > deadline) {
      let errors = '';
      try { errors = readFileSync(log, 'utf8'); } catch { /* no log yet */ }
      throw new Error(`apache2 did not start (exit ${child.exitCode}): ${stderr()} ${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function loadModule(name: string): string {
  const file = `${MODULES}/mod_${name}.so`;
  if (!existsSync(file)) throw new Error(`${file} is missing: install the apache2 package (apt-get install apache2)`);
  return `LoadModule ${name}_module ${file}`;
}

function config(dir: string, port: number, options: ApacheOptions): string {
  return [
    `ServerRoot "${dir}"`,
    `Listen 127.0.0.1:${port}`,
    'ServerName 127.0.0.1',
    `PidFile "${dir}/httpd.pid"`,
    `ErrorLog "${dir}/error.log"`,
    `DefaultRuntimeDir "${dir}"`,
    `CustomLog "${dir}/access.log" "${options.logFormat ?? '%m %U %>s'}"`,
    `Mutex file:${dir} default`,
    // event, not prefork: prefork needs a child per kept-alive connection and forks them slowly.
    ...['mpm_event', 'authz_core', ...options.modules].map(loadModule),
    'StartServers 1',
    'ServerLimit 1',
    'ThreadsPerChild 16',
    'MaxRequestWorkers 16',
    'User nobody',
    'Group nogroup',
    `DocumentRoot "${dir}/htdocs"`,
    ...options.directives.map((line) => line.replaceAll('{dir}', dir)),
    '',
  ].join('\n');
}

async function accessLog(path: string, select: (line: string) => boolean, count: number): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    let lines: string[] = [];
    try {
      lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && select(l));
    } catch { /* not written yet */ }
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`the access log has ${lines.length} of the ${count} lines expected:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts Apache with `options`; the caller stops it (after()). */
export async function startApache(options: ApacheOptions): Promise<ApacheServer> {
  const dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-apache-'));
  // The workers run as nobody: they must be able to read the ServerRoot.
  chmodSync(dir, 0o755);
  options.prepare?.(dir);
  const port = await freePort();
  writeFileSync(join(dir, 'httpd.conf'), config(dir, port, options));
  const child = spawn(APACHE, ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilListening(port, child, join(dir, 'error.log'), () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    dir,
    accessLog: (select, count) => accessLog(join(dir, 'access.log'), select, count),
    stop,
  };
}
