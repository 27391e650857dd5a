/**
 * Single differences with Docker in the CLI verbs (issue 12), each run side by side against a private dockerd
 * (docker CLI 28): the same steps, the same output and exit code.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ok, type CliResult } from '../helpers/cli.js';
import { sideBySide, type SideBySide } from '../helpers/dockerd.js';
import { hostHasIpv6 } from '../helpers/ipv6.js';

let sbs: SideBySide;
const wharf = (args: string[]) => sbs.wharf(args);
const docker = (args: string[]) => sbs.docker(args);

before(async () => {
  sbs = await sideBySide('wharf-diffs-');
  for (const cli of [wharf, docker]) {
    ok(await cli(['create', '--name', 'c1', 'busybox', 'true']), 'create c1');
    ok(await cli(['run', '-d', '--name', 'r1', 'busybox', 'sleep', '600']), 'run r1');
  }
});
after(async () => {
  await sbs?.stop();
});

/** Both engines run the same command: exit codes and the chosen streams must agree. */
async function same(args: string[], streams: Array<'stdout' | 'stderr'> = ['stdout', 'stderr']): Promise<CliResult> {
  const [w, k] = [await wharf(args), await docker(args)];
  assert.equal(w.code, k.code, `${args.join(' ')}: wharf ${w.code} (${w.stderr}), docker ${k.code} (${k.stderr})`);
  for (const s of streams) assert.equal(w[s], k[s], `${args.join(' ')}: ${s}`);
  return w;
}

test('commit -m: the comment is the image Comment', async () => {
  for (const cli of [wharf, docker]) ok(await cli(['commit', '-m', 'add a file', 'c1', 'committed']), 'commit');
  const w = await same(['inspect', '-f', '{{.Comment}}', 'committed']);
  assert.equal(w.stdout, 'add a file\n');
  const history = ok(await wharf(['history', '--format', '{{.Comment}}', 'committed']), 'history');
  assert.equal(history.stdout.split('\n')[0], 'add a file');
});

test("rm -f / rmi -f of a missing container / image says so and exits 0 (a script's clean-up goes on); without -f, 1", async () => {
  const [w, k] = [await wharf(['rm', '-f', 'no-such-c']), await docker(['rm', '-f', 'no-such-c'])];
  assert.equal(w.code, 0, w.stderr);
  assert.equal(k.code, 0, k.stderr);
  assert.match(w.stderr, /No such container: no-such-c/);
  assert.equal(w.stdout, k.stdout);
  // Among others: the others are removed, the missing one is said, the exit is still 0.
  for (const cli of [wharf, docker]) ok(await cli(['create', '--name', 'gone-soon', 'busybox', 'true']), 'create');
  const both = await same(['rm', '-f', 'no-such-c', 'gone-soon'], ['stdout']);
  assert.equal(both.stdout, 'gone-soon\n');
  const plain = await same(['rm', 'no-such-c'], ['stdout']);
  assert.equal(plain.code, 1);
  // The same for images: `rmi -f` of a missing one exits 0, `rmi` 1, with docker's message.
  assert.equal((await same(['rmi', '-f', 'no-such-i:1'])).code, 0);
  assert.equal((await same(['rmi', 'no-such-i:1'])).code, 1);
});

test('images -q prints an image once per tag, as Docker', async () => {
  for (const cli of [wharf, docker]) {
    ok(await cli(['tag', 'busybox', 'bb:one']), 'tag');
    ok(await cli(['tag', 'busybox', 'bb:two']), 'tag');
  }
  const w = await wharf(['images', '-q', 'bb']);
  const k = await docker(['images', '-q', 'bb']);
  assert.equal(w.stdout.split('\n').length, 3, w.stdout);
  assert.equal(w.stdout.split('\n').length, k.stdout.split('\n').length);
  const [id] = w.stdout.split('\n');
  assert.equal(w.stdout, `${id}\n${id}\n`);
});

test('inspect -f with a field the object lacks is an error (missingkey=error), exit 1', async () => {
  await same(['inspect', '-f', '{{.Nope}}', 'busybox']);
  await same(['image', 'inspect', '-f', '{{.Nope}}', 'busybox']);
  await same(['container', 'inspect', '-f', '{{.Config.Nope}}', 'c1']);
  await same(['inspect', '-f', '{{.Id}} {{.Nope.X}}', 'busybox', 'c1']);
  await same(['inspect', '-f', 'a\n{{ .Nope }}', 'c1']);
  await same(['inspect', '-f', '{{if .Config.Nope}}x{{end}}', 'c1']);
  const r = await wharf(['inspect', '-f', '{{.State.Nope}}', 'c1']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '\n');
  assert.equal(
    r.stderr,
    'template parsing error: template: :1:8: executing "" at <.State.Nope>: map has no entry for key "Nope"\n',
  );
  // Fields Docker's types have still print when Wharf leaves them out (as for a container without a health check).
  assert.equal((await wharf(['inspect', '-f', '{{if .State.Health}}h{{end}}ok', 'c1'])).stdout, 'ok\n');
  await same(['inspect', '-f', '{{.State.Status}} {{.Config.Image}}', 'c1']);
  // One object that has the field, one that lacks it: the first prints, the second is an error.
  await same(['inspect', '-f', '{{.Config.Cmd}} {{.State.Status}}', 'c1', 'busybox']);
});

/**
 * dockerd 20.10 exits 126 for both (it overwrote the 127 it had set: moby#45795); moby 28 keeps 127 for a command
 * not found (moby#48552), as `run` does. The message is the same.
 */
test('exec of a command that cannot run: 127 / 126 with the runtime message on stdout, as Docker 28', async () => {
  for (const [cmd, code] of [
    ['no-such-command', 127],
    ['/etc', 126],
  ] as const) {
    const [w, k] = [await wharf(['exec', 'r1', cmd]), await docker(['exec', 'r1', cmd])];
    assert.equal(w.code, code);
    assert.equal(k.code, 126);
    assert.equal(w.stdout, k.stdout);
    assert.equal(w.stderr, '');
  }
  const r = await wharf(['exec', 'r1', 'no-such-command']);
  assert.equal(
    r.stdout,
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-command": executable file not found in $PATH: unknown\r\n',
  );
  await same(['exec', 'r1', 'sh', '-c', 'exit 3']);
});

test('run -it / exec -it without a terminal on stdin: "the input device is not a TTY", exit 1, nothing created', async () => {
  const before = (await wharf(['ps', '-aq'])).stdout;
  await same(['run', '-it', 'busybox', 'true']);
  await same(['exec', '-it', 'r1', 'true']);
  assert.equal((await wharf(['run', '-it', 'busybox', 'true'])).stderr, 'the input device is not a TTY\n');
  assert.equal((await wharf(['ps', '-aq'])).stdout, before);
  // -t alone, and a detached -it, do not need one.
  await same(['run', '--rm', '-t', 'busybox', 'true'], []);
  await same(['exec', '-d', '-it', 'r1', 'true'], []);
});

test('ps lists published ports sorted and grouped as the docker CLI does', async () => {
  const base = 20000 + Math.floor(Math.random() * 20000);
  const [p1, p2, p3] = [base, base + 1, base + 2];
  ok(await wharf(['commit', '-c', 'EXPOSE 9001', '-c', 'EXPOSE 9000', 'c1', 'exposed']), 'commit EXPOSE');
  ok(
    await wharf([
      'run',
      '-d',
      '--name',
      'ports',
      '-p',
      `${p1}:443`,
      '-p',
      `${p3}:${p3}`,
      '-p',
      `${p2}:80`,
      '-p',
      `${p3 + 1}:${p3 + 1}`,
      'exposed',
      'sleep',
      '600',
    ]),
    'run -p',
  );
  try {
    const r = ok(await wharf(['ps', '--filter', 'name=ports', '--format', '{{.Ports}}']), 'ps');
    // docker CLI 28's DisplayablePorts over both families (the `[::]` entries where the host has IPv6): groups by
    // address in order of appearance, then the mappings to other host ports, sorted by container port.
    const v6 = (text: string) => (hostHasIpv6() ? `, ${text}` : '');
    assert.equal(
      r.stdout,
      `9000-9001/tcp, 0.0.0.0:${p3}-${p3 + 1}->${p3}-${p3 + 1}/tcp${v6(`[::]:${p3}-${p3 + 1}->${p3}-${p3 + 1}/tcp`)}, ` +
        `0.0.0.0:${p2}->80/tcp${v6(`[::]:${p2}->80/tcp`)}, 0.0.0.0:${p1}->443/tcp${v6(`[::]:${p1}->443/tcp`)}\n`,
    );
  } finally {
    await wharf(['rm', '-f', 'ports']);
  }
});

test('an error of the engine reads as the docker CLI prints a daemon\'s ("Error response from daemon: …"), exit 1', async () => {
  // A missing object for each verb family (the message is the engine's; the prefix and the exit code the CLI's).
  const cases = [
    ['rm', 'nosuch'],
    ['rm', 'nosuch', 'nosuch2'],
    ['stop', 'nosuch'],
    ['kill', 'nosuch'],
    ['wait', 'nosuch'],
    ['pause', 'nosuch'],
    ['start', 'nosuch'],
    ['logs', 'nosuch'],
    ['port', 'nosuch'],
    ['diff', 'nosuch'],
    ['exec', 'nosuch', 'true'],
    ['commit', 'nosuch'],
    ['cp', 'nosuch:/x', '-'],
    ['attach', 'nosuch'],
    ['rename', 'nosuch', 'other'],
    ['container', 'inspect', 'nosuch'],
    ['volume', 'rm', 'nosuch'],
    ['volume', 'inspect', 'nosuch'],
    ['history', 'nosuch'],
    ['tag', 'nosuch', 'other'],
  ];
  for (const args of cases) {
    const w = await same(args);
    assert.match(w.stderr, /^Error response from daemon: /, args.join(' '));
  }
  // The CLI's own errors: bare, or "Error: " where the docker CLI words them so.
  await same(['inspect', 'nosuch']);
  await same(['volume', 'create', 'bad/name']);
  // A service below the engine's first level (w.images.archives) is the daemon's too.
  assert.match((await wharf(['save', 'nosuch'])).stderr, /^Error response from daemon: No such image: nosuch/);
  // What the docker CLI finds itself (a path on this host) is not the daemon's: docker 28 prints it bare.
  await same(['save', '-o', '/no/such/dir/x.tar', 'busybox']);
  await same(['export', '-o', '/no/such/dir/x.tar', 'c1']);
  await same(['load', '-i', '/no/such/file.tar']);
  await same(['import', '/no/such/file.tar']);
  const cp = await wharf(['cp', './no-such-file', 'c1:/tmp']);
  assert.equal(cp.code, 1);
  assert.match(cp.stderr, /^stat \.\/no-such-file: no such file or directory\n$/);
});

test('run\'s errors: "PROG: ERROR" and a line sending to --help, the daemon\'s with their prefix; 125, 126, 127', async () => {
  const cases = [
    ['run', '--rm', '--pull', 'never', 'no-such-image:1'], // the daemon's
    ['run', '--rm', '--network', 'no-such-net', 'busybox', 'true'],
    ['run', '--rm', '-w', 'relative', 'busybox', 'true'],
    ['run', '--rm', '--user', 'no-such-user', 'busybox', 'true'],
    ['run', '--name', 'c1', 'busybox', 'true'],
    ['run', '--rm', '--env-file', '/no/such/file', 'busybox', 'true'], // the CLI's own
    ['run', '--rm', 'Bad:Name', 'true'],
    ['run', '--rm', '--restart', 'always', 'busybox', 'true'],
  ];
  for (const args of cases) {
    const [w, k] = [await wharf(args), await docker(args)];
    assert.equal(w.code, k.code, `${args.join(' ')}: exit`);
    assert.equal(
      w.stderr.replace(/[0-9a-f]{64}/g, '<id>'),
      k.stderr.replaceAll('docker', 'wharf').replace(/[0-9a-f]{64}/g, '<id>'),
    );
  }
  // A command that cannot run: docker's message is containerd's, Wharf's runc's; the frame and the exit code agree.
  for (const [cmd, code] of [
    ['no-such-cmd', 127],
    ['/etc', 126],
  ] as const) {
    const w = await wharf(['run', '--rm', 'busybox', cmd]);
    assert.equal(w.code, code);
    assert.match(w.stderr, /^wharf: Error response from daemon: .*\n\nRun 'wharf run --help' for more information\n$/);
  }
});

test("a --format field the list's row type lacks fails as docker's formatter fails (exit 1), not <no value>", async () => {
  for (const args of [
    ['ps', '--format', '{{.Nope}}'], // docker checks ps's template on an empty row first: with no rows too
    ['ps', '-a', '--format', '{{.Names}} {{.Nope}}'],
    ['images', '--format', '{{.Nope}}'],
    ['history', '--format', '{{.Nope}}', 'busybox'],
    ['network', 'ls', '--format', '{{.ID}} {{.Nope}}'],
    ['system', 'df', '--format', '{{.Nope}}'],
  ]) {
    const w = await same(args);
    assert.equal(w.code, 1, args.join(' '));
    assert.match(w.stderr, /can't evaluate field Nope in type \*\w+\.\w+\n$/, args.join(' '));
  }
  for (const cli of [wharf, docker]) ok(await cli(['volume', 'create', 'fmt-v']), 'volume create');
  await same(['volume', 'ls', '--format', '{{.Nope}}']);
  // The fields docker's types have still print, also those Wharf's rows leave out (LocalVolumes: docker counts).
  assert.equal(
    (await same(['ps', '-a', '--filter', 'name=^c1$', '--format', '{{.Names}} {{.State}}'])).stdout,
    'c1 created\n',
  );
  assert.equal((await wharf(['images', '--format', '{{.Repository}}', 'busybox'])).stdout, 'busybox\n');
});

test('--filter takes name=value and --limit an int as flags (125, before a prune asks); container prune takes until and label', async () => {
  for (const args of [
    ['image', 'prune', '--filter', 'bad'],
    ['container', 'prune', '--filter', 'bad'],
    ['search', '--limit', 'abc', 'x'],
  ]) {
    const [w, k] = [await wharf(args), await docker(args)];
    assert.equal(w.code, 125, w.stderr);
    assert.equal(w.stderr, k.stderr.replaceAll('docker', 'wharf'));
  }
  for (const cli of [wharf, docker]) {
    ok(await cli(['create', '--name', 'keep-me', 'busybox', 'true']), 'create');
    ok(await cli(['create', '--name', 'prune-me', '--label', 'prune=1', 'busybox', 'true']), 'create');
  }
  // Newer than an hour: nothing goes; then the stopped ones with the label (not c1 and the others of this file).
  const none = await same(['container', 'prune', '-f', '--filter', 'until=1h']);
  assert.equal(none.stdout, 'Total reclaimed space: 0B\n');
  for (const cli of [wharf, docker]) ok(await cli(['container', 'prune', '-f', '--filter', 'label=prune=1']), 'prune');
  const left = await same(['ps', '-a', '--format', '{{.Names}}', '--filter', 'name=-me']);
  assert.equal(left.stdout, 'keep-me\n');
  for (const cli of [wharf, docker]) assert.notEqual((await cli(['ps', '-aq', '--filter', 'name=^c1$'])).stdout, '');
  for (const cli of [wharf, docker]) ok(await cli(['rm', 'keep-me']), 'rm');
});

test("errors in the docker CLI 28 words: its own bare, the daemon's with its prefix, a push stream's bare", async () => {
  for (const args of [
    ['push', 'nosuch:1'],
    ['tag', 'busybox', 'BAD:x'],
    ['events', '--since', 'bad'],
    ['login', '--password-stdin', '-p', 'x', 'localhost:1'],
    ['volume', 'create', '--driver', 'nope', 'v'],
    ['network', 'create', '--subnet', 'bad', 'n1'],
    ['network', 'inspect', 'nosuch'],
    ['pull', 'UPPER'],
    ['attach', 'c1'], // the docker CLI inspects first: its own error, bare
    ['volume', 'create', '--name', 'a', 'b'],
    ['logs', '--since', 'bad', 'c1'],
  ]) {
    await same(args, ['stderr']);
  }
  // An image's last reference in use: dockerd names the reference as given ("solo", not "solo:latest").
  for (const cli of [wharf, docker]) {
    ok(await cli(['commit', 'c1', 'solo']), 'commit');
    ok(await cli(['create', '--name', 'uses-solo', 'solo']), 'create');
  }
  const conflict = await wharf(['image', 'rm', 'solo']);
  const dconflict = await docker(['image', 'rm', 'solo']);
  assert.equal(conflict.code, dconflict.code);
  assert.match(
    conflict.stderr,
    /unable to remove repository reference "solo" \(must force\) - container [0-9a-f]{12} is using/,
  );
  assert.match(dconflict.stderr, /unable to remove repository reference "solo" \(must force\)/);
  for (const cli of [wharf, docker]) ok(await cli(['rm', 'uses-solo']), 'rm');
  // Templates that do not parse (inspect, info, version, events exit 64) or read what the type lacks.
  for (const args of [
    ['inspect', '-f', '{{.Id', 'c1'],
    ['container', 'inspect', '-f', '{{.Id', 'c1'],
    ['image', 'inspect', '-f', '{{.Nope}}', 'busybox'],
    ['info', '--format', '{{.Nope'],
    ['version', '--format', '{{.Nope'],
    ['events', '--format', '{{.Nope', '--since', '1s', '--until', '0s'],
    ['events', '--format', '{{.Nope}}', '--since', '1s', '--until', '0s'],
    ['stats', '--no-stream', '--format', '{{.Nope}}', 'r1'],
    ['ps', '--format', '{{.Nope'],
  ]) {
    const w = await same(args, ['stderr']);
    assert.notEqual(w.code, 0, args.join(' '));
  }
});

test('list --format json and methods as docker 28 prints them: sorted keys, N/A where dockerd gives none, .Label "k"', async () => {
  for (const cli of [wharf, docker]) {
    ok(await cli(['create', '--name', 'lbl', '--label', 'a=b', '-v', '/data', 'busybox', 'true']), 'create');
    ok(await cli(['volume', 'create', '--label', 'x=y', 'lv']), 'volume create');
    ok(await cli(['network', 'create', '--label', 'x=z', 'ln']), 'network create');
  }
  await same([
    'ps',
    '-a',
    '--filter',
    'name=lbl',
    '--format',
    '{{.Names}}|{{.Labels}}|{{.LocalVolumes}}|{{.Label "a"}}',
  ]);
  await same(['ps', '-a', '--filter', 'name=lbl', '--format', 'table {{.Names}}\t{{.Label "a"}}\t{{.Label "nope"}}']);
  await same(['volume', 'ls', '--filter', 'name=lv', '--format', '{{.Name}}|{{.Label "x"}}|{{.Links}}|{{.Group}}']);
  await same(['network', 'ls', '--filter', 'name=ln', '--format', '{{.Name}}|{{.Label "x"}}|{{.Labels}}']);
  // JSON lines: docker's contexts marshal as maps (keys sorted), every field present.
  const jsonLine = async (cli: typeof wharf, args: string[]) =>
    JSON.parse(ok(await cli(args), args.join(' ')).stdout.split('\n')[0]!) as Record<string, unknown>;
  for (const args of [
    ['ps', '-a', '--filter', 'name=lbl', '--format', 'json'],
    ['images', '--format', 'json', 'busybox'],
    ['volume', 'ls', '--filter', 'name=lv', '--format', 'json'],
    ['network', 'ls', '--filter', 'name=ln', '--format', 'json'],
    ['history', '--format', 'json', 'busybox'],
  ]) {
    const raw = ok(await wharf(args), args.join(' ')).stdout.split('\n')[0]!;
    const [w, k] = [JSON.parse(raw) as Record<string, unknown>, await jsonLine(docker, args)];
    assert.deepEqual(Object.keys(w), Object.keys(k), args.join(' '));
    assert.deepEqual(Object.keys(w), Object.keys(w).sort(), `${args.join(' ')}: sorted as Go marshals a map`);
    const sameValues = ['Names', 'Labels', 'LocalVolumes', 'Size', 'Containers', 'SharedSize', 'UniqueSize'];
    for (const key of [...sameValues, 'VirtualSize', 'Links', 'Availability', 'Group', 'Status', 'Comment'])
      if (key in k) assert.equal(w[key], k[key], `${args.join(' ')}: ${key}`);
  }
  // The anonymous volume's name is cut in ps as docker cuts it (15 characters with the ellipsis).
  const mounts = String((await jsonLine(wharf, ['ps', '-a', '--filter', 'name=lbl', '--format', 'json'])).Mounts);
  assert.match(mounts, /^[0-9a-f]{14}…$/);
  for (const cli of [wharf, docker]) {
    ok(await cli(['rm', '-v', 'lbl']), 'rm');
    ok(await cli(['volume', 'rm', 'lv']), 'volume rm');
    ok(await cli(['network', 'rm', 'ln']), 'network rm');
  }
});

test("Go's template language as scripts use it with inspect and ps: eq, and/or/not, printf, variables, else if", async () => {
  for (const args of [
    [
      'inspect',
      '-f',
      '{{if eq .State.Status "running"}}up{{else if eq .State.Status "created"}}new{{else}}?{{end}}',
      'c1',
    ],
    [
      'inspect',
      '-f',
      '{{if and .State.Running (not .State.Paused)}}running{{end}}|{{or .Config.Domainname "none"}}',
      'r1',
    ],
    ['inspect', '-f', '{{printf "%s:%q:%5d" .Name .Config.Image 42}}', 'c1'],
    ['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', 'r1'],
    ['inspect', '-f', '{{$n := .Name}}{{range .Config.Cmd}}{{.}}@{{$n}} {{end}}', 'r1'],
    ['inspect', '-f', '{{with $c := .Config}}{{$c.Image}}{{end}} {{len .Config.Cmd | printf "%d args"}}', 'r1'],
    ['image', 'inspect', '-f', '{{if gt .Size 1000}}big{{end}} {{.Os | upper}}', 'busybox'],
    ['ps', '-a', '--filter', 'name=^c1$', '--format', '{{if eq .State "created"}}{{.Names}} is new{{end}}'],
  ]) {
    const w = await same(args);
    assert.equal(w.code, 0, w.stderr);
    assert.notEqual(w.stdout.trim(), '', args.join(' '));
  }
});
