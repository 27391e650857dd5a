import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { tempRoot, ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';

let t: Awaited<ReturnType<typeof tempRoot>>;
let tarFile: string;
let bbId: string;

before(async () => {
  t = await tempRoot();
  tarFile = await makeBusyboxTar(t.root);
  bbId = ok(
    await t.cli([
      'import',
      '-c',
      'CMD ["sh"]',
      '-c',
      'ENV A=1 B="two words"',
      '-c',
      'EXPOSE 80 53/udp',
      '-c',
      'WORKDIR /srv',
      '-c',
      'LABEL team=core',
      tarFile,
      'busybox',
    ]),
    'import',
  ).stdout.trim();
});
after(async () => t.cleanup());

test('import prints the image ID and applies --change instructions', async () => {
  assert.match(bbId, /^sha256:[a-f0-9]{64}$/);
  const cfg = JSON.parse(
    ok(await t.cli(['image', 'inspect', '--format', '{{json .Config}}', 'busybox']), 'inspect').stdout,
  );
  assert.deepEqual(cfg.Cmd, ['sh']);
  assert.deepEqual(cfg.Env, ['A=1', 'B=two words']);
  assert.deepEqual(cfg.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
  assert.equal(cfg.WorkingDir, '/srv');
  assert.deepEqual(cfg.Labels, { team: 'core' });
});

test('import from stdin, gzip and xz give the same layer', async () => {
  const plain = await readFile(tarFile);
  const gz = execFileSync('gzip', ['-c', tarFile]);
  const xz = execFileSync('xz', ['-c', tarFile]);
  const ids: string[] = [];
  for (const [name, data] of [
    ['plain', plain],
    ['gz', gz],
    ['xz', xz],
  ] as const) {
    ids.push(
      ok(
        await t.cli(['import', '-m', 'same', '-', `stdin-${name}:1`], { input: data }),
        `import ${name}`,
      ).stdout.trim(),
    );
  }
  const layers = await Promise.all(
    ids.map(async (id) =>
      ok(await t.cli(['inspect', '--format', '{{json .RootFS.Layers}}', id]), 'inspect').stdout.trim(),
    ),
  );
  assert.equal(new Set(layers).size, 1, 'one diff ID whatever the compression');
  const comment = ok(await t.cli(['inspect', '--format', '{{.Comment}}', 'stdin-plain:1']), 'inspect').stdout.trim();
  assert.equal(comment, 'same');
});

test('import rejects an unsupported --change with one clear line', async () => {
  const r = await t.cli(['import', '-c', 'RUN echo hi', tarFile, 'bad:1']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /RUN is not a valid change command/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal((await t.cli(['images', '-q', 'bad'])).stdout, '');
});

test('a corrupt or truncated tarball is refused and leaves the store clean', async () => {
  const data = await readFile(tarFile);
  const truncated = data.subarray(0, 700_000);
  const r1 = await t.cli(['import', '-', 'trunc:1'], { input: truncated });
  assert.notEqual(r1.code, 0);
  const gz = execFileSync('gzip', ['-c', tarFile]);
  const corrupt = Buffer.from(gz);
  corrupt.fill(0x41, 2000, 4000);
  const r2 = await t.cli(['import', '-', 'corrupt:1'], { input: corrupt });
  assert.notEqual(r2.code, 0);
  assert.equal(r2.stderr.trim().split('\n').length, 1, r2.stderr);
  const check = await t.cli(['system', 'check']);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /no problems/);
});

test('images lists names in Docker columns, with -q, --digests, --no-trunc, filters and json', async () => {
  ok(await t.cli(['tag', 'busybox', 'example.com:5000/team/bb:v1']), 'tag');
  const table = ok(await t.cli(['images']), 'images').stdout.split('\n');
  assert.match(table[0]!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  const row = table.find((l) => l.startsWith('busybox '))!;
  assert.match(row, new RegExp(`^busybox\\s+latest\\s+${bbId.slice(7, 19)}\\s+.+ ago\\s+\\d+(\\.\\d+)?[kM]B$`));
  assert.ok(table.some((l) => l.startsWith('example.com:5000/team/bb ')));
  // tabwriter: columns start at the same offsets on every line.
  assert.equal(table[0]!.indexOf('TAG'), row.indexOf('latest'));

  const q = ok(await t.cli(['images', '-q', 'busybox']), 'images -q').stdout.trim();
  assert.equal(q, bbId.slice(7, 19));
  const full = ok(await t.cli(['images', '-q', '--no-trunc', 'busybox']), 'images').stdout.trim();
  assert.equal(full, bbId);
  const dig = ok(await t.cli(['images', '--digests', 'busybox']), 'images').stdout;
  assert.match(dig.split('\n')[0]!, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(dig.split('\n')[1]!, /<none>/);
  const json = ok(await t.cli(['images', '--format', 'json', 'busybox']), 'images')
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(json.length, 1);
  assert.equal(json[0].Repository, 'busybox');
  assert.equal(json[0].ID, bbId.slice(7, 19));
  const tmpl = ok(
    await t.cli(['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=example.com:5000/*/*']),
    'images',
  ).stdout.trim();
  assert.equal(tmpl, 'example.com:5000/team/bb:v1');
  const labelled = ok(await t.cli(['images', '-q', '--filter', 'label=team=core']), 'images')
    .stdout.trim()
    .split('\n');
  assert.ok(labelled.includes(bbId.slice(7, 19)));
  const bad = await t.cli(['images', '--filter', 'nope=1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /invalid filter 'nope'/);
});

test("inspect has Docker's shape, with GraphDriver dirs that exist and diff IDs", async () => {
  const [info] = JSON.parse(ok(await t.cli(['image', 'inspect', 'busybox']), 'inspect').stdout);
  for (const k of [
    'Id',
    'RepoTags',
    'RepoDigests',
    'Parent',
    'Comment',
    'Created',
    'Author',
    'Config',
    'Architecture',
    'Os',
    'Size',
    'GraphDriver',
    'RootFS',
    'Metadata',
  ]) {
    assert.ok(k in info, `missing ${k}`);
  }
  assert.equal(info.Id, bbId);
  assert.ok(info.RepoTags.includes('busybox:latest'));
  assert.equal(info.RootFS.Type, 'layers');
  assert.match(info.RootFS.Layers[0], /^sha256:/);
  const upper = info.GraphDriver.Data.UpperDir as string;
  assert.ok((await readFile(path.join(upper, 'etc/passwd'), 'utf8')).startsWith('root:'));
  assert.equal(
    ok(await t.cli(['inspect', '--format', '{{.Os}}/{{.Architecture}}', 'busybox']), 'inspect').stdout.trim(),
    `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  );
  const miss = await t.cli(['image', 'inspect', 'nope']);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /No such image: nope:latest/);
});

test('history shows Docker columns, -q, --no-trunc and -H=false', async () => {
  const h = ok(await t.cli(['history', 'busybox']), 'history').stdout.split('\n');
  assert.match(h[0]!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.match(h[1]!, new RegExp(`^${bbId.slice(7, 19)}\\s`));
  const q = ok(await t.cli(['history', '-q', '--no-trunc', 'busybox']), 'history').stdout.trim();
  assert.equal(q, bbId);
  const raw = ok(await t.cli(['history', '--human=false', 'busybox']), 'history').stdout.split('\n')[1]!;
  assert.match(raw, /\d{4}-\d\d-\d\dT/);
  assert.match(raw, /\s\d{6,}\s/);
});

test('rmi untags by name, refuses an ID with several names, deletes with -f', async () => {
  const id = ok(await t.cli(['import', tarFile, 'rmtest:a']), 'import').stdout.trim();
  ok(await t.cli(['tag', 'rmtest:a', 'rmtest:b']), 'tag');
  const untag = ok(await t.cli(['rmi', 'rmtest:a']), 'rmi').stdout;
  assert.equal(untag, 'Untagged: rmtest:a\n');
  ok(await t.cli(['tag', 'rmtest:b', 'rmtest:c']), 'tag');
  const conflict = await t.cli(['rmi', id.slice(7, 19)]);
  assert.equal(conflict.code, 1);
  assert.match(
    conflict.stderr,
    /unable to delete [a-f0-9]{12} \(must be forced\) - image is referenced in multiple repositories/,
  );
  const forced = ok(await t.cli(['rmi', '-f', id.slice(7, 19)]), 'rmi -f').stdout;
  assert.match(forced, /Untagged: rmtest:b\n/);
  assert.match(forced, /Untagged: rmtest:c\n/);
  assert.match(forced, new RegExp(`Deleted: ${id}\n`));
  assert.equal((await t.cli(['images', '-q', 'rmtest'])).stdout, '');
  // The busybox layer is shared with other images and must survive.
  assert.equal(ok(await t.cli(['images', '-q', 'busybox']), 'images').stdout.trim(), bbId.slice(7, 19));
  const missing = await t.cli(['rmi', 'nope:1']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No such image: nope:1/);
});

test('image prune removes dangling images only; -a removes unused ones', async () => {
  await writeFile(path.join(t.root, 'extra.txt'), 'x');
  const tar2 = path.join(t.root, 'other.tar');
  execFileSync('tar', ['-C', t.root, '-cf', tar2, 'extra.txt']);
  ok(await t.cli(['import', tar2, 'prune-me:1']), 'import');
  const danglingId = ok(await t.cli(['import', '-m', 'dangling', tar2, 'prune-me:1']), 'import').stdout.trim();
  // Re-pointing the tag leaves the first image dangling.
  const dangling = ok(await t.cli(['images', '-q', '--no-trunc', '--filter', 'dangling=true']), 'images')
    .stdout.trim()
    .split('\n');
  assert.equal(dangling.length, 1);
  assert.notEqual(dangling[0], danglingId);
  const pr = ok(await t.cli(['image', 'prune', '-f']), 'prune').stdout;
  assert.match(pr, /^Deleted Images:\ndeleted: sha256:/);
  assert.match(pr, /Total reclaimed space: /);
  assert.equal(ok(await t.cli(['images', '-q', '--filter', 'dangling=true']), 'images').stdout, '');
  assert.equal(ok(await t.cli(['images', '-q', 'prune-me']), 'images').stdout.trim(), danglingId.slice(7, 19));
  const check = ok(await t.cli(['system', 'check']), 'check');
  assert.match(check.stdout, /no problems/);
});

test('invalid references are one clear error line with a non-zero exit', async () => {
  for (const bad of ['Upper', 'a//b', 'x:bad tag!', 'a:', 'ns/Repo:1']) {
    const r = await t.cli(['tag', 'busybox', bad]);
    assert.notEqual(r.code, 0, bad);
    assert.match(r.stderr, /invalid reference format/, bad);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
