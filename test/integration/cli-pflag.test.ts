/**
 * Docker tutorials' flag forms (pflag syntax) against the built CLI: `-m="add vim"` (the shell passes `-m=add vim`),
 * `-t="x/y:v1"`, `-e=FOO=bar`, `--rm=true|false`, `--privileged=true`, `--no-cache=true`, `-d=true`, `-itd`, flags
 * after positional arguments, and the first positional ending `run`'s flags. Each checks the result, not the exit code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { ok } from '../helpers/cli.js';
import { withBusybox, type Fixture } from './container/fixture.js';

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-pflag-');
});
after(async () => {
  await f?.cleanup();
});

const out = async (args: string[]): Promise<string> => ok(await f.cli(args), args.join(' ')).stdout;

test('commit -m="add vim" -a="shanla": the author and the image are what was typed, without "="', async () => {
  await out(['run', '--name=c1', 'busybox', 'sh', '-c', 'echo vim >/vim']);
  const id = (await out(['commit', '-m=add vim', '-a=shanla', 'c1', 'shanla/vim:v1'])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await out(['inspect', '-f', '{{.Author}}', 'shanla/vim:v1']), 'shanla\n');
  assert.equal(await out(['run', '--rm=true', 'shanla/vim:v1', 'cat', '/vim']), 'vim\n');
  // Flags end at commit's first positional argument, as in Docker: `-m` is a second argument, `x` one too many
  // (docker 28: "'docker commit' requires at least 1 and at most 2 arguments", exit 1).
  const r = await f.cli(['commit', 'c1', '-m', 'x']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^wharf: 'wharf commit' requires at least 1 and at most 2 arguments\n/);
  await out(['rm', 'c1']);
});

test('build -t="x/y:v1" --no-cache=true, and flags after the context', async () => {
  const ctx = path.join(f.root, 'ctx');
  await fsp.mkdir(ctx, { recursive: true });
  await fsp.writeFile(path.join(ctx, 'Dockerfile'), 'FROM busybox\nRUN echo hi >/hi\n');
  const first = await out(['build', '-t=x/y:v1', '--no-cache=true', ctx]);
  assert.doesNotMatch(first, /Using cache/);
  assert.equal(await out(['run', '--rm', 'x/y:v1', 'cat', '/hi']), 'hi\n');
  // --no-cache=false uses the cache; -t after the context still tags.
  const second = await out(['build', ctx, '--no-cache=false', '-t', 'x/y:v2']);
  assert.match(second, /Using cache/);
  const ids = await out(['images', '-q', '--no-trunc=true', 'x/y']);
  assert.deepEqual(new Set(ids.trim().split('\n')).size, 1, 'v1 and v2 are one image');
  assert.equal(await out(['inspect', '-f', '{{.Id}}', 'x/y:v2']), await out(['inspect', '-f', '{{.Id}}', 'x/y:v1']));
});

test('run -e=FOO=bar --rm=true: the variable is FOO, and the container is gone', async () => {
  assert.equal(
    await out(['run', '-e=FOO=bar', '--rm=true', '--name=envtest', 'busybox', 'sh', '-c', 'echo $FOO']),
    'bar\n',
  );
  assert.doesNotMatch(await out(['ps', '-a', '--format', '{{.Names}}']), /envtest/);
});

test('run --rm=false keeps the container; a later --rm wins over an earlier --rm=false', async () => {
  await out(['run', '--rm=false', '--name=kept', 'busybox', 'true']);
  assert.match(await out(['ps', '-a', '--format', '{{.Names}}']), /^kept$/m);
  await out(['rm', 'kept']);
  await out(['run', '--rm=false', '--rm', '--name=gone', 'busybox', 'true']);
  assert.doesNotMatch(await out(['ps', '-a', '--format', '{{.Names}}']), /gone/);
});

test('run --privileged=true has every capability; --privileged=false the default set', async () => {
  const caps = async (v: string): Promise<bigint> => {
    const s = await out(['run', '--rm', `--privileged=${v}`, 'busybox', 'sh', '-c', 'grep CapEff /proc/self/status']);
    return BigInt(`0x${s.split(/\s+/)[1]}`);
  };
  const all = await caps('true');
  const some = await caps('false');
  assert.ok(all > some, `${all.toString(16)} > ${some.toString(16)}`);
  assert.equal(all & (1n << 21n), 1n << 21n, 'CAP_SYS_ADMIN with --privileged=true');
  assert.equal(some & (1n << 21n), 0n, 'no CAP_SYS_ADMIN with --privileged=false');
});

test('run -itd and -d=true: detached, with a TTY and open stdin; flags after the image are the command', async () => {
  const id = (await out(['run', '-itd', '--name=bg', 'busybox', 'sh'])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(
    await out(['inspect', '-f', '{{.Config.Tty}} {{.Config.OpenStdin}} {{.State.Running}}', 'bg']),
    'true true true\n',
  );
  const d = (await out(['run', '-d=true', '--name=bg2', 'busybox', 'sleep', '30'])).trim();
  assert.match(d, /^[0-9a-f]{64}$/);
  assert.equal(await out(['inspect', '-f', '{{.Config.Tty}} {{.State.Running}}', 'bg2']), 'false true\n');
  // rm is interspersed: -f after the names.
  await out(['rm', 'bg', 'bg2', '-f']);
  assert.equal(await out(['ps', '-aq']), '');
  // run is not: everything after the image is the command, flags included.
  assert.equal(await out(['run', '--rm', 'busybox', 'echo', '-n', '--rm=x']), '--rm=x');
});

test("a boolean value ParseBool rejects exits 125 with pflag's message", async () => {
  const r = await f.cli(['run', '--rm=maybe', 'busybox', 'true']);
  assert.equal(r.code, 125);
  assert.match(
    r.stderr,
    /invalid argument "maybe" for "--rm" flag: strconv\.ParseBool: parsing "maybe": invalid syntax/,
  );
  assert.equal(await out(['ps', '-aq']), '');
});
