/**
 * The project's architecture rules, checked by reading lib/'s import statements: pure modules
 * import nothing that does I/O or reads the clock, and no module imports the orchestrator.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const LIB = new URL('../lib/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
}

const files = sources(LIB).map((path) => ({ path, name: relative(LIB, path), imports: importsOf(path) }));

const PURE = ['cache/policy.ts', 'cache/directives.ts', 'cache/breaker.ts', 'http-date.ts', 'redirect.ts', 'uri.ts', 'headers.ts', 'retry.ts', 'proxy.ts', 'proxy-auth.ts', 'message-body.ts', 'socks5.ts', 'decode-limit.ts'];
const AUTH_PURE = /^auth\/(challenge|basic|digest|wsse|hmac-digest|scheme)\.ts$/;
const IO_MODULES = /^(undici|node:(fs|fs\/promises|net|http|https|http2|tls|zlib|dns|child_process)|fs|net|http|https|zlib)$/;

describe('architecture: pure decision modules, layers in one direction', () => {
  it('finds the library sources', () => {
    expect(files.map((f) => f.name)).to.include.members(['http.ts', 'index.ts', 'transport.ts']);
  });

  for (const f of files.filter((x) => PURE.includes(x.name) || AUTH_PURE.test(x.name))) {
    it(`${f.name} is pure: no I/O imports, no clock, no randomness, no environment`, () => {
      expect(f.imports.filter((i) => IO_MODULES.test(i)), 'I/O imports').to.deep.equal([]);
      const code = readFileSync(f.path, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code).not.to.match(/Date\.now\(\)|new Date\(\)|Math\.random\(|process\.env|setTimeout\(/);
    });
  }

  it('no module imports the orchestrator except index.ts', () => {
    const offenders = files.filter((f) => f.name !== 'index.ts' && f.imports.some((i) => /(^|\/)http\.js$/.test(i)));
    expect(offenders.map((f) => f.name)).to.deep.equal([]);
  });

  it('no layer below the orchestrator imports one above it (cache, auth, decoding, transport)', () => {
    const rank = (name: string) =>
      name.startsWith('cache/') ? 4 : name.startsWith('auth/') ? 3 : name === 'decode.ts' ? 2 : name === 'transport.ts' ? 1 : 0;
    const offenders: string[] = [];
    for (const f of files) {
      for (const i of f.imports.filter((x) => x.startsWith('.'))) {
        const target = relative(LIB, join(f.path, '..', i)).replace(/\.js$/, '.ts');
        const from = rank(f.name);
        const to = rank(target);
        // Types flow everywhere; only runtime layers are ranked.
        if (from > 0 && to > from && !/^import type/m.test(readFileSync(f.path, 'utf8').split('\n').find((l) => l.includes(i)) ?? '')) {
          offenders.push(`${f.name} → ${target}`);
        }
      }
    }
    expect(offenders).to.deep.equal([]);
  });
});

describe('public surface (DESIGN.md)', () => {
  const RUNTIME_EXPORTS = [
    'AbortError', 'ConnectionError', 'FailedToDecompressContent', 'FileCache', 'Http', 'HttpLib2Error',
    'HttpLib2ErrorWithResponse', 'MemoryCache', 'ProxyError', 'ProxyInfo', 'RedirectLimit',
    'RedirectMissingLocation', 'RelativeURIError', 'RequestTimeout', 'Response', 'ServerNotFoundError',
    'TlsError', 'UnimplementedDigestAuthOptionError', 'UnimplementedHmacDigestAuthOptionError',
    'openRedisCache', 'openSqliteCache', 'safename', 'inspectCache',
  ];

  it('index.ts exports exactly the documented names', async () => {
    const index = (await import('../lib/index.js')) as Record<string, unknown>;
    expect(Object.keys(index).sort()).to.deep.equal([...RUNTIME_EXPORTS].sort());
  });

  it('DESIGN.md names every public export', () => {
    const design = readFileSync(new URL('../DESIGN.md', import.meta.url), 'utf8');
    expect(RUNTIME_EXPORTS.filter((name) => !design.includes(`\`${name}`))).to.deep.equal([]);
  });
});
