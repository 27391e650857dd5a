/**
 * Every shell example (and registry configuration) in README.md and docs/*.md runs, as a reader would type it, against
 * the built CLI.
 *
 * The examples are the fenced blocks tagged `sh` (or `bash`, `shell`) and `console`. An `sh` block is a script, run
 * with `bash -e`; it passes when it exits 0 within two minutes. In a `console` block the lines starting with `$ ` are
 * commands (run in order by one `bash -e`) and the lines after each command are what it prints: the command's output
 * (stdout and stderr) must contain them, modulo whitespace. A `yaml` block is a registry configuration: it must load
 * (`wharf registry gc --dry-run --config` reads it as `wharf registry serve --config` does).
 *
 * The world an example runs in, fresh for each block:
 * - `wharf` on PATH is this checkout's `bin/wharf`, and `WHARF_ROOT` a fresh root that already holds `busybox` (as
 *   after `wharf import -c 'CMD ["sh"]' rootfs.tar busybox`); HOME is an empty directory of the sandbox;
 * - the working directory holds `rootfs.tar` (a busybox root file system) and `app/` (a build context with one file,
 *   `hello.txt`);
 * - paths under `/etc/wharf`, `/tmp` and `/var/lib/wharf` are moved into the sandbox (whose `etc/wharf` and `tmp`
 *   exist);
 * - `localhost:5000` and `127.0.0.1:5000` are a registry the test serves on a free loopback port, holding
 *   `localhost:5000/busybox`; in a block that starts `wharf registry serve` itself they are a free loopback port
 *   instead, for that server.
 * Whatever a block leaves running (a server it put in the background) is stopped with its process group when the block
 * ends. The markers `<!-- test: expect TEXT -->` and `<!-- test: skip REASON -->` work as in doc-examples.test.ts;
 * a skip's REASON must also be in test/skip-allowlist.json, or CI fails the run.
 *
 * Needs `npm run build` first (bin/wharf runs dist/) and root.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { makeBusyboxTar } from '../helpers/busybox.js';
import { ok, REPO, runCli, tempRoot, WHARF_BIN } from '../helpers/cli.js';
import { docBlocks, parseConsole, squeezeSpace, type DocBlock } from '../helpers/doc-blocks.js';
import { serveRegistry, type ServedRegistry } from '../helpers/registry-serve.js';

type Example = DocBlock<'sh' | 'console' | 'yaml'>;

const LANGS: Record<string, 'sh' | 'console' | 'yaml'> = {
  sh: 'sh',
  bash: 'sh',
  shell: 'sh',
  console: 'console',
  yaml: 'yaml',
  yml: 'yaml',
};

const examples = docBlocks(LANGS);

/** An absolute path a reader's machine has and the sandbox moves: /etc/wharf/…, /tmp/…, /var/lib/wharf/…. */
const MOVED_PATH = /(?<![\w./-])\/(?:etc\/wharf|tmp|var\/lib\/wharf)(?![\w-])/g;
const REGISTRY_5000 = /\b(?:localhost|127\.0\.0\.1):5000\b/g;
const NAMES_5000 = /\b(?:localhost|127\.0\.0\.1):5000\b/;
const STARTS_REGISTRY = /\bwharf registry serve\b/;
const STEP_MARK = '@@wharf-doc-step@@';

/** A loopback port nothing listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** The shared set-up, made once when the first example needs it. */
class World {
  dir = '';
  tarball = '';
  /** Holds `wharf`, a link to this checkout's bin/wharf, for PATH. */
  bin = '';
  /** host:port of the test's registry. */
  registry = '';
  #server: ServedRegistry | undefined;
  #cleanup: (() => Promise<void>) | undefined;

  async init(): Promise<void> {
    assert.ok(existsSync(path.join(REPO, 'dist', 'index.js')), 'run `npm run build` first');
    const tmp = await tempRoot('wharf-doc-sh-');
    this.dir = tmp.root;
    this.#cleanup = tmp.cleanup;
    // Searchable by others, as the directories above a Wharf root must be for `--userns=auto` (docs/security.md).
    await chmod(this.dir, 0o711);
    this.tarball = await makeBusyboxTar(this.dir);
    this.bin = path.join(this.dir, 'bin');
    await mkdir(this.bin);
    await symlink(WHARF_BIN, path.join(this.bin, 'wharf'));
    if (examples.some((e) => !e.skip && NAMES_5000.test(e.code) && !STARTS_REGISTRY.test(e.code)))
      await this.#startRegistry();
  }

  /** `wharf registry serve` on a free loopback port, holding busybox, for the examples that name localhost:5000. */
  async #startRegistry(): Promise<void> {
    this.#server = await serveRegistry(path.join(this.dir, 'registry-root'));
    this.registry = this.#server.host;
    const seed = path.join(this.dir, 'seed');
    ok(await this.#importBusybox(seed), 'import busybox');
    ok(await runCli(seed, ['tag', 'busybox', `${this.registry}/busybox:latest`]), 'tag');
    ok(await runCli(seed, ['push', `${this.registry}/busybox:latest`]), 'push busybox');
  }

  #importBusybox(root: string) {
    return runCli(root, ['import', '-c', 'CMD ["sh"]', this.tarball, 'busybox']);
  }

  /** The example as it runs in `sandbox`: its paths moved there, port 5000 the one given. */
  rewrite(code: string, sandbox: string, registry: string): string {
    return code.replace(MOVED_PATH, (p) => path.join(sandbox, 'fs', p)).replace(REGISTRY_5000, registry);
  }

  /** Prepare the example's sandbox and run it with bash -e; resolves with its exit status and output. */
  async run(e: Example): Promise<{ status: number | null; output: string; registry: string; sandbox: string }> {
    const sandbox = path.join(this.dir, 'examples', e.where.replace(/[/:.]/g, '_'));
    const root = path.join(sandbox, 'root');
    const home = path.join(sandbox, 'home');
    for (const d of ['app', 'fs/etc/wharf', 'fs/tmp', home]) await mkdir(path.resolve(sandbox, d), { recursive: true });
    await writeFile(path.join(sandbox, 'app', 'hello.txt'), 'hello\n');
    await symlink(this.tarball, path.join(sandbox, 'rootfs.tar'));
    ok(await this.#importBusybox(root), 'import busybox');
    const registry = STARTS_REGISTRY.test(e.code) ? `127.0.0.1:${await freePort()}` : this.registry;
    let script = this.rewrite(e.code, sandbox, registry);
    if (e.lang === 'yaml') {
      // `wharf registry gc --dry-run` reads the file as `serve` does (the same loader) without binding a port.
      await writeFile(path.join(sandbox, 'registry.yml'), `${script}\n`);
      script = 'wharf registry gc --dry-run --config registry.yml';
    } else if (e.lang === 'console') {
      // One bash for all the commands (they share the shell's state), a mark before each to split the output.
      const steps = parseConsole(script);
      script = ['exec 2>&1', ...steps.flatMap((s) => [`printf '\\n%s\\n' '${STEP_MARK}'`, s.command])].join('\n');
    }
    const file = path.join(sandbox, 'example.sh');
    await writeFile(file, `${script}\n`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${this.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      WHARF_ROOT: root,
      HOME: home,
    };
    // Nothing of the test's own environment configures the example's wharf.
    for (const k of Object.keys(env)) if (/^(?:REGISTRY_|WHARF_(?!ROOT$)|DOCKER_CONFIG$)/.test(k)) delete env[k];
    // Its own process group, so that what the example leaves in the background is stopped with it.
    const child = spawn('bash', ['-e', file], { cwd: sandbox, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // the group is gone
      }
    };
    const timer = setTimeout(() => killGroup('SIGKILL'), 120_000);
    const status = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    clearTimeout(timer);
    killGroup('SIGTERM');
    const straggler = setTimeout(() => killGroup('SIGKILL'), 10_000);
    if (child.stdout!.readable || child.stderr!.readable) await new Promise((resolve) => child.once('close', resolve));
    clearTimeout(straggler);
    return { status, output, registry, sandbox };
  }

  async close(): Promise<void> {
    await this.#server?.stop();
    await this.#cleanup?.();
  }
}

const world = new World();
let ready: Promise<void> | undefined;
after(() => world.close());

test('the Markdown files have shell examples to run', () => {
  assert.ok(
    examples.filter((e) => !e.skip && e.lang !== 'yaml').length >= 2,
    `found ${examples.length} shell examples: ${examples.map((e) => e.where).join(', ')}`,
  );
});

for (const e of examples) {
  test(`${e.where} (${e.lang})`, { skip: e.skip ?? false, timeout: 180_000 }, async () => {
    ready ??= world.init();
    await ready;
    const { status, output, registry, sandbox } = await world.run(e);
    assert.equal(status, 0, `${e.where} failed:\n${output}`);
    if (e.expect)
      assert.ok(output.includes(e.expect), `${e.where}: the output lacks ${JSON.stringify(e.expect)}:\n${output}`);
    if (e.lang !== 'console') return;
    const outputs = output.split(`\n${STEP_MARK}\n`).slice(1);
    const steps = parseConsole(world.rewrite(e.code, sandbox, registry));
    assert.equal(
      outputs.length,
      steps.length,
      `${e.where}: ${steps.length} commands, ${outputs.length} outputs:\n${output}`,
    );
    for (const [i, s] of steps.entries()) {
      const got = squeezeSpace(outputs[i]!);
      assert.ok(
        got.includes(squeezeSpace(s.expected)),
        `${e.where}: \`${s.command}\` printed\n${outputs[i]}\nwhich lacks\n${s.expected}`,
      );
    }
  });
}
