import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInstructions, resolveStages, type Instruction } from '../../../src/dockerfile/index.js';
import {
  applyMetadata,
  nopCommand,
  nopCommandString,
  runRecordedArgv,
  type StageMeta,
} from '../../../src/build/metadata.js';
import { applyChanges, commandArgv, nextWorkdir } from '../../../src/image/index.js';
import { goQuote, goQuoteSlice, goQuoteRune } from '../../../src/build/goformat.js';
import { childImageConfig } from '../../../src/build/image-config.js';
import { humanContextSize } from '../../../src/build/format.js';
import { goPathMatch, destinationPath, combinedHash } from '../../../src/build/copy.js';
import type { ContainerConfig } from '../../../src/oci/index.js';

function steps(text: string, buildArgs: Record<string, string> = {}): Instruction[] {
  const r = resolveStages(parseInstructions(text, { file: 'Dockerfile' }), {
    buildArgs,
    baseImageEnv: () => ['PATH=/bin'],
  });
  return r.stages.at(-1)!.steps.map((s) => s.instruction);
}

/** The `created_by` Docker 20.10's classic builder records, collected from a real dockerd. */
const DOCKER_CREATED_BY: Array<[string, string]> = [
  ['ENV A=b C="d e"', '/bin/sh -c #(nop)  ENV A=b C=d e'],
  ['LABEL x="y z" q=r', '/bin/sh -c #(nop)  LABEL x=y z q=r'],
  ['MAINTAINER Jane Doe <jane@example.com>', '/bin/sh -c #(nop)  MAINTAINER Jane Doe <jane@example.com>'],
  ['EXPOSE 80 443/udp', '/bin/sh -c #(nop)  EXPOSE 443/udp 80'],
  ['CMD ["httpd","-f","-p","80","-h","/www"]', '/bin/sh -c #(nop)  CMD ["httpd" "-f" "-p" "80" "-h" "/www"]'],
  ['CMD echo "hi there"', '/bin/sh -c #(nop)  CMD ["/bin/sh" "-c" "echo \\"hi there\\""]'],
  ['ENTRYPOINT ["/bin/sh"]', '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh"]'],
  ['USER www', '/bin/sh -c #(nop)  USER www'],
  ['VOLUME /data /logs', '/bin/sh -c #(nop)  VOLUME [/data /logs]'],
  ['STOPSIGNAL SIGTERM', '/bin/sh -c #(nop)  STOPSIGNAL SIGTERM'],
  ['ARG V=1', '/bin/sh -c #(nop)  ARG V=1'],
  ['ONBUILD RUN echo hi', '/bin/sh -c #(nop)  ONBUILD RUN echo hi'],
  [
    'HEALTHCHECK --interval=5s --timeout=3s CMD wget -q localhost || exit 1',
    '/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "wget -q localhost || exit 1"] "5s" "3s" "0s" \'\\x00\'}',
  ],
];

for (const [line, want] of DOCKER_CREATED_BY) {
  test(`created_by of ${line}`, () => {
    const inst = steps(`FROM busybox\n${line}\n`).at(-1)!;
    const rc: ContainerConfig = { Env: ['PATH=/bin'] };
    const comment = applyMetadata(rc, inst, { cmdSet: false });
    assert.equal(nopCommand(rc, comment!).join(' '), want);
  });
}

test('SHELL records itself with the new shell', () => {
  const rc: ContainerConfig = {};
  const comment = applyMetadata(rc, steps('FROM b\nSHELL ["/bin/bash", "-ec"]\n')[0]!, { cmdSet: false });
  assert.equal(nopCommand(rc, comment!).join(' '), '/bin/bash -ec #(nop)  SHELL [/bin/bash -ec]');
});

test('config mutation: ENV replaces in place, ENTRYPOINT clears an inherited CMD but not one set in the stage', () => {
  const rc: ContainerConfig = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'] };
  const meta: StageMeta = { cmdSet: false };
  for (const i of steps('FROM b\nENV PATH=/usr/bin B=2\nENTRYPOINT ["/x"]\n')) applyMetadata(rc, i, meta);
  assert.deepEqual(rc.Env, ['PATH=/usr/bin', 'A=1', 'B=2']);
  assert.equal(rc.Cmd, null);
  const rc2: ContainerConfig = { Cmd: ['sh'] };
  const meta2: StageMeta = { cmdSet: false };
  for (const i of steps('FROM b\nCMD ["y"]\nENTRYPOINT ["/x"]\n')) applyMetadata(rc2, i, meta2);
  assert.deepEqual(rc2.Cmd, ['y']);
  assert.deepEqual(rc2.Entrypoint, ['/x']);
});

test('RUN records build args as |N k=v, sorted, proxies left out', () => {
  assert.deepEqual(
    runRecordedArgv(
      ['/bin/sh', '-c', 'make'],
      [
        { key: 'B', value: '2' },
        { key: 'A', value: '1' },
        { key: 'HTTP_PROXY', value: 'x' },
      ],
    ),
    ['|2', 'A=1', 'B=2', '/bin/sh', '-c', 'make'],
  );
  assert.deepEqual(runRecordedArgv(['true'], []), ['true']);
  assert.deepEqual(commandArgv({ Shell: ['/bin/bash', '-c'] }, { form: 'shell', script: 'x' }), [
    '/bin/bash',
    '-c',
    'x',
  ]);
  assert.equal(nopCommandString({}, 'WORKDIR /x').join(' '), '/bin/sh -c #(nop) WORKDIR /x');
});

test('WORKDIR resolution', () => {
  assert.equal(nextWorkdir(undefined, 'app'), '/app');
  assert.equal(nextWorkdir('/app', 'sub/../x'), '/app/x');
  assert.equal(nextWorkdir('/app', '/tmp/'), '/tmp');
});

test('Go formatting', () => {
  assert.equal(goQuote('a"b\\c\n\t\x01é'), '"a\\"b\\\\c\\n\\t\\x01é"');
  assert.equal(goQuoteSlice([]), '[]');
  assert.equal(goQuoteRune(3), "'\\x03'");
  assert.equal(goQuoteRune(65), "'A'");
});

test('child image config: sorted top-level keys, history appended, empty_layer for metadata steps', () => {
  const { raw, config } = childImageConfig({
    parent: undefined,
    parentId: null,
    rc: { Env: ['PATH=/bin'], Cmd: ['/hello'] },
    cmd: ['/bin/sh', '-c', '#(nop) ', 'CMD ["/hello"]'],
    created: '2020-01-01T00:00:00Z',
    architecture: 'amd64',
    os: 'linux',
  });
  const parsed = JSON.parse(raw.toString());
  assert.deepEqual(Object.keys(parsed), [...Object.keys(parsed)].sort());
  assert.deepEqual(config.history, [
    { created: '2020-01-01T00:00:00Z', created_by: '/bin/sh -c #(nop)  CMD ["/hello"]', empty_layer: true },
  ]);
  assert.deepEqual(parsed.config.Cmd, ['/hello']);
  assert.equal(parsed.config.Image, '');
  assert.deepEqual(parsed.container_config.Cmd, ['/bin/sh', '-c', '#(nop) ', 'CMD ["/hello"]']);
  assert.deepEqual(parsed.rootfs, { type: 'layers', diff_ids: [] });
});

test('context size as the docker CLI prints it', () => {
  assert.equal(humanContextSize(3072), '3.072kB');
  assert.equal(humanContextSize(512), '512B');
  assert.equal(humanContextSize(1_234_567), '1.235MB');
});

test('COPY helpers: Go path match, destinations, combined hash', () => {
  assert.equal(goPathMatch('*.txt', 'a.txt'), true);
  assert.equal(goPathMatch('*.txt', 'd/a.txt'), false);
  assert.equal(goPathMatch('d/?.txt', 'd/a.txt'), true);
  assert.equal(goPathMatch('[ab].c', 'b.c'), true);
  assert.equal(destinationPath('x', '/app'), '/app/x');
  assert.equal(destinationPath('.', '/app'), '/app/');
  assert.equal(destinationPath('sub/', undefined), '/sub/');
  assert.equal(destinationPath('/abs', '/app'), '/abs');
  const s = (hash: string) => ({ orig: '', rel: '', abs: '', st: {} as never, hash });
  assert.equal(combinedHash([s('file:ab')]), 'file:ab');
  assert.match(combinedHash([s('file:ab'), s('dir:cd')]), /^multi:[a-f0-9]{64}$/);
});

test('a --change and the same Dockerfile line in a build give the same config (one implementation)', () => {
  const base: ContainerConfig = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Labels: { k: 'v' } };
  const lines = [
    'ENV B=$A C="x y"',
    'LABEL k=w "a b"=c',
    'EXPOSE 80 53/udp',
    'CMD echo hi',
    'ENTRYPOINT ["/init"]',
    'USER www',
    'VOLUME /data',
    'ONBUILD RUN make',
    'HEALTHCHECK --interval=5s CMD true',
  ];
  for (const line of lines) {
    const built = structuredClone(base);
    const r = resolveStages(parseInstructions(`FROM b\n${line}\n`, { file: 'Dockerfile' }), {
      baseImageEnv: () => base.Env!,
    });
    applyMetadata(built, r.stages[0]!.steps[0]!.instruction, { cmdSet: false });
    assert.deepEqual(applyChanges(base, [line]), built, line);
  }
});
