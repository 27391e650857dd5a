/**
 * `--change` against what dockerd 20.10 does with `docker import -c …` (checked by hand against a real daemon): the
 * same parser as the builder, variables expanded from the config's own environment, and Docker's set only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges } from '../../../src/image/changes.js';
import type { ContainerConfig } from '../../../src/oci/index.js';
import { WharfError } from '../../../src/errors/index.js';

const one = (config: ContainerConfig, change: string) => applyChanges(config, [change]);

test("CMD and ENTRYPOINT take exec form, or shell form through the config's SHELL", () => {
  assert.deepEqual(one({}, 'CMD ["httpd", "-f"]').Cmd, ['httpd', '-f']);
  assert.deepEqual(one({}, 'CMD echo hi there').Cmd, ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(one({}, 'CMD [bad json').Cmd, ['/bin/sh', '-c', '[bad json'], 'not JSON: shell form, as Docker');
  assert.deepEqual(one({ Shell: ['/bin/bash', '-ec'] }, 'CMD echo hi').Cmd, ['/bin/bash', '-ec', 'echo hi']);
  assert.deepEqual(one({}, 'cmd ["x"]').Cmd, ['x'], 'keywords are case-insensitive');
  assert.deepEqual(one({}, 'ENTRYPOINT ["/init"]').Entrypoint, ['/init']);
  assert.equal(one({ Entrypoint: ['/x'] }, 'ENTRYPOINT []').Entrypoint, null);
});

test('ENTRYPOINT resets an inherited CMD but not one set in the same change list', () => {
  assert.equal(one({ Cmd: ['sh'] }, 'ENTRYPOINT ["/x"]').Cmd, null);
  const c = applyChanges({ Cmd: ['sh'] }, ['CMD ["a"]', 'ENTRYPOINT ["/x"]']);
  assert.deepEqual(c.Cmd, ['a']);
  assert.deepEqual(c.Entrypoint, ['/x']);
});

test('ENV and LABEL take k=v pairs with quotes, and the legacy "k v" form', () => {
  const rows: Array<[string, string[]]> = [
    ['ENV A=1', ['A=1']],
    ['ENV A=1 B="two words" C=\'x y\'', ['A=1', 'B=two words', 'C=x y']],
    ['ENV A one two', ['A=one two']],
    ['ENV A=a\\ b', ['A=a b']],
    ['ENV A=', ['A=']],
  ];
  for (const [change, env] of rows) assert.deepEqual(one({}, change).Env, env, change);
  assert.deepEqual(one({ Env: ['A=0', 'P=/bin'] }, 'ENV A=2').Env, ['A=2', 'P=/bin'], 'overrides by key in place');
  assert.deepEqual(one({}, 'LABEL a=b "c d"="e f"').Labels, { a: 'b', 'c d': 'e f' });
});

test("variables expand from the config's environment, including ENV set by an earlier change", () => {
  const c = applyChanges({ Env: ['P=8080'] }, [
    'ENV A=1',
    'ENV B=$A C=${A}x',
    'LABEL l=$A',
    'EXPOSE $P',
    'WORKDIR /srv/$A',
    'USER $UNSET',
  ]);
  assert.deepEqual(c.Env, ['P=8080', 'A=1', 'B=1', 'C=1x']);
  assert.deepEqual(c.Labels, { l: '1' });
  assert.deepEqual(c.ExposedPorts, { '8080/tcp': {} });
  assert.equal(c.WorkingDir, '/srv/1');
  assert.equal(c.User, '');
  assert.deepEqual(one({}, 'CMD echo $HOME').Cmd, ['/bin/sh', '-c', 'echo $HOME'], "CMD is the shell's business");
});

test('EXPOSE, USER, WORKDIR, VOLUME, ONBUILD, HEALTHCHECK', () => {
  assert.deepEqual(one({}, 'EXPOSE 80 53/UDP 8000-8001').ExposedPorts, {
    '80/tcp': {},
    '53/udp': {},
    '8000/tcp': {},
    '8001/tcp': {},
  });
  assert.equal(one({}, 'USER www:www').User, 'www:www');
  assert.equal(one({ WorkingDir: '/a' }, 'WORKDIR b').WorkingDir, '/a/b');
  assert.equal(one({ WorkingDir: '/a' }, 'WORKDIR /c').WorkingDir, '/c');
  assert.equal(one({}, 'WORKDIR rel').WorkingDir, '/rel');
  assert.deepEqual(one({}, 'VOLUME ["/data", "/logs"]').Volumes, { '/data': {}, '/logs': {} });
  assert.deepEqual(one({}, 'VOLUME /data /logs').Volumes, { '/data': {}, '/logs': {} });
  assert.deepEqual(one({}, 'ONBUILD   RUN   make  "x"').OnBuild, ['RUN   make  "x"'], 'the trigger as written');
  assert.deepEqual(one({}, 'HEALTHCHECK --interval=5s CMD true').Healthcheck, {
    Test: ['CMD-SHELL', 'true'],
    Interval: 5e9,
  });
  assert.deepEqual(one({ Healthcheck: { Test: ['CMD', 'x'] } }, 'HEALTHCHECK NONE').Healthcheck, { Test: ['NONE'] });
});

test('one --change value may hold several lines, as Docker joins them into one Dockerfile', () => {
  assert.deepEqual(one({}, 'ENV A=1\nENV B=2').Env, ['A=1', 'B=2']);
});

test("anything outside Docker's --change set, or malformed, is a clear INVALID_ARGUMENT", () => {
  const bad: Array<[string, RegExp]> = [
    ['RUN echo', /RUN is not a valid change command/],
    ['COPY a b', /COPY is not a valid change command/],
    ['FROM x', /FROM is not a valid change command/],
    ['ARG X=1', /ARG is not a valid change command/],
    ['MAINTAINER me', /MAINTAINER is not a valid change command/],
    ['STOPSIGNAL 9', /STOPSIGNAL is not a valid change command/],
    ['SHELL ["/bin/bash", "-c"]', /SHELL is not a valid change command/],
    ['BOGUS x', /BOGUS is not a valid change command/],
    ['ENV A=1\nRUN x', /RUN is not a valid change command/],
    ['', /file with no instructions/],
    ['# only a comment', /file with no instructions/],
    ['CMD', /requires at least one argument/],
    ['ENV', /requires at least one argument/],
    ['USER', /requires exactly one argument/],
    ['EXPOSE 99999', /invalid containerPort: 99999/],
    ['EXPOSE 80/xyz', /invalid proto: xyz/],
    ['EXPOSE 10-5', /invalid range/],
    ['VOLUME ""', /VOLUME specified can not be an empty string/],
    ['HEALTHCHECK --interval=1us CMD true', /cannot be less than 1ms/],
    ['HEALTHCHECK --interval=5 CMD true', /missing unit/],
    ['ONBUILD ONBUILD RUN x', /isn't allowed/],
    ['ONBUILD FROM x', /isn't allowed/],
  ];
  for (const [change, re] of bad) {
    const refused = (e: unknown) =>
      e instanceof WharfError &&
      e.code === 'INVALID_ARGUMENT' &&
      e.message.startsWith(`invalid --change "${change}": `) &&
      re.test(e.message);
    assert.throws(() => one({}, change), refused, change);
    assert.throws(() => applyChanges({}, ['ENV OK=1', change]), refused, `after a good one: ${change}`);
  }
});

test('changes never mutate the input config', () => {
  const base = { Env: ['A=1'], Labels: { x: 'y' } };
  applyChanges(base, ['ENV A=2', 'LABEL x=z']);
  assert.deepEqual(base, { Env: ['A=1'], Labels: { x: 'y' } });
});
