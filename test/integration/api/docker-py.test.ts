/**
 * docker-py (the Python `docker` package) drives Wharf's Engine API: docker_py_client.py uses its high-level API
 * (images, containers, exec, archives, volumes, events) against `wharf system service`, with `wharf registry serve` on
 * loopback for push and pull. It runs under Debian's /usr/bin/python3 with python3-docker (what a fresh Debian machine
 * has; required, installed by scripts/ensure-deps.sh), and again under the `python3` on PATH when that is another
 * interpreter with its own docker package (a developer's pyenv with docker-py 7).
 */
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { realpathSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiService, type ApiService } from '../../helpers/api-service.js';
import { serveRegistry, type ServedRegistry } from '../../helpers/registry-serve.js';
import { withBusybox, type Fixture } from '../container/fixture.js';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'docker_py_client.py');
const DEBIAN_PYTHON = '/usr/bin/python3';

/**
 * Steps that need an endpoint another branch adds: reported as todo while the service answers 404 "page not found"
 * for it (the script says `pending`), and as failures once it answers otherwise and the step fails.
 */
const PENDING: Record<string, string> = {
  'images.build': 'needs POST /build (the classic builder endpoint, not served yet)',
};

/** The docker-py version an interpreter imports, or undefined when it has none. */
function dockerPyVersion(python: string): string | undefined {
  try {
    return execFileSync(python, ['-c', 'import docker; print(docker.__version__)'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** The `python3` on PATH when it is another interpreter than Debian's and has docker-py. */
function otherPython(): string | undefined {
  try {
    const found = execFileSync('sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();
    const exe = execFileSync(found, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
    if (realpathSync(exe) === realpathSync(DEBIAN_PYTHON)) return undefined;
    return dockerPyVersion(exe) ? exe : undefined;
  } catch {
    return undefined;
  }
}

let fx: Fixture;
let registry: ServedRegistry;
let service: ApiService;

before(async () => {
  fx = await withBusybox('wharf-api-py-');
  registry = await serveRegistry(fx.root);
  service = await startApiService(fx.root);
});

after(async () => {
  await service?.stop();
  await registry?.stop();
  await fx?.cleanup();
});

interface Step {
  name: string;
  status: 'ok' | 'fail' | 'pending';
  detail: string;
}

function runScript(python: string): Promise<{ code: number; steps: Step[]; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [SCRIPT, registry.host, fx.root], {
      env: { ...process.env, DOCKER_HOST: `unix://${service.socket}`, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const steps: Step[] = [];
      for (const line of output.split('\n')) {
        const m = /^STEP (.+?) (ok|fail|pending) ?(.*)$/.exec(line);
        if (m) steps.push({ name: m[1]!, status: m[2] as Step['status'], detail: m[3]! });
      }
      resolve({ code: code ?? 137, steps, output });
    });
  });
}

/** One run of the script: each of its steps a subtest, the pending ones todo. */
async function checkRun(t: TestContext, python: string): Promise<void> {
  const run = await runScript(python);
  assert.ok(run.steps.length >= 15, `the script ran its steps:\n${run.output}\n${service.log()}`);
  for (const s of run.steps) {
    const todo = (s.status === 'pending' && PENDING[s.name]) || false;
    await t.test(s.name, { todo }, () => {
      assert.notEqual(s.status, 'fail', `${s.detail}\n${service.log()}`);
      assert.equal(s.status, 'ok', s.detail);
    });
  }
  assert.equal(run.code, 0, run.output);
  // Nothing left behind: every container the script made is gone, and its volume.
  assert.equal((await fx.cli(['ps', '-aq'])).stdout, '');
  assert.doesNotMatch((await fx.cli(['volume', 'ls', '-q'])).stdout, /pyvol/);
}

const debianVersion = dockerPyVersion(DEBIAN_PYTHON);
test(
  `docker-py ${debianVersion ?? ''} (Debian's python3-docker) drives the API`,
  { skip: !debianVersion && `no docker-py for ${DEBIAN_PYTHON} (apt-get install python3-docker)` },
  (t) => checkRun(t, DEBIAN_PYTHON),
);

const other = otherPython();
if (other) {
  test(`docker-py ${dockerPyVersion(other)} (${other}) drives the API`, (t) => checkRun(t, other));
}
