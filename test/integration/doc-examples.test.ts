/**
 * Every library example in README.md and docs/*.md runs, as a user would run it, against the built package.
 *
 * The examples are the fenced blocks tagged `ts` (or `typescript`, `js`, `javascript`, `mjs`). All `ts` blocks are
 * type-checked together by tsc (strict, moduleResolution nodenext, so `wharf/...` resolves through package.json
 * `exports` to the published .d.ts) and then each runs in a Node process of its own; `js` blocks just run. An example
 * passes when it exits 0 within a minute. Shell blocks (`sh`, `console`) run in doc-shell-examples.test.ts.
 *
 * The world an example runs in:
 * - its working directory is a fresh directory holding `rootfs.tar` (a busybox root file system) and `app/` (a
 *   build context with one file, `hello.txt`);
 * - absolute paths under `/tmp/` and `/var/lib/wharf` in string literals are moved into a fresh directory of the
 *   test, and a path passed as `root: '…'` is a Wharf root that already holds `busybox` (as after
 *   `wharf import -c 'CMD ["sh"]' rootfs.tar busybox`);
 * - `localhost:5000` is a registry the test serves on a free loopback port, holding `localhost:5000/busybox`.
 *
 * An HTML comment on the line before the fence (invisible on the rendered page) says more:
 * - `<!-- test: expect TEXT -->`: the example's output (stdout and stderr) must contain TEXT, so an example that
 *   catches its own failure and exits 0 does not pass;
 * - `<!-- test: skip REASON -->`: the block cannot run here (it needs Docker Hub, a fixed port, a certificate…).
 *
 * Needs `npm run build` first (the examples import the package's dist/), root and runc.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wharf } from '../../src/index.js';
import { startRegistry, loadRegistryConfig, type RunningRegistry } from '../../src/registry.js';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { docBlocks, type DocBlock } from '../helpers/doc-blocks.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Files whose examples wait for another change (reason given); an entry goes when its file is fixed. */
const PENDING: Record<string, string> = {};

type Example = DocBlock<'ts' | 'js'>;

const LANGS: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', mjs: 'js' };

const examples = docBlocks(LANGS, PENDING);

const PATH_LITERAL = /(['"`])(\/(?:tmp|var\/lib\/wharf)(?:\/[^'"`\s$]*)?)\1/g;
const ROOT_LITERAL = /\broot:\s*(['"`])(\/[^'"`\s$]*)\1/g;

/** The shared set-up, made once when the first example needs it. */
class World {
  dir = '';
  tarball = '';
  project = '';
  registry: RunningRegistry | undefined;
  #compiled = new Map<string, string>();

  async init(): Promise<void> {
    assert.ok(existsSync(path.join(repo, 'dist', 'index.js')), 'run `npm run build` first');
    this.dir = await mkdtemp(path.join(tmpdir(), 'wharf-doc-'));
    this.tarball = await makeBusyboxTar(this.dir);
    // A project that has the package installed: node_modules/wharf is this repository (its exports lead to dist/),
    // and tsc comes from the repository's node_modules.
    this.project = path.join(this.dir, 'project');
    await mkdir(path.join(this.project, 'node_modules', '@types'), { recursive: true });
    await symlink(repo, path.join(this.project, 'node_modules', 'wharf'));
    await symlink(path.join(repo, 'node_modules', 'typescript'), path.join(this.project, 'node_modules', 'typescript'));
    await symlink(
      path.join(repo, 'node_modules', '@types', 'node'),
      path.join(this.project, 'node_modules', '@types', 'node'),
    );
    await writeFile(
      path.join(this.project, 'package.json'),
      JSON.stringify({ name: 'wharf-doc-examples', private: true, type: 'module' }),
    );
    const runnable = examples.filter((e) => !e.skip);
    if (runnable.some((e) => e.code.includes('localhost:5000'))) await this.#startRegistry();
    await this.#compile(runnable.filter((e) => e.lang === 'ts'));
  }

  /** A registry holding busybox, for the examples that name localhost:5000. */
  async #startRegistry(): Promise<void> {
    this.registry = await startRegistry(
      await loadRegistryConfig({ wharfRoot: path.join(this.dir, 'registry'), addr: '127.0.0.1:0' }),
      { log: () => {} },
    );
    const seed = await this.#rootWithBusybox(path.join(this.dir, 'seed'));
    try {
      const ref = `${this.registry.host}:${this.registry.port}/busybox:latest`;
      seed.images.tag('busybox', ref);
      await seed.registries.push(ref);
    } finally {
      seed.close();
    }
  }

  async #rootWithBusybox(root: string): Promise<Wharf> {
    const w = await Wharf.open({ root });
    try {
      await w.images.archives.import(this.tarball, { reference: 'busybox', changes: ['CMD ["sh"]'] });
      return w;
    } catch (err) {
      w.close();
      throw err;
    }
  }

  /** The example as it runs here: its paths moved into `sandbox`, its registry the test's. */
  rewrite(code: string, sandbox: string): string {
    let out = code.replace(PATH_LITERAL, (_m, q: string, p: string) => `${q}${path.join(sandbox, 'fs', p)}${q}`);
    if (this.registry) out = out.replaceAll('localhost:5000', `${this.registry.host}:${this.registry.port}`);
    return out;
  }

  /** Type-checks every ts example in one tsc run; each compiles to out/<n>.js. */
  async #compile(list: Example[]): Promise<void> {
    if (list.length === 0) return;
    const files: string[] = [];
    for (const [n, e] of list.entries()) {
      const name = `example-${n}.ts`;
      // The sandbox paths are fixed now, so that tsc checks the code exactly as it runs.
      await writeFile(path.join(this.project, name), this.rewrite(e.code, this.sandboxOf(e)));
      files.push(name);
      this.#compiled.set(e.where, path.join(this.project, 'out', `example-${n}.js`));
    }
    const tsconfig = {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        types: ['node'],
        outDir: 'out',
        skipLibCheck: true,
      },
      files,
    };
    await writeFile(path.join(this.project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = spawnSync(
      process.execPath,
      [path.join(this.project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', this.project],
      { cwd: this.project, encoding: 'utf8' },
    );
    // Name the Markdown file and line of each error, not the temp file's.
    const report = `${tsc.stdout}${tsc.stderr}`.replace(
      /example-(\d+)\.ts\((\d+),(\d+)\)/g,
      (_m, n: string, line: string, col: string) => {
        const e = list[Number(n)]!;
        const [file, start] = e.where.split(':');
        return `${file}:${Number(start) + Number(line)}:${col}`;
      },
    );
    assert.equal(tsc.status, 0, `the examples do not type-check against the package:\n${report}`);
  }

  sandboxOf(e: Example): string {
    return path.join(this.dir, 'examples', e.where.replace(/[/:.]/g, '_'));
  }

  /** Prepare the example's sandbox and run it; resolves with its exit status and output. */
  async run(e: Example): Promise<{ status: number | null; output: string }> {
    const sandbox = this.sandboxOf(e);
    await mkdir(path.join(sandbox, 'app'), { recursive: true });
    await writeFile(path.join(sandbox, 'app', 'hello.txt'), 'hello\n');
    await symlink(this.tarball, path.join(sandbox, 'rootfs.tar'));
    const code = this.rewrite(e.code, sandbox);
    for (const m of code.matchAll(ROOT_LITERAL)) (await this.#rootWithBusybox(m[2]!)).close();
    let file = this.#compiled.get(e.where);
    if (e.lang === 'js') {
      file = path.join(this.project, `${path.basename(sandbox)}.mjs`);
      await writeFile(file, code);
    }
    assert.ok(file, `${e.where} was not compiled`);
    const child = spawn(process.execPath, [file], { cwd: sandbox, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    clearTimeout(timer);
    return { status, output };
  }

  async close(): Promise<void> {
    await this.registry?.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

const world = new World();
let ready: Promise<void> | undefined;
after(() => world.close());

test('the Markdown files have library examples to run', () => {
  assert.ok(
    examples.filter((e) => !e.skip).length >= 4,
    `found ${examples.length} examples: ${examples.map((e) => e.where).join(', ')}`,
  );
});

for (const e of examples) {
  test(`${e.where} (${e.lang})`, { skip: e.skip ?? false, timeout: 180_000 }, async () => {
    ready ??= world.init();
    await ready;
    const { status, output } = await world.run(e);
    assert.equal(status, 0, `${e.where} failed:\n${output}`);
    if (e.expect)
      assert.ok(output.includes(e.expect), `${e.where}: the output lacks ${JSON.stringify(e.expect)}:\n${output}`);
  });
}
