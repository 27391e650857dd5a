/**
 * A failed RUN step's container, side by side with Docker's classic builder (a private dockerd 20.10 with
 * DOCKER_BUILDKIT=0): by default it is kept (`--rm` removes the containers of successful steps only), Exited with the
 * step's code, on the previous step's image, with what the step wrote; `--force-rm` removes it and says so.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok, tempRoot, type CliResult } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';

process.env.DOCKER_BUILDKIT = '0';

let t: Awaited<ReturnType<typeof tempRoot>>;
let d: Dockerd;
let ctxDir: string;

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  t = await tempRoot('wharf-failed-step-');
  const tar = await makeBusyboxTar(t.root);
  ok(await t.cli(['import', '-c', 'CMD ["sh"]', tar, 'busybox']), 'import busybox');
  const archive = path.join(t.root, 'busybox.tar');
  ok(await t.cli(['save', 'busybox', '-o', archive]), 'save');
  d = await startDockerd();
  const loaded = await d.docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
  ctxDir = path.join(t.root, 'ctx');
  await fsp.mkdir(ctxDir);
  await fsp.writeFile(
    path.join(ctxDir, 'Dockerfile'),
    'FROM busybox\nRUN echo one > /one\nRUN echo two > /two && exit 3\n',
  );
});

after(async () => {
  await d?.stop();
  await t?.cleanup();
});

type Cli = (args: string[]) => Promise<CliResult>;
const engines = (): Array<[string, Cli]> => [
  ['docker', (a) => d.docker(a)],
  ['wharf', (a) => t.cli(a)],
];

/** What a build of the failing Dockerfile leaves, seen as `ps -a` shows it. */
async function buildAndLook(cli: Cli, flags: string[]) {
  const before = (await cli(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  const r = await cli(['build', ...flags, ctxDir]);
  const out = r.stdout.replace(/\r/g, '\n');
  const ran = [...out.matchAll(/ ---> Running in ([0-9a-f]{12})/g)].map((m) => m[1]!);
  const stepImages = [...out.matchAll(/^ ---> ([0-9a-f]{12})$/gm)].map((m) => m[1]!);
  const after = (await cli(['ps', '-aq', '--no-trunc'])).stdout.trim().split('\n').filter(Boolean);
  const added = after.filter((id) => !before.includes(id));
  return { r, out, ran, stepImages, added };
}

test("a failed step's container is kept by default, Exited with the step's code, as the classic builder keeps it", async () => {
  for (const [name, cli] of engines()) {
    const { r, ran, stepImages, added } = await buildAndLook(cli, []);
    assert.equal(r.code, 3, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /The command '\/bin\/sh -c echo two > \/two && exit 3' returned a non-zero code: 3\n$/);
    assert.equal(added.length, 1, `${name}: one container kept`);
    const kept = added[0]!;
    assert.equal(kept.slice(0, 12), ran.at(-1), `${name}: the container the build ran`);
    const row = (await cli(['ps', '-a', '--filter', `id=${kept}`, '--format', '{{.Image}}|{{.Command}}|{{.Status}}']))
      .stdout;
    const [image, command, status] = row.trim().split('|');
    assert.equal(image, stepImages.at(-1), `${name}: on the previous step's image, by short ID`);
    assert.equal(command, `"/bin/sh -c 'echo tw…"`, name);
    assert.match(status!, /^Exited \(3\) /, name);
    assert.equal((await cli(['diff', kept])).stdout, 'A /two\n', `${name}: what the step wrote`);
    const state = await cli(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{json .Config.Cmd}}', kept]);
    assert.equal(state.stdout, 'exited 3 ["/bin/sh","-c","echo two > /two && exit 3"]\n', name);
    assert.equal((await cli(['rm', kept])).code, 0, name);
  }
});

test("--force-rm removes the failed step's container and says so", async () => {
  for (const [name, cli] of engines()) {
    const { r, out, ran, added } = await buildAndLook(cli, ['--force-rm']);
    assert.equal(r.code, 3, `${name}: ${r.stderr}`);
    assert.deepEqual(added, [], name);
    assert.match(out, new RegExp(`Running in ${ran.at(-1)}\\nRemoving intermediate container ${ran.at(-1)}\\n`), name);
  }
});
