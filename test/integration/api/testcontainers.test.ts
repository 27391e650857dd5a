/**
 * testcontainers (npm) drives Wharf's Engine API: a GenericContainer from a local busybox image (tagged under
 * `localhost/`, so that nothing is pulled) with an exposed port and a wait strategy starts, answers on its mapped port,
 * runs an exec, and stops. The resource reaper is off (it pulls testcontainers/ryuk from Docker Hub); the host of the
 * mapped ports is 127.0.0.1 (TESTCONTAINERS_HOST_OVERRIDE: inside a container testcontainers would look for the
 * `bridge` network's gateway instead, and tests talk to loopback only).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startApiService, type ApiService } from '../../helpers/api-service.js';
import { ok } from '../../helpers/cli.js';
import { httpGet, withBusybox, type Fixture } from '../container/fixture.js';

type Testcontainers = typeof import('testcontainers');

const IMAGE = 'localhost/wharf-test/busybox:tc';

/** The installed testcontainers' version, or undefined when it is missing (a dev dependency: npm ci). */
function installedVersion(): string | undefined {
  try {
    return (createRequire(import.meta.url)('testcontainers/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}
const version = installedVersion();
const skip = !version && 'testcontainers is not installed (npm ci)';

let fx: Fixture;
let service: ApiService;
let tc: Testcontainers;

before(async () => {
  if (!version) return;
  fx = await withBusybox('wharf-api-tc-');
  ok(await fx.cli(['tag', 'busybox', IMAGE]), 'tag');
  service = await startApiService(fx.root);
  // testcontainers reads its configuration once, when it first looks for a container runtime.
  process.env.DOCKER_HOST = `unix://${service.socket}`;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  tc = await import('testcontainers');
});

after(async () => {
  await service?.stop();
  await fx?.cleanup();
});

test(`testcontainers ${version ?? ''}: httpd on an exposed port, waited for, requested, stops`, { skip }, async () => {
  const { GenericContainer, Wait } = tc;
  const started = await new GenericContainer(IMAGE)
    .withCommand(['httpd', '-f', '-p', '8080', '-h', '/var/www'])
    .withExposedPorts(8080)
    .withEnvironment({ GREETING: 'hi' })
    .withLabels({ suite: 'testcontainers' })
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(60_000)
    .start();
  try {
    assert.equal(started.getHost(), '127.0.0.1');
    const port = started.getMappedPort(8080);
    assert.deepEqual(await httpGet(port, '/'), { status: 200, body: 'hello from wharf\n' });
    const ex = await started.exec(['sh', '-c', 'echo "$GREETING"; echo err >&2; exit 3']);
    assert.deepEqual(
      { stdout: ex.stdout, stderr: ex.stderr, exitCode: ex.exitCode },
      { stdout: 'hi\n', stderr: 'err\n', exitCode: 3 },
    );
    assert.equal(started.getLabels().suite, 'testcontainers');
    assert.match(started.getName(), /^\/[\w.-]+$/);
    // The same container, seen by wharf.
    assert.equal((await fx.cli(['ps', '-q', '--no-trunc'])).stdout.trim(), started.getId());
  } finally {
    await started.stop();
  }
  assert.equal((await fx.cli(['ps', '-aq'])).stdout, '', 'stop removed the container');
});

test('wait strategies: a log message, an HTTP answer; content copied in, logs streamed', { skip }, async () => {
  const { GenericContainer, Wait } = tc;
  const started = await new GenericContainer(IMAGE)
    .withCommand(['sh', '-c', 'echo starting; sleep 0.5; echo "server ready"; exec httpd -f -p 8081 -h /srv'])
    .withExposedPorts(8081)
    .withCopyContentToContainer([{ content: 'copied in\n', target: '/srv/index.html' }])
    .withWaitStrategy(Wait.forAll([Wait.forLogMessage('server ready'), Wait.forHttp('/', 8081).forStatusCode(200)]))
    .withStartupTimeout(60_000)
    .start();
  try {
    assert.equal((await httpGet(started.getMappedPort(8081), '/')).body, 'copied in\n');
    const lines: string[] = [];
    const stream = await started.logs();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`logs: ${JSON.stringify(lines)}`)), 20_000);
      stream.on('data', (line: string | Buffer) => {
        lines.push(String(line));
        if (lines.join('').includes('server ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    stream.destroy();
    assert.match(lines.join(''), /^starting\nserver ready\n/);
  } finally {
    await started.stop();
  }
});
