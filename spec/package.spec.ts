/**
 * The built package as a dependency sees it: resolved by name from another project's node_modules,
 * from CommonJS as well as ESM.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, ROOT } from './helpers/build.js';

const run = promisify(execFile);

describe('the package as a dependency', function () {
  this.timeout(60_000);
  let project: string;

  before(async () => {
    await ensureBuilt();
    project = await mkdtemp(join(tmpdir(), 'httplib2-ts-consumer-'));
    await mkdir(join(project, 'node_modules'));
    await symlink(ROOT, join(project, 'node_modules', 'httplib2-ts'), 'dir');
  });
  after(() => rm(project, { recursive: true, force: true }));

  async function node(file: string, source: string): Promise<{ code: number; stdout: string; stderr: string }> {
    await writeFile(join(project, file), source);
    try {
      const { stdout, stderr } = await run(process.execPath, [file], { cwd: project });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  it('is imported by name from an ES module', async () => {
    const r = await node('esm.mjs', "import { Http, Response } from 'httplib2-ts';\nconsole.log(typeof Http, typeof Response);\n");
    expect(r.stdout).to.equal('function function\n');
  });

  // require(esm) is on by default from Node 20.19 and 22.12; the engines floor (20.18) predates it,
  // where the same line must fail with Node's own clear code rather than a missing export.
  const canRequireEsm = (process.features as { require_module?: boolean }).require_module === true;
  it(`is required by name from CommonJS${canRequireEsm ? '' : ' (this Node cannot require ES modules: ERR_REQUIRE_ESM)'}`, async () => {
    const r = await node('cjs.cjs', "const { Http, FileCache } = require('httplib2-ts');\nconsole.log(typeof Http, typeof FileCache);\n");
    if (canRequireEsm) {
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('function function\n');
    } else {
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.include('ERR_REQUIRE_ESM');
      expect(r.stderr).not.to.include('ERR_PACKAGE_PATH_NOT_EXPORTED');
    }
  });

  it('ships a MIT LICENSE, no source maps, and every file the README links to', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).to.include.members(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli.js']);
    expect(await readFile(join(ROOT, 'LICENSE'), 'utf8')).to.match(/^MIT License\n\nCopyright \(c\) \d{4} httplib2-ts contributors\n/);
    expect(files.filter((f) => f.endsWith('.map'))).to.deep.equal([]);
    for (const file of files.filter((f) => f.endsWith('.js') && f.startsWith('dist/'))) {
      expect(await readFile(join(ROOT, file), 'utf8'), file).not.to.include('sourceMappingURL');
    }
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
    expect(targets).to.include.members(['DESIGN.md', 'CHANGELOG.md']);
    expect(targets.filter((t) => !files.includes(t))).to.deep.equal([]);
  });

  it("installs with the library only what the library and its specs use; the bench's peer clients live in bench/", async () => {
    type Manifest = { dependencies?: Record<string, string>; devDependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
    const root = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as Manifest;
    const bench = JSON.parse(await readFile(join(ROOT, 'bench', 'package.json'), 'utf8')) as Manifest & { type?: string };
    const installed = { ...root.dependencies, ...root.devDependencies };
    expect(Object.keys(installed).filter((n) => ['axios', 'got', 'make-fetch-happen'].includes(n))).to.deep.equal([]);
    expect(Object.keys(bench.dependencies ?? {})).to.include.members(['axios', 'got', 'make-fetch-happen']);
    expect(bench.type).to.equal('module');
    // The SQLite store stays under test in CI: its adapter is a dev dependency of the library.
    expect(Object.keys(root.devDependencies ?? {})).to.include('@keyv/sqlite');
    // Every package a bench script imports is declared by one of the two manifests.
    const declared = new Set([...Object.keys(installed), ...Object.keys(bench.dependencies ?? {})]);
    const missing: string[] = [];
    for (const file of (await readdir(join(ROOT, 'bench'))).filter((f) => f.endsWith('.js'))) {
      const text = await readFile(join(ROOT, 'bench', file), 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\()\s*'([^'./][^']*)'/g)) {
        const name = m[1]!.startsWith('@') ? m[1]!.split('/').slice(0, 2).join('/') : m[1]!.split('/')[0]!;
        if (!name.startsWith('node:') && !declared.has(name)) missing.push(`${file}: ${name}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });
});
