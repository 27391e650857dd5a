/**
 * The published package, as a user gets it: `npm pack` of the built repository, unpacked into a small Node project
 * outside the repository, its install script run (the native monitor and addons), a TypeScript file that imports
 * `wharf`, `wharf/images` and `wharf/containers` type-checked against the published .d.ts with `exports` honoured
 * (moduleResolution nodenext), then run: it opens a root, imports busybox and runs `echo hello` in a container.
 *
 * No registry is involved: the tarball is unpacked where `npm install` would put it, and its dependencies (and
 * TypeScript) are links into this repository's node_modules, so the project resolves them as an installed one does.
 * Needs `npm run build` first (the tarball packs dist/), root and runc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxTar } from '../helpers/busybox.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The user's program: every import through the package's public entries, every value typed by them. */
const MAIN_TS = `
import { PassThrough } from 'node:stream';
import { Wharf, WharfError, is, type ErrorCode } from 'wharf';
import { listImages, type ImageListRow, type ImageService } from 'wharf/images';
import type { AttachExit, ContainerService, ObservedContainer, CreateOptions, TaskService } from 'wharf/containers';

const [root, tarball] = process.argv.slice(2) as [string, string];
const wharf: Wharf = await Wharf.open({ root });
try {
  const images: ImageService = wharf.images;
  const image = await images.archives.import(tarball, { reference: 'busybox', changes: ['CMD ["sh"]'] });
  const rows: ImageListRow[] = listImages(images);

  const containers: ContainerService = wharf.containers;
  const opts: CreateOptions = { image: 'busybox', command: ['echo', 'hello'], network: 'none' };
  const created = await containers.create(opts);
  const out = new PassThrough();
  let output = '';
  out.setEncoding('utf8').on('data', (s: string) => (output += s));
  const tasks: TaskService = wharf.tasks;
  const { session } = await tasks.start(created.id, { attach: { stdout: out, stderr: out } });
  if (!session) throw new Error('start with attach returned no session');
  const exit: AttachExit = await session.exit;
  const observed: ObservedContainer = await containers.get(created.id);
  await containers.remove(created.id);

  let missing: ErrorCode | undefined;
  try {
    images.resolve('no-such-image');
  } catch (err) {
    if (is(err, 'NOT_FOUND')) missing = err.code;
    else throw err;
  }
  // Only the exported entries resolve: the files behind them are not part of the API.
  const deepImport = await import('wharf/dist/engine/index.js' as string).then(
    () => 'resolved',
    (err: NodeJS.ErrnoException) => err.code,
  );
  console.log(JSON.stringify({
    output, exitCode: exit.exitCode, status: observed.status, imageId: image.id, repositories: rows.map((r) => r.repository),
    missing, wharfError: new WharfError('INTERNAL', 'x') instanceof Error, deepImport,
  }));
} finally {
  wharf.close();
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    types: ['node'],
    outDir: 'out',
    // A user's usual setting; the published .d.ts reference types of dependencies that ship none (better-sqlite3).
    skipLibCheck: true,
  },
  files: ['main.ts'],
};

test('a project outside the repository installs the packed package, type-checks against it and runs a container', {
  timeout: 120_000,
}, async () => {
  assert.ok(
    existsSync(path.join(repo, 'dist', 'index.js')) && existsSync(path.join(repo, 'dist', 'images.d.ts')),
    'run `npm run build` first',
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-pack-'));
  try {
    // npm pack: exactly the files a registry would get ("files" in package.json, no install of anything).
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: repo, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!;
    const project = path.join(dir, 'project');
    const pkgDir = path.join(project, 'node_modules', 'wharf');
    await mkdir(pkgDir, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(dir, tgz), '-C', pkgDir, '--strip-components=1']);
    assert.ok(!existsSync(path.join(pkgDir, 'src')), 'the sources are not published');
    assert.ok(!existsSync(path.join(pkgDir, 'test')), 'the tests are not published');

    // The package's dependencies, and the project's own (TypeScript), as links into this repository's node_modules.
    const published = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    for (const dep of [...Object.keys(published.dependencies), 'typescript', '@types/node']) {
      const link = path.join(project, 'node_modules', dep);
      await mkdir(path.dirname(link), { recursive: true });
      await symlink(path.join(repo, 'node_modules', dep), link);
    }
    // What `npm install` runs for the package: its install script builds the native monitor and addons.
    // npm runs it with sh, the package's directory as cwd and node on PATH.
    assert.ok(published.scripts.install, 'the package has an install script');
    const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
    execFileSync('sh', ['-c', published.scripts.install], { cwd: pkgDir, env, stdio: ['ignore', 'ignore', 'inherit'] });
    assert.ok(
      readdirSync(path.join(pkgDir, 'build', 'Release')).includes('wharf-monitor'),
      'the install script built the container monitor',
    );

    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'wharf-user', private: true, type: 'module', dependencies: { wharf: `file:../${tgz}` } }),
    );
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    await writeFile(path.join(project, 'main.ts'), MAIN_TS);
    const tsc = spawnSync(
      process.execPath,
      [path.join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project],
      { cwd: project, encoding: 'utf8' },
    );
    assert.equal(tsc.status, 0, `tsc failed:\n${tsc.stdout}${tsc.stderr}`);

    const tarball = await makeBusyboxTar(dir);
    const run = spawnSync(process.execPath, ['out/main.js', path.join(dir, 'root'), tarball], {
      cwd: project,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, `the program failed:\n${run.stdout}${run.stderr}`);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(result.output, 'hello\n');
    assert.equal(result.exitCode, 0);
    assert.equal(result.status, 'exited');
    assert.match(String(result.imageId), /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(result.repositories, ['busybox']);
    assert.equal(result.missing, 'NOT_FOUND');
    assert.equal(result.wharfError, true);
    assert.equal(result.deepImport, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
