/** The busybox web image from the build chapters: built, then run with -p, it serves the page. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { get } from 'node:http';
import { ok } from '../../helpers/cli.js';
import { rootWithBusybox, makeContext, type Root } from './helpers.js';

let t: Root | undefined;
let ctr: string | undefined;
after(async () => {
  if (t && ctr) await t.cli(['rm', '-f', ctr]);
  await t?.cleanup();
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const fetchText = (port: number) =>
  new Promise<string>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });

test('a built web image serves its page when run with -p', async () => {
  ({ t } = await rootWithBusybox());
  const ctx = await makeContext({
    'index.html': '<h1>built by wharf</h1>\n',
    Dockerfile:
      'FROM busybox\nMAINTAINER Wharf <dev@example.com>\nCOPY ./index.html /www/\nEXPOSE 80\nCMD ["httpd","-f","-p","80","-h","/www"]\n',
  });
  try {
    ok(await t.cli(['build', '-t', 'web:1', ctx.dir]), 'build');
  } finally {
    await ctx.cleanup();
  }
  const port = await freePort();
  ctr = ok(await t.cli(['run', '-d', '-p', `127.0.0.1:${port}:80`, 'web:1']), 'run').stdout.trim();
  let body = '';
  for (let i = 0; i < 50 && !body; i++) {
    body = await fetchText(port).catch(() => '');
    if (!body) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body, '<h1>built by wharf</h1>\n');
  ok(await t.cli(['stop', ctr]), 'stop');
  ok(await t.cli(['rm', ctr]), 'rm');
  ctr = undefined;
  assert.match(ok(await t.cli(['system', 'check']), 'check').stdout, /no problems/);
});
