/** podman as a client of `wharf registry serve`: pull what wharf pushed, push its own, list and search. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { tempRoot, ok, WHARF_BIN } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';

const execFileP = promisify(execFile);
let t: Awaited<ReturnType<typeof tempRoot>>;
let reg: ChildProcess;
let host: string;
let pm: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const podman = async (args: string[]) => {
  const { stdout } = await execFileP(
    'podman',
    ['--root', path.join(pm, 'root'), '--runroot', path.join(pm, 'run'), '--storage-driver', 'vfs', ...args],
    {
      timeout: 120_000,
    },
  );
  return stdout;
};

before(async () => {
  t = await tempRoot();
  pm = await mkdtemp(path.join(tmpdir(), 'wharf-podman-'));
  host = `127.0.0.1:${await freePort()}`;
  reg = spawn(WHARF_BIN, ['--root', t.root, 'registry', 'serve', '--addr', host], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${host}/v2/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  ok(await t.cli(['import', '-c', 'CMD ["sh"]', await makeBusyboxTar(t.root), `${host}/pm/bb:1`]), 'import');
  ok(await t.cli(['push', `${host}/pm/bb:1`]), 'push');
});
after(async () => {
  reg?.kill('SIGTERM');
  await new Promise((r) => (reg?.exitCode !== null ? r(undefined) : reg.once('exit', r)));
  await execFileP('sh', ['-c', `grep -o " ${pm}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`]).catch(
    () => {},
  );
  await rm(pm, { recursive: true, force: true });
  await t?.cleanup();
});

test('podman pulls what wharf pushed, pushes a new tag, and wharf pulls that back', async () => {
  await podman(['pull', '--tls-verify=false', `${host}/pm/bb:1`]);
  const id = (await podman(['image', 'inspect', '--format', '{{.Id}}', `${host}/pm/bb:1`])).trim();
  const ours = ok(await t.cli(['images', '-q', '--no-trunc', `${host}/pm/bb:1`]), 'images').stdout.trim();
  assert.equal(`sha256:${id}`, ours);
  await podman(['tag', `${host}/pm/bb:1`, `${host}/pm/from-podman:2`]);
  await podman(['push', '--tls-verify=false', `${host}/pm/from-podman:2`]);
  const tags = await (await fetch(`http://${host}/v2/pm/from-podman/tags/list`)).json();
  assert.deepEqual(tags, { name: 'pm/from-podman', tags: ['2'] });
  const t2 = await tempRoot();
  try {
    ok(await t2.cli(['pull', `${host}/pm/from-podman:2`]), 'pull');
    assert.equal(ok(await t2.cli(['images', '-q', '--no-trunc']), 'images').stdout.trim(), ours);
  } finally {
    await t2.cleanup();
  }
});

test("podman search lists the registry's repositories", async () => {
  const out = await podman(['search', '--tls-verify=false', '--format', '{{.Name}}', `${host}/pm`]);
  const names = out.trim().split('\n');
  assert.ok(names.includes(`${host}/pm/bb`), out);
});
