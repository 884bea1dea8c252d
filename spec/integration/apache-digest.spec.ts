import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Http } from '../../lib/index.js';

// Apache httpd's mod_auth_digest, an independent Digest server (MD5, qop=auth), started on a free
// loopback port with a configuration written here. The pretest provisioning installs apache2.
const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';
const REALM = 'apache spec';
const USER = 'mufasa';
const PASSWORD = 'Circle of Life';

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

// Apache writes an access-log line after it has sent the response, so the last line may still be
// on its way when the client has its answer: read until `count` lines match (bounded), then return.
async function accessLog(dir: string, match: string, count: number): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const lines = readFileSync(join(dir, 'access.log'), 'utf8').split('\n').filter((l) => l.includes(match));
    if (lines.length >= count || Date.now() > deadline) return lines;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function config(dir: string, port: number): string {
  const mod = (name: string, file: string) => `LoadModule ${name}_module ${MODULES}/mod_${file}.so`;
  return [
    `ServerRoot "${dir}"`,
    `Listen 127.0.0.1:${port}`,
    `ServerName 127.0.0.1`,
    `PidFile "${dir}/httpd.pid"`,
    `ErrorLog "${dir}/error.log"`,
    `DefaultRuntimeDir "${dir}"`,
    // One line per request (method, path, status): the spec counts the 401 round trips.
    `CustomLog "${dir}/access.log" "%m %U %>s"`,
    `Mutex file:${dir} default`,
    // event, not prefork: prefork needs a child per kept-alive connection and forks them slowly.
    mod('mpm_event', 'mpm_event'),
    mod('authz_core', 'authz_core'),
    mod('authz_user', 'authz_user'),
    mod('authn_core', 'authn_core'),
    mod('authn_file', 'authn_file'),
    mod('auth_digest', 'auth_digest'),
    mod('reflector', 'reflector'),
    mod('dav', 'dav'),
    mod('dav_fs', 'dav_fs'),
    'StartServers 1',
    'ServerLimit 1',
    'ThreadsPerChild 16',
    'MaxRequestWorkers 16',
    'User nobody',
    'Group nogroup',
    `DocumentRoot "${dir}/htdocs"`,
    '<Location "/private">',
    '  AuthType Digest',
    `  AuthName "${REALM}"`,
    '  AuthDigestProvider file',
    `  AuthUserFile "${dir}/htdigest"`,
    '  AuthDigestDomain /private/',
    '  AuthDigestQop auth',
    // Refuse a replayed or out-of-order nonce count, so the counting is checked.
    '  AuthDigestNcCheck On',
    '  Require valid-user',
    '</Location>',
    // mod_reflector sends a POST's body back; mod_dav stores a PUT's body as a file.
    '<Location "/private/echo">',
    '  SetHandler reflector',
    '</Location>',
    `DAVLockDB "${dir}/davlock/lockdb"`,
    '<Location "/private/files">',
    '  Dav On',
    '</Location>',
    '',
  ].join('\n');
}

describe('Digest against Apache httpd mod_auth_digest', function () {
  this.timeout(20_000);
  let dir: string;
  let child: ChildProcess;
  let origin: string;
  let http: Http;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'httplib2-ts-apache-'));
    chmodSync(dir, 0o755);
    // The workers run as nobody: the DAV collection and lock directory must be theirs to write.
    for (const sub of ['htdocs', 'htdocs/private', 'htdocs/private/files', 'davlock']) mkdirSync(join(dir, sub));
    chmodSync(join(dir, 'htdocs/private/files'), 0o777);
    chmodSync(join(dir, 'davlock'), 0o777);
    writeFileSync(join(dir, 'htdocs/private/hello.txt'), 'hello');
    writeFileSync(join(dir, 'htdigest'), `${USER}:${REALM}:${createHash('md5').update(`${USER}:${REALM}:${PASSWORD}`).digest('hex')}\n`);
    chmodSync(join(dir, 'htdigest'), 0o644);
    const port = await freePort();
    writeFileSync(join(dir, 'httpd.conf'), config(dir, port));
    child = spawn(APACHE, ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    origin = `http://127.0.0.1:${port}`;
    await waitUntilListening(port, child, join(dir, 'error.log'), () => stderr);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    http = new Http();
  });
  afterEach(() => http.close());

  it('is refused without credentials (the server really requires Digest)', async () => {
    const [response] = await http.request(`${origin}/private/a`);
    expect(response.status).to.equal(401);
    expect(response.get('www-authenticate')).to.match(/^Digest /);
  });

  it('is refused with a wrong password after one retry', async () => {
    http.addCredentials(USER, 'wrong');
    const [response] = await http.request(`${origin}/private/a`);
    expect(response.status).to.equal(401);
  });

  it('tries a wrong credential registered first, then the right one: 200 (httplib2 tries each in turn)', async () => {
    http.addCredentials(USER, 'wrong');
    http.addCredentials(USER, PASSWORD);
    const [response, content] = await http.request(`${origin}/private/hello.txt`);
    expect(response.status).to.equal(200);
    expect(content.toString()).to.equal('hello');
    const log = await accessLog(dir, '/private/hello.txt', 3);
    expect(log).to.deep.equal(['GET /private/hello.txt 401', 'GET /private/hello.txt 401', 'GET /private/hello.txt 200']);
  });

  it('answers MD5 qop=auth, then several requests in a row on counted nonces', async () => {
    http.addCredentials(USER, PASSWORD);
    for (let i = 0; i < 5; i++) {
      const [response, content] = await http.request(`${origin}/private/echo/item${i}`, 'POST', `body ${i}`, { 'content-type': 'text/plain' });
      expect(response.status, `request ${i}`).to.equal(200);
      expect(content.toString()).to.equal(`body ${i}`);
    }
    // One challenge, then every request answered pre-emptively on the next nonce count: Apache
    // (AuthDigestNcCheck On) would refuse a repeated count with another 401.
    const log = await accessLog(dir, '/private/echo/', 6);
    expect(log.filter((l) => l.endsWith(' 401'))).to.have.length(1);
    expect(log.filter((l) => l.endsWith(' 200'))).to.have.length(5);
  });

  it('sends a PUT with a body, then reads it back', async () => {
    http.addCredentials(USER, PASSWORD);
    const entry = '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title></entry>';
    const [created] = await http.request(`${origin}/private/files/entry.xml`, 'PUT', entry, { 'content-type': 'application/atom+xml' });
    expect(created.status).to.equal(201);
    const [replaced] = await http.request(`${origin}/private/files/entry.xml`, 'PUT', `${entry}\n`);
    expect(replaced.status).to.equal(204);
    const [read, content] = await http.request(`${origin}/private/files/entry.xml`);
    expect(read.status).to.equal(200);
    expect(content.toString()).to.equal(`${entry}\n`);
    const stranger = new Http();
    try {
      const [anonymous] = await stranger.request(`${origin}/private/files/entry.xml`);
      expect(anonymous.status).to.equal(401);
    } finally {
      await stranger.close();
    }
  });
});
