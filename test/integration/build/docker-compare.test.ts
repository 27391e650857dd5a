/**
 * The same Dockerfiles built by a real dockerd (classic builder) and by Wharf: output shape, history lines, config
 * and the files of every layer must agree. Only IDs, times and the COPY source hashes (Docker's tarsum) may differ.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import tar from 'tar-stream';
import { ok } from '../../helpers/cli.js';
import { dockerdAvailable, startDockerd, type Dockerd } from '../../helpers/dockerd.js';
import { rootWithBusybox, makeContext, imageLayers, tarEntries, type Root, type LayerEntry } from './helpers.js';

process.env.DOCKER_BUILDKIT = '0';
let t: Root;
let d: Dockerd;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  if (!dockerdAvailable()) throw new Error('dockerd is not installed');
  ({ t } = await rootWithBusybox());
  d = await startDockerd();
  const archive = path.join(t.root, 'busybox-save.tar');
  ok(await t.cli(['save', 'busybox', '-o', archive]), 'save busybox');
  const loaded = await d.docker(['load', '-i', archive]);
  assert.equal(loaded.code, 0, loaded.stderr);
});
after(async () => {
  await d?.stop();
  for (const c of cleanups) await c();
  await t?.cleanup();
});

const normalizeOutput = (s: string) =>
  s
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => !/DEPRECATED|BuildKit is currently disabled|environment-variable\.|^\s*$/.test(l))
    .map((l) => l.replace(/[a-f0-9]{12}/g, '<id>'))
    .join('\n');

const normalizeHistory = (s: string) => s.replace(/(file|dir|multi):[a-f0-9]{64}/g, '$1:<hash>');

async function dockerLayers(image: string): Promise<LayerEntry[][]> {
  const saved = await d.docker(['save', image, '-o', path.join(t.root, `${image}.docker.tar`)]);
  assert.equal(saved.code, 0, saved.stderr);
  const files = new Map<string, Buffer>();
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      files.set(e.header.name, Buffer.concat(chunks));
    }
  })();
  ex.end(await readFile(path.join(t.root, `${image}.docker.tar`)));
  await done;
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Layers: string[] }>;
  const out: LayerEntry[][] = [];
  for (const layer of manifest[0]!.Layers) {
    const entries = await tarEntries(files.get(layer)!);
    out.push(entries);
  }
  return out;
}

// Go's tar writer keeps the file type bits in the mode field (0o40755); only the permission bits compare.
const tree = (layers: LayerEntry[][]) =>
  layers.map((l) => l.map((e) => JSON.stringify({ ...e, mode: (e.mode & 0o7777).toString(8) })).sort());

// Docker's CLI leaves out empty fields in `{{json .Config}}`; only what is set is compared.
function comparableConfig(c: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (k === 'Image' || k === 'Hostname' || v === null || v === '' || v === false) continue;
    if (typeof v === 'object' && Object.keys(v as object).length === 0) continue;
    copy[k] = v;
  }
  return copy;
}

async function compare(
  name: string,
  files: Record<string, string>,
  args: string[] = [],
  modes: Record<string, number> = {},
): Promise<void> {
  const c = await makeContext(files);
  cleanups.push(c.cleanup);
  for (const [f, m] of Object.entries(modes)) await chmod(path.join(c.dir, f), m);
  const theirs = await d.docker(['build', ...args, '-t', name, c.dir]);
  const ours = await t.cli(['build', ...args, '-t', name, c.dir]);
  assert.equal(
    ours.code,
    theirs.code,
    `exit codes: docker ${theirs.code} (${theirs.stderr}), wharf ${ours.code} (${ours.stderr})`,
  );
  assert.equal(normalizeOutput(ours.stdout), normalizeOutput(theirs.stdout), 'classic builder output');
  if (theirs.code !== 0) {
    assert.equal(normalizeOutput(ours.stderr).trim(), normalizeOutput(theirs.stderr).trim());
    return;
  }
  const fmt = ['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}', name];
  const dh = await d.docker(fmt);
  const wh = ok(await t.cli(fmt), 'history');
  assert.equal(normalizeHistory(wh.stdout), normalizeHistory(dh.stdout), 'history lines');
  const dcfg = JSON.parse((await d.docker(['inspect', '--format', '{{json .Config}}', name])).stdout);
  const wcfg = JSON.parse(ok(await t.cli(['inspect', '--format', '{{json .Config}}', name]), 'inspect').stdout);
  assert.deepEqual(comparableConfig(wcfg), comparableConfig(dcfg), 'config');
  const dAuthor = (await d.docker(['inspect', '--format', '{{.Author}}', name])).stdout;
  assert.equal(ok(await t.cli(['inspect', '--format', '{{.Author}}', name]), 'author').stdout, dAuthor);
  const ourLayers = (await imageLayers(t.root, name)).layers;
  assert.deepEqual(tree(ourLayers), tree(await dockerLayers(name)), 'layer file trees');
}

test('the busybox web image', async () => {
  await compare('web', {
    Dockerfile:
      'FROM busybox\nMAINTAINER Jane Doe <jane@example.com>\nCOPY ./index.html /www/\nEXPOSE 80\nCMD ["httpd","-f","-p","80","-h","/www"]\n',
    'index.html': '<h1>hello</h1>\n',
  });
});

test('FROM scratch + COPY + CMD', async () => {
  await compare(
    'hello',
    { Dockerfile: 'FROM scratch\nCOPY hello /\nCMD ["/hello"]\n', hello: '#!/bin/sh\necho hi\n' },
    [],
    { hello: 0o755 },
  );
});

test('every metadata instruction, WORKDIR, COPY --chown, RUN with build args', async () => {
  await compare(
    'kitchen',
    {
      Dockerfile: `FROM busybox
MAINTAINER someone
ARG V=1
ENV A=b C="d e"
LABEL x="y z" q=r
WORKDIR /srv/app
WORKDIR /tmp
COPY --chown=33:33 a b /multi/
COPY dir /copied
RUN echo hello $V && echo x > /f && mkdir -p /etc/extra && rm /bin/yes
RUN ["/bin/sh","-c","echo exec"]
RUN true
USER www
EXPOSE 80 443/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s CMD wget -q localhost || exit 1
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh"]
CMD ["httpd","-f","-p","80","-h","/www"]
`,
      a: 'A\n',
      b: 'B\n',
      'dir/x': 'x\n',
      'dir/sub/y': 'y\n',
    },
    ['--build-arg', 'V=2'],
  );
});

test('a failing RUN: same output, message and exit code', async () => {
  await compare('failing', { Dockerfile: 'FROM busybox\nRUN echo one\nRUN exit 3\nRUN echo no\n' });
});

test('missing and escaping COPY sources', async () => {
  await compare('missing', { Dockerfile: 'FROM busybox\nCOPY nothere /x\n' });
  await compare('escaping', { Dockerfile: 'FROM busybox\nCOPY ../x /x\n' });
});

test('.dockerignore', async () => {
  await compare('ignore', {
    Dockerfile: 'FROM busybox\nCOPY . /src/\n',
    '.dockerignore': '.git\n**/*.log\n!keep.log\n',
    '.git/HEAD': 'ref\n',
    'a.txt': 'a\n',
    'sub/x.log': 'x\n',
    'sub/y.txt': 'y\n',
    'keep.log': 'k\n',
  });
});
