/**
 * The project's own set-up, as a new contributor follows it: README's two commands, what CI runs,
 * `npm test` on a fresh clone, and the API reference built from the TSDoc comments.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './helpers/build.js';

const run = promisify(execFile);

/** The commands of a shell snippet: comments, blank lines, `set` and `cd` left out. */
function commands(text: string): string[] {
  return text.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l && !l.startsWith('#') && !/^(set|cd) /.test(l));
}

describe('set-up', function () {
  this.timeout(120_000);
  let scratch: string;
  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'httplib2-ts-setup-'));
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it("runs in CI exactly README's set-up and test commands, which install once", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Set-up, demo and tests'));
    const block = /```sh\n([^]*?)```/.exec(section)![1]!;
    expect(commands(block)).to.deep.equal(['npm ci && npm run demo', 'npm test']);
    expect(commands(await readFile(join(ROOT, '.ci', 'run'), 'utf8'))).to.deep.equal(commands(block));
  });

  it('npm test installs first on a fresh clone (npm ci), and not again once installed', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['pretest']).to.match(/^bash spec\/support\/install\.sh && /);
    // A fresh clone: no node_modules. A stand-in npm on PATH records what it is asked to do.
    const project = join(scratch, 'clone');
    const bin = join(scratch, 'bin');
    await mkdir(project);
    await mkdir(bin);
    await writeFile(join(bin, 'npm'), `#!/bin/sh\necho "$@" >> "${join(scratch, 'npm-calls')}"\nmkdir -p node_modules && touch node_modules/.package-lock.json\n`);
    await chmod(join(bin, 'npm'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
    const script = join(ROOT, 'spec', 'support', 'install.sh');
    await run('bash', [script], { cwd: project, env });
    await run('bash', [script], { cwd: project, env });
    expect(await readFile(join(scratch, 'npm-calls'), 'utf8')).to.equal('ci\n');
  });

  it('builds the API reference from the TSDoc: every export documented, DESIGN.md a link, not a host', async () => {
    const out = join(scratch, 'api');
    await run(process.execPath, [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--out', out], { cwd: ROOT });
    const pages: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.html')) pages.push(await readFile(path, 'utf8'));
      }
    };
    await walk(out);
    const all = pages.join('\n');
    expect(all).not.to.match(/https?:\/\/(DESIGN|CHANGELOG|README)\.md/);
    expect(all).to.include('href="media/DESIGN.md"');
    const http = await readFile(join(out, 'classes', 'Http.html'), 'utf8');
    expect(http).to.include('RelativeURIError</a> when <code>uri</code> is not an absolute http(s) URI');
    expect(http).to.match(/&#39;PUT&#39;.*&#39;PATCH&#39;/);
    expect(await readFile(join(out, 'interfaces', 'ResponseInit.html'), 'utf8')).to.include('Status code');
  });

  it('prints no warning for the SOCKS5 specs (the handshake is ours: no experimental agent, no IP as a TLS ServerName)', async () => {
    // The project's mocha settings, on the one spec file that uses a SOCKS5 proxy (only that file:
    // the configured glob would run this spec again, and again).
    const config = JSON.parse(await readFile(join(ROOT, '.mocharc.json'), 'utf8')) as { require: string[]; 'node-option': string[] };
    const args = [join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--no-config', '--extension', 'ts', '--timeout', '20000',
      ...config['node-option'].flatMap((o) => ['--node-option', o]), ...config.require.flatMap((r) => ['--require', r]),
      'spec/integration/proxy.spec.ts', '-g', 'proxies SOCKS5'];
    const { stdout, stderr } = await run(process.execPath, args, { cwd: ROOT });
    expect(stdout).to.match(/[1-9][0-9]* passing/);
    expect(stdout).not.to.match(/failing/);
    expect(stderr).not.to.match(/Warning|DEP0123/);
  });

  it('names in spec titles and comments only documents the repository holds', async () => {
    const named = new Set<string>();
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.name.endsWith('.ts')) for (const m of (await readFile(path, 'utf8')).matchAll(/\b([A-Z][A-Z_]+\.md)\b/g)) named.add(m[1]!);
      }
    };
    await walk(join(ROOT, 'spec'));
    const present = new Set(await readdir(ROOT));
    expect([...named].filter((name) => !present.has(name))).to.deep.equal([]);
  });

  it('provisions the system services quietly: apt and debconf chatter shows only when the install fails', async () => {
    // A machine without redis-server, openssl nor python3 on PATH, as root, with stand-ins for apt-get and the
    // few commands the script runs; apt-get talks as debconf does without apt-utils.
    const bin = join(scratch, 'provision-bin');
    await mkdir(bin);
    const stub = async (name: string, body: string) => {
      await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(bin, name), 0o755);
    };
    await stub('id', 'echo 0');
    await stub('service', 'exit 0');
    await stub('cat', 'exec /bin/cat "$@"');
    await stub('rm', 'exec /bin/rm "$@"');
    await stub('apt-get', 'echo "debconf: delaying package configuration, since apt-utils is not installed" >&2\n[ -z "$APT_FAIL" ] || [ "$1" != install ] || exit 100');
    const provision = (extra: Record<string, string>) => run('/bin/bash', [join(ROOT, 'spec', 'support', 'provision.sh')],
      { cwd: ROOT, env: { PATH: bin, TMPDIR: scratch, ...extra } }).catch((e: { code: number; stderr: string }) => e);
    const quiet = await provision({});
    expect(quiet.stderr).to.equal('provision: installing redis-server openssl python3 with apt-get\n');
    const failed = await provision({ APT_FAIL: '1' }) as { code: number; stderr: string };
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.include('debconf: delaying package configuration');
    expect(failed.stderr).to.match(/provision: apt-get could not install redis-server openssl python3/);
  });
});
