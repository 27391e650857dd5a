import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DockerfileError,
  parseInstructions,
  type Instruction,
  type InstructionsResult,
} from '../../../src/dockerfile/index.js';

/** Types `FROM x` + `line` and returns the instruction `line` became. */
function one(line: string): Instruction {
  const r = parseInstructions(`FROM scratch\n${line}\n`);
  assert.equal(r.stages[0]!.instructions.length, 1);
  return r.stages[0]!.instructions[0]!;
}

function fails(line: string, message: string | RegExp): void {
  assert.throws(
    () => parseInstructions(`FROM scratch\n${line}\n`),
    (err: unknown) => {
      assert.ok(err instanceof DockerfileError, String(err));
      assert.equal(err.line, 2);
      if (typeof message === 'string') assert.equal(err.reason, message);
      else assert.match(err.reason, message);
      return true;
    },
  );
}

// Compact projections: only the fields a table row cares about.
const pick = (inst: Instruction, keys: string[]): Record<string, unknown> =>
  Object.fromEntries(keys.filter((k) => k in inst).map((k) => [k, (inst as unknown as Record<string, unknown>)[k]]));

describe('typing: accepted forms', () => {
  const table: [string, Record<string, unknown>][] = [
    ['RUN echo hi', { kind: 'RUN', command: { form: 'shell', script: 'echo hi' } }],
    ['RUN ["echo", "hi"]', { kind: 'RUN', command: { form: 'exec', args: ['echo', 'hi'] } }],
    ['RUN --network=none true', { kind: 'RUN', network: 'none' }],
    ['RUN --security=insecure true', { kind: 'RUN', security: 'insecure' }],
    ['CMD ["a"]', { kind: 'CMD', command: { form: 'exec', args: ['a'] } }],
    ['CMD []', { kind: 'CMD', command: { form: 'exec', args: [] } }],
    ['CMD echo $HOME', { kind: 'CMD', command: { form: 'shell', script: 'echo $HOME' } }],
    ['ENTRYPOINT ["/e"]', { kind: 'ENTRYPOINT', command: { form: 'exec', args: ['/e'] } }],
    [
      'ENV A=1 B=2',
      {
        kind: 'ENV',
        pairs: [
          { key: 'A', value: '1' },
          { key: 'B', value: '2' },
        ],
        legacyForm: false,
      },
    ],
    ['ENV A 1 2', { kind: 'ENV', pairs: [{ key: 'A', value: '1 2' }], legacyForm: true }],
    ['ENV A="x y"', { kind: 'ENV', pairs: [{ key: 'A', value: '"x y"' }] }],
    ['ARG A', { kind: 'ARG', args: [{ key: 'A' }] }],
    ['ARG A=1 B', { kind: 'ARG', args: [{ key: 'A', value: '1' }, { key: 'B' }] }],
    ['ARG A=', { kind: 'ARG', args: [{ key: 'A', value: '' }] }],
    ['LABEL a=b', { kind: 'LABEL', pairs: [{ key: 'a', value: 'b' }] }],
    ['MAINTAINER me <me@x>', { kind: 'MAINTAINER', maintainer: 'me <me@x>' }],
    ['EXPOSE 80 53/udp 8000-8001/tcp 9/SCTP', { kind: 'EXPOSE', ports: ['80', '53/udp', '8000-8001/tcp', '9/SCTP'] }],
    ['EXPOSE $P', { kind: 'EXPOSE', ports: ['$P'] }],
    ['WORKDIR /a b', { kind: 'WORKDIR', path: '/a b' }],
    ['USER app:app', { kind: 'USER', user: 'app:app' }],
    ['VOLUME /a /b', { kind: 'VOLUME', volumes: ['/a', '/b'] }],
    ['VOLUME ["/a b"]', { kind: 'VOLUME', volumes: ['/a b'] }],
    ['SHELL ["/bin/bash", "-c"]', { kind: 'SHELL', shell: ['/bin/bash', '-c'] }],
    ['STOPSIGNAL SIGUSR1', { kind: 'STOPSIGNAL', signal: 'SIGUSR1' }],
    ['STOPSIGNAL 15', { kind: 'STOPSIGNAL', signal: '15' }],
    ['STOPSIGNAL SIGRTMIN+3', { kind: 'STOPSIGNAL', signal: 'SIGRTMIN+3' }],
    ['HEALTHCHECK NONE', { kind: 'HEALTHCHECK', health: { test: ['NONE'] } }],
    ['healthcheck cmd true', { kind: 'HEALTHCHECK', health: { test: ['CMD-SHELL', 'true'] } }],
    [
      'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0 --retries=2 CMD ["t", "x"]',
      { kind: 'HEALTHCHECK', health: { test: ['CMD', 't', 'x'], interval: 90e9, timeout: 500e6, retries: 2 } },
    ],
    [
      'HEALTHCHECK --start-interval=1.5s CMD t',
      { kind: 'HEALTHCHECK', health: { test: ['CMD-SHELL', 't'], startInterval: 1.5e9 } },
    ],
    [
      'COPY --from=build --chown=1:2 --chmod=u=rwx,go=rx --link --parents --exclude=*.md --exclude=x a b /d/',
      {
        kind: 'COPY',
        sources: ['a', 'b'],
        dest: '/d/',
        from: 'build',
        chown: '1:2',
        chmod: 'u=rwx,go=rx',
        link: true,
        parents: true,
        exclude: ['*.md', 'x'],
        json: false,
      },
    ],
    ['COPY --link=false a b', { kind: 'COPY', link: false, parents: false }],
    ['COPY ["a b", "c"]', { kind: 'COPY', sources: ['a b'], dest: 'c', json: true }],
    [
      'ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d --keep-git-dir https://x/y /z',
      {
        kind: 'ADD',
        sources: ['https://x/y'],
        dest: '/z',
        checksum: 'sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d',
        keepGitDir: true,
      },
    ],
    ['ONBUILD RUN echo hi', { kind: 'ONBUILD', expression: 'RUN echo hi' }],
    ['onbuild   copy a b', { kind: 'ONBUILD', expression: 'copy a b' }],
  ];
  for (const [line, expected] of table) {
    test(line, () => {
      const inst = one(line);
      assert.deepEqual(pick(inst, Object.keys(expected)), expected);
      assert.equal(inst.original, line);
      assert.deepEqual(inst.range, { start: 2, end: 2 });
    });
  }
});

describe('typing: rejected forms', () => {
  const table: [string, string | RegExp][] = [
    ['RUNN x', 'unknown instruction: RUNN (did you mean RUN?)'],
    ['XYZZY x', 'unknown instruction: XYZZY'],
    ['RUN', 'RUN requires at least one argument'],
    ['RUN --mount=type=cache true', 'RUN --mount: mount target must be specified for cache mounts'],
    ['RUN --mount=type=bind,target=/x,mode=0700 true', 'RUN --mount: mode not allowed for "bind" type mounts'],
    ['RUN --mount=type=cache,target=/x,sharing=weird true', 'RUN --mount: unsupported sharing value "weird"'],
    ['RUN --mount=type=secret true', 'RUN --mount: invalid secret mount. one of source, target required'],
    ['RUN --mount=type=secret,id=a,from=b true', 'RUN --mount: secret mount should not have a from'],
    ['RUN --mount=type=bind,target=/x,bogus=1 true', "RUN --mount: unexpected key 'bogus' in 'bogus=1'"],
    [
      'RUN --mount=type=bind,from=$STAGE,target=/x true',
      "RUN --mount: 'from' doesn't support variable expansion, define alias stage instead",
    ],
    ['RUN --network=bridge true', 'unsupported network mode "bridge" (expected default, none or host)'],
    ['RUN --mount true', 'missing a value on flag: --mount'],
    ['RUN --network=none --network=host true', 'duplicate flag specified: --network'],
    ['CMD', 'CMD requires at least one argument'],
    ['CMD --foo ["x"]', 'unknown flag: --foo'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV =x', 'ENV names can not be blank'],
    ['LABEL', 'LABEL requires at least one argument'],
    ['ARG', 'ARG requires at least one argument'],
    ['ARG =x', 'ARG names can not be blank'],
    ['MAINTAINER', 'MAINTAINER requires exactly one argument'],
    ['EXPOSE', 'EXPOSE requires at least one argument'],
    ['EXPOSE 70000', 'invalid containerPort: 70000'],
    ['EXPOSE 90-80', 'invalid range specified for container port: 90-80'],
    ['EXPOSE abc', 'invalid containerPort: abc'],
    ['WORKDIR', 'WORKDIR requires exactly one argument'],
    ['USER', 'USER requires exactly one argument'],
    ['VOLUME', 'VOLUME requires at least one argument'],
    ['VOLUME [""]', 'VOLUME specified can not be an empty string'],
    ['SHELL []', 'SHELL requires at least one argument'],
    ['STOPSIGNAL', 'STOPSIGNAL requires exactly one argument'],
    ['STOPSIGNAL 99', 'invalid signal: 99'],
    ['STOPSIGNAL SIG TERM', 'invalid signal: SIG TERM'],
    ['HEALTHCHECK', 'HEALTHCHECK requires at least one argument'],
    ['HEALTHCHECK NONE x', 'HEALTHCHECK NONE takes no arguments'],
    ['HEALTHCHECK --interval=1s NONE', 'HEALTHCHECK NONE takes no flags'],
    ['HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD'],
    ['HEALTHCHECK WAT x', 'Unknown type "WAT" in HEALTHCHECK (try CMD)'],
    ['HEALTHCHECK --interval=500us CMD x', 'HEALTHCHECK --interval cannot be less than 1ms (got 500us)'],
    ['HEALTHCHECK --timeout=abc CMD x', 'HEALTHCHECK --timeout: time: invalid duration "abc"'],
    ['HEALTHCHECK --retries=-1 CMD x', '--retries cannot be negative (-1)'],
    ['HEALTHCHECK --retries=x CMD x', 'HEALTHCHECK --retries: invalid number "x"'],
    ['COPY a', 'COPY requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['ADD a', 'ADD requires at least two arguments, but only one was provided. Destination could not be determined'],
    ['COPY --chmod=999 a b', /invalid chmod parameter: "999"/],
    ['COPY --from= a b', 'COPY --from requires a stage name, a stage index or an image'],
    ['COPY --checksum=sha256:00 a b', 'unknown flag: --checksum'],
    ['ADD --checksum=md5:abc a b', 'invalid checksum digest format: md5:abc'],
    ['ADD --from=x a b', 'unknown flag: --from'],
    ['ONBUILD', 'ONBUILD requires at least one argument'],
    ['ONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['ONBUILD FROM x', "FROM isn't allowed as an ONBUILD trigger"],
    ['ONBUILD MAINTAINER x', "MAINTAINER isn't allowed as an ONBUILD trigger"],
    ['ONBUILD RUNN x', 'unknown instruction: RUNN (did you mean RUN?)'],
    ['CMD ["a", {"b": 1}]', 'when using JSON array syntax, arrays must be comprised of strings only'],
  ];
  for (const [line, message] of table) {
    test(line, () => fails(line, message));
  }
});

describe('typing: stages', () => {
  const parse = (text: string): InstructionsResult => parseInstructions(text);

  test('groups instructions into stages and keeps ARGs before FROM as meta args', () => {
    const r = parse('ARG A=1\nARG B\nFROM x AS One\nRUN a\n\nFROM --platform=linux/arm64 y\nRUN b\nRUN c\n');
    assert.deepEqual(
      r.metaArgs.map((a) => a.args),
      [[{ key: 'A', value: '1' }], [{ key: 'B' }]],
    );
    assert.equal(r.stages.length, 2);
    assert.deepEqual(
      r.stages.map((s) => [s.index, s.name, s.baseName, s.platform, s.instructions.length, s.range]),
      [
        [0, 'one', 'x', undefined, 1, { start: 3, end: 4 }],
        [1, undefined, 'y', 'linux/arm64', 2, { start: 6, end: 8 }],
      ],
    );
  });

  test('RUN heredoc shapes: plain script, #! file, and shell redirections', () => {
    const r = parse(
      'FROM x\nRUN <<EOF\necho 1\nEOF\nRUN <<EOF\n#!/bin/python3\nprint(1)\nEOF\nRUN cat <<A > /a\nbody\nA\n',
    );
    const [plain, shebang, redirect] = r.stages[0]!.instructions;
    assert.ok(plain?.kind === 'RUN' && shebang?.kind === 'RUN' && redirect?.kind === 'RUN');
    assert.deepEqual(plain.command, { form: 'shell', script: 'echo 1\n' });
    assert.deepEqual(shebang.command, { form: 'exec', args: ['/dev/pipes/EOF'] });
    assert.deepEqual(shebang.inlineFiles, [
      { path: '/dev/pipes/EOF', data: '#!/bin/python3\nprint(1)\n', mode: 0o755 },
    ]);
    assert.deepEqual(redirect.command, { form: 'shell', script: 'cat <<A > /a\nbody\nA' });
  });

  test('COPY heredoc sources become inline contents, other sources stay paths', () => {
    const inst = parse('FROM x\nCOPY a <<"B" <<C /d/\n$b\nB\n$c\nC\n').stages[0]!.instructions[0]!;
    assert.ok(inst.kind === 'COPY');
    assert.deepEqual(inst.sources, ['a']);
    assert.deepEqual(inst.sourceContents, [
      { path: 'B', data: '$b\n', expand: false },
      { path: 'C', data: '$c\n', expand: true },
    ]);
  });

  test('ONBUILD types the trigger and keeps the heredoc in its expression', () => {
    const inst = parse('FROM x\nONBUILD COPY <<EOF /f\nhi\nEOF\n').stages[0]!.instructions[0]!;
    assert.ok(inst.kind === 'ONBUILD');
    assert.equal(inst.expression, 'COPY <<EOF /f\nhi\nEOF');
    assert.equal(inst.trigger.kind, 'COPY');
    assert.ok(inst.trigger.kind === 'COPY');
    assert.deepEqual(inst.trigger.sourceContents, [{ path: 'EOF', data: 'hi\n', expand: true }]);
  });

  test('parsed mounts get BuildKit defaults', () => {
    const inst = parse(
      'FROM x\nRUN --mount=type=cache,target=/c,id=go,uid=1000,mode=0755 --mount=target=/src --mount=type=tmpfs,target=/t,size=1g --mount=type=secret,id=s,required t\n',
    ).stages[0]!.instructions[0]!;
    assert.ok(inst.kind === 'RUN');
    assert.deepEqual(inst.mounts, [
      { type: 'cache', readOnly: false, target: '/c', id: 'go', uid: 1000, mode: 0o755 },
      { type: 'bind', readOnly: true, target: '/src' },
      { type: 'tmpfs', readOnly: false, target: '/t', size: 2 ** 30 },
      { type: 'secret', readOnly: true, id: 's', required: true },
    ]);
  });

  test('comments above an instruction are kept', () => {
    const inst = parse('FROM x\n# first\n# second\nRUN t\n').stages[0]!.instructions[0]!;
    assert.deepEqual(inst.comments, ['first', 'second']);
  });

  test('a file with only ARGs has no stage', () => {
    assert.throws(() => parse('ARG A\n'), /Dockerfile:1: no FROM instruction/);
  });

  test('custom file names appear in messages', () => {
    assert.throws(
      () => parseInstructions('FROM x\nBOGUS\n', { file: 'build/Containerfile' }),
      (err: unknown) =>
        err instanceof DockerfileError && err.message === 'build/Containerfile:2: unknown instruction: BOGUS',
    );
  });

  test('# check=skip=all drops every warning', () => {
    const r = parse('# check=skip=all\nFROM x as Y\nMAINTAINER me\nENV a b\n');
    assert.deepEqual(r.warnings, []);
    const noisy = parse('FROM x as Y\nMAINTAINER me\nENV a b\n');
    assert.deepEqual(noisy.warnings.map((w) => w.rule).sort(), [
      'FromAsCasing',
      'LegacyKeyValueFormat',
      'MaintainerDeprecated',
      'StageNameCasing',
    ]);
  });
});
