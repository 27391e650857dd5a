import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChange, applyChanges, parsePortSpec, splitWords } from '../../../src/image/changes.js';
import { WharfError } from '../../../src/errors/index.js';

test('CMD and ENTRYPOINT take exec form, or shell form wrapped in /bin/sh -c', () => {
  assert.deepEqual(applyChange({}, 'CMD ["httpd", "-f"]').Cmd, ['httpd', '-f']);
  assert.deepEqual(applyChange({}, 'CMD echo hi there').Cmd, ['/bin/sh', '-c', 'echo hi there']);
  assert.deepEqual(applyChange({}, 'cmd ["x"]').Cmd, ['x'], 'keywords are case-insensitive');
  assert.deepEqual(applyChange({}, 'ENTRYPOINT ["/init"]').Entrypoint, ['/init']);
});

test('ENTRYPOINT resets an inherited CMD but not one set in the same change list', () => {
  assert.equal(applyChange({ Cmd: ['sh'] }, 'ENTRYPOINT ["/x"]').Cmd, null);
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
  for (const [change, env] of rows) assert.deepEqual(applyChange({}, change).Env, env, change);
  assert.deepEqual(applyChange({ Env: ['A=0', 'P=/bin'] }, 'ENV A=2').Env, ['A=2', 'P=/bin'], 'overrides by key in place');
  assert.deepEqual(applyChange({}, 'LABEL a=b "c d"="e f"').Labels, { a: 'b', 'c d': 'e f' });
});

test('EXPOSE, USER, WORKDIR, VOLUME, ONBUILD', () => {
  assert.deepEqual(applyChange({}, 'EXPOSE 80 53/udp 8000-8001').ExposedPorts, { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} });
  assert.equal(applyChange({}, 'USER www:www').User, 'www:www');
  assert.equal(applyChange({ WorkingDir: '/a' }, 'WORKDIR b').WorkingDir, '/a/b');
  assert.equal(applyChange({ WorkingDir: '/a' }, 'WORKDIR /c').WorkingDir, '/c');
  assert.deepEqual(applyChange({}, 'VOLUME ["/data", "/logs"]').Volumes, { '/data': {}, '/logs': {} });
  assert.deepEqual(applyChange({}, 'VOLUME /data /logs').Volumes, { '/data': {}, '/logs': {} });
  assert.deepEqual(applyChange({}, 'ONBUILD RUN make').OnBuild, ['RUN make']);
});

test('anything outside Docker\'s --change set, or malformed, is a clear INVALID_ARGUMENT', () => {
  const bad: Array<[string, RegExp]> = [
    ['RUN echo', /RUN is not a valid change command/],
    ['COPY a b', /COPY is not a valid change command/],
    ['FROM x', /FROM is not a valid change command/],
    ['STOPSIGNAL 9', /STOPSIGNAL is not a valid change command/],
    ['', /expected an instruction/],
    ['CMD', /requires at least one argument/],
    ['ENV', /requires at least one argument/],
    ['ENV =x', /names can not be blank/],
    ['EXPOSE 99999', /invalid port/],
    ['EXPOSE abc', /invalid port/],
    ['ONBUILD ONBUILD RUN x', /isn't allowed/],
    ['ONBUILD FROM x', /isn't allowed/],
    ['ENV A="unterminated', /unterminated quote/],
  ];
  for (const [change, re] of bad) {
    assert.throws(() => applyChange({}, change), (e: unknown) => e instanceof WharfError && e.code === 'INVALID_ARGUMENT' && re.test(e.message), change);
  }
});

test('splitWords and parsePortSpec', () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g']);
  assert.deepEqual(parsePortSpec('53/UDP'), ['53/udp']);
  assert.throws(() => parsePortSpec('10-5'));
});

test('changes never mutate the input config', () => {
  const base = { Env: ['A=1'], Labels: { x: 'y' } };
  applyChanges(base, ['ENV A=2', 'LABEL x=z']);
  assert.deepEqual(base, { Env: ['A=1'], Labels: { x: 'y' } });
});
