/**
 * A restart policy and a health check together (native/monitor/restart.c and health.c in one monitor): after the
 * monitor runs the container again, the checks run again on the new run (Docker's initHealthMonitor at each start),
 * and `stop` ends both the loop and the probes. Polls are bounded loops; nothing asserts how long a step took.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ok } from '../../helpers/cli.js';
import { withBusybox, type Fixture } from './fixture.js';

interface Inspected {
  Id: string;
  RestartCount: number;
  State: {
    Status: string;
    StartedAt: string;
    Health?: { Status: string; Log: Array<{ Start: string; ExitCode: number }> };
  };
}

let f: Fixture;
before(async () => {
  f = await withBusybox('wharf-restart-health-');
});
after(async () => {
  await f?.cleanup();
});

async function inspect(name: string): Promise<Inspected> {
  return (JSON.parse(ok(await f.cli(['inspect', name]), 'inspect').stdout) as Inspected[])[0]!;
}

async function until(name: string, done: (c: Inspected) => boolean, what: string): Promise<Inspected> {
  let c: Inspected | undefined;
  for (let i = 0; i < 400; i++) {
    c = await inspect(name);
    if (done(c)) return c;
    await sleep(100);
  }
  assert.fail(`${name}: ${what} never happened: ${JSON.stringify(c?.State)}`);
}

test('the health checks run again on a run the restart policy started, and stop ends both', async () => {
  ok(
    await f.cli([
      'run',
      '-d',
      '--name',
      'rh',
      '--restart=on-failure:3',
      '--health-cmd=true',
      '--health-interval=1s',
      '--health-start-interval=1s',
      'busybox',
      'sh',
      '-c',
      'sleep 2; exit 1',
    ]),
    'run -d with a restart policy and a health check',
  );
  const restarted = await until(
    'rh',
    (c) => c.RestartCount >= 1 && c.State.Status === 'running',
    'a restart by the policy',
  );
  const secondRunStart = restarted.State.StartedAt;
  // A probe that started during the second run: the checks went on after the monitor ran the container again.
  // The run lasts 2 s and a probe is due every second, so one falls inside it.
  const probed = await until(
    'rh',
    (c) => (c.State.Health?.Log ?? []).some((r) => r.ExitCode === 0 && r.Start > secondRunStart),
    'a probe in the restarted run',
  );
  assert.ok(probed.RestartCount >= 1);
  ok(await f.cli(['stop', '-t', '1', 'rh']), 'stop');
  const stopped = await inspect('rh');
  assert.equal(stopped.State.Status, 'exited');
  const count = stopped.RestartCount;
  // Nothing runs it again after the stop: the count stays and so does the status.
  await sleep(1500);
  const later = await inspect('rh');
  assert.equal(later.RestartCount, count);
  assert.equal(later.State.Status, 'exited');
  ok(await f.cli(['rm', 'rh']), 'rm');
});
