/**
 * The tutorial's steps (cli-tutorial.test.ts) on Wharf and on a private dockerd (20.10, docker CLI 28) side by side:
 * `images`, `ps -a`, `history`, `inspect` (the keys, and the values that do not depend on the engine), `port`,
 * `diff`, `stats --no-stream --format`, `events --format` and the exit codes of the error cases. IDs and times are
 * normalized; everything else must be equal.
 *
 * What this dockerd cannot show is left out, with the reason: it runs without a bridge (`--bridge=none`, so that it
 * touches nothing shared), so it publishes no port and has no network events; `--privileged` fails under this
 * sandbox (runc cannot apply every capability); and it reports its own version's fields (see IGNORED_KEYS).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok, type CliResult } from '../helpers/cli.js';
import { sideBySide, type SideBySide } from '../helpers/dockerd.js';

let sbs: SideBySide;
type Cli = (args: string[], opts?: { input?: string; cwd?: string }) => Promise<CliResult>;
let engines: Array<[name: 'wharf' | 'docker', cli: Cli]>;
/** Per engine, the Unix time before the steps (for `events --since`). */
const since: Record<string, number> = {};
let ctxDir = '';

const DOCKERFILE = [
  'FROM me/img:v1',
  'MAINTAINER andrew',
  'ENV A=1 B="two words"',
  'WORKDIR /srv',
  'RUN echo built > /srv/x && rm /f',
  'LABEL l1=v1',
  'EXPOSE 80 81/udp',
  'ENTRYPOINT ["sh", "-c"]',
  'CMD ["cat /srv/x; exec sleep 600"]',
  '',
].join('\n');

/** The tutorial's steps, as the shell would pass them (`-m="add f"` is `-m=add f`). */
const STEPS: Array<{ args: string[]; code?: number; cwd?: boolean }> = [
  { args: ['run', '-itd', '--name', 'c1', 'busybox', 'sh'] },
  { args: ['exec', 'c1', 'sh', '-c', 'echo hi > /f && mkdir -p /tmp/d/e && rm /bin/true && echo x >> /etc/group'] },
  { args: ['commit', '-m=add f', '-a=shanla', 'c1', 'me/img:v1'] },
  { args: ['build', '-t=andrew/static_web:v1', '.'], cwd: true },
  {
    args: [
      'run',
      '-d=true',
      '--rm=false',
      '-e=FOO=bar',
      '--network',
      'none',
      '--restart=always',
      '--label',
      'tier=web',
      '--name',
      'web',
      'andrew/static_web:v1',
    ],
  },
  { args: ['run', '--network', 'none', '--name', 'once', 'busybox', 'sh', '-c', 'exit 3'], code: 3 },
  { args: ['create', '--network', 'none', '--name', 'made', '-w', '/tmp', '--entrypoint', 'echo', 'busybox', 'x'] },
];

before(async () => {
  sbs = await sideBySide('wharf-tut-docker-');
  engines = [
    ['wharf', sbs.wharf],
    ['docker', sbs.docker],
  ];
  ctxDir = path.join(sbs.root, 'static_web');
  await mkdir(ctxDir);
  await writeFile(path.join(ctxDir, 'Dockerfile'), DOCKERFILE);
  for (const [name, cli] of engines) {
    since[name] = Math.floor(Date.now() / 1000);
    for (const s of STEPS) {
      const r = await cli(s.args, s.cwd ? { cwd: ctxDir } : {});
      assert.equal(r.code, s.code ?? 0, `${name} ${s.args.join(' ')}: ${r.stderr}`);
    }
  }
  // Both have settled: web has printed its file and sleeps.
  for (const [name, cli] of engines) {
    for (let i = 0; i < 100; i++) {
      if ((await cli(['logs', 'web'])).stdout === 'built\n') break;
      await sleep(100);
    }
    assert.equal((await cli(['logs', 'web'])).stdout, 'built\n', name);
  }
});
after(async () => {
  await sbs?.stop();
});

/** IDs (64 or 12 hex digits) as <id1>, <id2>… in the order they appear, so that each engine's own IDs compare. */
function normIds(s: string): string {
  const seen = new Map<string, string>();
  return s.replace(/\b(sha256:)?([0-9a-f]{64}|[0-9a-f]{12})\b/g, (_m, _p, hex: string) => {
    const key = hex.slice(0, 12);
    if (!seen.has(key)) seen.set(key, `<id${seen.size + 1}>`);
    return seen.get(key)!;
  });
}
/** "5 seconds ago", "Up Less than a second", "About a minute": one placeholder; tables' column gaps as two spaces. */
function normTimes(s: string): string {
  return s
    .replace(/\b(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?))\b/g, '<t>')
    .replace(/ {2,}/g, '  ')
    .replace(/ +$/gm, '');
}
const norm = (s: string): string => normTimes(normIds(s));
const sortedLines = (s: string): string => norm(s).split('\n').sort().join('\n');

async function both(args: string[], n: (s: string) => string = norm): Promise<{ wharf: CliResult; docker: CliResult }> {
  const [w, d] = [await sbs.wharf(args), await sbs.docker(args)];
  assert.equal(w.code, d.code, `${args.join(' ')}: exit wharf ${w.code} (${w.stderr}), docker ${d.code} (${d.stderr})`);
  assert.equal(n(w.stdout), n(d.stdout), `${args.join(' ')}: stdout`);
  return { wharf: w, docker: d };
}

test('images, images -a and images --format list the same images', async () => {
  await both(['images']);
  // Both list images by creation time, newest first; dockerd's times are in whole seconds, so a build's steps tie.
  await both(['images', '-a', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'], sortedLines);
  await both(['images', '--filter', 'reference=andrew/*']);
  await both(['images', '-q']);
});

test('ps -a: the same containers, commands, states and exit codes', async () => {
  await both(['ps', '-a']);
  await both(['ps', '-a', '--no-trunc', '--format', '{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}|{{.Ports}}']);
  await both(['ps', '--filter', 'status=exited', '--format', '{{.Names}}']);
  await both(['ps', '-a', '--filter', 'label=tier=web', '--format', '{{.Names}} {{.Labels}}']);
});

test('history of a commit and of a build, as tables and with --no-trunc', async () => {
  for (const image of ['me/img:v1', 'andrew/static_web:v1']) {
    await both(['history', image]);
    await both(['history', '--no-trunc', '--format', '{{.CreatedBy}}|{{.Size}}|{{.Comment}}', image]);
  }
});

/** Keys whose presence or value depends on the engine, its version or its host, not on what the user asked. */
const IGNORED_KEYS = [
  // Each engine's own IDs, times, paths, PIDs and network.
  /^\.(Id|Created|Image|Parent|Container|ResolvConfPath|HostnamePath|HostsPath|LogPath)$/,
  /^\.State\.(Pid|StartedAt|FinishedAt)$/,
  /^\.GraphDriver\./,
  /^\.NetworkSettings\.(SandboxID|SandboxKey|Networks\.\w+\.(NetworkID|EndpointID))$/,
  // The address on the default bridge, which this dockerd does not have.
  /^\.NetworkSettings\.(Networks\.bridge\.)?(EndpointID|Gateway|IPAddress|IPPrefixLen|MacAddress)$/,
  /^\.(Config|ContainerConfig)\.Hostname$/,
  /^\.Metadata\.LastTagTime$/,
  /^\.RootFS\.Layers\[[1-9]\]$/,
  // dockerd 20.10 only (gone in moby 25+ or API 1.44+), or set by its --bridge=none.
  /^\.(ContainerConfig|Container|DockerVersion|VirtualSize)\b/,
  /^\.HostConfig\.KernelMemory(TCP)?$/,
  /^\.(Config|ContainerConfig)\.NetworkDisabled$/,
  // Newer mobys mask more (/sys/devices/virtual/powercap, /proc/interrupts, thermal_throttle): Wharf follows the
  // newest list, so its masked paths are compared as a superset of dockerd's, below, not index by index.
  /^\.HostConfig\.MaskedPaths\[\d+\]$/,
];

/** `inspect` as lines `.Path.To.Key value`, leaving out IGNORED_KEYS. */
function flatten(v: unknown, at = '', out: string[] = []): string[] {
  if (IGNORED_KEYS.some((re) => re.test(at))) return out;
  if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) flatten(x, Array.isArray(v) ? `${at}[${k}]` : `${at}.${k}`, out);
  } else out.push(`${at} ${JSON.stringify(v)}`);
  return out;
}

test('inspect: the same keys, and the same values where they do not depend on the engine', async () => {
  for (const name of ['c1', 'web', 'once', 'made', 'busybox', 'me/img:v1', 'andrew/static_web:v1']) {
    const r = await both(['inspect', name], () => '');
    const [wo, dockerO] = [r.wharf, r.docker].map(
      (x) => (JSON.parse(x.stdout) as Array<Record<string, { Image?: string; MaskedPaths?: string[] | null }>>)[0]!,
    );
    const dockerMasked = dockerO!.HostConfig?.MaskedPaths ?? [];
    const wharfMasked = wo!.HostConfig?.MaskedPaths ?? [];
    assert.deepEqual(
      dockerMasked.filter((m) => !wharfMasked.includes(m)),
      [],
      `${name}: every path dockerd masks is masked by Wharf too`,
    );
    const [w, d] = [wo!, dockerO!].map((o) => {
      // Config.Image is ignored for images only.
      if (o.Config?.Image?.startsWith('sha256:')) delete o.Config.Image;
      return flatten(o).sort();
    });
    const [onlyW, onlyD] = [w!.filter((l) => !d!.includes(l)), d!.filter((l) => !w!.includes(l))];
    assert.deepEqual({ name, wharf: onlyW, docker: onlyD }, { name, wharf: [], docker: [] });
  }
  await both(['inspect', '-f', '{{.Comment}}|{{.Author}}', 'me/img:v1']);
  await both(['inspect', '-f', '{{json .HostConfig.RestartPolicy}} {{json .Config.Env}}', 'web']);
});

test('port of a container without published ports, and its error cases', async () => {
  await both(['port', 'web']);
  for (const args of [
    ['port', 'web', '80'],
    ['port', 'web', '80/udp'],
    ['port', 'web', 'abc'],
    ['port', 'nosuch'],
  ]) {
    const r = await both(args);
    assert.equal(r.wharf.stderr, r.docker.stderr);
  }
});

test('diff of the container the tutorial changed', async () => {
  // dockerd's overlay2 falls back to its naive diff on this kernel, which lists changes in Go's map order.
  await both(['diff', 'c1'], sortedLines);
  await both(['container', 'diff', 'web'], sortedLines);
});

test('stats --no-stream with a format', async () => {
  await both(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}} {{.Container}}', 'c1', 'web']);
  await both(['stats', '--no-stream', '--format', 'table {{.Name}}\t{{.PIDs}}', 'c1']);
});

test('events --format: the same actions on the same objects', async () => {
  const events = async (name: string, cli: Cli) => {
    const r = ok(
      await cli([
        'events',
        '--since',
        String(since[name]),
        '--until',
        String(Math.floor(Date.now() / 1000)),
        '--filter',
        'type=container',
        '--format',
        '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}',
      ]),
      `${name} events`,
    );
    // The classic builder's intermediate containers (random names) are dockerd's alone: Wharf's builder runs its
    // steps without container events.
    return r.stdout.split('\n').filter((l) => /^container .+ (c1|web|once|made)$/.test(l));
  };
  const [w, d] = [await events('wharf', sbs.wharf), await events('docker', sbs.docker)];
  assert.deepEqual(w, d);
});

test('error cases exit as with Docker', async () => {
  const cases: string[][] = [
    ['run', '--pull', 'never', 'nosuch/img:1', 'true'],
    ['run', '--nope', 'busybox', 'true'],
    ['ps', '--nope'],
    ['frobnicate'],
    ['container', 'frob'],
    ...['stop', 'rm', 'logs', 'inspect', 'start', 'kill', 'restart', 'pause', 'port', 'top', 'diff', 'wait'].map(
      (v) => [v, 'nosuch'],
    ),
    ['exec', 'nosuch', 'true'],
    ['exec', 'made', 'true'],
    ['exec', 'web', '/etc'],
    ['kill', '-s', 'BOGUS', 'web'],
    ['rmi', 'nosuch'],
    ['history', 'nosuch'],
    ['tag', 'nosuch', 'x'],
    ['start', 'nosuch', 'made'],
  ];
  // The words too, but for who says them ("docker:", "Error response from daemon:", "Error:") and IDs; Wharf's run
  // leaves out Docker's "Run 'docker run --help'" hint after an engine error.
  const words = (s: string): string =>
    s
      .replaceAll('docker', 'wharf')
      .replace(/^(wharf: )?(Error response from daemon: |Error: )?/gm, '')
      .replace(/\n\nRun 'wharf run --help' for more information\n$/, '\n')
      .replace(/\b[0-9a-f]{64}\b/g, '<id>');
  const differences: string[] = [];
  for (const args of cases) {
    const [w, d] = [await sbs.wharf(args), await sbs.docker(args)];
    if (w.code !== d.code) differences.push(`${args.join(' ')}: wharf ${w.code}, docker ${d.code}`);
    else if (words(w.stderr) !== words(d.stderr))
      differences.push(`${args.join(' ')}: wharf ${JSON.stringify(w.stderr)}, docker ${JSON.stringify(d.stderr)}`);
  }
  assert.deepEqual(differences, []);
});

test('stop ends --restart=always on both', async () => {
  await both(['stop', '-t', '1', 'web']);
  await both(['inspect', '-f', '{{.State.Status}} {{.State.Restarting}} {{.State.ExitCode}} {{.RestartCount}}', 'web']);
});
