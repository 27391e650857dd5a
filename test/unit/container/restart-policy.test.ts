import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WharfError } from '../../../src/errors/index.js';
import {
  checkRestartWithAutoRemove,
  killEndsRestartLoop,
  monitorRestartPolicy,
  parseRestartPolicy,
  statusText,
  validateRestartPolicy,
  wantsRestore,
  type ObservedContainer,
} from '../../../src/container/index.js';
import { encodeMonitorConfig } from '../../../src/runtime/index.js';

const fails = (fn: () => unknown, message: string): void =>
  assert.throws(
    fn,
    (err: unknown) => err instanceof WharfError && err.code === 'INVALID_ARGUMENT' && err.message === message,
  );

test('--restart text: the docker CLI parsing (split at the first colon, Atoi count)', () => {
  const table: Array<[string, string, number]> = [
    ['no', 'no', 0],
    ['always', 'always', 0],
    ['unless-stopped', 'unless-stopped', 0],
    ['on-failure', 'on-failure', 0],
    ['on-failure:5', 'on-failure', 5],
    ['on-failure:', 'on-failure', 0],
    ['on-failure:+3', 'on-failure', 3],
    ['on-failure:03', 'on-failure', 3],
    ['on-failure:-1', 'on-failure', -1], // the daemon refuses it, not the parser
    ['always:', 'always', 0],
    ['always:0', 'always', 0],
    ['', '', 0],
    ['nope', 'nope', 0],
  ];
  for (const [text, name, max] of table)
    assert.deepEqual(parseRestartPolicy(text), { Name: name, MaximumRetryCount: max }, text);
  const notInt = 'invalid restart policy format: maximum retry count must be an integer';
  fails(() => parseRestartPolicy('on-failure:x'), notInt);
  fails(() => parseRestartPolicy('always:x'), notInt);
  fails(() => parseRestartPolicy('on-failure:3:4'), notInt);
  fails(() => parseRestartPolicy('on-failure: 3'), notInt);
  fails(() => parseRestartPolicy(':3'), 'invalid restart policy format: no policy provided before colon');
});

test('restart policies checked as dockerd checks them, with its messages', () => {
  for (const name of ['no', 'always', 'unless-stopped', 'on-failure', ''])
    assert.deepEqual(validateRestartPolicy({ Name: name, MaximumRetryCount: 0 }), { Name: name, MaximumRetryCount: 0 });
  assert.deepEqual(validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 7 }).MaximumRetryCount, 7);
  fails(() => validateRestartPolicy({ Name: 'nope', MaximumRetryCount: 0 }), "invalid restart policy 'nope'");
  fails(
    () => validateRestartPolicy({ Name: 'ON-FAILURE', MaximumRetryCount: 0 }),
    "invalid restart policy 'ON-FAILURE'",
  );
  for (const name of ['always', 'unless-stopped', 'no']) {
    const msg = `maximum retry count cannot be used with restart policy '${name}'`;
    fails(() => validateRestartPolicy({ Name: name, MaximumRetryCount: 3 }), msg);
    fails(() => validateRestartPolicy({ Name: name, MaximumRetryCount: -1 }), msg);
  }
  fails(
    () => validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: -1 }),
    'maximum retry count cannot be negative',
  );
});

test('--restart with --rm: the CLI conflict unless the policy restarts nothing', () => {
  const conflict = 'conflicting options: cannot specify both --restart and --rm';
  fails(() => checkRestartWithAutoRemove({ Name: 'always', MaximumRetryCount: 0 }, true), conflict);
  fails(() => checkRestartWithAutoRemove({ Name: 'on-failure', MaximumRetryCount: 0 }, true), conflict);
  checkRestartWithAutoRemove({ Name: 'no', MaximumRetryCount: 0 }, true);
  checkRestartWithAutoRemove({ Name: '', MaximumRetryCount: 0 }, true);
  checkRestartWithAutoRemove({ Name: 'always', MaximumRetryCount: 0 }, false);
});

test('the monitor config carries a restarting policy only', () => {
  assert.deepEqual(monitorRestartPolicy(undefined), { name: 'no', max: 0 });
  assert.deepEqual(monitorRestartPolicy({ Name: '', MaximumRetryCount: 0 }), { name: 'no', max: 0 });
  assert.deepEqual(monitorRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 2 }), { name: 'on-failure', max: 2 });
  const base = { id: 'x', bundle: '/b', runcRoot: '/r', stateDir: '/s', logPath: '/l', tty: false, openStdin: false };
  const text = encodeMonitorConfig({ ...base, restartPolicy: { name: 'on-failure', max: 2 } });
  assert.match(text, /^restart_policy=on-failure$/m);
  assert.match(text, /^restart_max=2$/m);
  assert.doesNotMatch(encodeMonitorConfig({ ...base, restartPolicy: { name: 'no', max: 0 } }), /restart_/);
});

test('system restore brings back always, and unless-stopped unless stopped by hand, once their run state is lost', () => {
  const always = { Name: 'always', MaximumRetryCount: 0 } as const;
  const unless = { Name: 'unless-stopped', MaximumRetryCount: 0 } as const;
  const lost = { manuallyStopped: false, recordStatus: 'running', runStateLost: true, running: false } as const;
  assert.equal(wantsRestore({ ...lost, policy: always }), true);
  assert.equal(wantsRestore({ ...lost, policy: unless }), true);
  // Docker's daemon restarts an always container at its start even when it was stopped by hand.
  assert.equal(wantsRestore({ ...lost, policy: always, manuallyStopped: true, recordStatus: 'exited' }), true);
  assert.equal(wantsRestore({ ...lost, policy: unless, manuallyStopped: true, recordStatus: 'exited' }), false);
  assert.equal(wantsRestore({ ...lost, policy: { Name: 'on-failure', MaximumRetryCount: 0 } }), false);
  assert.equal(wantsRestore({ ...lost, policy: undefined }), false);
  assert.equal(wantsRestore({ ...lost, policy: always, recordStatus: 'created' }), false);
  assert.equal(wantsRestore({ ...lost, policy: always, running: true }), false);
  assert.equal(wantsRestore({ ...lost, policy: always, runStateLost: false }), false);
});

test('ps STATUS of a restarting container: the last exit code and how long ago it ended', () => {
  const c = {
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
    state: { status: 'running', exitCode: 3, startedAt: '2024-01-01T11:57:00Z', finishedAt: '2024-01-01T11:59:59Z' },
    restartCount: 3,
    status: 'restarting',
    running: true,
  } satisfies ObservedContainer;
  assert.equal(statusText(c, new Date('2024-01-01T12:00:00Z')), 'Restarting (3) 1 second ago');
  assert.equal(statusText(c, new Date('2024-01-01T11:59:59.5Z')), 'Restarting (3) Less than a second ago');
});

test("kill ends the restart loop as dockerd's killWithSignal: SIGKILL, the StopSignal, or any signal without one", () => {
  assert.equal(killEndsRestartLoop('SIGKILL', undefined), true);
  assert.equal(killEndsRestartLoop('SIGHUP', undefined), true);
  assert.equal(killEndsRestartLoop('SIGKILL', 'SIGUSR1'), true);
  assert.equal(killEndsRestartLoop('9', 'SIGUSR1'), true);
  assert.equal(killEndsRestartLoop('SIGUSR1', 'SIGUSR1'), true);
  assert.equal(killEndsRestartLoop('15', 'SIGTERM'), true);
  assert.equal(killEndsRestartLoop('SIGHUP', 'SIGUSR1'), false);
});
