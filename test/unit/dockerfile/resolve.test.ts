import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_PATH,
  DockerfileError,
  expandInstruction,
  parseInstructions,
  resolveStages,
  type Instruction,
  type ResolveOptions,
  type ResolvedBuild,
} from '../../../src/dockerfile/index.js';

const resolve = (text: string, opts: ResolveOptions = {}): ResolvedBuild =>
  resolveStages(parseInstructions(text), opts);

/** The expanded instruction of step `i` in the last resolved stage. */
const step = (b: ResolvedBuild, i: number, stage = b.stages.length - 1): Instruction =>
  b.stages[stage]!.steps[i]!.instruction;

function fieldOf(inst: Instruction): unknown {
  switch (inst.kind) {
    case 'WORKDIR':
      return inst.path;
    case 'USER':
      return inst.user;
    case 'ENV':
    case 'LABEL':
      return inst.pairs.map((p) => `${p.key}=${p.value}`);
    case 'ARG':
      return inst.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`));
    default:
      return inst;
  }
}

describe('ARG and ENV scoping', () => {
  const table: [string, string, Record<string, string>, unknown][] = [
    ['ARG declared in the stage expands', 'FROM x\nARG A=1\nWORKDIR /$A', {}, '/1'],
    ['build arg overrides the default', 'FROM x\nARG A=1\nWORKDIR /$A', { A: '2' }, '/2'],
    ['global ARG is not visible without re-declaring', 'ARG A=1\nFROM x\nWORKDIR /$A', {}, '/'],
    ['re-declared global ARG inherits its value', 'ARG A=1\nFROM x\nARG A\nWORKDIR /$A', {}, '/1'],
    ['re-declared global ARG takes the build arg', 'ARG A=1\nFROM x\nARG A\nWORKDIR /$A', { A: 'b' }, '/b'],
    ['stage default replaces the global one', 'ARG A=1\nFROM x\nARG A=2\nWORKDIR /$A', {}, '/2'],
    ['undeclared build arg is not visible', 'FROM x\nWORKDIR /$A', { A: 'x' }, '/'],
    ['ENV overrides ARG declared before it', 'FROM x\nARG A=arg\nENV A=env\nWORKDIR /$A', { A: 'b' }, '/env'],
    ['ENV overrides ARG declared after it', 'FROM x\nENV A=env\nARG A=arg\nWORKDIR /$A', {}, '/env'],
    ['ARG default sees earlier ARGs', 'FROM x\nARG A=1\nARG B=$A-2\nUSER $B', {}, '1-2'],
    ['ARGs in one line see each other', 'FROM x\nARG A=1 B=${A}0\nUSER $B', {}, '10'],
    ['ARG default sees ENV', 'FROM x\nENV E=e\nARG A=$E!\nUSER $A', {}, 'e!'],
    ['ARG value is recorded expanded', 'FROM x\nARG A=1\nARG B="$A two"', {}, ['B=1 two']],
    ['bare ARG without value stays unset', 'FROM x\nARG A\nUSER [${A:-unset}]', {}, '[unset]'],
    ['ENV pairs in one line see the env before it', 'FROM x\nENV A=1\nENV A=2 B=$A\nUSER $B', {}, '1'],
    ['ENV keys and values expand, quotes removed', 'FROM x\nARG K=key\nENV $K="v w"', {}, ['key=v w']],
    ['legacy ENV value expands', 'FROM x\nARG A=1\nENV B value $A', {}, ['B=value 1']],
    ['LABEL expands', 'FROM x\nARG V=1.0\nLABEL "version"="$V" other=${V}-x', {}, ['version=1.0', 'other=1.0-x']],
    [
      'escape character from the directive is used',
      '# escape=`\nFROM x\nARG A=1\nWORKDIR C:\\`$A\\$A',
      {},
      'C:\\$A\\1',
    ],
  ];
  for (const [name, text, buildArgs, expected] of table) {
    test(name, () => {
      const b = resolve(text, { buildArgs });
      const steps = b.stages[b.stages.length - 1]!.steps;
      assert.deepEqual(fieldOf(steps[steps.length - 1]!.instruction), expected);
    });
  }

  test('variables do not carry into the next stage; ENV does through FROM <stage>', () => {
    const b = resolve('FROM x AS a\nARG A=1\nENV E=e\nFROM a\nUSER $A-$E\n');
    assert.equal(fieldOf(step(b, 0)), '-e');
  });

  test('base image env takes part in expansion and is overridable by ENV', () => {
    const b = resolve('FROM golang\nWORKDIR $GOPATH/src\nENV GOPATH=/x\nWORKDIR $GOPATH\n', {
      baseImageEnv: (ref) => (ref === 'golang' ? ['GOPATH=/go', 'PATH=/usr/bin'] : undefined),
    });
    assert.equal(fieldOf(step(b, 0)), '/go/src');
    assert.equal(fieldOf(step(b, 2)), '/x');
    assert.deepEqual(b.stages[0]!.env, [
      { key: 'PATH', value: '/usr/bin' },
      { key: 'GOPATH', value: '/x' },
    ]);
  });

  test('scratch starts with the default PATH', () => {
    const b = resolve('FROM scratch\nENV PATH=$PATH:/opt/bin\n');
    assert.deepEqual(fieldOf(step(b, 0)), [`PATH=${DEFAULT_PATH}:/opt/bin`]);
    assert.deepEqual(b.stages[0]!.base, { kind: 'scratch' });
  });
});

describe('FROM', () => {
  test('FROM sees only global ARGs and build args', () => {
    const b = resolve('ARG BASE=alpine\nARG TAG\nFROM ${BASE}:${TAG:-latest} AS build\n', {
      buildArgs: { TAG: '3.19' },
    });
    assert.deepEqual(b.stages[0]!.base, { kind: 'image', ref: 'alpine:3.19' });
    assert.equal(b.stages[0]!.from.image, 'alpine:3.19');
    assert.deepEqual(b.globalArgs, { BASE: 'alpine', TAG: '3.19' });
  });

  test('global ARG defaults expand earlier global ARGs', () => {
    const b = resolve('ARG REG=docker.io\nARG IMG=$REG/library/alpine\nFROM $IMG\n');
    assert.deepEqual(b.stages[0]!.base, { kind: 'image', ref: 'docker.io/library/alpine' });
  });

  test('--platform expands with platform args', () => {
    const b = resolve('FROM --platform=$BUILDPLATFORM alpine\n', { platformArgs: { BUILDPLATFORM: 'linux/amd64' } });
    assert.equal(b.stages[0]!.platform, 'linux/amd64');
  });

  test('platform args are inherited when a stage declares them', () => {
    const b = resolve('FROM alpine\nARG TARGETARCH\nUSER $TARGETARCH\n', { platformArgs: { TARGETARCH: 'arm64' } });
    assert.equal(fieldOf(step(b, 1)), 'arm64');
  });

  test('undeclared variables in FROM are warned about', () => {
    const b = resolve('FROM ${NOPE:-alpine}\n');
    assert.deepEqual(
      b.warnings.map((w) => [w.rule, w.message, w.range.start]),
      [['UndefinedArgInFrom', "FROM argument 'NOPE' is not declared", 1]],
    );
  });

  test('an empty base name is an error on the FROM line', () => {
    assert.throws(
      () => resolve('ARG B\nFROM $B\n'),
      (err: unknown) =>
        err instanceof DockerfileError && err.message === 'Dockerfile:2: base name ($B) should not be blank',
    );
  });

  test('FROM <earlier stage> depends on it and inherits its env', () => {
    const b = resolve('FROM alpine AS base\nENV A=1\nFROM base\nRUN true\n');
    assert.deepEqual(
      b.stages.map((s) => s.index),
      [0, 1],
    );
    assert.deepEqual(b.stages[1]!.base, { kind: 'stage', index: 0 });
    assert.deepEqual(b.stages[1]!.deps, [0]);
    assert.deepEqual(b.stages[1]!.env, [{ key: 'A', value: '1' }]);
  });
});

describe('stages, targets and dependencies', () => {
  const text = [
    'FROM alpine AS deps',
    'RUN echo deps',
    'FROM alpine AS unused',
    'RUN ${X:?unused stages are not expanded}',
    'WORKDIR ${X:?never}',
    'FROM golang AS build',
    'RUN --mount=type=bind,from=deps,target=/deps true',
    'ARG SRC=0',
    'COPY --from=$SRC /a /a',
    'FROM scratch AS final',
    'COPY --from=build /out /out',
    'COPY --from=busybox:latest /bin/sh /bin/sh',
    '',
  ].join('\n');

  test('only the stages the target needs are resolved, dependencies first', () => {
    const b = resolve(text);
    assert.equal(b.target, 3);
    assert.deepEqual(
      b.stages.map((s) => s.name),
      ['deps', 'build', 'final'],
    );
    const build = b.stages[1]!;
    assert.deepEqual(build.deps, [0]);
    assert.deepEqual(build.steps[0]!.mountFrom, [{ kind: 'stage', index: 0 }]);
    assert.deepEqual(build.steps[2]!.copyFrom, { kind: 'stage', index: 0 });
    const final = b.stages[2]!;
    assert.deepEqual(final.steps[0]!.copyFrom, { kind: 'stage', index: 2 });
    assert.deepEqual(final.steps[1]!.copyFrom, { kind: 'image', ref: 'busybox:latest' });
    assert.deepEqual(final.deps, [2]);
  });

  test('--target picks a stage by name, case-insensitively', () => {
    const b = resolve(text, { target: 'DEPS' });
    assert.equal(b.target, 0);
    assert.deepEqual(
      b.stages.map((s) => s.name),
      ['deps'],
    );
  });

  test('an unknown target is an error', () => {
    assert.throws(() => resolve(text, { target: 'nope' }), /target stage "nope" could not be found/);
  });

  test('errors in a needed stage carry its line', () => {
    assert.throws(
      () => resolve(text, { target: 'unused' }),
      (err: unknown) =>
        err instanceof DockerfileError && err.line === 5 && err.reason === 'failed to process "${X:?never}": X: never',
    );
  });

  test('circular COPY --from is rejected', () => {
    assert.throws(
      () => resolve('FROM x AS a\nCOPY --from=b /x /x\nFROM x AS b\nCOPY --from=a /y /y\n'),
      /circular dependency detected on stage: b/,
    );
  });

  test('COPY --from a stage index out of range or to itself is rejected', () => {
    assert.throws(() => resolve('FROM x\nCOPY --from=3 /a /b\n'), /Dockerfile:2: invalid stage index 3/);
    assert.throws(() => resolve('FROM x\nCOPY --from=0 /a /b\n'), /Dockerfile:2: stage 0 cannot refer to itself/);
  });
});

describe('what gets expanded', () => {
  test('RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK text is left for the shell', () => {
    const text =
      'FROM x\nARG A=1\nRUN echo $A\nCMD echo $A\nENTRYPOINT ["$A"]\nSHELL ["$A"]\nHEALTHCHECK CMD $A\nONBUILD WORKDIR $A\n';
    const parsed = parseInstructions(text);
    const b = resolveStages(parsed);
    const before = parsed.stages[0]!.instructions.slice(1);
    const after = b.stages[0]!.steps.slice(1).map((s) => s.instruction);
    assert.deepEqual(after, before);
  });

  test('RUN --mount values expand; --network does not need to', () => {
    const b = resolve('FROM x\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=$CACHE,id=${CACHE}-id go build\n');
    const run = step(b, 1);
    assert.ok(run.kind === 'RUN');
    assert.deepEqual(run.mounts, [{ type: 'cache', readOnly: false, target: '/root/.cache', id: '/root/.cache-id' }]);
    assert.deepEqual(b.stages[0]!.steps[1]!.used, ['CACHE']);
  });

  test('COPY sources, destination and flags expand; heredoc bodies expand unless quoted', () => {
    const b = resolve(
      'FROM x\nARG D=/dst U=1000 M=755 S=src\nCOPY --chown=$U:$U --chmod=$M --exclude=$S/*.md $S/a $S/b $D/\nCOPY <<EOF <<"RAW" $D/\n"$U"\nEOF\n$U\nRAW\n',
    );
    const copy = step(b, 1);
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(
      [copy.sources, copy.dest, copy.chown, copy.chmod, copy.exclude],
      [['src/a', 'src/b'], '/dst/', '1000:1000', '755', ['src/*.md']],
    );
    const heredocs = step(b, 2);
    assert.ok(heredocs.kind === 'COPY');
    assert.deepEqual(heredocs.sourceContents, [
      { path: 'EOF', data: '"1000"\n', expand: true },
      { path: 'RAW', data: '$U\n', expand: false },
    ]);
  });

  test('several sources need a destination ending in /', () => {
    assert.throws(
      () => resolve('FROM x\nARG D=/dst\nCOPY a b $D\n'),
      /Dockerfile:3: When using COPY with more than one source file, the destination must be a directory and end with a \//,
    );
  });

  test('ADD --checksum expands then is validated', () => {
    const sum = 'sha256:' + 'a'.repeat(64);
    const b = resolve(`FROM x\nARG SUM=${sum}\nADD --checksum=$SUM https://x/y /y\n`);
    const add = step(b, 1);
    assert.ok(add.kind === 'ADD');
    assert.equal(add.checksum, sum);
    assert.throws(
      () => resolve('FROM x\nARG SUM=nope\nADD --checksum=$SUM https://x/y /y\n'),
      /invalid checksum digest format: nope/,
    );
  });

  test('EXPOSE splits expanded words and validates them', () => {
    const b = resolve('FROM x\nARG PORTS="80 443/tcp"\nEXPOSE $PORTS "53/udp"\n');
    const expose = step(b, 1);
    assert.ok(expose.kind === 'EXPOSE');
    assert.deepEqual(expose.ports, ['80', '443/tcp', '53/udp']);
    assert.throws(() => resolve('FROM x\nARG P=80/http\nEXPOSE $P\n'), /Dockerfile:3: invalid proto: http/);
  });

  test('VOLUME (word form processes quotes like any word), USER, STOPSIGNAL expand', () => {
    const b = resolve(
      'FROM x\nARG V=/data U=app S=SIGINT\nVOLUME $V ["/x"]\nVOLUME ["$V/y"]\nUSER $U\nSTOPSIGNAL $S\n',
    );
    const vols = b.stages[0]!.steps.slice(1, 3).map((s) => s.instruction);
    assert.deepEqual(
      vols.map((v) => (v.kind === 'VOLUME' ? v.volumes : null)),
      [['/data', '[/x]'], ['/data/y']],
    );
    assert.equal(fieldOf(step(b, 3)), 'app');
    const sig = step(b, 4);
    assert.ok(sig.kind === 'STOPSIGNAL' && sig.signal === 'SIGINT');
  });

  test('expandInstruction works on one instruction with any env', () => {
    const inst = parseInstructions('FROM x\nWORKDIR ${HOME:-/root}/$SUB\n').stages[0]!.instructions[0]!;
    const r = expandInstruction(inst, ['SUB=app']);
    assert.ok(r.instruction.kind === 'WORKDIR');
    assert.equal(r.instruction.path, '/root/app');
    assert.deepEqual(r.used, ['SUB']);
    assert.deepEqual(r.unset, ['HOME']);
  });
});

describe('build args for RUN and unused build args', () => {
  test('steps list the ARGs in scope that ENV does not shadow, plus proxy args', () => {
    const b = resolve('FROM x\nRUN one\nARG A=1 B=2\nENV B=env\nRUN two\n', {
      buildArgs: { http_proxy: 'http://proxy:3128', UNUSED: 'x', A: 'ba' },
    });
    const steps = b.stages[0]!.steps;
    assert.deepEqual(steps[0]!.buildArgs, [{ key: 'http_proxy', value: 'http://proxy:3128' }]);
    assert.deepEqual(steps[3]!.buildArgs, [
      { key: 'A', value: 'ba' },
      { key: 'http_proxy', value: 'http://proxy:3128' },
    ]);
    assert.deepEqual(b.unusedBuildArgs, ['UNUSED']);
    assert.ok(b.warnings.some((w) => w.rule === 'UnconsumedBuildArgs' && w.message.includes('[UNUSED]')));
  });

  test('used lists the variables a step read', () => {
    const b = resolve('FROM x\nARG A=1 B=2\nENV C=$A\nWORKDIR /$B/$C/$NOPE\n');
    assert.deepEqual(
      b.stages[0]!.steps.map((s) => s.used),
      [[], ['A'], ['B', 'C']],
    );
  });
});

describe('ONBUILD triggers of base images', () => {
  test('run first, expanded in the downstream stage, marked as triggers', () => {
    const b = resolve('FROM base\nARG APP=web\nWORKDIR /$APP\n', {
      baseImageOnBuild: (ref) => (ref === 'base' ? ['ENV T=1', 'COPY <<EOF /t\n$T\nEOF'] : undefined),
    });
    const steps = b.stages[0]!.steps;
    assert.deepEqual(
      steps.map((s) => [s.instruction.kind, s.trigger ?? false]),
      [
        ['ENV', true],
        ['COPY', true],
        ['ARG', false],
        ['WORKDIR', false],
      ],
    );
    const copy = steps[1]!.instruction;
    assert.ok(copy.kind === 'COPY');
    assert.deepEqual(copy.sourceContents, [{ path: 'EOF', data: '1\n', expand: true }]);
  });

  test('forbidden and broken triggers name the image', () => {
    assert.throws(
      () => resolve('FROM base\n', { baseImageOnBuild: () => ['FROM x'] }),
      (err: unknown) =>
        err instanceof DockerfileError && err.message === "base ONBUILD:1: FROM isn't allowed as an ONBUILD trigger",
    );
    assert.throws(
      () => resolve('FROM base\n', { baseImageOnBuild: () => ['RUN ok', 'WORKDIR ${X:?}'] }),
      (err: unknown) => err instanceof DockerfileError && err.file === 'base ONBUILD' && err.line === 2,
    );
  });
});

describe('checks on variables in BuildKit style', () => {
  test('a build arg wins without expanding the default', () => {
    const b = resolve('FROM x\nARG A=${NOPE:?must not be evaluated}\nUSER $A\n', { buildArgs: { A: 'given' } });
    assert.equal(fieldOf(step(b, 1)), 'given');
  });
});
