import { test } from 'node:test';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import {
  commitConfig,
  healthConfigFromFlags,
  healthProbe,
  healthStatusText,
  mergeHealthcheck,
  statusText,
  validateHealthcheck,
  type ContainerRecord,
  type ObservedContainer,
} from '../../../src/container/index.js';
import type { ImageConfig } from '../../../src/oci/index.js';
import { healthFromFlags } from '../../../src/cli/commands/health-flags.js';
import { encodeMonitorConfig, keepHealthResults, readHealth } from '../../../src/runtime/index.js';

test('--health-* flags build the HealthConfig the docker CLI sends', () => {
  assert.equal(healthConfigFromFlags({}), undefined);
  assert.equal(healthConfigFromFlags({ interval: 0, retries: 0, cmd: '' }), undefined);
  assert.deepEqual(healthConfigFromFlags({ cmd: 'curl -f localhost', interval: 1e9, retries: 2 }), {
    Test: ['CMD-SHELL', 'curl -f localhost'],
    Interval: 1e9,
    Retries: 2,
  });
  // Durations without a command: the image's command applies (merged later).
  assert.deepEqual(healthConfigFromFlags({ timeout: 5e9, startPeriod: 1e9, startInterval: 2e9 }), {
    Timeout: 5e9,
    StartPeriod: 1e9,
    StartInterval: 2e9,
  });
  assert.deepEqual(healthConfigFromFlags({ noHealthcheck: true }), { Test: ['NONE'] });
});

test('--health-* flags: the docker CLI messages', () => {
  const cases: Array<[Parameters<typeof healthConfigFromFlags>[0], string]> = [
    [{ noHealthcheck: true, cmd: 'x' }, '--no-healthcheck conflicts with --health-* options'],
    [{ noHealthcheck: true, retries: 1 }, '--no-healthcheck conflicts with --health-* options'],
    [{ interval: -1e9 }, '--health-interval cannot be negative'],
    [{ timeout: -1e9 }, '--health-timeout cannot be negative'],
    [{ retries: -1 }, '--health-retries cannot be negative'],
    [{ startPeriod: -1e9 }, '--health-start-period cannot be negative'],
    [{ startInterval: -1e9 }, '--health-start-interval cannot be negative'],
  ];
  for (const [flags, message] of cases) assert.throws(() => healthConfigFromFlags(flags), { message });
});

test('flag values parse as pflag parses durations and ints', () => {
  assert.deepEqual(healthFromFlags({ healthCmd: 'true', healthInterval: '1.5s', healthRetries: '3' }), {
    Test: ['CMD-SHELL', 'true'],
    Interval: 1.5e9,
    Retries: 3,
  });
  assert.deepEqual(healthFromFlags({ healthcheck: false }), { Test: ['NONE'] });
  assert.equal(healthFromFlags({ healthcheck: true }), undefined);
  assert.throws(() => healthFromFlags({ healthInterval: 'x' }), {
    message: 'invalid argument "x" for "--health-interval" flag: time: invalid duration "x"',
  });
  assert.throws(() => healthFromFlags({ healthRetries: 'x' }), {
    message: 'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": invalid syntax',
  });
  assert.throws(() => healthFromFlags({ healthTimeout: '-1s' }), { message: '--health-timeout cannot be negative' });
});

test('the user HealthConfig merges with the image one as the daemon merges them', () => {
  const image = { Test: ['CMD', 'true'], Interval: 1e9, Timeout: 2e9, Retries: 4 };
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
  assert.deepEqual(mergeHealthcheck(undefined, image), image);
  assert.deepEqual(mergeHealthcheck({ Test: ['CMD-SHELL', 'x'] }, undefined), { Test: ['CMD-SHELL', 'x'] });
  // Only what the user left out comes from the image, and Test leads as in Docker's struct.
  const merged = mergeHealthcheck({ Interval: 2e9 }, image);
  assert.deepEqual(merged, { Test: ['CMD', 'true'], Interval: 2e9, Timeout: 2e9, Retries: 4 });
  assert.deepEqual(Object.keys(merged!), ['Test', 'Interval', 'Timeout', 'Retries']);
  // --no-healthcheck keeps the image's numbers (docker inspect shows them beside NONE).
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image), {
    Test: ['NONE'],
    Interval: 1e9,
    Timeout: 2e9,
    Retries: 4,
  });
});

test('the daemon checks: durations of at least 1ms, retries not negative', () => {
  validateHealthcheck(undefined);
  validateHealthcheck({ Test: ['CMD', 'true'], Interval: 1e6, Timeout: 0 });
  const cases: Array<[object, string]> = [
    [{ Interval: 1e5 }, 'Interval in Healthcheck cannot be less than 1ms'],
    [{ Timeout: 1e5 }, 'Timeout in Healthcheck cannot be less than 1ms'],
    [{ StartPeriod: 1e5 }, 'StartPeriod in Healthcheck cannot be less than 1ms'],
    [{ StartInterval: 1e5 }, 'StartInterval in Healthcheck cannot be less than 1ms'],
    [{ Retries: -1 }, 'Retries in Healthcheck cannot be negative'],
  ];
  for (const [h, message] of cases) assert.throws(() => validateHealthcheck(h), { message });
});

test('the probe the monitor runs: Docker defaults, CMD-SHELL through the shell, no probe for NONE', () => {
  assert.equal(healthProbe({}), undefined);
  assert.equal(healthProbe({ Healthcheck: { Test: ['NONE'], Interval: 1e9 } }), undefined);
  assert.equal(healthProbe({ Healthcheck: { Test: [] } }), undefined);
  assert.equal(healthProbe({ Healthcheck: { Interval: 1e9 } }), undefined);
  assert.equal(healthProbe({ Healthcheck: { Test: ['BOGUS', 'x'] } }), undefined);
  assert.equal(healthProbe({ Healthcheck: { Test: ['CMD'] } }), undefined);
  assert.deepEqual(healthProbe({ Healthcheck: { Test: ['CMD-SHELL', 'echo ok'] } }), {
    cmd: ['/bin/sh', '-c', 'echo ok'],
    intervalMs: 30_000,
    timeoutMs: 30_000,
    startPeriodMs: 0,
    startIntervalMs: 5_000,
    retries: 3,
    timeoutText: '30s',
  });
  assert.deepEqual(
    healthProbe({
      Shell: ['/bin/ash', '-ec'],
      Healthcheck: { Test: ['CMD', 'true', 'x'], Interval: 1e9, Timeout: 1.5e9, StartPeriod: 3e9, Retries: 2 },
    }),
    {
      cmd: ['true', 'x'],
      intervalMs: 1000,
      timeoutMs: 1500,
      startPeriodMs: 3000,
      startIntervalMs: 5000,
      retries: 2,
      timeoutText: '1.5s',
    },
  );
  assert.deepEqual(healthProbe({ Shell: ['/bin/ash', '-ec'], Healthcheck: { Test: ['CMD-SHELL', 'x'] } })?.cmd, [
    '/bin/ash',
    '-ec',
    'x',
  ]);
});

test('ps STATUS carries the health: (health: starting), (healthy), (unhealthy); paused wins', () => {
  const now = new Date('2024-01-01T12:00:00Z');
  const c = (over: Partial<ObservedContainer>): ObservedContainer => ({
    id: 'a'.repeat(64),
    name: 'x',
    imageId: 'sha256:' as never,
    imageName: 'busybox',
    created: '2024-01-01T00:00:00Z',
    config: {},
    hostConfig: {} as never,
    path: 'sh',
    args: [],
    mounts: [],
    state: { status: 'running', exitCode: 0, startedAt: '2024-01-01T11:59:55Z' },
    restartCount: 0,
    status: 'running',
    running: true,
    ...over,
  });
  const health = (Status: 'starting' | 'healthy' | 'unhealthy') => ({ Status, FailingStreak: 0, Log: [] });
  assert.equal(healthStatusText('starting'), 'health: starting');
  assert.equal(statusText(c({ health: health('starting') }), now), 'Up 5 seconds (health: starting)');
  assert.equal(statusText(c({ health: health('healthy') }), now), 'Up 5 seconds (healthy)');
  assert.equal(statusText(c({ health: health('unhealthy') }), now), 'Up 5 seconds (unhealthy)');
  assert.equal(statusText(c({ status: 'paused', health: health('healthy') }), now), 'Up 5 seconds (Paused)');
  assert.equal(
    statusText(
      c({
        running: false,
        status: 'exited',
        health: health('unhealthy'),
        state: { status: 'exited', exitCode: 0, finishedAt: '2024-01-01T11:59:58Z' },
      }),
      now,
    ),
    'Exited (0) 2 seconds ago',
  );
});

test('the monitor configuration carries the probe, one health_cmd line per argument', () => {
  const text = encodeMonitorConfig({
    id: 'x',
    bundle: '/b',
    runcRoot: '/r',
    stateDir: '/s',
    logPath: '/l',
    tty: false,
    openStdin: false,
    health: {
      cmd: ['/bin/sh', '-c', 'echo a\nb'],
      intervalMs: 1000,
      timeoutMs: 500,
      startPeriodMs: 0,
      startIntervalMs: 5000,
      retries: 2,
      timeoutText: '500ms',
    },
  });
  const lines = text.trimEnd().split('\n');
  assert.deepEqual(
    lines.filter((l) => l.startsWith('health_')),
    [
      'health_cmd=/bin/sh',
      'health_cmd=-c',
      'health_cmd=echo a\\nb',
      'health_interval_ms=1000',
      'health_timeout_ms=500',
      'health_start_period_ms=0',
      'health_start_interval_ms=5000',
      'health_retries=2',
      'health_timeout_text=500ms',
    ],
  );
});

test("commit --change HEALTHCHECK merges with the container's check, as the daemon merges them", () => {
  const rec = {
    id: 'c'.repeat(64),
    config: { Cmd: ['sh'], Healthcheck: { Test: ['CMD-SHELL', 'x'], Interval: 1e9, Retries: 2 } },
  } as unknown as ContainerRecord;
  const base: ImageConfig = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };
  const changed = commitConfig(base, rec, undefined, { changes: ['HEALTHCHECK --interval=3s CMD ["true"]'] });
  assert.deepEqual(changed.config?.Healthcheck, { Test: ['CMD', 'true'], Interval: 3e9, Retries: 2 });
  const kept = commitConfig(base, rec, undefined, {});
  assert.deepEqual(kept.config?.Healthcheck, { Test: ['CMD-SHELL', 'x'], Interval: 1e9, Retries: 2 });
  const none = commitConfig(base, rec, undefined, { changes: ['HEALTHCHECK NONE'] });
  assert.deepEqual(none.config?.Healthcheck, { Test: ['NONE'], Interval: 1e9, Retries: 2 });
});

test('the results of the runs before come first in State.Health, five at most (Docker keeps them across restarts)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'wharf-health-'));
  try {
    const result = (n: number) => ({ Start: `s${n}`, End: `e${n}`, ExitCode: 0, Output: `${n}` });
    assert.equal(readHealth(dir), undefined);
    keepHealthResults(dir, [1, 2, 3, 4].map(result));
    assert.equal(readHealth(dir), undefined, 'no health before the new run wrote its own');
    await writeFile(
      path.join(dir, 'health.json'),
      JSON.stringify({ Status: 'starting', FailingStreak: 0, Log: [result(5), result(6)] }),
    );
    const h = readHealth(dir)!;
    assert.equal(h.Status, 'starting');
    assert.deepEqual(
      h.Log.map((r) => r.Output),
      ['2', '3', '4', '5', '6'],
    );
    keepHealthResults(dir, []); // nothing to keep: nothing written
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
