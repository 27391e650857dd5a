/**
 * Build RUN steps under the engine-wide `userns-remap` (Wharf's config file): each step runs in a remapped user
 * namespace of its own, as dockerd's build containers do, and its layer is stored with the step's own ids (root as
 * 0), so the same Dockerfile gives the same layers with and without remapping.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fsp, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from '../container/fixture.js';
import { UsernsRanges } from '../../../src/container/userns.js';
import { openMetaDb } from '../../../src/meta/index.js';

// As test/integration/container/userns.test.ts: the `wharf` user's subordinate ids, added for this file if missing.
const SUBID_LINE = 'wharf:1000000:10000000\n';
const added: Array<{ file: string; text: string }> = [];
function ensureSubids(): void {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // no file yet
    }
    if (/^wharf:/m.test(text)) continue;
    added.push({ file, text });
    writeFileSync(file, `${text}${text && !text.endsWith('\n') ? '\n' : ''}${SUBID_LINE}`);
  }
}

const DOCKERFILE = `FROM busybox
RUN cat /proc/self/uid_map > /uid_map && id -u > /id_u && echo made > /made
RUN mkdir /data && echo x > /data/by1000 && chown 1000:1000 /data/by1000
RUN --mount=type=cache,target=/cache touch /cache/f && stat -c %u /cache/f > /cache_owner
`;

let f: Fixture;
let remapEnv: NodeJS.ProcessEnv;
let ctx: string;
before(async () => {
  ensureSubids();
  f = await withBusybox('wharf-build-userns-');
  const conf = path.join(f.root, 'conf');
  await fsp.mkdir(conf);
  await fsp.writeFile(path.join(conf, 'config.json'), JSON.stringify({ 'userns-remap': 'default' }));
  remapEnv = { ...process.env, WHARF_CONFIG: conf };
  ctx = path.join(f.root, 'ctx');
  await fsp.mkdir(ctx);
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), DOCKERFILE);
});
after(async () => {
  await f?.cleanup();
  for (const a of added) writeFileSync(a.file, a.text);
});

const layersOf = async (ref: string, env?: NodeJS.ProcessEnv): Promise<string[]> =>
  JSON.parse(
    ok(await f.cli(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', ref], env ? { env } : {}), 'inspect').stdout,
  ) as string[];

test('userns-remap: RUN steps run remapped, their layers hold root as 0, and digests equal a plain build', async () => {
  ok(await f.cli(['build', '--no-cache', '-t', 'remapped', ctx], { env: remapEnv, timeoutMs: 120_000 }), 'build');
  // What the step saw: a remapped range, and root inside.
  const seen = ok(
    await f.cli(['run', '--rm', '--userns=host', 'remapped', 'cat', '/uid_map', '/id_u'], { env: remapEnv }),
    'run',
  ).stdout.split('\n');
  const map = seen[0]!.trim().split(/\s+/).map(Number);
  assert.equal(map[0], 0);
  assert.ok(map[1]! >= 1000000, `the step ran in an unprivileged host range: ${seen[0]}`);
  assert.equal(seen[1], '0', 'RUN id -u prints 0');
  // What the layers hold: the step's own ids (a plain container of the image sees them as written).
  const owners = ok(
    await f.cli(
      ['run', '--rm', '--userns=host', 'remapped', 'stat', '-c', '%u:%g %n', '/made', '/data', '/data/by1000'],
      {
        env: remapEnv,
      },
    ),
    'stat',
  ).stdout;
  assert.equal(owners, '0:0 /made\n0:0 /data\n1000:1000 /data/by1000\n');
  // A cache mount is idmapped too: the step's root may write to it, and sees its files as its own.
  assert.equal(
    ok(await f.cli(['run', '--rm', '--userns=host', 'remapped', 'cat', '/cache_owner'], { env: remapEnv }), 'cat')
      .stdout,
    '0\n',
  );
  const cached = execFileSync('find', [f.root, '-path', '*cache*', '-name', 'f', '-type', 'f', '-printf', '%U:%G\n'], {
    encoding: 'utf8',
  });
  assert.equal(cached, '0:0\n', 'the cache holds what the step wrote with its own ids');
  // And the layer tar itself (`save`): root as 0, the chown as 1000.
  const tar = path.join(f.root, 'remapped.tar');
  ok(await f.cli(['save', '-o', tar, 'remapped'], { env: remapEnv }), 'save');
  const x = path.join(f.root, 'x');
  await fsp.mkdir(x);
  execFileSync('tar', ['-xf', tar, '-C', x]);
  const manifest = JSON.parse(await fsp.readFile(path.join(x, 'manifest.json'), 'utf8')) as Array<{ Layers: string[] }>;
  const last = manifest[0]!.Layers.at(-2)!; // the chown step (the last is the cache step)
  const listing = execFileSync('tar', ['--numeric-owner', '-tvf', path.join(x, last)], { encoding: 'utf8' });
  assert.match(listing, /^drwx\S* 0\/0 .* data\/$/m);
  assert.match(listing, /^-\S* 1000\/1000 .* data\/by1000$/m);
  // The ranges went back: no step holds one after the build.
  const db = openMetaDb(f.root);
  try {
    assert.deepEqual(new UsernsRanges(db).all(), []);
  } finally {
    db.close();
  }
  // Without remapping (no config), the same Dockerfile gives the same layers, except the step that records the map
  // (`--timestamp` clamps the files' times, which differ from build to build anyway).
  await fsp.writeFile(
    path.join(ctx, 'Dockerfile'),
    DOCKERFILE.replace('cat /proc/self/uid_map', 'echo "         0          0 4294967295"'),
  );
  ok(
    await f.cli(['build', '--no-cache', '--timestamp', '1', '-t', 'remapped2', ctx], {
      env: remapEnv,
      timeoutMs: 120_000,
    }),
    'build',
  );
  ok(
    await f.cli(['build', '--no-cache', '--timestamp', '1', '-t', 'plain', ctx], { timeoutMs: 120_000 }),
    'build plain',
  );
  assert.deepEqual(
    await layersOf('remapped2'),
    await layersOf('plain'),
    'the same layer digests with and without remap',
  );
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), DOCKERFILE);
});

test("userns-remap: a killed build's step range is the build sweep's, not system check's", async () => {
  // What a build killed during a remapped step leaves: its range, under a step directory whose build is gone.
  const stale = `build-${'ab'.repeat(32)}`;
  const db = openMetaDb(f.root);
  try {
    new UsernsRanges(db).allocate(
      stale,
      65536,
      { uids: [{ start: 1000000, size: 10000000 }], gids: [{ start: 1000000, size: 10000000 }] },
      'wharf',
    );
  } finally {
    db.close();
  }
  const check = ok(await f.cli(['system', 'check']), 'check');
  assert.doesNotMatch(check.stdout + check.stderr, /user namespace range/);
  // (And `--network=none` under remap: a namespace of the step's own, made inside its user namespace by runc.)
  await fsp.writeFile(
    path.join(f.root, 'ctx', 'Dockerfile'),
    'FROM busybox\nRUN --network=none ip -o link | wc -l; cat /proc/self/uid_map\n',
  );
  const out = ok(
    await f.cli(['build', '--no-cache', path.join(f.root, 'ctx')], { env: remapEnv, timeoutMs: 120_000 }),
    'build',
  ).stdout;
  assert.match(out, /^1\n\s+0\s+[1-9]\d{6,}\s+65536$/m, 'only a loopback, in a remapped step');
  const after = openMetaDb(f.root);
  try {
    assert.deepEqual(new UsernsRanges(after).all(), [], "the next build's sweep gave it back");
  } finally {
    after.close();
  }
  await fsp.writeFile(path.join(f.root, 'ctx', 'Dockerfile'), DOCKERFILE);
});
