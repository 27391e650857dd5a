import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ok } from '../../helpers/cli.js';
import { makeBusyboxTar } from '../../helpers/busybox.js';
import { dockerdAvailable, startDockerd } from '../../helpers/dockerd.js';
import { withBusybox, type Fixture } from './fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-ctr-diff-', async (rootfs) => {
    await fsp.mkdir(path.join(rootfs, 'data/sub'), { recursive: true });
    await fsp.writeFile(path.join(rootfs, 'data/sub/old'), 'old\n');
    await fsp.writeFile(path.join(rootfs, 'data/keep'), 'keep\n');
  });
});
after(async () => {
  await f?.cleanup();
});

// The same steps for wharf and for docker: add, change, delete, an opaque (replaced) directory.
const STEPS =
  'echo new > /new.txt; echo more >> /etc/passwd; rm /bin/wget; mkdir -p /tmp/d; echo x > /tmp/d/f; rm -rf /data/sub; mkdir /data/sub; echo n > /data/sub/n';

test('diff lists A/C/D from the writable layer, parents marked C; the init files stay out', async () => {
  ok(await f.cli(['run', '--name', 'd1', 'busybox', 'sh', '-c', STEPS]), 'run');
  const diff = ok(await f.cli(['diff', 'd1']), 'diff')
    .stdout.split('\n')
    .filter(Boolean);
  assert.deepEqual(diff, [
    'C /bin',
    'D /bin/wget',
    'C /data',
    'C /data/sub',
    'A /data/sub/n',
    'D /data/sub/old',
    'C /etc',
    'C /etc/passwd',
    'A /new.txt',
    'C /tmp',
    'A /tmp/d',
    'A /tmp/d/f',
  ]);
  // a fresh container has no changes at all (hostname, hosts, resolv.conf live in the init layer)
  ok(await f.cli(['run', '--name', 'd0', 'busybox', 'true']), 'run');
  assert.equal(ok(await f.cli(['diff', 'd0']), 'diff').stdout, '');
  ok(await f.cli(['rm', 'd0']), 'rm');
});

test('commit makes one layer; the committed image runs with the changes, the config and history carry the options', async () => {
  const id = ok(
    await f.cli([
      'commit',
      '-m',
      'my change',
      '-a',
      'Ann <ann@example.com>',
      '-c',
      'ENV FOO=bar',
      '-c',
      'CMD ["cat", "/new.txt"]',
      'd1',
      'committed:v1',
    ]),
    'commit',
  ).stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const out = ok(await f.cli(['run', '--rm', 'committed:v1']), 'run committed').stdout;
  assert.equal(out, 'new\n');
  const r = ok(
    await f.cli([
      'run',
      '--rm',
      'committed:v1',
      'sh',
      '-c',
      'echo $FOO; ls /bin/wget 2>&1; cat /data/sub/n; ls /data/sub; cat /tmp/d/f; cat /etc/hostname',
    ]),
    'run',
  );
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'bar');
  assert.match(lines[1]!, /No such file/);
  assert.equal(lines[2], 'n');
  assert.equal(lines[3], 'n', 'the opaque directory hides the old content');
  assert.equal(lines[4], 'x');
  assert.notEqual(lines[5], id.slice(7, 19), 'the new container has its own hostname');
  const img = JSON.parse(ok(await f.cli(['image', 'inspect', 'committed:v1']), 'inspect').stdout)[0];
  assert.equal(img.RootFS.Layers.length, 2);
  assert.equal(img.Author, 'Ann <ann@example.com>');
  assert.ok(img.Config.Env.includes('FOO=bar'));
  assert.deepEqual(img.Config.Cmd, ['cat', '/new.txt']);
  const hist = ok(
    await f.cli(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'committed:v1']),
    'history',
  ).stdout;
  assert.equal(hist.split('\n')[0], `sh -c ${STEPS}|my change`);

  // the layer holds no hostname/hosts/resolv.conf
  const tarFile = path.join(f.root, 'saved.tar');
  ok(await f.cli(['save', '-o', tarFile, 'committed:v1']), 'save');
  const { execFileSync } = await import('node:child_process');
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-saved-'));
  try {
    execFileSync('tar', ['-xf', tarFile, '-C', dir]);
    const manifest = JSON.parse(await fsp.readFile(path.join(dir, 'manifest.json'), 'utf8'))[0];
    const top = manifest.Layers[manifest.Layers.length - 1];
    const names = execFileSync('tar', ['-tf', path.join(dir, top)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    assert.ok(
      names.some((n) => /(^|\/)bin\/\.wh\.wget$/.test(n)),
      'whiteout for the deleted file',
    );
    assert.ok(
      names.some((n) => /data\/sub\/\.wh\.\.wh\.\.opq$/.test(n)),
      'opaque marker kept',
    );
    assert.ok(
      !names.some((n) => /etc\/(hostname|hosts|resolv\.conf)$/.test(n)),
      `no per-container files: ${names.join(' ')}`,
    );
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rm(tarFile, { force: true });
  }
});

test('commit rejects an unsupported --change with one clear line and creates nothing', async () => {
  const before = ok(await f.cli(['images', '-q']), 'images').stdout;
  const r = await f.cli(['commit', '-c', 'RUN echo hi', 'd1', 'bad:one']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /RUN is not a valid change command/);
  assert.equal(ok(await f.cli(['images', '-q']), 'images').stdout, before);
});

test('commit of a running container leaves it running and its writable layer in place', async () => {
  ok(await f.cli(['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo hot > /hot; sleep 300']), 'run');
  for (let i = 0; i < 50 && !(await f.cli(['diff', 'live'])).stdout.includes('/hot'); i++)
    await new Promise((r) => setTimeout(r, 100));
  ok(await f.cli(['commit', 'live', 'livecopy']), 'commit');
  assert.match(ok(await f.cli(['ps', '--filter', 'name=live']), 'ps').stdout, /Up .* live/);
  ok(await f.cli(['exec', 'live', 'sh', '-c', 'echo more > /hot2']), 'exec after commit');
  assert.match(ok(await f.cli(['diff', 'live']), 'diff').stdout, /A \/hot2/);
  assert.equal(ok(await f.cli(['run', '--rm', 'livecopy', 'cat', '/hot']), 'run').stdout, 'hot\n');
  ok(await f.cli(['rm', '-f', 'live']), 'rm');
  assert.equal(ok(await f.cli(['system', 'check']), 'check').code, 0);
});

test('diff and history after commit match a real dockerd', {
  skip: !dockerdAvailable() && 'no dockerd here',
}, async () => {
  const d = await startDockerd();
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'wharf-dockercmp-'));
  try {
    const tar = await makeBusyboxTar(dir, async (rootfs) => {
      await fsp.writeFile(path.join(rootfs, 'var/www/index.html'), 'hello from wharf\n');
      await fsp.mkdir(path.join(rootfs, 'data/sub'), { recursive: true });
      await fsp.writeFile(path.join(rootfs, 'data/sub/old'), 'old\n');
      await fsp.writeFile(path.join(rootfs, 'data/keep'), 'keep\n');
    });
    const imp = await d.docker(['import', '-c', 'CMD ["sh"]', tar, 'busybox']);
    assert.equal(imp.code, 0, imp.stderr);
    const run = await d.docker(['run', '--network', 'none', '--name', 'd1', 'busybox', 'sh', '-c', STEPS]);
    assert.equal(run.code, 0, run.stderr);
    const dockerDiff = (await d.docker(['diff', 'd1'])).stdout.split('\n').filter(Boolean).sort();
    const wharfDiff = ok(await f.cli(['diff', 'd1']), 'diff')
      .stdout.split('\n')
      .filter(Boolean)
      .sort();
    assert.deepEqual(wharfDiff, dockerDiff);

    assert.equal((await d.docker(['commit', '-m', 'cmp', '-a', 'Ann', 'd1', 'cmp:1'])).code, 0);
    ok(await f.cli(['commit', '-m', 'cmp', '-a', 'Ann', 'd1', 'cmp:1']), 'commit');
    const fmt = ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Comment}}', 'cmp:1'];
    const dockerHist = (await d.docker(fmt)).stdout;
    const wharfHist = ok(await f.cli(fmt), 'history').stdout;
    // the import line differs only by the source name (docker's CLI streams the tar: "Imported from -")
    assert.equal(wharfHist.split('\n')[0], dockerHist.split('\n')[0]);
    assert.equal(wharfHist.split('\n').length, dockerHist.split('\n').length);
    const sizeFmt = ['history', '--format', '{{.Size}}', 'cmp:1'];
    assert.equal(
      ok(await f.cli(sizeFmt), 'history').stdout.split('\n').length,
      (await d.docker(sizeFmt)).stdout.split('\n').length,
    );
  } finally {
    await d.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
