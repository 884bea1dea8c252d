import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Response } from '../lib/index.js';
import { cacheNotice, responseHead, statusLine } from '../lib/cli/format.js';
import { formatBytes, formatDuration, ProgressBar, renderProgress } from '../lib/cli/progress.js';
import { testCertificates } from './helpers/certs.js';
import { ensureBuilt } from './helpers/build.js';
import { runCli, runCliInTty } from './helpers/cli.js';
import { startRawServer, startServer, type TestServer } from './helpers/server.js';

const gzipped = gzipSync('squeezed '.repeat(50));

describe('httplib2-ts CLI', () => {
  let server: TestServer;
  let dir: string;
  let releaseSlow: () => void = () => undefined;

  before(async function () {
    // The CLI runs from dist/: built here, on its own time, when the sources are newer.
    this.timeout(120_000);
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), 'httplib2-ts-cli-'));
    server = await startServer((req, res, body) => route(req.url ?? '/', req.method ?? '', req.headers, res, body));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function route(url: string, method: string, headers: Record<string, unknown>, res: ServerResponse, body: Buffer): unknown {
    const path = url.split('?')[0];
    switch (path) {
      case '/missing':
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('no such page\n');
      case '/broken':
        res.writeHead(503, 'Busy');
        return res.end('try later');
      case '/moved':
        res.writeHead(302, { location: '/target' });
        return res.end('moving');
      case '/target':
        return res.end('arrived');
      case '/etag':
        if (headers['if-none-match'] === '"v1"') {
          res.writeHead(304, { etag: '"v1"' });
          return res.end();
        }
        res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=3600' });
        return res.end('tagged body');
      case '/moved-fresh':
        res.writeHead(301, { location: '/fresh' });
        return res.end();
      case '/fresh':
        res.writeHead(200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain' });
        return res.end('cache me');
      case '/private':
        if (headers.authorization !== `Basic ${Buffer.from('ann:s3cret').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="spec"' });
          return res.end('who are you?');
        }
        return res.end('welcome ann');
      case '/validate':
        if (headers['if-none-match'] === '"r1"') {
          res.writeHead(304, { etag: '"r1"' });
          return res.end();
        }
        res.writeHead(200, { etag: '"r1"', 'cache-control': 'no-cache' });
        return res.end('validate me');
      case '/hang':
        return undefined; // never answers: the client's deadline is under test
      case '/slow':
        return slowAnswer(res);
      case '/slow-timed':
        // A real deadline is under test: the bar may only start after about a second.
        return slowAnswer(res, 1500);
      case '/gzip':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(gzipped.length) });
        return res.end(gzipped);
      case '/moved-gzip':
        res.writeHead(302, { location: '/gzip' });
        return res.end();
      case '/binary':
        return res.end(Buffer.from([0, 1, 2, 255, 254, 10, 13]));
      default:
        res.setHeader('content-type', 'text/plain');
        res.setHeader('x-seen-method', method);
        return res.end(method === 'HEAD' ? undefined : `${method} ${url} ${body.toString('utf8')}`);
    }
  }

  // 64 KiB with a Content-Length: half at once, the rest after `holdMs`, or when the spec calls releaseSlow().
  function slowAnswer(res: ServerResponse, holdMs?: number): Promise<void> {
    const part = Buffer.alloc(32 * 1024, 'z');
    res.writeHead(200, { 'content-length': String(part.length * 2), 'content-type': 'application/octet-stream' });
    res.write(part);
    return new Promise<void>((resolve) => {
      const release = () => {
        res.end(part);
        resolve();
      };
      if (holdMs === undefined) releaseSlow = release;
      else setTimeout(release, holdMs);
    });
  }

  const last = () => server.requests.at(-1)!;

  describe('requests and output', () => {
    it('prints the body on stdout, nothing on stderr, and exits 0', async () => {
      const r = await runCli([server.url('/hello?x=1')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('GET /hello?x=1 ');
      expect(r.stderr).to.equal('');
      expect(last().headers['user-agent']).to.match(/^httplib2-ts\/\d+\.\d+\.\d+$/);
    });

    it('writes binary bodies byte for byte', async () => {
      const r = await runCli([server.url('/binary')]);
      expect([...r.stdout]).to.deep.equal([0, 1, 2, 255, 254, 10, 13]);
    });

    it('sends the method from -X and every -H header', async () => {
      const r = await runCli(['-X', 'DELETE', '-H', 'X-Trace: one', '-H', 'Accept:text/plain', '-H', 'X-Trace: two', server.url('/thing')]);
      expect(r.code).to.equal(0);
      expect(last().method).to.equal('DELETE');
      expect(last().headers['x-trace']).to.equal('one, two');
      expect(last().headers.accept).to.equal('text/plain');
    });

    it('posts -d as a form by default, as curl does', async () => {
      const r = await runCli(['-d', 'a=1', '-d', 'b=2', server.url('/form')]);
      expect(r.code).to.equal(0);
      expect(last().method).to.equal('POST');
      expect(last().body.toString()).to.equal('a=1&b=2');
      expect(last().headers['content-type']).to.equal('application/x-www-form-urlencoded');
      expect(r.stdout.toString()).to.equal('POST /form a=1&b=2');
    });

    it('sends -d @file as the file bytes, with the content type given by -H', async () => {
      const file = join(dir, 'entry.json');
      const bytes = Buffer.from('{"title":"caf\u00e9"}\r\n\u0000end\n', 'utf8');
      await writeFile(file, bytes);
      const r = await runCli(['-X', 'PUT', '-H', 'Content-Type: application/json', '-d', `@${file}`, server.url('/entry')]);
      expect(r.code).to.equal(0);
      expect(last().method).to.equal('PUT');
      expect(last().body.equals(bytes)).to.equal(true);
      expect(last().headers['content-type']).to.equal('application/json');
    });

    it('reads -d @- from stdin', async () => {
      const r = await runCli(['-d', '@-', server.url('/stdin')], { input: 'from a pipe' });
      expect(r.code).to.equal(0);
      expect(last().body.toString()).to.equal('from a pipe');
    });

    it('writes the body to -o FILE and nothing to stdout', async () => {
      const file = join(dir, 'out.txt');
      const r = await runCli(['-o', file, server.url('/saved')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.length).to.equal(0);
      expect(await readFile(file, 'utf8')).to.equal('GET /saved ');
    });

    it('prints the status line and headers before the body with -i', async () => {
      const r = await runCli(['-i', server.url('/head')]);
      const [head, body] = r.stdout.toString().split('\n\n');
      const lines = head!.split('\n');
      expect(lines[0]).to.equal('HTTP/1.1 200 OK');
      expect(lines).to.include('content-type: text/plain');
      expect(lines).to.include('x-seen-method: GET');
      expect(body).to.equal('GET /head ');
    });

    it('prints only the head for -i -X HEAD', async () => {
      const r = await runCli(['-i', '-X', 'HEAD', server.url('/h')]);
      expect(r.code).to.equal(0);
      const out = r.stdout.toString();
      expect(out).to.match(/^HTTP\/1\.1 200 OK\n[^]*\n\n$/);
      expect(out.split('\n')).to.include('x-seen-method: HEAD');
    });

    it('prints each hop as sent and received on stderr with -v, keeping stdout to the body', async () => {
      const r = await runCli(['-v', '-H', 'X-Custom: 1', '-H', 'Cookie: session=c00kie', '-u', 'ann:s3cret', server.url('/private?q=2')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('welcome ann');
      const lines = r.stderr.split('\n');
      expect(lines.filter((l) => l === '> GET /private?q=2 HTTP/1.1')).to.have.length(2);
      expect(lines).to.include(`> host: 127.0.0.1:${server.port}`);
      expect(lines).to.include('> x-custom: 1');
      expect(lines).to.include('> cookie: [redacted]');
      // What the library added on the wire: Accept-Encoding, and the Authorization answering the 401.
      expect(lines.some((l) => /^> accept-encoding: gzip/.test(l))).to.equal(true);
      expect(lines).to.include('> authorization: Basic [redacted]');
      expect(lines).to.include('< HTTP/1.1 401 Unauthorized');
      expect(lines).to.include('< www-authenticate: Basic realm="spec"');
      expect(lines).to.include('< HTTP/1.1 200 OK');
      expect(lines).to.include('* cache: none (no --cache)');
      expect(r.stderr).not.to.include('s3cret');
      expect(r.stderr).not.to.include(Buffer.from('ann:s3cret').toString('base64'));
      expect(r.stderr).not.to.include('c00kie');
    });

    it('shows the response head as received with -v: encoded, without headers the library adds', async () => {
      const r = await runCli(['-v', server.url('/gzip')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('squeezed '.repeat(50));
      const lines = r.stderr.split('\n');
      expect(lines).to.include('< content-encoding: gzip');
      expect(lines).to.include(`< content-length: ${gzipped.length}`);
      expect(lines.filter((l) => l.startsWith('< ')).join('\n')).not.to.match(/-content-encoding|content-location/);
    });

    it('prints every head as received before the body with -i, redirects included, as curl -iL', async () => {
      const r = await runCli(['-i', server.url('/moved-gzip')]);
      expect(r.code).to.equal(0);
      const out = r.stdout.toString('latin1');
      const [first, second, body] = out.split('\n\n');
      expect(first!.split('\n')[0]).to.equal('HTTP/1.1 302 Found');
      expect(first!.split('\n')).to.include('location: /gzip');
      expect(second!.split('\n')[0]).to.equal('HTTP/1.1 200 OK');
      expect(second!.split('\n')).to.include('content-encoding: gzip');
      expect(second!.split('\n')).to.include(`content-length: ${gzipped.length}`);
      expect(out).not.to.match(/-content-encoding|content-location/);
      expect(body).to.equal('squeezed '.repeat(50));
    });

    it('takes a URL without a scheme as http, host:port and user:password@host included (not as a scheme)', async () => {
      const r = await runCli([`127.0.0.1:${server.port}/bare`]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('GET /bare ');
      const named = await runCli([`localhost:${server.port}/named`]);
      expect(named.stdout.toString()).to.equal('GET /named ');
      const withUser = await runCli([`ann:s3cret@127.0.0.1:${server.port}/userinfo`]);
      expect(withUser.code).to.equal(0);
      expect(withUser.stdout.toString()).to.equal('GET /userinfo ');
      const oneSlash = await runCli([`http:/127.0.0.1:${server.port}/slash`]);
      expect(oneSlash.stdout.toString()).to.equal('GET /slash ');
    });
  });

  describe('curl flags', () => {
    it('-I sends a HEAD and prints the head', async () => {
      const r = await runCli(['-I', server.url('/h')]);
      expect(r.code).to.equal(0);
      expect(last().method).to.equal('HEAD');
      expect(r.stdout.toString()).to.match(/^HTTP\/1\.1 200 OK\n[^]*x-seen-method: HEAD\n[^]*\n\n$/);
      const long = await runCli(['--head', server.url('/h')]);
      expect(long.stdout.toString()).to.match(/^HTTP\/1\.1 200 OK\n/);
    });

    it('-s prints no error line nor notice; -sS prints the error line; both exit 1 on a 404', async () => {
      const silent = await runCli(['-s', server.url('/missing')]);
      expect(silent.code).to.equal(1);
      expect(silent.stderr).to.equal('');
      expect(silent.stdout.toString()).to.equal('no such page\n');
      const shown = await runCli(['-sS', server.url('/missing')]);
      expect(shown.code).to.equal(1);
      expect(shown.stderr).to.equal(`httplib2-ts: HTTP 404 Not Found from ${server.url('/missing')}\n`);
      const quietHit = await runCli(['--silent', '-H', 'If-None-Match: "v1"', server.url('/etag')]);
      expect(quietHit.stderr).to.equal('');
    });

    it('-f writes no body on a 4xx/5xx answer, only the error line, and exits 1', async () => {
      const r = await runCli(['-f', '-i', server.url('/broken')]);
      expect(r.code).to.equal(1);
      expect(r.stdout.length).to.equal(0);
      expect(r.stderr).to.equal(`httplib2-ts: HTTP 503 Busy from ${server.url('/broken')}\n`);
      const ok = await runCli(['-fsSL', server.url('/moved')]);
      expect(ok.code).to.equal(0);
      expect(ok.stdout.toString()).to.equal('arrived');
    });

    it('accepts --compressed (the body is always decoded) and -o - (stdout)', async () => {
      const r = await runCli(['--compressed', '-o', '-', server.url('/gzip')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('squeezed '.repeat(50));
    });

    it('-m SECONDS gives up at the deadline, exiting 3', async () => {
      const r = await runCli(['-m', '0.3', server.url('/hang')]);
      expect(r.code).to.equal(3);
      expect(r.stderr).to.match(/^httplib2-ts: .*timed out/i);
    });

    it('-O writes to a file named as the last path segment, in the current directory', async () => {
      const cwd = await mkdtemp(join(dir, 'remote-name-'));
      const r = await runCli(['-O', server.url('/files/report.txt?x=1')], { cwd });
      expect(r.code).to.equal(0);
      expect(r.stdout.length).to.equal(0);
      expect(await readFile(join(cwd, 'report.txt'), 'utf8')).to.equal('GET /files/report.txt?x=1 ');
    });

    it('-A and -e set User-Agent and Referer; -H still wins', async () => {
      await runCli(['-A', 'agent/1', '-e', 'http://from.example/', server.url('/who')]);
      expect(last().headers['user-agent']).to.equal('agent/1');
      expect(last().headers.referer).to.equal('http://from.example/');
      await runCli(['-A', 'agent/1', '-H', 'User-Agent: header/2', server.url('/who')]);
      expect(last().headers['user-agent']).to.equal('header/2');
    });

    it('--data-binary sends a file byte for byte, and a value starting with a dash is a value', async () => {
      const file = join(dir, 'binary-data');
      const bytes = Buffer.from([0, 13, 10, 255, 45]);
      await writeFile(file, bytes);
      await runCli(['--data-binary', `@${file}`, server.url('/bin')]);
      expect(last().method).to.equal('POST');
      expect(last().body.equals(bytes)).to.equal(true);
      await runCli(['-d', '-x', server.url('/dash')]);
      expect(last().body.toString()).to.equal('-x');
    });

    it('--json posts JSON with Content-Type and Accept application/json', async () => {
      const r = await runCli(['--json', '{"a":', '--json', '1}', server.url('/json')]);
      expect(r.code).to.equal(0);
      expect(last().method).to.equal('POST');
      expect(last().body.toString()).to.equal('{"a":1}');
      expect(last().headers['content-type']).to.equal('application/json');
      expect(last().headers.accept).to.equal('application/json');
    });

    it('-k accepts a server certificate that is not trusted', async () => {
      const { selfSigned } = await testCertificates();
      const tls = await startServer((_q, res) => res.end('over tls'), { key: selfSigned.key, cert: selfSigned.cert });
      const r = await runCli(['-k', tls.url('/')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('over tls');
      const long = await runCli(['--insecure', tls.url('/')]);
      expect(long.code).to.equal(0);
    });
  });

  describe('credentials', () => {
    it('answers a Basic challenge with -u user:pass', async () => {
      const r = await runCli(['-u', 'ann:s3cret', server.url('/private')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('welcome ann');
      expect(last().headers.authorization).to.equal(`Basic ${Buffer.from('ann:s3cret').toString('base64')}`);
    });

    it('exits 1 with the 401 body without -u', async () => {
      const r = await runCli([server.url('/private')]);
      expect(r.code).to.equal(1);
      expect(r.stdout.toString()).to.equal('who are you?');
      expect(r.stderr).to.include('HTTP 401 Unauthorized');
    });
  });

  describe('redirects', () => {
    it('follows redirects by default and with -L', async () => {
      for (const args of [[], ['-L']]) {
        const r = await runCli([...args, server.url('/moved')]);
        expect(r.code).to.equal(0);
        expect(r.stdout.toString()).to.equal('arrived');
      }
    });

    it('shows each hop with -v', async () => {
      const r = await runCli(['-v', server.url('/moved')]);
      const lines = r.stderr.split('\n');
      expect(lines).to.include('> GET /moved HTTP/1.1');
      expect(lines).to.include('< HTTP/1.1 302 Found');
      expect(lines).to.include(`* following the redirect to ${server.url('/target')}`);
      expect(lines).to.include('> GET /target HTTP/1.1');
      expect(lines).to.include('< HTTP/1.1 200 OK');
    });

    it('prints the 3xx itself with --no-location, exiting 0, and the last of -L/--no-location wins', async () => {
      const before = server.count();
      const r = await runCli(['-i', '-L', '--no-location', server.url('/moved')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.match(/^HTTP\/1\.1 302 Found\n/);
      expect(r.stdout.toString()).to.include('location: /target');
      expect(r.stdout.toString().endsWith('\n\nmoving')).to.equal(true);
      expect(server.count() - before).to.equal(1);
      const again = await runCli(['--no-location', '-L', server.url('/moved')]);
      expect(again.stdout.toString()).to.equal('arrived');
    });
  });

  describe('exit status', () => {
    it('exits 1 on a 404, still printing the body, with one line on stderr', async () => {
      const r = await runCli([server.url('/missing')]);
      expect(r.code).to.equal(1);
      expect(r.stdout.toString()).to.equal('no such page\n');
      expect(r.stderr).to.equal(`httplib2-ts: HTTP 404 Not Found from ${server.url('/missing')}\n`);
    });

    it('exits 1 on a 5xx', async () => {
      const r = await runCli([server.url('/broken')]);
      expect(r.code).to.equal(1);
      expect(r.stdout.toString()).to.equal('try later');
      expect(r.stderr).to.include('HTTP 503 Busy');
    });

    it('exits 3 with one message when the connection is refused', async () => {
      const gone = await startServer(() => undefined);
      const url = gone.url('/');
      await gone.close();
      const r = await runCli([url]);
      expect(r.code).to.equal(3);
      expect(r.stdout.length).to.equal(0);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
      expect(r.stderr).to.match(/^httplib2-ts: .*ECONNREFUSED/);
    });

    it('exits 3 with one message when the server certificate is not trusted', async () => {
      const { selfSigned } = await testCertificates();
      const tls = await startServer((_q, res) => res.end('secret'), { key: selfSigned.key, cert: selfSigned.cert });
      const r = await runCli([tls.url('/')]);
      expect(r.code).to.equal(3);
      expect(r.stdout.length).to.equal(0);
      expect(r.stderr).to.match(/^httplib2-ts: TLS .*failed/);
      expect(r.stderr.trim().split('\n')).to.have.length(1);
    });

    it('exits 3 when --timeout passes before the answer, with a unit or as bare seconds', async () => {
      for (const timeout of ['300ms', '0.3']) {
        const r = await runCli(['--timeout', timeout, server.url('/hang')]);
        expect(r.code).to.equal(3);
        expect(r.stderr).to.match(/^httplib2-ts: .*timed out/i);
        expect(r.stderr.trim().split('\n')).to.have.length(1);
      }
    });

    it('reads a bare --timeout as seconds: the longest a timer can wait is 2147483 s, or 2147483647 ms', async () => {
      const tooLong = await runCli(['--timeout', '2147484', server.url('/x')]);
      expect(tooLong.code).to.equal(2);
      expect(tooLong.stderr).to.match(/--timeout expects a duration: seconds \(30, 2\.5\) or with a unit \(500ms, 5s, 2m\)/);
      for (const timeout of ['2147483', '2147483647ms', '35791m', '5s']) {
        const r = await runCli(['--timeout', timeout, server.url('/x')]);
        expect(r.code, timeout).to.equal(0);
      }
      expect((await runCli(['--timeout', '35792m', server.url('/x')])).code).to.equal(2);
    });

    const usage: Array<[string, string[], RegExp]> = [
      ['an unknown option', ['--frobnicate', 'http://127.0.0.1/'], /^httplib2-ts: unknown option --frobnicate \(see httplib2-ts --help\)\n$/],
      ['an unknown letter in a group of short options', ['-sZ', 'http://127.0.0.1/'], /^httplib2-ts: unknown option -Z \(in -sZ\)/],
      ['a value given to a flag', ['--silent=yes', 'http://127.0.0.1/'], /--silent takes no value/],
      ['both -o and -O', ['-o', 'x', '-O', 'http://127.0.0.1/a'], /-o and -O/],
      ['-O with a URL that names no file', ['-O', 'http://127.0.0.1/dir/'], /-O .*has none/],
      ['--json with -d', ['--json', '{}', '-d', 'a=1', 'http://127.0.0.1/'], /--json cannot be combined/],
      ['-I with a body', ['-I', '-d', 'a=1', 'http://127.0.0.1/'], /-I sends a HEAD/],
      ['-m that is not a number of seconds', ['-m', '5x', 'http://127.0.0.1/'], /-m\/--max-time expects a positive number of seconds/],
      ['no URL', [], /no URL given/],
      ['two URLs', ['http://127.0.0.1/a', 'http://127.0.0.1/b'], /one URL expected/],
      ['a header without a colon', ['-H', 'NoColon', 'http://127.0.0.1/'], /Name: value/],
      ['a header name that is not a token', ['-H', 'Bad Name: x', 'http://127.0.0.1/'], /header name/i],
      ['a method that is not a token', ['-X', 'GE T', 'http://127.0.0.1/'], /method/i],
      ['a missing -d @file', ['-d', '@/nonexistent/file', 'http://127.0.0.1/'], /cannot read -d @\/nonexistent\/file/],
      ['-u without a password', ['-u', 'ann', 'http://127.0.0.1/'], /USER:PASSWORD/],
      ['a timeout that is not a number', ['--timeout', 'soon', 'http://127.0.0.1/'], /--timeout/],
      ['a timeout longer than a timer can wait', ['--timeout', '3000000000', 'http://127.0.0.1/'], /--timeout/],
      ['a timeout with an unknown unit', ['--timeout', '5h', 'http://127.0.0.1/'], /--timeout expects a duration/],
      ['an option missing its value', ['http://127.0.0.1/', '-X'], /option -X needs a value/],
      ['a scheme other than http(s)', ['ftp://127.0.0.1/file'], /unsupported or misspelt scheme "ftp:" in ftp:\/\/127\.0\.0\.1\/file/],
      ['a misspelt scheme', ['htp:/127.0.0.1/'], /unsupported or misspelt scheme "htp:"/],
      ['a misspelt scheme with slashes', ['htps://127.0.0.1/'], /unsupported or misspelt scheme "htps:"/],
    ];
    for (const [what, args, message] of usage) {
      it(`exits 2 for ${what}`, async () => {
        const before = server.count();
        const r = await runCli(args);
        expect(r.code).to.equal(2);
        expect(r.stdout.length).to.equal(0);
        expect(r.stderr).to.match(/^httplib2-ts: /);
        expect(r.stderr).to.match(message);
        expect(r.stderr.trim().split('\n')).to.have.length(1);
        expect(server.count()).to.equal(before);
      });
    }

    it('exits 2 when --cache names something that cannot be a cache directory', async () => {
      const file = join(dir, 'not-a-directory');
      await writeFile(file, 'x');
      const before = server.count();
      const r = await runCli(['--cache', file, server.url('/x')]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^httplib2-ts: cannot use the cache directory /);
      expect(server.count()).to.equal(before);
    });

    it('exits 2 when -o names a file it cannot write', async () => {
      const r = await runCli(['-o', join(dir, 'no', 'such', 'dir', 'out'), server.url('/x')]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/cannot write -o/);
    });
  });

  describe('--help and --version', () => {
    it('lists every option and the exit statuses', async () => {
      const r = await runCli(['--help']);
      expect(r.code).to.equal(0);
      const help = r.stdout.toString();
      for (const flag of ['-X', '--request', '-H', '--header', '-d', '--data', '@file', '-o', '--output', '--cache',
        '--no-cache', '-u', '--user', '-L', '--location', '--no-location', '-i', '--include', '-v', '--verbose',
        '--timeout', '-h', '--help', '-V', '--version', 'HTTPLIB2_TS_CACHE', '-I', '--head', '-s', '--silent',
        '-S', '--show-error', '-f', '--fail', '--compressed', '-m', '--max-time', '-O', '--remote-name', '-A',
        '--user-agent', '-e', '--referer', '--data-binary', '--json', '-k', '--insecure']) {
        expect(help).to.include(flag);
      }
      for (const status of ['0', '1', '2', '3']) expect(help).to.match(new RegExp(`^  ${status}  `, 'm'));
    });

    it('is the package bin, starting with a node shebang that the build keeps', async () => {
      const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string> };
      expect(pkg.bin['httplib2-ts']).to.equal('./dist/cli.js');
      const source = await readFile(new URL('../lib/cli.ts', import.meta.url), 'utf8');
      expect(source.startsWith('#!/usr/bin/env node\n')).to.equal(true);
    });

    it('prints the package version', async () => {
      const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      const r = await runCli(['--version']);
      expect(r.stdout.toString()).to.equal(`httplib2-ts ${pkg.version}\n`);
    });
  });

  describe('text from the server on a terminal', () => {
    // A 404 whose reason phrase would set the window title (OSC ... BEL) and clear the screen
    // (ESC[2J), a header with the 8-bit CSI byte, and a body holding escape and NUL bytes.
    const body = Buffer.from('bo\x1bdy\x00\n', 'latin1');
    const answer = Buffer.concat([
      Buffer.from('HTTP/1.1 404 \x1b]0;pwned\x07\x1b[2J\r\nX-Evil: a\x9b31mred\r\nContent-Length: 7\r\n\r\n', 'latin1'),
      body,
    ]);
    let hostile: TestServer;
    before(async () => {
      hostile = await startRawServer((socket) => socket.end(answer));
    });
    // Nothing but newlines (and the tab) may reach the terminal raw.
    const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

    it('escapes control characters in the error line, -i, -v and debug output, as cat -v shows them', async () => {
      const r = await runCli([hostile.url('/evil')]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.equal(`httplib2-ts: HTTP 404 \\x1b]0;pwned\\x07\\x1b[2J from ${hostile.url('/evil')}\n`);
      const verbose = await runCli(['-v', '-i', hostile.url('/evil')]);
      expect(verbose.stderr).not.to.match(raw);
      expect(verbose.stderr.split('\n')).to.include('< HTTP/1.1 404 \\x1b]0;pwned\\x07\\x1b[2J');
      expect(verbose.stderr.split('\n')).to.include('< x-evil: a\\x9b31mred');
      const head = verbose.stdout.subarray(0, verbose.stdout.indexOf('\n\n') + 2);
      expect(head.toString('utf8')).not.to.match(raw);
      expect(head.toString('utf8').split('\n')[0]).to.equal('HTTP/1.1 404 \\x1b]0;pwned\\x07\\x1b[2J');
      expect(verbose.stdout.subarray(head.length).equals(body)).to.equal(true);
      const debug = await runCli([hostile.url('/evil')], { env: { DEBUG: 'httplib2-ts' } });
      expect(debug.stderr).to.include('httplib2-ts < HTTP/1.1 404 \\x1b]0;pwned');
      expect(debug.stderr).not.to.match(raw);
    });

    it('writes the body byte for byte to a pipe and to -o', async () => {
      const piped = await runCli([hostile.url('/evil')]);
      expect(piped.stdout.equals(body)).to.equal(true);
      const file = join(dir, 'evil.bin');
      await runCli(['-o', file, hostile.url('/evil')]);
      expect((await readFile(file)).equals(body)).to.equal(true);
    });
  });

  describe('cache notices', () => {
    it('says nothing about the cache for an answer from the server', async () => {
      const r = await runCli([server.url('/etag')]);
      expect(r.stderr).to.equal('');
    });

    it('says so when the server answers 304 to a conditional request the user made', async () => {
      const r = await runCli(['-H', 'If-None-Match: "v1"', server.url('/etag')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.length).to.equal(0);
      expect(r.stderr).to.match(/^httplib2-ts: the server answered 304 Not Modified/);
    });

    it('with --cache DIR, answers a fresh entry from the cache without a request and says so', async () => {
      const cache = join(dir, 'cache-fresh');
      const first = await runCli(['--cache', cache, server.url('/fresh')]);
      expect(first.stderr).to.equal('');
      const before = server.count();
      const second = await runCli(['--cache', cache, server.url('/fresh')]);
      expect(second.code).to.equal(0);
      expect(second.stdout.toString()).to.equal('cache me');
      expect(second.stderr).to.match(/^httplib2-ts: answered from the cache/);
      expect(server.count()).to.equal(before);
    });

    it('with --cache DIR, says when a stale entry was revalidated by a 304', async () => {
      const cache = join(dir, 'cache-validate');
      await runCli(['--cache', cache, server.url('/validate')]);
      const second = await runCli(['--cache', cache, server.url('/validate')]);
      expect(last().headers['if-none-match']).to.equal('"r1"');
      expect(second.code).to.equal(0);
      expect(second.stdout.toString()).to.equal('validate me');
      expect(second.stderr).to.match(/^httplib2-ts: revalidated with the server \(.*If-None-Match.*\): not modified/);
      expect(second.stderr.trim().split('\n')).to.have.length(1);
    });

    it('with -v, ends with one line of what the cache did; a fresh hit shows no request at all', async () => {
      const cache = join(dir, 'cache-verbose');
      const first = await runCli(['-v', '--cache', cache, server.url('/fresh?v')]);
      expect(first.stderr).to.match(/^> GET \/fresh\?v HTTP\/1\.1$/m);
      expect(first.stderr).to.match(/^\* cache: miss: nothing stored \| stored: max-age=3600$/m);
      const before = server.count();
      const second = await runCli(['-v', '--cache', cache, server.url('/fresh?v')]);
      expect(server.count()).to.equal(before);
      expect(second.stderr).not.to.match(/^[<>]/m);
      expect(second.stderr).to.match(/^\* cache: fresh: max-age=3600, age \d+s$/m);
    });

    it('with -v, shows the validator sent and the 304 received; -i prints the 304 then the cached head', async () => {
      const cache = join(dir, 'cache-verbose-304');
      await runCli(['--cache', cache, server.url('/validate?v')]);
      const r = await runCli(['-v', '-i', '--cache', cache, server.url('/validate?v')]);
      const lines = r.stderr.split('\n');
      expect(lines).to.include('> if-none-match: "r1"');
      expect(lines).to.include('< HTTP/1.1 304 Not Modified');
      expect(lines).not.to.include('< HTTP/1.1 200 OK');
      const [wire, cached, body] = r.stdout.toString().split('\n\n');
      expect(wire!.split('\n')[0]).to.equal('HTTP/1.1 304 Not Modified');
      expect(cached!.split('\n')[0]).to.equal('HTTP/1.1 200 OK');
      expect(cached!.split('\n')).to.include('etag: "r1"');
      expect(cached).not.to.match(/content-location/);
      expect(body).to.equal('validate me');
    });

    it('says once on stderr when the cache cannot keep the answer, and still prints it', async () => {
      // /proc/self is a directory no file can be created in, even by root.
      const r = await runCli(['--cache', '/proc/self', server.url('/moved-fresh')]);
      expect(r.code).to.equal(0);
      expect(r.stdout.toString()).to.equal('cache me');
      const lines = r.stderr.trim().split('\n');
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^httplib2-ts: the cache at \/proc\/self cannot keep answers: store error on set \(ERR_CACHE: .*\)$/);
      const silent = await runCli(['-s', '--cache', '/proc/self', server.url('/fresh')]);
      expect(silent.stderr).to.equal('');
    });

    it('takes the cache directory from HTTPLIB2_TS_CACHE when --cache is not given', async () => {
      const env = { HTTPLIB2_TS_CACHE: join(dir, 'cache-env') };
      await runCli([server.url('/fresh?env')], { env });
      const before = server.count();
      const second = await runCli([server.url('/fresh?env')], { env });
      expect(second.stderr).to.match(/answered from the cache/);
      expect(server.count()).to.equal(before);
    });

    it('with --no-cache, uses no cache even when HTTPLIB2_TS_CACHE names one', async () => {
      const cache = join(dir, 'env-cache');
      const before = server.count();
      for (let i = 0; i < 2; i++) {
        const r = await runCli(['--no-cache', server.url('/fresh')], { env: { HTTPLIB2_TS_CACHE: cache } });
        expect(r.stdout.toString()).to.equal('cache me');
        expect(r.stderr).to.equal('');
      }
      expect(server.count() - before).to.equal(2);
    });
  });

  describe('progress bar', () => {
    it('draws nothing when stderr is a pipe, even for a download lasting over a second', async () => {
      const r = await runCli([server.url('/slow-timed')]);
      expect(r.code).to.equal(0);
      expect(r.stderr).to.equal('');
      expect(r.stdout.length).to.equal(64 * 1024);
      expect(r.stdout.equals(Buffer.alloc(64 * 1024, 'z'))).to.equal(true);
    });

    it('on a terminal, draws bytes, rate and percent once a download lasts about a second', async () => {
      const file = join(dir, 'slow.bin');
      const started = Date.now();
      const tty = await runCliInTty(['-o', file, server.url('/slow')]);
      await tty.waitFor(/50% \[#+-+\] 32 KiB \/ 64 KiB +\d+(\.\d)? (B|KiB|MiB)\/s  ETA \d+:\d\d/);
      expect(Date.now() - started).to.be.at.least(900);
      releaseSlow();
      expect(await tty.exited).to.equal(0);
      const screen = tty.output();
      expect(screen).to.match(/\r100% \[#+\] 64 KiB \/ 64 KiB +\d+(\.\d)? (B|KiB|MiB)\/s  ETA 0:00\x1b\[K/);
      expect((await readFile(file)).length).to.equal(64 * 1024);
    });

    it('refuses to write a binary body to a terminal, as curl does, unless -o - asks for it', async () => {
      const refused = await runCliInTty([server.url('/binary')]);
      expect(await refused.exited).to.equal(2);
      expect(refused.output()).to.match(/^httplib2-ts: binary output can mess up the terminal: not written; use -o FILE to save it, or -o - to print it anyway\r?\n$/);
      const forced = await runCliInTty(['-o', '-', server.url('/binary')]);
      expect(await forced.exited).to.equal(0);
      expect(forced.output()).to.include('\x00\x01\x02');
      const text = await runCliInTty([server.url('/quick')]);
      expect(await text.exited).to.equal(0);
    });

    it('on a terminal, draws nothing for a download shorter than a second', async () => {
      const tty = await runCliInTty([server.url('/quick')]);
      expect(await tty.exited).to.equal(0);
      expect(tty.output()).to.include('GET /quick ');
      expect(tty.output()).not.to.match(/\x1b|%/);
    });
  });
});

describe('CLI progress renderer', () => {
  function fakeTerminal(isTTY: boolean, columns = 80) {
    const writes: string[] = [];
    let now = 0;
    const stream = { isTTY, columns, write: (s: string) => writes.push(s) };
    return { stream, writes, advance: (ms: number) => (now += ms), now: () => now };
  }

  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).to.equal('0 B');
    expect(formatBytes(1023)).to.equal('1023 B');
    expect(formatBytes(1536)).to.equal('1.5 KiB');
    expect(formatBytes(10 * 1024 * 1024)).to.equal('10 MiB');
  });

  it('renders percent, bar, amounts and rate when the total is known', () => {
    const line = renderProgress({ received: 512 * 1024, total: 1024 * 1024, elapsedMs: 2000 }, 80);
    expect(line).to.match(/^ 50% \[#+-+\] 512 KiB \/ 1.0 MiB  256 KiB\/s  ETA 0:02$/);
    expect(line.length).to.be.at.most(79);
  });

  it('shows the time left at the average rate so far, as m:ss or h:mm:ss', () => {
    expect(renderProgress({ received: 1024, total: 1024 * 76, elapsedMs: 1000 }, 100)).to.match(/  1.0 KiB\/s  ETA 1:15$/);
    expect(renderProgress({ received: 1, total: 3726, elapsedMs: 1000 }, 100)).to.match(/ETA 1:02:05$/);
    expect(renderProgress({ received: 0, total: 100, elapsedMs: 1000 }, 100)).to.match(/ETA --:--$/);
    expect(renderProgress({ received: 100, total: 100, elapsedMs: 1000 }, 100)).to.match(/ETA 0:00$/);
    expect(formatDuration(59.2)).to.equal('1:00');
    expect(formatDuration(360_000)).to.equal('--:--');
  });

  it('renders bytes and rate only when the total is unknown, and drops the bar on a narrow terminal', () => {
    expect(renderProgress({ received: 2048, total: null, elapsedMs: 1000 })).to.equal('2.0 KiB  2.0 KiB/s');
    expect(renderProgress({ received: 1, total: 2, elapsedMs: 1000 }, 30)).to.equal(' 50%  1 B / 2 B  1 B/s  ETA 0:01');
  });

  it('is not created for a stream that is not a terminal', () => {
    expect(ProgressBar.forStream(fakeTerminal(false).stream)).to.equal(null);
  });

  it('waits about a second, redraws at most every interval, and ends its line', () => {
    const t = fakeTerminal(true);
    const bar = ProgressBar.forStream(t.stream, { now: t.now, ticker: false })!;
    bar.update(100, 1000);
    t.advance(999);
    bar.update(200, 1000);
    expect(t.writes).to.deep.equal([]);
    t.advance(1);
    bar.update(300, 1000);
    expect(t.writes).to.have.length(1);
    expect(t.writes[0]).to.match(/^\r 30% \[#+-+\] 300 B \/ 1000 B  300 B\/s  ETA 0:03\x1b\[K$/);
    t.advance(50);
    bar.update(400, 1000);
    expect(t.writes).to.have.length(1);
    t.advance(200);
    bar.tick();
    expect(t.writes).to.have.length(2);
    bar.update(1000, 1000);
    bar.finish();
    expect(t.writes.at(-2)).to.match(/^\r100% /);
    expect(t.writes.at(-1)).to.equal('\n');
    expect(bar.isVisible).to.equal(true);
  });

  it('leaves no trace when the download ends before the delay', () => {
    const t = fakeTerminal(true);
    const bar = ProgressBar.forStream(t.stream, { now: t.now, ticker: false })!;
    bar.update(10, null);
    t.advance(500);
    bar.finish();
    expect(t.writes).to.deep.equal([]);
  });
});

describe('CLI formatting', () => {
  it('renders the status line from httplib2-style versions', () => {
    expect(statusLine(new Response({ status: 200, version: 11 }))).to.equal('HTTP/1.1 200 OK');
    expect(statusLine(new Response({ status: 404, version: 10 }))).to.equal('HTTP/1.0 404 Not Found');
    expect(statusLine(new Response({ status: 204, version: 20 }))).to.equal('HTTP/2 204 No Content');
    expect(responseHead(new Response({ status: 200, headers: { ETag: '"x"' } }))).to.deep.equal(['HTTP/1.1 200 OK', 'etag: "x"']);
  });

  it('tells a fresh hit from a revalidation when the cache reports its status, and falls back to fromcache', () => {
    const fromCache = (...cacheStatus: string[]) => new Response({ status: 200, fromcache: true, cacheStatus });
    expect(cacheNotice(fromCache('revalidate: stale, with If-None-Match', 'revalidated: 304 via If-None-Match')))
      .to.equal('revalidated with the server (304 via If-None-Match): not modified, the cached body was used');
    expect(cacheNotice(fromCache('fresh: max-age=60, age 3s')))
      .to.equal('answered from the cache, no request sent (fresh: max-age=60, age 3s)');
    expect(cacheNotice(fromCache('stale-if-error: served stale after 503')))
      .to.equal('answered from the cache (stale-if-error: served stale after 503)');
    expect(cacheNotice(fromCache())).to.equal('answered from the cache');
    expect(cacheNotice(new Response({ status: 200, cacheStatus: ['miss: nothing stored', 'stored: max-age=60'] }))).to.equal(null);
    expect(cacheNotice(new Response({ status: 304 }))).to.match(/^the server answered 304 Not Modified/);
  });
});
